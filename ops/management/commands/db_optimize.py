from tqdm import tqdm

from core.outage import DatabaseCommand
from ops.dbtools import direct_connection, is_postgres


class Command(DatabaseCommand):
    help = (
        "VACUUM ANALYZE every table (PostgreSQL) over the direct connection "
        "(DATABASE_URL_UNPOOLED). On SQLite this is a no-op with a message."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--table", action="append", help="Only this table (repeatable).")
        parser.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")

    def handle(self, *args, table=None, no_progress=False, **options) -> None:
        if not is_postgres():
            self.stdout.write(
                "db_optimize: nothing to do on SQLite (VACUUM ANALYZE is PostgreSQL)."
            )
            return
        connection = direct_connection()
        tables = table or connection.introspection.table_names()
        known = set(connection.introspection.table_names())
        unknown = [t for t in tables if t not in known]
        if unknown:
            self.stderr.write(f"Unknown tables: {', '.join(unknown)}")
            raise SystemExit(1)
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            for name in tqdm(tables, desc="VACUUM ANALYZE", disable=no_progress, unit="table"):
                # Identifiers come from the catalogue (checked above) and are quoted.
                cursor.execute(f"VACUUM ANALYZE {quote(name)}")
        self.stdout.write(self.style.SUCCESS(f"Vacuumed and analysed {len(tables)} tables."))
