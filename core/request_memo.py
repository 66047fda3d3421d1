"""Values worked out once per request (kernel).

`request_memo(key, compute)` gives `compute()`, worked out at most once per request and
forgotten when the request ends. Outside a request (tasks, commands, the shell) it works it
out every time. For data a page reads several times from the cache while it renders (the
category tree: the menu, the filters, the facets and the breadcrumbs each want it): one round
trip instead of several, and exact, since nothing outlives the request.
"""

from collections.abc import Callable, Iterable
from typing import Any

from asgiref.local import Local

_state = Local()


def request_started(**kwargs: Any) -> None:
    _state.values = {}


def request_finished(**kwargs: Any) -> None:
    _state.values = None


def request_memo[T](key: str, compute: Callable[[], T]) -> T:
    values = getattr(_state, "values", None)
    if values is None:
        return compute()
    if key not in values:
        values[key] = compute()
    return values[key]


def request_memo_forget(keys: Iterable[str]) -> None:
    """Drop `keys` from this request's memo (a change within the request makes them stale)."""
    values = getattr(_state, "values", None)
    if values:
        for key in keys:
            values.pop(key, None)
