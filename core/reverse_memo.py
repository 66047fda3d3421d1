"""`reverse()` remembered: for URLs named often from a small, bounded set (views without
arguments, the category pages).

Django's `reverse` costs about 25 µs of thread-local reads, resolver lookups and quoting, on
every call. Its answer depends only on the URLconf, the script prefix, the language (i18n
patterns), the current app (namespaces) and the arguments, so it is remembered per URL
resolver (a new URLconf, or `clear_url_caches()`, gives a new resolver and a fresh memo) and
script prefix, under the others. Not for URLs with unbounded arguments (a listing's id): each
answer is kept for the life of the process.
"""

import weakref

from django.urls import get_resolver, get_script_prefix, get_urlconf, reverse
from django.urls.resolvers import URLResolver
from django.utils.translation import get_language

# resolver -> script prefix -> (view name, args, current app, language) -> URL
_remembered: "weakref.WeakKeyDictionary[URLResolver, dict[str, dict[tuple, str]]]" = (
    weakref.WeakKeyDictionary()
)


def remembered_urls() -> dict[tuple, str]:
    """The memo for the current URLconf and script prefix (which a request doesn't change
    once its middleware ran), for `remembered_reverse(..., urls=)`."""
    resolver = get_resolver(get_urlconf())
    by_prefix = _remembered.get(resolver)
    if by_prefix is None:
        by_prefix = _remembered.setdefault(resolver, {})
    prefix = get_script_prefix()
    urls = by_prefix.get(prefix)
    if urls is None:
        urls = by_prefix.setdefault(prefix, {})
    return urls


def remembered_reverse(
    viewname: str,
    args: tuple[str | int, ...] = (),
    *,
    current_app: str | None = None,
    urls: dict[tuple, str] | None = None,
) -> str:
    """`reverse(viewname, args=args, current_app=current_app)`, worked out once. Raises
    NoReverseMatch as `reverse` does (and doesn't remember it). `urls` is remembered_urls(),
    when the caller already has it."""
    if urls is None:
        urls = remembered_urls()
    key = (viewname, args, current_app, get_language())
    url = urls.get(key)
    if url is None:
        url = urls[key] = reverse(viewname, args=args, current_app=current_app)
    return url
