"""Threadly's settings: every value is read from the environment here, with safe local defaults.

Production differs from a laptop only by environment values (see .env.example and
docs/operations.md). With no environment at all, Threadly runs on SQLite with a
local-memory cache and the local default of every integration.
"""

import os
import sys
from decimal import Decimal
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent
RUNNING_TESTS = "pytest" in sys.modules
VERSION = os.environ.get("THREADLY_VERSION", "0.1.0")
INSECURE_DEV_KEY = "django-insecure-threadly-local-development-key-do-not-use-in-production"


def env_str(name: str, default: str = "") -> str:
    """The variable's value; empty or unset means the default (as .env.example promises)."""
    return os.environ.get(name, "").strip() or default


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    if value.strip().lower() in {"1", "true", "yes", "on"}:
        return True
    if value.strip().lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    try:
        return int(value) if value else default
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}.") from None


def env_decimal(name: str, default: str) -> Decimal:
    value = env_str(name) or default
    try:
        return Decimal(value)
    except ArithmeticError:
        raise ImproperlyConfigured(f"{name} must be a decimal number, not {value!r}.") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_seconds_list(name: str, default: str) -> list[int]:
    """Comma-separated whole seconds; "none" for an empty list."""
    items = env_list(name, default)
    if [item.lower() for item in items] == ["none"]:
        return []
    if not all(item.isdecimal() for item in items):  # no sign, no fraction: whole seconds
        raise ImproperlyConfigured(
            f"{name} must be whole seconds separated by commas, or none; not {env_str(name)!r}."
        )
    return [int(item) for item in items]


# --- Core -------------------------------------------------------------------------------------
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY") or INSECURE_DEV_KEY
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if DEBUG or RUNNING_TESTS:
    ALLOWED_HOSTS = ALLOWED_HOSTS or ["127.0.0.1", "localhost", "[::1]", "testserver"]
else:
    if (
        SECRET_KEY == INSECURE_DEV_KEY
        or SECRET_KEY.startswith("django-insecure")
        or len(SECRET_KEY) < 32
    ):
        raise ImproperlyConfigured(
            "SECRET_KEY is missing or is the development default while DEBUG is off. "
            "Set SECRET_KEY to a long random value (python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'), or set DEBUG=1 for local development."
        )
    if not ALLOWED_HOSTS:
        raise ImproperlyConfigured(
            "ALLOWED_HOSTS is empty while DEBUG is off. Set it to the site's host names, "
            "comma-separated (e.g. ALLOWED_HOSTS=threadly.example,www.threadly.example)."
        )
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = "Threadly"
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django.contrib.sitemaps",
    "django_htmx",
    "corsheaders",
    "allauth",
    "allauth.account",
    "allauth.socialaccount",
    "axes",
    "core",
    "accounts",
    "marketplace",
    "orders",
    "messaging",
    "ops",
    "django_rq",  # the RQ queues behind TASK_QUEUE_URL (django-tasks-rq's backend needs it)
]

MIDDLEWARE = [
    "core.middleware.RequestMetricsMiddleware",
    # Health probes by IP answer whatever the Host; before anything calls request.get_host().
    "core.health_probe.HealthProbeHostMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "core.middleware.SecurityHeadersMiddleware",
    "core.middleware.DatabaseUnavailableMiddleware",
    # Reads after a member's write go to the primary (core.db_router); no-op without replicas.
    "core.db_router.ReadYourWritesMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "core.request_guard.NulByteGuardMiddleware",
    # Cookie-less GETs of catalogue pages answered from the cache (core.page_cache): before
    # sessions, auth and CSRF, so a hit skips them; after the headers every response needs.
    "core.page_cache.PageCacheMiddleware",
    # Anonymous pages without Vary: Cookie (cacheable); must wrap SessionMiddleware.
    "core.middleware.AnonymousCacheableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.SentryUserMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "core.middleware.MaintenanceModeMiddleware",
    "core.middleware.RateLimitMiddleware",
    # Turns a login refused by django-axes (core.lockout) into the 429 lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "threadly.urls"
WSGI_APPLICATION = "threadly.wsgi.application"
ASGI_APPLICATION = "threadly.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "marketplace.context_processors.navigation",
                "orders.context_processors.cart",
                "threadly.seo.page_meta",
                "messaging.context_processors.inbox",
            ],
            # {% url %} remembering the URLs that take no arguments (core.template_urls).
            "builtins": ["core.template_urls"],
        },
    },
]

