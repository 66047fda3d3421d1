"""Signal receivers: on login, move the anonymous session cart into the user's cart; when a
seller's payment account changes, their listing pages (which say whether the item can be
bought) are dropped from the page cache."""

from allauth.account.signals import user_logged_in
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from marketplace import page_cache
from orders.models import SellerPaymentAccount
from orders.services.cart import cart_merge_session


@receiver(user_logged_in, dispatch_uid="orders_merge_cart_on_login")
def merge_cart_on_login(sender, request, user, **kwargs) -> None:
    cart_merge_session(user=user, session=request.session)


@receiver(post_save, sender=SellerPaymentAccount, dispatch_uid="orders_payment_account_saved")
@receiver(post_delete, sender=SellerPaymentAccount, dispatch_uid="orders_payment_account_deleted")
def payment_account_changed(sender, instance: SellerPaymentAccount, **kwargs) -> None:
    page_cache.sellers_changed([instance.user_id], catalogue=False)
