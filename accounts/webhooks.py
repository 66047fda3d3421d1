"""Inbound identity-provider webhook (Clerk-style, signed with Svix).

POST /api/webhooks/auth. Verify the signature on the raw body first; 400 and nothing written
if it fails. Each event id is stored, so a redelivery is answered 2xx and not applied twice.
"""

import json
import logging

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from svix.webhooks import Webhook, WebhookVerificationError

from accounts.exceptions import WebhookPayloadError
from accounts.services import auth_webhook_event_apply

logger = logging.getLogger(__name__)

SVIX_HEADERS = ("svix-id", "svix-timestamp", "svix-signature")
MAX_EVENT_ID_LENGTH = 100  # AuthWebhookEvent.event_id


@csrf_exempt
@require_POST
def auth_webhook(request: HttpRequest) -> JsonResponse:
    secret = settings.CLERK_WEBHOOK_SECRET
    if not secret:
        return JsonResponse({"error": "The auth webhook is not configured."}, status=503)
    try:
        webhook = Webhook(secret)
    except Exception:
        logger.exception("CLERK_WEBHOOK_SECRET is not a valid Svix secret")
        return JsonResponse({"error": "The auth webhook is not configured."}, status=503)

    headers = {name: request.headers.get(name, "") for name in SVIX_HEADERS}
    body = request.body
    try:
        webhook.verify(body, headers)
    except (WebhookVerificationError, ValueError) as exc:
        logger.warning("auth webhook rejected: %s", exc)
        return JsonResponse({"error": "Invalid signature."}, status=400)

    if len(headers["svix-id"]) > MAX_EVENT_ID_LENGTH:
        return JsonResponse({"error": "Event id too long."}, status=400)
    try:
        event = json.loads(body)
        event_type = str(event["type"])
        data = event.get("data") or {}
    except (ValueError, KeyError, TypeError, AttributeError):
        return JsonResponse({"error": "Malformed event."}, status=400)

    try:
        applied = auth_webhook_event_apply(
            event_id=headers["svix-id"], event_type=event_type, data=data
        )
    except WebhookPayloadError as exc:
        # A retry would fail the same way: say so without asking for redelivery forever.
        logger.warning("auth webhook %s %s not applied: %s", headers["svix-id"], event_type, exc)
        return JsonResponse({"error": str(exc)}, status=422)
    except Exception:
        logger.exception("auth webhook %s %s failed", headers["svix-id"], event_type)
        return JsonResponse({"error": "The event could not be applied."}, status=500)
    return JsonResponse({"ok": True, "applied": applied})
