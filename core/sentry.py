"""Sentry set-up, called from settings when SENTRY_DSN is set. PII is scrubbed before sending."""

import re
from typing import Any

FILTERED = "[Filtered]"
SENSITIVE_KEY = re.compile(
    r"pass|secret|token|key|auth|cookie|session|csrf|card|iban|email|phone|address|signature",
    re.IGNORECASE,
)
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")


def _scrub(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            k: FILTERED if isinstance(k, str) and SENSITIVE_KEY.search(k) else _scrub(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    if isinstance(value, str):
        return EMAIL.sub(FILTERED, value)
    return value


def before_send(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    """Drop cookies, auth headers, form fields and emails; keep only the user's id."""
    request = event.get("request")
    if isinstance(request, dict):
        request.pop("cookies", None)
        if "headers" in request:
            request["headers"] = _scrub(request["headers"])
        if "data" in request:
            request["data"] = _scrub(request["data"])
        if isinstance(request.get("query_string"), str):
            request["query_string"] = EMAIL.sub(FILTERED, request["query_string"])
    user = event.get("user")
    if isinstance(user, dict):
        event["user"] = {"id": user["id"]} if "id" in user else {}
    for name in ("extra", "contexts"):
        if isinstance(event.get(name), dict):
            event[name] = _scrub(event[name])
    if isinstance(event.get("logentry"), dict) and "message" in event["logentry"]:
        event["logentry"]["message"] = EMAIL.sub(FILTERED, str(event["logentry"]["message"]))
    return event


def init_sentry(*, dsn: str, environment: str, release: str, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        integrations=[DjangoIntegration()],
        send_default_pii=False,
        before_send=before_send,
        traces_sample_rate=traces_sample_rate,
    )


def set_request_user(user) -> None:
    """Tag the current request's Sentry scope with the member's id only (no email or name)."""
    import sentry_sdk

    if user is not None and user.is_authenticated:
        sentry_sdk.set_user({"id": str(user.pk)})
