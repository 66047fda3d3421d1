"""A NUL byte in a query string or a form value is refused with a 400, once, for the whole
site (PostgreSQL can't compare text containing NUL, so it used to surface as a 500)."""

import pytest
from django.test import Client
from django.urls import reverse

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


@pytest.mark.parametrize(
    "query",
    ["status__exact=%00", "q=abc%00def", "%00=1", "status__exact=%2500%00"],
)
def test_nul_byte_in_an_admin_filter_is_a_400_not_a_database_error(staff_client, query):
    """The admin's changelist filters went straight to PostgreSQL; now the request stops at
    the door with the site's 400 page."""
    response = staff_client.get(f"{reverse('admin:orders_order_changelist')}?{query}")
    assert response.status_code == 400


def test_nul_byte_in_a_browse_parameter_is_a_400():
    """Public pages refuse it the same way."""
    response = Client(raise_request_exception=False).get("/browse/?brand=levi%00s")
    assert response.status_code == 400


def test_nul_byte_in_a_posted_form_value_is_a_400_and_logs_in_nobody():
    """A form value with NUL never reaches the form, the database or the login."""
    user = UserFactory(email="nul@example.test")
    client = Client(raise_request_exception=False)
    response = client.post(reverse("account_login"), {"login": user.email, "password": "x\x00"})
    assert response.status_code == 400
    assert "_auth_user_id" not in client.session


def test_percent_encoded_percent_signs_and_ordinary_values_pass():
    """Only a real NUL is refused: '%2500' is the text '%00', which browse shows as usual."""
    client = Client(raise_request_exception=False)
    assert client.get("/browse/", {"q": "%00 100% cotton"}).status_code == 200
    assert client.get("/browse/", {"q": "café"}).status_code == 200


def test_json_bodies_are_left_to_their_endpoint():
    """The guard reads form bodies only: a JSON webhook is judged by its own verifier."""
    response = Client(raise_request_exception=False).post(
        reverse("orders:payments_webhook"), '{"id": "evt\\u0000"}', content_type="application/json"
    )
    assert response.status_code == 400  # refused by the signature check, not by the guard
    assert b"signature" in response.content


def test_a_form_encoded_post_to_a_webhook_keeps_its_raw_body_for_the_signature_check():
    """Webhooks read the raw body: the guard leaves their form parsing alone (a multipart
    post to them is refused by the signature check, not a RawPostDataException)."""
    client = Client(raise_request_exception=False)
    response = client.post(reverse("orders:payments_webhook"), {"field": "value"})
    assert response.status_code == 400
    assert b"signature" in response.content
