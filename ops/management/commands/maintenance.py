from core import maintenance
from core.outage import DatabaseCommand


class Command(DatabaseCommand):
    help = (
        "Turn maintenance mode on or off (503 page for everyone but staff; health endpoints and "
        "webhooks stay up), or show its state. MAINTENANCE_MODE=1 in the environment forces it on."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("state", choices=["on", "off", "status"])

    def handle(self, *args, state: str, **options) -> None:
        if state != "status":
            maintenance.maintenance_set(enabled=state == "on", source="manage.py maintenance")
        enabled = maintenance.is_enabled()
        self.stdout.write(f"Maintenance mode is {'ON' if enabled else 'off'}.")
