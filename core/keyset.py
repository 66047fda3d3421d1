"""Keyset ("cursor") pages of any ordered QuerySet: fast at any depth, no OFFSET, no COUNT.

A page is the `per_page` rows after (or, going back, before) the row a signed cursor names by
its sort key. The query is `WHERE <key after the cursor> ORDER BY <keys> LIMIT per_page + 1`,
so an index on the keys (after the queryset's equality filters) is read from the cursor on
and stops after one page, however deep the page is.

Keys are model field names, "-" for descending; the last must be unique (the primary key).
NULLs sort as PostgreSQL sorts them by default (after every value ascending, before every
value descending), on SQLite too, so a plain `models.Index(fields=[...])` matches.

A cursor that is not ours, tampered with, for other keys or malformed means the first page,
never an error.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.core import signing
from django.core.exceptions import ValidationError
from django.db.models import F, Model, Q, QuerySet
from django.http import HttpRequest

MAX_CURSOR_LENGTH = 500


@dataclass(frozen=True)
class KeysetPage:
    """One page: its rows and the cursors of the pages next to it ("" when there is none)."""

    object_list: list
    next_cursor: str = ""
    previous_cursor: str = ""

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self) -> int:
        return len(self.object_list)

    def links(self, request: HttpRequest, *, param: str = "cursor") -> dict[str, str]:
        """{"next": url or "", "previous": url or ""}: this request's query string with its
        cursor swapped for the next or previous page's."""
        kept = [(k, v) for k, values in request.GET.lists() if k != param for v in values]

        def link(cursor: str) -> str:
            return f"?{urlencode([*kept, (param, cursor)])}" if cursor else ""

        return {"next": link(self.next_cursor), "previous": link(self.previous_cursor)}


def _parse(keys: Sequence[str]) -> list[tuple[str, bool]]:
    return [(key.removeprefix("-"), key.startswith("-")) for key in keys]


def ordering(keys: Sequence[str], *, backwards: bool = False) -> list:
    """ORDER BY for `keys` (reversed to walk back), NULLs placed as PostgreSQL's default."""
    order = []
    for name, descending in _parse(keys):
        desc = descending != backwards
        # NULL is the greatest value: last ascending, first descending.
        order.append(F(name).desc(nulls_first=True) if desc else F(name).asc(nulls_last=True))
    return order


def _greater(name: str, value: Any, nullable: bool) -> Q | None:
    """Rows whose `name` sorts after `value` ascending (NULL after everything); None: none."""
    if value is None:
        return None
    q = Q(**{f"{name}__gt": value})
    return q | Q(**{f"{name}__isnull": True}) if nullable else q


def _less(name: str, value: Any, nullable: bool) -> Q:
    if value is None:
        return Q(**{f"{name}__isnull": False})
    return Q(**{f"{name}__lt": value})


def _equal(name: str, value: Any) -> Q:
    return Q(**{f"{name}__isnull": True}) if value is None else Q(**{name: value})


def after(model: type[Model], keys: Sequence[str], values: Sequence, *, backwards=False) -> Q:
    """Rows strictly after `values` in the walk order of `keys` (before them, backwards).

    The lexicographic OR of "equal on the first i keys, past on key i", AND-ed with a bound
    on the first key (`first >= v`), which the index can start its range scan from."""
    parsed = _parse(keys)
    branches: Q | None = None
    prefix = Q()
    for (name, descending), value in zip(parsed, values, strict=True):
        nullable = model._meta.get_field(name).null
        forward_desc = descending != backwards
        past = _less(name, value, nullable) if forward_desc else _greater(name, value, nullable)
        if past is not None:
            branch = prefix & past
            branches = branch if branches is None else branches | branch
        prefix &= _equal(name, value)
    if branches is None:
        return Q(pk__in=[])
    first, descending = parsed[0]
    first_value = values[0]
    if first_value is not None and not model._meta.get_field(first).null:
        bound = "lte" if descending != backwards else "gte"
        branches = Q(**{f"{first}__{bound}": first_value}) & branches
    return branches


def _shown(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def encode(keys: Sequence[str], row: Model, *, salt: str, backwards: bool = False) -> str:
    values = [_shown(getattr(row, name)) for name, _ in _parse(keys)]
    return signing.dumps({"k": list(keys), "v": values, "b": int(backwards)}, salt=salt)


def decode(
    token: str, model: type[Model], keys: Sequence[str], *, salt: str
) -> tuple[list, bool] | None:
    """(key values, backwards) from a cursor for `keys`, or None for anything unusable."""
    if not token or len(token) > MAX_CURSOR_LENGTH:
        return None
    try:
        data = signing.loads(token, salt=salt)
    except (signing.BadSignature, ValueError, TypeError, UnicodeError):
        return None
    if not isinstance(data, dict) or data.get("k") != list(keys):
        return None
    raw = data.get("v")
    if not isinstance(raw, list) or len(raw) != len(keys):
        return None
    values = []
    for (name, _), shown in zip(_parse(keys), raw, strict=True):
        field = model._meta.get_field(name)
        if shown is None:
            if not field.null:
                return None
            values.append(None)
            continue
        try:
            value = field.to_python(shown)
        except (ValidationError, TypeError, ValueError):
            return None
        if isinstance(value, datetime) and value.tzinfo is None:
            return None
        values.append(value)
    return values, bool(data.get("b"))


def keyset_page(
    queryset: QuerySet, *, keys: Sequence[str], cursor: str, per_page: int, salt: str
) -> KeysetPage:
    """The page of `queryset` ordered by `keys` that `cursor` points at (the first page for
    "" or a bad cursor). One query (plus the queryset's prefetches; two queries when the
    cursor's rows are gone).

    The first page has no previous page; walking back, the page that reaches the start has
    none either. A cursor whose rows are all gone (deleted since) gives the first page.
    """
    model = queryset.model
    position = decode(cursor, model, keys, salt=salt)
    page = _page_at(queryset, keys, position, per_page=per_page, salt=salt)
    if position is not None and not page.object_list:
        return _page_at(queryset, keys, None, per_page=per_page, salt=salt)
    return page


def _page_at(
    queryset: QuerySet, keys: Sequence[str], position, *, per_page: int, salt: str
) -> KeysetPage:
    model = queryset.model
    backwards = bool(position and position[1])
    rows = queryset.order_by(*ordering(keys, backwards=backwards))
    if position is not None:
        rows = rows.filter(after(model, keys, position[0], backwards=backwards))
    found = list(rows[: per_page + 1])
    more = len(found) > per_page
    found = found[:per_page]
    if backwards:
        found.reverse()
    if not found:
        return KeysetPage([], "", "")
    if position is None:
        has_next, has_previous = more, False
    elif backwards:
        has_next, has_previous = True, more
    else:
        has_next, has_previous = more, True
    return KeysetPage(
        found,
        next_cursor=encode(keys, found[-1], salt=salt) if has_next else "",
        previous_cursor=encode(keys, found[0], salt=salt, backwards=True) if has_previous else "",
    )
