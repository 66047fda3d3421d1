"""My Threadly dashboard and the profile edit page."""

import pytest
from django.urls import reverse

from accounts.models import Profile, User
from accounts.tests.factories import UserFactory
from accounts.tests.images import jpeg_bytes

pytestmark = pytest.mark.django_db


def profile_data(**overrides):
    return {
        "display_name": "Ana B",
        "bio": "Vintage denim and 90s sportswear.",
        "location": "Lyon",
        "holiday_mode": "",
        **overrides,
    }


@pytest.mark.parametrize("url_name", ["accounts:dashboard", "accounts:profile_edit"])
def test_account_pages_require_login(client, url_name):
    """Anonymous visitors are sent to the login page."""
    response = client.get(reverse(url_name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_dashboard_links_to_profile_and_settings(client):
    """The dashboard greets the member and links to profile, email and password pages."""
    user = UserFactory(profile__display_name="Ana B")
    client.force_login(user)
    response = client.get(reverse("accounts:dashboard"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Hi, Ana B" in content
    for name in ["accounts:profile_edit", "account_email", "account_change_password"]:
        assert f'href="{reverse(name)}"' in content
    assert content.count("<h1") == 1


def test_dashboard_works_for_user_without_profile(client):
    """A user made outside our services (createsuperuser) gets a profile on first visit."""
    admin = User.objects.create_superuser(
        username="boss", email="boss@example.test", password="x-long-password-1"
    )
    client.force_login(admin)
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    assert Profile.objects.filter(user=admin).exists()


def test_profile_edit_saves_own_profile(client):
    """Posting the form updates the signed-in member's profile and redirects."""
    user = UserFactory()
    client.force_login(user)
    response = client.post(reverse("accounts:profile_edit"), profile_data(holiday_mode="on"))
    assert response.status_code == 302
    profile = Profile.objects.get(user=user)
    assert profile.display_name == "Ana B"
    assert profile.location == "Lyon"
    assert profile.holiday_mode


def test_profile_edit_cannot_touch_another_members_profile(client):
    """Even a forged `user` field only ever edits the signed-in member's own profile."""
    me, other = UserFactory(), UserFactory(profile__display_name="Other")
    client.force_login(me)
    client.post(reverse("accounts:profile_edit"), profile_data(user=other.pk, profile=other.pk))
    assert Profile.objects.get(user=other).display_name == "Other"
    assert Profile.objects.get(user=me).display_name == "Ana B"


def test_profile_edit_with_avatar_upload_stores_webp(client):
    """A JPEG avatar is saved as a WebP under avatars/."""
    user = UserFactory()
    client.force_login(user)
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("face.jpg", jpeg_bytes(800, 800), content_type="image/jpeg")
    response = client.post(reverse("accounts:profile_edit"), profile_data(avatar=upload))
    assert response.status_code == 302
    avatar = Profile.objects.get(user=user).avatar
    assert avatar.name.startswith("avatars/")
    assert avatar.name.endswith(".webp")


def test_profile_edit_rejects_non_image_with_clear_error(client):
    """A text file posing as a photo is refused with a message and nothing is saved."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    user = UserFactory(profile__display_name="Before")
    client.force_login(user)
    upload = SimpleUploadedFile("cv.jpg", b"%PDF-1.4 not an image", content_type="image/jpeg")
    response = client.post(reverse("accounts:profile_edit"), profile_data(avatar=upload))
    content = response.content.decode()
    assert response.status_code == 200
    assert "not a photo we can use" in content
    assert 'class="errorlist' in content
    profile = Profile.objects.get(user=user)
    assert profile.display_name == "Before"
    assert not profile.avatar


def test_profile_edit_rejects_too_big_avatar_with_clear_error(client, settings):
    """A file over the upload limit is refused with its size in the message."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    settings.LISTING_IMAGE_MAX_BYTES = 1_048_576
    user = UserFactory()
    client.force_login(user)
    big = SimpleUploadedFile("big.jpg", b"\xff\xd8" + b"0" * 1_200_000, content_type="image/jpeg")
    response = client.post(reverse("accounts:profile_edit"), profile_data(avatar=big))
    assert response.status_code == 200
    assert "photos can be at most 1 MB" in response.content.decode()
    assert not Profile.objects.get(user=user).avatar


def test_profile_edit_too_long_display_name_shows_field_error(client):
    """Form shape errors (61-character name) are shown next to the field."""
    user = UserFactory(profile__display_name="Before")
    client.force_login(user)
    response = client.post(reverse("accounts:profile_edit"), profile_data(display_name="x" * 61))
    assert response.status_code == 200
    assert "at most 60 characters" in response.content.decode()
    assert Profile.objects.get(user=user).display_name == "Before"


def test_dashboard_links_to_other_apps_pages_that_exist(client):
    """Links to my listings, saved items, orders and sales appear when those pages exist."""
    from django.urls import NoReverseMatch

    client.force_login(UserFactory())
    content = client.get(reverse("accounts:dashboard")).content.decode()
    for name in [
        "marketplace:my_listings",
        "marketplace:favourites",
        "orders:order_list",
        "orders:sales_list",
    ]:
        try:
            url = reverse(name)
        except NoReverseMatch:
            continue
        assert f'href="{url}"' in content
