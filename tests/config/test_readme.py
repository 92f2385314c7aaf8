"""README's settings tables are the declarations: every setting documented, no stale row."""
from __future__ import annotations

import re

from config import FAMILIES, SETTINGS, readme


def test_readme_tables_match_the_declarations():
    text = readme.README.read_text(encoding="utf-8")
    assert readme.current_block(text) == readme.tables(), "run: python -m config.readme --write"


def test_every_setting_has_exactly_one_row():
    rows = re.findall(r"^\| `([A-Z_<>]+)` \|", readme.tables(), flags=re.M)
    expected = [*SETTINGS, *(f.prefix + "<KEY>" for f in FAMILIES.values())]
    assert sorted(rows) == sorted(expected)


def test_write_repairs_a_drifted_table(tmp_path):
    drifted = readme.README.read_text(encoding="utf-8").replace("| `MESSAGING_BATCH_SIZE` |", "| `OLD_NAME` |")
    target = tmp_path / "README.md"
    target.write_text(drifted, encoding="utf-8")
    assert readme.current_block(drifted) != readme.tables()
    assert readme.write(target) is True
    assert readme.current_block(target.read_text(encoding="utf-8")) == readme.tables()
    assert readme.write(target) is False