# --- Database and cache -----------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}"
# A direct (non-pooled) connection for migrations, backups and VACUUM; the pooled one otherwise.
DATABASE_URL_UNPOOLED = env_str("DATABASE_URL_UNPOOLED") or DATABASE_URL
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
}
if env_str("TEST_DB_NAME"):
    DATABASES["default"]["TEST"] = {"NAME": env_str("TEST_DB_NAME")}
# The direct connection (DATABASE_URL_UNPOOLED): db_backup, db_restore, db_optimize and
# `migrate --database direct` use it; short-lived, so never kept open. In tests it points at
# the test database of "default". PostgreSQL only: SQLite has no pooler, and a second
# connection to its shared in-memory test database would lock the first one's tables.
if DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3":
    DATABASES["direct"] = dj_database_url.parse(DATABASE_URL_UNPOOLED, conn_max_age=0)
    DATABASES["direct"]["TEST"] = {"MIRROR": "default"}
# Read replicas (core.db_router): aliases replica1, replica2, … for safe reads; tests point
# them at the test database of "default". Empty = every query goes to "default".
DATABASE_REPLICAS: list[str] = []
for _number, _url in enumerate(env_list("DATABASE_REPLICA_URLS"), start=1):
    _replica = dj_database_url.parse(
        _url, conn_max_age=env_int("DB_CONN_MAX_AGE", 60), conn_health_checks=True
    )
    if _replica["ENGINE"] == "django.db.backends.postgresql":
        # An unreachable replica must cost seconds once, then reads fall back to "default".
        _replica.setdefault("OPTIONS", {}).setdefault("connect_timeout", 2)
    _replica["TEST"] = {"MIRROR": "default"}
    DATABASES[f"replica{_number}"] = _replica
    DATABASE_REPLICAS.append(f"replica{_number}")
# After a member's POST, their requests read from the primary for this many seconds.
DATABASE_REPLICA_STICKY_SECONDS = env_int("DATABASE_REPLICA_STICKY_SECONDS", 10)
DATABASE_ROUTERS = ["core.db_router.ReplicaRouter"] if DATABASE_REPLICAS else []
# Server-side parameter binding, so that the key lookups in core.prepared.prepared_statements()
# run as prepared statements (psycopg never prepares anything else: prepare_threshold stays
# Django's None). 0 behind a pooler in transaction mode that can't keep prepared statements.
DB_PREPARED_STATEMENTS = env_bool("DB_PREPARED_STATEMENTS", True)
for _alias in ("default", *DATABASE_REPLICAS):
    if DB_PREPARED_STATEMENTS and DATABASES[_alias]["ENGINE"] == "django.db.backends.postgresql":
        DATABASES[_alias].setdefault("OPTIONS", {})["server_side_binding"] = True
for _database in DATABASES.values():
    if _database["ENGINE"] == "django.db.backends.sqlite3":
        _database["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's RedisCache that answers like a miss while Redis is unreachable, so the
            # site stays up uncached (see core/cache.py and docs/operations.md).
            "BACKEND": "core.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "threadly"),
            "TIMEOUT": 300,
            # A dead or hung Redis must cost milliseconds per request, not seconds.
            "OPTIONS": {"socket_connect_timeout": 0.25, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "threadly",
            "TIMEOUT": 300,
        }
    }
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
# Anonymous page cache (core.page_cache): how long a page may be kept at most; changes drop
# pages at once, this is the safety net. 0 = off. Off by default without Redis (each process's
# local-memory cache would miss the other processes' changes) and in tests (they turn it on).
PAGE_CACHE_SECONDS = env_int("PAGE_CACHE_SECONDS", 300 if REDIS_URL and not RUNNING_TESTS else 0)

