"""Settings for the community site: one module, configured by the environment.

Environments differ only in their variables (see `.env.example`). A local `.env`
file is read for convenience; real environment variables win over it.
"""

from datetime import date, timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

from community.error_reporting import init_sentry

BASE_DIR = Path(__file__).resolve().parent.parent
env = environ.Env()
if (BASE_DIR / ".env").exists() and not env.bool("COMMUNITY_SKIP_DOTENV", default=False):
    env.read_env(BASE_DIR / ".env")

# --- Core ---
DEBUG = env.bool("DJANGO_DEBUG", default=False)
# The prefix makes `check --deploy` complain if this default ever reaches production.
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="django-insecure-dev-only-not-for-production")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1"])
ROOT_URLCONF = "community.urls"
WSGI_APPLICATION = "community.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "axes",
    "phonenumber_field",
    "django_tasks_db",
    "crontask",
    "community",
    "customer_data",
    "profiles",
]

MIDDLEWARE = [
    # Outermost: the request line (community/logs.py) times every middleware below and logs
    # the status they settled on.
    "community.logs.RequestLogMiddleware",
    # Next, so that every response gets the header, also those of the middleware below.
    "community.middleware.PermissionsPolicyMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "community.audit.ActorMiddleware",
    "community.middleware.SessionLifetimeMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "profiles.middleware.MemberPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
            # Compiled templates are cached in every environment but development.
            "loaders": (
                [
                    "django.template.loaders.filesystem.Loader",
                    "django.template.loaders.app_directories.Loader",
                ]
                if DEBUG
                else [
                    (
                        "django.template.loaders.cached.Loader",
                        [
                            "django.template.loaders.filesystem.Loader",
                            "django.template.loaders.app_directories.Loader",
                        ],
                    )
                ]
            ),
        },
    },
]

# --- Database ---
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
# A database that does not answer must cost a request seconds, not a worker: a connection
# attempt gives up after DATABASE_CONNECT_TIMEOUT seconds and a statement (lock waits
# included) after DATABASE_STATEMENT_TIMEOUT milliseconds; the page then says "503, try
# again shortly". Maintenance commands lift the statement limit for their own connection.
DATABASE_CONNECT_TIMEOUT = env.int("DATABASE_CONNECT_TIMEOUT", default=3)
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=5000)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Django's backend with writers queued for their turn (community/db_backends/sqlite3).
    DATABASES["default"]["ENGINE"] = "community.db_backends.sqlite3"
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["OPTIONS"] = {
        "connect_timeout": DATABASE_CONNECT_TIMEOUT,
        # A transaction left open by a stuck client must not hold row locks for long.
        "options": (
            f"-c statement_timeout={DATABASE_STATEMENT_TIMEOUT} "
            "-c idle_in_transaction_session_timeout=60000"
        ),
        **DATABASES["default"].get("OPTIONS", {}),
    }
    # Parameters bound by the server, and a statement run twice on a connection prepared
    # (planned once, then executed by name): PostgreSQL's CPU per page fell from 0.85 to 0.15
    # ms (signed-in empty page), 1.7 to 0.27 (profile page), 1.85 to 0.43 (directory) and
    # 1.0 to 0.24 (Profil tab), the app's from 1.5 to 1.35 ms on the empty page (10,000
    # members, in-process, README "PostgreSQL"). Behind a connection pooler in transaction
    # mode that does not keep prepared statements, set DATABASE_PREPARED_STATEMENTS=false.
    if env.bool("DATABASE_PREPARED_STATEMENTS", default=True):
        DATABASES["default"]["OPTIONS"].setdefault("server_side_binding", True)
        DATABASES["default"]["OPTIONS"].setdefault("prepare_threshold", 2)

# --- Cache and sessions ---
REDIS_URL = env.str("REDIS_URL", default="")
# Seconds to connect to Redis and for each reply: a hung Redis costs this once (then the
# cache rests for a few seconds, see community/cache.py), not a request's whole time.
REDIS_TIMEOUT = env.float("REDIS_TIMEOUT", default=0.5)
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "community.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "community",
            "OPTIONS": {"socket_connect_timeout": REDIS_TIMEOUT, "socket_timeout": REDIS_TIMEOUT},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Template fragments that are pure functions of what their key names (the fill ring for a
# number of fields, in a language): kept in each process, never stale, never about a person.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "fragments",
    # Per member only the header's avatar menu (a few hundred bytes): room for the members
    # active at once on one process before the oldest are dropped.
    "OPTIONS": {"MAX_ENTRIES": 20_000},
}
# Sessions live in the database, with or without Redis: logins and signed-in members survive
# a Redis outage, a logout is final (a cached copy could outlive it while Redis was away),
# and the database is read on every signed-in request anyway (one primary-key lookup more).
# (community.sessions: the database store, answering a lost database with 503, not 400.)
SESSION_ENGINE = "community.sessions"

