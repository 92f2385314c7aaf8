"""`flask --app app import-regions FILE` and `import-retirees FILE`: the handover (移交) imports.

Exit codes: 0 every row imported; 1 some rows rejected (the good ones are in); 2 the file itself
could not be read (type, encoding, missing columns): nothing imported.
"""
from __future__ import annotations

import csv
import sys
from collections.abc import Callable
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.domain.archives import imports
from app.domain.errors import DomainError
from app.domain.files import spreadsheets
from app.domain.files.spreadsheets import ImportResult

SHOWN_ERRORS = 100  # more than this on a terminal helps nobody; --errors-out has them all


def _stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def _run(path: str, importer: Callable[..., ImportResult], errors_out: str | None, **options) -> None:
    try:
        rows = spreadsheets.iter_rows(path)
        if _stdout_is_terminal():
            total = spreadsheets.estimate_rows(path) or 0
            with click.progressbar(length=total, label="导入中", show_pos=True) as bar:
                result = importer(rows, progress=bar.update, **options)
        else:
            result = importer(rows, **options)
    except DomainError as exc:
        details = "; ".join(f"{k}: {v}" for k, v in exc.fields.items())
        click.echo(f"错误：{exc.message}" + (f"（{details}）" if details and details not in exc.message else ""),
                   err=True)
        raise click.exceptions.Exit(2) from exc

    for error in result.errors[:SHOWN_ERRORS]:
        click.echo(f"第 {error.row} 行 [{error.column}] {error.reason}", err=True)
    if len(result.errors) > SHOWN_ERRORS:
        click.echo(f"……另有 {len(result.errors) - SHOWN_ERRORS} 条错误"
                   + ("，全部见 " + errors_out if errors_out else "，用 --errors-out 文件 导出全部"), err=True)
    if errors_out:
        _write_errors(Path(errors_out), result)
    click.echo(result.summary())
    if not result.ok:
        raise click.exceptions.Exit(1)


def _write_errors(path: Path, result: ImportResult) -> None:
    # utf-8-sig so Excel on a Chinese Windows shows the reasons instead of mojibake.
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "column", "reason"])
        writer.writerows((e.row, e.column, e.reason) for e in result.errors)


_file_argument = click.argument("file", type=click.Path(exists=True, dir_okay=False))
_errors_option = click.option("--errors-out", type=click.Path(dir_okay=False, writable=True),
                              help="Write rejected rows (row,column,reason) to this CSV file.")


@click.command("import-regions")
@_file_argument
@_errors_option
@with_appcontext
def import_regions_command(file: str, errors_out: str | None) -> None:
    """Import the region tree from FILE (.csv or .xlsx); re-importing renames, never moves.

    \b
    Columns: code 区划代码, name 名称, parent_code 上级代码, level 级别
    (province/city/district/street/community or 省/市/区/街道/社区). Parents may
    come after their children. Exit status as for import-retirees.
    """
    _run(file, imports.import_regions, errors_out)


@click.command("import-retirees")
@_file_argument
@_errors_option
@click.option("--batch-size", type=click.IntRange(100, 20000), default=imports.DEFAULT_BATCH_SIZE,
              show_default=True, help="Rows written and committed together.")
@with_appcontext
def import_retirees_command(file: str, errors_out: str | None, batch_size: int) -> None:
    """Import retiree archives from FILE (.csv or .xlsx); re-importing updates, never duplicates.

    \b
    Columns (English or Chinese header names; the first three are required):
      name 姓名, id_number 身份证号, community_code 社区代码,
      phone 联系电话, former_employer 原单位, retirement_date 退休日期,
      categories 类别 (孤寡;残疾;特困;劳模;重病), mobility_limited 行动不便 (是/否)
    Exit status: 0 all rows imported, 1 some rows rejected, 2 file unreadable.
    """
    _run(file, imports.import_retirees, errors_out, batch_size=batch_size)


commands = [import_regions_command, import_retirees_command]
