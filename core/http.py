"""HTTP helpers every app may use (kernel: imports no app of ours)."""

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils.http import url_has_allowed_host_and_scheme


def safe_next_url(request: HttpRequest, default: str, *, field: str = "next") -> str:
    """The POSTed `field` ("next") if it points back to this site, else `default`.

    Only relative URLs and this host are accepted (https only when the request is), so a
    form's "come back here" field can't send the member to another site (open redirect).
    """
    target = request.POST.get(field) or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def personal_cookie_names() -> tuple[str, ...]:
    """The cookies that make a visitor's pages their own (session, CSRF token, flash
    messages): a request without them gets what every cookie-less visitor gets."""
    return (
        settings.SESSION_COOKIE_NAME,
        settings.CSRF_COOKIE_NAME,
        getattr(settings, "MESSAGE_COOKIE_NAME", "messages"),
    )


def wants_json(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get(
        "Accept", ""
    )


def too_many_requests(
    request: HttpRequest, retry_after: int, *, locked_out: bool = False
) -> HttpResponse:
    """The friendly 429: JSON for the API, a page otherwise."""
    if locked_out:
        detail = "Too many failed logins. For your security, logging in is paused for a while."
    else:
        detail = "Too many requests. Please wait a moment and try again."
    if wants_json(request):
        response = JsonResponse({"detail": detail, "retry_after": retry_after}, status=429)
    else:
        minutes = max(1, round(retry_after / 60))
        body = render_to_string(
            "429.html",
            {"detail": detail, "retry_after": retry_after, "minutes": minutes},
            request=request,
        )
        response = HttpResponse(body, status=429)
    response["Retry-After"] = str(retry_after)
    response["Cache-Control"] = "no-store"
    response._has_been_logged = True  # the middleware logs once per window instead
    return response
