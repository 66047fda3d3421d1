import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from marketplace.tests.factories import CategoryFactory, image_bytes


def jpeg_upload(name: str = "photo.jpg", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, image_bytes(size=(1100, 300), **kwargs), "image/jpeg")


@pytest.fixture
def category(db):
    return CategoryFactory(name="Jackets", slug="jackets")


@pytest.fixture
def media_files(settings):
    """Every file currently stored under MEDIA_ROOT (relative names)."""

    def files() -> set[str]:
        root = settings.MEDIA_ROOT
        if not root.exists():
            return set()
        return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}

    return files
