"""Core settings: the environment, secrets, storage, jobs, the service zone, web limits."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from limits import parse as parse_rate

from config.declare import Setting
from config.keys import MAKE_PII_KEY, MAKE_SECRET_KEY, check_pii_key

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

ENVIRONMENTS = ("development", "testing", "production")

# Development-only values: published in this repository, refused in production.
DEV_SECRET_KEY = "dev-secret-key-not-for-production"  # noqa: S105 — refused in production
DEV_PII_KEY = "ZGV2LXBpaS1rZXktbm90LWZvci1wcm9kdWN0aW9uISE="  # base64 of 32 bytes of text


def _zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"expected an IANA time zone such as Asia/Shanghai, got {name!r}") from exc


def _rate(text: str) -> None:
    try:
        parse_rate(text)
    except ValueError as exc:
        raise ValueError(f"expected a rate such as '5 per 15 minutes', got {text!r}") from exc


GROUP = "Core"
SETTINGS = (
    Setting("TUIGUAN_ENV", "enum", "development", "which environment's defaults and start-up checks apply",
            choices=ENVIRONMENTS),
    Setting("SECRET_KEY", "str", DEV_SECRET_KEY,
            f"signs staff session cookies and CSRF tokens; ≥ 32 random characters (`{MAKE_SECRET_KEY}`)",
            production=None, secret=True, shown_default="development key", shown_production="required"),
    Setting("PII_KEY", "str", DEV_PII_KEY,
            "base64 of ≥ 32 random bytes; encrypts ID numbers and phones and keys their lookup hash "
            f"(`{MAKE_PII_KEY}`)",
            production=None, secret=True, check=check_pii_key, shown_default="development key",
            shown_production="required"),
    Setting("DATABASE_URL", "url", f"sqlite:///{INSTANCE / 'tuiguan.db'}",
            "SQLAlchemy URL; `postgresql://…` uses psycopg 3 (production: PostgreSQL only)",
            production=None, schemes=("sqlite", "postgres", "postgresql", "postgresql+psycopg"),
            shown_default="`sqlite:///instance/tuiguan.db`", shown_production="required"),
    Setting("REDIS_URL", "url", "memory://",
            "Redis for RQ, the WeChat token cache and rate limits; `memory://` = in-process stand-in",
            production=None, schemes=("redis", "rediss", "unix", "memory"), shown_production="required"),
    Setting("RATELIMIT_STORAGE_URI", "url", None, "storage for Flask-Limiter's counters",
            schemes=("redis", "rediss", "unix", "memory"), shown_default="`REDIS_URL`"),
    Setting("JOBS_MODE", "enum", "inline",
            "`inline` runs jobs in the calling process; `rq` queues them for `flask worker`",
            production="rq", choices=("inline", "rq")),
    Setting("RQ_QUEUE_PREFIX", "str", "tuiguan", "prefix of the RQ queue names"),
    Setting("SERVICE_TIMEZONE", "str", "Asia/Shanghai",
            "the service zone: a retiree's \"today\", local times in messages and pages, `+08:00` in the API",
            check=_zone),
    Setting("MAX_CONTENT_LENGTH", "int", 16 * 1024 * 1024, "request size limit (bytes)", minimum=1024),
    Setting("UPLOAD_DIR", "path", str(INSTANCE / "uploads"), "uploaded files, outside the web root",
            shown_default="`instance/uploads`"),
    Setting("SESSION_COOKIE_SECURE", "bool", False, "staff cookies over HTTPS only", production=True),
    Setting("API_TOKEN_TTL_DAYS", "int", 30, "lifetime of mini-program API tokens (days)", minimum=1),
    Setting("BINDING_ATTEMPT_LIMIT", "str", "5 per 15 minutes", "failed binding attempts allowed per account",
            check=_rate),
)

# Fixed values the extensions read: the same everywhere, not taken from the environment.
FIXED = {
    "TESTING": False,
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "WTF_CSRF_TIME_LIMIT": None,
    # OpenAPI (flask-smorest)
    "API_TITLE": "Tuiguan mini-program API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.1.0",  # 3.1: nullable objects are JSON Schema (anyOf null), as validators expect
    "OPENAPI_URL_PREFIX": "/api/v1",
    "OPENAPI_JSON_PATH": "openapi.json",
}
FIXED_BY_ENVIRONMENT = {"testing": {"TESTING": True, "WTF_CSRF_ENABLED": True}}
