"""Settings, read once from the environment.

Every variable is documented in the README ("Configuration"). Nothing else in
the code reads ``os.environ``; it reads ``django.conf.settings``.
"""

from __future__ import annotations

from pathlib import Path

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=True)


def _required(name: str) -> str:
    value = env.str(name, default="")
    if not value:
        raise ImproperlyConfigured(
            f"{name} must be set when DJANGO_DEBUG=0 (production mode). See the README, 'Configuration'."
        )
    return value


if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default="dev-only-insecure-key-never-use-in-production-0123456789")
    ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]", "testserver"])
else:
    SECRET_KEY = _required("SECRET_KEY")
    ALLOWED_HOSTS = [h.strip() for h in _required("ALLOWED_HOSTS").split(",") if h.strip()]

CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
# The site's name and address, as people see them in e-mails, page titles and links. `make run` sets SITE_URL
# from HOST and PORT; the Sites framework's row (what allauth reads) is kept equal to them (peersupport/sites.py).
SITE_NAME = env.str("SITE_NAME", default="Peer Support")
# In production an unset SITE_URL is https:// and the first allowed host (a deploy check says so); set it.
SITE_URL = env.str(
    "SITE_URL",
    default="http://127.0.0.1:8000" if DEBUG else f"https://{(ALLOWED_HOSTS or ['localhost'])[0].lstrip('.')}",
).rstrip("/")
SITE_URL_SET = bool(env.str("SITE_URL", default=""))
SITE_ID = 1

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.sites",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_celery_beat",
    "csp",
    "peersupport",
    "groups",
    "sessions.apps.GroupSessionsConfig",
    "outcomes",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "peersupport.middleware.PermissionsPolicyMiddleware",
    "peersupport.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Facilitators, leads and staff open answers, alerts, the evaluation, exports and the admin only with a
    # second factor (peersupport/secondfactor.py).
    "peersupport.secondfactor.SecondFactorRequiredMiddleware",
]

ROOT_URLCONF = "peersupport.urls"
WSGI_APPLICATION = "peersupport.wsgi.application"

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
                "peersupport.context_processors.navigation",
                "peersupport.context_processors.site",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------
# No DATABASE_URL: a SQLite file under var/ (ignored by git).
VAR_DIR.mkdir(exist_ok=True)
(VAR_DIR / "static").mkdir(exist_ok=True)
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
elif DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite behind a web server, where requests write at the same time (autosave ticks in quick succession):
    # - WAL: readers never wait for the writer, nor the writer for readers; synchronous=NORMAL is safe with WAL.
    # - IMMEDIATE: every transaction takes the write lock when it begins. A DEFERRED one that reads, then
    #   writes, while another writes fails at once with "database is locked": SQLite cannot wait there.
    # - timeout: how long a writer waits for the lock (seconds) before that error.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": env.int("SQLITE_TIMEOUT", default=20),
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, broker, background jobs --------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# With Redis, the cache falls back to a database table while Redis is unreachable, so sign-in (whose rate-limit
# counters live in the cache) keeps working (peersupport/cache.py).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "peersupport.cache.FailoverCache",
            "LOCATION": REDIS_URL,
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
            "RETRY_AFTER": env.int("CACHE_RETRY_AFTER", default=10),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# No REDIS_URL: tasks run eagerly, in-process, when they are queued.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = 120
