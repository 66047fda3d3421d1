from django.core.management.base import BaseCommand

from core import maintenance


class Command(BaseCommand):
    """Works with the database down (the P0 runbook's first step): the flag file and the
    cache carry the mode, and the command says the database switch is still to be recorded."""

    help = (
        "Turn maintenance mode on or off (503 page for everyone but staff; health endpoints and "
        "webhooks stay up), or show its state. MAINTENANCE_MODE=1 in the environment forces it on."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("state", choices=["on", "off", "status"])

    def handle(self, *args, state: str, **options) -> None:
        if state != "status":
            change = maintenance.maintenance_set(
                enabled=state == "on", source="manage.py maintenance"
            )
            if not change.in_database:
                self.stderr.write(
                    "The database is unreachable: maintenance mode is set on this host (flag "
                    "file) and in the cache. Run this command again once the database is back "
                    "so the switch and the audit log record it."
                )
        enabled = maintenance.is_enabled()
        self.stdout.write(f"Maintenance mode is {'ON' if enabled else 'off'}.")
