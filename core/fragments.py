"""HTML fragments cached by what they show (kernel: the mechanism; apps say what a fragment's
content is and render it).

A fragment that is the same for every viewer (a listing card, the gallery of a listing's
page) is keyed by a digest of its content (plain values: everything it shows), of the source
of the templates it is rendered from, of the language and of the release. Content that changes
has a new key at once, so nothing is ever invalidated or stale; the TTL only bounds memory.
The fragments of a page cost one `get_many` and, for those not kept yet, one `set_many`. In
DEBUG every fragment is rendered, so an edited template shows at once; with the cache down
they are rendered too.
"""

import hashlib
from collections.abc import Callable, Iterable, Sequence
from functools import cache

from django.conf import settings
from django.core.cache import cache as django_cache
from django.template.loader import get_template
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language

FRAGMENT_CACHE_SECONDS = 60 * 60


def content_key(kind: str, content: object, *, sources: Iterable[str]) -> str:
    """The key of a `kind` fragment showing `content` (whose repr must name every value shown,
    e.g. a frozen dataclass or a tuple of plain values) rendered from the templates
    `sources`."""
    # The release too: settings that change how a value is shown come with a deploy.
    release = (
        settings.VERSION,
        _sources_digest(tuple(sources)),
        get_language(),
        settings.MEDIA_URL,
    )
    return f"{kind}:" + hashlib.sha256(repr((release, content)).encode()).hexdigest()[:32]


def cached_html(fragments: Sequence[tuple[str, Callable[[], str]]]) -> list[SafeString]:
    """The HTML of each `(key, render)`, in order: from the cache where it has it, otherwise
    `render()`, then stored. `render` must return HTML that is safe as it is."""
    if settings.DEBUG:
        return [mark_safe(render()) for _, render in fragments]  # noqa: S308 - see the docstring
    found = django_cache.get_many([key for key, _ in fragments])
    missing: dict[str, str] = {}
    html: list[SafeString] = []
    for key, render in fragments:
        text = found.get(key)
        if text is None:
            text = missing[key] = render()
        html.append(mark_safe(text))  # noqa: S308 - rendered by `render` (see the docstring)
    if missing:
        django_cache.set_many(missing, FRAGMENT_CACHE_SECONDS)
    return html


@cache
def _sources_digest(names: tuple[str, ...]) -> str:
    """The templates' source, hashed once per process (a deploy starts new processes)."""
    digest = hashlib.sha256()
    for name in names:
        digest.update(get_template(name).template.source.encode())
    return digest.hexdigest()[:16]
