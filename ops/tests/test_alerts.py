"""Alerts and metrics as the operations manual defines them: windows, thresholds, routing
(email, the generic webhook, PagerDuty Events API v2), suspicious activity and incidents."""

import contextlib
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from core import metrics, security_events
from core.checks import shared_cache_check
from core.models import SuspiciousActivity
from ops import alerts, status
from ops.models import AlertState
from orders import crypto
from orders.checks import encryption_key_check

pytestmark = pytest.mark.django_db
MiB = 2**20


class _Receiver(BaseHTTPRequestHandler):
    """Answers like PagerDuty's Events API (202) and like a chat webhook; records each body."""

    received: list[tuple[str, dict]] = []

    def do_POST(self):  # noqa: N802
        length = int(self.headers["Content-Length"])
        type(self).received.append((self.path, json.loads(self.rfile.read(length))))
        self.send_response(202)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": "success", "message": "Event processed"}')

    def log_message(self, *args):
        pass


@pytest.fixture
def receiver(settings):
    """A local server on 127.0.0.1 standing in for PagerDuty (/v2/enqueue) and the webhook."""
    _Receiver.received = []
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    settings.PAGERDUTY_ROUTING_KEY = "R0UT1NGKEY"
    settings.PAGERDUTY_EVENTS_URL = f"{base}/v2/enqueue"
    settings.ALERT_WEBHOOK_URL = f"{base}/hook"
    settings.ALERT_EMAILS = ["oncall@threadly.example"]
    yield _Receiver.received
    server.shutdown()
    server.server_close()


def _sent_to(received: list[tuple[str, dict]], path: str) -> list[dict]:
    return [body for where, body in received if where == path]


def _by_name(rows: list[status.Metric]) -> dict[str, status.Metric]:
    return {m.name: m for m in rows}


def _record(*, ok: int, errors: int, duration_ms: float = 20, now: float | None = None) -> None:
    for _ in range(ok):
        metrics.record(duration_ms=duration_ms, status_code=200, now=now)
    for _ in range(errors):
        metrics.record(duration_ms=duration_ms, status_code=500, now=now)


def run_ops_status(*args: str) -> str:
    out = io.StringIO()
    with contextlib.suppress(SystemExit):
        call_command("ops_status", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


# --- windows and thresholds -------------------------------------------------------------------
def test_error_rate_is_a_five_minute_average():
    """Errors from ten minutes ago no longer count: the error rate covers the last 5 minutes."""
    _record(ok=60, errors=40, now=time.time() - 10 * 60)
    _record(ok=100, errors=0)
    error_rate = _by_name(status.collect())["error_rate_pct"]
    assert error_rate.level == status.OK
    assert error_rate.value == 0
    assert "of 100" in error_rate.display


def test_one_failed_request_in_little_traffic_does_not_alert(receiver, mailoutbox):
    """Below ALERT_ERROR_RATE_MIN_REQUESTS a failed request is shown but never alerts."""
    _record(ok=3, errors=1)
    out = run_ops_status()
    error_rate = _by_name(status.collect())["error_rate_pct"]
    assert error_rate.level == status.OK
    assert "< 50 req." in error_rate.display
    assert "alert sent: error_rate_pct" not in out
    assert _sent_to(receiver, "/v2/enqueue") == []
    assert mailoutbox == []


def test_error_rate_over_the_minimum_volume_is_crit(settings):
    """At the minimum volume the manual's thresholds apply: 5 % of 50 requests is CRIT."""
    settings.ALERT_ERROR_RATE_MIN_REQUESTS = 50
    _record(ok=47, errors=3)
    assert _by_name(status.collect())["error_rate_pct"].level == status.CRIT


def _fake_cgroup_v2(root: Path, *, limit: str, current: int, inactive_file: int = 0) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "memory.max").write_text(f"{limit}\n")
    (root / "memory.current").write_text(f"{current}\n")
    (root / "memory.stat").write_text(f"anon 1\ninactive_file {inactive_file}\nactive_file 2\n")
    return root


