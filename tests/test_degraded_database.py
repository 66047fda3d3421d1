"""With the database unreachable: a friendly 503 (never a 500 or a traceback), /status showing
the database down, and the worker and commands stopping with one clear line."""

import logging
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError, connection
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from accounts.tests.factories import UserFactory
from core import outage
from ops import alerts, jobs, scheduler, status

pytestmark = pytest.mark.django_db
BASE_DIR = Path(__file__).resolve().parent.parent
PAGES = ["/", "/browse/", "/accounts/login/", "/cart/", "/sitemap.xml"]


@pytest.fixture
def database_down(monkeypatch):
    """Every new query fails as it does when PostgreSQL refuses connections."""

    def refused(self, *args, **kwargs):
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: refused')

    monkeypatch.setattr(BaseDatabaseWrapper, "_cursor", refused)
    monkeypatch.setattr(outage, "_logged_at", None)


@pytest.fixture
def web() -> Client:
    """A client that gets what a browser would get, not the exception."""
    return Client(raise_request_exception=False)


def test_pages_answer_friendly_503_with_retry_after_when_database_down(web, database_down):
    """Home, browse, login, cart and sitemap: 503 page in the site's look, Retry-After, no
    traceback."""
    for path in PAGES:
        response = web.get(path)
        assert response.status_code == 503, path
        assert int(response["Retry-After"]) > 0
        body = response.content.decode()
        assert "Threadly is having a hiccup" in body
        assert "css/threadly" in body
        assert "Traceback" not in body
        assert "OperationalError" not in body


def test_json_clients_get_503_json_naming_the_database_when_down(web, database_down):
    """A request that asks for JSON gets JSON naming the database, with Retry-After."""
    response = web.get("/browse/", HTTP_ACCEPT="application/json")
    assert response.status_code == 503
    assert response.json()["failed"] == ["database"]
    assert int(response["Retry-After"]) > 0
    assert web.get("/api/health/db").json()["failed"] == ["database"]


def test_database_error_raised_in_a_middleware_gets_the_503_page(web, monkeypatch):
    """A signed-in member's POST loads the member in the rate-limit middleware: still a 503."""
    web.force_login(UserFactory())

    def refused(self, *args, **kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(BaseDatabaseWrapper, "_cursor", refused)
    response = web.post("/cart/add/1/")
    assert response.status_code == 503
    assert int(response["Retry-After"]) > 0
    assert "Threadly is having a hiccup" in response.content.decode()


def test_status_page_shows_database_down_instead_of_500(web, database_down):
    """/status serves, shows the database down and says the incident log is unavailable."""
    response = web.get("/status")
    assert response.status_code == 200
    body = response.content.decode()
    database_row = body.split("Database</span>", 1)[1].split("</li>", 1)[0]
    assert "Down" in database_row
    assert "Some services are having problems" in body
    assert "incident log is kept in the database" in body


def test_health_names_the_database_with_503_when_down(web, database_down):
    """/health answers 503 with "database" among the failed services."""
    response = web.get("/health")
    assert response.status_code == 503
    assert "database" in response.json()["failed"]


def test_database_outage_logged_once_per_interval_not_per_request(web, database_down, caplog):
    """Ten failing page views log one line, with no traceback."""
    with caplog.at_level(logging.INFO):
        for _ in range(10):
            assert web.get("/browse/").status_code == 503
    lines = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in lines] == ["core.outage"]
    assert lines[0].exc_info is None


def test_worker_stops_with_one_clear_line_when_database_down(database_down):
    """run_worker raises CommandError naming the database, not a logged traceback per job."""
    with pytest.raises(CommandError, match=r"^The database is unreachable \(OperationalError"):
        call_command("run_worker", "--once")


def test_worker_stops_when_a_job_loses_the_database(monkeypatch):
    """A job failing on the database stops the tick (other errors are logged and skipped)."""

    def job(name, *args, **kwargs):
        raise OperationalError("terminating connection due to administrator command")

    monkeypatch.setattr(jobs, "call_command", job)
    with pytest.raises(OperationalError):
        scheduler.run_tick(0)


def test_commands_exit_1_with_one_line_when_database_unreachable(tmp_path):
    """`manage.py run_worker --once` and `db_connections` with PostgreSQL refusing: exit
    status 1 and one CommandError line, no traceback. (`incident` and `maintenance` work
    without the database: ops/tests/test_incidents_outage.py, test_maintenance.py.)"""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        port = sock.getsockname()[1]
        env = {
            **os.environ,
            "DEBUG": "1",
            "DATABASE_URL": f"postgres://threadly@127.0.0.1:{port}/threadly",
            "REDIS_URL": "",
        }
        for command in (["run_worker", "--once"], ["db_connections"]):
            result = subprocess.run(
                [sys.executable, "manage.py", *command],
                cwd=BASE_DIR,
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert result.returncode == 1, result.stderr
            lines = result.stderr.strip().splitlines()
            assert len(lines) == 1, result.stderr
            assert lines[0].startswith("CommandError: The database is unreachable")
            assert "DATABASE_URL" in lines[0]


def test_ops_status_still_alerts_when_the_database_is_down(database_down, settings, mailoutbox):
    """The alert state can't be read: the CRIT alert is sent anyway rather than not at all."""
    settings.ALERT_EMAILS = ["ops@example.com"]
    metric = status.Metric("database", None, "down", status.CRIT)
    assert alerts.notify([metric]) == [metric]
    assert "database" in mailoutbox[0].subject


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL site's report")
def test_ops_status_says_the_database_is_unreachable_not_sqlite(database_down, settings):
    """On a PostgreSQL site with the database down, ops_status names the outage (CRIT) in
    the database and connection rows instead of "n/a (SQLite)"."""
    from ops.status import CRIT, collect

    rows = {metric.name: metric for metric in collect()}
    assert rows["database"].level == CRIT
    assert rows["db_connections_pct"].level == CRIT
    assert "unreachable" in rows["db_connections_pct"].display
    assert "SQLite" not in rows["db_connections_pct"].display
