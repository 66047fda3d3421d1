"""Draw the app icons from the brand mark (static/img/favicon.svg) with Pillow.

Run once when the brand changes (`.venv/bin/python scripts/make_icons.py`) and commit the PNGs:
the web manifest (core/pwa.py) and templates/pwa/_head.html point at them.

- icon-192.png, icon-512.png: the favicon as drawn (rounded square, transparent corners),
  manifest purpose "any".
- icon-maskable-512.png: full-bleed square; the "T" is shrunk so that it sits well inside the
  maskable safe zone (the centre circle of 80 % diameter) whatever shape the launcher cuts.
- apple-touch-icon.png (180): full-bleed square, no transparency (iOS rounds the corners).
"""

from pathlib import Path

from PIL import Image, ImageDraw

BRAND = "#1f3d36"  # --color-brand in static/css/threadly.css, the favicon's square
BRAND_INK = "#f6f1e9"  # --color-brand-ink, the favicon's "T"
# The favicon's path "M9 10h14v3h-5.5v12h-3V13H9z" on its 32-unit canvas.
GLYPH = [(9, 10), (23, 10), (23, 13), (17.5, 13), (17.5, 25), (14.5, 25), (14.5, 13), (9, 13)]
GLYPH_CENTRE = (16, 17.5)
OVERSAMPLE = 4
OUT = Path(__file__).resolve().parents[1] / "static" / "img"


def draw_icon(size: int, *, rounded: bool, glyph_scale: float = 1.0) -> Image.Image:
    """The mark at `size` px: rounded (transparent corners) or full bleed; the glyph scaled
    by `glyph_scale` around the canvas centre."""
    big = size * OVERSAMPLE
    unit = big / 32
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if rounded:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(8 * unit), fill=BRAND)
    else:
        draw.rectangle((0, 0, big, big), fill=BRAND)
    cx, cy = GLYPH_CENTRE
    points = [
        ((16 + (x - cx) * glyph_scale) * unit, (16 + (y - cy) * glyph_scale) * unit)
        for x, y in GLYPH
    ]
    draw.polygon(points, fill=BRAND_INK)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    icons = {
        "icon-192.png": draw_icon(192, rounded=True),
        "icon-512.png": draw_icon(512, rounded=True),
        # The glyph's farthest corner is 64 % of the half-width from the centre: inside the
        # safe zone's 80 % with room to spare.
        "icon-maskable-512.png": draw_icon(512, rounded=False),
        "apple-touch-icon.png": draw_icon(180, rounded=False, glyph_scale=1.15).convert("RGB"),
    }
    for name, image in icons.items():
        image.save(OUT / name, optimize=True)
        print(f"static/img/{name} {image.size[0]}x{image.size[1]}")


if __name__ == "__main__":
    main()
