"""Writes for accounts: members, profiles, sign-in records and the identity-provider webhook.

Split by sub-domain; import from here (`from accounts.services import user_create`).
"""

from accounts.services.auth import (
    login_failure_record,
    login_record,
    login_refusal_record,
    request_ip,
    signup_record,
)
from accounts.services.notify import (
    email_allowed,
    email_opt_in,
    email_opt_out,
    member_email_send,
    unsubscribe_token_read,
    unsubscribe_url,
)
from accounts.services.users import (
    profile_lock,
    profile_rating_set,
    profile_update,
    user_create,
    user_deactivate,
    user_email_mark_verified,
    user_save_new,
    user_set_banned,
)
from accounts.services.webhook import auth_webhook_event_apply

__all__ = [
    "email_allowed",
    "email_opt_in",
    "email_opt_out",
    "member_email_send",
    "unsubscribe_token_read",
    "unsubscribe_url",
    "auth_webhook_event_apply",
    "login_failure_record",
    "login_record",
    "login_refusal_record",
    "profile_lock",
    "profile_rating_set",
    "profile_update",
    "request_ip",
    "signup_record",
    "user_create",
    "user_email_mark_verified",
    "user_deactivate",
    "user_save_new",
    "user_set_banned",
]
