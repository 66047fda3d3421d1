import logging
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.core.files import File
from django.core.management.base import CommandError
from django.utils import timezone

from core.outage import DatabaseCommand
from ops import backups
from ops.dbtools import (
    direct_connection,
    is_postgres,
    pg_binary,
    pg_target,
    sha256_of,
    sqlite_backup,
    write_checksum,
)

logger = logging.getLogger(__name__)
# Two workers must not both take the scheduled backup; released when done.
LOCK_KEY = "ops:backup:running"
LOCK_SECONDS = 4 * 3600


class Command(DatabaseCommand):
    help = (
        "Back up the database over the direct connection (DATABASE_URL_UNPOOLED): pg_dump "
        "custom format on PostgreSQL, a consistent file copy on SQLite, with a .sha256. Stores "
        "both in the private backups storage (STORAGES['backups']: BACKUP_DIR or BACKUP_BUCKET, "
        "never the public media storage), or only in --output."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--output", help="Write only this local file (and its .sha256), not the storage."
        )
        parser.add_argument(
            "--if-due",
            action="store_true",
            help="Only if the newest backup is about BACKUP_INTERVAL_HOURS old (run_worker).",
        )
        parser.add_argument(
            "--prune",
            action="store_true",
            help="Then delete backups past BACKUP_KEEP_DAILY / BACKUP_KEEP_WEEKLY.",
        )
        parser.add_argument(
            "--storage",
            action="store_true",
            help="Kept for old scripts: backups always go to the private backups storage.",
        )

    def handle(self, *args, output=None, if_due=False, prune=False, **options) -> None:
        now = timezone.now()
        if output:
            self._write(Path(output))
            return
        if if_due and not backups.backup_is_due(now=now):
            self.stdout.write("No backup due.")
            return
        if not self._lock(now):
            self.stdout.write("Another backup is running; skipped.")
            return
        try:
            self._store(now)
            if prune:
                for name in backups.backups_prune():
                    self.stdout.write(f"Pruned {name}")
        finally:
            self._unlock()

    def _lock(self, now) -> bool:
        try:
            return bool(cache.add(LOCK_KEY, now.isoformat(), LOCK_SECONDS))
        except Exception:  # a cache outage must not cost a backup
            logger.warning("db_backup: cache unavailable, backing up without the lock")
            return True

    def _unlock(self) -> None:
        try:
            cache.delete(LOCK_KEY)
        except Exception:
            logger.warning("db_backup: could not release the lock; it expires by itself")

    def _store(self, now) -> None:
        """Dump into a staging directory under BACKUP_DIR, then save dump and checksum (in
        that order: a dump without its .sha256 is an unfinished backup) to the storage."""
        suffix = ".dump" if is_postgres() else ".sqlite3"
        storage = backups.backup_storage()
        settings.BACKUP_DIR.mkdir(mode=0o700, parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=settings.BACKUP_DIR, prefix=".staging-") as tmp:
            local = Path(tmp) / backups.backup_name(taken_at=now, suffix=suffix)
            sidecar = self._write(local)
            with local.open("rb") as handle:
                name = storage.save(local.name, File(handle, name=local.name))
            with sidecar.open("rb") as handle:
                storage.save(f"{name}.sha256", File(handle, name=sidecar.name))
        self.stdout.write(f"Stored in the backups storage: {name} (+ .sha256)")

    def _write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        if is_postgres():
            self._pg_dump(path)
        else:
            self._sqlite_copy(path)
        sidecar = write_checksum(path)
        self.stdout.write(f"Backup written: {path} ({path.stat().st_size} bytes)")
        self.stdout.write(f"sha256 {sha256_of(path)} ({sidecar.name})")
        return sidecar

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
        name = str(direct_connection().settings_dict["NAME"])
        if name.startswith("file:") or name == ":memory:" or not Path(name).exists():
            raise CommandError(f"SQLite database {name} is not a file that can be backed up.")
        sqlite_backup(Path(name), path)
