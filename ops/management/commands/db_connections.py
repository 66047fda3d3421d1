from django.core.management.base import CommandError
from django.db import connection

from core.audit import audit_log
from core.outage import DatabaseCommand
from ops.dbtools import is_postgres, parse_duration


class Command(DatabaseCommand):
    help = (
        "Count this database's connections by state (pg_stat_activity). "
        "--terminate-idle 10m ends connections idle for longer than that (never this one)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--terminate-idle", metavar="DURATION", help="e.g. 10m, 1h, 90s")
        parser.add_argument("--dry-run", action="store_true", help="List, terminate nothing.")

    def handle(self, *args, terminate_idle=None, dry_run=False, **options) -> None:
        if not is_postgres():
            self.stdout.write("db_connections: SQLite has no connection pool to inspect.")
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT coalesce(state, 'unknown'), count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() GROUP BY 1 ORDER BY 2 DESC"
            )
            rows = cursor.fetchall()
        total = sum(count for _, count in rows)
        self.stdout.write(f"{'state':<30} {'count':>6}")
        for state, count in rows:
            self.stdout.write(f"{state:<30} {count:>6}")
        self.stdout.write(f"{'total':<30} {total:>6}")
        if terminate_idle:
            try:
                seconds = parse_duration(terminate_idle)
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            self._terminate(seconds, dry_run)

    def _terminate(self, seconds: int, dry_run: bool) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, usename, now() - state_change FROM pg_stat_activity "
                "WHERE datname = current_database() AND state = 'idle' "
                "AND pid <> pg_backend_pid() AND state_change < now() - make_interval(secs => %s)",
                [seconds],
            )
            idle = cursor.fetchall()
            if dry_run:
                for pid, user, age in idle:
                    self.stdout.write(f"would terminate pid {pid} ({user}, idle {age})")
                self.stdout.write(f"Dry run: {len(idle)} idle connections would be terminated.")
                return
            ended = 0
            for pid, _user, _age in idle:
                cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
                ended += bool(cursor.fetchone()[0])
        audit_log(action="ops.db_connections_terminated", count=ended, idle_seconds=seconds)
        self.stdout.write(self.style.SUCCESS(f"Terminated {ended} idle connections."))
