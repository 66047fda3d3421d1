"""Account services: creating members, editing profiles, deactivating."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.exceptions import EmailTaken, UsernameTaken
from accounts.models import Profile, User
from accounts.selectors import profile_for
from accounts.services import profile_update, user_create, user_deactivate
from accounts.tests.factories import UserFactory
from accounts.tests.images import jpeg_bytes
from core.models import AuditLog

pytestmark = pytest.mark.django_db


def test_user_create_makes_user_and_profile_together():
    """user_create saves the member and their Profile with the given profile fields."""
    user = user_create(
        email="Ana@Example.TEST", username="ana", password="correct horse 9", location="Lyon"
    )
    assert user.email == "Ana@example.test"
    assert user.check_password("correct horse 9")
    assert Profile.objects.get(user=user).location == "Lyon"


def test_user_create_without_password_gets_unusable_password():
    """A member made without a password can only sign in through a provider."""
    user = user_create(email="p@example.test", username="provider_only")
    assert not user.has_usable_password()


def test_user_create_refuses_taken_email_case_insensitively():
    """Emails are unique regardless of case; nothing is written on refusal."""
    UserFactory(email="ana@example.test")
    with pytest.raises(EmailTaken):
        user_create(email="ANA@example.test", username="another")
    assert not User.objects.filter(username="another").exists()


def test_user_create_refuses_taken_username_case_insensitively():
    """Handles are unique regardless of case."""
    UserFactory(username="Ana")
    with pytest.raises(UsernameTaken):
        user_create(email="new@example.test", username="ana")


def test_user_create_rolls_back_user_if_profile_fails():
    """An unknown profile field means no user row is left behind."""
    with pytest.raises(ValueError, match="Unknown profile fields"):
        user_create(email="x@example.test", username="xavier", shoe_size=42)
    assert not User.objects.filter(username="xavier").exists()


def test_profile_for_creates_missing_profile_for_createsuperuser_users():
    """Users made by Django's manager (createsuperuser) get a profile on first access."""
    admin = User.objects.create_superuser(
        username="root_admin", email="root@example.test", password="x-long-password-1"
    )
    assert not Profile.objects.filter(user=admin).exists()
    profile = profile_for(User.objects.get(pk=admin.pk))
    assert profile.pk is not None
    assert Profile.objects.filter(user=admin).count() == 1
    assert profile_for(User.objects.get(pk=admin.pk)).pk == profile.pk


def test_profile_update_saves_fields_and_avatar_as_small_webp():
    """The avatar is re-encoded to WebP at most 512 px under a random name."""
    user = UserFactory()
    upload = SimpleUploadedFile("me.jpg", jpeg_bytes(1200, 800), content_type="image/jpeg")
    profile = profile_update(
        user=user,
        display_name="  Ana B ",
        bio="Vintage denim",
        location="Lyon",
        holiday_mode=True,
        avatar=upload,
    )
    profile.refresh_from_db()
    assert profile.display_name == "Ana B"
    assert profile.holiday_mode
    assert profile.avatar.name.startswith("avatars/")
    assert profile.avatar.name.endswith(".webp")
    assert "me" not in profile.avatar.name.removeprefix("avatars/")
    from PIL import Image

    with default_storage.open(profile.avatar.name) as fh, Image.open(fh) as image:
        assert image.format == "WEBP"
        assert max(image.size) == 512


def test_profile_update_deletes_replaced_avatar_after_commit(django_capture_on_commit_callbacks):
    """Replacing the avatar removes the old file, but only once the change is committed."""
    user = UserFactory()
    first = profile_update(
        user=user,
        display_name="",
        bio="",
        location="",
        holiday_mode=False,
        avatar=SimpleUploadedFile("a.png", jpeg_bytes(64, 64)),
    )
    old_name = first.avatar.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        second = profile_update(
            user=user,
            display_name="",
            bio="",
            location="",
            holiday_mode=False,
            avatar=SimpleUploadedFile("b.png", jpeg_bytes(64, 64)),
        )
    assert default_storage.exists(old_name)  # not yet: the transaction might roll back
    for callback in callbacks:
        callback()
    assert not default_storage.exists(old_name)
    assert default_storage.exists(second.avatar.name)


def test_profile_update_remove_avatar_clears_it(django_capture_on_commit_callbacks):
    """remove_avatar drops the photo and deletes its file after commit."""
    user = UserFactory()
    profile = profile_update(
        user=user,
        display_name="",
        bio="",
        location="",
        holiday_mode=False,
        avatar=SimpleUploadedFile("a.jpg", jpeg_bytes(64, 64)),
    )
    name = profile.avatar.name
    with django_capture_on_commit_callbacks(execute=True):
        profile = profile_update(
            user=user, display_name="", bio="", location="", holiday_mode=False, remove_avatar=True
        )
    assert not profile.avatar
    assert not default_storage.exists(name)


def test_profile_update_rejects_non_image_and_keeps_old_values():
    """A text file as avatar raises a ValidationError and nothing is saved."""
    user = UserFactory(profile__display_name="Before")
    with pytest.raises(ValidationError, match="not a photo"):
        profile_update(
            user=user,
            display_name="After",
            bio="",
            location="",
            holiday_mode=False,
            avatar=SimpleUploadedFile("evil.jpg", b"<?php echo 1; ?>", content_type="image/jpeg"),
        )
    assert Profile.objects.get(user=user).display_name == "Before"


def test_user_deactivate_sets_inactive_and_audits_once():
    """Deactivation keeps the row, blocks sign-in and is audited once even if repeated."""
    user = UserFactory()
    user_deactivate(user=user, reason="asked")
    user_deactivate(user=user, reason="asked again")
    user.refresh_from_db()
    assert not user.is_active
    assert AuditLog.objects.filter(action="user.deactivated", target_id=str(user.pk)).count() == 1


def test_signup_record_gives_provider_signups_a_profile(django_capture_on_commit_callbacks):
    """A member created by a social login (no Profile yet) gets one when the sign-up is recorded."""
    from accounts.services import signup_record
    from core.analytics import get_backend

    get_backend().clear()
    user = User.objects.create_user(username="social", email="social@example.test")
    with django_capture_on_commit_callbacks(execute=True):
        signup_record(user=user, method="google")
    assert Profile.objects.filter(user=user).exists()
    assert [(e.name, e.properties) for e in get_backend().events] == [
        ("signup", {"method": "google"})
    ]
