"""Settings for Safe Passage casework, read from the environment.

Fails closed: in production (``CASEWORK_ENV=prod``) a missing or malformed
setting stops start-up with ``ImproperlyConfigured`` naming the variable.
Every variable is documented in README.md ("Configuration").
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from casework.lib.env import (
    dev_secret_key,
    ensure_private_dir,
    env_bool,
    env_choice,
    env_int,
    env_list,
    env_secret,
    env_str,
)
from casework.lib.static_headers import add_static_headers

BASE_DIR = Path(__file__).resolve().parent.parent

CASEWORK_ENV = env_choice("CASEWORK_ENV", "dev", ("dev", "prod"))
PROD = CASEWORK_ENV == "prod"

# Everything a run writes lives here: database, dev keys, stored (encrypted) files.
DATA_DIR = ensure_private_dir(
    Path(env_str("CASEWORK_DATA_DIR", str(BASE_DIR / "var"))).expanduser().resolve()
)

if PROD:
    SECRET_KEY = env_secret("SECRET_KEY")
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
    if env_bool("CASEWORK_DEBUG", False):
        raise ImproperlyConfigured("CASEWORK_DEBUG must not be enabled when CASEWORK_ENV=prod.")
    DEBUG = False
else:
    SECRET_KEY = env_str("SECRET_KEY", "") or dev_secret_key(DATA_DIR)
    ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
    # Off by default even in development: debug pages show local variables.
    DEBUG = env_bool("CASEWORK_DEBUG", False)

# --- Keys --------------------------------------------------------------------------
# Key-encryption keys and the blind-index key: a JSON key file (mode 0600) outside the
# database, or the same JSON in CASEWORK_KEYS. Development creates the file on first use.

# Only whether the variable is set is kept here: keys never enter settings (debug pages,
# error reports and `diffsettings` print settings).
CASEWORK_KEYS_FROM_ENV = bool(env_str("CASEWORK_KEYS", ""))
if PROD and not CASEWORK_KEYS_FROM_ENV:
    CASEWORK_KEYS_FILE = Path(env_str("CASEWORK_KEYS_FILE"))
else:
    CASEWORK_KEYS_FILE = Path(env_str("CASEWORK_KEYS_FILE", str(DATA_DIR / "keys.json")))

# Backups are encrypted as a whole to this age recipient (an X25519 public key, "age1...";
# R59). Its identity, the private half, is kept offline with the key file's escrow and given
# to `restore --identity`. Production refuses to write a backup without it.
CASEWORK_BACKUP_RECIPIENT = env_str("CASEWORK_BACKUP_RECIPIENT", "")

# Erasure journal: one line per erased person (time, applicant id, cause), appended once the
# erasure is committed; `restore` replays it, so that restoring a backup never brings back a
# person erased since. Keep it off this host, beside the exported audit checkpoints
# (docs/operations.md): a journal lost with the database protects nothing.
CASEWORK_ERASURE_JOURNAL = Path(
    env_str("CASEWORK_ERASURE_JOURNAL", str(DATA_DIR / "erasures.txt"))
).expanduser()

# Expected number of applicants: sets the blind-index width so that each search returns
# a few false candidates (CipherSweet's bound 2 <= R/2^L < sqrt(R)), filtered by decryption.
CASEWORK_BLIND_INDEX_ROWS = env_int("CASEWORK_BLIND_INDEX_ROWS", 10_000, minimum=16)

# Audit log: checkpoints signed by `audit_checkpoint` (run by its own operating-system user,
# the only one that can read the Ed25519 key file); the web process verifies them with the
# public key (base64) and never reads the key file (SECURITY.md "Audit log").
CASEWORK_AUDIT_ORIGIN = env_str("CASEWORK_AUDIT_ORIGIN", "safe-passage-casework")
# Audit entries older than this lose their content (`prune_audit`, DOMAIN.md 4.4: two years);
# never less than a year, the floor that verification holds pruned entries to.
CASEWORK_AUDIT_RETENTION_DAYS = env_int("CASEWORK_AUDIT_RETENTION_DAYS", 730, minimum=365)
CASEWORK_AUDIT_PUBLIC_KEY = env_str("CASEWORK_AUDIT_PUBLIC_KEY", "")
if PROD:
    CASEWORK_AUDIT_KEY_FILE = Path(env_str("CASEWORK_AUDIT_KEY_FILE"))
else:
    CASEWORK_AUDIT_KEY_FILE = Path(
        env_str("CASEWORK_AUDIT_KEY_FILE", str(DATA_DIR / "audit-signing.key"))
    )
# Auditors are alerted when a user views more distinct cases than this in an hour (R47),
# or in a day (the "bulk access" list, also 3x their own daily median).
CASEWORK_ALERT_CASES_PER_HOUR = env_int("CASEWORK_ALERT_CASES_PER_HOUR", 30, minimum=1)
CASEWORK_ALERT_CASES_PER_DAY = env_int("CASEWORK_ALERT_CASES_PER_DAY", 50, minimum=1)

# Reverse proxies whose X-Forwarded-For is believed (their own addresses, e.g. 127.0.0.1):
# throttling, the audit log's client network and the verification page's rate limit need
# the client's address, not the proxy's.
CASEWORK_TRUSTED_PROXIES = frozenset(env_list("CASEWORK_TRUSTED_PROXIES", []))

# Letters: rendered in a worker process with these limits (R55), sealed with each
# organisation's certificate from CASEWORK_SEAL_DIR, verified at CASEWORK_VERIFY_BASE_URL.
# Argon2id cost of unlocking a member's private key at sign-in (issue 16): memory in KiB,
# passes, lanes. RFC 9106's second recommendation; paid once per sign-in, never per request.
CASEWORK_MEMBER_KDF = (
    env_int("CASEWORK_MEMBER_KDF_MEMORY_KIB", 64 * 1024, minimum=8 * 1024),
    env_int("CASEWORK_MEMBER_KDF_ITERATIONS", 3, minimum=1),
    env_int("CASEWORK_MEMBER_KDF_LANES", 4, minimum=1),
)
CASEWORK_LETTER_RENDER_SECONDS = env_int("CASEWORK_LETTER_RENDER_SECONDS", 30, minimum=1)
CASEWORK_LETTER_RENDER_MEMORY_MIB = env_int("CASEWORK_LETTER_RENDER_MEMORY_MIB", 512, minimum=128)
if PROD:
    CASEWORK_SEAL_DIR = Path(env_str("CASEWORK_SEAL_DIR"))
    CASEWORK_VERIFY_BASE_URL = env_str("CASEWORK_VERIFY_BASE_URL")
    if not CASEWORK_VERIFY_BASE_URL.startswith("https://"):
        raise ImproperlyConfigured("CASEWORK_VERIFY_BASE_URL must be an https:// address.")
else:
    CASEWORK_SEAL_DIR = Path(env_str("CASEWORK_SEAL_DIR", str(DATA_DIR / "seals")))
    CASEWORK_VERIFY_BASE_URL = env_str("CASEWORK_VERIFY_BASE_URL", "http://localhost:8000")
CASEWORK_VERIFY_BASE_URL = CASEWORK_VERIFY_BASE_URL.rstrip("/")
# Public verification page: lookups per client network (/24 or /48) per hour.
CASEWORK_VERIFY_CHECKS_PER_HOUR = env_int("CASEWORK_VERIFY_CHECKS_PER_HOUR", 30, minimum=1)

# E-mail carries security alerts only, to each organisation's alert mailbox, and says no
# more than that an alert exists (R47). Without EMAIL_HOST they are written to the log.
if env_str("EMAIL_HOST", ""):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = env_str("EMAIL_HOST")
    EMAIL_PORT = env_int("EMAIL_PORT", 587, minimum=1)
    EMAIL_HOST_USER = env_str("EMAIL_HOST_USER", "")
    EMAIL_HOST_PASSWORD = env_secret("EMAIL_HOST_PASSWORD") if EMAIL_HOST_USER else ""
    EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", True)
    EMAIL_TIMEOUT = 10
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "casework-alerts@localhost")

# --- Applications -----------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "csp",
    "django_otp",
    "django_otp_webauthn",
    "guardian",
    "django_countries",  # country names in every interface language (its own catalogues)
    "casework.accounts",
    "casework.audit",
    "casework.keystore",
    "casework.cases",
    "casework.letters",
    "casework.core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "casework.core.middleware.DatabaseUnavailableMiddleware",  # above all that query it
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "casework.accounts.middleware.SessionOTPMiddleware",
    "casework.accounts.middleware.SessionPolicyMiddleware",
    "casework.accounts.middleware.RequireSecondFactorMiddleware",
    "casework.keystore.vault.OrganisationKeyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "casework.lib.middleware.SecurityHeadersMiddleware",
    "casework.lib.middleware.DataKeyCacheMiddleware",
]

# Error reports (logs, admin mails, debug pages) carry no request data or local variables.
DEFAULT_EXCEPTION_REPORTER_FILTER = "casework.lib.reporting.RedactingExceptionReporterFilter"

ROOT_URLCONF = "casework.urls"
WSGI_APPLICATION = "casework.wsgi.application"

# Form widgets render through Django's Jinja2 templates (the same markup as the default
# renderer's): about twice as fast, and the case page renders two dozen of them (issue 15).
FORM_RENDERER = "django.forms.renderers.Jinja2"

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
                "casework.core.context_processors.environment",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------------

_database_url = env_str("DATABASE_URL", "")
if _database_url:
    try:
        _db = dj_database_url.parse(_database_url, conn_max_age=60, conn_health_checks=True)
    except ValueError:
        # The message of the library may echo the URL, and with it a password: say less.
        raise ImproperlyConfigured("DATABASE_URL is not a valid database URL.") from None
    if _db["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL.")
    if env_bool("CASEWORK_DB_PREPARED_STATEMENTS", True):
        # Values sent apart from the statement's text (server-side binding), and a statement
        # a connection has run five times prepared (psycopg's prepare_threshold): PostgreSQL
        # then neither parses it again nor, once it keeps a generic plan, plans it again:
        # about a tenth of the dashboard's and the case page's time at 100,000 cases
        # (issue 15; README, "Performance"). Off
        # (CASEWORK_DB_PREPARED_STATEMENTS=0) behind a PgBouncer in transaction mode older
        # than 1.21, which cannot keep a session's prepared statements.
        _db["OPTIONS"] = {
            **_db.get("OPTIONS", {}),
            "server_side_binding": True,
            "prepare_threshold": 5,
        }
        # Django's backend, except that it splits bulk statements at PostgreSQL's 65,535
        # values, which server-side binding meets (client-side binding did not).
        _db["ENGINE"] = "casework.lib.postgresql"
    DATABASES = {"default": _db}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "casework.sqlite3"),
            # IMMEDIATE: writers take the lock when they begin, which serialises audit
            # appends. WAL with synchronous=NORMAL: readers do not block the writer, and a
            # commit is one write instead of two fsyncs (a power cut may lose the last
            # commits, whole: an action and its audit entry go together).
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication ---------------------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
AUTHENTICATION_BACKENDS = [
    "casework.accounts.backends.RoleLoadingModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
ANONYMOUS_USER_NAME = None  # django-guardian: no anonymous user row
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",  # argon2id, m=100 MiB, t=2
    # Kept only so that an imported PBKDF2 hash can be verified once and upgraded.
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "casework.accounts.validators.MaximumLengthValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 15},
    },
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

# --- Sessions and cookies ---------------------------------------------------------

SESSION_ENGINE = "django.contrib.sessions.backends.db"  # server-side, revocable
# Idle timeout and absolute lifetime are enforced by SessionPolicyMiddleware, which deletes
# the session row; the cookie itself lives as long as the absolute lifetime at most.
CASEWORK_SESSION_IDLE_SECONDS = env_int("CASEWORK_SESSION_IDLE_SECONDS", 15 * 60, minimum=60)
CASEWORK_SESSION_ABSOLUTE_SECONDS = env_int(
    "CASEWORK_SESSION_ABSOLUTE_SECONDS", 8 * 60 * 60, minimum=300
)
SESSION_COOKIE_AGE = CASEWORK_SESSION_ABSOLUTE_SECONDS
# Sensitive actions need a second factor this fresh ("confirm it is you").
CASEWORK_STEP_UP_SECONDS = env_int("CASEWORK_STEP_UP_SECONDS", 5 * 60, minimum=1)
OTP_ADMIN_HIDE_SENSITIVE_DATA = True

# Passkeys: a second factor only (never passwordless), user verification required.
OTP_WEBAUTHN_ALLOW_PASSWORDLESS_LOGIN = False
OTP_WEBAUTHN_HELPER_CLASS = "casework.accounts.webauthn.StrictWebAuthnHelper"
OTP_WEBAUTHN_RP_NAME = "Safe Passage casework"
# The relying-party id cannot be changed later without every user registering again.
OTP_WEBAUTHN_RP_ID = env_str(
    "CASEWORK_WEBAUTHN_RP_ID", "localhost" if not PROD else ALLOWED_HOSTS[0]
)
OTP_WEBAUTHN_ALLOWED_ORIGINS = env_list(
    "CASEWORK_WEBAUTHN_ORIGINS",
    ["http://localhost:8000"] if not PROD else [f"https://{OTP_WEBAUTHN_RP_ID}"],
)
# Saved when something in it changes, not on every request: the last-seen time changes at
# most once a minute (accounts.middleware), which keeps the row alive SESSION_COOKIE_AGE past
# the last activity; the idle and absolute limits are the middleware's, not the row's.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
# The key that opens the session's copy of the organisation key (casework.keystore.vault):
# a cookie of its own, so that the session table alone opens nothing. __Host- in production.
CASEWORK_VAULT_COOKIE_NAME = "vault"
SESSION_COOKIE_SAMESITE = "Strict"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Strict"
CSRF_FAILURE_VIEW = "casework.core.views.csrf_failure"
LANGUAGE_COOKIE_HTTPONLY = True
LANGUAGE_COOKIE_SAMESITE = "Strict"

# --- HTTP security headers --------------------------------------------------------

X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
# same-origin, never no-referrer: with no-referrer a browser sends "Origin: null" on our own
# forms and the CSRF check refuses every POST. same-origin sends nothing to other origins.
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"

CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    }
}

if PROD:
    # Served over HTTPS only, behind a reverse proxy that sets X-Forwarded-Proto
    # itself (and strips any value a client sent); see README "Deployment".
    SECURE_SSL_REDIRECT = env_bool("CASEWORK_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = 31_536_000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("CASEWORK_HSTS_PRELOAD", True)
    # __Host- cookies: Secure, Path=/, no Domain; the browser refuses them otherwise.
    SESSION_COOKIE_NAME = "__Host-sessionid"
    CSRF_COOKIE_NAME = "__Host-csrftoken"
    LANGUAGE_COOKIE_NAME = "__Host-language"
    CASEWORK_VAULT_COOKIE_NAME = "__Host-vault"
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    LANGUAGE_COOKIE_SECURE = True
    CSRF_TRUSTED_ORIGINS = env_list(
        "CSRF_TRUSTED_ORIGINS", [f"https://{host}" for host in ALLOWED_HOSTS]
    )

# --- Internationalisation ---------------------------------------------------------

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("ru", _("Russian")),
    ("uk", _("Ukrainian")),
    ("de", _("German")),
    ("fr", _("French")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = "UTC"
USE_TZ = True

# --- Static files -----------------------------------------------------------------

STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
# collectstatic target in production; in development WhiteNoise serves from the finders.
STATIC_ROOT = DATA_DIR / "static" if PROD else None
WHITENOISE_USE_FINDERS = not PROD
# Static files get the pages' hardening (WhiteNoise answers before our middleware) and are
# not offered to other origins (WhiteNoise's default is "Access-Control-Allow-Origin: *").
WHITENOISE_ADD_HEADERS_FUNCTION = add_static_headers
WHITENOISE_ALLOW_ALL_ORIGINS = False
# Uploads larger than this are refused before they are read into memory for encryption.
CASEWORK_UPLOAD_MAX_BYTES = env_int("CASEWORK_UPLOAD_MAX_BYTES", 25 * 1024 * 1024, minimum=1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = 2_621_440
# Uploads stay in memory up to CASEWORK_UPLOAD_MAX_BYTES and are refused beyond it while they
# stream; no plaintext upload is ever spooled to a temporary file (casework/lib/uploads.py).
FILE_UPLOAD_HANDLERS = ["casework.lib.uploads.MemoryOnlyUploadHandler"]
FILE_UPLOAD_MAX_MEMORY_SIZE = 2_621_440  # read by Django's own handlers only, unused here
FILE_UPLOAD_PERMISSIONS = 0o600
FILE_UPLOAD_DIRECTORY_PERMISSIONS = 0o700

# Stored files (documents, letters, exports) are encrypted before they reach the storage
# (casework/lib/files.py) and named <purpose>/<random>.enc: kept under the data directory
# (`local`), or in a private bucket of any S3-compatible object store (`s3`, django-storages),
# which then holds ciphertext and those names, nothing else. The application reads the files
# itself and serves them decrypted: no bucket address is ever handed out (no ACL, no signed
# URL).
CASEWORK_STORAGE = env_choice("CASEWORK_STORAGE", "local", ("local", "s3"))
if CASEWORK_STORAGE == "s3":
    from botocore.config import Config as S3ClientConfig  # type: ignore[import-untyped]

    _s3_endpoint = env_str("CASEWORK_S3_ENDPOINT_URL", "")  # unset: Amazon S3 itself
    try:
        _s3_parts = urlsplit(_s3_endpoint)
        _s3_endpoint_valid = not _s3_endpoint or (
            _s3_parts.scheme in ("https", "http")
            and bool(_s3_parts.hostname)
            and (_s3_parts.port or 0) >= 0  # a malformed port raises ValueError
            and "@" not in _s3_parts.netloc
            and not (_s3_parts.query or _s3_parts.fragment)
        )
    except ValueError:
        _s3_endpoint_valid = False
    # Never echoed: a URL with a password in it would print it. Credentials have their own
    # variables, and the request signature (SigV4) never sends the secret.
    if not _s3_endpoint_valid:
        raise ImproperlyConfigured(
            "CASEWORK_S3_ENDPOINT_URL must be an https://host[:port] address, with no "
            "credentials in it (they go in CASEWORK_S3_ACCESS_KEY_ID and _SECRET_ACCESS_KEY)."
        )
    _s3_on_this_host = _s3_parts.hostname in ("127.0.0.1", "::1", "localhost")
    if PROD and _s3_parts.scheme == "http" and not _s3_on_this_host:
        raise ImproperlyConfigured(
            "CASEWORK_S3_ENDPOINT_URL must be https:// in production (http:// only for a "
            "store on this host)."
        )
    _s3_bucket = env_str("CASEWORK_S3_BUCKET")
    if not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", _s3_bucket):
        raise ImproperlyConfigured(
            "CASEWORK_S3_BUCKET must be a bucket name (3 to 63 lower-case letters, digits, "
            "dots and hyphens)."
        )
    _s3_access_key = env_str("CASEWORK_S3_ACCESS_KEY_ID")
    _s3_secret_key = env_secret("CASEWORK_S3_SECRET_ACCESS_KEY")
    if not _s3_access_key or not _s3_secret_key:
        raise ImproperlyConfigured(
            "CASEWORK_S3_ACCESS_KEY_ID and CASEWORK_S3_SECRET_ACCESS_KEY must not be empty."
        )
    _file_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": _s3_bucket,
            "endpoint_url": _s3_endpoint or None,
            "region_name": env_str("CASEWORK_S3_REGION", "us-east-1"),
            # These credentials only: none of boto3's own (AWS_* variables, ~/.aws, an
            # instance role) is looked for, so the store is the one configured here.
            "access_key": _s3_access_key,
            "secret_key": _s3_secret_key,
            "security_token": None,
            "session_profile": None,
            # Private: no ACL is sent (the bucket's own policy applies, public access
            # blocked), and url() would give an unsigned address that opens nothing.
            "default_acl": None,
            "querystring_auth": False,
            # An existing name is never overwritten: store_encrypted refuses instead.
            "file_overwrite": False,
            "object_parameters": {"ContentType": "application/octet-stream"},
            "max_memory_size": 0,  # reads stay in memory, never spooled to a temporary file
            # A store that does not answer fails a request within seconds, not minutes.
            "client_config": S3ClientConfig(
                s3={
                    "addressing_style": env_choice(
                        "CASEWORK_S3_ADDRESSING_STYLE", "path", ("path", "virtual")
                    )
                },
                signature_version="s3v4",
                connect_timeout=5,
                read_timeout=30,
                retries={"mode": "standard", "max_attempts": 3},
            ),
        },
    }
else:
    _file_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": DATA_DIR / "files"},
    }
STORAGES = {
    "default": _file_storage,
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if PROD
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Logging ----------------------------------------------------------------------
# Lines carry what happened, never request bodies or decrypted values.

# Invitation tokens and verification codes live in URL paths: the loggers that write paths
# (4xx answers, CSRF refusals, runserver's request lines) replace them with "…".
_PATH_LOGGERS = ("django.request", "django.security.csrf", "django.server")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"secret_paths": {"()": "casework.lib.reporting.SecretPathFilter"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "loggers": {name: {"filters": ["secret_paths"]} for name in _PATH_LOGGERS},
    "root": {"handlers": ["console"], "level": env_str("CASEWORK_LOG_LEVEL", "INFO")},
}
