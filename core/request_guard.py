"""Refuse requests no browser sends: a NUL byte in the query string or in a form value.

PostgreSQL cannot store or compare text with NUL in it, so such a value reaching a query is a
database error (a 500) wherever it lands; no real form field ever needs one. Checked once here
for the whole site instead of in every form and filter.
"""

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.core.exceptions import SuspiciousOperation
from django.http import HttpRequest, HttpResponse

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class NulByteRejected(SuspiciousOperation):
    """Answered 400 by Django's handler and logged on the django.security logger."""


def query_has_nul(request: HttpRequest) -> bool:
    return b"\x00" in unquote_to_bytes(request.META.get("QUERY_STRING", ""))


def form_has_nul(request: HttpRequest) -> bool:
    """True if a submitted form value (not a file) contains a NUL byte."""
    if request.method != "POST" or request.content_type not in FORM_TYPES:
        return False
    return any("\x00" in value for _, values in request.POST.lists() for value in values)


class NulByteGuardMiddleware:
    """The query string is checked for every request; form values before the view runs,
    except for views that read the raw body themselves (csrf_exempt webhooks): parsing the
    form there would consume the body their signature check needs."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if query_has_nul(request):
            raise NulByteRejected("A NUL byte in the query string.")
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs) -> None:
        if not getattr(view_func, "csrf_exempt", False) and form_has_nul(request):
            raise NulByteRejected("A NUL byte in a form value.")
