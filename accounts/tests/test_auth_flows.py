"""Sign-up, login and logout through allauth, with Threadly's templates and records."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

from accounts.models import Profile, User
from accounts.tests.factories import TEST_PASSWORD, UserFactory
from core.analytics import get_backend
from core.models import AuditLog
from marketplace.management.commands.seed_demo import DEMO_PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _clean_analytics():
    get_backend().clear()
    yield
    get_backend().clear()


def events(name: str) -> list:
    return [event for event in get_backend().events if event.name == name]


def login(client, email: str, password: str = TEST_PASSWORD):
    return client.post(reverse("account_login"), {"login": email, "password": password})


def emailed_code(message) -> str:
    """The verification code in allauth's email (a line of its own, e.g. NQBV-LCDK)."""
    return re.search(r"^\s*([A-Z0-9]{4}-[A-Z0-9]{4})\s*$", message.body, re.M)[1]


SIGNUP = {
    "email": "new@example.test",
    "username": "newbie",
    "password1": "a-Long-pass-phrase-9",
    "password2": "a-Long-pass-phrase-9",
}


def test_signup_creates_member_with_profile_logs_in_and_counts(
    client, django_capture_on_commit_callbacks, mailoutbox
):
    """Signing up with email, username and the password twice makes a member with a profile;
    typing the emailed code on the next page logs them in."""
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), SIGNUP)
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    code_page = client.get(response["Location"])
    assert 'name="code"' in code_page.content.decode()
    response = client.post(response["Location"], {"code": emailed_code(mailoutbox[-1])})
    assert response.status_code == 302
    user = User.objects.get(email="new@example.test")
    assert user.username == "newbie"
    assert Profile.objects.filter(user=user).exists()
    assert client.session["_auth_user_id"] == str(user.pk)
    assert [e.distinct_id for e in events("signup")] == [f"user:{user.pk}"]


def test_signup_with_mismatched_passwords_shows_error_and_creates_nobody(client):
    """The second password must match; the form is shown again with a clear error."""
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.test",
            "username": "newbie",
            "password1": "a-Long-pass-phrase-9",
            "password2": "something-else-entirely",
        },
    )
    assert response.status_code == 200
    assert not User.objects.exists()
    assert 'class="errorlist' in response.content.decode()


def test_signup_with_taken_username_is_refused(client):
    """A handle already used (any case) cannot be signed up again."""
    UserFactory(username="Taken")
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.test",
            "username": "taken",
            "password1": "a-Long-pass-phrase-9",
            "password2": "a-Long-pass-phrase-9",
        },
    )
    assert response.status_code == 200
    assert not User.objects.filter(email="new@example.test").exists()


@pytest.mark.parametrize("handle", ["admin", "Threadly", "SUPPORT"])
def test_signup_with_a_handle_reserved_for_the_platform_is_refused(client, handle):
    """Handles that would pass as the platform (any case) cannot be taken by a member."""
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.test",
            "username": handle,
            "password1": "a-Long-pass-phrase-9",
            "password2": "a-Long-pass-phrase-9",
        },
    )
    assert response.status_code == 200
    assert "username can not be used" in response.content.decode().lower()
    assert not User.objects.filter(email="new@example.test").exists()


def test_login_with_email_succeeds_audits_and_counts(client, django_capture_on_commit_callbacks):
    """A member logs in with their email; audited as auth.login and counted as "login"."""
    user = UserFactory()
    with django_capture_on_commit_callbacks(execute=True):
        response = login(client, user.email)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)
    assert AuditLog.objects.filter(action="auth.login", target_id=str(user.pk)).exists()
    assert len(events("login")) == 1


def test_wrong_password_is_refused_and_audited_without_password(client):
    """A failed login stays on the form, and the audit entry names the email, not the password."""
    user = UserFactory()
    response = login(client, user.email, "wrong-password")
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    entry = AuditLog.objects.get(action="auth.login_failed")
    assert entry.data["identifier"] == user.email
    assert "wrong-password" not in str(entry.data)
    assert entry.ip_address == "127.0.0.1"


