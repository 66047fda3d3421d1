"""The operations manual's manage.py commands."""

import gzip
import io
import json
import os
import subprocess
import threading
import zipfile
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command, get_commands, load_command_class
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from accounts.tests.factories import UserFactory
from core import lockout, metrics, ratelimit
from core.models import AuditLog
from marketplace.models import Listing, ListingImage
from ops.models import AlertState, Incident
from ops.tests.factories import make_listing

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")

OPS_COMMANDS = [
    "db_optimize", "db_backup", "db_restore", "db_clean_old", "db_export", "storage_clean",
    "logs_rotate", "cache_clear", "cache_flush", "incident", "maintenance", "db_connections",
    "smoke_test", "ops_status", "payments_replay", "run_worker",
]  # fmt: skip


@pytest.fixture(autouse=True)
def _tmp_dirs(settings, tmp_path):
    settings.LOG_DIR = tmp_path / "logs"
    settings.BACKUP_DIR = tmp_path / "backups"


def run(*args, **kwargs) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO(), **kwargs)
    return out.getvalue()


@pytest.mark.parametrize("name", OPS_COMMANDS)
def test_every_ops_command_has_help(name):
    """Each command is installed and describes itself in --help."""
    assert get_commands()[name] == "ops"
    command = load_command_class("ops", name)
    assert len(command.help) > 20
    help_text = command.create_parser("manage.py", name).format_help()
    assert "usage:" in help_text


@pytest.mark.parametrize("name", ["db_clean_old", "storage_clean", "logs_rotate", "cache_clear"])
def test_deleting_commands_have_dry_run(name):
    """Every command that deletes something offers --dry-run."""
    help_text = load_command_class("ops", name).create_parser("manage.py", name).format_help()
    assert "--dry-run" in help_text


def test_db_optimize_runs_or_says_it_is_a_no_op():
    """db_optimize vacuums every table on PostgreSQL, and says it does nothing on SQLite."""
    if connection.vendor == "postgresql":
        pytest.skip("VACUUM cannot run inside the test transaction; see the transactional test")
    assert "nothing to do on SQLite" in run("db_optimize")


@postgres_only
@pytest.mark.django_db(transaction=True, databases=["default", "direct"])
def test_db_optimize_vacuums_tables_on_postgres():
    """db_optimize VACUUM ANALYZEs the named tables."""
    out = run("db_optimize", "--table", "core_auditlog", "--no-progress")
    assert "Vacuumed and analysed 1 tables" in out


@postgres_only
@pytest.mark.django_db(databases=["default", "direct"])
def test_db_optimize_rejects_unknown_table():
    """An unknown table name is an error, not SQL."""
    with pytest.raises(SystemExit):
        run("db_optimize", "--table", "nope; DROP TABLE x")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_backup_restore_round_trip_loses_nothing(tmp_path):
    """db_backup then db_restore into a fresh database gives back every row."""
    listing = make_listing(title="Round trip coat")
    AuditLog.objects.create(action="roundtrip.check")
    backup = tmp_path / "threadly.dump"
    out = run("db_backup", "--output", str(backup))
    assert "sha256" in out
    assert backup.with_name("threadly.dump.sha256").exists()
    target = f"{connection.settings_dict['NAME']}_restore"
    env = {**os.environ}
    try:
        run("db_restore", str(backup), "--database", target, "--create")
        settings_dict = connection.settings_dict
        env.update(
            PGHOST=str(settings_dict["HOST"] or "127.0.0.1"),
            PGPORT=str(settings_dict["PORT"] or 5432),
            PGUSER=str(settings_dict["USER"] or ""),
        )
        query = (
            "SELECT (SELECT count(*) FROM marketplace_listing WHERE title = 'Round trip coat'),"
            " (SELECT count(*) FROM accounts_user), (SELECT count(*) FROM core_auditlog)"
        )
        result = subprocess.run(
            ["psql", "-tA", "-d", target, "-c", query],
            env=env, capture_output=True, text=True, check=True,
        )  # fmt: skip
        from accounts.models import User

        expected = f"1|{User.objects.count()}|{AuditLog.objects.count()}"
        assert result.stdout.strip() == expected
        assert listing.pk
    finally:
        subprocess.run(["dropdb", "--if-exists", target], env=env, check=False)


def test_sqlite_backup_is_a_consistent_verified_copy(tmp_path):
    """The SQLite backup copies every row, and db_restore checks the checksum on the way back."""
    import sqlite3

    from ops.dbtools import sqlite_backup, write_checksum

    source = tmp_path / "live.sqlite3"
    with sqlite3.connect(source) as db:
        db.execute("CREATE TABLE t (x)")
        db.executemany("INSERT INTO t VALUES (?)", [(i,) for i in range(100)])
    db.close()
    backup = tmp_path / "copy.sqlite3"
    sqlite_backup(source, backup)
    write_checksum(backup)
    if connection.vendor == "sqlite":
        run("db_restore", str(backup), "--database", str(tmp_path / "restored.sqlite3"))
        restored = sqlite3.connect(tmp_path / "restored.sqlite3")
    else:
        restored = sqlite3.connect(backup)
    assert restored.execute("SELECT count(*), sum(x) FROM t").fetchone() == (100, 4950)
    restored.close()


