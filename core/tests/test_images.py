"""core.images: uploads are validated before decoding, re-encoded without metadata, and cost
bounded time and memory per request."""

import io
import struct
import zlib
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image, ImageFile, ImageOps

from core.images import (
    _malloc_trim,
    check_request_budget,
    decoded_pixels,
    process_image,
    release_memory,
    validate_image,
)


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
    with (
        mock.patch.object(ImageFile.ImageFile, "load") as load,
        pytest.raises(ValidationError) as error,
    ):
        process_image(upload(data, name="bomb.png"))
    load.assert_not_called()
    assert error.value.code == "too_many_pixels"


def test_image_over_the_pixel_limit_is_refused_before_decoding(settings):
    """Below Pillow's own bomb limit, our LISTING_IMAGE_MAX_PIXELS still applies first."""
    settings.LISTING_IMAGE_MAX_PIXELS = 1_000_000
    with (
        mock.patch.object(ImageFile.ImageFile, "load") as load,
        pytest.raises(ValidationError) as error,
    ):
        process_image(upload(png_header_only(2000, 1000), name="big.png"))
    load.assert_not_called()
    assert error.value.code == "too_many_pixels"


def test_png_with_transparency_is_kept_as_rgba():
    """Transparent PNGs keep their alpha channel in the WebP."""
    data = encode(Image.new("RGBA", (50, 50), (255, 0, 0, 0)), "PNG")
    stored = process_image(upload(data, name="a.png")).main.file.read()
    assert Image.open(io.BytesIO(stored)).mode == "RGBA"


def png_upload(size: tuple[int, int], name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, encode(Image.new("RGB", size, "olive"), "PNG"), "image/png")


def test_request_over_the_pixel_budget_is_refused_before_decoding_anything(settings):
    """Photos that together exceed IMAGE_REQUEST_PIXEL_BUDGET are refused from their headers."""
    settings.IMAGE_REQUEST_PIXEL_BUDGET = 1_000_000
    uploads = [png_upload((800, 500)), png_upload((800, 500)), png_upload((800, 500))]
    with (
        mock.patch.object(ImageFile.ImageFile, "load") as load,
        pytest.raises(ValidationError) as error,
    ):
        check_request_budget(uploads)
    load.assert_not_called()
    assert error.value.code == "request_too_many_pixels"
    assert "at most 1 megapixels in one upload" in error.value.messages[0]
    assert all(upload.tell() == 0 for upload in uploads)


def test_request_within_the_pixel_budget_passes(settings):
    """At the budget exactly, the request goes on to be decoded."""
    settings.IMAGE_REQUEST_PIXEL_BUDGET = 800_000
    check_request_budget([png_upload((800, 500)), png_upload((800, 500))])


def test_files_refused_from_their_header_cost_nothing_in_the_budget(settings):
    """Too many bytes, too many pixels or not an image: each gets its own error, not the
    budget's, since none of them would be decoded."""
    settings.IMAGE_REQUEST_PIXEL_BUDGET = 1
    settings.LISTING_IMAGE_MAX_PIXELS = 1_000_000
    settings.LISTING_IMAGE_MAX_BYTES = 10_000
    refused = [
        upload(b"<html></html>"),
        upload(png_header_only(2000, 1000), name="big.png"),
        upload(b""),
        upload(encode(Image.effect_noise((200, 200), 80).convert("RGB"), quality=95)),
    ]
    assert [decoded_pixels(file) for file in refused] == [0, 0, 0, 0]
    check_request_budget(refused)
    with pytest.raises(ValidationError) as error:
        check_request_budget([*refused, png_upload((10, 10))])
    assert error.value.code == "request_too_many_pixels"


def test_a_jpeg_counts_at_the_scale_it_is_decoded_at():
    """libjpeg decodes a big JPEG at 1/2, 1/4 or 1/8 scale: the budget counts those pixels."""
    data = encode(Image.new("RGB", (4000, 3000), "teal"))
    assert decoded_pixels(upload(data), max_edge=1000) == 1000 * 750
    assert decoded_pixels(upload(data), max_edge=2048) == 4000 * 3000
    png = encode(Image.new("RGB", (4000, 3000), "teal"), "PNG")
    assert decoded_pixels(upload(png, name="a.png"), max_edge=1000) == 4000 * 3000


