"""core.images: uploads are validated before decoding and re-encoded without metadata."""

import io
import struct
import zlib
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from core.images import process_image, validate_image


def encode(image: Image.Image, fmt: str = "JPEG", **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return buffer.getvalue()


def upload(data: bytes, name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, "image/jpeg")


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims `width` x `height` pixels (a decompression bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def gps_jpeg(size=(400, 200), orientation: int | None = None) -> bytes:
    exif = Image.Exif()
    exif.get_ifd(0x8825).update({1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 0.0)})
    if orientation:
        exif[0x0112] = orientation
    return encode(Image.new("RGB", size, "red"), exif=exif)


def test_process_image_reencodes_to_webp_with_renditions_and_random_names():
    """The stored main image is WebP; renditions are narrower; names are random per call."""
    data = encode(Image.new("RGB", (1600, 1200), "navy"))
    first = process_image(upload(data))
    second = process_image(upload(data))
    assert first.main.file.name != second.main.file.name
    assert first.main.file.name.endswith(".webp")
    assert "photo" not in first.main.file.name
    assert Image.open(io.BytesIO(first.main.file.read())).format == "WEBP"
    assert [(v.width, v.height) for v in first.variants] == [(320, 240), (640, 480), (1024, 768)]


def test_process_image_limits_the_longest_edge():
    """A big photo is scaled down to max_edge on its longer side."""
    processed = process_image(upload(encode(Image.new("RGB", (3000, 1500)))), max_edge=1000)
    assert (processed.main.width, processed.main.height) == (1000, 500)


def test_process_image_strips_gps_exif():
    """Nothing from the upload's EXIF (GPS included) is in the stored file."""
    data = gps_jpeg()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(0x8825)  # the source has GPS
    stored = process_image(upload(data)).main.file.read()
    image = Image.open(io.BytesIO(stored))
    assert not image.getexif()
    assert "exif" not in image.info
    assert b"Exif" not in stored


def test_process_image_applies_exif_orientation():
    """A photo tagged "rotate 90°" is stored upright (width and height swapped)."""
    processed = process_image(upload(gps_jpeg(size=(400, 200), orientation=6)))
    assert (processed.main.width, processed.main.height) == (200, 400)


def test_html_renamed_to_jpg_is_refused():
    """An HTML page called .jpg is not an image."""
    with pytest.raises(ValidationError) as error:
        validate_image(upload(b"<!doctype html><html><script>alert(1)</script></html>"))
    assert error.value.code == "not_an_image"


def test_svg_renamed_to_jpg_is_refused():
    """SVG is not an accepted format, whatever its name says."""
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"></svg>'
    with pytest.raises(ValidationError) as error:
        validate_image(upload(svg, name="logo.jpg"))
    assert error.value.code == "not_an_image"


def test_gif_is_refused():
    """Only JPEG, PNG and WebP are accepted."""
    with pytest.raises(ValidationError):
        validate_image(upload(encode(Image.new("RGB", (10, 10)), "GIF"), name="a.gif"))


def test_truncated_jpeg_is_refused():
    """A JPEG cut in half fails to decode and is refused as damaged."""
    data = encode(Image.effect_noise((400, 400), 80).convert("RGB"), quality=95)
    with pytest.raises(ValidationError) as error:
        process_image(upload(data[: len(data) // 2]))
    assert error.value.code == "corrupt_image"


def test_file_over_the_byte_limit_is_refused_before_decoding(settings):
    """A file over LISTING_IMAGE_MAX_BYTES is refused without opening it as an image."""
    settings.LISTING_IMAGE_MAX_BYTES = 1024
    data = encode(Image.effect_noise((200, 200), 80).convert("RGB"), quality=95)
    assert len(data) > 1024
    with (
        mock.patch("core.images.Image.open") as image_open,
        pytest.raises(ValidationError) as error,
    ):
        process_image(upload(data))
    image_open.assert_not_called()
    assert error.value.code == "file_too_large"


def test_empty_file_is_refused():
    """A zero-byte upload is refused."""
    with pytest.raises(ValidationError) as error:
        validate_image(upload(b""))
    assert error.value.code == "empty"


def test_decompression_bomb_is_refused_fast_from_its_header():
    """A PNG claiming 100000 x 100000 pixels is refused without decoding its pixels."""
    data = png_header_only(100_000, 100_000)
    assert len(data) < 200
    with mock.patch.object(Image.Image, "load") as load, pytest.raises(ValidationError) as error:
        process_image(upload(data, name="bomb.png"))
    load.assert_not_called()
    assert error.value.code == "too_many_pixels"


def test_image_over_the_pixel_limit_is_refused_before_decoding(settings):
    """Below Pillow's own bomb limit, our LISTING_IMAGE_MAX_PIXELS still applies first."""
    settings.LISTING_IMAGE_MAX_PIXELS = 1_000_000
    with mock.patch.object(Image.Image, "load") as load, pytest.raises(ValidationError) as error:
        process_image(upload(png_header_only(2000, 1000), name="big.png"))
    load.assert_not_called()
    assert error.value.code == "too_many_pixels"


def test_png_with_transparency_is_kept_as_rgba():
    """Transparent PNGs keep their alpha channel in the WebP."""
    data = encode(Image.new("RGBA", (50, 50), (255, 0, 0, 0)), "PNG")
    stored = process_image(upload(data, name="a.png")).main.file.read()
    assert Image.open(io.BytesIO(stored)).mode == "RGBA"
