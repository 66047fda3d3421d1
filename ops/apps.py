from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"

    def ready(self) -> None:
        from django.contrib.auth.signals import user_logged_in, user_login_failed

        from ops import checks, lockout  # noqa: F401 - checks registers itself

        user_login_failed.connect(lockout.on_login_failed, dispatch_uid="ops.lockout.failed")
        user_logged_in.connect(lockout.on_logged_in, dispatch_uid="ops.lockout.logged_in")
