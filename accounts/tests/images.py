"""Small in-memory images for upload tests."""

import io

from PIL import Image


def jpeg_bytes(width: int, height: int, color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="JPEG")
    return buffer.getvalue()