def test_memory_is_the_containers_cgroup_v2_at_80_and_95_percent(tmp_path):
    """cgroup v2: usage minus reclaimable file cache against memory.max; 82 % is WARN."""
    root = _fake_cgroup_v2(
        tmp_path / "v2", limit=str(512 * MiB), current=int(450 * MiB), inactive_file=int(30 * MiB)
    )
    memory = status.memory_metric(cgroup_root=root)
    assert memory.value == pytest.approx(100 * 420 / 512)
    assert memory.level == status.WARN
    assert "of 512 MiB (container)" in memory.display
    assert (memory.warn, memory.crit) == (80, 95)
    _fake_cgroup_v2(root, limit=str(512 * MiB), current=int(500 * MiB))
    assert status.memory_metric(cgroup_root=root).level == status.CRIT


def test_memory_reads_cgroup_v1_too(tmp_path):
    """cgroup v1: memory/memory.usage_in_bytes against memory/memory.limit_in_bytes."""
    v1 = tmp_path / "memory"
    v1.mkdir()
    (v1 / "memory.limit_in_bytes").write_text(str(1024 * MiB))
    (v1 / "memory.usage_in_bytes").write_text(str(512 * MiB))
    (v1 / "memory.stat").write_text("cache 1\ntotal_inactive_file 0\n")
    memory = status.memory_metric(cgroup_root=tmp_path)
    assert memory.value == pytest.approx(50)
    assert memory.level == status.OK
    assert "(container)" in memory.display


def test_memory_without_a_container_limit_falls_back_to_the_host(tmp_path):
    """An unlimited cgroup ("max", or v1's huge number) means host memory is what counts."""
    root = _fake_cgroup_v2(tmp_path / "v2", limit="max", current=int(450 * MiB))
    assert status.memory_metric(cgroup_root=root).display.endswith("(host)")
    v1 = tmp_path / "v1" / "memory"
    v1.mkdir(parents=True)
    (v1 / "memory.limit_in_bytes").write_text("9223372036854771712")
    (v1 / "memory.usage_in_bytes").write_text(str(512 * MiB))
    assert status.memory_metric(cgroup_root=tmp_path / "v1").display.endswith("(host)")
    assert status.memory_metric(cgroup_root=tmp_path / "missing").display.endswith("(host)")


def test_ops_status_uses_the_container_memory(tmp_path, monkeypatch):
    """ops_status itself reads the cgroup (CGROUP_ROOT), not /proc/meminfo."""
    root = _fake_cgroup_v2(tmp_path / "v2", limit=str(100 * MiB), current=int(97 * MiB))
    monkeypatch.setattr(status, "CGROUP_ROOT", root)
    memory = _by_name(status.collect())["memory_used_pct"]
    assert memory.level == status.CRIT
    assert "(container)" in memory.display


def test_disk_of_uploads_and_of_the_database_are_both_measured():
    """ops_status reports the uploads volume and the database's disk as two metrics."""
    out = run_ops_status("--no-notify")
    rows = _by_name(status.collect())
    assert "disk_used_pct" in out
    assert "db_disk_used_pct" in out
    assert "(uploads)" in rows["disk_used_pct"].display
    assert (rows["db_disk_used_pct"].warn, rows["db_disk_used_pct"].crit) == (80, 90)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL")
def test_database_size_against_its_storage_limit_alerts(settings):
    """PostgreSQL: pg_database_size over DATABASE_STORAGE_LIMIT_MB is the database's disk."""
    settings.DATABASE_STORAGE_LIMIT_MB = 0
    assert _by_name(status.collect())["db_disk_used_pct"].level == status.OK
    settings.DATABASE_STORAGE_LIMIT_MB = 1  # any real database is bigger than 1 MB
    db_disk = _by_name(status.collect())["db_disk_used_pct"]
    assert db_disk.level == status.CRIT
    assert "/1 MB" in db_disk.display