# Background tasks (django.tasks). TASK_QUEUE_URL (a Redis URL) sends them to an RQ queue that
# any number of `manage.py run_worker` processes, on any hosts, work through; `run_scheduler`
# enqueues the periodic jobs. Unset: each task runs at once, in the process that enqueued it.
TASK_QUEUE_URL = env_str("TASK_QUEUE_URL")
if TASK_QUEUE_URL:
    TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default"]}}
else:
    TASKS = {"default": {"BACKEND": "django.tasks.backends.immediate.ImmediateBackend"}}
RQ_QUEUES = {
    "default": {
        # Unused without TASK_QUEUE_URL (nothing is enqueued), but django-rq wants a queue named.
        "URL": TASK_QUEUE_URL or "redis://127.0.0.1:6379/0",
        "DEFAULT_TIMEOUT": 600,  # seconds a job may run (db_backup is the longest)
    }
}
RQ_SHOW_ADMIN_LINK = False  # no django-rq dashboard in the admin: /health and ops show the queue
# A one-off task that fails (emails, search indexing, realtime events, analytics: a provider's
# outage) is tried again after each of these delays, then kept as failed: 1, 5 and 30 minutes.
# Periodic jobs are not retried, their next slot runs anyway ("none": no retries at all).
TASK_RETRY_DELAYS = env_seconds_list("TASK_RETRY_DELAYS", "60,300,1800")
RQ = {"QUEUE_CLASS": "ops.queue.RetryingQueue"}

# --- Accounts (django-allauth) ----------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # django-axes: refuses a login while this account+client or this client is locked out, or
    # an account attacked from many clients is being slowed down (core.lockout); must be first.
    "core.lockout.LockoutBackend",
    # Django's and allauth's backends, refusing banned members (and ending their sessions).
    "accounts.backends.ModelBackend",
    "accounts.backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "/"
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
# Sign-up answers "check your inbox" whether or not the email is taken (and mails the owner
# of a taken one): allauth can only do that with mandatory verification. A 6-character code
# typed on the next page (not a link to follow) keeps sign-up -> sell short.
ACCOUNT_EMAIL_VERIFICATION = env_str("ACCOUNT_EMAIL_VERIFICATION", "mandatory")
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_UNIQUE_EMAIL = True
# Handles that would let a member pass as the platform.
ACCOUNT_USERNAME_BLACKLIST = [
    "admin", "administrator", "staff", "support", "help", "threadly", "moderator", "root",
    "security", "billing", "payments", "official", "system",
]  # fmt: skip
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = False if RUNNING_TESTS else {}
SOCIALACCOUNT_PROVIDERS: dict[str, dict] = {}
if env_str("GOOGLE_CLIENT_ID") and env_str("GOOGLE_CLIENT_SECRET"):
    SOCIALACCOUNT_PROVIDERS["google"] = {
        "APPS": [
            {"client_id": env_str("GOOGLE_CLIENT_ID"), "secret": env_str("GOOGLE_CLIENT_SECRET")}
        ],
        "SCOPE": ["profile", "email"],
    }
if env_str("APPLE_CLIENT_ID") and env_str("APPLE_PRIVATE_KEY"):
    SOCIALACCOUNT_PROVIDERS["apple"] = {
        "APPS": [
            {
                "client_id": env_str("APPLE_CLIENT_ID"),
                "secret": env_str("APPLE_KEY_ID"),
                "key": env_str("APPLE_TEAM_ID"),
                "settings": {"certificate_key": env_str("APPLE_PRIVATE_KEY").replace("\\n", "\n")},
            }
        ]
    }
