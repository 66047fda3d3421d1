"""Deploy files and documentation stay in sync with what the app reads."""

import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_CALL = re.compile(r'env_(?:str|bool|int|decimal|list|seconds_list)\(\s*"([A-Z0-9_]+)"')
ENV_GET = re.compile(r"""os\.(?:environ\.get|getenv)\(\s*["']([A-Z0-9_]+)["']""")
ENV_ITEM = re.compile(r"""os\.environ\[\s*["']([A-Z0-9_]+)["']\s*\]""")
COMPOSE_VAR = re.compile(r"\$\{([A-Z0-9_]+)")
APPS = ("threadly", "core", "accounts", "marketplace", "orders", "ops")


def settings_env_vars() -> set[str]:
    source = (BASE_DIR / "threadly" / "settings.py").read_text()
    return set(ENV_CALL.findall(source)) | set(ENV_GET.findall(source))


def code_env_vars() -> set[str]:
    """Every variable the running app reads: the apps' code (not tests), gunicorn's config
    and the variables compose.yaml substitutes."""
    sources = [BASE_DIR / "gunicorn.conf.py"]
    for app in APPS:
        sources += [
            path
            for path in (BASE_DIR / app).rglob("*.py")
            if "tests" not in path.parts and "migrations" not in path.parts
        ]
    names: set[str] = set()
    for path in sources:
        text = path.read_text()
        names |= set(ENV_CALL.findall(text)) | set(ENV_GET.findall(text))
        names |= set(ENV_ITEM.findall(text))
    return names | set(COMPOSE_VAR.findall((BASE_DIR / "compose.yaml").read_text()))


def env_example_vars() -> set[str]:
    return set(re.findall(r"^([A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))


def test_every_env_var_is_in_env_example():
    """Each variable the app, gunicorn or compose reads is listed in .env.example."""
    missing = code_env_vars() - env_example_vars()
    assert not missing, f"add to .env.example: {sorted(missing)}"
    assert len(settings_env_vars()) > 50


def test_every_env_example_var_is_read():
    """.env.example lists nothing the code ignores (no promise the code doesn't keep)."""
    unread = env_example_vars() - code_env_vars()
    assert not unread, f"nothing reads these .env.example variables: {sorted(unread)}"


def test_every_env_var_is_documented_in_operations_manual():
    """Each variable the app, gunicorn or compose reads is described in docs/operations.md."""
    manual = (BASE_DIR / "docs" / "operations.md").read_text()
    missing = {name for name in code_env_vars() if f"`{name}`" not in manual}
    assert not missing, f"document in docs/operations.md: {sorted(missing)}"


def test_dockerfile_is_multistage_non_root_with_healthcheck():
    """The image builds in stages on python:3.13-slim, runs as non-root, checks /api/health."""
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert dockerfile.count("FROM python:3.13-slim") == 2
    assert "collectstatic" in dockerfile
    assert re.search(r"^USER threadly$", dockerfile, re.M)
    assert "HEALTHCHECK" in dockerfile
    assert "/api/health" in dockerfile
    assert "gunicorn.conf.py" in dockerfile


def test_gunicorn_workers_follow_cpu_count(monkeypatch):
    """gunicorn.conf.py sizes workers from the CPU count unless WEB_CONCURRENCY is set."""
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    monkeypatch.setattr("multiprocessing.cpu_count", lambda: 2)
    assert runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["workers"] == 5
    monkeypatch.setenv("WEB_CONCURRENCY", "3")
    assert runpy.run_path(str(BASE_DIR / "gunicorn.conf.py"))["workers"] == 3


def test_compose_and_procfile_run_app_worker_scheduler_postgres_redis():
    """compose.yaml has app, worker, scheduler, PostgreSQL, Redis and the queue's Redis; the
    worker entries run run_worker and the scheduler entries run_scheduler."""
    compose = (BASE_DIR / "compose.yaml").read_text()
    for service in ("  app:", "  worker:", "  scheduler:", "  db:", "  redis:", "  queue:"):
        assert service in compose
    assert "command: python manage.py run_worker" in compose
    assert "command: python manage.py run_scheduler" in compose
    assert "TASK_QUEUE_URL: redis://queue:6379/0" in compose
    procfile = (BASE_DIR / "Procfile").read_text()
    assert "worker: python manage.py run_worker" in procfile
    assert "scheduler: python manage.py run_scheduler" in procfile
    assert procfile.startswith("release: python manage.py migrate")
    assert "web: gunicorn -c gunicorn.conf.py" in procfile


def test_secret_scan_finds_live_keys_and_ignores_allowed_lines(tmp_path):
    """The CI secret scan flags a Stripe live key and an AWS key, not test keys."""
    from ops.secret_scan import scan

    leaked = tmp_path / "settings_local.py"
    stripe_live = "sk_" + "live_" + "a1B2c3D4e5F6g7H8i9J0"
    aws = "AKIA" + "ABCDEFGHIJKLMNOP"
    leaked.write_text(f'STRIPE = "{stripe_live}"\nKEY = "{aws}"\nTEST = "sk_test_abc"\n')
    allowed = tmp_path / "doc.md"
    allowed.write_text(f"example {stripe_live}  <!-- secret-scan: allow -->\n")
    hits = scan([leaked, allowed])
    assert len(hits) == 2
    assert "Stripe live key" in hits[0]
    assert "AWS access key" in hits[1]


REQUIRED_VALUES = {
    "SECRET_KEY": "env-example-check-" + "s" * 50,
    "STRIPE_SECRET_KEY": "sk_test_env_example_check",
    "STRIPE_WEBHOOK_SECRET": "whsec_env_example_check",
    "ENCRYPTION_KEY": "EFjXk-euEdfCWYs-AcXr8APLxeniPAThu6jc7WCaxmg=",
    "RESEND_API_KEY": "re_env_example_check",
    "ALERT_EMAILS": "ops@threadly.example",
}


def env_example_as_filled_in(tmp_path) -> dict[str, str]:
    """.env.example's values, with every variable it marks "Required in production" filled."""
    env: dict[str, str] = {}
    required = False
    for line in (BASE_DIR / ".env.example").read_text().splitlines():
        if line.startswith("#"):
            required = required or "Required in production" in line
            continue
        if match := re.match(r"^([A-Z0-9_]+)=(.*)$", line):
            name, value = match.groups()
            env[name] = REQUIRED_VALUES.get(name, value) if required else value
            assert not required or env[name], f"no test value for required {name}"
        required = False
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'check.sqlite3'}"  # no server needed
    return env


def test_env_example_filled_in_passes_check_deploy(tmp_path):
    """Release step 4 holds for the shipped .env.example: with its required variables filled
    in, `check --deploy --fail-level WARNING` finds nothing."""
    env = {
        **{k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG"}},
        **env_example_as_filled_in(tmp_path),
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
