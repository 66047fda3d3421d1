from allauth.account.adapter import DefaultAccountAdapter


class AccountAdapter(DefaultAccountAdapter):
    """Threadly's hooks into allauth's sign-up and login flows."""