# A provider's app (and its URLs) is installed only when its keys are set: an unconfigured
# provider would answer its login URLs with an error.
INSTALLED_APPS += [f"allauth.socialaccount.providers.{name}" for name in SOCIALACCOUNT_PROVIDERS]
CLERK_WEBHOOK_SECRET = env_str("CLERK_WEBHOOK_SECRET")

# --- Marketplace ------------------------------------------------------------------------------
CURRENCY = env_str("CURRENCY", "EUR").upper()
if CURRENCY not in {"EUR", "GBP", "USD"}:
    raise ImproperlyConfigured(f"CURRENCY must be EUR, GBP or USD, not {CURRENCY!r}.")
LISTING_IMAGE_MAX_BYTES = env_int("LISTING_IMAGE_MAX_BYTES", 10 * 1024 * 1024)
# Per photo, from its header: every phone's default photo fits (the largest, 24 MP on recent
# iPhones, is 5712 x 4284); a PNG this size still decodes to 100 MB.
LISTING_IMAGE_MAX_PIXELS = env_int("LISTING_IMAGE_MAX_PIXELS", 25_000_000)
# Per request (a form's photos together), pixels decoded, checked from the headers before
# any decoding. A JPEG counts at the 1/2, 1/4 or 1/8 scale it is decoded at, so ten 4:3 phone
# photos of any size up to the per-photo limit fit (at most 4095 x 3071 each once scaled).
IMAGE_REQUEST_PIXEL_BUDGET = env_int("IMAGE_REQUEST_PIXEL_BUDGET", 130_000_000)
LISTING_IMAGES_MAX = 10
LISTINGS_PER_PAGE = 24
# Uploads are streamed to disk past this size; the per-file limit above is checked before decoding.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
DATA_UPLOAD_MAX_NUMBER_FILES = LISTING_IMAGES_MAX + 2

# --- Search, realtime, analytics, monitoring (adapters pick the vendor when keys are set) ------
ALGOLIA_APP_ID = env_str("ALGOLIA_APP_ID")
ALGOLIA_SEARCH_KEY = env_str("ALGOLIA_SEARCH_KEY")
ALGOLIA_ADMIN_KEY = env_str("ALGOLIA_ADMIN_KEY")
ALGOLIA_INDEX_NAME = env_str("ALGOLIA_INDEX_NAME", "threadly_listings")
# Tests and proxies only: "host[:port]" or "http://host:port", comma-separated; empty = Algolia's.
ALGOLIA_HOSTS = env_list("ALGOLIA_HOSTS")
PUSHER_APP_ID = env_str("PUSHER_APP_ID")
PUSHER_KEY = env_str("PUSHER_KEY")
PUSHER_SECRET = env_str("PUSHER_SECRET")
PUSHER_CLUSTER = env_str("PUSHER_CLUSTER", "eu")
# A self-hosted Pusher-protocol server (e.g. soketi) instead of Pusher's cluster hosts: the
# HTTP API and the browsers' WebSocket both go to PUSHER_HOST:PUSHER_PORT. Empty = Pusher.
PUSHER_HOST = env_str("PUSHER_HOST")
PUSHER_PORT = env_int("PUSHER_PORT", 0)  # 0 = the scheme's default port (443 / 80)
PUSHER_SCHEME = env_str("PUSHER_SCHEME", "https")
if PUSHER_SCHEME not in {"http", "https"}:
    raise ImproperlyConfigured(f"PUSHER_SCHEME must be https or http, not {PUSHER_SCHEME!r}.")


def pusher_connect_src(*, cluster: str, host: str, port: int, scheme: str) -> list[str]:
    """The Content-Security-Policy connect-src sources pusher-js needs for these settings:
    Pusher's cluster hosts, or the self-hosted server's WebSocket origin."""
    if not host:
        return [f"wss://ws-{cluster}.pusher.com", f"https://sockjs-{cluster}.pusher.com"]
    ws_scheme = "wss" if scheme == "https" else "ws"
    return [f"{ws_scheme}://{host}:{port}" if port else f"{ws_scheme}://{host}"]


