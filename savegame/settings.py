"""SaveGame settings: one file, driven by the environment (see .env.example).

Tests add their overrides in savegame/settings_test.py.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from pathlib import Path

import environ
from kombu import Queue

from savegame import embedded

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

DATA_DIR = embedded.data_dir(BASE_DIR)


def _dev_secret_key() -> str:
    # A per-checkout random key for the embedded dev setup; production always sets SECRET_KEY.
    path = DATA_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
    return path.read_text().strip()


DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default=None) or _dev_secret_key()
BASE_DOMAIN = env("BASE_DOMAIN", default="localhost")
# Unknown hosts are answered by the tenant middleware with a friendly 404, so Host checking
# happens there; custom domains are added at run time by the platform owner.
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
SITE_SCHEME = env("SITE_SCHEME", default="http" if DEBUG or BASE_DOMAIN == "localhost" else "https")
SITE_PORT = env("SITE_PORT", default=env("PORT", default="8000") if BASE_DOMAIN == "localhost" else "")

# --- apps: decided before the first migration -------------------------------------------------
# Written out once, in order (django-tenants: SHARED_APPS live in the public schema, TENANT_APPS in
# every organization's). INSTALLED_APPS is both, shared first.
SHARED_APPS = [
    "django_tenants",
    "tenants",
    "accounts",
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.admin",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "corsheaders",
    "django_otp",
    "drf_spectacular_sidecar",  # Swagger UI from our own static files (no CDN)
    "analytics.platform",  # one summary row per organization, for the platform owner
    "payments.platform",  # refused callbacks, capped per organization (see "# --- payments ---")
    "payments.watch",  # suspicious-pattern findings (see "# --- suspicious patterns ---")
    "axes",  # Django admin login lockout (see "# --- hardening ---"); its counters live in Redis
]
TENANT_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "accounts",
    "django_otp",
    "rest_framework_simplejwt.token_blacklist",
    "challenges",
    "payments",
    "notifications",
    "analytics",
    "web",
    "ussd",  # feature phones: USSD menu and SMS commands (docs/USSD.md)
]
INSTALLED_APPS = [
    *SHARED_APPS,
    *[app for app in TENANT_APPS if app not in SHARED_APPS],
    "savegame.apps.SavegameOpsConfig",  # tracing hooks at start-up (see "# --- tracing ---")
]

TENANT_MODEL = "tenants.Organization"
TENANT_DOMAIN_MODEL = "tenants.Domain"
PUBLIC_SCHEMA_NAME = "public"
PUBLIC_SCHEMA_URLCONF = "savegame.urls_public"
ROOT_URLCONF = "savegame.urls_tenants"
DEFAULT_NOT_FOUND_TENANT_VIEW = "tenants.views.unknown_host"
TENANT_LIMIT_SET_CALLS = True
# New organizations are provisioned by cloning this fully migrated template schema (fast), then
# faking the migrations it already has. `manage.py migrate_all` keeps it migrated.
TENANT_BASE_SCHEMA = "tenant_template"
TENANT_CREATION_FAKES_MIGRATIONS = True
TENANT_MULTIPROCESSING_MAX_PROCESSES = env.int("TENANT_MIGRATION_PROCESSES", default=2)
TENANT_MULTIPROCESSING_CHUNKS = 10
# Cross-tenant jobs close their connection after this many schemas (tenants/visits.py): a backend
# caches ~11 KB per table it touched, and one transaction over every tenant runs out of lock slots.
TENANT_SCHEMAS_PER_CONNECTION = env.int("TENANT_SCHEMAS_PER_CONNECTION", default=50)
# migrate_all reads this many schemas' django_migrations per query (one table each).
TENANT_MIGRATION_CHECK_BATCH = env.int("TENANT_MIGRATION_CHECK_BATCH", default=250)
# Ready-made schemas kept for the next organizations (renamed on demand, refilled after each one).
TENANT_SCHEMA_POOL_SIZE = env.int("TENANT_SCHEMA_POOL_SIZE", default=3)
# New schemas replay the template's pg_dump (tenants/provisioning.py); empty: found on its own.
TENANT_PG_DUMP = env("TENANT_PG_DUMP", default="")
TENANT_HOST_CACHE_SECONDS = env.int("TENANT_HOST_CACHE_SECONDS", default=60)
# The callback path (/hooks/) also keeps the host -> organization lookup in each process for this
# long: a change made through tenants.services reaches every process within this bound.
TENANT_HOST_LOCAL_CACHE_SECONDS = env.int("TENANT_HOST_LOCAL_CACHE_SECONDS", default=5)

MIDDLEWARE = [
    "savegame.middleware.RequestLogMiddleware",
    # Headers on every answer and no debug page for a remote caller, /hooks/ included (savegame/hardening.py).
    "savegame.hardening.SecurityHeadersMiddleware",
    "savegame.hardening.ContentSecurityPolicyMiddleware",  # django-csp: CONTENT_SECURITY_POLICY, request.csp_nonce
    "savegame.hardening.NoRemoteDebugPageMiddleware",
    # Request metrics wrap everything inside the log; /livez, /readyz and /metrics are answered next,
    # before tenant routing (docs/OPERATIONS.md).
    "savegame.metrics.RequestMetricsMiddleware",
    "savegame.health.OpsMiddleware",
    # Outermost after the request log: any non-JSON error under /api/ (Django 404/405/500) becomes JSON.
    "savegame.api.ApiJsonErrorMiddleware",
    # /hooks/ (Daraja, Africa's Talking) is answered here, past everything below it.
    "tenants.middleware.HooksMiddleware",
    "tenants.middleware.OrganizationMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    # Rate limits for /api/ and /hooks/ in Redis (savegame.ratelimit; rates under "# --- identity ---").
    "savegame.ratelimit.RateLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The organization's language is the default, the member's own wins (web/locale.py). It needs
    # request.user, so it runs here instead of Django's LocaleMiddleware.
    "web.locale.OrganizationLocaleMiddleware",
    # Everything under /manage/ is org_admin only, whichever app serves it (web/guard.py).
    "web.guard.ManageAccessMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",  # admin login lockout (see "# --- hardening ---")
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "tenants.context_processors.organization",
                "payments.context_processors.save_now",  # Save now only once M-Pesa works (issue 16 item 21)
                "live.context_processors.live",  # where pages open their live streams
            ],
        },
    },
]
WSGI_APPLICATION = "savegame.wsgi.application"
ASGI_APPLICATION = "savegame.asgi.application"

# --- database ---------------------------------------------------------------------------------
if env("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
else:
    DATABASES = {"default": embedded.postgres_settings(BASE_DIR)}
# django-tenants' backend, minus a repeated `SET search_path` per request (savegame/db/base.py).
DATABASES["default"]["ENGINE"] = "savegame.db"
# The web tier runs under uvicorn (ASGI), where each request's sync code may run on a new thread:
# persistent per-thread connections (CONN_MAX_AGE > 0) would pile up until PostgreSQL refuses
# clients. So connections close per request by default; DB_POOL=true reuses them through Django's
# psycopg pool instead. (django-tenants resets search_path whenever a connection is handed out.)
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=0)
if env.bool("DB_POOL", default=False):
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 2, "max_size": env.int("DB_POOL_MAX", default=10), "timeout": 10,
    }
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# Statements run through savegame.prepared (the callback inbox insert) are prepared on a connection's
# Nth run (psycopg's own default, 5); Django's client-binding cursors are never prepared whatever this
# says. "off" for a pooler that cannot keep prepared statements (docs/DEPLOYMENT.md).
_prepare_threshold = env("DB_PREPARE_THRESHOLD", default="5").strip().lower()
DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = (
    None if _prepare_threshold == "off" else int(_prepare_threshold))
# Tenant apps go to the organization's database (tenants/routing.py: "default" until a second exists).
DATABASE_ROUTERS = ("tenants.routing.OrganizationDatabaseRouter", "django_tenants.routers.TenantSyncRouter")
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- redis: cache, celery broker, throttles, leaderboards, pub/sub -----------------------------
REDIS_URL = env("REDIS_URL", default="") or embedded.redis_url(BASE_DIR)
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        # Without the tenant-aware key function, cached data would leak between organizations.
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
    },
    # Sessions' copy of the tenant's django_session rows. Redis down: every read misses and falls back
    # to the database, every write goes to the database only (IGNORE_EXCEPTIONS), so logins and pages
    # keep working without it.
    "sessions": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "django_tenants.cache.make_key",
        "REVERSE_KEY_FUNCTION": "django_tenants.cache.reverse_key",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2, "IGNORE_EXCEPTIONS": True},
    },
}
# Sessions are read from the cache (Redis, tenant-keyed) and written through to the tenant's table:
# a logged-in page costs no session query, and a Redis flush logs nobody out.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
SESSION_CACHE_ALIAS = "sessions"

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL)
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_BACKEND = None
CELERY_TIMEZONE = "Africa/Nairobi"
CELERY_BEAT_SCHEDULE: dict = {}
# A worker started without -Q consumes every queue declared here. Payment tasks get their own queue
# so a backlog of other work never delays a credit; notification sends get theirs so a broadcast
# never delays payment processing.
# Task names are `<app label>.<noun>_<verb>` (savegame/tasknames.py), so a queue is chosen by app label:
# the suspicious-pattern checks (`payments_watch.*`) stay on the default queue, never delaying a credit.
CELERY_TASK_QUEUES = [Queue("celery"), Queue("notifications"), Queue("payments")]
CELERY_TASK_ROUTES = {"notifications.*": {"queue": "notifications"}, "payments.*": {"queue": "payments"}}

# --- auth -------------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English"), ("sw", "Kiswahili")]
LOCALE_PATHS = [BASE_DIR / "locale"]
FORMAT_MODULE_PATH = ["savegame.formats"]  # Kiswahili number and date formats (Django has none)
TIME_ZONE = "Africa/Nairobi"
USE_I18N = True
USE_TZ = True

# --- static and media -------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", default=str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG and env.bool("STATIC_MANIFEST", default=True)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- API --------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Org-bound JWTs for the API (accounts.authentication), the session for the site's own pages.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.OrganizationJWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # Deeply nested JSON is a 400, not a RecursionError 500 (savegame/jsonbody.py, docs/SECURITY.md).
    "DEFAULT_PARSER_CLASSES": [
        "savegame.jsonbody.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "savegame.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "SaveGame API",
    "DESCRIPTION": "Savings challenges, M-Pesa deposits, leaderboards and analytics per organization.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # Swagger UI served from our own static files (no CDN).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "accounts.schema.strip_trailing_slashes",
    ],
    "ENUM_NAME_OVERRIDES": {
        "UserRoleEnum": "accounts.models.User.Role",
        "MemberRoleEnum": ["member", "org_admin"],
    },
}
CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
API_RATE_PER_IP = env("API_RATE_PER_IP", default="100/min")
API_RATE_PER_ORG = env("API_RATE_PER_ORG", default="1000/min")
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# --- security ---------------------------------------------------------------------------------
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
# django-fernet-fields-v2: MultiFernet over FIELD_ENCRYPTION_KEYS (newest first: it encrypts with the
# first and decrypts with any). Without keys (dev only) a key is derived from SECRET_KEY.
FERNET_KEYS = FIELD_ENCRYPTION_KEYS or [SECRET_KEY]
FERNET_USE_HKDF = not FIELD_ENCRYPTION_KEYS
SESSION_COOKIE_SECURE = SITE_SCHEME == "https"
CSRF_COOKIE_SECURE = SITE_SCHEME == "https"
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if TRUSTED_PROXY_COUNT else None
X_FRAME_OPTIONS = "DENY"

# --- integrations -----------------------------------------------------------------------------
SMS_BACKEND = env("SMS_BACKEND", default="console")
SMS_FILE_PATH = env("SMS_FILE_PATH", default=str(DATA_DIR / "sms.jsonl"))
MPESA_ENV = env("MPESA_ENV", default="simulator")
MPESA_ALLOWED_IPS = env.list("MPESA_ALLOWED_IPS", default=[])

# --- tracing (savegame/tracing.py; off by default) ---
OTEL_ENABLED = env.bool("OTEL_ENABLED", default=False)
OTEL_SERVICE_NAME = env("OTEL_SERVICE_NAME", default="savegame")
OTEL_EXPORTER_OTLP_ENDPOINT = env("OTEL_EXPORTER_OTLP_ENDPOINT", default="")
OTEL_CONSOLE = env.bool("OTEL_CONSOLE", default=False)

# --- logging ----------------------------------------------------------------------------------
LOG_LEVEL = env("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"context": {"()": "savegame.logging.ContextFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s %(schema)s %(request_id)s"
            + (" %(trace_id)s %(span_id)s" if OTEL_ENABLED else ""),  # tracing on: each line names its trace
        }
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json", "filters": ["context"]}
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.server": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
        "pgserver": {"level": "WARNING"},
    },
}

SENTRY_DSN = env("SENTRY_DSN", default="")
if SENTRY_DSN:
    import sentry_sdk

    sentry_sdk.init(dsn=SENTRY_DSN, send_default_pii=False, traces_sample_rate=0.0)

# --- identity ---
# Phone OTP login (accounts.otp), JWT for the API, session login for the site, rate limits for /api/
# and /hooks/ (savegame.ratelimit), JSON errors under /api/ (savegame.api), OpenAPI docs.
OTP_CODE_DIGITS = 6
OTP_VALID_SECONDS = 300
OTP_MAX_TRIES = 5  # per code; a new code starts again (sends are capped below)
OTP_SMS_THROTTLE_FACTOR = env.int("OTP_SMS_THROTTLE_FACTOR", default=1)  # django-otp back-off 1, 2, 4 ... s
OTP_RESEND_COOLDOWN_SECONDS = 60
# Comma-separated rates all apply: with 5 tries per code, 10 codes a day bound guessing to 50/day.
OTP_SEND_RATE_PER_PHONE = env("OTP_SEND_RATE_PER_PHONE", default="5/hour,10/day")
# Kenyan mobile carriers put many phones behind one address (CGNAT): keep this well above a household.
OTP_SEND_RATE_PER_IP = env("OTP_SEND_RATE_PER_IP", default="20/10min")
# /hooks/ counts only refused requests (wrong secret, malformed, address not allowed): a stored callback
# never spends these, so a Daraja burst is never turned away; a prober is, past these many refusals.
HOOK_RATE_PER_IP = env("HOOK_RATE_PER_IP", default="300/min")
HOOK_RATE_PER_ORG = env("HOOK_RATE_PER_ORG", default="3000/min")

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=30)),
    "ROTATE_REFRESH_TOKENS": False,  # CONTRACT: refresh answers {"access"} and the refresh stays valid
    "UPDATE_LAST_LOGIN": False,
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default="") or SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
}
JWT_ORG_CLAIM = "org"  # the organization's schema; checked against request.tenant on every request

CORS_ALLOW_CREDENTIALS = False  # the API is for bearer tokens; cookies stay same-origin
CORS_EXPOSE_HEADERS = ["Retry-After", "X-Request-ID"]

# --- notifications ----------------------------------------------------------------------------
# Africa's Talking: the platform account, used by organizations that have not set their own
# (per-org credentials live encrypted in notifications.SmsSettings). The *_URL overrides point the
# official SDK at another host (a local stand-in in tests and benchmarks); empty = the real API.
AFRICASTALKING_USERNAME = env("AFRICASTALKING_USERNAME", default="")
AFRICASTALKING_API_KEY = env("AFRICASTALKING_API_KEY", default="")
AFRICASTALKING_SENDER_ID = env("AFRICASTALKING_SENDER_ID", default="")
AFRICASTALKING_WHATSAPP_NUMBER = env("AFRICASTALKING_WHATSAPP_NUMBER", default="")
AFRICASTALKING_API_URL = env("AFRICASTALKING_API_URL", default="")
AFRICASTALKING_CHAT_URL = env("AFRICASTALKING_CHAT_URL", default="")
AFRICASTALKING_MAX_RECIPIENTS = env.int("AFRICASTALKING_MAX_RECIPIENTS", default=1000)  # numbers per bulk request
WEBPUSH_VAPID_PRIVATE_KEY = env("WEBPUSH_VAPID_PRIVATE_KEY", default="")
WEBPUSH_VAPID_PUBLIC_KEY = env("WEBPUSH_VAPID_PUBLIC_KEY", default="")
WEBPUSH_VAPID_SUBJECT = env("WEBPUSH_VAPID_SUBJECT", default="mailto:ops@savegame.localhost")
WEBPUSH_DEV_KEY_PATH = str(DATA_DIR / "vapid_private.pem")
NOTIFICATIONS_BATCH_SIZE = env.int("NOTIFICATIONS_BATCH_SIZE", default=500)  # outbox rows per send task
NOTIFICATIONS_FANOUT_BATCH = env.int("NOTIFICATIONS_FANOUT_BATCH", default=1000)  # members per fan-out step
NOTIFICATIONS_MAX_ATTEMPTS = 8
NOTIFICATIONS_SWEEP_GRACE_SECONDS = 60
NOTIFICATIONS_SWEEP_LIMIT = 20_000
NOTIFICATIONS_QUIET_HOURS = ("21:00", "07:00")  # org default; each org may change its own
NOTIFICATIONS_DAILY_CAP = 5
NOTIFICATIONS_COST_PER_SEGMENT = "0.80"  # KES, for estimates until an org sets its own

# --- web ---
LANGUAGE_COOKIE_NAME = "django_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"

# --- analytics ---
# The nightly rollup also re-rolls this many earlier days, for ledger rows that arrive late.
ANALYTICS_REROLL_DAYS = env.int("ANALYTICS_REROLL_DAYS", default=2)

# --- payments ---
# Where Daraja lives when MPESA_ENV=simulator (`python manage.py daraja_simulator --port 8900`).
MPESA_SIMULATOR_URL = env("MPESA_SIMULATOR_URL", default=f"http://127.0.0.1:{env.int('MPESA_SIMULATOR_PORT', default=8900)}")
MPESA_HTTP_TIMEOUT = env.float("MPESA_HTTP_TIMEOUT", default=15.0)
# STK pushes still pending after this many minutes are checked with stkpushquery.
MPESA_STK_RECONCILE_MINUTES = env.int("MPESA_STK_RECONCILE_MINUTES", default=3)
# Refused callbacks (bad JSON, missing fields, wrong secret, address not allowed) are shown to
# admins from a capped public-schema table: at most this many recorded per organization, the
# newest PAYMENTS_REFUSALS_KEEP kept (every refusal is still logged). App: payments.platform (public).
PAYMENTS_REFUSALS_RATE = env("PAYMENTS_REFUSALS_RATE", default="30/min")
PAYMENTS_REFUSALS_KEEP = env.int("PAYMENTS_REFUSALS_KEEP", default=500)
# Payment tasks run on the "payments" queue (CELERY_TASK_QUEUES / CELERY_TASK_ROUTES, "# --- redis ---").
# Without this, Celery's Django fixup closes the DB connection before and after every task: a new
# PostgreSQL connection per callback processed (measured: the drain ran ~4x slower). Connections are
# still recycled every N tasks and health-checked (CONN_HEALTH_CHECKS).
CELERY_DB_REUSE_MAX = env.int("CELERY_DB_REUSE_MAX", default=100)
# Callback ingestion (payments/inbox.py, docs/DEPLOYMENT.md): a stored callback kicks one
# `payments.inbox_drain` per organization (Redis SET NX PX); the drain credits in batches of
# PAYMENTS_DRAIN_BATCH rows and hands each batch to scoring in one transaction. While the kick key
# lives (TTL below) further callbacks publish nothing. A drain that finds a full batch (a burst)
# starts PAYMENTS_DRAIN_HELPERS more drains beside it (rows are split with SKIP LOCKED); give the
# payments worker that many extra processes. A drain re-queues itself after its time budget.
PAYMENTS_DRAIN_BATCH = env.int("PAYMENTS_DRAIN_BATCH", default=100)
PAYMENTS_DRAIN_HELPERS = env.int("PAYMENTS_DRAIN_HELPERS", default=1)
PAYMENTS_DRAIN_KICK_TTL_MS = env.int("PAYMENTS_DRAIN_KICK_TTL_MS", default=10_000)
# A web process kicks each organization's drain at most once per this many ms, from a thread of its own
# (payments/kicks.py): a burst pays one Redis round trip per window, not one per callback. 0 = inline.
PAYMENTS_KICK_RETRY_SECONDS = env.float("PAYMENTS_KICK_RETRY_SECONDS", default=1.0)  # a kept kick, while Redis is down
PAYMENTS_KICK_COALESCE_MS = env.int("PAYMENTS_KICK_COALESCE_MS", default=100)
PAYMENTS_DRAIN_TIME_BUDGET = env.float("PAYMENTS_DRAIN_TIME_BUDGET", default=30.0)
PAYMENTS_RETRY_LATER_SECONDS = 2  # first retry of a row the drain could not apply (then back-off)

# --- live (docs/DEPLOYMENT.md, docs/SCALING.md) ---
# Streams are served by the `live` process (live/), one Redis subscription per process.
LIVE_MAX_STREAMS = env.int("LIVE_MAX_STREAMS", default=12_000)  # per process; the next gets 503 + Retry-After
LIVE_STREAMS_PER_USER = env.int("LIVE_STREAMS_PER_USER", default=5)  # across processes; the next gets 429
LIVE_LEASE_SECONDS = env.float("LIVE_LEASE_SECONDS", default=60.0)  # a dead process's streams lapse after this
LIVE_COALESCE_SECONDS = env.float("LIVE_COALESCE_SECONDS", default=0.5)  # at most one scores event per board
LIVE_HEARTBEAT_SECONDS = env.float("LIVE_HEARTBEAT_SECONDS", default=15.0)
LIVE_STREAM_SECONDS = env.float("LIVE_STREAM_SECONDS", default=600.0)  # then the browser reconnects
LIVE_RETRY_MS = env.int("LIVE_RETRY_MS", default=3000)
LIVE_RETRY_AFTER_SECONDS = env.int("LIVE_RETRY_AFTER_SECONDS", default=10)
LIVE_BOARD_TOP = env.int("LIVE_BOARD_TOP", default=20)
LIVE_DB_THREADS = env.int("LIVE_DB_THREADS", default=4)  # = the live process's PostgreSQL connections, at most
LIVE_ACCESS_CACHE_SECONDS = env.float("LIVE_ACCESS_CACHE_SECONDS", default=10.0)
LIVE_REDIS_CONNECTIONS = env.int("LIVE_REDIS_CONNECTIONS", default=32)  # reads and leases; plus one subscription
# Where pages open streams: "" = the same origin (the proxy routes the stream paths to `live`);
# a port (dev: `make run`) = the same host on that port, with credentialed CORS for the same host.
# The member's home tiles on their notification stream come from the web app's selector (the live
# process names it here rather than importing a sibling app).
LIVE_TILES = "web.selectors.member_home_tiles"
LIVE_PORT = env("LIVE_PORT", default="")
LIVE_CORS_ORIGIN_REGEX = env("LIVE_CORS_ORIGIN_REGEX", default=r"^https?://[^/]+$" if LIVE_PORT else "")
# A row that failed this many tries is quarantined (held back for an admin's retry) instead of retried forever.
# How often beat sweeps every organization's inbox for rows a lost kick, broker or worker left behind, and
# how old a row or an unscored deposit must be to count as left behind. 10 s + 15 s puts a worker killed
# between crediting and scoring back on track within ~25 s (it was 60 s + 60 s: 71-87 s in the campaign);
# raise both for thousands of organizations (a sweep is one task per organization). docs/RELIABILITY.md
PAYMENTS_SWEEP_SECONDS = env.float("PAYMENTS_SWEEP_SECONDS", default=10.0)
PAYMENTS_SWEEP_CUTOFF_SECONDS = env.float("PAYMENTS_SWEEP_CUTOFF_SECONDS", default=15.0)
PAYMENTS_INBOX_QUARANTINE_AFTER = env.int("PAYMENTS_INBOX_QUARANTINE_AFTER", default=8)
# --- operations (docs/OPERATIONS.md) ---
# /livez, /readyz and /metrics are answered right after the request log, before tenant routing
# (savegame.health.OpsMiddleware); request metrics wrap everything inside the log.
OPS_HEARTBEAT_SECONDS = env.float("OPS_HEARTBEAT_SECONDS", default=15.0)
READYZ_WORKER_STALE_SECONDS = env.int("READYZ_WORKER_STALE_SECONDS", default=60)
READYZ_BEAT_STALE_SECONDS = env.int("READYZ_BEAT_STALE_SECONDS", default=120)
# /metrics: a bearer token (Authorization: Bearer <token>) or a source address in the allow-list;
# with neither set it answers 404 to everyone. Never public.
METRICS_TOKEN = env("METRICS_TOKEN", default="")
METRICS_ALLOWED_IPS = env.list("METRICS_ALLOWED_IPS", default=[])
# Organization labels stay bounded: the top N organizations by deposits get their own label, the rest
# are "other" (the list is refreshed every 10 minutes in each process).
METRICS_TOP_ORGS = env.int("METRICS_TOP_ORGS", default=30)
# prometheus-client multiprocess mode: every web and worker process on a host writes its samples
# here and /metrics adds them up. The process manager empties it at start (make run does).
import os  # noqa: E402

PROMETHEUS_MULTIPROC_DIR = env("PROMETHEUS_MULTIPROC_DIR", default=str(DATA_DIR / "prometheus"))
try:
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
except OSError:  # a read-only checkout: the host's temporary directory instead
    import tempfile

    PROMETHEUS_MULTIPROC_DIR = os.path.join(tempfile.gettempdir(), "savegame-prometheus")
    Path(PROMETHEUS_MULTIPROC_DIR).mkdir(parents=True, exist_ok=True)
os.environ["PROMETHEUS_MULTIPROC_DIR"] = PROMETHEUS_MULTIPROC_DIR
# Scrape-time collectors (they read Redis and the database when /metrics is asked); each app adds its own.
METRICS_COLLECTORS = ["savegame.metrics.OpsCollector", "payments.metrics.MoneyCollector"]

# --- suspicious patterns (payments/watch, docs/OPERATIONS.md "Suspicious patterns") ---
# Findings flag, never block. Each organization may override any of these in Django admin.
SUSPICIOUS_DEFAULTS = {
    "shared_payer_accounts": 4,      # one phone (hashed MSISDN) paying into this many members' accounts ...
    "shared_payer_days": 30,         # ... within this many days
    "outsized_multiple": 10,         # a deposit this many times the member's 90-day median ...
    "outsized_floor": 10_000,        # ... and at least this many KES
    "outsized_history": 3,           # with at least this many earlier deposits to take a median of
    "burst_count": 10,               # this many deposits ...
    "burst_max_amount": 100,         # ... of at most this many KES each ...
    "burst_minutes": 60,             # ... within this many minutes
    "reversals_count": 2,            # a member with this many reversed deposits ...
    "reversals_days": 30,            # ... within this many days
    "assignments_count": 5,          # one admin assigning this many unmatched payments to one member ...
    "assignments_days": 7,           # ... within this many days
    "outside_allowlist_count": 1,    # refusals from addresses outside MPESA_ALLOWED_IPS in a day
}

# --- ussd (feature phones: USSD menu and SMS commands, Africa's Talking) -------------------------
# Its own tenant tables (sessions with their networkCode, incoming SMS); the callbacks arrive on the
# platform host and name their organization by tenants.Organization.ussd_service_code / sms_shortcode.
# Africa's Talking ends a USSD session after about 180 s; the menu's state lives in Redis that long.
USSD_SESSION_SECONDS = env.int("USSD_SESSION_SECONDS", default=180)
# Callbacks (USSD steps and incoming SMS) per phone number; comma-separated rates all apply.
USSD_RATE_PER_PHONE = env("USSD_RATE_PER_PHONE", default="30/min,200/day")
# Africa's Talking's source addresses for USSD / incoming SMS (empty = no check, as in development).
AFRICASTALKING_ALLOWED_IPS = env.list("AFRICASTALKING_ALLOWED_IPS", default=[])
# --- hardening (docs/SECURITY.md) ---
# Outbound requests to URLs a user chose (web push) go to public https hosts only (savegame.netguard);
# these URL prefixes are exempt (a local stand-in in tests and benchmarks). Empty in production.
OUTBOUND_TRUSTED_PREFIXES = env.list("OUTBOUND_TRUSTED_PREFIXES", default=[])
WEBPUSH_TIMEOUT_SECONDS = env.float("WEBPUSH_TIMEOUT_SECONDS", default=5.0)
# Django admin's password login: django-axes locks an account, and separately an address, after
# AXES_FAILURE_LIMIT failures for AXES_COOLOFF_MINUTES (429); counters live in Redis (the cache), so
# no tables are needed in tenant schemas. Attempts are audited (accounts/admin_login.py).
# Logins name CachedModelBackend (the user row from accounts' cache); ModelBackend stays for the
# sessions made before it, so a deploy logs nobody out.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "accounts.backends.CachedModelBackend",
                           "django.contrib.auth.backends.ModelBackend"]
AXES_HANDLER = "axes.handlers.cache.AxesCacheHandler"
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account and per address
AXES_CLIENT_IP_CALLABLE = "savegame.clientip.client_ip"  # the same client address as everything else
AXES_RESET_ON_SUCCESS = True
AXES_USERNAME_FORM_FIELD = "username"  # what the admin form passes to authenticate() (not USERNAME_FIELD)
AXES_HTTP_RESPONSE_CODE = 429
AXES_ENABLE_ADMIN = False  # the audit log shows the attempts
AXES_VERBOSE = False
# Daraja's real range for one C2B / STK payment (KES); amounts outside it are refused at the callback.
from decimal import Decimal  # noqa: E402

MPESA_MIN_AMOUNT = Decimal(env("MPESA_MIN_AMOUNT", default="1"))
MPESA_MAX_AMOUNT = Decimal(env("MPESA_MAX_AMOUNT", default="250000"))
# Headers on every answer and no debug page for a remote caller (savegame/hardening.py). Right after
# the request log, so /hooks/ (answered by HooksMiddleware below) is covered too.
INTERNAL_IPS = env.list("INTERNAL_IPS", default=["127.0.0.1", "::1"])
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
if not DEBUG and SITE_SCHEME == "https":
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
SESSION_COOKIE_HTTPONLY = True
# Content-Security-Policy (django-csp, inside SecurityHeadersMiddleware so /hooks/ is covered): every
# fetch from our own origin only (default-src); scripts and styles from static/ (whitenoise) or an
# element carrying this response's nonce (the brand colours' <style> in the shells); no inline
# handlers, no style="" attributes. Django admin and the API docs run under the same policy. Images
# may also be data: URLs (Swagger UI's icons); the live tier's origin joins connect-src when it is
# another port (savegame.hardening.ContentSecurityPolicyMiddleware).
from csp.constants import NONCE, NONE, SELF  # noqa: E402

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "img-src": [SELF, "data:"],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
