"""`make cluster` (scripts/cluster.py): the generated nginx config, the app hosts' environment
and the process bookkeeping. The rehearsal itself (`make cluster-check`) takes minutes and runs
outside the suite."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent


def load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


sys.path.insert(0, str(BASE_DIR / "scripts"))  # the cluster modules import each other
import cluster_config  # noqa: E402
import cluster_procs  # noqa: E402

bench = load("bench_run", BASE_DIR / "bench" / "run.py")


@pytest.fixture
def layout(tmp_path):
    state = tmp_path / "state"
    layout = cluster_config.Layout(state)
    for path in (state, layout.run, layout.logs, layout.media, layout.nginx / "tmp"):
        path.mkdir(parents=True, exist_ok=True)
    return layout


def test_nginx_config_balances_both_hosts_and_retries_only_idempotent_requests(layout):
    """Both app hosts are upstreams with passive health checks; a failed request is retried
    on the other host for error/timeout/502/504, never for a POST (no non_idempotent)."""
    conf = cluster_config.nginx_conf(layout, port=8080, app_ports=[8001, 8002], user=None)
    assert "server 127.0.0.1:8001 max_fails=1 fail_timeout=5s;" in conf
    assert "server 127.0.0.1:8002 max_fails=1 fail_timeout=5s;" in conf
    assert "proxy_next_upstream error timeout http_502 http_504;" in conf
    assert "non_idempotent" not in conf
    assert "listen 127.0.0.1:8080;" in conf
    assert f"pid {layout.run / 'nginx.pid'};" in conf
    assert f"alias {layout.media}/;" in conf
    assert "user " not in conf.split("worker_processes")[0]


@pytest.mark.skipif(not shutil.which("nginx"), reason="needs Debian's nginx")
def test_nginx_accepts_the_generated_config(layout):
    """`nginx -t` parses the generated file, with every path inside the state directory."""
    conf = layout.nginx / "nginx.conf"
    conf.write_text(cluster_config.nginx_conf(layout, port=8080, app_ports=[8001, 8002], user=None))
    result = subprocess.run(
        ["nginx", "-t", "-p", str(layout.nginx), "-c", str(conf), "-e", str(layout.logs / "e")],  # noqa: S607
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "syntax is ok" in result.stderr


def test_app_env_is_production_with_the_cluster_databases(layout):
    """Every host gets DEBUG=0, the one SECRET_KEY, the cluster's primary, replica, Redis and
    queue, and none of the caller's own database or test settings."""
    base = {"DATABASE_URL": "postgres://elsewhere/x", "TEST_DB_NAME": "t", "PATH": "/usr/bin"}
    env = cluster_config.app_env(layout, "k" * 50, base=base)
    assert env["DEBUG"] == "0"
    assert env["SECRET_KEY"] == "k" * 50
    assert env["DATABASE_URL"] == "postgres://postgres@127.0.0.1:55432/threadly"
    assert env["DATABASE_REPLICA_URLS"] == "postgres://postgres@127.0.0.1:55433/threadly"
    assert env["REDIS_URL"] == "redis://127.0.0.1:56379/0"
    assert env["TASK_QUEUE_URL"] == "redis://127.0.0.1:56379/1"
    assert env["MEDIA_ROOT"] == str(layout.media)
    assert "TEST_DB_NAME" not in env
    assert env["PATH"] == "/usr/bin"
    assert env[cluster_config.MARKER] == str(layout.state)


def test_settings_load_with_the_cluster_env_and_route_reads_to_the_replica(layout):
    """threadly.settings, given the cluster's environment, is production (no DEBUG), has the
    replica alias and the router, and the cache on the cluster's Redis."""
    env = cluster_config.app_env(layout, "cluster-test-" + "k" * 50)
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps([s.DEBUG, sorted(s.DATABASES), s.DATABASE_ROUTERS, "
        "s.CACHES['default']['LOCATION'], str(s.MEDIA_ROOT)]))"
    )
    out = subprocess.run(  # noqa: S603
        [sys.executable, "-c", code],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    ).stdout
    debug, aliases, routers, cache, media = json.loads(out.strip().splitlines()[-1])
    assert debug is False
    assert "replica1" in aliases
    assert routers == ["core.db_router.ReplicaRouter"]
    assert cache == "redis://127.0.0.1:56379/0"
    assert media == str(layout.media)


def test_postgres_conf_allows_streaming_replication(tmp_path):
    """The primary listens on 127.0.0.1 only, with WAL for a streaming replica."""
    conf = cluster_config.postgres_conf(port=55432, socket_dir=tmp_path)
    assert "listen_addresses = '127.0.0.1'" in conf
    assert "port = 55432" in conf
    assert "wal_level = replica" in conf
    assert "max_wal_senders = 5" in conf


def test_spawned_process_is_recognised_and_stopped_with_its_children(layout):
    """A process the cluster spawns (and its child) is ours by the marker, stop_group ends
    both, and a process without the marker is never taken for ours."""
    env = {**os.environ, cluster_config.MARKER: str(layout.state)}
    pid = cluster_procs.spawn("sleeper", ["sh", "-c", "sleep 60 & wait"], env, layout)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and len(cluster_procs.leftovers(layout)) < 2:
        time.sleep(0.05)
    assert cluster_procs.alive("sleeper", layout) == pid
    assert len(cluster_procs.leftovers(layout)) == 2  # the shell and its sleep
    assert not cluster_procs.is_ours(os.getpid(), layout)
    cluster_procs.stop_group(pid, layout, seconds=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and cluster_procs.leftovers(layout):
        time.sleep(0.05)
    assert cluster_procs.alive("sleeper", layout) is None
    assert cluster_procs.leftovers(layout) == []


def test_env_file_round_trips_into_bench(layout):
    """The app.env `make cluster` writes is what `bench/run.py --target-env` reads back."""
    env = {"SECRET_KEY": "a=b", "DATABASE_URL": "postgres://x@127.0.0.1:55432/threadly"}
    path = layout.state / "app.env"
    cluster_config.write_env_file(path, env)
    assert bench.read_env_file(str(path)) == env
    assert path.stat().st_mode & 0o077 == 0
