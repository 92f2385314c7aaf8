"""Every setting of the service, and the parser that turns the environment into the app's config.

The declarations live in the group modules (`core`, `wechat`, `messaging`, `services`); this module
collects them (`SETTINGS`, `FAMILIES`), parses the environment plus the caller's overrides into one
mapping of typed values (`parse`, `load`), and adds the values derived from others. Nothing else in
the code base reads the environment or holds a setting's default.
"""
from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import click

from config import core, messaging, services, wechat
from config.declare import Family, FamilyValues, Problem, Setting

GROUPS = (core, wechat, messaging, services)
SETTINGS: dict[str, Setting] = {s.name: s for group in GROUPS for s in group.SETTINGS}
FAMILIES: dict[str, Family] = {f.name: f for group in GROUPS for f in getattr(group, "FAMILIES", ())}
ENVIRONMENTS = core.ENVIRONMENTS


class SettingsError(click.ClickException, RuntimeError):
    """Settings the service refuses to start with; the message lists every problem, one per line.

    A ClickException so that any `flask` command shows the list as a plain error (exit status 1)
    instead of a traceback; a RuntimeError for everything else (gunicorn, RQ, tests).
    """

    def __init__(self, headline: str, problems: Iterable[Problem | str]) -> None:
        self.problems = [str(p) for p in problems]
        super().__init__(headline + "\n" + "\n".join(f"  - {p}" for p in self.problems))


@dataclass
class Parsed:
    """The typed settings of one environment, and what was wrong with the raw values."""
    environment: str
    values: dict[str, Any]
    problems: list[Problem] = field(default_factory=list)


def normalize_database_url(url: str) -> str:
    """The SQLAlchemy URL for DATABASE_URL: psycopg 3 is the installed driver; accept the usual spellings."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def _environment(name: str | None, overrides: Mapping[str, Any], environ: Mapping[str, str]) -> str:
    name = name or overrides.get("TUIGUAN_ENV") or (environ.get("TUIGUAN_ENV") or "").strip() or "development"
    if name not in ENVIRONMENTS:
        raise SettingsError("invalid settings:", [Problem("TUIGUAN_ENV", "expected one of "
                                                          + ", ".join(ENVIRONMENTS) + f", got {name!r}")])
    return name


def parse(environment: str | None = None, overrides: Mapping[str, Any] | None = None,
          environ: Mapping[str, str] | None = None) -> Parsed:
    """Typed settings from `environ` (default: the process environment) with `overrides` on top.

    An empty variable counts as unset. Overrides are Python values (tests, benchmarks) or strings,
    checked by the same rules; keys that are not declared settings (Flask's own, e.g. TESTING) pass
    through. A malformed value is reported in `problems` and left out; nothing raises here.
    """
    environ = os.environ if environ is None else environ
    overrides = dict(overrides or {})
    env_name = _environment(environment, overrides, environ)
    values: dict[str, Any] = {**core.FIXED, **core.FIXED_BY_ENVIRONMENT.get(env_name, {})}
    problems: list[Problem] = []
    for setting in SETTINGS.values():
        if setting.name in overrides:
            raw = overrides.pop(setting.name)
        else:
            raw = environ.get(setting.name)
            raw = None if raw is None or not raw.strip() else raw
        if raw is None:
            values[setting.name] = setting.default_for(env_name)
            continue
        try:
            values[setting.name] = setting.parse(raw)
        except ValueError as exc:
            problems.append(Problem(setting.name, str(exc)))
            values[setting.name] = None
    values["TUIGUAN_ENV"] = env_name
    for family in FAMILIES.values():
        configured = {**family.collect(environ), **family.collect(overrides), **overrides.pop(family.name, {})}
        for key in [k for k in overrides if k.startswith(family.prefix)]:
            overrides.pop(key)
        values[family.name] = FamilyValues(family, configured)
    _derive(values)
    values.update(overrides)
    return Parsed(env_name, values, problems)


def _derive(values: dict[str, Any]) -> None:
    """Values that follow from others (after overrides, so an overridden base carries through)."""
    if values.get("DATABASE_URL"):
        values["SQLALCHEMY_DATABASE_URI"] = normalize_database_url(values["DATABASE_URL"])
    if not values.get("RATELIMIT_STORAGE_URI"):
        values["RATELIMIT_STORAGE_URI"] = values.get("REDIS_URL")
    if not values.get("MESSAGING_SENDING_STALE_SECONDS") and values.get("MESSAGING_JOB_TIMEOUT"):
        values["MESSAGING_SENDING_STALE_SECONDS"] = values["MESSAGING_JOB_TIMEOUT"] + 60


def load(environment: str | None = None, overrides: Mapping[str, Any] | None = None,
         environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """`parse`, raising SettingsError that lists every malformed value."""
    parsed = parse(environment, overrides, environ)
    if parsed.problems:
        raise SettingsError("invalid settings:", parsed.problems)
    return parsed.values
