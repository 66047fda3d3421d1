"""Deploy files and documentation stay in sync with what the app reads."""

import re
import runpy
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
ENV_CALL = re.compile(r'env_(?:str|bool|int|decimal|list)\(\s*"([A-Z0-9_]+)"')
ENV_GET = re.compile(r'os\.environ\.get\(\s*"([A-Z0-9_]+)"')


def settings_env_vars() -> set[str]:
    source = (BASE_DIR / "threadly" / "settings.py").read_text()
    return set(ENV_CALL.findall(source)) | set(ENV_GET.findall(source))


def test_every_env_var_is_in_env_example():
    """Each variable settings.py reads is listed in .env.example."""
    listed = set(re.findall(r"^([A-Z0-9_]+)=", (BASE_DIR / ".env.example").read_text(), re.M))
    missing = settings_env_vars() - listed
    assert not missing, f"add to .env.example: {sorted(missing)}"
    assert len(settings_env_vars()) > 50


def test_every_env_var_is_documented_in_operations_manual():
    """Each variable settings.py reads is described in docs/operations.md."""
    manual = (BASE_DIR / "docs" / "operations.md").read_text()
    missing = {name for name in settings_env_vars() if f"`{name}`" not in manual}
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


def test_compose_and_procfile_run_app_worker_postgres_redis():
    """compose.yaml has app, worker, PostgreSQL and Redis; both worker entries run run_worker."""
    compose = (BASE_DIR / "compose.yaml").read_text()
    for service in ("  app:", "  worker:", "  db:", "  redis:"):
        assert service in compose
    assert "command: python manage.py run_worker" in compose
    procfile = (BASE_DIR / "Procfile").read_text()
    assert "worker: python manage.py run_worker" in procfile
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