def test_banned_member_cannot_log_in_and_is_told_why(client):
    """A banned member with the right password is refused with a clear message."""
    user = UserFactory(is_banned=True)
    response = login(client, user.email)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "suspended" in response.content.decode()
    assert AuditLog.objects.filter(
        action="auth.login_refused", target_id=str(user.pk), data__reason="banned"
    ).exists()


def test_deactivated_member_cannot_log_in_and_is_told_why(client):
    """An inactive member with the right password is refused with a clear message."""
    user = UserFactory(is_active=False)
    response = login(client, user.email)
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "deactivated" in response.content.decode()
    assert AuditLog.objects.filter(
        action="auth.login_refused", target_id=str(user.pk), data__reason="inactive"
    ).exists()


def test_deactivated_member_status_is_not_revealed_without_password(client):
    """With a wrong password, an inactive account gets the ordinary error (no enumeration)."""
    user = UserFactory(is_active=False)
    response = login(client, user.email, "wrong-password")
    content = response.content.decode()
    assert "deactivated" not in content
    assert "suspended" not in content


@pytest.mark.parametrize(
    "url_name",
    ["account_login", "account_signup", "account_reset_password", "account_reset_password_done"],
)
def test_entrance_pages_use_site_layout(client, url_name):
    """allauth pages render inside base.html with Threadly's form components."""
    response = client.get(reverse(url_name))
    content = response.content.decode()
    assert response.status_code == 200
    assert 'class="site-header"' in content
    assert "form-card" in content
    assert content.count("<h1") == 1
    assert "style=" not in content


@pytest.mark.parametrize("url_name", ["account_logout", "account_change_password", "account_email"])
def test_manage_pages_use_site_layout(client, url_name):
    """Logged-in account pages render inside base.html with one h1 and a form card."""
    client.force_login(UserFactory())
    response = client.get(reverse(url_name))
    content = response.content.decode()
    assert response.status_code == 200
    assert "form-card" in content
    assert content.count("<h1") == 1
    assert "style=" not in content


def test_login_page_labels_every_field(client):
    """The email and password inputs have visible labels."""
    content = client.get(reverse("account_login")).content.decode()
    assert '<label for="id_login"' in content
    assert '<label for="id_password"' in content


def test_social_buttons_hidden_without_configured_providers(client, settings):
    """With no SOCIALACCOUNT_PROVIDERS there is no Google/Apple button."""
    settings.SOCIALACCOUNT_PROVIDERS = {}
    content = client.get(reverse("account_login")).content.decode()
    assert "Continue with Google" not in content
    assert "Continue with Apple" not in content


