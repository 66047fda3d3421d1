"""POST /pusher/auth: pusher-js asks here before it subscribes to a private channel."""

import logging

from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from messaging.realtime import RealtimeError, get_backend
from messaging.realtime.access import realtime_channel_allowed
from messaging.realtime.forms import PusherAuthForm

logger = logging.getLogger(__name__)


def _refuse(message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=403)


@never_cache
@require_POST
def pusher_auth(request: HttpRequest) -> JsonResponse:
    """Sign the subscription of this browser's socket to a channel the member may hear.

    CSRF stays on (realtime.js sends X-CSRFToken). Every refusal is a 403 with a JSON error,
    as pusher-js expects: anonymous, malformed socket id or channel, someone else's channel,
    or no realtime service configured."""
    if not request.user.is_authenticated:
        return _refuse("Log in to receive live updates.")
    form = PusherAuthForm(request.POST)
    if not form.is_valid():
        return _refuse("Not a channel you can subscribe to.")
    channel = form.cleaned_data["channel_name"]
    if not realtime_channel_allowed(user=request.user, channel=channel):
        return _refuse("Not a channel you can subscribe to.")
    try:
        answer = get_backend().authorize(socket_id=form.cleaned_data["socket_id"], channel=channel)
    except RealtimeError as exc:
        logger.warning("realtime authorization failed: %s", exc)
        return _refuse("Live updates are not available.")
    return JsonResponse(answer)
