"""Settings have one home: code under app/ and workers/ never reads the environment, never repeats
a setting's default, and reads only declared settings (AST scans, so a new offender fails here)."""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from config import FAMILIES, SETTINGS
from config.core import FIXED, FIXED_BY_ENVIRONMENT

ROOT = Path(__file__).resolve().parents[2]
# Keys the app reads that are not settings: derived by config/settings.py, or Flask's and extensions' own.
NOT_SETTINGS = {"SQLALCHEMY_DATABASE_URI", "WTF_CSRF_ENABLED", "DEBUG", *FIXED,
                *(k for v in FIXED_BY_ENVIRONMENT.values() for k in v)}
DECLARED = set(SETTINGS) | set(FAMILIES)


def _modules() -> Iterator[tuple[str, ast.AST]]:
    for folder in ("app", "workers"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield str(path.relative_to(ROOT)), ast.parse(path.read_text(encoding="utf-8"))


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def _environment_reads(tree: ast.AST) -> Iterator[int]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "environb", "getenv", "putenv") \
                and isinstance(node.value, ast.Name) and node.value.id == "os":
            yield node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and any(a.name in ("environ", "environb", "getenv") for a in node.names):
            yield node.lineno


def test_no_module_reads_the_environment():
    offenders = [f"{path}:{line}" for path, tree in _modules() for line in _environment_reads(tree)]
    assert offenders == [], "read settings from current_app.config; declare new ones in config/"


def test_no_setting_is_read_with_a_fallback():
    """`config.get(NAME, default)` repeats a default (or hides a missing declaration): index instead."""
    offenders = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("get", "setdefault", "pop") and node.args \
                    and _const(node.args[0]) in DECLARED:
                offenders.append(f"{path}:{node.lineno} .{node.func.attr}({_const(node.args[0])!r}, …)")
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "getattr" \
                    and len(node.args) == 3 and _const(node.args[1]) in DECLARED:
                offenders.append(f"{path}:{node.lineno} getattr(…, {_const(node.args[1])!r}, default)")
    assert offenders == []


def test_every_setting_read_is_declared():
    offenders = []
    for path, tree in _modules():
        for node in ast.walk(tree):
            if not isinstance(node, ast.Subscript):
                continue
            target = node.value
            holder = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            key = _const(node.slice)
            if holder == "config" and key is not None and key not in DECLARED | NOT_SETTINGS:
                offenders.append(f"{path}:{node.lineno} config[{key!r}]")
    assert offenders == [], "declare the setting in config/ (type, default, meaning)"


def test_no_default_is_repeated_outside_config():
    """A string default of a declared setting written again in app/ or workers/ is a second home.

    (A bare scheme such as `memory://` is a kind of URL the code recognises, not a default.)
    """
    defaults = {s.default_for(env) for s in SETTINGS.values() for env in ("development", "production")
                if isinstance(s.default_for(env), str) and len(s.default_for(env)) >= 8
                and not s.default_for(env).endswith("://")}
    offenders = [f"{path}:{node.lineno} {node.value!r}" for path, tree in _modules() for node in ast.walk(tree)
                 if _const(node) in defaults]
    assert offenders == []


def test_the_service_zone_is_read_at_call_time():
    """`from app.domain.clock import SERVICE_ZONE` would keep the zone of import time, not SERVICE_TIMEZONE."""
    offenders = [f"{path}:{node.lineno}" for path, tree in _modules() for node in ast.walk(tree)
                 if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("clock")
                 and any(a.name == "SERVICE_ZONE" for a in node.names)]
    assert offenders == []


def test_the_scans_find_what_they_look_for():
    """The scans are not vacuous: each flags a planted offender."""
    planted = ast.parse('import os\nfrom os import getenv\nx = os.environ.get("A")\n'
                        'y = current_app.config.get("REDIS_URL", "memory://")\n')
    assert list(_environment_reads(planted)) == [2, 3]
    calls = [n for n in ast.walk(planted) if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
             and n.func.attr == "get" and n.args and _const(n.args[0]) in DECLARED]
    assert len(calls) == 1
