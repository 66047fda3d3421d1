"""Message text is plain text: escaped, with links only to our own site."""

import pytest

from messaging.templatetags.messaging_text import message_text


@pytest.fixture(autouse=True)
def _site(settings):
    settings.SITE_URL = "https://threadly.example"


@pytest.mark.parametrize(
    ("text", "html"),
    [
        ("<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;"),
        ("javascript:alert(1)", "javascript:alert(1)"),
        ("https://evil.example/x", "https://evil.example/x"),
        ("https://threadly.example@evil.example/", "https://threadly.example@evil.example/"),
        ("http://threadly.example/items/1/", "http://threadly.example/items/1/"),  # not our scheme
        (
            "see https://threadly.example/items/1-coat/.",
            'see <a href="https://threadly.example/items/1-coat/">'
            "https://threadly.example/items/1-coat/</a>.",
        ),
        ("a & b", "a &amp; b"),
    ],
)
def test_message_text_escapes_and_links_only_our_site(text, html):
    """Only https links to SITE_URL's own host become links; everything else is text."""
    assert message_text(text) == html