def test_db_backup_refuses_in_memory_sqlite():
    """An in-memory SQLite database (tests) can't be backed up; the command says so."""
    if connection.vendor != "sqlite":
        pytest.skip("SQLite only")
    with pytest.raises(CommandError, match="not a file"):
        run("db_backup")


def test_restore_refuses_the_live_database_and_damaged_backups(tmp_path):
    """db_restore won't overwrite the live database without --force, nor restore bad files."""
    backup = tmp_path / "x.dump"
    backup.write_bytes(b"not really a dump")
    with pytest.raises(CommandError, match="live database"):
        run("db_restore", str(backup), "--database", connection.settings_dict["NAME"])
    backup.with_name("x.dump.sha256").write_text("0" * 64 + "  x.dump\n")
    with pytest.raises(CommandError, match="Checksum mismatch"):
        run("db_restore", str(backup), "--database", "elsewhere")


def test_db_clean_old_purges_old_soft_deleted_listings_and_files(
    django_capture_on_commit_callbacks,
):
    """Soft-deleted listings older than N days go, with their images (after commit); newer
    ones stay."""
    old = make_listing(deleted_at=timezone.now() - timedelta(days=40))
    recent = make_listing(deleted_at=timezone.now() - timedelta(days=5))
    live = make_listing()
    name = default_storage.save("listings/old.webp", ContentFile(b"img"))
    thumb = default_storage.save("listings/old-320.webp", ContentFile(b"img"))
    ListingImage.objects.create(
        listing=old,
        image=name,
        width=1,
        height=1,
        variants=[{"width": 1, "height": 1, "name": thumb}],
    )
    dry = run("db_clean_old", "--days", "30", "--dry-run")
    assert "would purge 1 listings" in dry
    assert Listing.objects.filter(pk=old.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        run("db_clean_old", "--days", "30", "--no-progress")
    assert not Listing.objects.filter(pk=old.pk).exists()
    assert Listing.objects.filter(pk__in=[recent.pk, live.pk]).count() == 2
    assert not default_storage.exists(name)
    assert not default_storage.exists(thumb)
    assert AuditLog.objects.filter(action="listing.purged", target_id=str(old.pk)).exists()


def test_db_export_emergency_archive_has_users_and_listings(tmp_path):
    """db_export --emergency writes users and listings as JSON and CSV, without passwords."""
    listing = make_listing(title="Export me")
    with pytest.raises(CommandError, match="--emergency"):
        run("db_export")
    archive_path = tmp_path / "export.zip"
    run("db_export", "--emergency", "--output", str(archive_path), "--no-progress")
    with zipfile.ZipFile(archive_path) as archive:
        names = set(archive.namelist())
        users = json.loads(archive.read("accounts_user.json"))
        listings_csv = archive.read("marketplace_listing.csv").decode()
    assert {"accounts_user.json", "accounts_user.csv", "marketplace_listing.json"} <= names
    assert any(u["email"] == listing.seller.email for u in users)
    assert all("password" not in u for u in users)
    assert "Export me" in listings_csv
    assert AuditLog.objects.filter(action="data.exported").exists()


def test_storage_clean_deletes_only_orphans():
    """Files no row references are deleted; referenced ones stay (dry run deletes nothing)."""
    listing = make_listing()
    kept = default_storage.save("listings/kept.webp", ContentFile(b"a"))
    ListingImage.objects.create(listing=listing, image=kept, width=1, height=1)
    orphan = default_storage.save("listings/orphan.webp", ContentFile(b"b"))
    other = default_storage.save("backups/not-an-upload.txt", ContentFile(b"c"))
    assert "would delete listings/orphan.webp" in run("storage_clean", "--dry-run")
    assert default_storage.exists(orphan)
    run("storage_clean", "--no-progress")
    assert not default_storage.exists(orphan)
    assert default_storage.exists(kept)
    assert default_storage.exists(other)


def test_logs_rotate_archives_and_truncates(settings):
    """Log files are gzipped into archive/ and emptied."""
    settings.LOG_DIR.mkdir(parents=True)
    log = settings.LOG_DIR / "app.log"
    log.write_text("line one\nline two\n")
    assert "would archive app.log" in run("logs_rotate", "--dry-run")
    assert log.read_text()
    run("logs_rotate")
    (archived,) = (settings.LOG_DIR / "archive").glob("app-*.log.gz")
    assert gzip.decompress(archived.read_bytes()) == b"line one\nline two\n"
    assert log.read_text() == ""


def test_cache_clear_keeps_rate_limits_and_lockouts():
    """cache_clear drops app caches but not rate-limit, lock-out or metrics state."""
    cache.set("marketplace:nav", ["tops"])
    ratelimit.hit(scope="auth", ident="1.2.3.4", rate=ratelimit.Rate(10, 60))
    for _ in range(5):
        lockout.record_failure(identifier="locked@example.test", ip="")
    metrics.record(duration_ms=10, status_code=200)
    assert "Would clear 1 cache entries" in run("cache_clear", "--dry-run")
    run("cache_clear")
    assert cache.get("marketplace:nav") is None
    assert lockout.seconds_locked(identifier="locked@example.test") > 0
    assert metrics.snapshot(minutes=1).requests == 1


def test_cache_flush_needs_all_and_empties_everything():
    """cache_flush refuses without --all, and with it empties the cache."""
    cache.set("anything", 1)
    with pytest.raises(CommandError, match="--all"):
        run("cache_flush")
    run("cache_flush", "--all")
    assert cache.get("anything") is None


def test_incident_appends_timestamped_line_shown_on_status(client, settings):
    """`incident "P0 acknowledged"` logs a line (DB and file); --resolved closes it."""
    out = run("incident", "P0 acknowledged")
    assert "P0 acknowledged" in out
    incident = Incident.objects.get()
    assert incident.severity == "P0"
    assert incident.status == "open"
    assert "P0 acknowledged" in (settings.LOG_DIR / "incidents.log").read_text()
    assert "P0 acknowledged" in client.get("/status").content.decode()
    run("incident", "Fixed by rollback", "--resolved")
    assert not Incident.objects.filter(status="open").exists()
    with pytest.raises(CommandError):
        run("incident", "   ")


def test_db_connections_counts_by_state():
    """db_connections prints a count per state (PostgreSQL) or says SQLite has none."""
    out = run("db_connections")
    if connection.vendor == "postgresql":
        assert "total" in out
        dry = run("db_connections", "--terminate-idle", "10m", "--dry-run")
        assert "would be terminated" in dry
        with pytest.raises(CommandError, match="duration"):
            run("db_connections", "--terminate-idle", "soon")
    else:
        assert "SQLite" in out


def test_smoke_test_passes_against_live_server(live_server):
    """smoke_test --url checks health and key pages of a running site."""
    try:
        out = run("smoke_test", "--url", live_server.url)
    except SystemExit as exc:  # pragma: no cover - show what failed
        pytest.fail(f"smoke test failed with {exc.code}")
    assert "All" in out


def test_smoke_test_fails_on_unreachable_site():
    """A site that doesn't answer makes smoke_test exit non-zero."""
    with pytest.raises(SystemExit) as excinfo:
        run("smoke_test", "--url", "http://127.0.0.1:9", "--timeout", "2")
    assert excinfo.value.code == 1


class _AlertReceiver(BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def alert_server():
    _AlertReceiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _AlertReceiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_ops_status_ok_table_and_zero_exit():
    """With no traffic everything is OK and the command exits normally."""
    out = run("ops_status", "--no-notify")
    for name in ("p95_response_ms", "error_rate_pct", "db_connections_pct", "disk_used_pct"):
        assert name in out
    assert "CRIT" not in out


def test_ops_status_crit_exits_nonzero_and_alerts_once(settings, alert_server, mailoutbox):
    """A 10% error rate is CRIT: exit 2, one webhook + email per metric per window."""
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{alert_server.server_port}/hook"
    settings.ALERT_EMAILS = ["oncall@threadly.example"]
    for _ in range(45):  # above ALERT_ERROR_RATE_MIN_REQUESTS (50)
        metrics.record(duration_ms=20, status_code=200)
    for _ in range(5):
        metrics.record(duration_ms=20, status_code=500)
    with pytest.raises(SystemExit) as excinfo:
        run("ops_status")
    assert excinfo.value.code == 2
    assert [a["metric"] for a in _AlertReceiver.received] == ["error_rate_pct"]
    assert _AlertReceiver.received[0]["level"] == "CRIT"
    assert len(mailoutbox) == 1
    assert "error_rate_pct" in mailoutbox[0].subject
    with pytest.raises(SystemExit):
        run("ops_status")
    assert len(_AlertReceiver.received) == 1  # not again within the window
    assert AlertState.objects.get(metric="error_rate_pct").level == "CRIT"


def test_ops_status_alerts_again_after_window(settings, alert_server):
    """Once the window has passed, the same metric alerts again."""
    settings.ALERT_WEBHOOK_URL = f"http://127.0.0.1:{alert_server.server_port}/hook"
    settings.ALERT_ERROR_RATE_MIN_REQUESTS = 1
    metrics.record(duration_ms=20, status_code=500)
    with pytest.raises(SystemExit):
        run("ops_status")
    AlertState.objects.update(sent_at=timezone.now() - timedelta(hours=2))
    with pytest.raises(SystemExit):
        run("ops_status")
    assert len(_AlertReceiver.received) == 2


def test_lockout_user_factory_unused_guard():
    """Factories import cleanly (guards the ops test helpers)."""
    assert UserFactory()._meta.model_name == "user"
