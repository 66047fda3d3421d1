"""Uploaded photos: decode to validate, then re-encode what we store.

An upload is trusted by nothing it claims (name, extension, Content-Type): it must be under
the byte limit (checked before decoding), open as JPEG, PNG or WebP, stay under the pixel
limit (checked from the header, before the pixels are decoded, so a decompression bomb
costs neither time nor memory) and decode completely. What is stored is a fresh WebP under
a random name, with orientation applied and EXIF (GPS and all) left behind, plus smaller
WebP renditions for responsive `srcset`.

Cost is bounded per request, not only per photo: check_request_budget() reads every
upload's header and refuses the lot when together they would decode more than
IMAGE_REQUEST_PIXEL_BUDGET pixels, before anything is decoded. A JPEG is decoded at 1/2,
1/4 or 1/8 scale when that still covers the stored size (libjpeg's draft mode), and counts
at that size. Photos are decoded one at a time and shrunk before anything else touches
them (orientation, mode conversion), so peak memory is about one decoded photo; after each
one the freed heap is handed back to the OS (glibc malloc_trim).
"""

import contextlib
import ctypes
import ctypes.util
import io
import math
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
WEBP_QUALITY = 82
DEFAULT_MAX_EDGE = 2048
# Modes Pillow resamples as they are; the others are converted to RGB(A) before shrinking.
RESIZABLE_MODES = ("RGB", "RGBA", "L", "LA", "CMYK")


@dataclass(frozen=True)
class Rendition:
    width: int
    height: int
    file: ContentFile


@dataclass(frozen=True)
class ProcessedImage:
    main: Rendition
    variants: tuple[Rendition, ...]


def _random_name(suffix: str = "") -> str:
    return f"{secrets.token_hex(16)}{suffix}.webp"


def _encode(image: Image.Image, name: str) -> Rendition:
    buffer = io.BytesIO()
    # No exif= / icc_profile= arguments: nothing from the upload's metadata is written back.
    image.save(buffer, format="WEBP", quality=WEBP_QUALITY, method=4)
    return Rendition(image.width, image.height, ContentFile(buffer.getvalue(), name=name))