PUSHER_CONNECT_SRC = (
    pusher_connect_src(
        cluster=PUSHER_CLUSTER, host=PUSHER_HOST, port=PUSHER_PORT, scheme=PUSHER_SCHEME
    )
    if PUSHER_APP_ID and PUSHER_KEY and PUSHER_SECRET
    else []
)
POSTHOG_KEY = env_str("POSTHOG_KEY")
POSTHOG_HOST = env_str("POSTHOG_HOST", "https://eu.i.posthog.com")
SENTRY_DSN = env_str("SENTRY_DSN")
SENTRY_ENVIRONMENT = env_str("SENTRY_ENVIRONMENT", "development" if DEBUG else "production")
SENTRY_TRACES_SAMPLE_RATE = float(env_decimal("SENTRY_TRACES_SAMPLE_RATE", "0"))
if SENTRY_DSN and not RUNNING_TESTS:
    from core.sentry import init_sentry

    init_sentry(
        dsn=SENTRY_DSN,
        environment=SENTRY_ENVIRONMENT,
        release=VERSION,
        traces_sample_rate=SENTRY_TRACES_SAMPLE_RATE,
    )

# --- Messaging (messaging/) ---------------------------------------------------------------------
# Messages one member may send per window (core.ratelimit), on top of RATELIMIT_DEFAULT.
MESSAGING_RATE = env_str("MESSAGING_RATE", "20/m")
# Minutes a message stays unread before `messages_notify_unread` emails its recipient.
MESSAGING_EMAIL_DELAY_MINUTES = env_int("MESSAGING_EMAIL_DELAY_MINUTES", 10)

# --- Commerce ---------------------------------------------------------------------------------
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
# The signing secret of the Connect webhook endpoint (events from connected accounts).
STRIPE_CONNECT_WEBHOOK_SECRET = env_str("STRIPE_CONNECT_WEBHOOK_SECRET")
# Only for tests and local Stripe emulators: where the stripe SDK sends its requests.
STRIPE_API_BASE = env_str("STRIPE_API_BASE")
PLATFORM_FEE_PERCENTAGE = env_decimal("PLATFORM_FEE_PERCENTAGE", "5")
# The local gateway's "Test payment" page marks orders paid without money: on by default only
# in development and tests; a production demo site must opt in explicitly.
ALLOW_TEST_PAYMENTS = env_bool("ALLOW_TEST_PAYMENTS", DEBUG or RUNNING_TESTS)
RESERVATION_TTL_MINUTES = env_int("RESERVATION_TTL_MINUTES", 30)
ORDER_AUTO_COMPLETE_DAYS = env_int("ORDER_AUTO_COMPLETE_DAYS", 7)
ENCRYPTION_KEY = env_str("ENCRYPTION_KEY")
# Older Fernet keys, comma-separated, still accepted for reading while data is re-encrypted.
ENCRYPTION_KEYS_OLD = env_list("ENCRYPTION_KEYS_OLD")

# --- Email ------------------------------------------------------------------------------------
RESEND_API_KEY = env_str("RESEND_API_KEY")
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "Threadly <hello@threadly.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Django 6.1 mailers: Resend when its key is set, else EMAIL_BACKEND (console by default).
MAILERS = {
    "default": {
        "BACKEND": "core.email.ResendEmailBackend"
        if RESEND_API_KEY
        else env_str("EMAIL_BACKEND") or "django.core.mail.backends.console.EmailBackend"
    }
}