def loaded_sizes():
    """Patch Image.load to record the size of every image as it is decoded."""
    sizes = []
    real_load = ImageFile.ImageFile.load

    def load(self):
        if self.tile:
            sizes.append(self.size)
        return real_load(self)

    return sizes, mock.patch.object(ImageFile.ImageFile, "load", load)


def test_a_long_jpeg_is_decoded_at_reduced_scale():
    """The draft size follows the photo's shape: a 4:1 panorama decodes at 1/4, not in full."""
    data = encode(Image.new("RGB", (4000, 1000), "teal"))
    sizes, patch = loaded_sizes()
    with patch:
        processed = process_image(upload(data), max_edge=1000, variant_widths=())
    assert sizes == [(1000, 250)]
    assert (processed.main.width, processed.main.height) == (1000, 250)


def test_orientation_is_applied_after_shrinking():
    """EXIF rotation turns the stored-size picture, not a full-size copy of the decoded one."""
    turned = []
    real_transpose = ImageOps.exif_transpose

    def exif_transpose(image, **kwargs):
        turned.append(image.size)
        return real_transpose(image, **kwargs)

    with mock.patch("core.images.ImageOps.exif_transpose", exif_transpose):
        processed = process_image(upload(gps_jpeg(size=(3000, 1500), orientation=6)), max_edge=1000)
    assert turned == [(1000, 500)]
    assert (processed.main.width, processed.main.height) == (500, 1000)


def test_default_pixel_limit_takes_every_phone_default_and_refuses_more():
    """25 MP per photo: a 24 MP iPhone photo gets past the header check, 27 MP does not."""
    with pytest.raises(ValidationError) as refused:
        validate_image(upload(png_header_only(6000, 4500), name="big.png"))
    assert refused.value.code == "too_many_pixels"
    assert "at most 25 megapixels" in refused.value.messages[0]
    # Header-only: it gets past the pixel limit, then fails to decode its (missing) pixels.
    with pytest.raises(ValidationError) as phone:
        validate_image(upload(png_header_only(5712, 4284), name="iphone.png"))
    assert phone.value.code == "corrupt_image"


def test_memory_is_handed_back_after_each_photo_even_a_refused_one():
    """malloc_trim(0) runs after every processed photo, and after one that fails to decode."""
    trim = mock.Mock()
    with mock.patch("core.images._malloc_trim", return_value=trim):
        process_image(upload(encode(Image.new("RGB", (300, 200)))))
        with pytest.raises(ValidationError):
            process_image(upload(b"<html></html>"))
    assert trim.call_args_list == [mock.call(0), mock.call(0)]


def test_memory_release_is_a_no_op_without_glibc(monkeypatch):
    """Off Linux there is no malloc_trim to call, and release_memory() does nothing."""
    monkeypatch.setattr("core.images.sys.platform", "darwin")
    _malloc_trim.cache_clear()
    try:
        assert _malloc_trim() is None
        release_memory()
    finally:
        _malloc_trim.cache_clear()


@pytest.mark.parametrize(
    ("image", "mode"),
    [
        pytest.param(Image.new("P", (300, 200)), "RGB", id="palette"),
        pytest.param(Image.new("LA", (300, 200), (90, 128)), "RGBA", id="grey-alpha"),
        pytest.param(Image.new("L", (300, 200), 90), "RGB", id="grey"),
        pytest.param(Image.new("I;16", (300, 200), 900), "RGB", id="16-bit"),
    ],
)
def test_other_png_modes_are_stored_as_rgb_or_rgba(image, mode):
    """Palette, grey, grey+alpha and 16-bit PNGs are shrunk and stored as RGB(A) WebP."""
    stored = process_image(upload(encode(image, "PNG"), name="a.png"), max_edge=100)
    assert (stored.main.width, stored.main.height) == (100, 67)
    assert Image.open(io.BytesIO(stored.main.file.read())).mode == mode
