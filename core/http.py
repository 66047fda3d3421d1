"""HTTP helpers every app may use (kernel: imports no app of ours)."""

from django.http import HttpRequest
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
