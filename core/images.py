"""Uploaded photos: decode to validate, then re-encode what we store.

An upload is trusted by nothing it claims (name, extension, Content-Type): it must be under
the byte limit (checked before decoding), open as JPEG, PNG or WebP, stay under the pixel
limit (checked from the header, before the pixels are decoded, so a decompression bomb
costs neither time nor memory) and decode completely. What is stored is a fresh WebP under
a random name, with orientation applied and EXIF (GPS and all) left behind, plus smaller
WebP renditions for responsive `srcset`.
"""

import io
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

ALLOWED_FORMATS = ("JPEG", "PNG", "WEBP")
WEBP_QUALITY = 82


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


def validate_image(upload) -> None:
    """Raise ValidationError unless `upload` is a complete, allowed, reasonably sized image."""
    _decode(upload, max_edge=None)


def _decode(upload, *, max_edge: int | None) -> Image.Image:
    image = _open_checked(upload)
    try:
        if max_edge and image.format == "JPEG":
            # Let libjpeg decode at a reduced scale: same validation, a fraction of the memory.
            image.draft("RGB", (max_edge, max_edge))
        image.load()
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
    if image.mode not in ("RGB", "RGBA"):
        has_alpha = image.mode in ("LA", "PA") or "transparency" in image.info
        image = image.convert("RGBA" if has_alpha else "RGB")
    return image


def process_image(
    upload, *, max_edge: int = 2048, variant_widths: tuple[int, ...] = (320, 640, 1024)
) -> ProcessedImage:
    """Validate `upload` and return it re-encoded as WebP (at most `max_edge` px on its longer
    side) plus renditions at `variant_widths` that are narrower than the main image.

    Raises ValidationError with a message for the uploader.
    """
    image = _decode(upload, max_edge=max_edge)
    image.thumbnail((max_edge, max_edge), Image.Resampling.LANCZOS)
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