def _open_checked(upload) -> Image.Image:
    max_bytes = settings.LISTING_IMAGE_MAX_BYTES
    size = getattr(upload, "size", None)
    if size is None:
        upload.seek(0, io.SEEK_END)
        size = upload.tell()
    if size > max_bytes:
        raise ValidationError(
            _("This file is %(size)s MB; photos can be at most %(max)s MB.")
            % {"size": f"{size / 1_048_576:.1f}", "max": max_bytes // 1_048_576},
            code="file_too_large",
        )
    if size == 0:
        raise ValidationError(_("This file is empty."), code="empty")
    upload.seek(0)
    try:
        image = Image.open(upload, formats=ALLOWED_FORMATS)
    except (Image.UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ValidationError(
            _("This file is not a photo we can use. Upload a JPEG, PNG or WebP image."),
            code="not_an_image",
        ) from None
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    if image.width * image.height > settings.LISTING_IMAGE_MAX_PIXELS:
        raise _too_many_pixels()
    if image.width < 1 or image.height < 1:
        raise ValidationError(_("This image has no pixels."), code="not_an_image")
    return image


def _too_many_pixels() -> ValidationError:
    megapixels = settings.LISTING_IMAGE_MAX_PIXELS // 1_000_000
    return ValidationError(
        _("This image is too large: at most %(mp)s megapixels, please.") % {"mp": megapixels},
        code="too_many_pixels",
    )


def _fitted_size(size: tuple[int, int], max_edge: int) -> tuple[int, int]:
    """`size` scaled down (never up) so its longer side is at most `max_edge`."""
    width, height = size
    scale = max_edge / max(width, height)
    if scale >= 1:
        return size
    return max(1, math.ceil(width * scale)), max(1, math.ceil(height * scale))


def _draft(image: Image.Image, max_edge: int | None) -> None:
    """Ask the decoder to decode at a reduced scale that still covers the stored size.

    Only JPEG can (libjpeg's 1/2, 1/4, 1/8 scaled decoding); for other formats it does
    nothing. Nothing is decoded here: afterwards `image.size` is the size load() will decode.
    """
    if max_edge and image.format == "JPEG":
        image.draft("RGB", _fitted_size(image.size, max_edge))


def decoded_pixels(upload, *, max_edge: int | None = DEFAULT_MAX_EDGE) -> int:
    """How many pixels processing `upload` would decode, read from its header only.

    A JPEG counts at its draft scale. A file the pipeline will refuse before decoding it
    (too many bytes or pixels, not an allowed image) counts 0: it costs nothing.
    """
    try:
        image = _open_checked(upload)
    except ValidationError:
        return 0
    try:
        _draft(image, max_edge)
        return image.width * image.height
    finally:
        upload.seek(0)  # no image.close(): it would close the upload too


def check_request_budget(uploads: Sequence, *, max_edge: int | None = DEFAULT_MAX_EDGE) -> None:
    """Refuse `uploads` (all of one request) if together they would decode more pixels than
    settings.IMAGE_REQUEST_PIXEL_BUDGET.

    Reads headers only: nothing is decoded when it refuses. Raises ValidationError (code
    "request_too_many_pixels") with a message for the uploader that names the limit.
    """
    budget = settings.IMAGE_REQUEST_PIXEL_BUDGET
    total = sum(decoded_pixels(upload, max_edge=max_edge) for upload in uploads)
    if total > budget:
        raise ValidationError(
            _(
                "These photos are too large together: at most %(budget)s megapixels in one "
                "upload, and these have %(total)s. Upload fewer at a time or smaller photos."
            )
            % {"budget": budget // 1_000_000, "total": math.ceil(total / 1_000_000)},
            code="request_too_many_pixels",
        )


@cache
def _malloc_trim():
    """glibc's malloc_trim, or None where there is no glibc (macOS, musl, Windows)."""
    if not sys.platform.startswith("linux"):
        return None
    with contextlib.suppress(OSError, AttributeError):
        return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim
    return None


def release_memory() -> None:
    """Hand freed heap memory back to the OS (glibc's malloc_trim(0); elsewhere nothing).

    glibc keeps freed buffers in the heap of a long-lived process; without this a gunicorn
    worker stays ~100 MB fatter after one large upload. It costs well under a millisecond.
    """
    trim = _malloc_trim()
    if trim is not None:
        trim(0)


def validate_image(upload) -> None:
    """Raise ValidationError unless `upload` is a complete, allowed, reasonably sized image."""
    _decode(upload, max_edge=None)


def _decode(upload, *, max_edge: int | None) -> Image.Image:
    """Decode `upload` at most `max_edge` px on its longer side, upright, in RGB or RGBA.

    Shrinks first: orientation and mode conversion then copy the small image, not the
    decoded one, and the full-size pixels are freed before this returns.
    """
    image = _open_checked(upload)
    try:
        _draft(image, max_edge)
        image.load()
        if image.mode not in RESIZABLE_MODES or "transparency" in image.info:
            # Palette images resize by nearest pixel only, and a transparent colour key
            # wouldn't survive resampling: convert these at full size (as before).
            image = _to_rgb(image)
        if max_edge:
            # In place: the decoded pixels are freed, and info (EXIF) stays for exif_transpose.
            image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
        image = ImageOps.exif_transpose(image)
    except Image.DecompressionBombError:
        raise _too_many_pixels() from None
    except (OSError, SyntaxError, ValueError, EOFError):
        raise ValidationError(
            _("This image is damaged or incomplete and can't be read. Try another file."),
            code="corrupt_image",
        ) from None
    finally:
        upload.seek(0)
    return _to_rgb(image)


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("RGB", "RGBA"):
        return image
    has_alpha = image.mode in ("LA", "PA") or "transparency" in image.info
    return image.convert("RGBA" if has_alpha else "RGB")


def process_image(
    upload,
    *,
    max_edge: int = DEFAULT_MAX_EDGE,
    variant_widths: tuple[int, ...] = (320, 640, 1024),
) -> ProcessedImage:
    """Validate `upload` and return it re-encoded as WebP (at most `max_edge` px on its longer
    side) plus renditions at `variant_widths` that are narrower than the main image.

    Decodes one photo; for several from one request, call check_request_budget() first.
    Raises ValidationError with a message for the uploader.
    """
    try:
        return _reencode(_decode(upload, max_edge=max_edge), variant_widths)
    finally:
        # Decoding and WebP encoding leave tens of MB free in the heap (glibc's dynamic mmap
        # threshold keeps even big buffers there after the first one); give them back.
        release_memory()


def _reencode(image: Image.Image, variant_widths: tuple[int, ...]) -> ProcessedImage:
    base_name = _random_name()
    main = _encode(image, base_name)
    variants = []
    stem = base_name.removesuffix(".webp")
    for width in sorted(variant_widths):
        if width >= image.width:
            continue
        height = max(1, round(image.height * width / image.width))
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        variants.append(_encode(resized, f"{stem}-{width}w.webp"))
    return ProcessedImage(main=main, variants=tuple(variants))
