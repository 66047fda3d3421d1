"""What a page needs to receive live updates: the context for templates/realtime/_client.html.

A view adds `realtime_page_context(channels=[...])` to its context and the template does
`{% include "realtime/_client.html" %}` (at the end of <body>). With the local backend the
context is empty, nothing is rendered and the page keeps polling.
"""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.safestring import SafeString, mark_safe

from messaging.realtime import get_backend

# As django.utils.html.json_script: JSON that can't close the <script> element it sits in.
_SCRIPT_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def config_json(config: dict[str, Any]) -> SafeString:
    """The config as JSON safe to place inside <script type="application/json"> (which, unlike
    Django's json_script filter, the template gives the CSP nonce the scanner asks for)."""
    text = json.dumps(config, cls=DjangoJSONEncoder).translate(_SCRIPT_ESCAPES)
    return mark_safe(text)  # noqa: S308 - <, > and & are escaped above


def realtime_page_context(*, channels: list[str]) -> dict[str, Any]:
    """{"realtime_config_json": ...} when a realtime service is configured, else {}."""
    config = get_backend().client_config(channels=channels)
    return {"realtime_config_json": config_json(config)} if config else {}
