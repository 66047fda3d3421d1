#!/usr/bin/env python3
"""`make cluster`: a local rehearsal of the production topology, all on 127.0.0.1.

    make cluster           (scripts/cluster.py up)     start it; says so if it is already up
    make cluster-check     (scripts/cluster_check.py)  the failure rehearsal
    make cluster-down      (scripts/cluster.py down)   stop everything, delete .cluster/
    scripts/cluster.py down --keep-data                stop everything, keep the databases

What `up` starts, each from the same code and settings production uses (DEBUG=0):

    nginx :8080 ──┬── gunicorn app1 :8001 ──┐   PostgreSQL primary :55432 (writes, money path)
                  └── gunicorn app2 :8002 ──┼──   └─ streaming replica :55433 (safe reads)
                                            ├──   Redis :56379 (cache, sessions, task queue)
             run_worker ×2, run_scheduler ──┘   media: .cluster/media (the "bucket", via nginx)

Everything lives under the git-ignored state directory .cluster/ (CLUSTER_DIR): the two
PostgreSQL data directories, Redis's, nginx's generated config, temp dirs and pid file, every
process's log and pid file, the shared SECRET_KEY. The system PostgreSQL (5432) and Redis (6379)
are never touched. As root, PostgreSQL runs as CLUSTER_PG_USER (default postgres) with runuser,
as scripts/pitr-rehearsal does. Every wait is bounded.

Modules: cluster_config.py (ports, the state directory, the app environment, the generated
PostgreSQL and nginx config), cluster_procs.py (pid files, our processes and only ours),
cluster_check.py (the rehearsal), cluster_cost.py (CPU per page view of each tier).

Environment: CLUSTER_LISTINGS (default 2000) listings seeded by `seed_demo`;
CLUSTER_WEB_CONCURRENCY (default 2) gunicorn workers per app host; CLUSTER_DIR; PG_BIN
(default /usr/lib/postgresql/15/bin); CLUSTER_PG_USER.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from cluster_config import (
    APP_PORTS,
    DB_NAME,
    HOST,
    MARKER,
    PG_BIN,
    PG_USER,
    PORTS,
    ROOT,
    STATE,
    VENV_BIN,
    WORKERS,
    Layout,
    app_env,
    database_url,
    nginx_conf,
    postgres_conf,
    write_env_file,
)
from cluster_procs import (
    alive,
    http_ok,
    is_ours,
    leftovers,
    log,
    port_open,
    proc_text,
    read_pid,
    spawn,
    stop_group,
    wait_for,
)

__all__ = [  # what scripts/cluster_check.py uses from here
    "APP_PORTS",
    "DB_NAME",
    "HOST",
    "MARKER",
    "PG_BIN",
    "PORTS",
    "ROOT",
    "STATE",
    "Layout",
    "alive",
    "app_env",
    "as_pg",
    "pg_start",
    "proc_text",
    "psql",
    "read_pid",
    "secret_key",
    "start_app",
    "status",
]


def is_root() -> bool:
    return os.geteuid() == 0


def as_pg(
    *args: str | Path, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run a PostgreSQL binary, as the unprivileged PG_USER when we are root."""
    command = [str(arg) for arg in args]
    if is_root():
        command = ["runuser", "-u", PG_USER, "--", *command]
    return subprocess.run(  # noqa: S603 - fixed binaries, our own arguments
        command, check=check, capture_output=True, text=True, timeout=timeout, cwd="/"
    )


def manage(env: dict[str, str], *args: str, timeout: float = 900) -> str:
    return subprocess.run(  # noqa: S603
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    ).stdout


def secret_key(layout: Layout) -> str:
    path = layout.state / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def gunicorn_command(name: str, layout: Layout) -> list[str]:
    return [
        str(VENV_BIN / "gunicorn"),
        "-c",
        "gunicorn.conf.py",
        "threadly.wsgi",
        "--bind",
        f"{HOST}:{APP_PORTS[name]}",
        "--no-control-socket",
        "--access-logfile",
        "/dev/null",
        "--name",
        f"threadly-{name}",
    ]


def start_app(name: str, layout: Layout) -> int:
    """Start one app host (also used by the rehearsal to bring a killed host back)."""
    env = app_env(layout, secret_key(layout))
    pid = spawn(name, gunicorn_command(name, layout), env, layout)
    wait_for(name, lambda: http_ok(f"http://{HOST}:{APP_PORTS[name]}/api/health"), seconds=90)
    return pid


