"""Draw static/img/og-default.png, the 1200×630 share image of pages without their own.

Run once when the brand changes (the PNG is committed):
    .venv/bin/python scripts/make_og_image.py
Uses DejaVu Sans when installed (Debian's fonts-dejavu-core), else Pillow's built-in font.
"""

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = (1200, 630)
BRAND, CREAM, ACCENT = "#1f3d36", "#f6f1e9", "#c4532d"
FONTS = Path("/usr/share/fonts/truetype/dejavu")
OUT = Path(__file__).resolve().parents[1] / "static" / "img" / "og-default.png"


def font(name: str, size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    path = FONTS / name
    return ImageFont.truetype(str(path), size) if path.exists() else ImageFont.load_default(size)


def main() -> None:
    image = Image.new("RGB", SIZE, BRAND)
    draw = ImageDraw.Draw(image)
    # A coat hanger: the hook, then the shoulders.
    draw.arc([540, 70, 660, 190], 200, 360, fill=CREAM, width=14)
    draw.line([(660, 130), (600, 190), (380, 300), (820, 300), (600, 190)], fill=CREAM, width=14)
    draw.text(
        (600, 395), "Threadly", font=font("DejaVuSans-Bold.ttf", 120), fill=CREAM, anchor="mm"
    )
    draw.text(
        (600, 495),
        "Second-hand fashion, bought and sold",
        font=font("DejaVuSans.ttf", 40),
        fill=CREAM,
        anchor="mm",
    )
    draw.rectangle([0, SIZE[1] - 18, SIZE[0], SIZE[1]], fill=ACCENT)
    image = image.quantize(colors=16)
    image.save(OUT, format="PNG", optimize=True)
    print(f"Wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
