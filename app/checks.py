"""Configuration checks: what `create_app` refuses to start with, and what `flask check-config` reports."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from config import Problem, SettingsError
from config.core import DEV_PII_KEY, DEV_SECRET_KEY


def _production_problems(config: Mapping[str, Any]) -> list[Problem]:
    problems = [Problem(name, "must be set in production (the development default is public)")
                for name, dev in (("SECRET_KEY", DEV_SECRET_KEY), ("PII_KEY", DEV_PII_KEY))
                if config[name] in (None, "", dev)]
    if not config["REDIS_URL"] or config["REDIS_URL"].startswith("memory://"):
        problems.append(Problem("REDIS_URL", "production needs a real Redis, not memory://"))
    return problems


def refuse_to_start(config: Mapping[str, Any], problems: Iterable[Problem] = ()) -> None:
    """Raise SettingsError listing every malformed setting and, in production, every unsafe one."""
    problems = list(problems)
    if config["TUIGUAN_ENV"] == "production":
        problems += _production_problems(config)
    if problems:
        raise SettingsError(f"TUIGUAN_ENV={config['TUIGUAN_ENV']} refuses to start:", problems)