def has_scheduler(env: dict[str, str]) -> bool:
    """`run_scheduler` exists once the task queue (TASK_QUEUE_URL) is merged."""
    return (
        subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", "help", "run_scheduler"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            timeout=120,
            check=False,
        ).returncode
        == 0
    )


def pg_start(data: Path, name: str, layout: Layout) -> None:
    """Start one PostgreSQL cluster; its log goes next to the data (PG_USER owns that dir)."""
    as_pg(PG_BIN / "pg_ctl", "-D", data, "-l", layout.pg / f"{name}.log", "-w", "-t", "60", "start")


def psql(port: int, sql: str, database: str = DB_NAME) -> str:
    return as_pg(
        PG_BIN / "psql",
        "-X",
        "-q",
        "-h",
        HOST,
        "-p",
        str(port),
        "-U",
        PG_USER,
        "-d",
        database,
        "-tA",
        "-v",
        "ON_ERROR_STOP=1",
        "-c",
        sql,
    ).stdout.strip()


def start_postgres(layout: Layout) -> None:
    if is_root():
        try:
            pwd.getpwnam(PG_USER)
        except KeyError:
            subprocess.run(  # noqa: S603
                [  # noqa: S607 - the system's useradd, as scripts/pitr-rehearsal
                    "useradd",
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    PG_USER,
                ],  # noqa: S607
                check=True,
            )
    layout.pg.mkdir(parents=True, exist_ok=True)
    layout.pg.chmod(0o700)
    if is_root():
        shutil.chown(layout.pg, PG_USER)
    if not (layout.primary / "PG_VERSION").exists():
        log(f"initdb the primary in {layout.primary}")
        as_pg(
            PG_BIN / "initdb",
            "--no-sync",
            "-D",
            layout.primary,
            "-U",
            PG_USER,
            "--auth=trust",
            "-E",
            "UTF8",
        )
        with (layout.primary / "postgresql.conf").open("a") as conf:
            conf.write(postgres_conf(port=PORTS["primary"], socket_dir=layout.pg))
    pg_start(layout.primary, "primary", layout)
    exists = "SELECT 1 FROM pg_database WHERE datname = 'threadly'"  # DB_NAME
    if psql(PORTS["primary"], exists, "postgres") != "1":
        psql(PORTS["primary"], f'CREATE DATABASE "{DB_NAME}"', "postgres")
    if not (layout.replica / "PG_VERSION").exists():
        log("pg_basebackup -R: the streaming replica")
        as_pg(
            PG_BIN / "pg_basebackup",
            "-h",
            HOST,
            "-p",
            str(PORTS["primary"]),
            "-U",
            PG_USER,
            "-D",
            layout.replica,
            "-R",
            "--checkpoint=fast",
            "--wal-method=stream",
            "--no-sync",
        )
        with (layout.replica / "postgresql.conf").open("a") as conf:
            conf.write(f"port = {PORTS['replica']}\n")
    pg_start(layout.replica, "replica", layout)
    wait_for(
        "streaming replication",
        lambda: (
            psql(
                PORTS["primary"],
                "SELECT count(*) FROM pg_stat_replication WHERE state = 'streaming'",
            )
            == "1"
        ),
        seconds=30,
    )


def start_redis(layout: Layout) -> None:
    """Redis in the foreground of its own session, from a config file in the state directory;
    its process title names that file (Redis rewrites its command line and environment), which
    is how `down` recognises it."""
    directory = layout.state / "redis"
    directory.mkdir(exist_ok=True)
    conf = directory / "redis.conf"
    conf.write_text(
        f"bind {HOST}\nport {PORTS['redis']}\ndaemonize no\ndir {directory}\n"
        'save ""\nappendonly no\nproc-title-template "{title} {listen-addr} {config-file}"\n'
    )
    spawn(
        "redis",
        [shutil.which("redis-server") or "redis-server", str(conf)],
        dict(os.environ),
        layout,
    )
    wait_for("redis", lambda: port_open(PORTS["redis"]), seconds=15)


