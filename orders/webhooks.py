"""POST /api/webhooks/payments: Stripe events, verified on the raw body before anything else."""

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from orders.payments.stripe_gateway import WebhookSignatureError, verify_webhook
from orders.services.webhooks import payment_event_apply

logger = logging.getLogger(__name__)


@csrf_exempt
@require_POST
def payments_webhook(request: HttpRequest) -> HttpResponse:
    """400 for unsigned/forged/stale payloads (nothing written), 200 for applied or replayed
    events, 500 (rolled back, Stripe retries) when a handler fails."""
    try:
        event = verify_webhook(
            request.body, request.headers.get("Stripe-Signature"), settings.STRIPE_WEBHOOK_SECRET
        )
    except WebhookSignatureError:
        return JsonResponse({"error": "invalid signature"}, status=400)
    try:
        applied = payment_event_apply(event=event)
    except Exception:
        logger.exception("payment webhook %s (%s) failed", event.get("id"), event.get("type"))
        return JsonResponse({"error": "handler failed"}, status=500)
    return JsonResponse({"received": True, "replay": not applied})
