"""House rules that a reviewer would otherwise have to catch by eye."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _function_local_app_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        for inner in ast.walk(node):
            if isinstance(inner, ast.ImportFrom) and (inner.module or "").split(".")[0] == "app":
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno} from {inner.module}")
            elif isinstance(inner, ast.Import) and any(a.name.split(".")[0] == "app" for a in inner.names):
                found.append(f"{path.relative_to(ROOT)}:{inner.lineno} import")
    return found


def test_the_domain_imports_at_the_top_never_inside_a_function():
    """A late import hides a cycle; the cure is moving what both sides need (see the packages)."""
    offenders = [hit for path in sorted((ROOT / "app" / "domain").rglob("*.py"))
                 for hit in _function_local_app_imports(path)]
    assert offenders == []
