"""The loop behind every moderation admin action: call the owning app's service once per
selected row, count what worked, and show each refusal's (safe) message to staff."""

from collections.abc import Callable

from django.contrib import messages


def admin_each(
    modeladmin,
    request,
    queryset,
    service: Callable,
    id_arg: str,
    verb: str,
    *,
    refusals: tuple[type[Exception], ...],
    **kw,
) -> None:
    """`service(actor=request.user, <id_arg>=pk, **kw)` for each selected pk; an exception of
    `refusals` is reported as a warning and the other rows still run."""
    done, failed = 0, []
    for pk in list(queryset.values_list("pk", flat=True)):
        try:
            service(actor=request.user, **{id_arg: pk}, **kw)
        except refusals as exc:
            failed.append(str(exc))
        else:
            done += 1
    modeladmin.message_user(request, f"{verb}: {done}.", messages.SUCCESS)
    for message in failed:
        modeladmin.message_user(request, message, messages.WARNING)
