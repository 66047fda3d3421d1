"""Seller payment accounts (Stripe Connect onboarding)."""

from django.db import transaction

from core.audit import audit_log
from orders.models import SellerPaymentAccount
from orders.payments import get_gateway
from orders.payments.events import SellerAccountStatus


def seller_onboarding_start(*, user, refresh_url: str, return_url: str) -> str:
    """Create the seller's connected account once (idempotent) and return an onboarding link."""
    gateway = get_gateway()
    account = SellerPaymentAccount.objects.filter(user=user).first()
    if account is None:
        account_id = gateway.create_seller_account(
            user_id=user.pk, email=user.email, idempotency_key=f"user-{user.pk}-connect-account"
        )
        account, _ = SellerPaymentAccount.objects.get_or_create(
            user=user, defaults={"stripe_account_id": account_id}
        )
        audit_log(action="seller.payment_account_created", actor=user, target=account)
    return gateway.create_onboarding_link(
        account_id=account.stripe_account_id, refresh_url=refresh_url, return_url=return_url
    )


@transaction.atomic
def seller_account_sync(*, status: SellerAccountStatus) -> SellerPaymentAccount | None:
    """Store what the provider says about a connected account (account.updated, return)."""
    account = (
        SellerPaymentAccount.objects.select_for_update()
        .filter(stripe_account_id=status.account_id)
        .first()
    )
    if account is None:
        return None
    account.details_submitted = status.details_submitted
    account.charges_enabled = status.charges_enabled
    account.payouts_enabled = status.payouts_enabled
    account.save(
        update_fields=["details_submitted", "charges_enabled", "payouts_enabled", "updated_at"]
    )
    return account


def seller_onboarding_refresh(*, user) -> SellerPaymentAccount | None:
    """On return from onboarding: fetch the account's status from the provider."""
    account = SellerPaymentAccount.objects.filter(user=user).first()
    if account is None:
        return None
    status = get_gateway().fetch_seller_account(account_id=account.stripe_account_id)
    return seller_account_sync(status=status)
