"""Database helpers for the operator commands (backup, restore, connections)."""

import hashlib
import os
import re
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper

DURATION = re.compile(r"^(\d+)([smhd]?)$")
UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class PgTarget:
    host: str
    port: str
    user: str
    password: str
    name: str

    def env(self) -> dict[str, str]:
        env = {**os.environ}
        env.update({"PGHOST": self.host, "PGPORT": self.port, "PGUSER": self.user})
        if self.password:
            env["PGPASSWORD"] = self.password
        return env


DIRECT = "direct"


def direct_connection() -> BaseDatabaseWrapper:
    """The direct (non-pooled) connection from DATABASE_URL_UNPOOLED, for backups, restores
    and VACUUM; the default connection if settings define no "direct" alias."""
    return connections[DIRECT] if DIRECT in settings.DATABASES else connection


def live_database_name() -> str:
    return str(direct_connection().settings_dict["NAME"])


def is_postgres() -> bool:
    return direct_connection().vendor == "postgresql"


def pg_target(name: str | None = None) -> PgTarget:
    """Connection details for pg_dump/pg_restore/createdb: the direct connection
    (DATABASE_URL_UNPOOLED), never the pooled one, whose transaction pooling breaks them."""
    direct = direct_connection().settings_dict
    return PgTarget(
        host=str(direct.get("HOST") or "127.0.0.1"),
        port=str(direct.get("PORT") or "5432"),
        user=str(direct.get("USER") or ""),
        password=str(direct.get("PASSWORD") or ""),
        name=name or str(direct["NAME"]),
    )


def pg_binary(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise FileNotFoundError(f"{name} is not installed (install the PostgreSQL client tools).")
    return path


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_checksum(path: Path) -> Path:
    checksum = sha256_of(path)
    sidecar = path.with_name(path.name + ".sha256")
    sidecar.write_text(f"{checksum}  {path.name}\n")
    return sidecar


def verify_checksum(path: Path) -> bool | None:
    """True/False if a .sha256 file sits next to `path`; None if there is none."""
    sidecar = path.with_name(path.name + ".sha256")
    if not sidecar.exists():
        return None
    expected = sidecar.read_text().split()[0]
    return expected == sha256_of(path)


def parse_duration(value: str) -> int:
    """'10m' -> 600 seconds ('30s', '2h', '1d'; a bare number is seconds)."""
    match = DURATION.match(value.strip().lower())
    if not match:
        raise ValueError(f"Not a duration: {value!r} (use e.g. 10m, 2h)")
    return int(match.group(1)) * UNITS[match.group(2)]


def sqlite_backup(source: Path, target: Path) -> None:
    """Copy a SQLite database file with SQLite's online backup API (consistent while in use)."""
    src = sqlite3.connect(source)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()