# --- Operations -------------------------------------------------------------------------------
MAINTENANCE_MODE = env_bool("MAINTENANCE_MODE", False)
ALERT_EMAILS = env_list("ALERT_EMAILS")
ALERT_WEBHOOK_URL = env_str("ALERT_WEBHOOK_URL")
CORS_ALLOWED_ORIGINS = env_list("CORS_ALLOWED_ORIGINS")
CORS_URLS_REGEX = r"^/api/.*$"
# Rate limits (core.ratelimit): "<count>/<s|m|h|d>" per user or IP.
RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
RATELIMIT_DEFAULT = env_str("RATELIMIT_DEFAULT", "100/m")
RATELIMIT_AUTH = env_str("RATELIMIT_AUTH", "10/m")
# Failed logins (core.lockout, on django-axes): lock one account *from one client* after
# LOGIN_LOCKOUT_ATTEMPTS, one client (any accounts) after LOGIN_LOCKOUT_IP_ATTEMPTS, for
# LOGIN_LOCKOUT_MINUTES. An account failing from many clients (LOGIN_TARGETED_ATTEMPTS in the
# window) is never locked: unknown clients are slowed to LOGIN_TARGETED_RATE and staff alerted.
LOGIN_LOCKOUT_ATTEMPTS = env_int("LOGIN_LOCKOUT_ATTEMPTS", 5)
LOGIN_LOCKOUT_IP_ATTEMPTS = env_int("LOGIN_LOCKOUT_IP_ATTEMPTS", 20)
LOGIN_LOCKOUT_MINUTES = env_int("LOGIN_LOCKOUT_MINUTES", 15)
LOGIN_TARGETED_ATTEMPTS = env_int("LOGIN_TARGETED_ATTEMPTS", 20)
LOGIN_TARGETED_RATE = env_str("LOGIN_TARGETED_RATE", "3/m")
AXES_ENABLED = True
AXES_HANDLER = "core.lockout.LockoutHandler"
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_FAILURE_LIMIT = "core.lockout.failure_limit"
AXES_COOLOFF_TIME = "core.lockout.cool_off"
AXES_USERNAME_FORM_FIELD = "login"
AXES_USERNAME_CALLABLE = "core.lockout.username_of"
AXES_CLIENT_IP_CALLABLE = "core.lockout.ip_of"
AXES_LOCKOUT_CALLABLE = "core.lockout.lockout_response"
# A refused try while locked does not extend the lock (an attacker can't keep it going).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Threadly clears failures itself on login (both the email and the handle) and password reset.
AXES_RESET_ON_SUCCESS = False
AXES_VERBOSE = False
# Reverse proxies in front of the app that append to X-Forwarded-For (0: use REMOTE_ADDR).
# Set it only when every request really comes through that many proxies: otherwise a client
# sends its own X-Forwarded-For and picks the IP the rate limits and lock-outs see.
NUM_PROXIES = env_int("NUM_PROXIES", 0)
# ops_status alerts: at most one message per metric and level per window.
ALERT_WINDOW_MINUTES = env_int("ALERT_WINDOW_MINUTES", 60)
# --- Alerts and metrics (ops/status.py, ops/alerts.py; thresholds in docs/operations.md) ----
# PagerDuty Events API v2: the integration's routing key; the URL only changes in tests.
PAGERDUTY_ROUTING_KEY = env_str("PAGERDUTY_ROUTING_KEY")
PAGERDUTY_EVENTS_URL = env_str("PAGERDUTY_EVENTS_URL", "https://events.pagerduty.com/v2/enqueue")
# The error rate alerts only over at least this many requests in its 5-minute window.
ALERT_ERROR_RATE_MIN_REQUESTS = env_int("ALERT_ERROR_RATE_MIN_REQUESTS", 50)
# The database's disk or plan storage quota in MB (PostgreSQL); 0 = not known, not alerted.
DATABASE_STORAGE_LIMIT_MB = env_int("DATABASE_STORAGE_LIMIT_MB", 0)
# Incident log file (manage.py incident appends here too); backups and rotated logs.
LOG_DIR = Path(env_str("LOG_DIR") or BASE_DIR / "logs")
BACKUP_DIR = Path(env_str("BACKUP_DIR") or BASE_DIR / "backups")
# `manage.py maintenance on` touches this file, so the mode holds on this host even when the
# database and the cache are both down (core.maintenance).
MAINTENANCE_FLAG_FILE = Path(env_str("MAINTENANCE_FLAG_FILE") or LOG_DIR / "maintenance.flag")
# --- Backups (ops.backups): a private location, a schedule, a retention, a freshness alert ---
# Hours between scheduled backups (run_worker asks every 15 minutes; 0 = no schedule, and no
# freshness check). ops_status and /health: WARN past interval + slack, CRIT past 2x interval.
BACKUP_INTERVAL_HOURS = env_int("BACKUP_INTERVAL_HOURS", 0 if DEBUG or RUNNING_TESTS else 24)
BACKUP_SLACK_HOURS = env_int("BACKUP_SLACK_HOURS", 2)
BACKUP_KEEP_DAILY = env_int("BACKUP_KEEP_DAILY", 7)
BACKUP_KEEP_WEEKLY = env_int("BACKUP_KEEP_WEEKLY", 4)
# A private S3 bucket (or a prefix of one) for backups; empty = BACKUP_DIR on local disk.
BACKUP_BUCKET = env_str("BACKUP_BUCKET")
BACKUP_PREFIX = env_str("BACKUP_PREFIX").strip("/")

