from django.core.management.base import CommandError

from core.outage import DatabaseCommand
from ops.incidents import incident_log


class Command(DatabaseCommand):
    help = (
        "Append a timestamped line to the incident log, shown on /status: "
        'manage.py incident "P0 acknowledged". --resolved closes the open incidents.'
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("message")
        parser.add_argument("--resolved", action="store_true", help="This line resolves it.")

    def handle(self, *args, message: str, resolved: bool, **options) -> None:
        try:
            incident = incident_log(message=message, resolve=resolved)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"{incident.created_at:%Y-%m-%d %H:%M:%S} {incident.message}")