def nginx_user() -> str | None:
    """nginx's workers drop root for this user (only when we are root)."""
    if not is_root():
        return None
    for user in ("www-data", "nobody"):
        try:
            pwd.getpwnam(user)
        except KeyError:
            continue
        return user
    return None


def start_nginx(layout: Layout) -> None:
    user = nginx_user()
    temp = layout.nginx / "tmp"
    temp.mkdir(parents=True, exist_ok=True)
    if user:
        shutil.chown(temp, user)
    conf = layout.nginx / "nginx.conf"
    conf.write_text(
        nginx_conf(layout, port=PORTS["nginx"], app_ports=list(APP_PORTS.values()), user=user)
    )
    subprocess.run(  # noqa: S603
        ["nginx", "-p", str(layout.nginx), "-c", str(conf), "-e", str(layout.log("nginx.error"))],  # noqa: S607
        check=True,
        timeout=30,
        env={**os.environ, MARKER: str(layout.state)},
    )
    wait_for("nginx", lambda: http_ok(f"http://{HOST}:{PORTS['nginx']}/api/health"), seconds=30)


def seed(layout: Layout, env: dict[str, str]) -> None:
    listings = int(os.environ.get("CLUSTER_LISTINGS", "2000"))
    marker = layout.state / "seeded"
    log("migrate")
    manage(env, "migrate", "--noinput", "-v0")
    if marker.exists() and marker.read_text().strip() == str(listings):
        return
    log(f"seed_demo --listings {listings} (a minute or two)")
    manage(env, "seed_demo", "--listings", str(listings), "-v0", timeout=1800)
    psql(PORTS["primary"], "VACUUM ANALYZE")
    marker.write_text(f"{listings}\n")


def process_map(layout: Layout) -> list[tuple[str, str, str]]:
    """(process, address, pid) for everything of the cluster, for the printed map."""
    rows = [
        ("nginx (load balancer)", f"http://{HOST}:{PORTS['nginx']}/", alive("nginx", layout)),
        *(
            (f"gunicorn {name}", f"http://{HOST}:{port}/", alive(name, layout))
            for name, port in APP_PORTS.items()
        ),
        (
            "PostgreSQL primary",
            database_url(PORTS["primary"]),
            read_pid(layout.primary / "postmaster.pid"),
        ),
        (
            "PostgreSQL replica",
            database_url(PORTS["replica"]),
            read_pid(layout.replica / "postmaster.pid"),
        ),
        ("Redis", f"redis://{HOST}:{PORTS['redis']}", alive("redis", layout)),
        *((f"run_worker {name[-1]}", "-", alive(name, layout)) for name in WORKERS),
        ("run_scheduler", "-", alive("scheduler", layout)),
    ]
    return [(what, where, str(pid) if pid else "not running") for what, where, pid in rows]


def print_map(layout: Layout) -> None:
    for what, where, pid in process_map(layout):
        print(f"  {what:<24}{where:<46}pid {pid}")
    print(f"  state, logs, pid files: {layout.state}")


def status(layout: Layout) -> dict[str, bool]:
    """Which of the cluster's processes are running now."""
    names = ["nginx", "redis", *APP_PORTS, *WORKERS]
    if layout.pidfile("scheduler").exists():  # started only where run_scheduler exists
        names.append("scheduler")
    running = {name: alive(name, layout) is not None for name in names}
    for name, data in (("primary", layout.primary), ("replica", layout.replica)):
        running[name] = (
            as_pg(PG_BIN / "pg_ctl", "-D", data, "status", check=False).returncode == 0
            if data.exists()
            else False
        )
    return running


