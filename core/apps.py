from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The kernel every app may call; it imports no app of ours."""

    name = "core"

    def ready(self) -> None:
        from axes.signals import user_locked_out
        from django.contrib.auth.signals import user_logged_in
        from django.core import signals

        from core import checks, lockout, request_memo  # noqa: F401 - checks registers itself

        user_locked_out.connect(lockout.on_locked_out, dispatch_uid="core.lockout.locked_out")
        user_logged_in.connect(lockout.on_logged_in, dispatch_uid="core.lockout.logged_in")
        signals.request_started.connect(
            request_memo.request_started, dispatch_uid="core.request_memo.started"
        )
        signals.request_finished.connect(
            request_memo.request_finished, dispatch_uid="core.request_memo.finished"
        )
