"""Signal receivers: on login, move the anonymous session cart into the user's cart."""

from allauth.account.signals import user_logged_in
from django.dispatch import receiver

from orders.services.cart import cart_merge_session


@receiver(user_logged_in, dispatch_uid="orders_merge_cart_on_login")
def merge_cart_on_login(sender, request, user, **kwargs) -> None:
    cart_merge_session(user=user, session=request.session)
