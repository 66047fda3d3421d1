from core.outage import DatabaseCommand
from ops.alerts import notify
from ops.status import CRIT, OK, WARN, collect


class Command(DatabaseCommand):
    help = (
        "Key metrics against the manual's thresholds (p95 response time, error rate, database "
        "connections, disks of uploads and database, container memory, suspicious activity) as "
        "an OK/WARN/CRIT table. Alerts ALERT_EMAILS / ALERT_WEBHOOK_URL / PagerDuty as the "
        "manual routes them (once per metric per window). Exits 2 when anything is CRIT."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--minutes",
            type=int,
            default=None,
            help="One window (minutes) for every metric instead of the manual's (error rate 5, "
            "p95 15).",
        )
        parser.add_argument("--no-notify", action="store_true", help="Don't send alerts.")

    def handle(self, *args, minutes: int | None, no_notify: bool, **options) -> None:
        rows = collect(minutes=minutes)
        style = {OK: self.style.SUCCESS, WARN: self.style.WARNING, CRIT: self.style.ERROR}
        self.stdout.write(f"{'metric':<27} {'value':<28} {'warn':>6} {'crit':>6}  level")
        for m in rows:
            warn = "" if m.warn is None else f"{m.warn:g}"
            crit = "" if m.crit is None else f"{m.crit:g}"
            level = style[m.level](m.level)
            self.stdout.write(f"{m.name:<27} {m.display:<28} {warn:>6} {crit:>6}  {level}")
        if not no_notify:
            for m in notify(rows):
                self.stdout.write(f"alert sent: {m.name} {m.level}")
        if any(m.level == CRIT for m in rows):
            raise SystemExit(2)
