"""Typed settings from environment variables.

Every setting the service reads is declared here with its default; README.md lists them.
Production refuses to start without its secrets instead of running on a development default.
"""
from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
INSTANCE = ROOT / "instance"

# Development-only keys: fine on a laptop, refused in production.
_DEV_SECRET_KEY = "dev-secret-key-not-for-production"  # noqa: S105 — refused in production
_DEV_PII_KEY = "ZGV2LXBpaS1rZXktbm90LWZvci1wcm9kdWN0aW9uISE="  # base64 of 32 bytes


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    if raw.lower() in ("1", "true", "yes", "on"):
        return True
    if raw.lower() in ("0", "false", "no", "off"):
        return False
    raise RuntimeError(f"{name} must be a boolean (1/0/true/false), got {raw!r}")


def _normalize_db_url(url: str) -> str:
    # psycopg 3 is the installed driver; accept the common spellings.
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


class BaseConfig:
    """Defaults for every environment; values are read from the environment at instantiation."""

    ENV_NAME = "base"
    TESTING = False

    def __init__(self) -> None:
        self._read_env()

    def _read_env(self) -> None:
        self.SECRET_KEY = env_str("SECRET_KEY", _DEV_SECRET_KEY)
        self.PII_KEY = env_str("PII_KEY", _DEV_PII_KEY)
        self.SQLALCHEMY_DATABASE_URI = _normalize_db_url(
            env_str("DATABASE_URL", f"sqlite:///{INSTANCE / 'tuiguan.db'}")
        )
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        # "memory://" means the in-process Redis stand-in (fakeredis): the embedded default.
        self.REDIS_URL = env_str("REDIS_URL", "memory://")
        self.RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI")  # defaults to REDIS_URL
        # inline: jobs run synchronously in the caller's process (embedded default);
        # rq: jobs go to Redis and `rq worker` processes run them.
        self.JOBS_MODE = env_str("JOBS_MODE", "inline")
        self.RQ_QUEUE_PREFIX = env_str("RQ_QUEUE_PREFIX", "tuiguan")

        self.WECHAT_API_BASE = env_str("WECHAT_API_BASE", "https://api.weixin.qq.com/")
        self.WECHAT_APPID = env_str("WECHAT_APPID", "wx-sandbox-appid")
        self.WECHAT_SECRET = env_str("WECHAT_SECRET", "sandbox-secret")
        self.WECHAT_TIMEOUT = float(env_str("WECHAT_TIMEOUT", "5"))
        self.WECHAT_CALLBACK_TOKEN = env_str("WECHAT_CALLBACK_TOKEN", "sandbox-callback-token")
        # developer | trial | formal; unset = WeChat's default (formal).
        self.WECHAT_MINIPROGRAM_STATE = env_str("WECHAT_MINIPROGRAM_STATE")

        self.API_TOKEN_TTL_DAYS = env_int("API_TOKEN_TTL_DAYS", 30)
        self.BINDING_ATTEMPT_LIMIT = env_str("BINDING_ATTEMPT_LIMIT", "5 per 15 minutes")
        self.SERVICE_TIMEZONE = env_str("SERVICE_TIMEZONE", "Asia/Shanghai")
        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 16 * 1024 * 1024)
        self.UPLOAD_DIR = env_str("UPLOAD_DIR", str(INSTANCE / "uploads"))

        # Cases and visits (issue 5): deadlines in days, and the Spring Festival priority groups.
        self.HOSPITAL_VISIT_DUE_DAYS = env_int("HOSPITAL_VISIT_DUE_DAYS", 3)
        self.CONDOLENCE_VISIT_DUE_DAYS = env_int("CONDOLENCE_VISIT_DUE_DAYS", 2)
        self.REVISIT_AFTER_DAYS = env_int("REVISIT_AFTER_DAYS", 2)
        self.HARDSHIP_REVIEW_DAYS = env_int("HARDSHIP_REVIEW_DAYS", 90)
        self.FESTIVAL_PRIORITY_CATEGORIES = env_str(
            "FESTIVAL_PRIORITY_CATEGORIES", "elderly,lonely,hardship,model_worker,serious_illness")
        # Feedback tickets (issue 5): days to reply, by category.
        self.FEEDBACK_REPLY_DAYS_COMPLAINT = env_int("FEEDBACK_REPLY_DAYS_COMPLAINT", 3)
        self.FEEDBACK_REPLY_DAYS_QUESTION = env_int("FEEDBACK_REPLY_DAYS_QUESTION", 5)
        self.FEEDBACK_REPLY_DAYS_SUGGESTION = env_int("FEEDBACK_REPLY_DAYS_SUGGESTION", 10)
        # Certification (issue 4): cycle defaults (a region's own settings override them), the
        # home-visit deadline, the booking cancel cut-off, the waitlist offer hold, the booking page.
        self.HOLIDAY_CAMPAIGN_LEAD_DAYS = env_int("HOLIDAY_CAMPAIGN_LEAD_DAYS", 14)
        self.CERT_CYCLE_MONTHS = env_int("CERT_CYCLE_MONTHS", 12)
        self.CERT_DUE_WINDOW_DAYS = env_int("CERT_DUE_WINDOW_DAYS", 60)
        self.CERT_GRACE_DAYS = env_int("CERT_GRACE_DAYS", 0)
        self.CERT_HOME_VISIT_DUE_DAYS = env_int("CERT_HOME_VISIT_DUE_DAYS", 7)
        self.BOOKING_CANCEL_CUTOFF_MINUTES = env_int("BOOKING_CANCEL_CUTOFF_MINUTES", 120)
        self.WAITLIST_OFFER_HOLD_MINUTES = env_int("WAITLIST_OFFER_HOLD_MINUTES", 120)
        self.CERT_BOOKING_PAGE = env_str("CERT_BOOKING_PAGE", "pages/certification/index?retiree_id={retiree_id}")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", False)
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.WTF_CSRF_TIME_LIMIT = None

        # OpenAPI (flask-smorest)
        self.API_TITLE = "Tuiguan mini-program API"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"

    def validate(self) -> None:
        """Hook for configs that must refuse to start on bad settings."""


class DevelopmentConfig(BaseConfig):
    ENV_NAME = "development"


class TestingConfig(BaseConfig):
    ENV_NAME = "testing"
    TESTING = True
    WTF_CSRF_ENABLED = True


class ProductionConfig(BaseConfig):
    ENV_NAME = "production"

    def _read_env(self) -> None:
        super()._read_env()
        self.SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
        self.JOBS_MODE = env_str("JOBS_MODE", "rq")

    def validate(self) -> None:
        missing = [
            name
            for name, dev in (("SECRET_KEY", _DEV_SECRET_KEY), ("PII_KEY", _DEV_PII_KEY))
            if getattr(self, name) in (None, "", dev)
        ]
        if missing:
            raise RuntimeError(
                "production needs these environment variables set: " + ", ".join(missing)
            )
        if self.REDIS_URL.startswith("memory://"):
            raise RuntimeError("production needs REDIS_URL pointing at a real Redis")


CONFIGS = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None = None) -> BaseConfig:
    """Instantiate the config named by the argument or TUIGUAN_ENV (default development)."""
    name = name or env_str("TUIGUAN_ENV", "development")
    if name not in CONFIGS:
        raise RuntimeError(f"unknown TUIGUAN_ENV {name!r}; one of {sorted(CONFIGS)}")
    return CONFIGS[name]()
