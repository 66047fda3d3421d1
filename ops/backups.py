"""Database backups in their private location: naming, listing, retention and freshness.

Backups live in the Django storage alias "backups" (STORAGES["backups"]): a directory under
BACKUP_DIR locally, a private S3 bucket or prefix with signed URLs in production. Never the
media storage, whose URLs are public. Each backup is a dump plus a `.sha256` written after it,
so a dump without its checksum is an unfinished upload and does not count.
"""

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages

STORAGE_ALIAS = "backups"
OK, WARN, CRIT, OFF = "OK", "WARN", "CRIT", "OFF"
NAME = re.compile(r"^threadly-(\d{8}-\d{6})(?:_[A-Za-z0-9]+)?\.(?:dump|sqlite3)$")
STAMP_FORMAT = "%Y%m%d-%H%M%S"
# The worker asks every 15 minutes whether a backup is due; this much early is still "due",
# so a daily backup does not drift later by up to one check every day.
DUE_TOLERANCE = timedelta(minutes=15)


class PrivateFileSystemStorage(FileSystemStorage):
    """Local backups storage: files under BACKUP_DIR (read at call time), readable by the
    owner only (0600 / 0700: dumps hold personal data), with no URL at all."""

    def __init__(self, **kwargs) -> None:
        kwargs.setdefault("file_permissions_mode", 0o600)
        kwargs.setdefault("directory_permissions_mode", 0o700)
        super().__init__(**kwargs)

    @property
    def base_location(self) -> str:
        return str(self._value_or_setting(self._location, settings.BACKUP_DIR))

    @property
    def location(self) -> str:
        return os.path.abspath(self.base_location)

    def url(self, name: str | None) -> str:
        raise NotImplementedError("Backups have no URL: they are never served over HTTP.")


@dataclass(frozen=True)
class Backup:
    name: str
    taken_at: datetime


@dataclass(frozen=True)
class Freshness:
    level: str
    newest: Backup | None
    age: timedelta | None
    warn_after: timedelta
    crit_after: timedelta

    @property
    def age_hours(self) -> float | None:
        return None if self.age is None else round(self.age.total_seconds() / 3600, 1)

    def describe(self) -> str:
        """A line for operators and /health: no paths, no hosts."""
        if self.level == OFF:
            return "scheduled backups are off (BACKUP_INTERVAL_HOURS=0)"
        if self.newest is None:
            return "no backup yet"
        return f"last backup {self.age_hours} h ago"


def backup_storage() -> Storage:
    return storages[STORAGE_ALIAS]


def backup_name(*, taken_at: datetime, suffix: str) -> str:
    """The storage name of a backup taken at `taken_at` (UTC in the name)."""
    return f"threadly-{taken_at.astimezone(UTC).strftime(STAMP_FORMAT)}{suffix}"


def parse_backup_name(name: str) -> datetime | None:
    match = NAME.match(name)
    if match is None:
        return None
    return datetime.strptime(match.group(1), STAMP_FORMAT).replace(tzinfo=UTC)


def backups_list(*, storage: Storage | None = None) -> list[Backup]:
    """Complete backups (dump + .sha256) in the backups storage, newest first.

    Files that are not named like a backup are ignored, so they are never pruned.
    """
    storage = storage or backup_storage()
    try:
        _dirs, files = storage.listdir("")
    except FileNotFoundError:
        return []
    present = set(files)
    found = []
    for name in files:
        taken_at = parse_backup_name(name)
        if taken_at is not None and f"{name}.sha256" in present:
            found.append(Backup(name=name, taken_at=taken_at))
    return sorted(found, key=lambda b: (b.taken_at, b.name), reverse=True)


def retention_keep(*, backups: Iterable[Backup], keep_daily: int, keep_weekly: int) -> set[str]:
    """Names to keep, the way borg prune counts: the newest backup of each of the last
    `keep_daily` days that have one, then the newest of each of `keep_weekly` more ISO weeks
    (a week whose newest backup is already kept does not count), and always the newest."""
    ordered = sorted(backups, key=lambda b: (b.taken_at, b.name), reverse=True)
    keep: set[str] = set()
    for count, period in (
        (keep_daily, lambda b: b.taken_at.date()),
        (keep_weekly, lambda b: b.taken_at.isocalendar()[:2]),
    ):
        last, kept = None, 0
        for backup in ordered:
            if kept >= count:
                break
            key = period(backup)
            if key == last:
                continue
            last = key
            if backup.name not in keep:
                keep.add(backup.name)
                kept += 1
    if ordered:
        keep.add(ordered[0].name)
    return keep


def backups_prune(*, dry_run: bool = False, storage: Storage | None = None) -> list[str]:
    """Delete the backups (and their .sha256) the retention settings don't keep.

    BACKUP_KEEP_DAILY and BACKUP_KEEP_WEEKLY are read at call time. Returns the deleted (or,
    with dry_run, the would-be deleted) dump names, oldest first.
    """
    storage = storage or backup_storage()
    backups = backups_list(storage=storage)
    keep = retention_keep(
        backups=backups,
        keep_daily=settings.BACKUP_KEEP_DAILY,
        keep_weekly=settings.BACKUP_KEEP_WEEKLY,
    )
    doomed = sorted(b.name for b in backups if b.name not in keep)
    if not dry_run:
        for name in doomed:
            storage.delete(f"{name}.sha256")
            storage.delete(name)
    return doomed


def backup_interval() -> timedelta | None:
    hours = settings.BACKUP_INTERVAL_HOURS
    return timedelta(hours=hours) if hours > 0 else None


def backup_is_due(*, now: datetime, storage: Storage | None = None) -> bool:
    """A scheduled backup is due when none exists or the newest is about an interval old;
    never when BACKUP_INTERVAL_HOURS is 0."""
    interval = backup_interval()
    if interval is None:
        return False
    found = backups_list(storage=storage)
    return not found or now - found[0].taken_at >= interval - DUE_TOLERANCE


def backup_freshness(*, now: datetime, storage: Storage | None = None) -> Freshness:
    """How old the newest backup is against its schedule.

    WARN past BACKUP_INTERVAL_HOURS + BACKUP_SLACK_HOURS, CRIT past twice the interval (and
    never before WARN), CRIT when there is none; OFF when scheduled backups are off. Lists
    the backups storage, so it raises when that storage is unreachable.
    """
    interval = backup_interval()
    slack = timedelta(hours=settings.BACKUP_SLACK_HOURS)
    if interval is None:
        return Freshness(OFF, None, None, slack, slack)
    warn_after = interval + slack
    crit_after = max(2 * interval, warn_after)
    backups = backups_list(storage=storage)
    newest = backups[0] if backups else None
    if newest is None:
        return Freshness(CRIT, None, None, warn_after, crit_after)
    age = now - newest.taken_at
    level = CRIT if age > crit_after else WARN if age > warn_after else OK
    return Freshness(level, newest, age, warn_after, crit_after)
