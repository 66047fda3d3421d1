"""POST /api/webhooks/payments: the gateway's events, verified on the raw body before anything
else. The gateway adapter verifies and maps the delivery; this view only passes it on."""

import logging

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from core import security_events
from orders.exceptions import MalformedWebhook, WebhookSignatureError
from orders.payments import get_gateway
from orders.services.webhooks import payment_event_apply

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def payments_webhook(request: HttpRequest) -> HttpResponse:
    """400 for unsigned/forged/stale payloads and for signed ones we cannot read (nothing
    written), 200 for applied or replayed events, 500 (rolled back, the gateway retries) when
    a handler fails."""
    try:
        event = get_gateway().parse_webhook(request.body, request.headers)
    except WebhookSignatureError:
        security_events.webhook_signature_failed(source="payments")
        return JsonResponse({"error": "invalid signature"}, status=400)
    except MalformedWebhook as exc:
        logger.warning("payment webhook refused, malformed event: %s", exc)
        return JsonResponse({"error": "malformed event"}, status=400)
    try:
        applied = payment_event_apply(event=event)
    except Exception:
        logger.exception("payment webhook %s (%s) failed", event.event_id, event.event_type)
        return JsonResponse({"error": "handler failed"}, status=500)
    return JsonResponse({"received": True, "replay": not applied})