# --- Authentication ---
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "community.backends.CommunityBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "home"

# Idle timeout: the session lives this long after the last request (to within the refresh
# interval: the session is re-saved, extending it, at most once per interval, not per request).
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_IDLE_SECONDS", default=60 * 60 * 2)
SESSION_SAVE_EVERY_REQUEST = False
COMMUNITY_SESSION_REFRESH_INTERVAL = env.int("DJANGO_SESSION_REFRESH_SECONDS", default=60)
# Absolute timeout: a session ends this long after login, however active it is.
COMMUNITY_SESSION_ABSOLUTE_TIMEOUT = env.int(
    "DJANGO_SESSION_ABSOLUTE_SECONDS", default=60 * 60 * 12
)

# Login protection: lock a username + IP pair after repeated failures.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("AXES_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
# And lock an IP address after this many failures over all usernames within the cool-off,
# since the members directory names every account. Higher than the per-account limit:
# many members may share one NAT address. axes has one limit for all its lockout
# parameters, so this rule lives in community/loginlimits.py (handler and lockout page).
COMMUNITY_LOGIN_IP_FAILURE_LIMIT = env.int("AXES_IP_FAILURE_LIMIT", default=30)
AXES_HANDLER = "community.loginlimits.CommunityAxesHandler"
AXES_LOCKOUT_CALLABLE = "community.loginlimits.lockout_response"
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_SENSITIVE_PARAMETERS = ["password"]
# Number of reverse proxies in front of the app; 0 means REMOTE_ADDR is the client.
AXES_IPWARE_PROXY_COUNT = env.int("DJANGO_PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)
AXES_VERBOSE = False

# --- Internationalisation ---
LANGUAGE_CODE = "de"
LANGUAGES = [("de", _("Deutsch")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Europe/Berlin"
USE_I18N = True
USE_TZ = True

# --- Static files ---
STATIC_URL = "static/"
# Where `collectstatic` gathers the files whitenoise serves (a directory of its own per deployment).
STATIC_ROOT = env.path("DJANGO_STATIC_ROOT", default=BASE_DIR / "staticfiles")
# Bootstrap's stylesheet is committed in static/vendor/bootstrap/ (README, "Dependencies").
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
WHITENOISE_MAX_AGE = 60 * 60 * 24 * 365

# --- Forms ---
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"
FORM_RENDERER = "community.forms.CommunityFormRenderer"
PHONENUMBER_DEFAULT_REGION = "DE"

# --- Security ---
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# Flash messages ("Gespeichert", …) live in the session, not in a `messages` cookie of their
# own. Django copies Secure/HttpOnly/SameSite/Domain of the session cookie onto that cookie,
# but not the `__Host-` name (its name is fixed), and its contents are signed, not
# encrypted: the message texts would sit readable in the browser's cookie store and outlive
# a logout there. The session is in the database and read on every signed-in request anyway
# (a save that flashes a message writes the session once more).
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
# Browser features no page of the site uses, denied to every page and frame (an injected
# script cannot ask for them either). Each entry is a feature and its allowlist; empty = none.
COMMUNITY_PERMISSIONS_POLICY: dict[str, list[str]] = {
    "camera": [],
    "microphone": [],
    "geolocation": [],
    "payment": [],
    "usb": [],
    "interest-cohort": [],
}
CSRF_COOKIE_SAMESITE = "Lax"
if not DEBUG:
    # Behind a TLS-terminating proxy in production; `__Host-` cookies need Secure and Path=/.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SECURE_HSTS_SECONDS = 60 * 60 * 24 * 365
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_NAME = "__Host-csrftoken"
# HSTS preload needs a deliberate submission to browser vendors; the site owner decides that.
SILENCED_SYSTEM_CHECKS = ["security.W021"]

# --- Health ---
# Run when an app server loads (community/wsgi.py); one that raises stops the server.
COMMUNITY_STARTUP_CHECKS = ["customer_data.keycheck.check_at_startup"]
# What /readyz checks, in order: each a function returning (ok, detail).
COMMUNITY_READINESS_CHECKS = {
    "database": "community.health.database",
    "cache": "community.health.redis",
    "keys": "customer_data.keycheck.readiness",
}

# --- Community ---
# Members of this rank (by ladder order) and above see the customer-data fill ring of others.
COMMUNITY_RING_MIN_RANK = env.str("COMMUNITY_RING_MIN_RANK", default="mitgestalter")

# --- Customer data ---
# Fernet keys, newest first. Prepend a new key, run `rotate_field_keys`, then drop the old one.
FIELD_ENCRYPTION_KEYS = env.list("FIELD_ENCRYPTION_KEYS", default=[])
BLIND_INDEX_KEY = env.str("BLIND_INDEX_KEY", default="")
CUSTOMER_NUMBER_MIN_DIGITS = env.int("CUSTOMER_NUMBER_MIN_DIGITS", default=6)
CUSTOMER_NUMBER_MAX_DIGITS = env.int("CUSTOMER_NUMBER_MAX_DIGITS", default=20)
CUSTOMER_INFO_MAX_LENGTH = env.int("CUSTOMER_INFO_MAX_LENGTH", default=1000)
# Bump when the consent wording changes; consents for older versions then count as absent.
CONSENT_TEXT_VERSION = env.str("CONSENT_TEXT_VERSION", default="2026-11")
# When the current version took effect; data consented under an older one is erased by
# `purge_stale_customer_data` once this many days have passed without a new consent.
CONSENT_TEXT_EFFECTIVE_DATE = date.fromisoformat(
    env.str("CONSENT_TEXT_EFFECTIVE_DATE", default="2026-11-01")
)
CONSENT_REGRANT_GRACE_DAYS = env.int("CONSENT_REGRANT_GRACE_DAYS", default=90)
# Customer data unchanged this long is erased (about 24 months).
CUSTOMER_DATA_RETENTION_DAYS = env.int("CUSTOMER_DATA_RETENTION_DAYS", default=730)
ACCESS_LOG_RETENTION_DAYS = env.int("ACCESS_LOG_RETENTION_DAYS", default=730)
# The Profil tab reminds members to check "Weitere Informationen" older than this (6 months).
FURTHER_INFO_STALE_DAYS = env.int("FURTHER_INFO_STALE_DAYS", default=182)

# --- Error reporting ---
# Errors, and this share of requests as performance traces, go to Sentry when SENTRY_DSN is
# set; without it the SDK is never started. No customer-data value is sent, and no request
# body, query string, cookie or local variable (community/error_reporting.py says why and how).
init_sentry(
    dsn=env.str("SENTRY_DSN", default=""),
    environment=env.str("SENTRY_ENVIRONMENT", default="development" if DEBUG else "production"),
    traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.1),
)

# --- Tasks ---
# Jobs are Django tasks kept in the database (django-tasks-db) in every environment: a worker
# (`make worker`) runs them, on any number of hosts. The site itself enqueues nothing, so
# `make run` needs no worker. Each job runs under its own lock (community/locks.py).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
# When the scheduler (`make scheduler`, django-crontask) enqueues the retention purge: cron
# syntax in TIME_ZONE, weekdays by name (Mon … Sun), not by number.
CUSTOMER_DATA_PURGE_CRON = env.str("CUSTOMER_DATA_PURGE_CRON", default="30 3 * * *")
# And when it enqueues `clearsessions` (expired sessions out of the database).
COMMUNITY_CLEAR_SESSIONS_CRON = env.str("COMMUNITY_CLEAR_SESSIONS_CRON", default="0 4 * * *")
# With Redis, one scheduler among all hosts holds crontask's lock and the others stand back;
# without it, run the scheduler on one host only.
CRONTASK = {"REDIS_URL": REDIS_URL or None}

# --- Logging ---
# One JSON object per line for the log collector in production, readable text in development
# (community/logs.py: what a line carries, and the request line).
LOG_FORMAT = env.str("DJANGO_LOG_FORMAT", default="text" if DEBUG else "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured("DJANGO_LOG_FORMAT must be json or text.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {"()": "community.logs.JsonFormatter"},
        "text": {"()": "community.logs.TextFormatter"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        # Django's own handlers (a plain console copy in development, mail to ADMINS) go:
        # its lines reach the one handler above, in the one format. INFO even when
        # DJANGO_LOG_LEVEL is DEBUG: django.db.backends logs SQL with its parameters there.
        "django": {"level": "INFO", "handlers": [], "propagate": True},
        # runserver's line per request carries the query string and repeats the request
        # line; only its errors stay.
        "django.server": {"level": "ERROR", "handlers": [], "propagate": True},
    },
}
