"""Health probes answer whatever Host they were sent to. Kernel module.

Load balancers, orchestrators and the Dockerfile's HEALTHCHECK probe by IP
(`Host: 10.0.0.7:8000`), which is not in ALLOWED_HOSTS, so Django's lazy host validation
(`request.get_host()`, first called by SecurityMiddleware or CommonMiddleware) would answer
400. For the exact health paths, and only for GET/HEAD, this middleware makes
`request.get_host()` return the site's own host (SITE_URL) instead of validating the header:
the probe gets its answer, and nothing in the request can ever use the Host it sent. Every
other path keeps Django's validation (400 for an unknown Host). Goes before SecurityMiddleware
and CommonMiddleware in settings.MIDDLEWARE.
"""

from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HEALTH_PROBE_PATHS = frozenset({"/api/health", "/health", "/api/health/db"})
Handler = Callable[[HttpRequest], HttpResponse]


def site_host() -> str:
    """The host (and port, if any) of SITE_URL: the only host a probe request ever reports."""
    return urlsplit(settings.SITE_URL).netloc or "localhost"


class HealthProbeHostMiddleware:
    """Exempts the health endpoints from the Host header check, without trusting the header."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info in HEALTH_PROBE_PATHS and request.method in {"GET", "HEAD"}:
            host = site_host()
            request.get_host = lambda: host  # never the client's Host header
        return self.get_response(request)
