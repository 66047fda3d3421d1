"""Worst-case cost of one photo upload request: seconds, peak MB and MB kept afterwards.

    .venv/bin/python bench/photo_upload.py            # every case (about a minute)
    .venv/bin/python bench/photo_upload.py --case png-10-at-limit

Builds the most expensive uploads the settings allow (LISTING_IMAGE_MAX_BYTES,
LISTING_IMAGE_MAX_PIXELS, LISTING_IMAGES_MAX and, when the settings have it,
IMAGE_REQUEST_PIXEL_BUDGET), then runs each case in a fresh interpreter the way a request
does: the listing's "add photos" form (ImagesAddForm) validates and re-encodes every upload,
read from files on disk as Django streams large uploads. Per case it prints:

- seconds: wall time of form.is_valid() (decoding, resizing, WebP encoding), and its CPU
  seconds (steadier than wall time on a shared machine);
- peak MB: the process's peak RSS (VmHWM) above its RSS just before the request;
- kept MB: RSS after the request (results dropped, gc run) above that same starting RSS,
  what a gunicorn worker would keep holding.

The script reads the settings when it runs, so the same file measures any branch: copy it
into a checkout of main for the "before" figures. Not part of `make test`: `make bench-photos`.
"""

import argparse
import gc
import io
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ORIENTATION_ROTATE_90 = 6  # EXIF "rotate 90° CW": the pipeline must turn the picture


def _settings():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "threadly.settings")
    os.environ.setdefault("DEBUG", "1")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    return settings


def _limits() -> dict:
    settings = _settings()
    photos = settings.LISTING_IMAGES_MAX
    per_photo = settings.LISTING_IMAGE_MAX_PIXELS
    budget = getattr(settings, "IMAGE_REQUEST_PIXEL_BUDGET", None) or photos * per_photo
    return {
        "photos": photos,
        "per_photo": per_photo,
        "budget": budget,
        "max_bytes": settings.LISTING_IMAGE_MAX_BYTES,
    }


def _size_for(pixels: int, ratio: float = 4 / 3) -> tuple[int, int]:
    """The largest width x height with this aspect ratio and at most `pixels` pixels."""
    width = math.isqrt(int(pixels * ratio))
    height = int(width / ratio)
    while width * height > pixels:
        height -= 1
    return width, height


def _picture(size: tuple[int, int], mode: str, noisy_fraction: float):
    """Smooth gradients with a band of noise (noise does not compress: it sets the file size)."""
    from PIL import Image

    width, height = size
    gradient = Image.linear_gradient("L").resize(size)
    bands = [gradient, gradient.transpose(Image.Transpose.FLIP_LEFT_RIGHT)]
    bands.append(gradient.transpose(Image.Transpose.FLIP_TOP_BOTTOM))
    if mode == "RGBA":
        bands.append(Image.new("L", size, 200))
    image = Image.merge(mode, bands[: len(mode)])
    band_height = max(1, int(height * noisy_fraction))
    noise = [Image.effect_noise((width, band_height), 64) for _ in mode]
    image.paste(Image.merge(mode, noise), (0, 0))
    return image


def _encode(image, fmt: str, **options) -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0112] = ORIENTATION_ROTATE_90
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, exif=exif, **options)
    return buffer.getvalue()


def _file(fmt: str, size: tuple[int, int], noisy_fraction: float) -> bytes:
    if fmt == "PNG":
        return _encode(_picture(size, "RGBA", noisy_fraction), "PNG", compress_level=1)
    return _encode(_picture(size, "RGB", noisy_fraction), "JPEG", quality=90, progressive=True)


def _build(fmt: str, size: tuple[int, int], max_bytes: int) -> bytes:
    """The noisiest file of this size that still fits under the byte limit."""
    sample = len(_file(fmt, (512, 512), 1.0)) / (512 * 512)  # bytes per pixel of noise
    fraction = min(1.0, 0.9 * max_bytes / (sample * size[0] * size[1]))
    for _attempt in range(6):  # bounded: less noise until the file fits
        data = _file(fmt, size, fraction)
        if len(data) <= max_bytes:
            return data
        fraction *= 0.8
    raise SystemExit(f"could not build a {fmt} of {size} under {max_bytes} bytes")


def _jpeg_full_decode_size(pixels: int, max_edge: int = 2048) -> tuple[int, int]:
    """A square JPEG just too small for libjpeg to decode it at half scale: all pixels decode."""
    edge = min(math.isqrt(pixels), 2 * max_edge - 1)
    return edge, edge


