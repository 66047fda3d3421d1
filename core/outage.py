"""When the database is unreachable: a friendly 503 for the web, one clear line for commands.

Kernel module. core.middleware.DatabaseUnavailableMiddleware turns a database error raised by a
view into the 503 page (`database_error_response`); `server_error` (urls' handler500) does the
same for one raised by a middleware (e.g. loading the member from the session), and is Django's
plain 500 page otherwise. The 503
page is rendered without the database, the session or the member. `DatabaseCommand` is the base
of manage.py commands that need the database: it stops with a one-line CommandError (exit 1).
"""

import logging
import sys
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.context_processors import csp
from django.template.loader import render_to_string
from django.views import defaults

logger = logging.getLogger(__name__)
DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 30
LOG_INTERVAL_SECONDS = 60.0
DETAIL = "Threadly can't reach its database right now. Please try again in a minute."

_log_lock = threading.Lock()
_logged_at: float | None = None
_suppressed = 0


def first_line(exc: BaseException) -> str:
    """The exception's class and first line (psycopg adds a hint on a second line)."""
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def database_error_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    """The 503 answer to a database error, logged once per interval (not once per request)."""
    _log_once_per_interval(request, exc)
    return database_unavailable(request)


def _log_once_per_interval(request: HttpRequest, exc: BaseException) -> None:
    global _logged_at, _suppressed
    now = time.monotonic()
    with _log_lock:
        if _logged_at is not None and now - _logged_at < LOG_INTERVAL_SECONDS:
            _suppressed += 1
            return
        _logged_at, suppressed, _suppressed = now, _suppressed, 0
    logger.error(
        "database unreachable, answering 503 (%s on %s; %d more since the last report)",
        first_line(exc),
        request.path,
        suppressed,
    )


def database_unavailable(request: HttpRequest) -> HttpResponse:
    """The 503 answer: JSON for the API, templates/503.html otherwise, with Retry-After."""
    if request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", ""):
        response = JsonResponse(
            {"status": "error", "failed": ["database"], "detail": DETAIL}, status=503
        )
    else:
        # No context processors: they read the session, the member and the category menu.
        body = render_to_string("503.html", {"request": request, **csp(request)})
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # logged once per interval above, not once per request
    return response


def server_error(request: HttpRequest, template_name: str = "500.html") -> HttpResponse:
    """handler500: the 503 page when the error is the database's, Django's 500 page otherwise."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        return database_error_response(request, exc)
    return defaults.server_error(request, template_name=template_name)


def database_unreachable_message(exc: BaseException) -> str:
    """One line for an operator: what failed and what to check."""
    return (
        f"The database is unreachable ({first_line(exc)}). "
        "Check DATABASE_URL and that PostgreSQL is running, then try again."
    )


class DatabaseCommand(BaseCommand):
    """A manage.py command that needs the database: an unreachable database ends it with one
    clear line on stderr and exit status 1 (CommandError) instead of a traceback."""

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DATABASE_ERRORS as exc:
            raise CommandError(database_unreachable_message(exc)) from exc
