"""API views are thin: parse, authorize, call one domain function, serialize. Queries live in the
domain, so a view touches the session only to commit (an AST scan of app/api)."""
from __future__ import annotations

import ast
from pathlib import Path

API = Path(__file__).resolve().parents[2] / "app" / "api"
ALLOWED_SESSION_CALLS = {"commit"}


def _session_calls(tree: ast.AST):
    for node in ast.walk(tree):
        # db.session.<name>(…) and session.<name>(…)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute) \
                and node.value.attr == "session":
            yield node.lineno, node.attr


def test_api_views_touch_the_session_only_to_commit():
    offenders = []
    for path in sorted(API.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        offenders += [f"{path.name}:{line} db.session.{name}" for line, name in _session_calls(tree)
                      if name not in ALLOWED_SESSION_CALLS]
    assert not offenders, "move the query into a domain function:\n" + "\n".join(offenders)


def test_api_modules_build_no_queries():
    offenders = []
    for path in sorted(API.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:  # imports for type hints only (under `if TYPE_CHECKING:`) are fine
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
                offenders.append(f"{path.name}:{node.lineno} from {node.module} import …")
            if isinstance(node, ast.ImportFrom) and node.module == "app.models":
                offenders.append(f"{path.name}:{node.lineno} models imported into a view module")
    assert not offenders, "\n".join(offenders)


def test_the_scan_would_see_a_query():
    tree = ast.parse("def view():\n    return db.session.scalar(select(X))\n")
    assert list(_session_calls(tree)) == [(2, "scalar")]
