"""Settings for RAWR HQ. The environment is read here and nowhere else.

With nothing set the project runs *embedded*: SQLite under ``RAWR_DATA_DIR`` and a
Celery broker that needs no server (a hardened kombu filesystem transport, see
``rawr_site/embedded_broker.py``). ``DATABASE_URL`` and ``CELERY_BROKER_URL`` move it onto
Postgres and Redis/RabbitMQ. ``RAWR_ENV=production`` refuses to start without a real
secret key and a real database.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from rawr_site.manifest import manifest_installed_apps
from rawr_site.production import unsafe_production_settings
from rawr_site.static_types import static_media_types

BASE_DIR = Path(__file__).resolve().parent.parent


def _env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return int(raw) if raw else default


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if not raw:
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


RAWR_ENV = os.environ.get("RAWR_ENV", "development")
IS_PRODUCTION = RAWR_ENV == "production"
DEBUG = _env_bool("DEBUG", default=False)

RAWR_DATA_DIR = Path(os.environ.get("RAWR_DATA_DIR", BASE_DIR / "var")).resolve()
RAWR_DATA_DIR.mkdir(parents=True, exist_ok=True)

_DEV_SECRET = "rawr-development-only-secret-key-not-for-production-use-0123456789"
SECRET_KEY = os.environ.get("SECRET_KEY", "")

ALLOWED_HOSTS = _env_list(
    "ALLOWED_HOSTS", [] if IS_PRODUCTION else ["127.0.0.1", "localhost", "testserver", "[::1]"]
)
if IS_PRODUCTION:
    # DEBUG, a default or weak SECRET_KEY, empty ALLOWED_HOSTS: every process refuses.
    _unsafe = unsafe_production_settings(
        debug=DEBUG,
        secret_key=SECRET_KEY,
        known_insecure_keys={_DEV_SECRET},
        allowed_hosts=ALLOWED_HOSTS,
    )
    if _unsafe:
        raise ImproperlyConfigured(
            "RAWR_ENV=production refuses unsafe settings: " + "; ".join(_unsafe)
        )
SECRET_KEY = SECRET_KEY or _DEV_SECRET
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])

# --- Database -------------------------------------------------------------------------
DATABASE_URL = os.environ.get("DATABASE_URL", "")
RAWR_EMBEDDED_DB = not DATABASE_URL
if RAWR_EMBEDDED_DB:
    if IS_PRODUCTION:
        raise ImproperlyConfigured("DATABASE_URL must be set when RAWR_ENV=production")
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(RAWR_DATA_DIR / "rawr.sqlite3"),
            # The web server and the worker share this file: wait for locks instead of
            # failing with "database is locked", and take the write lock up front.
            "OPTIONS": {
                "timeout": 30,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
            "TEST": {"NAME": str(RAWR_DATA_DIR / "rawr-test.sqlite3")},
        }
    }
else:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    if os.environ.get("TEST_DATABASE_NAME"):
        DATABASES["default"]["TEST"] = {"NAME": os.environ["TEST_DATABASE_NAME"]}

# Connections (README "Connections"). A web process borrows from one psycopg pool per
# process (gunicorn threads share it): a burst waits up to RAWR_DB_POOL_TIMEOUT seconds
# for a free connection instead of opening one per request, and when none comes the
# request is a 503 with Retry-After (rawr_site.unavailable), never a 500. Celery workers
# (prefork: a pool does not survive a fork) keep one persistent connection per child
# instead: rawr_site.celery swaps the pool for RAWR_WORKER_CONN_MAX_AGE when a worker starts.
RAWR_WEB_THREADS = _env_int("RAWR_WEB_THREADS", 4)
RAWR_DB_POOL_MAX = _env_int("RAWR_DB_POOL_MAX", RAWR_WEB_THREADS)
RAWR_DB_POOL_MIN = min(_env_int("RAWR_DB_POOL_MIN", 1), RAWR_DB_POOL_MAX)
RAWR_DB_POOL_TIMEOUT = float(os.environ.get("RAWR_DB_POOL_TIMEOUT", "10"))
RAWR_WORKER_CONN_MAX_AGE = _env_int("RAWR_WORKER_CONN_MAX_AGE", 300)
# Seconds a client is told to wait (Retry-After) when the database refuses a connection.
RAWR_DB_RETRY_AFTER_SECONDS = _env_int("RAWR_DB_RETRY_AFTER_SECONDS", 2)
if not RAWR_EMBEDDED_DB and RAWR_DB_POOL_MAX > 0:
    # Django's pool needs CONN_MAX_AGE = 0: a connection goes back to the pool after
    # every request instead of staying with the thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": RAWR_DB_POOL_MIN,
        "max_size": RAWR_DB_POOL_MAX,
        "timeout": RAWR_DB_POOL_TIMEOUT,
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Applications ---------------------------------------------------------------------
INSTALLED_APPS = [
    # Django's admin with the console site (rawr_site/console) as ``admin.site``.
    "rawr_site.console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_celery_results",
    "rawr_site.host",
    "workflows",
    "workflows.schedules",
    "coordination",
    # Capability apps come from the generated, committed manifest: adding a capability
    # never needs an edit here.
    *manifest_installed_apps(),
]

MIDDLEWARE = [
    "rawr_site.middleware.RequestBodyLimitMiddleware",
    "rawr_site.middleware.NulCharacterMiddleware",
    "rawr_site.middleware.CorrelationIdMiddleware",
    # /livez, /readyz, /healthz: answered before Host validation and HTTPS redirects.
    "rawr_site.health.ProbeMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Static files from the web process itself (gunicorn has no static handler).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "rawr_site.middleware.ApiErrorShapeMiddleware",
]

ROOT_URLCONF = "rawr_site.urls"
WSGI_APPLICATION = "rawr_site.wsgi.application"
ASGI_APPLICATION = "rawr_site.asgi.application"
CSRF_FAILURE_VIEW = "rawr_site.errors_views.csrf_failure"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- The console (admin) --------------------------------------------------------------
# Navigation groups, by what staff do: app labels or "app_label.ModelName". Models of apps
# named nowhere (the capabilities) land in "Capabilities".
RAWR_CONSOLE_GROUPS = {
    "Runs": ["workflows", "schedules"],
    "Coordination": ["coordination"],
    "Capabilities": [],
    "Access": ["auth", "rawr"],
}
# Reachable by URL, out of the navigation: Celery-level monitoring rows.
RAWR_CONSOLE_HIDDEN_APPS = ["django_celery_results"]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
# Times to the second everywhere Django formats them (rawr_site/formats/en/formats.py).
FORMAT_MODULE_PATH = ["rawr_site.formats"]

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("RAWR_STATIC_ROOT", RAWR_DATA_DIR / "staticfiles"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# WhiteNoise serves STATIC_ROOT (`make serve` runs collectstatic first), compressed copies
# (gzip) made at collectstatic time in production, far-future caching off: the names are
# not hashed (vendored ES modules import each other by plain relative name). Outside
# production it serves straight from the finders, so no collectstatic is needed.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_MAX_AGE = _env_int("RAWR_STATIC_MAX_AGE", 3600)
WHITENOISE_MIMETYPES = static_media_types(BASE_DIR / "static")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedStaticFilesStorage"
            if IS_PRODUCTION
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = IS_PRODUCTION
CSRF_COOKIE_SECURE = IS_PRODUCTION

# --- Request limits -------------------------------------------------------------------
# One number for both: Django's own guard and our 413 middleware agree on the limit.
RAWR_MAX_BODY_BYTES = _env_int("RAWR_MAX_BODY_BYTES", 1_048_576)
DATA_UPLOAD_MAX_MEMORY_SIZE = RAWR_MAX_BODY_BYTES

# --- Email -----------------------------------------------------------------------------
# The console backend prints mail (make run); tests use locmem (pytest-django sets it),
# workers started by tests a file backend in their temp dir; the SMTP backend uses EMAIL_HOST...
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(RAWR_DATA_DIR / "mail"))
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = _env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "RAWR HQ <invoices@rawr-hq.invalid>")

# --- API surfaces ---------------------------------------------------------------------
# Prefixes whose every response (Django's own 404/405/413/500 included) is JSON.
RAWR_RPC_PREFIX = "/rpc/"
RAWR_API_PREFIX = "/api/"
# "public" serves /api/schema/ and the docs to anyone; "staff" requires a staff session.
RAWR_SCHEMA_ACCESS = os.environ.get("RAWR_SCHEMA_ACCESS", "public")
# Throttle for ApiKey.last_used_at writes: one UPDATE per key per this many seconds.
RAWR_API_KEY_TOUCH_SECONDS = _env_int("RAWR_API_KEY_TOUCH_SECONDS", 60)

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rawr_site.host.drf_auth.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "EXCEPTION_HANDLER": "rawr_site.host.drf_errors.exception_handler",
    # JSON for every caller: a browser asking for text/html gets the same JSON (the
    # console is the page for people), not DRF's browsable HTML.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # Strict JSON (no NaN/Infinity/1e309, over-deep nesting is a 400): one parser for all.
    "DEFAULT_PARSER_CLASSES": [
        "rawr_site.host.drf_parsers.StrictJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "UNAUTHENTICATED_USER": None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "RAWR HQ API",
    "DESCRIPTION": (
        "Published routes of RAWR HQ: capability procedures under /api/orpc, durable "
        "workflow triggers under /api/workflows and the runs API. Authenticate with "
        "`Authorization: Bearer <api key>`."
    ),
    "VERSION": "1.0.0",
    # django-ninja emits OpenAPI 3.1 (JSON Schema 2020-12); the merged document must be 3.1.
    "OAS_VERSION": "3.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/",
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "PREPROCESSING_HOOKS": ["rawr_site.schema.preprocess_published_only"],
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "rawr_site.schema.merge_contract_routes",
    ],
    "SECURITY": [{"ApiKeyAuth": []}],
    # A writable CharField that refuses "" says so (minLength 1): fuzzers and clients trust it.
    "ENFORCE_NON_BLANK_FIELDS": True,
}

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
RAWR_EMBEDDED_BROKER = not CELERY_BROKER_URL
if RAWR_EMBEDDED_BROKER:
    # Hardened filesystem transport registered as "rawrfs" in rawr_site/celery.py.
    CELERY_BROKER_URL = "rawrfs://"
    _broker_dir = RAWR_DATA_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processing"),
        "control_folder": str(_broker_dir / "control"),
        "polling_interval": float(os.environ.get("RAWR_EMBEDDED_BROKER_POLL", "0.1")),
    }
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Run priority reaches Redis: one list per priority 0..9 (Redis serves 0 first; the
    # runtime maps a function's priority 9 = most urgent onto 0, workflows._enqueue).
    CELERY_BROKER_TRANSPORT_OPTIONS = {"priority_steps": list(range(10)), "sep": ":"}
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# RabbitMQ: queues are declared with x-max-priority, so a function's priority 0..9 counts.
CELERY_TASK_QUEUE_MAX_PRIORITY = 9
CELERY_RESULT_BACKEND = "django-db"
CELERY_RESULT_EXTENDED = True
# Celery-level monitoring only (the Run table is the source of truth): keep a day of rows;
# workers delete older ones hourly (workflows.sweeper).
CELERY_RESULT_EXPIRES = 86400
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = "UTC"
# The queue runs go to unless their function names one. `make test` gives every test
# session its own, so a stray worker on the same broker never takes the suite's messages.
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("RAWR_CELERY_QUEUE", "celery")
# Without it the Django fixup closes the DB connection after every task (2.5-3x slower).
CELERY_DB_REUSE_MAX = _env_int("CELERY_DB_REUSE_MAX", 200)

# Celery keeps Django's logging config, so worker lines carry the correlation id too.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_BROKER_CONNECTION_TIMEOUT = 2

# --- Durable workflows ----------------------------------------------------------------
# A claimed run's lease, renewed every third of it while the run executes. A dead worker's
# runs are executing again elsewhere about this long (+ one sweep interval) after it died.
RAWR_RUN_LEASE_SECONDS = float(os.environ.get("RAWR_RUN_LEASE_SECONDS", "15"))
# A step whose worker died this many times while running it fails with STEP_CRASHED.
RAWR_STEP_MAX_INTERRUPTIONS = int(os.environ.get("RAWR_STEP_MAX_INTERRUPTIONS", "3"))
# Steps are written once, when they end; one still running after this long is written as
# running (the console shows "running step X") by the run's lease keeper.
RAWR_STEP_RECORD_AFTER_SECONDS = float(os.environ.get("RAWR_STEP_RECORD_AFTER_SECONDS", "1"))
# A requested cancel that no step boundary applied within this long is applied by the sweeper.
RAWR_CANCEL_GRACE_SECONDS = float(os.environ.get("RAWR_CANCEL_GRACE_SECONDS", "30"))
# A trigger sends its message while its insert commits; a worker that gets the message
# first looks for the run again for up to this long (then the sweeper has it).
RAWR_CLAIM_WAIT_SECONDS = float(os.environ.get("RAWR_CLAIM_WAIT_SECONDS", "0.5"))
# An explicit Idempotency-Key dedupes triggers of one caller for this long (like Stripe).
RAWR_IDEMPOTENCY_WINDOW_SECONDS = float(os.environ.get("RAWR_IDEMPOTENCY_WINDOW_SECONDS", "86400"))
# Wake-ups further away than this are left to the sweeper instead of broker ETA messages.
RAWR_MAX_ETA_SECONDS = float(os.environ.get("RAWR_MAX_ETA_SECONDS", "300"))
# Every worker sweeps this often (0 disables); a run is re-sent after this grace.
RAWR_SWEEP_INTERVAL = float(os.environ.get("RAWR_SWEEP_INTERVAL", "5"))
RAWR_SWEEP_GRACE_SECONDS = float(os.environ.get("RAWR_SWEEP_GRACE_SECONDS", "30"))
# Cron schedules: every worker (and `rawr scheduler`) looks for due ticks this often (0 =
# off); a tick later than the grace counts as missed and follows its schedule's policy.
RAWR_SCHEDULER_INTERVAL = float(os.environ.get("RAWR_SCHEDULER_INTERVAL", "1"))
RAWR_SCHEDULE_GRACE_SECONDS = _env_int("RAWR_SCHEDULE_GRACE_SECONDS", 60)
# Extra modules holding durable functions (comma-separated), imported at startup by web
# and worker alike; end-to-end tests use it to give the real worker their test functions.
RAWR_WORKFLOW_MODULES = _env_list("RAWR_WORKFLOW_MODULES", [])
# Queues: a capability's functions may get a queue of their own so its workers scale apart
# ("search=search,invoicing=billing"; a function's own queue= wins). RAWR_QUEUES, when set,
# lists every queue workers consume: a declaration naming another one fails the start-up
# checks (a run sent there would never execute).
RAWR_CAPABILITY_QUEUES = dict(
    item.split("=", 1) for item in _env_list("RAWR_CAPABILITY_QUEUES", []) if "=" in item
)
RAWR_QUEUES = _env_list("RAWR_QUEUES", [])
# "celery" (the real path) or "inline" (unit tests drive the engine in-process).
RAWR_WORKFLOWS_DISPATCH = os.environ.get("RAWR_WORKFLOWS_DISPATCH", "celery")

# --- Micro-frontends (/rawr/) ---------------------------------------------------------------
# Capabilities whose MFE (capabilities/<cap>/web/index.js) the host mounts and serves:
# RAWR_MFE_ENABLED=search,invoicing; unset = every capability that has web/index.js;
# "-" = none. The manifest shows the result for the configuration it was generated with.
_mfe_enabled = os.environ.get("RAWR_MFE_ENABLED")
RAWR_MFE_ENABLED: list[str] | None = (
    None
    if _mfe_enabled is None or not _mfe_enabled.strip()
    else [c.strip() for c in _mfe_enabled.split(",") if c.strip() and c.strip() != "-"]
)
RAWR_HOST_APP_ID = os.environ.get("RAWR_HOST_APP_ID", "rawr-hq")
# ctx.runs.watch polls /rawr/runs/<id>/watch with If-None-Match every RAWR_RUN_WATCH_POLL_MS
# (an unchanged run is a 304 from one indexed query). RAWR_RUN_WATCH_WAIT_SECONDS > 0 makes
# it a long-poll instead (the server holds the request until a change, then the browser asks
# again at once): lower latency, but each open watch holds a web thread (gthread) meanwhile.
RAWR_RUN_WATCH_WAIT_SECONDS = float(os.environ.get("RAWR_RUN_WATCH_WAIT_SECONDS", "0"))
RAWR_RUN_WATCH_POLL_MS = int(os.environ.get("RAWR_RUN_WATCH_POLL_MS", "1000"))

# --- Logging --------------------------------------------------------------------------
# "text" (one readable line, the default) or "json" (one object per line, for a log
# pipeline; rawr_site/log_json.py). gunicorn's access and error lines follow it too.
RAWR_LOG_FORMAT = "json" if os.environ.get("RAWR_LOG_FORMAT", "").lower() == "json" else "plain"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"correlation": {"()": "rawr_site.log_context.CorrelationIdFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [cid=%(correlation_id)s] %(message)s"
        },
        "json": {"()": "rawr_site.log_json.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": RAWR_LOG_FORMAT,
            "filters": ["correlation"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.request": {"level": "ERROR"}},
}

# Covering indexes (INCLUDE) speed up the console on Postgres; SQLite (the embedded
# default) builds them without the extra columns, which is all it needs.
SILENCED_SYSTEM_CHECKS = ["models.W040"]
