import pytest
from django.test import RequestFactory

from core.http import safe_next_url


@pytest.mark.parametrize(
    ("posted", "expected"),
    [
        ("/items/1-shirt/", "/items/1-shirt/"),
        ("http://testserver/saved/", "http://testserver/saved/"),
        ("https://evil.example/", "/default/"),
        ("//evil.example/", "/default/"),
        ("", "/default/"),
    ],
)
def test_safe_next_url_keeps_only_this_sites_urls(posted, expected):
    """A posted "next" on this site is followed; another site's, or none, gives the default."""
    request = RequestFactory().post("/", {"next": posted})
    assert safe_next_url(request, "/default/") == expected


def test_safe_next_url_refuses_plain_http_on_a_secure_request():
    """Over https, an absolute http:// URL back to this host is not followed."""
    request = RequestFactory().post("/", {"next": "http://testserver/saved/"}, secure=True)
    assert safe_next_url(request, "/default/") == "/default/"
