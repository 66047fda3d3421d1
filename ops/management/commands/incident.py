from django.core.management.base import BaseCommand, CommandError

from ops.incidents import incident_log


class Command(BaseCommand):
    """Works with the database down (the P0 runbook's first step): the line goes to
    LOG_DIR/incidents.log and the webhook at once, and into the database when it is back."""

    help = (
        "Append a timestamped line to the incident log, shown on /status: "
        'manage.py incident "P0 acknowledged". --resolved closes the open incidents.'
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("message")
        parser.add_argument("--resolved", action="store_true", help="This line resolves it.")

    def handle(self, *args, message: str, resolved: bool, **options) -> None:
        try:
            line = incident_log(message=message, resolve=resolved)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{line.at:%Y-%m-%d %H:%M:%S} {line.message}")
        if not line.in_database:
            self.stderr.write(
                "The database is unreachable: the line is in LOG_DIR/incidents.log and was "
                "sent to the alert webhook; it goes into the incident log (/status) by itself "
                "once the database is back (the worker or the next `incident` adds it)."
            )