def _cases(limits: dict) -> dict[str, list[tuple[str, tuple[int, int]]]]:
    """Case name -> the uploads (format, size) of one request."""
    photos, per_photo, budget = limits["photos"], limits["per_photo"], limits["budget"]
    at_limit = _size_for(per_photo)

    def fill(fmt: str, size: tuple[int, int], cost: int) -> list:
        count = min(photos, budget // cost)
        uploads = [(fmt, size)] * count
        rest = budget - count * cost
        if count < photos and rest > 1_000_000:
            uploads.append((fmt, _size_for(rest)))
        return uploads

    square = _jpeg_full_decode_size(per_photo)
    return {
        # The request: ten PNGs at the per-photo limit (refused whole if over budget).
        "png-10-at-limit": [("PNG", at_limit)] * photos,
        # The most PNG pixels one request may decode: the worst accepted request.
        "png-fill-budget": fill("PNG", at_limit, per_photo),
        # Ten progressive JPEGs at the per-photo limit (libjpeg buffers every coefficient).
        "jpeg-10-at-limit": [("JPEG", at_limit)] * photos,
        # JPEGs that libjpeg can't shrink while decoding, filling the budget.
        "jpeg-fill-budget": fill("JPEG", square, square[0] * square[1]),
    }


def _status_mb(field: str) -> float:
    """VmRSS (resident now) or VmHWM (peak resident) of this process, in MB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    raise SystemExit("needs Linux /proc")


def _reset_peak() -> None:
    """Start VmHWM afresh (Linux >= 4.0). ru_maxrss can't be used: a child started by
    subprocess inherits its parent's peak across exec."""
    with open("/proc/self/clear_refs", "w") as clear_refs:
        clear_refs.write("5")


def _run_case(files: list[str]) -> dict:
    """In this (fresh) process: one request's worth of uploads through the form."""
    _settings()
    from django.core.files.uploadedfile import UploadedFile
    from django.utils.datastructures import MultiValueDict
    from PIL import Image

    from marketplace.forms import ImagesAddForm

    # Warm up: codecs loaded and one tiny photo through the pipeline, outside the measurement.
    warm = io.BytesIO()
    Image.new("RGB", (64, 48)).save(warm, format="PNG")
    ImagesAddForm(
        {}, MultiValueDict({"images": [UploadedFile(warm, "w.png", size=len(warm.getvalue()))]})
    ).is_valid()
    gc.collect()
    handles = [open(path, "rb") for path in files]  # noqa: SIM115 - closed below
    uploads = [
        UploadedFile(handle, Path(path).name, size=os.path.getsize(path))
        for handle, path in zip(handles, files, strict=True)
    ]
    before = _status_mb("VmRSS")
    _reset_peak()
    started, cpu_started = time.perf_counter(), time.process_time()
    form = ImagesAddForm({}, MultiValueDict({"images": uploads}))
    valid = form.is_valid()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = _status_mb("VmHWM")
    errors = [] if valid else [str(e)[:120] for e in form.errors.get("images", [])][:2]
    del form, uploads
    for handle in handles:
        handle.close()
    gc.collect()
    return {
        "accepted": valid,
        "errors": errors,
        "seconds": round(seconds, 2),
        "cpu": round(cpu, 2),
        "peak_mb": round(peak - before, 1),
        "kept_mb": round(_status_mb("VmRSS") - before, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--case", action="append", help="run only this case (repeatable)")
    parser.add_argument("--files", nargs="*", help=argparse.SUPPRESS)  # the child's uploads
    parser.add_argument("--json", action="store_true", help="also print every case as JSON")
    args = parser.parse_args()
    if args.files is not None:
        print(json.dumps(_run_case(args.files)))
        return 0

    limits = _limits()
    cases = _cases(limits)
    chosen = args.case or list(cases)
    print(
        f"limits: {limits['photos']} photos, {limits['per_photo'] / 1e6:.1f} MP each, "
        f"{limits['budget'] / 1e6:.0f} MP per request, {limits['max_bytes'] / 2**20:.0f} MB a file"
    )
    print(
        f"{'case':<18} {'uploads':<24} {'result':<9} {'seconds':>8} {'cpu s':>6} "
        f"{'peak MB':>8} {'kept MB':>8}"
    )
    summary: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-photos-") as tmp:
        built: dict[tuple, str] = {}
        for name in chosen:
            uploads = cases[name]
            files = []
            for index, (fmt, size) in enumerate(uploads):
                if (fmt, size) not in built:
                    path = Path(tmp) / f"{fmt.lower()}-{size[0]}x{size[1]}.{fmt.lower()}"
                    path.write_bytes(_build(fmt, size, limits["max_bytes"]))
                    built[(fmt, size)] = str(path)
                # One file per upload, as a request streams each one to its own temporary file.
                copy = Path(tmp) / f"{name}-{index}.{fmt.lower()}"
                copy.write_bytes(Path(built[(fmt, size)]).read_bytes())
                files.append(str(copy))
            child = subprocess.run(  # noqa: S603 - this script, our own temporary files
                [sys.executable, __file__, "--files", *files],
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
                cwd=ROOT,
            )
            if child.returncode:
                print(child.stderr[-2000:], file=sys.stderr)
                return child.returncode
            result = json.loads(child.stdout.strip().splitlines()[-1])
            largest = max(uploads, key=lambda upload: upload[1][0] * upload[1][1])
            described = f"{len(uploads)} {largest[0]} ≤{largest[1][0]}x{largest[1][1]}"
            status = "accepted" if result["accepted"] else "refused"
            print(
                f"{name:<18} {described:<24} {status:<9} {result['seconds']:>8.2f} "
                f"{result['cpu']:>6.2f} {result['peak_mb']:>8.1f} {result['kept_mb']:>8.1f}"
            )
            if result["errors"]:
                print(f"{'':<18} {result['errors'][0]}")
            summary[name] = {"uploads": described, "result": status, **result}
            for path in files:
                Path(path).unlink()
    if args.json:
        print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
