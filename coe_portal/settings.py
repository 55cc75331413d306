"""Settings for the CoE Portal, read from the environment.

With no ``DATABASE_URL`` and no ``REDIS_URL`` everything runs embedded: SQLite and a
file-system Celery transport under ``var/``. Set them and the same code runs on PostgreSQL
and Redis. ``DEBUG`` off turns on the production hardening. ``.env.example`` lists every
variable read here.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)


def _env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="").strip().lower()
    if raw == "":
        return default
    if raw in {"1", "true", "yes", "on"}:
        return True
    if raw in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false (1/0, yes/no), got {raw!r}.")


def _env_int(name: str, default: int) -> int:
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None


# --- Core -------------------------------------------------------------------------------

# A laptop default, as healthchecks does; docker-compose.yml and the Dockerfile set DEBUG=0.
DEBUG = _env_bool("DEBUG", True)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-dev-key-only-for-DEBUG-never-for-production-000000000000000"  # noqa: S105
elif not DEBUG and len(SECRET_KEY) < 50:
    raise ImproperlyConfigured("SECRET_KEY must be at least 50 characters when DEBUG is off.")


def _env_list(name: str, default: list[str]) -> list[str]:
    raw = env.str(name, default="")
    if not raw.strip():
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
if not DEBUG and not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must be set when DEBUG is off (comma-separated).")
CSRF_TRUSTED_ORIGINS = _env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_NAME = env.str("SITE_NAME", default="CoE Portal")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "template_partials",
    "csp",
    "axes",
    "rules.apps.AutodiscoverRulesConfig",
    "django_celery_beat",
    "apps.core",
    "apps.accounts",
    "apps.library",
    "apps.registry",
    "apps.governance",
    "apps.telemetry",
    "apps.feedback",
    "apps.dashboards",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "apps.core.request_limits.RequestLimitsMiddleware",  # 413 and the API's 415, before CSRF reads a body
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "apps.accounts.middleware.SessionTimeoutMiddleware",  # idle and absolute timeouts; needs auth and messages
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "apps.core.middleware.ApplicationErrorMiddleware",
    "apps.core.middleware.ServiceUnavailableMiddleware",  # PostgreSQL or Redis away: 503 + Retry-After
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "coe_portal.urls"
WSGI_APPLICATION = "coe_portal.wsgi.application"
ASGI_APPLICATION = "coe_portal.asgi.application"

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
                "apps.core.context_processors.portal",
            ],
            "builtins": [
                "template_partials.templatetags.partials",
                "django.contrib.humanize.templatetags.humanize",
                "apps.core.templatetags.portal",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------------

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

DATABASE_URL = env.str("DATABASE_URL", default="")


def _database_from_url(url: str) -> dict:
    scheme = urlsplit(url).scheme
    if scheme not in {"postgres", "postgresql", "pgsql", "sqlite"}:
        raise ImproperlyConfigured(
            f"DATABASE_URL must look like postgres://user:password@host:5432/name or "
            f"sqlite:////absolute/path.sqlite3; got {url!r}."
        )
    try:
        config = env.db_url_config(url)
    except Exception as exc:  # django-environ raises several types on a malformed URL
        raise ImproperlyConfigured(f"DATABASE_URL could not be read ({exc}); got {url!r}.") from exc
    if config["ENGINE"].endswith("postgresql") and not config.get("NAME"):
        raise ImproperlyConfigured(f"DATABASE_URL names no database; got {url!r}.")
    return config


if DATABASE_URL:
    _db = _database_from_url(DATABASE_URL)
else:
    _db = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(VAR_DIR / "db.sqlite3")}

if _db["ENGINE"].endswith("sqlite3"):
    # WAL and IMMEDIATE transactions let the web process and the worker write at once;
    # the timeout makes a writer wait for the lock rather than fail.
    _db["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not memory, so a worker process started by a test sees the test database; one
    # per test run, so two runs on one machine do not share it.
    _db["TEST"] = {"NAME": str(VAR_DIR / f"test-db-{os.getpid()}.sqlite3")}
else:
    _db["CONN_MAX_AGE"] = _env_int("DB_CONN_MAX_AGE", 60)
    _db["CONN_HEALTH_CHECKS"] = True
    _db.setdefault("OPTIONS", {})["connect_timeout"] = 5

DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: Celery broker and cache ----------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL and urlsplit(REDIS_URL).scheme not in {"redis", "rediss"}:
    raise ImproperlyConfigured(f"REDIS_URL must look like redis://host:6379/0; got {REDIS_URL!r}.")


def _cache_url(broker_url: str) -> str:
    """The cache's own Redis database, next to the broker's (db 0 → 1): clearing the cache (FLUSHDB)
    must never drop queued or unacknowledged tasks."""
    parts = urlsplit(broker_url)
    try:
        db = int(parts.path.strip("/") or 0)
    except ValueError:
        raise ImproperlyConfigured(f"REDIS_URL's database must be a number; got {parts.path!r}.") from None
    return parts._replace(path=f"/{(db + 1) % 16}").geturl()


REDIS_CACHE_URL = env.str("REDIS_CACHE_URL", default="") or (_cache_url(REDIS_URL) if REDIS_URL else "")
if REDIS_CACHE_URL and urlsplit(REDIS_CACHE_URL).scheme not in {"redis", "rediss"}:
    raise ImproperlyConfigured(f"REDIS_CACHE_URL must look like redis://host:6379/1; got {REDIS_CACHE_URL!r}.")
if REDIS_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_CACHE_URL,
            "KEY_PREFIX": "coe",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -----------------------------------------------------------------------------

CELERY_FILESYSTEM_DIR = VAR_DIR / "celery"
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # An unacknowledged task (acks_late) goes back to the queue this long after a worker died with it.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {"visibility_timeout": _env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
else:
    # A local transport that needs no server: messages are files under var/celery.
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_FILESYSTEM_DIR / "queue"),
        "data_folder_out": str(CELERY_FILESYSTEM_DIR / "queue"),
        "control_folder": str(CELERY_FILESYSTEM_DIR / "control"),
        "processed_folder": str(CELERY_FILESYSTEM_DIR / "processed"),
        "store_processed": False,
    }
    for _key in ("data_folder_in", "control_folder", "processed_folder"):
        Path(CELERY_BROKER_TRANSPORT_OPTIONS[_key]).mkdir(parents=True, exist_ok=True)
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_QUEUES = ("ingest", "scoring", "default")  # the one place queues are named
CELERY_TASK_QUEUES = [Queue(name) for name in CELERY_QUEUES]
CELERY_TASK_ROUTES = {
    "apps.telemetry.tasks.rollup_task": {"queue": "ingest"},
    "apps.telemetry.tasks.pull_sources_dispatch_task": {"queue": "ingest"},
    "apps.telemetry.tasks.source_fetch_task": {"queue": "ingest"},
    "apps.telemetry.tasks.score_*": {"queue": "scoring"},
    "apps.telemetry.tasks.category_refresh_task": {"queue": "scoring"},
}
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {
        "task": "apps.core.tasks.heartbeat_record_task",
        "schedule": 30.0,
        "options": {"queue": "default", "expires": 60},
    },
    "waiver-reminders": {
        "task": "apps.governance.tasks.waivers_remind_task",
        "schedule": 60 * 60 * 6,
        "options": {"queue": "default"},
    },
    "sessions-clear": {
        "task": "apps.core.tasks.sessions_clear_task",
        "schedule": crontab(hour=3, minute=30),
        "options": {"queue": "default"},
    },
    "compliance-scores": {
        "task": "apps.governance.tasks.compliance_scores_refresh_task",
        "schedule": 5 * 60.0,
        "options": {"queue": "default", "expires": 4 * 60},
    },
    "telemetry-rollup": {"task": "apps.telemetry.tasks.rollup_task", "schedule": 60.0, "options": {"expires": 55}},
    "telemetry-pull-sources": {
        "task": "apps.telemetry.tasks.pull_sources_dispatch_task",
        "schedule": 60.0,
        "options": {"expires": 55},
    },
    "telemetry-score-today": {
        "task": "apps.telemetry.tasks.score_today_task",
        "schedule": 15 * 60.0,
        "options": {"expires": 14 * 60},
    },
    "telemetry-score-daily": {"task": "apps.telemetry.tasks.score_daily_task", "schedule": crontab(hour=0, minute=20)},
    "telemetry-categories": {  # after the quarter-hourly scoring has had time to run
        "task": "apps.telemetry.tasks.category_refresh_task",
        "schedule": crontab(minute="10,25,40,55"),
        "options": {"expires": 14 * 60},
    },
    "telemetry-categories-all": {
        "task": "apps.telemetry.tasks.category_refresh_task",
        "schedule": crontab(hour=1, minute=5),
        "kwargs": {"every_month": True},
    },
    "feedback-digests": {"task": "apps.feedback.tasks.digests_send_task", "schedule": crontab(minute=5)},
    "telemetry-retention": {"task": "apps.telemetry.tasks.retention_task", "schedule": crontab(hour=2, minute=40)},
}
CELERY_TIMEZONE = "UTC"

# --- Feedback -----------------------------------------------------------------------------

FEEDBACK_EDIT_WINDOW_MINUTES = _env_int("FEEDBACK_EDIT_WINDOW_MINUTES", 30)  # authors edit their posts this long
# Where the portal is reached, for links in email (the digest). No trailing slash.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")

# --- Telemetry ----------------------------------------------------------------------------

TELEMETRY_RETENTION_DAYS = _env_int("TELEMETRY_RETENTION_DAYS", 90)  # raw events; rollups and scorecards stay
TELEMETRY_MAX_BODY_BYTES = _env_int("TELEMETRY_MAX_BODY_BYTES", 5 * 1024 * 1024)  # before and after gzip
TELEMETRY_MAX_BATCH_EVENTS = _env_int("TELEMETRY_MAX_BATCH_EVENTS", 5000)
TELEMETRY_RATE_LIMIT_PER_MINUTE = _env_int("TELEMETRY_RATE_LIMIT_PER_MINUTE", 1200)  # requests per key; 0: none
# Pull sources: plain http and private addresses only where the deployment says so (dev: yes).
TELEMETRY_PULL_ALLOW_HTTP = _env_bool("TELEMETRY_PULL_ALLOW_HTTP", DEBUG)
TELEMETRY_PULL_ALLOW_PRIVATE = _env_bool("TELEMETRY_PULL_ALLOW_PRIVATE", DEBUG)

HEALTH_HEARTBEAT_MAX_AGE = timedelta(seconds=_env_int("HEALTH_HEARTBEAT_MAX_AGE", 120))

# --- Auth -------------------------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "rules.permissions.ObjectPermissionBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Lock out a username from an address after repeated failures; the same answer whether or not
# the account exists.
AXES_FAILURE_LIMIT = _env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=_env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_VERBOSE = False

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = False  # htmx reads the token from the page, not the cookie

# --- Sessions and sign-in hardening ------------------------------------------------------
# Sessions live in the database (Django's default, named here because "sign out everywhere"
# and the timeouts are written for it; they work with any store). apps/accounts/middleware.py
# ends a session after SESSION_IDLE_TIMEOUT seconds without activity and SESSION_ABSOLUTE_TIMEOUT
# seconds after sign-in, whatever the activity; the cookie lasts as long as the latter.
SESSION_ENGINE = "django.contrib.sessions.backends.db"
# SESSION_COOKIE_AGE is the older name of the absolute timeout, still read.
SESSION_ABSOLUTE_TIMEOUT = _env_int("SESSION_ABSOLUTE_TIMEOUT", _env_int("SESSION_COOKIE_AGE", 60 * 60 * 12))
SESSION_IDLE_TIMEOUT = _env_int("SESSION_IDLE_TIMEOUT", 60 * 60)
if SESSION_IDLE_TIMEOUT < 60 or SESSION_ABSOLUTE_TIMEOUT < 60:
    raise ImproperlyConfigured(
        "SESSION_IDLE_TIMEOUT and SESSION_ABSOLUTE_TIMEOUT are seconds, at least 60; "
        f"got {SESSION_IDLE_TIMEOUT} and {SESSION_ABSOLUTE_TIMEOUT}."
    )
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_TIMEOUT
# Two-step sign-in (TOTP) for local accounts: the name authenticator apps show, and how long
# the code step waits after a right password before the password must be typed again.
MFA_ISSUER = env.str("MFA_ISSUER", default="") or SITE_NAME
MFA_PENDING_SECONDS = 5 * 60
# Wrong codes are logged as failed sign-ins (they count toward the lockout): never the codes themselves.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]

# --- Single sign-on (OIDC) --------------------------------------------------------------
# docs/sso.md. On only when OIDC_RP_CLIENT_ID is set; with it unset nothing below changes the
# portal. With OIDC_ISSUER the endpoints come from the provider's discovery document, fetched on
# the first sign-in and kept for the process's life (apps/accounts/sso.py), not here: a provider
# that is down must not stop the portal, or manage.py, from starting.

OIDC_RP_CLIENT_ID = env.str("OIDC_RP_CLIENT_ID", default="").strip()
SSO_ENABLED = bool(OIDC_RP_CLIENT_ID)
OIDC_RP_CLIENT_SECRET = env.str("OIDC_RP_CLIENT_SECRET", default="")
OIDC_ISSUER = env.str("OIDC_ISSUER", default="").strip()  # exactly as the provider spells it
OIDC_OP_AUTHORIZATION_ENDPOINT = env.str("OIDC_OP_AUTHORIZATION_ENDPOINT", default="").strip()
OIDC_OP_TOKEN_ENDPOINT = env.str("OIDC_OP_TOKEN_ENDPOINT", default="").strip()
OIDC_OP_USER_ENDPOINT = env.str("OIDC_OP_USER_ENDPOINT", default="").strip()
OIDC_OP_JWKS_ENDPOINT = env.str("OIDC_OP_JWKS_ENDPOINT", default="").strip()
OIDC_RP_SIGN_ALGO = env.str("OIDC_RP_SIGN_ALGO", default="RS256").strip()
OIDC_RP_SCOPES = env.str("OIDC_RP_SCOPES", default="openid email profile").strip()
# client_secret_basic, the method every provider must support (RFC 6749 2.3.1); false: client_secret_post.
OIDC_TOKEN_USE_BASIC_AUTH = _env_bool("OIDC_TOKEN_USE_BASIC_AUTH", True)
OIDC_USE_PKCE = _env_bool("OIDC_USE_PKCE", True)
OIDC_ALLOW_HTTP = _env_bool("OIDC_ALLOW_HTTP", DEBUG)  # plain http:// provider URLs: a laptop's test provider
OIDC_TIMEOUT = _env_int("OIDC_TIMEOUT", 10)  # seconds per call to the provider (the library's default: forever)
OIDC_CLOCK_SKEW_SECONDS = _env_int("OIDC_CLOCK_SKEW_SECONDS", 60)  # leeway for the ID token's exp and iat
OIDC_CREATE_USER = _env_bool("OIDC_CREATE_USER", True)  # false: only people with an account here may sign in
# People are matched by email; only an address the provider says it verified can claim an account.
OIDC_REQUIRE_EMAIL_VERIFIED = _env_bool("OIDC_REQUIRE_EMAIL_VERIFIED", True)
# Group mapping, re-applied at every SSO sign-in. An empty setting leaves that role (or teams) to the admin.
OIDC_GROUPS_CLAIM = env.str("OIDC_GROUPS_CLAIM", default="groups").strip()
OIDC_COE_STAFF_GROUPS = _env_list("OIDC_COE_STAFF_GROUPS", [])
OIDC_LEADERSHIP_GROUPS = _env_list("OIDC_LEADERSHIP_GROUPS", [])
OIDC_TEAM_GROUP_PREFIX = env.str("OIDC_TEAM_GROUP_PREFIX", default="")  # e.g. team: -> team:<slug>
# Local accounts (username and password); off: only SSO signs people in. Personal API tokens work either way.
LOCAL_LOGIN_ENABLED = _env_bool("LOCAL_LOGIN_ENABLED", True)
# mozilla-django-oidc's own settings, fixed: the portal's views and backend live in apps/accounts/sso.py.
OIDC_AUTHENTICATION_CALLBACK_URL = "oidc:callback"
OIDC_STORE_ACCESS_TOKEN = OIDC_STORE_ID_TOKEN = False  # the provider's tokens are used once, never kept

if SSO_ENABLED:
    _oidc_endpoints = {
        "OIDC_OP_AUTHORIZATION_ENDPOINT": OIDC_OP_AUTHORIZATION_ENDPOINT,
        "OIDC_OP_TOKEN_ENDPOINT": OIDC_OP_TOKEN_ENDPOINT,
        "OIDC_OP_USER_ENDPOINT": OIDC_OP_USER_ENDPOINT,
        "OIDC_OP_JWKS_ENDPOINT": OIDC_OP_JWKS_ENDPOINT,
    }
    if not OIDC_ISSUER and not all(_oidc_endpoints.values()):
        _missing = ", ".join(name for name, value in _oidc_endpoints.items() if not value)
        raise ImproperlyConfigured(f"OIDC_RP_CLIENT_ID is set: set OIDC_ISSUER, or all the endpoints ({_missing}).")
    if not OIDC_RP_CLIENT_SECRET:
        raise ImproperlyConfigured("OIDC_RP_CLIENT_ID is set: set OIDC_RP_CLIENT_SECRET too.")
    if OIDC_RP_SIGN_ALGO not in {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "HS256"}:
        raise ImproperlyConfigured(f"OIDC_RP_SIGN_ALGO must be RS256, RS/ES256-512 or HS256: {OIDC_RP_SIGN_ALGO!r}.")
    if "openid" not in OIDC_RP_SCOPES.split() or "email" not in OIDC_RP_SCOPES.split():
        raise ImproperlyConfigured(f"OIDC_RP_SCOPES must include openid and email; got {OIDC_RP_SCOPES!r}.")
    for _name, _url in {"OIDC_ISSUER": OIDC_ISSUER, **_oidc_endpoints}.items():
        if _url and urlsplit(_url).scheme not in ({"https", "http"} if OIDC_ALLOW_HTTP else {"https"}):
            raise ImproperlyConfigured(f"{_name} must be an https:// URL (OIDC_ALLOW_HTTP for http://); got {_url!r}.")
    AUTHENTICATION_BACKENDS.append("apps.accounts.sso.PortalOIDCBackend")
    AXES_WHITELIST_CALLABLE = "apps.accounts.sso.axes_skips_sso_callback"  # no username: see there
if not LOCAL_LOGIN_ENABLED:
    if not SSO_ENABLED:
        raise ImproperlyConfigured("LOCAL_LOGIN_ENABLED is off and SSO is not on: nobody could sign in.")
    # Django's groups and permissions (the admin) stay; its password check goes, for every form.
    AUTHENTICATION_BACKENDS[AUTHENTICATION_BACKENDS.index("django.contrib.auth.backends.ModelBackend")] = (
        "apps.accounts.sso.PasswordlessModelBackend"
    )

# --- API --------------------------------------------------------------------------------

# Requests per minute per person (session or personal token) and per address when signed out, counted
# in the shared cache (Redis when REDIS_URL is set); more get 429 with Retry-After. 0: no limit.
API_RATE_LIMIT_PER_MINUTE = _env_int("API_RATE_LIMIT_PER_MINUTE", 600)
API_ANON_RATE_LIMIT_PER_MINUTE = _env_int("API_ANON_RATE_LIMIT_PER_MINUTE", 60)
# Largest request body outside ingestion (which has TELEMETRY_MAX_BODY_BYTES), pages and API alike;
# larger ones get 413. Default: 1 MiB; 0: no limit.
_max_body = _env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 1024 * 1024)
for _name, _value in (
    ("DATA_UPLOAD_MAX_MEMORY_SIZE", _max_body),
    ("API_RATE_LIMIT_PER_MINUTE", API_RATE_LIMIT_PER_MINUTE),
    ("API_ANON_RATE_LIMIT_PER_MINUTE", API_ANON_RATE_LIMIT_PER_MINUTE),
):
    if _value < 0:
        raise ImproperlyConfigured(f"{_name} must be 0 or more, got {_value}.")
DATA_UPLOAD_MAX_MEMORY_SIZE = _max_body or None

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header turns "no credentials" into 401, per API.md.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "apps.accounts.authentication.PersonalTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.PageNumberPagination",
    "PAGE_SIZE": 25,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "rest_framework.filters.SearchFilter",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["apps.core.api.parsers.JSONParser"],  # DRF's, deep nesting a 400
    "DEFAULT_THROTTLE_CLASSES": [
        "apps.core.api.throttling.PersonThrottle",
        "apps.core.api.throttling.AnonymousThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "person": f"{API_RATE_LIMIT_PER_MINUTE}/min" if API_RATE_LIMIT_PER_MINUTE else None,
        "anonymous": f"{API_ANON_RATE_LIMIT_PER_MINUTE}/min" if API_ANON_RATE_LIMIT_PER_MINUTE else None,
    },
    # The signed-out limit counts per address: X-Forwarded-For only from proxies we know (below).
    "NUM_PROXIES": 0,
    "DEFAULT_SCHEMA_CLASS": "apps.core.api.schema.PortalAutoSchema",
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "CoE Portal API",
    "DESCRIPTION": (
        "The API of the Generative-AI Centre of Excellence portal. People authenticate with "
        "their session or a personal token (`Authorization: Token <token>`)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name for a choice set used by several fields.
    "ENUM_NAME_OVERRIDES": {
        "DataClassificationEnum": "apps.registry.models.DataClassification",
        "RiskTierEnum": "apps.registry.models.RiskTier",
        "LifecycleStageEnum": "apps.registry.models.LifecycleStage",
        # "kind", "state" and "status" mean different things in different apps.
        "KindEnum": "apps.library.models.Template.Kind",
        "StateEnum": "apps.core.models.VersionState",
        "StatusEnum": "apps.registry.models.Release.Status",
        "ControlKindEnum": "apps.governance.models.Control.Kind",
        "CheckResultStateEnum": "apps.governance.models.CheckResult.State",
        "ComplianceStateEnum": "apps.governance.services.State.LABELS",
        "WaiverStatusEnum": "apps.governance.models.Waiver.Status",
        "ThreadKindEnum": "apps.feedback.models.Thread.Kind",
        "ThreadStatusEnum": "apps.feedback.models.Thread.Status",
        "CategoryEnum": "apps.core.models.GuidanceArea",  # feedback's guidance_area: the same four areas
    },
}

# --- Static files, i18n -----------------------------------------------------------------

STATIC_URL = "/static/"
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns on every start otherwise
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# --- Email ------------------------------------------------------------------------------

# EMAIL_URL, e.g. smtp+tls://user:password@smtp.example.org:587, sets host, port, user and TLS.
EMAIL_URL = env.str("EMAIL_URL", default="")
if EMAIL_URL:
    try:
        globals().update(env.email_url_config(EMAIL_URL))
    except Exception as exc:
        raise ImproperlyConfigured(f"EMAIL_URL could not be read ({exc}); got {EMAIL_URL!r}.") from exc
else:
    EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="coe-portal@localhost")

# --- Security headers -------------------------------------------------------------------

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        # Plotly sets inline styles on the elements it draws.
        "style-src": [SELF, "'unsafe-inline'"],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

if not DEBUG:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = _env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
    SECURE_HSTS_SECONDS = _env_int("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = _env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Preloading is hard to undo and binds the whole domain: the operator's decision, not
        # a default. Everything else check --deploy asks for is on.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]

# Behind a reverse proxy the client's address is in X-Forwarded-For; lockout and the audit
# trail need it, not the proxy's.
BEHIND_TLS_PROXY = _env_bool("BEHIND_TLS_PROXY", False)
if BEHIND_TLS_PROXY:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    AXES_IPWARE_PROXY_COUNT = _env_int("PROXY_COUNT", 1)
    REST_FRAMEWORK["NUM_PROXIES"] = AXES_IPWARE_PROXY_COUNT
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")

# --- Logging ----------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}
