"""Minhu settings, driven by environment variables (Healthchecks style).

Every secret comes from the environment. The embedded default is SQLite plus an SQLite Huey
queue under ``var/``; set ``DATABASE_URL`` and ``REDIS_URL`` for production.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("MINHU_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    return os.environ.get(name, default).strip().lower() in {"1", "true", "yes", "on"}


def envint(name: str, default: str) -> int:
    return int(os.environ.get(name, default))


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "0")
# Demo accounts only work with DEMO=True; the deploy check refuses it (core.checks).
DEMO = envbool("DEMO", "0")
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if DEBUG or DEMO or os.environ.get("MINHU_ALLOW_DEV_KEY") == "1":
        SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"  # noqa: S105
    else:
        raise RuntimeError("SECRET_KEY must be set (or DEBUG=1 for development)")
# Key for encrypting personal data at rest (PI-3); kept outside the database.
FIELD_ENCRYPTION_KEY = os.environ.get("FIELD_ENCRYPTION_KEY", "")
# "aes" (AES-256-GCM, default) or "sm" (SM4-GCM with SM3, GB/T 39786) for newly written values.
FIELD_CRYPTO_SCHEME = os.environ.get("FIELD_CRYPTO_SCHEME", "aes")

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")
# Addresses of reverse proxies whose X-Forwarded-For we believe (core.net.client_ip).
TRUSTED_PROXIES = envlist("TRUSTED_PROXIES", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "huey.contrib.djhuey",
    "ninja",
    "csp",
    "django_htmx",
    "template_partials",
    "core",
    "orgs",
    "catalog",
    "orders",
    "whistles",
    "assessment",
    "intake",
    "insight",
    "workbench",
    "demo",
    "web",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "web.middleware.NoStoreMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "core.middleware.RequestContextMiddleware",
    "core.middleware.SessionPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "minhu.urls"
WSGI_APPLICATION = "minhu.wsgi.application"

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
                "django.template.context_processors.i18n",
                "web.context_processors.layout",
            ],
        },
    },
]

# --- database -------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'minhu.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # JIT off: the planner's cost for a scoped queue (a LIMIT over an OR of subplans) crosses
    # jit_above_cost and LLVM then spends seconds compiling a query that runs in milliseconds.
    # random_page_cost 1.1 (DB_RANDOM_PAGE_COST), the usual value for SSDs and a cached working
    # set: at the default 4 the planner hashes a city's 18,748-unit subtree to check the scope of
    # a page of 200 orders (17.8 ms) instead of probing each order's ancestors (1.4 ms).
    # Connections are kept for a minute (health-checked) instead of one per request.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    page_cost = float(os.environ.get("DB_RANDOM_PAGE_COST", "1.1"))
    options["options"] = (
        str(options.get("options", "")) + f" -c jit=off -c random_page_cost={page_cost:g}"
    ).strip()
    DATABASES["default"]["CONN_MAX_AGE"] = int(os.environ.get("DB_CONN_MAX_AGE", "60"))
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"

# --- cache (shared across processes so lockouts and rate limits hold) ----------------------
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "minhu_cache"}
    }

# --- background work ------------------------------------------------------------------------
if REDIS_URL:
    HUEY = {
        "huey_class": "huey.RedisHuey",
        "name": "minhu",
        "url": REDIS_URL,
        "immediate": False,
        "consumer": {"workers": envint("HUEY_WORKERS", "2"), "worker_type": "thread"},
    }
else:
    HUEY = {
        "huey_class": "huey.SqliteHuey",
        "name": "minhu",
        "filename": str(VAR_DIR / "huey.sqlite3"),
        "immediate": False,
        "consumer": {"workers": envint("HUEY_WORKERS", "2"), "worker_type": "thread"},
    }

# --- identity -------------------------------------------------------------------------------
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "core.auth.DemoAwareModelBackend",
]
# Password policy profile: "MLPS" (default for government deployments) or "ASVS".
PASSWORD_PROFILE = os.environ.get("PASSWORD_PROFILE", "MLPS").upper()
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "core.passwords.ProfileValidator"},
]
PASSWORD_EXPIRY_DAYS = envint("PASSWORD_EXPIRY_DAYS", "90")
PASSWORD_EXPIRY_WARNING_DAYS = envint("PASSWORD_EXPIRY_WARNING_DAYS", "14")
PASSWORD_HISTORY = envint("PASSWORD_HISTORY", "5")
ACCOUNT_INACTIVE_DAYS = envint("ACCOUNT_INACTIVE_DAYS", "90")
SESSION_IDLE_SECONDS = envint("SESSION_IDLE_SECONDS", str(30 * 60))
SESSION_ABSOLUTE_SECONDS = envint("SESSION_ABSOLUTE_SECONDS", str(12 * 3600))
SESSION_COOKIE_AGE = SESSION_ABSOLUTE_SECONDS
SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "/"

AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", "15") / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username"], ["ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_CLIENT_IP_CALLABLE = "core.net.axes_client_ip"
AXES_LOCKOUT_CALLABLE = "core.views.lockout_response"

OTP_TOTP_ISSUER = "民呼 Minhu"

# --- production hardening (AUTH-7) -------------------------------------------------------------
SECURE_PRODUCTION = envbool("SECURE_PRODUCTION", "0")
if SECURE_PRODUCTION:
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# --- i18n -------------------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise expects it before collectstatic runs
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = VAR_DIR / "media"
# whitenoise serves static files from the app folders directly in development and the demo;
# production runs collectstatic.
WHITENOISE_USE_FINDERS = DEBUG or DEMO
WHITENOISE_AUTOREFRESH = DEBUG

# --- pages: Content-Security-Policy (django-csp 4), maps, polling -----------------------------------
# Map tiles: none by default (grid polygons on a plain background, offline). MAP_TILE_URL is a
# Leaflet URL template ({z}/{x}/{y}, optional {s}); MAP_TILE_CRS names the tiles' coordinate
# system (wgs84 | gcj02 | bd09); the map converts our WGS-84 geometry to it before drawing.
MAP_TILE_URL = os.environ.get("MAP_TILE_URL", "")
MAP_TILE_CRS = os.environ.get("MAP_TILE_CRS", "wgs84").lower()
MAP_TILE_SUBDOMAINS = os.environ.get("MAP_TILE_SUBDOMAINS", "")
MAP_TILE_ATTRIBUTION = os.environ.get("MAP_TILE_ATTRIBUTION", "")
if MAP_TILE_CRS not in {"wgs84", "gcj02", "bd09"}:
    raise RuntimeError("MAP_TILE_CRS must be wgs84, gcj02 or bd09")


def _csp_origin(url_template: str) -> list[str]:
    """The CSP source of a tile URL template: its scheme and host, ``{s}`` as a wildcard label."""
    if not url_template:
        return []
    parts = urlsplit(url_template.replace("{s}", "minhu-subdomain"))
    host = (parts.hostname or "").replace("minhu-subdomain", "*")
    port = f":{parts.port}" if parts.port else ""
    return [f"{parts.scheme}://{host}{port}"] if parts.scheme and host else []


# No inline script, no eval, no inline style: scripts, styles, fonts and images come from this
# origin (plus the configured map tiles); htmx is configured accordingly (web/base.html).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:", *_csp_origin(MAP_TILE_URL)],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "media-src": ["'self'", "blob:"],
        "object-src": ["'none'"],
        "frame-src": ["'none'"],
        "worker-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}
CSRF_FAILURE_VIEW = "web.views.csrf_failure"
# How often the top bar asks for the unread-notification count (a background request that does
# not extend the idle clock).
WEB_POLL_SECONDS = envint("WEB_POLL_SECONDS", "60")

# --- attachments and the public (resident, Open311) doors -----------------------------------------
# Photos are re-encoded without metadata (orders.attachments); limits fit phone photos.
ATTACHMENT_MAX_BYTES = envint("ATTACHMENT_MAX_BYTES", str(20 * 1024 * 1024))
ATTACHMENT_MAX_PIXELS = envint("ATTACHMENT_MAX_PIXELS", "60000000")
ATTACHMENT_IMAGE_MAX_SIDE = envint("ATTACHMENT_IMAGE_MAX_SIDE", "4096")
ATTACHMENTS_PER_ORDER = envint("ATTACHMENTS_PER_ORDER", "30")
# Requests per client address and hour (intake.ratelimit, shared cache), per public action.
PUBLIC_SUBMIT_PER_HOUR = envint("PUBLIC_SUBMIT_PER_HOUR", "20")
PUBLIC_FOLLOW_PER_HOUR = envint("PUBLIC_FOLLOW_PER_HOUR", "60")
PUBLIC_RATE_PER_HOUR = envint("PUBLIC_RATE_PER_HOUR", "20")
OPEN311_POST_PER_HOUR = envint("OPEN311_POST_PER_HOUR", "600")
# Following an order: after this many wrong phone digits the order number is locked for a while.
FOLLOW_MAX_MISSES = envint("FOLLOW_MAX_MISSES", "5")
FOLLOW_LOCK_SECONDS = envint("FOLLOW_LOCK_SECONDS", str(15 * 60))

# --- work orders: warnings, escalation, reveals, notifications (orders) ---------------------------
# Yellow warning once this fraction of a deadline's span has passed; red at the deadline.
ORDERS_WARNING_YELLOW_FRACTION = float(os.environ.get("ORDERS_WARNING_YELLOW_FRACTION", "0.8"))
# A lead's reply-by overdue by this many hours escalates the order one level up ("" switches it off).
ORDERS_ESCALATE_OVERDUE_HOURS = (
    envint("ORDERS_ESCALATE_OVERDUE_HOURS", "72")
    if os.environ.get("ORDERS_ESCALATE_OVERDUE_HOURS", "72")
    else None
)
# Phone reveals per handler and window (audited, rate-limited through the shared cache).
ORDERS_REVEAL_LIMIT = envint("ORDERS_REVEAL_LIMIT", "20")
ORDERS_REVEAL_WINDOW_SECONDS = envint("ORDERS_REVEAL_WINDOW_SECONDS", "3600")
# Bulk exports of the order search (PI-4): requests per user and day, rows per file.
ORDERS_EXPORT_DAILY_LIMIT = envint("ORDERS_EXPORT_DAILY_LIMIT", "5")
ORDERS_EXPORT_MAX_ROWS = envint("ORDERS_EXPORT_MAX_ROWS", "20000")
# SMS gateway (dotted path); the default only logs. Email goes through Django's mail settings.
ORDERS_SMS_BACKEND = os.environ.get("ORDERS_SMS_BACKEND", "orders.notifications.LoggingSmsGateway")

# --- insight: suggestions and automatic dispatch --------------------------------------------------
# Orders whose best suggestion reaches this confidence are dispatched automatically ("" switches
# it off); they are dispatched as this account, which needs a dispatcher membership ("" = none).
INSIGHT_AUTO_DISPATCH_CONFIDENCE = (
    float(os.environ.get("INSIGHT_AUTO_DISPATCH_CONFIDENCE", "0.9"))
    if os.environ.get("INSIGHT_AUTO_DISPATCH_CONFIDENCE", "0.9")
    else None
)
# The demo city seeds that account as demo_autodispatch (demo.services.DEMO_AUTODISPATCH_USERNAME).
INSIGHT_DISPATCHER_USERNAME = os.environ.get(
    "INSIGHT_DISPATCHER_USERNAME", "demo_autodispatch" if DEMO else ""
)
# Retraining window: the newest closed orders of the last N days, at most the cap.
INSIGHT_TRAINING_DAYS = envint("INSIGHT_TRAINING_DAYS", "365")
INSIGHT_TRAINING_CAP = envint("INSIGHT_TRAINING_CAP", "200000")

# --- addresses and imports ----------------------------------------------------------------------
# Leading province/city names stripped before an address is matched (orgs.addresses).
ADDRESS_CITY_PREFIXES = envlist("ADDRESS_CITY_PREFIXES", "民安市")
EXCEL_IMPORT_MAX_ROWS = envint("EXCEL_IMPORT_MAX_ROWS", "20000")
EXCEL_IMPORT_MAX_BYTES = envint("EXCEL_IMPORT_MAX_BYTES", str(20 * 1024 * 1024))

# --- audit ------------------------------------------------------------------------------------
AUDIT_RETENTION_DAYS = envint("AUDIT_RETENTION_DAYS", str(3 * 365))
AUDIT_MIN_RETENTION_DAYS = 180  # Cybersecurity Law art. 21: never purge younger than this

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}