CELERY_TASK_TIME_LIMIT = 180
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A page that queues a task must not hang when Redis is down: one immediate retry (a pooled connection may have
# died with a Redis restart), each connect given up within 2 s; the outbox and the periodic jobs catch up with
# whatever could not be queued (peersupport/jobs.py). Workers reconnect by their own, patient, rules.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": 3600,
    "socket_connect_timeout": 2,
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_RESULT_EXPIRES = 3600
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE: dict = {
    # Day-before session reminders; idempotent, so a late or repeated run sends nothing twice.
    "sessions-send-reminders": {"task": "sessions.tasks.send_session_reminders", "schedule": 3600.0},
    # E-mail the leads (then the out-of-hours contact) about risk alerts nobody acknowledged in time.
    "outcomes-escalate-risk-alerts": {"task": "outcomes.tasks.escalate_risk_alerts", "schedule": 300.0},
    # Open, remind and expire questionnaires; looks at the current state every run.
    "outcomes-advance-assessments": {"task": "outcomes.tasks.advance_assessments", "schedule": 900.0},
    # Recompute any cohort still stale (a lost recompute message only delays a figure).
    "outcomes-sweep-stale-cohorts": {"task": "outcomes.tasks.sweep_stale_cohorts", "schedule": 300.0},
    # Deliver outbox messages still pending (the broker or the mail server was down), with back-off.
    "peersupport-deliver-outbox": {"task": "peersupport.tasks.deliver_outbox", "schedule": 60.0},
    # Seal into the audit hash chain any row the commit-time sealing missed (a process died in between).
    "peersupport-seal-audit": {"task": "peersupport.tasks.seal_audit", "schedule": 60.0},
    # Warn, then erase, members inactive past their organisation's period (off unless a lead sets one).
    "peersupport-erase-inactive-accounts": {"task": "peersupport.tasks.erase_inactive_accounts", "schedule": 86400.0},
}
# Without a broker there is no beat: the development server runs the same schedule in a thread of its own
# (peersupport/scheduler.py). Never turn it on beside beat.
IN_PROCESS_SCHEDULE = env.bool("IN_PROCESS_SCHEDULE", default=not REDIS_URL)

# --- Accounts -------------------------------------------------------------------
AUTH_USER_MODEL = "peersupport.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_REDIRECT_URL = "home"
LOGIN_URL = "account_login"

ACCOUNT_ADAPTER = "peersupport.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_RATE_LIMITS = {
    # allauth's defaults, stated here so they are visible and reviewed.
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reset_password": "20/m/ip,5/m/key",
    "reauthenticate": "10/m/user",
    "reset_password_from_key": "20/m/ip",
    "signup": "20/m/ip",
    "login": "30/m/ip",
    # Failed sign-ins. "key" is the address *and* the client (peersupport.adapters), so a stranger's guesses
    # never lock the owner out on their own device; the limits stack into a growing delay: 5 failures wait out
    # 5 minutes, 10 an hour, 20 a day. "ip" is one client across every address (guessing many accounts).
    # A successful sign-in takes back its own attempt, not the earlier failures.
    "login_failed": "5/5m/key,10/1h/key,20/1d/key,20/15m/ip,60/1d/ip",
    "confirm_email": "1/3m/key",
}
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_DEFAULT_HTTP_PROTOCOL = SITE_URL.split("://", 1)[0] if "://" in SITE_URL else ("http" if DEBUG else "https")
MFA_ADAPTER = "peersupport.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
# Accept the code of the 30-second step before or after too: phones' clocks drift, and a code typed at
# the end of its step would otherwise fail. (Each code still works once.)
MFA_TOTP_TOLERANCE = 1
MFA_TOTP_ISSUER = env.str("MFA_TOTP_ISSUER", default="Peer Support Platform")

# The client of a request is REMOTE_ADDR unless the site runs behind that many reverse proxies, each appending to
# X-Forwarded-For (peersupport/clients.py): rate limits and the audit trail then use the address the outermost
# proxy saw. Leave 0 without a proxy: the header is otherwise the client's own claim.
ALLAUTH_TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)

# The key of the audit trail's actor pseudonyms (peersupport.audit.actor_reference). Set it once and keep it: a
# new key gives the same people new pseudonyms from then on. Defaults to SECRET_KEY.
AUDIT_ACTOR_KEY = env.str("AUDIT_ACTOR_KEY", default="") or SECRET_KEY

INVITATION_MAX_AGE_DAYS = env.int("INVITATION_MAX_AGE_DAYS", default=14)

# --- E-mail ---------------------------------------------------------------------
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Peer Support <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"

# --- Internationalisation ---------------------------------------------------------
# Rows per page on every list that grows with the service (groups, people, invitations, completion...):
# peersupport.pagination reads it, so a page costs the same whatever the service's size.
LIST_PAGE_SIZE = 50

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
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
CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

# --- Security headers -------------------------------------------------------------
# No inline scripts or styles anywhere: everything the pages need is a static file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "object-src": [NONE],
    },
}
# Powerful browser features no page uses (peersupport.middleware.PermissionsPolicyMiddleware).
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer", "autoplay", "bluetooth", "camera", "display-capture", "geolocation", "gyroscope", "hid",
        "magnetometer", "microphone", "midi", "payment", "serial", "usb",
    )
}  # fmt: skip
# Seconds a client is asked to wait (Retry-After) when the database cannot be reached and a page answers 503.
DATABASE_RETRY_AFTER = env.int("DATABASE_RETRY_AFTER", default=30)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True

if not DEBUG:
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env.bool("SECURE_PROXY_SSL_HEADER", default=False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- Logging -----------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    # One line per task run is noise in the web process when tasks run in-process.
    "loggers": {"celery.app.trace": {"level": env.str("CELERY_TRACE_LOG_LEVEL", default="WARNING")}},
}
