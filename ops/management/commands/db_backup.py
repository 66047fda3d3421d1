import subprocess
from pathlib import Path

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from core.outage import DatabaseCommand
from ops.dbtools import (
    is_postgres,
    pg_binary,
    pg_target,
    sha256_of,
    sqlite_backup,
    write_checksum,
)


class Command(DatabaseCommand):
    help = (
        "Back up the database: pg_dump custom format on PostgreSQL, a consistent file copy on "
        "SQLite. Writes <file>.sha256 next to it; --storage also uploads both to media storage."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--output", help="File to write (default BACKUP_DIR/threadly-<ts>).")
        parser.add_argument(
            "--storage", action="store_true", help="Also upload to default storage (backups/)."
        )

    def handle(self, *args, output=None, storage=False, **options) -> None:
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        suffix = ".dump" if is_postgres() else ".sqlite3"
        path = Path(output) if output else settings.BACKUP_DIR / f"threadly-{stamp}{suffix}"
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_postgres():
            self._pg_dump(path)
        else:
            self._sqlite_copy(path)
        sidecar = write_checksum(path)
        self.stdout.write(f"Backup written: {path} ({path.stat().st_size} bytes)")
        self.stdout.write(f"sha256 {sha256_of(path)} ({sidecar.name})")
        if storage:
            for local in (path, sidecar):
                with local.open("rb") as handle:
                    name = default_storage.save(f"backups/{local.name}", File(handle))
                self.stdout.write(f"Uploaded to storage: {name}")

    def _pg_dump(self, path: Path) -> None:
        target = pg_target()
        command = [pg_binary("pg_dump"), "--format=custom", "--no-owner", "--file", str(path)]
        command.append(target.name)
        result = subprocess.run(  # noqa: S603 - fixed binary, arguments from settings
            command, env=target.env(), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            raise CommandError(f"pg_dump failed: {result.stderr.strip()}")

    def _sqlite_copy(self, path: Path) -> None:
        name = str(connection.settings_dict["NAME"])
        if name.startswith("file:") or name == ":memory:" or not Path(name).exists():
            raise CommandError(f"SQLite database {name} is not a file that can be backed up.")
        sqlite_backup(Path(name), path)
