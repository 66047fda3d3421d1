"""The P0 runbook's `incident` works with the database down: the line is in the log file at
once and reaches the incident log (and /status) once the database is back, exactly once."""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command

from ops.incidents import incidents_sync_pending
from ops.models import Incident

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


def _incident_with_database_down(log_dir: Path, *args: str) -> subprocess.CompletedProcess:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": f"postgres://threadly@127.0.0.1:{port}/threadly",
            "REDIS_URL": "",
            "LOG_DIR": str(log_dir),
        }
        return subprocess.run(
            [sys.executable, "manage.py", "incident", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )


def test_incident_with_the_database_down_is_logged_then_added_once(tmp_path, settings):
    """Exit 0 with the database refusing; the line is in incidents.log; when the database is
    back the sync adds it once (running it again adds nothing)."""
    result = _incident_with_database_down(tmp_path, "P0 database down, investigating")
    assert result.returncode == 0, result.stderr
    assert "P0 database down, investigating" in result.stdout
    assert "database is unreachable" in result.stderr
    assert "P0 database down, investigating" in (tmp_path / "incidents.log").read_text()
    pending = [json.loads(line) for line in (tmp_path / "incidents.pending.jsonl").open()]
    assert [entry["message"] for entry in pending] == ["P0 database down, investigating"]

    settings.LOG_DIR = tmp_path
    assert incidents_sync_pending() == 1
    assert incidents_sync_pending() == 0
    incident = Incident.objects.get()
    assert incident.message == "P0 database down, investigating"
    assert incident.severity == "P0"
    assert incident.ref == pending[0]["ref"]
    assert not (tmp_path / "incidents.pending.jsonl").exists()


def test_lines_kept_during_the_outage_arrive_before_the_next_line(tmp_path, settings):
    """The next `incident` once the database is back first adds the kept lines, in order,
    and a kept RESOLVED line closes what was open before it."""
    settings.LOG_DIR = tmp_path
    assert _incident_with_database_down(tmp_path, "P1 checkout failing").returncode == 0
    assert _incident_with_database_down(tmp_path, "Fixed", "--resolved").returncode == 0
    call_command("incident", "P2 emails slow")
    lines = list(Incident.objects.order_by("created_at").values_list("message", "status"))
    assert lines == [
        ("P1 checkout failing", "resolved"),
        ("Fixed", "resolved"),
        ("P2 emails slow", "open"),
    ]
