"""How a message's text is shown: plain text, escaped; links only to our own site."""

import re
from urllib.parse import urlsplit

from django import template
from django.conf import settings
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}'\""


def _ours(url: str) -> bool:
    """http(s) on exactly SITE_URL's scheme and host (no user info, no other port)."""
    site = urlsplit(settings.SITE_URL)
    target = urlsplit(url)
    return (
        target.scheme.lower() == site.scheme.lower()
        and target.netloc.lower() == site.netloc.lower()
        and "\\" not in url
    )


@register.filter(is_safe=True)
def message_text(value: str) -> SafeString:
    """`value` escaped, with http(s) links to SITE_URL made into links (others stay text).
    Line breaks are kept by the stylesheet (white-space: pre-wrap)."""
    text = str(value or "")
    parts, position = [], 0
    for match in URL.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        start, end = match.start(), match.start() + len(url)
        parts.append(escape(text[position:start]))
        if _ours(url):
            parts.append(format_html('<a href="{}">{}</a>', url, url))
        else:
            parts.append(escape(url))
        position = end
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts))  # noqa: S308 - every piece is escaped above
