"""Read replicas: which database alias a query goes to (settings.DATABASE_ROUTERS).

`DATABASE_REPLICA_URLS` adds the aliases `replica1`, `replica2`, … (settings.DATABASE_REPLICAS).
With none configured the router is not installed, and it answers None (Django's default)
everywhere anyway. With replicas, a read goes to one of them unless it must see the primary:

- inside an atomic block on "default" (a transaction may have written, and a read in it must
  see its own rows and locks) — Django's test-case wrapping transaction does not count;
- once this request (or task, or command) has written anything: read-your-own-writes;
- for the member who just wrote: `ReadYourWritesMiddleware` pins their next requests, for
  DATABASE_REPLICA_STICKY_SECONDS, with a short-lived signed cookie;
- for the money path: every model of the orders app, and any code inside `primary()`;
- when the replica failed to connect, or its kept connection failed the health check and a
  reconnect failed, in the last REPLICA_RETRY_SECONDS (it is then skipped in this process; the
  read goes to another replica or to "default"; after that the next read tries it again, so a
  replica that comes back is used again without a restart).

Writes and migrations always go to "default"; replicas are never migrated (they follow the
primary by streaming replication). core imports no app: the orders app is named by label.
"""

import contextlib
import contextvars
import logging
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.signing import BadSignature
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections
from django.http import HttpRequest, HttpResponse

logger = logging.getLogger(__name__)

# Apps whose rows are money: read from the primary always, whatever the request.
PRIMARY_ONLY_APPS = frozenset({"orders"})
# A replica that failed to connect is not tried again by this process for this long.
REPLICA_RETRY_SECONDS = 30.0

# True: this context reads from the primary (it wrote, or the member just wrote, or primary()).
_pinned: contextvars.ContextVar[bool] = contextvars.ContextVar("db_pinned", default=False)
# The replica this context reads from, chosen once so one page sees one replica's state.
_chosen: contextvars.ContextVar[str | None] = contextvars.ContextVar("db_replica", default=None)
# alias -> time.monotonic() until which it is skipped (per process).
_down_until: dict[str, float] = {}


def replica_aliases() -> list[str]:
    """The replica aliases settings.py made from DATABASE_REPLICA_URLS."""
    return getattr(settings, "DATABASE_REPLICAS", [])


@contextlib.contextmanager
def primary() -> Iterator[None]:
    """Every read inside goes to the primary ("default"): for code that must not see lag."""
    token = _pinned.set(True)
    try:
        yield
    finally:
        _pinned.reset(token)


def pin_to_primary() -> None:
    """Send this context's remaining reads to the primary (it wrote, or the member just did)."""
    _pinned.set(True)


def is_pinned() -> bool:
    return _pinned.get()


def start_context(*, pinned: bool) -> list[contextvars.Token[Any]]:
    """A fresh routing state for one request; give the tokens to `end_context` after it."""
    return [_pinned.set(pinned), _chosen.set(None)]


def end_context(tokens: list[contextvars.Token[Any]]) -> None:
    _pinned.reset(tokens[0])
    _chosen.reset(tokens[1])


def mark_replica_down(alias: str) -> None:
    """Skip this replica in this process for REPLICA_RETRY_SECONDS."""
    _down_until[alias] = time.monotonic() + REPLICA_RETRY_SECONDS


def replica_is_up(alias: str) -> bool:
    return _down_until.get(alias, 0.0) <= time.monotonic()


def _in_transaction(alias: str = DEFAULT_DB_ALIAS) -> bool:
    """Inside an atomic block of ours on this alias (not the test case's wrapping one)."""
    connection = connections[alias]
    if not connection.in_atomic_block:
        return False
    # Django marks the atomic blocks TestCase opens around each test; its own durable-block
    # check ignores them the same way.
    return any(not getattr(block, "_from_testcase", False) for block in connection.atomic_blocks)


def _connects(alias: str) -> bool:
    """Open the replica's connection if needed; on failure mark it down and say no.

    A connection kept from an earlier request (CONN_MAX_AGE) may point at a replica that has
    died since: Django's health check (CONN_HEALTH_CHECKS, one `SELECT 1` per request, which
    the first query would run anyway) notices and closes it here, before the router commits
    this page to the replica, and the reconnect that follows fails fast (connect_timeout).
    """
    connection = connections[alias]
    try:
        connection.close_if_health_check_failed()
        connection.ensure_connection()
    except OperationalError:
        logger.warning("Read replica %s is unreachable; reading from the primary.", alias)
        mark_replica_down(alias)
        return False
    return True


def _pick_replica() -> str | None:
    chosen = _chosen.get()
    if chosen is not None and replica_is_up(chosen):
        return chosen
    candidates = [alias for alias in replica_aliases() if replica_is_up(alias)]
    random.shuffle(candidates)  # noqa: S311 - load spreading, not security
    for alias in candidates:
        if _connects(alias):
            _chosen.set(alias)
            return alias
    return None


class ReplicaRouter:
    """Safe reads to a replica, everything else to "default" (see the module docstring)."""

    def db_for_read(self, model: type, **hints: Any) -> str | None:
        if not replica_aliases():
            return None
        if _pinned.get() or model._meta.app_label in PRIMARY_ONLY_APPS or _in_transaction():
            return DEFAULT_DB_ALIAS
        instance = hints.get("instance")
        if instance is not None and instance._state.db not in (None, *replica_aliases()):
            # Related rows of an object read from the primary (or the "direct" alias) come
            # from there too: it may be a row this context just wrote.
            return instance._state.db
        return _pick_replica() or DEFAULT_DB_ALIAS

    def db_for_write(self, model: type, **hints: Any) -> str | None:
        if not replica_aliases():
            return None
        # This context has written (or is about to): its later reads must see it.
        pin_to_primary()
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        pool = {DEFAULT_DB_ALIAS, *replica_aliases()}
        if obj1._state.db in pool and obj2._state.db in pool:
            return True
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        if db in replica_aliases():
            return False
        return None


STICKY_COOKIE = "threadly_rw"
_STICKY_SALT = "core.db_router.sticky"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class ReadYourWritesMiddleware:
    """A member who just wrote reads from the primary for DATABASE_REPLICA_STICKY_SECONDS.

    After an unsafe request (POST, …) by a signed-in member it sets a short-lived signed cookie;
    a request carrying a valid one reads from the primary (the replica may not have the
    member's new listing, message or offer yet). Every request starts a fresh routing state.
    Does nothing without replicas.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not replica_aliases():
            return self.get_response(request)
        seconds = settings.DATABASE_REPLICA_STICKY_SECONDS
        tokens = start_context(pinned=self._sticky(request, seconds))
        try:
            response = self.get_response(request)
        finally:
            end_context(tokens)
        user = getattr(request, "user", None)
        if (
            request.method not in SAFE_METHODS
            and user is not None
            and user.is_authenticated
            and seconds > 0
        ):
            response.set_signed_cookie(
                STICKY_COOKIE,
                str(user.pk),
                salt=_STICKY_SALT,
                max_age=seconds,
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    @staticmethod
    def _sticky(request: HttpRequest, seconds: int) -> bool:
        if seconds <= 0 or STICKY_COOKIE not in request.COOKIES:
            return False
        try:
            request.get_signed_cookie(STICKY_COOKIE, salt=_STICKY_SALT, max_age=seconds)
        except (BadSignature, ValueError):
            return False
        return True