# --- routing: email, webhook, PagerDuty ---------------------------------------------------------
def test_crit_error_rate_goes_to_email_webhook_and_pagerduty(receiver, mailoutbox):
    """The manual's routing: a CRIT error rate emails, posts the webhook and triggers PagerDuty."""
    _record(ok=45, errors=5)
    out = run_ops_status()
    assert "alert sent: error_rate_pct CRIT" in out
    assert len(mailoutbox) == 1
    assert "error_rate_pct" in mailoutbox[0].subject
    assert [p["metric"] for p in _sent_to(receiver, "/hook")] == ["error_rate_pct"]
    (event,) = _sent_to(receiver, "/v2/enqueue")
    assert event["routing_key"] == "R0UT1NGKEY"
    assert event["event_action"] == "trigger"
    assert event["dedup_key"].endswith(":error_rate_pct")
    assert event["payload"]["severity"] == "critical"
    assert event["payload"]["source"]
    assert "error_rate_pct" in event["payload"]["summary"]


def test_slow_p95_goes_to_email_not_pagerduty(receiver, mailoutbox):
    """p95 over 2 s is CRIT and goes to email (and the team's webhook), never to PagerDuty."""
    _record(ok=60, errors=0, duration_ms=4000)
    run_ops_status()
    assert [m.subject for m in mailoutbox if "p95_response_ms" in m.subject]
    assert _sent_to(receiver, "/v2/enqueue") == []


def test_pagerduty_page_resolves_when_the_error_rate_recovers(receiver):
    """After a CRIT page, an OK error rate sends a "resolve" with the same dedup_key."""
    AlertState.objects.create(
        metric="error_rate_pct", level=status.CRIT, sent_at="2026-01-01T00:00:00Z"
    )
    _record(ok=60, errors=0)
    run_ops_status()
    (event,) = _sent_to(receiver, "/v2/enqueue")
    assert event["event_action"] == "resolve"
    assert event["dedup_key"].endswith(":error_rate_pct")
    assert event["routing_key"] == "R0UT1NGKEY"
    assert AlertState.objects.get(metric="error_rate_pct").level == status.OK
    run_ops_status()
    assert len(_sent_to(receiver, "/v2/enqueue")) == 1  # resolved once


def test_pagerduty_down_does_not_stop_email(settings, receiver, mailoutbox):
    """A PagerDuty outage is logged; the email for the same alert still goes out."""
    settings.PAGERDUTY_EVENTS_URL = "http://127.0.0.1:9/v2/enqueue"  # nothing listens
    _record(ok=45, errors=5)
    run_ops_status()
    assert len(mailoutbox) == 1
    assert alerts.pagerduty_event(action="trigger", dedup_key="k", summary="s") is False


def test_pagerduty_is_only_used_with_a_routing_key(settings, receiver):
    """Without PAGERDUTY_ROUTING_KEY nothing is sent to PagerDuty."""
    settings.PAGERDUTY_ROUTING_KEY = ""
    _record(ok=45, errors=5)
    run_ops_status()
    assert _sent_to(receiver, "/v2/enqueue") == []
    assert _sent_to(receiver, "/hook")


# --- suspicious activity ------------------------------------------------------------------------
def test_a_lockout_row_raises_an_alert(receiver, mailoutbox):
    """A SuspiciousActivity row (a lock-out) is alerted by email and webhook, not only logged."""
    SuspiciousActivity.objects.create(
        kind=SuspiciousActivity.Kind.LOGIN_LOCKOUT_IP, ip_address="203.0.113.9", failures=20
    )
    out = run_ops_status()
    assert "alert sent: suspicious_activity WARN" in out
    assert any("suspicious_activity" in m.subject for m in mailoutbox)
    assert "suspicious_activity" in [p["metric"] for p in _sent_to(receiver, "/hook")]


