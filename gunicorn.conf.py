"""Gunicorn settings for Threadly (`gunicorn -c gunicorn.conf.py threadly.wsgi`).

Every value can be overridden from the environment (WEB_CONCURRENCY, PORT, ...)."""

import multiprocessing
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
# The usual (2 x CPU) + 1 sync workers, capped so a large host doesn't exhaust DB connections.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 12)))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then so a slow leak can't grow forever, but rarely: every restart
# re-imports Django and stalls the requests queued behind it (at 1 000 a benchmark saw 305
# restarts and 0.3-2 s stalls). 0 turns recycling off.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
preload_app = True
