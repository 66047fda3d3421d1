"""Inbound identity-provider webhook (Clerk-style, signed with Svix).

POST /api/webhooks/auth. The auth-provider adapter verifies the signature on the raw body
first (400 and nothing written if it fails) and maps the payload to our event; each event id
is stored, so a redelivery is answered 2xx and not applied twice.
"""

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from accounts.auth_provider import get_auth_provider
from accounts.exceptions import (
    AuthProviderNotConfigured,
    MalformedWebhook,
    WebhookPayloadError,
    WebhookSignatureError,
)
from accounts.services import auth_webhook_event_apply
from core import security_events

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def auth_webhook(request: HttpRequest) -> JsonResponse:
    """503 when no provider is configured, 400 for bad signatures and unreadable events, 422
    for signed events we cannot apply, 500 (rolled back, the provider retries) on failure."""
    try:
        event = get_auth_provider().parse_webhook(request.body, request.headers)
    except AuthProviderNotConfigured:
        return JsonResponse({"error": "The auth webhook is not configured."}, status=503)
    except WebhookSignatureError as exc:
        logger.warning("auth webhook rejected: %s", exc)
        security_events.webhook_signature_failed(source="auth")
        return JsonResponse({"error": "Invalid signature."}, status=400)
    except MalformedWebhook as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    except WebhookPayloadError as exc:
        # A retry would fail the same way: say so without asking for redelivery forever.
        logger.warning("auth webhook not applied: %s", exc)
        return JsonResponse({"error": str(exc)}, status=422)

    try:
        applied = auth_webhook_event_apply(event=event)
    except WebhookPayloadError as exc:
        logger.warning("auth webhook %s %s not applied: %s", event.event_id, event.event_type, exc)
        return JsonResponse({"error": str(exc)}, status=422)
    except Exception:
        logger.exception("auth webhook %s %s failed", event.event_id, event.event_type)
        return JsonResponse({"error": "The event could not be applied."}, status=500)
    return JsonResponse({"ok": True, "applied": applied})