def up(layout: Layout) -> int:
    if layout.state.exists() and (layout.run.exists() and any(status(layout).values())):
        running = status(layout)
        if all(running.values()):
            log("already up:")
            print_map(layout)
            return 0
        stopped = ", ".join(name for name, ok in running.items() if not ok)
        log(f"partly up ({stopped} not running): run `make cluster-down` first")
        print_map(layout)
        return 1
    busy = [str(port) for port in (*PORTS.values(), *APP_PORTS.values()) if port_open(port)]
    if busy:
        log(f"port(s) {', '.join(busy)} on {HOST} are taken by something else; free them first")
        return 1
    for path in (layout.state, layout.run, layout.logs, layout.media, layout.nginx):
        path.mkdir(parents=True, exist_ok=True)
    layout.state.chmod(0o755)
    started = time.monotonic()
    try:
        start_postgres(layout)
        start_redis(layout)
        env = app_env(layout, secret_key(layout))
        write_env_file(layout.state / "app.env", app_env(layout, secret_key(layout), base={}))
        seed(layout, env)
        log("collectstatic (hashed files for WhiteNoise)")
        manage(env, "collectstatic", "--noinput", "-v0")
        for name in APP_PORTS:
            spawn(name, gunicorn_command(name, layout), env, layout)
        for name in WORKERS:
            spawn(name, [sys.executable, "manage.py", "run_worker"], env, layout)
        if has_scheduler(env):
            spawn("scheduler", [sys.executable, "manage.py", "run_scheduler"], env, layout)
        else:
            log("no `manage.py run_scheduler` on this branch: the scheduler is not started")
        for name, port in APP_PORTS.items():
            wait_for(
                name, lambda port=port: http_ok(f"http://{HOST}:{port}/api/health"), seconds=90
            )
        start_nginx(layout)
        time.sleep(2)  # a worker that cannot start dies within a second or two
        dead = [name for name in WORKERS if alive(name, layout) is None]
        if dead:
            raise RuntimeError(f"{', '.join(dead)} exited (see {layout.logs})")
    except (RuntimeError, subprocess.SubprocessError, OSError) as error:
        detail = getattr(error, "stderr", "") or ""
        log(f"FAILED: {error} {detail[-1500:]}")
        log(f"logs are in {layout.logs}; stopping what was started")
        down(layout, keep_data=True)
        return 1
    log(f"up in {time.monotonic() - started:.0f} s:")
    print_map(layout)
    print(f"  open http://{HOST}:{PORTS['nginx']}/  ·  make cluster-check  ·  make cluster-down")
    return 0


def down(layout: Layout, *, keep_data: bool) -> int:
    if not layout.state.exists():
        log(f"nothing to stop ({layout.state} does not exist)")
        return 0
    if (pid := alive("nginx", layout)) is not None:
        os.kill(pid, signal.SIGQUIT)  # graceful: finish the requests in flight
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and is_ours(pid, layout):
            time.sleep(0.2)
        if is_ours(pid, layout):
            os.kill(pid, signal.SIGTERM)  # fast shutdown; nginx stops its workers itself
    for name in ("scheduler", *WORKERS, *APP_PORTS, "redis"):
        if (pid := alive(name, layout)) is not None:
            began = time.monotonic()
            stop_group(pid, layout)
            log(f"stopped {name} in {time.monotonic() - began:.1f} s")
    for data in (layout.replica, layout.primary):
        if not (data / "postmaster.pid").exists():
            continue
        for mode in ("fast", "immediate"):
            stop = as_pg(
                PG_BIN / "pg_ctl", "-D", data, "-m", mode, "-w", "-t", "30", "stop", check=False
            )
            if stop.returncode == 0:
                break
    time.sleep(0.5)
    left = leftovers(layout)
    for pid in left:
        log(f"killing leftover pid {pid}: {proc_text(pid, 'cmdline')[:100]}")
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    time.sleep(0.5)
    left = leftovers(layout)
    if left:
        log(f"FAILED: still running: {left}")
        return 1
    for pidfile in layout.run.glob("*.pid") if layout.run.exists() else []:
        pidfile.unlink()
    if keep_data:
        log(f"stopped; data kept in {layout.state} (make cluster starts it again)")
    else:
        shutil.rmtree(layout.state)
        log(f"stopped; {layout.state} removed")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("up", help="start the cluster (says so if it is already up)")
    stop = sub.add_parser("down", help="stop everything and remove the state directory")
    stop.add_argument("--keep-data", action="store_true", help="keep the databases for next time")
    sub.add_parser("status", help="the map of processes and ports")
    sub.add_parser("env", help="print the app environment as JSON (for tools that drive it)")
    args = parser.parse_args()
    layout = Layout(STATE)
    if args.command == "up":
        return up(layout)
    if args.command == "down":
        return down(layout, keep_data=args.keep_data)
    if args.command == "status":
        print_map(layout)
        return 0 if layout.state.exists() and all(status(layout).values()) else 1
    print(json.dumps(app_env(layout, secret_key(layout), base={})))  # "env"
    return 0


if __name__ == "__main__":
    sys.exit(main())
