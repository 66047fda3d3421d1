"""What production serves: gunicorn (DEBUG off) started with Redis down, then PostgreSQL down,
answers friendly pages and honest health checks, never a 500 or a traceback."""

import http.client
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings as django_settings
from django.db import connection

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db,
    pytest.mark.usefixtures("_collected_static"),
]
BASE_DIR = Path(__file__).resolve().parent.parent
START_SECONDS = 60
STATIC_ROOT = Path(tempfile.gettempdir()) / f"threadly-gunicorn-static-{os.getpid()}"
PAGES = ["/", "/browse/", "/accounts/login/", "/robots.txt", "/status", "/health"]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("gunicorn serves from the test database: needs PostgreSQL")


def production_env(**overrides: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SENTRY_DSN"}
    }
    env |= {
        "DEBUG": "0",
        "SECRET_KEY": "gunicorn-test-" + "k" * 50,
        "ALLOWED_HOSTS": "127.0.0.1",
        "WEB_CONCURRENCY": "1",
        "LOG_FORMAT": "text",
        # Its own static root: collectstatic rewriting the project's would pull files from
        # under the tests of other workers, whose WhiteNoise lists that folder.
        "STATIC_ROOT": str(STATIC_ROOT),
    }
    return env | overrides


@pytest.fixture(scope="module")
def _collected_static() -> Iterator[None]:
    """Production pages need the static files manifest (the Dockerfile runs collectstatic);
    run every time so a changed stylesheet can't leave a stale manifest behind."""
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"],
        cwd=BASE_DIR,
        env=production_env(),
        check=True,
        timeout=120,
    )
    yield
    shutil.rmtree(STATIC_ROOT, ignore_errors=True)


def served_database_url() -> str:
    db = connection.settings_dict
    credentials = quote(db["USER"] or "")
    if db["PASSWORD"]:
        credentials += ":" + quote(db["PASSWORD"])
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@contextmanager
def refused_port() -> Iterator[int]:
    """A port bound but not listening: connections are refused, and nobody else can take it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(env: dict[str, str], log: Path) -> Iterator[int]:
    """`gunicorn -c gunicorn.conf.py threadly.wsgi` on a free 127.0.0.1 port, always stopped."""
    port = free_port()
    command = [
        *(sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--no-control-socket"),
        *("--bind", f"127.0.0.1:{port}", "--workers", "1", "threadly.wsgi"),
    ]
    with log.open("w") as out:
        process = subprocess.Popen(
            command,
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "gunicorn did not answer\n" + log.read_text()
            try:
                if get(port, "/api/health")[0] == 200:
                    break
            except OSError:
                time.sleep(0.1)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def get(port: int, path: str) -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        # As behind the TLS-terminating proxy (SECURE_PROXY_SSL_HEADER); no redirect to https.
        conn.request("GET", path, headers={"X-Forwarded-Proto": "https", "Host": "127.0.0.1"})
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode()
    finally:
        conn.close()


def test_gunicorn_with_redis_down_serves_every_page_and_health_names_the_cache(tmp_path):
    """REDIS_URL at a refused port: pages 200, /health 503 naming the cache, no traceback."""
    log = tmp_path / "gunicorn.log"
    with refused_port() as dead:
        env = production_env(
            DATABASE_URL=served_database_url(), REDIS_URL=f"redis://127.0.0.1:{dead}/0"
        )
        with gunicorn(env, log) as port:
            answers = {path: get(port, path) for path in PAGES}
    for path in PAGES[:-1]:
        status, _, body = answers[path]
        assert status == 200, (path, body[:500])
        assert "Traceback" not in body
    status, _, body = answers["/health"]
    assert status == 503
    assert json.loads(body)["failed"] == ["cache"]
    assert "Some services are having problems" in answers["/status"][2]
    server_log = log.read_text()
    assert "Traceback" not in server_log
    assert server_log.count("cache unreachable") == 1


def test_gunicorn_with_database_down_serves_friendly_503_and_honest_status(tmp_path):
    """DATABASE_URL at a refused port: pages 503 with Retry-After and the friendly page,
    robots.txt 200, /status 200 showing the database down, /health 503 naming it."""
    log = tmp_path / "gunicorn.log"
    redis = str(django_settings.CACHES["default"].get("LOCATION", ""))
    with refused_port() as dead:
        env = production_env(
            DATABASE_URL=f"postgres://threadly@127.0.0.1:{dead}/threadly",
            REDIS_URL=redis if redis.startswith("redis") else "",
        )
        with gunicorn(env, log) as port:
            answers = {path: get(port, path) for path in PAGES}
    for path in ("/", "/browse/", "/accounts/login/"):
        status, headers, body = answers[path]
        assert status == 503, (path, body[:500])
        assert int(headers["Retry-After"]) > 0
        assert "Threadly is having a hiccup" in body
        assert "Traceback" not in body
    assert answers["/robots.txt"][0] == 200
    status, _, body = answers["/status"]
    assert status == 200
    assert "Down" in body.split("Database</span>", 1)[1].split("</li>", 1)[0]
    status, _, body = answers["/health"]
    assert status == 503
    assert "database" in json.loads(body)["failed"]
    assert "Traceback" not in log.read_text()