def test_google_sign_in_is_installed_and_offered_only_when_its_keys_are_set():
    """With Google's keys in the environment, its provider app is installed and the login page
    shows a "Continue with Google" button posting to its login URL (a fresh process, since
    settings decide INSTALLED_APPS at start-up)."""
    script = (
        "import django; django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from django.test import Client\n"
        "html = Client().get('/accounts/login/').content.decode()\n"
        "print('Continue with Google' in html, 'action=\"/accounts/google/login/' in html,"
        " 'Continue with Apple' in html)\n"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "threadly.settings",
        "DEBUG": "1",
        "DATABASE_URL": "sqlite://:memory:",
        "GOOGLE_CLIENT_ID": "id.apps.example",
        "GOOGLE_CLIENT_SECRET": "s",
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=env,
        cwd=Path(__file__).resolve().parents[2],
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True", "False"]


def test_logout_confirm_then_post_logs_out(client):
    """GET shows a confirmation, POST logs out."""
    client.force_login(UserFactory())
    assert "Are you sure" in client.get(reverse("account_logout")).content.decode()
    client.post(reverse("account_logout"))
    assert "_auth_user_id" not in client.session


def test_password_reset_sends_email_and_link_page_renders(client, mailoutbox):
    """Requesting a reset emails a link whose page asks for the new password twice."""
    user = UserFactory()
    response = client.post(reverse("account_reset_password"), {"email": user.email})
    assert response.status_code == 302
    assert len(mailoutbox) == 1
    link = next(
        word for word in mailoutbox[0].body.split() if "/accounts/password/reset/key/" in word
    )
    path = link.split("testserver", 1)[-1]
    page = client.get(path, follow=True)
    content = page.content.decode()
    assert "Choose a new password" in content
    assert 'name="password1"' in content
    assert 'name="password2"' in content


def test_banning_ends_an_open_session(client):
    """A member banned while logged in is anonymous on their next request."""
    user = UserFactory()
    login(client, user.email)
    assert client.get(reverse("accounts:dashboard")).status_code == 200
    User.objects.filter(pk=user.pk).update(is_banned=True)
    response = client.get(reverse("accounts:dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_banned_staff_cannot_log_in_to_admin(client):
    """The admin login, which bypasses allauth, refuses banned members too."""
    user = UserFactory(is_staff=True, is_banned=True)
    client.post(reverse("admin:login"), {"username": user.email, "password": TEST_PASSWORD})
    assert "_auth_user_id" not in client.session
    client.post(reverse("admin:login"), {"username": user.username, "password": TEST_PASSWORD})
    assert "_auth_user_id" not in client.session
    assert AuditLog.objects.filter(action="auth.login_failed").count() == 2


def test_unbanned_staff_can_log_in_to_admin(client):
    """Control case for the test above: the same member, not banned, gets in."""
    user = UserFactory(is_staff=True)
    client.post(reverse("admin:login"), {"username": user.username, "password": TEST_PASSWORD})
    assert client.session["_auth_user_id"] == str(user.pk)


def test_signup_with_invalid_handle_is_refused_with_rule(client):
    """Usernames follow the handle rule (3-30 letters, numbers, . - _)."""
    response = client.post(
        reverse("account_signup"),
        {
            "email": "new@example.test",
            "username": "ab",
            "password1": "a-Long-pass-phrase-9",
            "password2": "a-Long-pass-phrase-9",
        },
    )
    assert response.status_code == 200
    assert not User.objects.exists()
    assert "Use 3 to 30 letters, numbers, dots, dashes or underscores." in response.content.decode()


def test_signup_with_a_taken_email_answers_like_a_new_one_and_mails_the_owner(client, mailoutbox):
    """Sign-up never says an email is taken: same answer as for a new one; the owner is told."""
    owner = UserFactory(email="taken@example.test")
    fresh = client.post(reverse("account_signup"), SIGNUP)
    client.logout()
    taken = client.post(
        reverse("account_signup"), {**SIGNUP, "email": owner.email, "username": "x.y"}
    )
    assert taken.status_code == fresh.status_code == 302
    assert taken["Location"] == fresh["Location"]
    page = client.get(taken["Location"]).content.decode()
    assert "already registered" not in page.lower()
    assert 'name="code"' in page
    assert User.objects.filter(email__iexact=owner.email).count() == 1
    to_owner = [m for m in mailoutbox if m.to == [owner.email]]
    assert len(to_owner) == 1
    assert "already" in to_owner[0].body.lower()


def test_login_with_an_unverified_email_asks_for_the_emailed_code(client, mailoutbox):
    """With mandatory verification a member must confirm the address before logging in."""
    user = UserFactory(email_verified=False)
    response = login(client, user.email)
    assert "_auth_user_id" not in client.session
    response = client.post(response["Location"], {"code": emailed_code(mailoutbox[-1])})
    assert client.session["_auth_user_id"] == str(user.pk)


def test_demo_logins_work_through_the_login_form(client):
    """seed_demo's members (README's table) log in with the demo password, no code asked."""
    from django.core.management import call_command

    call_command("seed_demo", "--listings", "0", verbosity=0)
    for email in ("buyer@threadly.test", "seller1@threadly.test", "admin@threadly.test"):
        client.logout()
        response = login(client, email, DEMO_PASSWORD)
        assert response.status_code == 302, email
        assert "_auth_user_id" in client.session, email
