"""Admin pages for members and profiles."""

import pytest
from django.urls import reverse

from accounts.models import Profile, User
from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_logged_in(client):
    admin = User.objects.create_superuser(
        username="root_admin", email="root@example.test", password="x-long-password-1"
    )
    client.force_login(admin)
    return client


def test_user_changelist_searches_email_and_filters_banned(admin_client_logged_in):
    """Staff can find members by email and filter banned ones."""
    UserFactory(username="findme", email="findme@example.test", is_banned=True)
    UserFactory(username="other")
    url = reverse("admin:accounts_user_changelist")
    found = admin_client_logged_in.get(url, {"q": "findme@example"}).content.decode()
    assert "findme" in found
    assert ">other<" not in found
    banned = admin_client_logged_in.get(url, {"is_banned__exact": "1"}).content.decode()
    assert "findme" in banned
    assert ">other<" not in banned


def test_user_change_page_shows_profile_inline(admin_client_logged_in):
    """A member's admin page edits their profile inline."""
    user = UserFactory()
    response = admin_client_logged_in.get(reverse("admin:accounts_user_change", args=[user.pk]))
    assert response.status_code == 200
    assert "profile-0-display_name" in response.content.decode()


def test_user_added_in_admin_gets_a_profile(admin_client_logged_in):
    """Adding a user through the admin always leaves them with a profile."""
    response = admin_client_logged_in.post(
        reverse("admin:accounts_user_add"),
        {
            "username": "added",
            "email": "added@example.test",
            "password1": "a-Long-pass-phrase-9",
            "password2": "a-Long-pass-phrase-9",
            "usable_password": "true",
            "profile-TOTAL_FORMS": "0",
            "profile-INITIAL_FORMS": "0",
            "profile-MIN_NUM_FORMS": "0",
            "profile-MAX_NUM_FORMS": "1",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Profile.objects.filter(user__username="added").exists()


def test_profile_changelist_loads(admin_client_logged_in):
    """The Profile admin lists profiles."""
    UserFactory(profile__display_name="Listed Person")
    response = admin_client_logged_in.get(reverse("admin:accounts_profile_changelist"))
    assert "Listed Person" in response.content.decode()
