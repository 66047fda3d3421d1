"""Backups an operator can trust: a private location, a schedule, a retention, a freshness
alert, the direct (unpooled) connection, and a rehearsed point-in-time recovery."""

import io
import os
import re
import runpy
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.management import call_command
from django.db import connection, connections
from django.utils import timezone

from ops import backups, health, jobs, scheduler, status
from ops.dbtools import pg_target

BASE_DIR = Path(__file__).resolve().parent.parent.parent
pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")


@pytest.fixture(autouse=True)
def _backup_settings(settings, tmp_path):
    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_INTERVAL_HOURS = 24
    settings.BACKUP_SLACK_HOURS = 2
    settings.BACKUP_KEEP_DAILY = 7
    settings.BACKUP_KEEP_WEEKLY = 4
    settings.HEALTH_CACHE_SECONDS = 0


def run(*args) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def put_backup(taken_at: datetime, *, complete: bool = True) -> str:
    """A fake backup in the backups storage, as db_backup names it."""
    storage = storages["backups"]
    name = storage.save(backups.backup_name(taken_at=taken_at, suffix=".dump"), ContentFile(b"x"))
    if complete:
        storage.save(f"{name}.sha256", ContentFile(b"0  x\n"))
    return name


def stored_names() -> set[str]:
    return set(storages["backups"].listdir("")[1])


