"""Run the test suite on the best database and cache this machine has.

PostgreSQL and Redis are used when reachable (DATABASE_URL / REDIS_URL, defaulting to the
standard local ports); otherwise SQLite and the local-memory cache. The first line printed
says which. With CI=true a missing PostgreSQL or Redis is an error, not a fallback.
"""

import os
import socket
import sys
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://root@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/1"


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    address = (parts.hostname or "127.0.0.1", parts.port or default_port)
    try:
        with socket.create_connection(address, 2):
            return True
    except OSError:
        return False


def main() -> int:
    in_ci = os.environ.get("CI", "").lower() in {"1", "true", "yes"}
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "threadly.settings")
    database_url = env.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    redis_url = env.get("REDIS_URL") or DEFAULT_REDIS_URL
    problems = []
    if reachable(database_url, 5432):
        env["DATABASE_URL"] = database_url
        parts = urlsplit(database_url)
        db_label = f"PostgreSQL ({parts.hostname}:{parts.port or 5432}{parts.path})"
    else:
        problems.append(f"PostgreSQL is not reachable at {database_url}")
        env.pop("DATABASE_URL", None)
        db_label = "SQLite (PostgreSQL not reachable)"
    if reachable(redis_url, 6379):
        env["REDIS_URL"] = redis_url
        cache_label = f"Redis ({urlsplit(redis_url).hostname}:{urlsplit(redis_url).port or 6379})"
    else:
        problems.append(f"Redis is not reachable at {redis_url}")
        env.pop("REDIS_URL", None)
        cache_label = "local-memory cache (Redis not reachable)"
    print(f"Threadly tests on {db_label} with {cache_label}", flush=True)
    if problems and in_ci:
        print("CI must test on PostgreSQL and Redis: " + "; ".join(problems) + ".", file=sys.stderr)
        return 2
    pytest_args = sys.argv[1:]
    if not any(a == "-n" or a.startswith(("-n", "--numprocesses")) for a in pytest_args):
        # One worker per core (pytest-xdist); each gets its own test database and Redis
        # database. TEST_WORKERS=0 runs in this process (e.g. under a debugger). The SQLite
        # fallback runs in one process: its in-memory test databases and the live-server
        # browser tests lock each other under parallel workers.
        workers = env.get("TEST_WORKERS") or ("auto" if "DATABASE_URL" in env else "0")
        pytest_args = ["-n", workers, "--dist", "loadfile", *pytest_args]
    args = [sys.executable, "-m", "pytest", *pytest_args]
    os.execve(sys.executable, args, env)  # noqa: S606 - replaces this process with pytest


if __name__ == "__main__":
    sys.exit(main())
