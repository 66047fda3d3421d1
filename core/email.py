"""ResendEmailBackend: Django email through Resend's API (used when RESEND_API_KEY is set).

Text body, HTML alternative (or an HTML-only message), cc/bcc/reply-to, extra headers and
attachments are mapped onto one Resend "send email" call per message.
"""

import base64
import logging
from email.mime.base import MIMEBase
from typing import Any

from django.conf import settings
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend

logger = logging.getLogger(__name__)


class IntegrationError(Exception):
    """Resend refused or could not be reached."""


class ResendEmailBackend(BaseEmailBackend):
    def __init__(self, fail_silently: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.fail_silently = fail_silently

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        import resend

        resend.api_key = settings.RESEND_API_KEY
        resend.api_url = getattr(settings, "RESEND_API_URL", "") or "https://api.resend.com"
        sent = 0
        for message in email_messages:
            if not message.recipients():
                continue
            try:
                resend.Emails.send(self.params_for(message))
            except Exception as exc:
                if not self.fail_silently:
                    raise IntegrationError(f"Resend could not send {message.subject!r}") from exc
                logger.exception("Resend could not send %r", message.subject)
                continue
            sent += 1
        return sent

    @staticmethod
    def params_for(message: EmailMessage) -> dict[str, Any]:
        params: dict[str, Any] = {
            "from": message.from_email or settings.DEFAULT_FROM_EMAIL,
            "to": list(message.to),
            "subject": message.subject,
        }
        if getattr(message, "content_subtype", "plain") == "html":
            params["html"] = message.body
        else:
            params["text"] = message.body
        for content, mimetype in getattr(message, "alternatives", []):
            if mimetype == "text/html":
                params["html"] = content
        for name in ("cc", "bcc", "reply_to"):
            if getattr(message, name):
                params[name] = list(getattr(message, name))
        headers = {k: str(v) for k, v in message.extra_headers.items() if k.lower() != "from"}
        if headers:
            params["headers"] = headers
        attachments = [_attachment(a) for a in message.attachments]
        if attachments:
            params["attachments"] = attachments
        return params


def _attachment(attachment: Any) -> dict[str, Any]:
    if isinstance(attachment, MIMEBase):
        content = attachment.get_payload(decode=True) or b""
        filename = attachment.get_filename() or "attachment"
        mimetype = attachment.get_content_type()
    else:
        filename, content, mimetype = attachment
    if isinstance(content, str):
        content = content.encode()
    result = {"filename": filename, "content": base64.b64encode(content).decode()}
    if mimetype:
        result["content_type"] = mimetype
    return result