def settings_with(monkeypatch, **env: str) -> dict:
    """threadly/settings.py evaluated with these environment variables."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(BASE_DIR / "threadly" / "settings.py"))


# --- A private location --------------------------------------------------------------------


@postgres_only
def test_db_backup_stores_dump_and_checksum_in_backups_storage_never_media(settings):
    """db_backup puts dump + .sha256 in the private backups storage; media gets nothing."""
    out = run("db_backup")
    names = stored_names()
    (dump,) = [n for n in names if n.endswith(".dump")]
    assert f"{dump}.sha256" in names
    assert backups.parse_backup_name(dump) is not None
    assert (settings.BACKUP_DIR / dump).stat().st_size > 1000
    assert f"Stored in the backups storage: {dump}" in out
    assert not default_storage.exists("backups")
    assert not list(settings.BACKUP_DIR.glob(".staging-*"))


def test_local_backups_storage_lives_in_backup_dir_owner_only_and_has_no_url(settings):
    """The local backups storage writes owner-only files under BACKUP_DIR and makes no URL."""
    storage = storages["backups"]
    name = put_backup(timezone.now())
    assert Path(storage.path(name)).parent == settings.BACKUP_DIR.resolve()
    assert Path(storage.path(name)).stat().st_mode & 0o777 == 0o600
    with pytest.raises(NotImplementedError):
        storage.url(name)


def test_backup_bucket_is_private_and_signed_unlike_public_media(monkeypatch):
    """BACKUP_BUCKET: private ACL, signed URLs, no public custom domain (media stays public)."""
    conf = settings_with(
        monkeypatch,
        AWS_STORAGE_BUCKET_NAME="threadly-media",
        AWS_S3_CUSTOM_DOMAIN="cdn.threadly.example",
        BACKUP_BUCKET="threadly-backups",
        BACKUP_PREFIX="/db/",
    )
    options = conf["STORAGES"]["backups"]["OPTIONS"]
    assert conf["STORAGES"]["backups"]["BACKEND"] == "storages.backends.s3.S3Storage"
    assert options["bucket_name"] == "threadly-backups"
    assert options["location"] == "db"
    assert options["default_acl"] == "private"
    assert options["querystring_auth"] is True
    assert options["custom_domain"] is None
    assert conf["STORAGES"]["default"]["OPTIONS"]["querystring_auth"] is False


def test_backups_in_the_media_bucket_root_are_refused(monkeypatch):
    """BACKUP_BUCKET equal to the media bucket with no prefix stops start-up."""
    with pytest.raises(ImproperlyConfigured, match="BACKUP_PREFIX"):
        settings_with(
            monkeypatch, AWS_STORAGE_BUCKET_NAME="threadly-media", BACKUP_BUCKET="threadly-media"
        )


def test_backup_dir_inside_media_root_is_refused(monkeypatch, tmp_path):
    """A BACKUP_DIR inside MEDIA_ROOT (publicly served) stops start-up."""
    with pytest.raises(ImproperlyConfigured, match="MEDIA_ROOT"):
        settings_with(
            monkeypatch, MEDIA_ROOT=str(tmp_path / "media"), BACKUP_DIR=str(tmp_path / "media/b")
        )


# --- Retention -----------------------------------------------------------------------------


def test_prune_keeps_7_daily_then_4_weekly_and_the_newest():
    """Of 60 days of backups (two a day), the newest of each of the last 7 days and of 4 more
    ISO weeks stay; unfinished dumps and foreign files are never touched."""
    now = datetime(2025, 3, 31, 23, 0, tzinfo=UTC)  # a Monday
    for day in range(60):
        for hour in (1, 13):
            put_backup(now - timedelta(days=day, hours=hour))
    partial = put_backup(now - timedelta(days=90), complete=False)
    storages["backups"].save("notes.txt", ContentFile(b"mine"))

    out = run("backups_prune")

    # Days 0-6 (Mon 03-31 back to Tue 03-25), then the Sundays closing the four weeks before
    # the ones those days cover: 03-23, 03-16, 03-09, 03-02.
    expected = {
        backups.backup_name(taken_at=now - timedelta(days=d, hours=1), suffix=".dump")
        for d in (0, 1, 2, 3, 4, 5, 6, 8, 15, 22, 29)
    }
    names = stored_names()
    assert {n for n in names if n.endswith(".dump")} == expected | {partial}
    assert {f"{n}.sha256" for n in expected} <= names
    assert len([n for n in names if n.endswith(".sha256")]) == 11
    assert "notes.txt" in names
    assert "11 of 120 backups kept." in out


def test_prune_always_keeps_the_newest_backup():
    """Even with no daily or weekly retention, the newest backup is never deleted."""
    now = timezone.now()
    newest = put_backup(now)
    put_backup(now - timedelta(days=1))
    found = backups.backups_list()
    assert backups.retention_keep(backups=found, keep_daily=0, keep_weekly=0) == {newest}


def test_prune_dry_run_deletes_nothing(settings):
    """backups_prune --dry-run lists what would go and leaves every file."""
    settings.BACKUP_KEEP_WEEKLY = 0
    now = timezone.now()
    for day in range(10):
        put_backup(now - timedelta(days=day))
    before = stored_names()
    out = run("backups_prune", "--dry-run")
    assert out.count("would delete") == 3
    assert stored_names() == before


# --- Schedule ------------------------------------------------------------------------------


def test_worker_runs_db_backup_if_due_with_prune_every_15_minutes(monkeypatch):
    """The periodic-job runner asks for a due backup (then prunes) every 15 minutes."""
    calls: list[tuple] = []
    monkeypatch.setattr(jobs, "call_command", lambda name, *a, **k: calls.append((name, a)))
    assert "db_backup" in scheduler.run_tick(15)
    assert "db_backup" not in scheduler.run_tick(14)
    assert ("db_backup", ("--if-due", "--prune")) in calls


def test_db_backup_if_due_skips_while_the_newest_backup_is_fresh():
    """With a 1-hour-old backup and a 24 h interval, `db_backup --if-due` does nothing."""
    put_backup(timezone.now() - timedelta(hours=1))
    before = stored_names()
    assert "No backup due." in run("db_backup", "--if-due")
    assert stored_names() == before


def test_no_scheduled_backup_when_the_interval_is_zero(settings):
    """BACKUP_INTERVAL_HOURS=0 switches the schedule off: --if-due never backs up."""
    settings.BACKUP_INTERVAL_HOURS = 0
    assert "No backup due." in run("db_backup", "--if-due")
    assert backups.backups_list() == []


@postgres_only
def test_db_backup_if_due_backs_up_and_prunes_when_the_newest_is_an_interval_old():
    """A 24 h-old newest backup makes `db_backup --if-due --prune` take one and prune."""
    now = timezone.now()
    for day in range(1, 12):
        put_backup(now - timedelta(days=day, minutes=5))
    out = run("db_backup", "--if-due", "--prune")
    found = backups.backups_list()
    assert found[0].taken_at > now - timedelta(minutes=5)
    assert "Pruned" in out
    assert len(found) == len(backups.retention_keep(backups=found, keep_daily=7, keep_weekly=4))


# --- Freshness: ops_status and /health -----------------------------------------------------


def backup_row() -> status.Metric:
    (metric,) = [m for m in status.collect() if m.name == "backup_age_hours"]
    return metric


@pytest.mark.parametrize(
    ("hours_old", "level"),
    [(25, "OK"), (27, "WARN"), (47, "WARN"), (49, "CRIT"), (None, "CRIT")],
)
def test_ops_status_reports_backup_age_against_interval_plus_slack_and_twice(hours_old, level):
    """Interval 24 h + 2 h slack: OK to 26 h, WARN past 26 h, CRIT past 48 h or with none."""
    if hours_old is not None:
        put_backup(timezone.now() - timedelta(hours=hours_old))
    metric = backup_row()
    assert metric.level == level
    assert (metric.warn, metric.crit) == (26, 48)


def test_ops_status_exits_2_and_alerts_on_a_stale_backup(settings, mailoutbox):
    """A 3-day-old backup is CRIT in the table, emails the operator and exits 2."""
    settings.ALERT_EMAILS = ["ops@threadly.example"]
    put_backup(timezone.now() - timedelta(days=3))
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("ops_status", stdout=out)
    assert exit_.value.code == 2
    assert re.search(r"backup_age_hours\s+72\.0 h\s+26\s+48\s+CRIT", out.getvalue())
    assert any("backup_age_hours" in m.subject for m in mailoutbox)


def test_health_says_warn_for_a_late_backup_and_names_a_critical_one_as_a_warning(client):
    """/health: a 30 h-old backup is ok with a WARN detail; a 50 h-old one fails the check,
    named under `warnings` with 200 (a stale backup is no reason to take the site out of a
    load balancer; ops_status alerts it as CRIT)."""
    late = put_backup(timezone.now() - timedelta(hours=30))
    response = client.get("/health")
    assert response.status_code == 200
    service = response.json()["services"]["backups"]
    assert service["ok"] is True
    assert service["detail"].startswith("WARN: last backup 30.")

    storages["backups"].delete(late)
    storages["backups"].delete(f"{late}.sha256")
    put_backup(timezone.now() - timedelta(hours=50))
    response = client.get("/health")
    assert response.status_code == 200
    assert "backups" in response.json()["warnings"]
    assert response.json()["services"]["backups"]["ok"] is False
    assert response.json()["services"]["backups"]["detail"].startswith("CRIT: last backup 50.")


def test_health_reports_unscheduled_backups_as_not_configured(settings):
    """With BACKUP_INTERVAL_HOURS=0 the backups check is ok and says it is not configured."""
    settings.BACKUP_INTERVAL_HOURS = 0
    check = health.check_backup_freshness()
    assert (check.ok, check.configured) == (True, False)


# --- DATABASE_URL_UNPOOLED -----------------------------------------------------------------


def test_unpooled_url_becomes_the_direct_database_alias(monkeypatch):
    """DATABASE_URL_UNPOOLED is the "direct" alias; "default" keeps the pooled URL."""
    conf = settings_with(
        monkeypatch,
        DATABASE_URL="postgres://app:pw@pooler.example:6543/threadly",
        DATABASE_URL_UNPOOLED="postgres://app:pw@db.example:5432/threadly",
    )
    assert conf["DATABASES"]["default"]["HOST"] == "pooler.example"
    assert conf["DATABASES"]["direct"]["HOST"] == "db.example"
    assert conf["DATABASES"]["direct"]["PORT"] == 5432
    assert conf["DATABASES"]["direct"]["CONN_MAX_AGE"] == 0


def test_direct_alias_defaults_to_database_url(monkeypatch):
    """Without DATABASE_URL_UNPOOLED the direct alias is DATABASE_URL."""
    monkeypatch.delenv("DATABASE_URL_UNPOOLED", raising=False)
    conf = settings_with(monkeypatch, DATABASE_URL="postgres://app:pw@db.example:5432/threadly")
    assert conf["DATABASES"]["direct"]["HOST"] == "db.example"


@pytest.fixture
def direct_elsewhere(monkeypatch):
    """The direct alias pointed at a port nothing listens on; "default" untouched."""
    direct = connections["direct"]
    direct.close()
    monkeypatch.setitem(direct.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(direct.settings_dict, "PORT", "9")
    yield
    direct.close()


@postgres_only
def test_pg_target_is_the_direct_connection(direct_elsewhere):
    """pg_dump/pg_restore/createdb get the direct alias's host and port, not the pooled one."""
    target = pg_target("restore_here")
    assert (target.host, target.port, target.name) == ("127.0.0.1", "9", "restore_here")


