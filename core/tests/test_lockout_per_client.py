"""Lock-out without denial of service: per account+client and per client, slow-down and staff
alert for an account attacked from many clients, the emailed reset link as the owner's way in,
and the client-IP source (NUM_PROXIES)."""

import re
from pathlib import Path

import pytest
from django.conf import settings as django_settings

from accounts.tests.factories import TEST_PASSWORD, UserFactory
from core import lockout
from core.models import SuspiciousActivity

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
ATTACKER, OWNER = "203.0.113.5", "198.51.100.7"


def _login(client, email: str, password: str, ip: str, **extra):
    return client.post(LOGIN, {"login": email, "password": password}, REMOTE_ADDR=ip, **extra)


@pytest.fixture(autouse=True)
def _roomy_rate_limit(settings):
    settings.RATELIMIT_AUTH = "1000/m"


def test_failures_from_one_client_do_not_lock_the_owner_out_on_another(client, settings):
    """Someone who knows the email locks only their own client; the owner still logs in."""
    user = UserFactory()
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS + 2):
        _login(client, user.email, "wrong-guess", ATTACKER)
    assert _login(client, user.email, TEST_PASSWORD, ATTACKER).status_code == 429
    assert lockout.seconds_locked(identifier=user.email, ip=ATTACKER) > 0

    response = _login(client, user.email, TEST_PASSWORD, OWNER)
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_account_failing_from_many_clients_is_slowed_not_locked_and_staff_alerted(
    client, settings, mailoutbox, django_capture_on_commit_callbacks
):
    """Failures from many clients: one staff alert, unknown clients slowed, the owner's known
    client never refused."""
    settings.LOGIN_TARGETED_ATTEMPTS = 6
    settings.LOGIN_TARGETED_RATE = "2/m"
    settings.ALERT_EMAILS = ["security@example.test"]
    user = UserFactory()
    assert _login(client, user.email, TEST_PASSWORD, OWNER).status_code == 302  # a known client
    client.logout()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(settings.LOGIN_TARGETED_ATTEMPTS):  # two tries from each of 3 clients
            _login(client, user.email, "wrong-guess", f"203.0.113.{10 + n // 2}")
    targeted = SuspiciousActivity.objects.filter(
        kind=SuspiciousActivity.Kind.LOGIN_ACCOUNT_TARGETED, identifier=user.email
    )
    assert targeted.count() == 1
    assert len(mailoutbox) == 1
    assert user.email in mailoutbox[0].subject
    assert mailoutbox[0].to == ["security@example.test"]

    # Unknown clients now share LOGIN_TARGETED_RATE (2/m) for this account.
    codes = [_login(client, user.email, "wrong", "192.0.2.99").status_code for _ in range(3)]
    assert codes[:2] == [200, 200]
    assert codes[2] == 429
    # Never a hard lock: the owner's client is not locked and gets in.
    assert lockout.seconds_locked(identifier=user.email, ip=OWNER) == 0
    assert _login(client, user.email, TEST_PASSWORD, OWNER).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_owner_gets_in_with_the_emailed_reset_link_while_locked_on_their_client(
    client, settings, mailoutbox
):
    """Locked on their own client, the owner resets the password by email and logs in there."""
    user = UserFactory()
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS):
        _login(client, user.email, "wrong-guess", OWNER)
    assert _login(client, user.email, TEST_PASSWORD, OWNER).status_code == 429

    client.post("/accounts/password/reset/", {"email": user.email}, REMOTE_ADDR=OWNER)
    link = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mailoutbox[-1].body)[0]
    form_page = client.get(link.split("testserver", 1)[-1], follow=True, REMOTE_ADDR=OWNER)
    new_password = "a-New-pass-phrase-42"
    response = client.post(
        form_page.request["PATH_INFO"],
        {"password1": new_password, "password2": new_password},
        REMOTE_ADDR=OWNER,
    )
    assert response.status_code == 302
    assert lockout.seconds_locked(identifier=user.email, ip=OWNER) == 0
    client.logout()
    assert _login(client, user.email, new_password, OWNER).status_code == 302
    assert client.session["_auth_user_id"] == str(user.pk)


def test_a_forged_x_forwarded_for_does_not_escape_the_lock_by_default(client, settings):
    """With the default NUM_PROXIES (0) the lock follows the socket address, not the header."""
    user = UserFactory()
    for n in range(settings.LOGIN_LOCKOUT_ATTEMPTS):
        _login(client, user.email, "wrong", ATTACKER, HTTP_X_FORWARDED_FOR=f"10.9.8.{n}")
    response = _login(client, user.email, TEST_PASSWORD, ATTACKER, HTTP_X_FORWARDED_FOR="10.1.1.1")
    assert response.status_code == 429


def test_env_example_and_settings_default_to_no_proxies():
    """NUM_PROXIES is 0 unless the operator says otherwise (.env.example included)."""
    env_example = (Path(django_settings.BASE_DIR) / ".env.example").read_text()
    assert re.search(r"^NUM_PROXIES=(\d+)$", env_example, re.M)[1] == "0"
    assert django_settings.NUM_PROXIES == 0


@pytest.mark.parametrize(
    ("proxies", "source"),
    [(0, "REMOTE_ADDR"), (1, "X-Forwarded-For, 1 proxy"), (2, "X-Forwarded-For, 2 proxies")],
)
def test_health_says_which_client_ip_source_is_in_use(client, settings, proxies, source):
    """/health names where client IPs come from, so a wrong NUM_PROXIES is visible."""
    settings.NUM_PROXIES = proxies
    settings.HEALTH_CACHE_SECONDS = 0
    services = client.get("/health").json()["services"]
    assert services["client_ip"]["detail"] == source
