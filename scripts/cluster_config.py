"""What `make cluster` runs, as data: ports, the state directory's layout, the app hosts'
environment and the generated PostgreSQL and nginx configuration. Pure functions, no process
is started here (tests/test_cluster.py checks them; scripts/cluster.py uses them)."""

from __future__ import annotations

import base64
import hashlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent
STATE = Path(os.environ.get("CLUSTER_DIR") or ROOT / ".cluster").resolve()
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = os.environ.get("CLUSTER_PG_USER", "postgres")
HOST = "127.0.0.1"
PORTS = {"primary": 55432, "replica": 55433, "redis": 56379, "nginx": 8080}
APP_PORTS = {"app1": 8001, "app2": 8002}
WORKERS = ("worker1", "worker2")
DB_NAME = "threadly"
# Marks every Python process the cluster starts (in its environment), so `down` can prove
# none is left behind and never mistakes somebody else's process for one of ours.
MARKER = "THREADLY_CLUSTER_DIR"


@dataclass(frozen=True)
class Layout:
    """Where everything of one cluster lives."""

    state: Path

    @property
    def run(self) -> Path:
        return self.state / "run"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pg(self) -> Path:
        return self.state / "pg"

    @property
    def primary(self) -> Path:
        return self.pg / "primary"

    @property
    def replica(self) -> Path:
        return self.pg / "replica"

    @property
    def media(self) -> Path:
        return self.state / "media"

    @property
    def nginx(self) -> Path:
        return self.state / "nginx"

    def pidfile(self, name: str) -> Path:
        return self.run / f"{name}.pid"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"


def database_url(port: int) -> str:
    return f"postgres://{PG_USER}@{HOST}:{port}/{DB_NAME}"


def app_env(layout: Layout, secret_key: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of every app host, worker and scheduler: production settings, the
    cluster's primary, replica and Redis, one SECRET_KEY (a session or CSRF token signed by
    one host must be valid on the other), media in the shared "bucket" directory."""
    env = {
        key: value
        for key, value in (os.environ if base is None else base).items()
        if not key.startswith(("DATABASE_", "REDIS_", "TASK_QUEUE_", "TEST_DB_", "SENTRY_"))
    }
    redis = f"redis://{HOST}:{PORTS['redis']}"
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "threadly.settings",
            "DEBUG": "0",
            "SECRET_KEY": secret_key,
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "SITE_URL": f"http://{HOST}:{PORTS['nginx']}",
            "DATABASE_URL": database_url(PORTS["primary"]),
            "DATABASE_REPLICA_URLS": database_url(PORTS["replica"]),
            "REDIS_URL": f"{redis}/0",
            "TASK_QUEUE_URL": f"{redis}/1",
            # Plain HTTP on 127.0.0.1: no HTTPS redirect, no HSTS, cookies without Secure.
            "SECURE_SSL_REDIRECT": "0",
            "SECURE_HSTS_SECONDS": "0",
            "SESSION_COOKIE_SECURE": "0",
            "CSRF_COOKIE_SECURE": "0",
            # nginx is the one proxy in front: the client address is the last X-Forwarded-For.
            "NUM_PROXIES": "1",
            # Every simulated shopper comes from 127.0.0.1: per-IP limits would refuse the load.
            "RATELIMIT_ENABLED": "0",
            "ALLOW_TEST_PAYMENTS": "1",
            # A fixed key for the demo addresses, derived, never a secret.
            "ENCRYPTION_KEY": base64.urlsafe_b64encode(
                hashlib.sha256(b"threadly-cluster-addresses").digest()
            ).decode(),
            "MEDIA_ROOT": str(layout.media),
            "LOG_DIR": str(layout.logs),
            "BACKUP_DIR": str(layout.state / "backups"),
            "MAINTENANCE_FLAG_FILE": str(layout.run / "maintenance.flag"),
            "WEB_CONCURRENCY": os.environ.get("CLUSTER_WEB_CONCURRENCY", "2"),
            "LOG_LEVEL": "warning",
            "PYTHONDONTWRITEBYTECODE": "1",
            MARKER: str(layout.state),
        }
    )
    return env


def postgres_conf(*, port: int, socket_dir: Path) -> str:
    """Lines appended to the primary's postgresql.conf (the replica copies them, then
    overrides the port)."""
    return (
        f"listen_addresses = '{HOST}'\n"
        f"port = {port}\n"
        f"unix_socket_directories = '{socket_dir}'\n"
        "max_connections = 200\n"
        "wal_level = replica\n"
        "max_wal_senders = 5\n"
        "hot_standby = on\n"
        # The replica may run a little behind; a read there is never worth cancelling.
        "hot_standby_feedback = on\n"
    )


def nginx_conf(layout: Layout, *, port: int, app_ports: list[int], user: str | None) -> str:
    """nginx in front of the app hosts: round robin, passive health checks (a host that fails
    once is left out for 5 s, then tried again), and a GET/HEAD that failed on one host
    (refused, reset, timed out, 502/504) retried once on the other; POSTs are never retried
    (not idempotent). Media from the shared directory standing in for the bucket/CDN; /static/
    goes to the app hosts, where WhiteNoise serves the hashed files with a year's
    Cache-Control."""
    temp = layout.nginx / "tmp"
    servers = "\n".join(
        f"        server {HOST}:{app_port} max_fails=1 fail_timeout=5s;" for app_port in app_ports
    )
    user_line = f"user {user};\n" if user else ""
    return f"""# Generated by scripts/cluster.py: do not edit (make cluster-down deletes it).
{user_line}worker_processes 2;
pid {layout.pidfile("nginx")};
error_log {layout.log("nginx.error")} warn;

events {{
    worker_connections 1024;
}}

http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    log_format cluster '$msec $status $request_method "$request_uri" '
                       'upstream=$upstream_addr upstream_status=$upstream_status '
                       'time=$request_time';
    access_log {layout.log("nginx.access")} cluster;
    client_body_temp_path {temp}/client_body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    sendfile on;
    server_tokens off;

    upstream threadly_app {{
{servers}
        keepalive 32;
    }}

    server {{
        listen {HOST}:{port};
        server_name _;
        client_max_body_size 25m;

        location /media/ {{
            alias {layout.media}/;
            expires 7d;
            add_header Cache-Control "public";
        }}

        location / {{
            proxy_pass http://threadly_app;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_connect_timeout 2s;
            proxy_read_timeout 35s;
            proxy_next_upstream error timeout http_502 http_504;
            proxy_next_upstream_tries 2;
            proxy_next_upstream_timeout 15s;
        }}
    }}
}}
"""


def write_env_file(path: Path, env: dict[str, str]) -> None:
    """The app environment as KEY=VALUE lines, for tools that drive the cluster
    (`bench/run.py --target-env`); it holds the SECRET_KEY, so only we may read it."""
    path.write_text("".join(f"{key}={value}\n" for key, value in sorted(env.items())))
    path.chmod(0o600)