@postgres_only
def test_db_backup_connects_over_the_direct_connection(direct_elsewhere):
    """db_backup dumps over DATABASE_URL_UNPOOLED: pointed at a dead port, it fails there."""
    with pytest.raises(Exception, match=r"pg_dump failed.*port 9"):
        run("db_backup")


@postgres_only
@pytest.mark.django_db(databases=["default", "direct"])
def test_db_optimize_vacuums_over_the_direct_connection(direct_elsewhere):
    """db_optimize talks to the direct alias: pointed at a dead port, it cannot connect (and
    says so in one line, as every database command does)."""
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="database is unreachable"):
        run("db_optimize", "--table", "core_auditlog", "--no-progress")


@postgres_only
def test_db_restore_fetches_a_backup_by_name_from_the_backups_storage(settings):
    """db_restore <name> downloads a stored backup, checks its .sha256 and restores it."""
    run("db_backup")
    (name,) = [b.name for b in backups.backups_list()]
    target = f"{connection.settings_dict['NAME']}_fetched"
    env = pg_target().env()
    try:
        out = run("db_restore", name, "--database", target, "--create")
        assert f"Fetched {name} from the backups storage." in out
        result = subprocess.run(
            ["psql", "-tA", "-d", target, "-c", "SELECT count(*) > 0 FROM django_migrations"],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert result.stdout.strip() == "t"
    finally:
        subprocess.run(["dropdb", "--if-exists", target], env=env, check=False)
    assert not list(settings.BACKUP_DIR.glob(".restore-*"))


# --- Point-in-time recovery ----------------------------------------------------------------

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))


@pytest.mark.postgres
@pytest.mark.skipif(not (PG_BIN / "initdb").exists(), reason="needs PostgreSQL server binaries")
def test_pitr_rehearsal_brings_back_exactly_the_rows_before_the_noted_time():
    """scripts/pitr-rehearsal restores a throwaway cluster to a noted time: every row written
    before it, none written after."""
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("running as root needs runuser to start PostgreSQL unprivileged")
    result = subprocess.run(
        [str(BASE_DIR / "scripts" / "pitr-rehearsal")],
        env={**os.environ, "PITR_BEFORE_ROWS": "120", "PITR_AFTER_ROWS": "80"},
        capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.strip().splitlines()
    (summary,) = [x for x in lines if x.startswith("PITR_RESULT ")]
    (work_dir,) = re.findall(r"work dir (\S+)", result.stdout)
    fields = dict(part.split("=", 1) for part in summary.split()[1:6])
    assert fields == {
        "before": "120", "after": "80", "restored": "120", "missing": "0", "extra": "0"
    }  # fmt: skip
    assert not Path(work_dir).exists()
