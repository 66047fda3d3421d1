# syntax=docker/dockerfile:1
# Threadly: multi-stage image. Build: docker build -t threadly .  Run: see compose.yaml.

# --- build: compile wheels for the locked dependencies ----------------------------------------
FROM python:3.13-slim AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PYTHONDONTWRITEBYTECODE=1
RUN apt-get update && apt-get install -y --no-install-recommends build-essential libpq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /build
COPY requirements.lock .
RUN python -m venv /venv && /venv/bin/pip install -r requirements.lock

# --- runtime -----------------------------------------------------------------------------------
FROM python:3.13-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH="/venv/bin:$PATH" \
    DJANGO_SETTINGS_MODULE=threadly.settings PORT=8000 LOG_FORMAT=json
# postgresql-client: pg_dump / pg_restore for db_backup and db_restore; curl: HEALTHCHECK.
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-client curl \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system threadly && useradd --system --gid threadly --home /app threadly
COPY --from=build /venv /venv
WORKDIR /app
COPY --chown=threadly:threadly . .
# collectstatic needs settings that import; these throwaway values never reach runtime.
RUN SECRET_KEY=collectstatic-only-not-a-real-secret-key-0123456789 ALLOWED_HOSTS=build \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/media /app/logs /app/backups \
    && chown -R threadly:threadly /app/media /app/logs /app/backups /app/staticfiles
USER threadly
EXPOSE 8000
# Probes by IP: /api/health answers whatever the Host (core/health_probe.py), so this passes
# with ALLOWED_HOSTS set to the site's names only.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD curl --fail --silent http://127.0.0.1:${PORT}/api/health || exit 1
CMD ["gunicorn", "-c", "gunicorn.conf.py", "threadly.wsgi"]