def test_webhook_signature_failures_in_bulk_raise_an_alert(client, receiver, mailoutbox):
    """Ten refused webhook signatures in the window alert; a single one does not."""
    client.post("/api/webhooks/payments", b"{}", content_type="application/json")
    assert security_events.webhook_signature_failures(minutes=15) == 1
    assert "alert sent: webhook_signature_failures" not in run_ops_status()
    for _ in range(9):
        response = client.post("/api/webhooks/payments", b"{}", content_type="application/json")
        assert response.status_code == 400
    assert security_events.webhook_signature_failures(minutes=15) == 10
    out = run_ops_status()
    assert "alert sent: webhook_signature_failures WARN" in out
    assert "webhook_signature_failures" in [p["metric"] for p in _sent_to(receiver, "/hook")]


def test_auth_webhook_signature_failures_are_counted(client, settings):
    """The identity provider's webhook counts its refused signatures too."""
    settings.CLERK_WEBHOOK_SECRET = "whsec_dGVzdHNlY3JldHRlc3RzZWNyZXQ="
    response = client.post(
        "/api/webhooks/auth",
        b'{"type": "user.created"}',
        content_type="application/json",
        headers={
            "svix-id": "msg_1",
            "svix-timestamp": str(int(time.time())),
            "svix-signature": "v1,AAAA",
        },
    )
    assert response.status_code == 400
    assert security_events.webhook_signature_failures(minutes=15) == 1


# --- incidents ----------------------------------------------------------------------------------
def test_incident_is_pushed_to_the_alert_webhook(receiver, django_capture_on_commit_callbacks):
    """`manage.py incident` posts the line to ALERT_WEBHOOK_URL once it is committed."""
    with django_capture_on_commit_callbacks(execute=True):
        call_command("incident", "P0 checkout down, investigating", stdout=io.StringIO())
    (payload,) = _sent_to(receiver, "/hook")
    assert payload["text"] == "[Threadly incident] P0 checkout down, investigating"
    assert payload["severity"] == "P0"
    assert payload["status"] == "open"
    with django_capture_on_commit_callbacks(execute=True):
        call_command("incident", "Fixed by rollback", "--resolved", stdout=io.StringIO())
    assert _sent_to(receiver, "/hook")[-1]["status"] == "resolved"


# --- start-up checks ----------------------------------------------------------------------------
def test_production_without_redis_url_warns(settings):
    """DEBUG off and no REDIS_URL: a system check warns that metrics and limits are per process."""
    settings.DEBUG, settings.RUNNING_TESTS, settings.REDIS_URL = False, False, ""
    (warning,) = shared_cache_check(None)
    assert warning.id == "core.W010"
    assert "REDIS_URL" in warning.msg
    settings.REDIS_URL = "redis://redis:6379/0"
    assert shared_cache_check(None) == []
    settings.DEBUG, settings.REDIS_URL = True, ""
    assert shared_cache_check(None) == []


def test_hex_encryption_key_fails_at_start_up_with_how_to_generate_one(settings):
    """A 64-hex "32-byte key" is refused by the system check, with the command to make one."""
    settings.ENCRYPTION_KEY = "ab" * 32
    (error,) = encryption_key_check(None)
    assert error.id == "orders.E003"
    assert "ENCRYPTION_KEY" in error.msg
    assert "hex" in error.msg
    assert "Fernet.generate_key()" in error.hint
    with pytest.raises(ImproperlyConfigured, match="Fernet.generate_key"):
        crypto.encrypt("1 Main Street")


def test_valid_fernet_keys_pass_and_a_bad_old_key_is_named(settings):
    """A real Fernet key passes; a malformed ENCRYPTION_KEYS_OLD entry is named."""
    settings.ENCRYPTION_KEY = Fernet.generate_key().decode()
    settings.ENCRYPTION_KEYS_OLD = []
    assert encryption_key_check(None) == []
    assert crypto.decrypt(crypto.encrypt("1 Main Street")) == "1 Main Street"
    settings.ENCRYPTION_KEYS_OLD = ["not-a-key"]
    (error,) = encryption_key_check(None)
    assert "ENCRYPTION_KEYS_OLD[0]" in error.msg
