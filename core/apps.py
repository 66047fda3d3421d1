from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel every app may call; it imports no app of ours."""

    name = "core"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from core import checks, lockout  # noqa: F401 - checks registers itself

        user_login_failed.connect(lockout.on_login_failed, dispatch_uid="core.lockout.failed")
        user_logged_in.connect(lockout.on_logged_in, dispatch_uid="core.lockout.logged_in")
