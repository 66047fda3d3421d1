"""Rate limits, failed-login lock-out and the 429 page."""

import pytest
from django.contrib.auth import authenticate

from accounts.tests.factories import TEST_PASSWORD, UserFactory
from core import lockout, ratelimit
from core.models import AuditLog, SuspiciousActivity

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def test_burst_of_200_logins_gets_429s_and_a_lock_not_a_crash(client):
    """200 wrong-password logins: no 5xx, mostly 429 with Retry-After, the account is locked."""
    user = UserFactory()
    statuses = []
    for _ in range(200):
        response = client.post(LOGIN, {"login": user.email, "password": "wrong-password"})
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert int(response["Retry-After"]) > 0
    assert all(code < 500 for code in statuses)
    assert statuses.count(429) >= 190
    # Locked for this client (the test client's 127.0.0.1), not for every client.
    assert lockout.seconds_locked(identifier=user.email, ip="127.0.0.1") > 0
    assert lockout.seconds_locked(identifier=user.email, ip="198.51.100.7") == 0
    assert SuspiciousActivity.objects.filter(
        kind=SuspiciousActivity.Kind.LOGIN_LOCKOUT_ACCOUNT, identifier=user.email
    ).exists()
    assert AuditLog.objects.filter(action="auth.lockout").exists()


def test_locked_account_cannot_log_in_even_with_right_password(client, settings, rf):
    """After LOGIN_LOCKOUT_ATTEMPTS failures from a client, the right password is refused
    from that client too."""
    settings.RATELIMIT_AUTH = "1000/m"
    user = UserFactory()
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS):
        client.post(LOGIN, {"login": user.email, "password": "nope"})
    response = client.post(LOGIN, {"login": user.email, "password": TEST_PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session
    # The authentication check also refuses other login paths (admin, API) from that client.
    request = rf.post("/admin/login/", REMOTE_ADDR="127.0.0.1")
    assert (
        authenticate(request, username=user.username, email=user.email, password=TEST_PASSWORD)
        is None
    )


def test_failures_below_threshold_reset_after_successful_login(client, settings):
    """A successful login clears the account's failure count."""
    settings.RATELIMIT_AUTH = "1000/m"
    user = UserFactory()
    for _ in range(settings.LOGIN_LOCKOUT_ATTEMPTS - 1):
        client.post(LOGIN, {"login": user.email, "password": "nope"})
    client.post(LOGIN, {"login": user.email, "password": TEST_PASSWORD})
    client.logout()
    client.post(LOGIN, {"login": user.email, "password": "nope"})
    assert lockout.seconds_locked(identifier=user.email) == 0


def test_ip_locked_after_failures_across_many_accounts(client, settings):
    """Many accounts tried from one IP lock the IP."""
    settings.RATELIMIT_AUTH = "1000/m"
    settings.LOGIN_LOCKOUT_IP_ATTEMPTS = 6
    for n in range(6):
        client.post(LOGIN, {"login": f"nobody{n}@example.test", "password": "x"})
    assert lockout.seconds_locked(ip="127.0.0.1") > 0
    assert SuspiciousActivity.objects.filter(
        kind=SuspiciousActivity.Kind.LOGIN_LOCKOUT_IP, ip_address="127.0.0.1"
    ).exists()
    response = client.post(LOGIN, {"login": "someone-else@example.test", "password": "x"})
    assert response.status_code == 429


def test_api_requests_over_default_limit_get_json_429(client, settings):
    """/api/ requests over the default limit get JSON 429 with Retry-After."""
    settings.RATELIMIT_DEFAULT = "3/m"
    codes = [client.get("/api/nothing-here").status_code for _ in range(4)]
    assert codes[:3] == [404, 404, 404]
    assert codes[3] == 429
    response = client.get("/api/nothing-here")
    assert response["Content-Type"] == "application/json"
    assert response.json()["retry_after"] > 0
    assert int(response["Retry-After"]) > 0


def test_form_posts_limited_per_user_with_friendly_page(client, settings):
    """Any form POST over the default limit gets the HTML 429 page, per user."""
    settings.RATELIMIT_DEFAULT = "2/m"
    client.force_login(UserFactory())
    codes = [client.post("/robots.txt").status_code for _ in range(3)]
    assert codes[2] == 429
    other = UserFactory()
    client.force_login(other)
    assert client.post("/robots.txt").status_code != 429


def test_429_page_is_html_with_one_h1(client, settings):
    """The HTML 429 page is friendly and accessible."""
    settings.RATELIMIT_DEFAULT = "1/m"
    client.post("/robots.txt")
    response = client.post("/robots.txt")
    assert response.status_code == 429
    html = response.content.decode()
    assert html.count("<h1") == 1
    assert "Slow down" in html
    assert "Content-Security-Policy" in response.headers


def test_health_and_webhooks_are_never_rate_limited(client, settings):
    """Health endpoints and webhooks are exempt from every limit."""
    settings.RATELIMIT_DEFAULT = "1/m"
    assert all(client.get("/api/health").status_code == 200 for _ in range(5))
    assert all(client.post("/api/webhooks/stripe/").status_code != 429 for _ in range(5))


def test_get_pages_are_not_rate_limited(client, settings):
    """Plain page views are not counted (only POSTs and /api/)."""
    settings.RATELIMIT_DEFAULT = "1/m"
    assert all(client.get("/robots.txt").status_code == 200 for _ in range(3))


def test_parse_rate_accepts_units_and_rejects_garbage():
    """Rates are '<count>/<n><unit>'."""
    assert ratelimit.parse_rate("100/m") == ratelimit.Rate(limit=100, period=60)
    assert ratelimit.parse_rate("10/5m") == ratelimit.Rate(limit=10, period=300)
    with pytest.raises(ValueError, match="Not a rate"):
        ratelimit.parse_rate("fast")


def test_client_ip_trusts_forwarded_for_only_behind_configured_proxies(rf, settings):
    """X-Forwarded-For is used only when NUM_PROXIES says a proxy set it."""
    request = rf.get("/", HTTP_X_FORWARDED_FOR="1.2.3.4, 10.0.0.1", REMOTE_ADDR="10.0.0.2")
    settings.NUM_PROXIES = 0
    assert ratelimit.client_ip(request) == "10.0.0.2"
    settings.NUM_PROXIES = 1
    assert ratelimit.client_ip(request) == "10.0.0.1"
    settings.NUM_PROXIES = 2
    assert ratelimit.client_ip(request) == "1.2.3.4"


@pytest.mark.parametrize("path", ["/accounts/signup/", "/accounts/password/reset/"])
def test_signup_and_password_reset_have_the_tighter_limit(client, settings, path):
    """Signup and password-reset POSTs use RATELIMIT_AUTH per IP."""
    settings.RATELIMIT_AUTH = "2/m"
    codes = [client.post(path, {"email": "x@example.test"}).status_code for _ in range(3)]
    assert codes[:2] != [429, 429]
    assert codes[2] == 429


def test_bad_rate_setting_fails_the_system_check(settings):
    """A malformed RATELIMIT_DEFAULT is a start-up error naming the variable."""
    from core.checks import core_settings_check

    settings.RATELIMIT_DEFAULT = "lots"
    errors = core_settings_check(None)
    assert any(e.id == "core.E001" and "RATELIMIT_DEFAULT" in e.msg for e in errors)
