"""The error catalogue: one class and one Chinese message per code, and no rule that names a
code by a string (every raise is a named class)."""
from __future__ import annotations

import ast
import re
import string
from pathlib import Path

import pytest

from app.domain.errors import DomainError, catalogue

APP = Path(__file__).resolve().parents[2] / "app"
_CJK = re.compile(r"[\u3400-\u9fff]")


def test_every_code_has_one_class_a_status_and_a_chinese_message():
    codes = catalogue()
    assert len(codes) > 100
    for code, cls in codes.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", code), code
        assert cls.code == code and issubclass(cls, DomainError)
        assert 400 <= cls.status < 600, code
        assert _CJK.search(cls.message), f"{code}: message is not Chinese"


def test_a_code_cannot_be_defined_twice():
    with pytest.raises(TypeError, match="slot_full"):
        class Twice(DomainError):
            code, message = "slot_full", "另一个说明"


def test_message_parameters_are_filled_when_raised():
    cls = catalogue()["cutoff_passed"]
    fields = {name for _, name, _, _ in string.Formatter().parse(cls.message) if name}
    assert fields == {"minutes"}
    assert cls(minutes=30).message == "距预约时间不足 30 分钟，不能取消或改约"


def _error_class_names() -> set[str]:
    return {cls.__name__ for cls in catalogue().values()} | {"DomainError"}


def test_no_error_is_raised_with_a_code_string_or_its_own_message():
    names = _error_class_names()
    offenders = []
    for path in APP.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr
            if name not in names:
                continue
            keywords = {k.arg for k in node.keywords}
            if node.args or keywords & {"code", "message", "status"}:
                offenders.append(f"{path.relative_to(APP.parent)}:{node.lineno} {name}(…)")
    assert not offenders, "raise the named class of the code instead:\n" + "\n".join(offenders)
