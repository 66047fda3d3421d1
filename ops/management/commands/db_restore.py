import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError

from core.outage import DatabaseCommand
from ops import backups
from ops.dbtools import is_postgres, live_database_name, pg_binary, pg_target, verify_checksum


class Command(DatabaseCommand):
    help = (
        "Restore a db_backup file (a local path, or a name in the private backups storage) into "
        "a named database (PostgreSQL, over DATABASE_URL_UNPOOLED) or file (SQLite). Refuses "
        "the live database unless --force. Checks the .sha256 next to the backup first."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "backup", help="Backup file, or the name of one in the backups storage."
        )
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
        live = live_database_name()
        if (database == live or Path(database).resolve() == Path(live).resolve()) and not force:
            raise CommandError(
                f"{database} is the live database. Restore into another database and switch, "
                "or pass --force if you really mean to overwrite it."
            )
        with tempfile.TemporaryDirectory(dir=self._staging_dir(), prefix=".restore-") as tmp:
            path = Path(backup)
            if not path.exists():
                path = self._fetch(backup, Path(tmp))
            self._restore(path, database, create)

    def _staging_dir(self) -> Path:
        settings.BACKUP_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        return settings.BACKUP_DIR

    def _fetch(self, name: str, into: Path) -> Path:
        """Download a backup and its .sha256 from the private backups storage."""
        storage = backups.backup_storage()
        if Path(name).name != name or not storage.exists(name):
            raise CommandError(f"No such backup: {name} (not a file, nor in the backups storage)")
        local = into / name
        for source, target in ((name, local), (f"{name}.sha256", into / f"{name}.sha256")):
            if not storage.exists(source):
                continue
            with storage.open(source, "rb") as remote, target.open("wb") as handle:
                shutil.copyfileobj(remote, handle, 1024 * 1024)
        self.stdout.write(f"Fetched {name} from the backups storage.")
        return local

    def _restore(self, path: Path, database: str, create: bool) -> None:
        checksum = verify_checksum(path)
        if checksum is False:
            raise CommandError(f"Checksum mismatch for {path}: the backup is damaged.")
        if checksum is None:
            self.stderr.write("No .sha256 next to the backup; restoring without a checksum check.")
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
