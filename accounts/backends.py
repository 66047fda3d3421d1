"""Authentication backends: like Django's and allauth's, but a banned member is refused.

`user_can_authenticate` is also consulted for every request's session (`get_user`), so banning
a member ends their open sessions too, the way deactivating does in Django.
"""

from allauth.account.auth_backends import AuthenticationBackend as AllauthBackend
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend


def _not_banned(user) -> bool:
    return not getattr(user, "is_banned", False)


class ModelBackend(DjangoModelBackend):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and _not_banned(user)


class AuthenticationBackend(AllauthBackend):
    def user_can_authenticate(self, user) -> bool:
        return super().user_can_authenticate(user) and _not_banned(user)
