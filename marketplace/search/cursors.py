"""Opaque, signed page cursors for ?cursor= (database backends).

- newest / price_asc / price_desc: keyset pagination. A cursor holds the sort key and id of
  the last (or, going back, the first) row of a page; the next page is the rows after it
  in the index order. Fast however deep, no OFFSET, no COUNT.
- relevance: an offset into the bounded, ranked candidate set (at most CANDIDATES rows).

A cursor that is not ours, tampered with, for another sort or malformed decodes to None:
the first page, never an error.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core import signing
from django.db.models import Q

SALT = "marketplace.search.cursor"
MAX_LENGTH = 400
# sort -> (key field, descending?)
KEYSETS = {
    "newest": ("published_at", True),
    "price_asc": ("price", False),
    "price_desc": ("price", True),
}


@dataclass(frozen=True)
class Position:
    """Where a page starts. Keyset: `key` (sort value, id) of the row next to the page and
    `backwards` for the page before it. Relevance: `offset`."""

    key: tuple | None = None
    backwards: bool = False
    offset: int = 0


def encode_key(sort: str, value, pk: int, *, backwards: bool = False) -> str:
    shown = value.isoformat() if isinstance(value, datetime) else str(value)
    return signing.dumps({"s": sort, "k": [shown, pk], "b": int(backwards)}, salt=SALT)


def encode_offset(offset: int) -> str:
    return signing.dumps({"s": "relevance", "o": offset}, salt=SALT)


def decode(token: str, *, sort: str, max_offset: int) -> Position | None:
    """The position `token` points at for `sort`, or None (first page) if it is unusable."""
    if not token or len(token) > MAX_LENGTH:
        return None
    try:
        data = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(data, dict) or data.get("s") != sort:
        return None
    if sort == "relevance":
        offset = data.get("o")
        if isinstance(offset, int) and not isinstance(offset, bool) and 0 < offset < max_offset:
            return Position(offset=offset)
        return None
    key = data.get("k")
    if sort not in KEYSETS or not (isinstance(key, list) and len(key) == 2):
        return None
    raw, pk = key
    if not isinstance(raw, str) or not isinstance(pk, int) or isinstance(pk, bool):
        return None
    try:
        value = datetime.fromisoformat(raw) if sort == "newest" else Decimal(raw)
    except (ValueError, InvalidOperation):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    if isinstance(value, datetime) and value.tzinfo is None:
        return None
    return Position(key=(value, pk), backwards=bool(data.get("b")))


def ordering(sort: str, *, backwards: bool = False) -> list[str]:
    """ORDER BY for a keyset sort (reversed to walk back from a cursor)."""
    field, descending = KEYSETS[sort]
    if descending != backwards:
        return [f"-{field}", "-id"]
    return [field, "id"]


def after(sort: str, position: Position) -> Q:
    """Rows strictly after the position's key in the walk direction. Written as
    `key <= v AND (key < v OR id < pk)` so the first part is an index condition."""
    field, descending = KEYSETS[sort]
    value, pk = position.key
    if descending != position.backwards:
        return Q(**{f"{field}__lte": value}) & (Q(**{f"{field}__lt": value}) | Q(id__lt=pk))
    return Q(**{f"{field}__gte": value}) & (Q(**{f"{field}__gt": value}) | Q(id__gt=pk))
