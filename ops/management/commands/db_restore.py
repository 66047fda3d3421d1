import shutil
import subprocess
from pathlib import Path

from django.core.management.base import CommandError

from core.outage import DatabaseCommand
from ops.dbtools import is_postgres, live_database_name, pg_binary, pg_target, verify_checksum


class Command(DatabaseCommand):
    help = (
        "Restore a db_backup file into a named database (PostgreSQL) or file (SQLite). Refuses "
        "the live database unless --force. Checks the .sha256 next to the backup first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("backup", help="Backup file written by db_backup.")
        parser.add_argument(
            "--database", required=True, help="Target database name (SQLite: a file path)."
        )
        parser.add_argument(
            "--create", action="store_true", help="Create the target database first (PostgreSQL)."
        )
        parser.add_argument(
            "--force", action="store_true", help="Allow restoring over the live database."
        )

    def handle(self, *args, backup, database, create=False, force=False, **options) -> None:
        path = Path(backup)
        if not path.exists():
            raise CommandError(f"No such backup: {path}")
        checksum = verify_checksum(path)
        if checksum is False:
            raise CommandError(f"Checksum mismatch for {path}: the backup is damaged.")
        if checksum is None:
            self.stderr.write("No .sha256 next to the backup; restoring without a checksum check.")
        live = live_database_name()
        if (database == live or Path(database).resolve() == Path(live).resolve()) and not force:
            raise CommandError(
                f"{database} is the live database. Restore into another database and switch, "
                "or pass --force if you really mean to overwrite it."
            )
        if is_postgres():
            self._pg_restore(path, database, create)
        else:
            shutil.copyfile(path, database)
        self.stdout.write(self.style.SUCCESS(f"Restored {path.name} into {database}."))

    def _pg_restore(self, path: Path, database: str, create: bool) -> None:
        target = pg_target(database)
        if create:
            result = subprocess.run(  # noqa: S603 - fixed binary
                [pg_binary("createdb"), database],
                env=target.env(),
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                raise CommandError(f"createdb failed: {result.stderr.strip()}")
        command = [
            pg_binary("pg_restore"),
            "--no-owner",
            "--clean",
            "--if-exists",
            "--exit-on-error",
            "--dbname",
            database,
            str(path),
        ]
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments checked above
            command, env=target.env(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise CommandError(f"pg_restore failed: {result.stderr.strip()}")
