"""Uploads lose their location data; pages survive concurrent changes."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from marketplace.models import Category
from marketplace.tests.factories import (
    CategoryFactory,
)
from tests.robustness.world import (
    XSS,
    _is_login_redirect,
    assert_escaped,
    assert_no_crash,
    listing_payload,
    snapshot,
)

pytestmark = pytest.mark.django_db


# --- Uploads: privacy and stored names -----------------------------------------------------
def _jpeg_with_gps() -> bytes:
    """A JPEG carrying camera make and GPS coordinates in its EXIF block."""
    import io

    from PIL import Image

    image = Image.new("RGB", (400, 300), "teal")
    exif = image.getexif()
    exif[0x010F] = "SecretCameraMaker"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 26.0), 3: "W", 4: (0.0, 7.0, 39.0)}  # GPSInfo
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", exif=exif)
    assert b"SecretCameraMaker" in buffer.getvalue()
    return buffer.getvalue()


def test_uploaded_photos_and_avatars_lose_exif_location(world, settings):
    """Listing photos (and renditions) and avatars are stored without EXIF: no GPS, no camera."""
    from PIL import Image

    client = world.client("owner")
    photo = SimpleUploadedFile("../../../../etc/cron.d/x.php.jpg", _jpeg_with_gps(), "image/jpeg")
    response = client.post(
        reverse("marketplace:listing_create"), {**listing_payload(world), "images": [photo]}
    )
    assert response.status_code == 302
    avatar = SimpleUploadedFile("me.jpg", _jpeg_with_gps(), "image/jpeg")
    response = client.post(
        reverse("accounts:profile_edit"), {"display_name": "Me", "avatar": avatar}
    )
    assert response.status_code == 302
    stored = [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]
    new_files = [p for p in stored if p.suffix == ".webp"]
    assert len(new_files) >= 2
    for path in new_files:
        assert b"SecretCameraMaker" not in path.read_bytes(), path
        with Image.open(path) as image:
            assert not image.getexif().get_ifd(0x8825), path
        assert ".." not in str(path.relative_to(settings.MEDIA_ROOT))
        assert ".php" not in path.name


def test_browse_survives_a_category_added_while_the_page_renders(world, monkeypatch):
    """A category created by staff mid-request never turns /browse/ into a 500."""
    from marketplace import selectors

    before = selectors.category_tree()
    CategoryFactory(name="Brand new", slug="brand-new")
    after = list(Category.objects.values("id", "parent_id", "name", "slug"))
    reads = iter([before])
    monkeypatch.setattr(selectors, "category_tree", lambda: next(reads, after))
    response = world.client("anonymous").get(reverse("marketplace:browse"))
    assert_no_crash(response, "browse during a category change")


def test_staff_dashboards_refuse_members_and_survive_hostile_days(world):
    """The analytics dashboard is staff-only; any ?days= value renders for staff, never 500."""
    url = reverse("ops:analytics")
    for role in ("anonymous", "stranger", "owner"):
        response = world.client(role).get(url)
        assert _is_login_redirect(response), (role, response.status_code)
    staff = world.client("staff")
    for days in ["7", "30", "90", "0", "-1", "abc", "NaN", "1e309", "99999999999999999999", XSS]:
        response = staff.get(url, {"days": days})
        assert response.status_code == 200, (days, response.status_code)
        assert_escaped(response, XSS, f"analytics days={days!r}")


def test_cancelling_or_re_approving_a_paid_checkout_changes_nothing(world):
    """After payment, the buyer POSTing cancel or a declined test payment leaves orders paid."""
    buyer = world.client("buyer")
    before = snapshot(world)
    kwargs = {"public_id": world.checkout.public_id}
    buyer.post(reverse("orders:checkout_cancel", kwargs=kwargs))
    buyer.post(reverse("orders:test_payment", kwargs=kwargs), {"decision": "decline"})
    buyer.get(reverse("orders:checkout_return", kwargs=kwargs))
    assert snapshot(world) == before
