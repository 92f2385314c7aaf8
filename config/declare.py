"""How a setting is declared and how one raw value becomes a typed one.

A `Setting` says everything about one environment variable: its name, kind, default (and the
production default where it differs), whether it is a secret, and what it means. `Family` is a set
of variables sharing a prefix (`WECHAT_TEMPLATE_<KEY>`), loaded into one dict setting.
Conversion and range checks are marshmallow's fields and validators; a failure becomes a
`Problem` that names the variable and what it expected (a secret's value is never repeated).
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, validate

KINDS = ("str", "int", "float", "bool", "enum", "list", "url", "path")


class _Same:
    """The production default is the ordinary default (the usual case)."""

    def __repr__(self) -> str:
        return "SAME"


SAME: Any = _Same()


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one setting: `name` is the variable, `message` says what it expected."""
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.name}: {self.message}"


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str
    default: Any
    meaning: str
    production: Any = SAME            # production default, where it differs (None: must be set)
    secret: bool = False              # never printed; masked in check-config
    choices: tuple[str, ...] = ()     # enum: the values; list: the allowed items
    minimum: float | None = None
    maximum: float | None = None
    schemes: tuple[str, ...] = ()     # url: the accepted schemes
    check: Callable[[Any], None] | None = None   # extra well-formedness rule: raises ValueError(why)
    shown_default: str | None = None  # README text when the default is machine-dependent or secret
    shown_production: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.name}: unknown kind {self.kind!r}")

    def default_for(self, environment: str) -> Any:
        if environment == "production" and self.production is not SAME:
            return self.production
        return self.default

    @property
    def expected(self) -> str:
        """What a value must look like, in words (error messages and the README type column)."""
        bounds = _bounds(self.minimum, self.maximum)
        return {
            "int": f"an integer{bounds}",
            "float": f"a number{bounds}",
            "bool": "a boolean (1/0, true/false, yes/no, on/off)",
            "enum": "one of " + ", ".join(self.choices),
            "list": "a comma-separated list" + (" of " + ", ".join(self.choices) if self.choices else ""),
            "url": "a URL (" + ", ".join(s + "://" for s in self.schemes) + ")",
            "path": "a file system path",
            "str": "a non-empty string",
        }[self.kind]

    def parse(self, raw: Any) -> Any:
        """The typed value of `raw` (an environment string or a Python value); raises ValueError."""
        if isinstance(raw, str):
            raw = raw.strip()
            if self.kind == "list":
                raw = [item.strip() for item in raw.replace(";", ",").split(",") if item.strip()]
        try:
            value = self._field().deserialize(raw)
        except ValidationError as exc:
            raise ValueError(f"expected {self.expected}{self._shown(raw)}") from exc
        if self.check is not None:
            self.check(value)
        return value

    def _field(self) -> fields.Field:
        rules: list[Callable[[Any], Any]] = []
        if self.minimum is not None or self.maximum is not None:
            rules.append(validate.Range(min=self.minimum, max=self.maximum))
        if self.kind == "int":
            return fields.Integer(strict=False, validate=rules)
        if self.kind == "float":
            return fields.Float(allow_nan=False, validate=rules)
        if self.kind == "bool":
            return fields.Boolean()
        if self.kind == "list":
            item = fields.String(validate=validate.OneOf(self.choices) if self.choices else None)
            return fields.List(item, validate=validate.Length(min=1))
        if self.kind == "enum":
            rules.append(validate.OneOf(self.choices))
        if self.kind == "url":
            rules.append(_url_rule(self.schemes))
        return fields.String(validate=[validate.Length(min=1), *rules])

    def _shown(self, raw: Any) -> str:
        if self.secret:
            return ""
        text = ",".join(raw) if isinstance(raw, list) else str(raw)
        return f", got {text[:60]!r}"


def _bounds(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return f" from {minimum:g} to {maximum:g}"
    if minimum is not None:
        return f" ≥ {minimum:g}"
    if maximum is not None:
        return f" ≤ {maximum:g}"
    return ""


def _url_rule(schemes: tuple[str, ...]) -> Callable[[str], None]:
    def rule(value: str) -> None:
        parts = urlsplit(value)
        if parts.scheme not in schemes or not (parts.netloc or parts.path or parts.scheme == "memory"):
            raise ValidationError("not a URL with an accepted scheme")
    return rule


@dataclass(frozen=True)
class Family:
    """Variables `<prefix><KEY>` loaded into one dict setting `name` keyed by the lowercase KEY.

    A key nobody configured reads as `default(key)`, so code indexes the dict and repeats no default.
    """
    name: str
    prefix: str
    meaning: str
    default: Callable[[str], str]
    shown_default: str
    secret: bool = False
    members: Setting = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "members", Setting(self.prefix + "<KEY>", "str", None, self.meaning))

    def collect(self, source: Mapping[str, Any]) -> dict[str, str]:
        return {key[len(self.prefix):].lower(): str(value).strip() for key, value in source.items()
                if key.startswith(self.prefix) and len(key) > len(self.prefix) and str(value).strip()}


class FamilyValues(dict):
    """A family's configured values; a missing key reads as the family's declared default."""

    def __init__(self, family: Family, configured: Mapping[str, str]) -> None:
        super().__init__(configured)
        self.family = family

    def __missing__(self, key: str) -> str:
        return self.family.default(key)

    def is_configured(self, key: str) -> bool:
        return dict.__contains__(self, key)