# --- Static and media files -------------------------------------------------------------------
STATIC_URL = "/static/"
# Where collectstatic writes the hashed files WhiteNoise serves.
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT") or BASE_DIR / "media")
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL")
if AWS_STORAGE_BUCKET_NAME:
    _media_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL or None,
            "custom_domain": env_str("AWS_S3_CUSTOM_DOMAIN") or None,
            "file_overwrite": False,
            "default_acl": None,
            "querystring_auth": False,
        },
    }
else:
    _media_storage = {"BACKEND": "django.core.files.storage.FileSystemStorage"}
if BACKUP_BUCKET:
    if BACKUP_BUCKET == AWS_STORAGE_BUCKET_NAME and not BACKUP_PREFIX:
        raise ImproperlyConfigured(
            "BACKUP_BUCKET is the media bucket with no BACKUP_PREFIX: database dumps would sit "
            "among public photos. Use a private bucket, or at least a BACKUP_PREFIX no public "
            "bucket policy covers."
        )
    # Private objects, reachable only through short-lived signed URLs; never a custom
    # (public CDN) domain.
    _backup_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": BACKUP_BUCKET,
            "location": BACKUP_PREFIX,
            "endpoint_url": env_str("AWS_S3_ENDPOINT_URL") or None,
            "custom_domain": None,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": 600,
            "file_overwrite": False,
        },
    }
else:
    if BACKUP_DIR.resolve().is_relative_to(MEDIA_ROOT.resolve()):
        raise ImproperlyConfigured(
            "BACKUP_DIR is inside MEDIA_ROOT, whose files are served publicly. Put backups "
            "elsewhere."
        )
    _backup_storage = {"BACKEND": "ops.backups.PrivateFileSystemStorage"}
STORAGES = {
    "default": _media_storage,
    "backups": _backup_storage,
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or RUNNING_TESTS
        else "core.static_storage.ManifestStaticStorage"
    },
}

# --- Security ---------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG and not RUNNING_TESTS)
SECURE_REDIRECT_EXEMPT = [r"^api/health", r"^health$"]
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:", "blob:", *env_list("CSP_IMG_SRC")],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF, *PUSHER_CONNECT_SRC, *env_list("CSP_CONNECT_SRC")],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF, *env_list("CSP_FORM_ACTION")],
    "base-uri": [CSP.SELF],
    "object-src": [CSP.NONE],
    # The service worker (/sw.js) and the web manifest (/manifest.webmanifest), same origin.
    "worker-src": [CSP.SELF],
    "manifest-src": [CSP.SELF],
}

# --- Internationalisation ---------------------------------------------------------------------
LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Logging ----------------------------------------------------------------------------------
# Any case ("warning" as gunicorn spells it, or "WARNING"): logging wants upper case.
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
LOG_FORMAT = env_str("LOG_FORMAT", "text" if DEBUG or RUNNING_TESTS else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
        },
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "INFO"}},
}
