"""schema.org structured data as a `<script type="application/ld+json">` block (kernel).

Escaped the way Django's `json_script` filter escapes (`<`, `>` and `&` become \\u003C …), so
no value, e.g. a listing titled "</script><script>…", can end the script element early; the
JSON a crawler parses is unchanged. Django's filter can't be used as is: it always writes
type="application/json".

A JSON-LD block is a data block, not a script: browsers never execute it, and the CSP's
script-src (self + nonce) does not apply to it, so it carries no nonce.
"""

import json
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

_ESCAPES = {ord(">"): "\\u003E", ord("<"): "\\u003C", ord("&"): "\\u0026"}


def json_ld_dumps(data: dict[str, Any]) -> str:
    """`data` as JSON safe to place inside a <script> element."""
    return json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False).translate(_ESCAPES)


def json_ld_script(data: dict[str, Any]) -> SafeString:
    """`data` wrapped in `<script type="application/ld+json">`, ready for a template."""
    return format_html(
        '<script type="application/ld+json">{}</script>',
        mark_safe(json_ld_dumps(data)),  # noqa: S308
    )
