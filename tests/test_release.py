"""The release rehearsal: two builds of the project, deployed one after the other under
gunicorn, then `scripts/release rollback` brings back the first one's code and undoes the
second one's migration, in one command."""

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE_MIGRATION = """from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("ops", "{parent}")]
    operations = [
        migrations.RunSQL(
            "CREATE TABLE release_probe (id integer)", "DROP TABLE release_probe"
        ),
    ]
"""

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _sh(*command: str, cwd: Path, env: dict | None = None) -> str:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _served_robots(current: Path, env: dict) -> str:
    """Start gunicorn on the current release, fetch robots.txt, stop it."""
    port = _free_port()
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            "gunicorn.conf.py",
            "threadly.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--no-control-socket",
        ],
        cwd=current,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/robots.txt", timeout=5) as r:
                    return r.read().decode()
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.3)
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_release_build_deploy_and_one_command_rollback(tmp_path):
    """v2 adds a migration and changes a page; after `rollback` the page is v1's again, the
    migration is undone, and the history lists deploy v1, deploy v2, rollback v1."""
    repo = tmp_path / "repo"
    _sh("git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(repo), cwd=tmp_path)
    _sh("git", "tag", "v1", cwd=repo)
    script = ROOT / "scripts" / "release"
    database = tmp_path / "release.sqlite3"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "REDIS_"))},
        "RELEASE_REPO": str(repo),
        "RELEASES_DIR": str(tmp_path / "releases"),
        "RELEASE_PYTHON": sys.executable,
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "0",
        "SECRET_KEY": "release-rehearsal-" + "k" * 40,
        "ALLOWED_HOSTS": "127.0.0.1",
        "ALLOW_TEST_PAYMENTS": "1",
        "ENCRYPTION_KEY": "G6mS0eDbiyqmqOzGmPN3VmDtYgP1f5cFzj1Ks7kU9E0=",
        "ALERT_EMAILS": "ops@example.test",
        "SECURE_SSL_REDIRECT": "0",
    }
    release = [sys.executable, str(script)]
    _sh(*release, "build", "--ref", "v1", cwd=repo, env=env)

    ops_migrations = sorted(p.name for p in (repo / "ops" / "migrations").glob("0*.py"))
    parent = ops_migrations[-1].removesuffix(".py")
    (repo / "ops" / "migrations" / "0099_release_probe.py").write_text(
        PROBE_MIGRATION.format(parent=parent)
    )
    robots = repo / "templates" / "robots.txt"
    robots.write_text(robots.read_text() + "# release v2\n")
    _sh("git", "add", "-A", cwd=repo)
    _sh("git", "-c", "user.email=r@t", "-c", "user.name=r", "commit", "-qm", "v2", cwd=repo)
    _sh("git", "tag", "v2", cwd=repo)
    _sh(*release, "build", "--ref", "v2", cwd=repo, env=env)

    current = tmp_path / "releases" / "current"
    _sh(*release, "deploy", "v1", cwd=repo, env=env)
    assert "release v2" not in _served_robots(current, env)
    _sh(*release, "deploy", "v2", cwd=repo, env=env)
    assert "# release v2" in _served_robots(current, env)
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT count(*) FROM release_probe").fetchone() == (0,)

    out = _sh(*release, "rollback", cwd=repo, env=env)
    assert "Rolled back from v2 to v1" in out
    assert os.readlink(current) == "v1"
    assert "release v2" not in _served_robots(current, env)
    with sqlite3.connect(database) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
        applied = {row[0] for row in db.execute("SELECT name FROM django_migrations")}
    assert "release_probe" not in tables
    assert "0099_release_probe" not in applied
    history = [
        json.loads(line)
        for line in (tmp_path / "releases" / "history.jsonl").read_text().splitlines()
    ]
    assert [(h["action"], h["version"]) for h in history] == [
        ("deploy", "v1"),
        ("deploy", "v2"),
        ("rollback", "v1"),
    ]
    refused = subprocess.run([*release, "rollback"], cwd=repo, env=env, capture_output=True)
    assert refused.returncode == 1
    assert b"nothing to roll back to" in refused.stderr
