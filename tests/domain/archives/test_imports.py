"""The handover imports: regions and retiree archives from CSV/XLSX, bad rows, re-import."""
from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.commands import imports as import_commands
from app.domain import pii
from app.domain.archives import imports, records
from app.domain.files import spreadsheets
from app.extensions import db
from app.models import AuditEntry, Region, Retiree
from tests.support.factories import make_id_number, make_retiree, make_staff

EN = ["name", "id_number", "phone", "community_code", "former_employer", "retirement_date", "categories",
      "mobility_limited"]
ZH = ["姓名", "身份证号", "联系电话", "社区代码", "原单位", "退休日期", "类别", "行动不便"]
VALID_X = "11010519491231002X"  # GB 11643 example number, check character X


def write_csv(path, header, rows, encoding="utf-8"):
    with open(path, "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def good_rows(n=3):
    ids = [make_id_number(date(1950, 1, i + 1)) for i in range(n)]
    return [[f"退休{i}", ids[i], f"1380000{i:04d}", "510302001001", "自贡盐业公司", "2010-06-01", "孤寡;劳模", "否"]
            for i in range(n)]


# ---- retirees: happy paths ---------------------------------------------------------------------

def test_csv_with_english_headers_imports_every_field(tree, runner, tmp_path):
    number = make_id_number(date(1941, 5, 2), "male")
    path = write_csv(tmp_path / "r.csv", EN, [
        ["王建国", number, "138 1234 5678", "510302001001", "自贡机械厂", "2001/5/2", "孤寡；残疾", "是"]])
    result = runner.invoke(args=["import-retirees", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == "imported 1, updated 0, rejected 0"
    retiree = records.find_by_id_number(number)
    assert (retiree.name, retiree.gender, retiree.birth_date) == ("王建国", "male", date(1941, 5, 2))
    assert records.phone_number(retiree) == "13812345678" and retiree.phone_masked == "138****5678"
    assert retiree.community_id == tree["community_a"].id and retiree.former_employer == "自贡机械厂"
    assert retiree.retirement_date == date(2001, 5, 2) and retiree.mobility_limited is True
    assert sorted(c.category for c in retiree.category_rows) == ["disabled", "lonely"]
    assert records.full_id_number(retiree) == number and retiree.id_masked == number[:6] + "********" + number[-4:]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "gbk", "gb18030"])
def test_csv_with_chinese_headers_in_excel_encodings(tree, runner, tmp_path, encoding):
    path = write_csv(tmp_path / "r.csv", ZH, good_rows(2), encoding=encoding)
    result = runner.invoke(args=["import-retirees", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 2, updated 0, rejected 0" in result.output
    names = set(db.session.scalars(select(Retiree.name)))
    assert names == {"退休0", "退休1"}  # not mojibake: the encoding was detected


def test_xlsx_with_date_cells_numbers_and_booleans(tree, runner, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(ZH)
    number = make_id_number(date(1938, 2, 3), "female", area="510303")
    sheet.append(["李秀英", number, 13900001111, "510303001001", "自贡纺织厂", datetime(1993, 2, 3), "特困", True])
    sheet.append([None] * 8)  # a blank row is skipped and does not shift row numbers
    # What Excel saves for an ID typed into a number cell: a float, last digits gone.
    sheet.append(["刘丽", 1.10105194912310e17, "", "510303001001", None, 19990101, "", 0])
    path = tmp_path / "r.xlsx"
    book.save(path)

    result = runner.invoke(args=["import-retirees", str(path)])
    assert result.exit_code == 1
    assert "imported 1, updated 0, rejected 1" in result.output
    assert "第 4 行 [身份证号] 身份证号被 Excel 存成了数字" in result.output
    retiree = records.find_by_id_number(number)
    assert retiree.retirement_date == date(1993, 2, 3) and retiree.mobility_limited is True
    assert records.phone_number(retiree) == "13900001111"
    assert [c.category for c in retiree.category_rows] == ["hardship"]


def test_domain_import_takes_plain_dict_rows_and_reports_progress(tree):
    rows = [dict(zip(EN, r, strict=True)) for r in good_rows(7)]
    seen: list[int] = []
    result = imports.import_retirees(rows, batch_size=3, progress=seen.append)
    assert (result.imported, result.updated, result.rejected) == (7, 0, 0)
    assert seen == [3, 3, 1] and count(Retiree) == 7
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retirees.import"))
    assert entry.detail == {"imported": 7, "updated": 0, "rejected": 0}


def test_uploaded_stream_is_read_like_a_file(tree):
    """What a staff upload page will pass: a binary stream plus the uploaded file name."""
    buffer = io.StringIO()
    csv.writer(buffer).writerows([ZH, *good_rows(2)])
    stream = io.BytesIO(buffer.getvalue().encode("gbk"))
    result = imports.import_retirees(spreadsheets.iter_rows(stream, filename="名单.CSV"))
    assert (result.imported, result.rejected) == (2, 0)
    assert not stream.closed  # the caller's stream is left to the caller


def test_progress_bar_on_a_terminal(tree, runner, tmp_path, monkeypatch):
    monkeypatch.setattr(import_commands, "_stdout_is_terminal", lambda: True)
    path = write_csv(tmp_path / "r.csv", EN, good_rows(3))
    result = runner.invoke(args=["import-retirees", str(path)])
    assert result.exit_code == 0 and "导入中" in result.output
    assert result.output.strip().splitlines()[-1] == "imported 3, updated 0, rejected 0"


def test_bulk_insert_fills_python_side_defaults(tree):
    """COPY on PostgreSQL bypasses Core's column defaults; bulk_insert supplies them."""
    number = make_id_number()
    imports.bulk_insert(db.session.connection(), Retiree.__table__, [{
        "name": "甲", "id_number_enc": pii.encrypt(number), "id_hash": pii.lookup_hash(number),
        "id_masked": "x", "gender": "male", "birth_date": date(1950, 1, 1),
        "community_id": tree["community_a"].id}])
    db.session.commit()
    retiree = records.find_by_id_number(number)
    assert (retiree.life_status, retiree.pension_status, retiree.mobility_limited) == ("alive", "normal", False)
    assert retiree.created_at is not None and retiree.updated_at is not None


def test_staff_import_is_limited_to_the_staff_region(tree):
    """The upload page passes the staff member: other communities and their archives are refused."""
    worker = make_staff("community_worker", tree["community_a"])
    elsewhere = make_retiree(tree["community_b"], name="外区")
    other_number = records.full_id_number(elsewhere)
    db.session.commit()
    rows = [{"name": "本社区", "id_number": make_id_number(), "community_code": "510302001001"},
            {"name": "邻社区", "id_number": make_id_number(), "community_code": "510302001002"},
            {"name": "抢档案", "id_number": other_number, "community_code": "510302001001"}]
    result = imports.import_retirees(rows, actor=worker)
    assert (result.imported, result.updated, result.rejected) == (1, 0, 2)
    assert [(e.row, e.column, e.reason) for e in result.errors] == [
        (3, "community_code", "社区 510302001002 不在您的管辖范围内"),
        (4, "id_number", imports.OUTSIDE_SCOPE)]
    db.session.refresh(elsewhere)
    assert elsewhere.name == "外区" and elsewhere.community_id == tree["community_b"].id
    entry = db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retirees.import"))
    assert entry.actor_type == "staff" and entry.actor_id == worker.id


def test_flags_dates_and_phones_accept_the_documented_spellings():
    for raw in ("是", "1", "true", "Y", "y", True, 1):
        assert spreadsheets.parse_flag(raw) is True
    for raw in ("否", "0", "false", "N", "", None, False):
        assert spreadsheets.parse_flag(raw) is False
    with pytest.raises(ValueError):
        spreadsheets.parse_flag("也许")
    for raw in ("2010-06-01", "2010/06/01", "2010/6/1", "20100601", 20100601, datetime(2010, 6, 1, 0, 0),
                date(2010, 6, 1), 40330, "2010-06-01 00:00:00"):
        assert spreadsheets.parse_date(raw) == date(2010, 6, 1), raw
    for raw in ("2010-02-30", "01/06/2010", "明年", "2010-13-01"):
        with pytest.raises(ValueError):
            spreadsheets.parse_date(raw)
    assert imports.clean_phone("+86 138 1234 5678") == "13812345678"
    assert imports.clean_phone("138-1234-5678") == "13812345678"
    assert imports.clean_phone("0813-2123456") == "0813-2123456"
    assert imports.clean_phone("") is None
    for bad in ("12345", "1380000111", "138000011112", "电话"):
        with pytest.raises(ValueError):
            imports.clean_phone(bad)


# ---- retirees: bad rows -------------------------------------------------------------------------

def test_bad_rows_are_reported_with_row_column_reason_and_good_rows_still_imported(tree, runner, tmp_path):
    good = good_rows(2)
    bad_check = VALID_X[:-1] + "1"
    rows = [
        good[0],                                                                      # row 2 ok
        ["坏校验", bad_check, "", "510302001001", "", "", "", ""],                    # row 3
        ["无社区", make_id_number(), "", "510302999999", "", "", "", ""],             # row 4
        ["街道码", make_id_number(), "", "510302001000", "", "", "", ""],             # row 5
        ["坏日期", make_id_number(), "", "510302001001", "", "2001-02-30", "", ""],    # row 6
        ["坏电话", make_id_number(), "12345", "510302001001", "", "", "", ""],        # row 7
        ["坏类别", make_id_number(), "", "510302001001", "", "", "富豪", ""],          # row 8
        ["", "", "", "510302001001", "", "", "", ""],                                 # row 9
        ["坏标记", make_id_number(), "", "510302001001", "", "", "", "也许"],          # row 10
        ["重复", good[0][1], "", "510302001001", "", "", "", ""],                      # row 11
        good[1],                                                                      # row 12 ok
    ]
    path = write_csv(tmp_path / "r.csv", EN, rows)
    report = tmp_path / "errors.csv"
    result = runner.invoke(args=["import-retirees", str(path), "--errors-out", str(report)])

    assert result.exit_code == 1
    assert result.output.strip().splitlines()[-1] == "imported 2, updated 0, rejected 9"
    with open(report, encoding="utf-8-sig") as f:
        reported = [(int(r["row"]), r["column"], r["reason"]) for r in csv.DictReader(f)]
    expected = {
        (3, "id_number", "身份证号校验位不正确"),
        (4, "community_code", "社区代码 510302999999 不存在，请先导入区划"),
        (5, "community_code", "区划代码 510302001000 是街道级，不是社区"),
        (6, "retirement_date", "退休日期无效：日期不存在"),
        (7, "phone", "联系电话格式不正确（应为 11 位手机号或固定电话）"),
        (9, "name", "姓名必填"),
        (9, "id_number", "身份证号必填"),
        (10, "mobility_limited", "应填 是/否（或 1/0、Y/N、true/false）"),
        (11, "id_number", "与第 2 行身份证号重复"),
    }
    assert expected <= set(reported)
    assert any(r[:2] == (8, "categories") and "富豪" in r[2] for r in reported)
    assert {r[0] for r in reported} == {3, 4, 5, 6, 7, 8, 9, 10, 11}
    assert "第 3 行 [id_number] 身份证号校验位不正确" in result.output
    assert set(db.session.scalars(select(Retiree.name))) == {"退休0", "退休1"}


def test_duplicate_id_in_file_across_batches_keeps_the_first(tree):
    number = make_id_number()
    rows = [{"name": f"人{i}", "id_number": number if i in (0, 4) else make_id_number(), "community_code":
             "510302001001"} for i in range(6)]
    result = imports.import_retirees(rows, batch_size=2)
    assert (result.imported, result.rejected) == (5, 1)
    assert result.errors == [imports.RowError(6, "id_number", "与第 2 行身份证号重复")]
    assert records.find_by_id_number(number).name == "人0"


def test_future_or_pre_birth_retirement_dates_are_rejected(tree):
    rows = [{"name": "甲", "id_number": make_id_number(date(1950, 1, 1)), "community_code": "510302001001",
             "retirement_date": "2999-01-01"},
            {"name": "乙", "id_number": make_id_number(date(1950, 1, 1)), "community_code": "510302001001",
             "retirement_date": "1949-01-01"}]
    result = imports.import_retirees(rows)
    assert [(e.row, e.reason) for e in result.errors] == [(2, "退休日期晚于今天"), (3, "退休日期早于出生日期")]


def test_missing_required_column_rejects_the_file_and_imports_nothing(tree, runner, tmp_path):
    path = write_csv(tmp_path / "r.csv", ["姓名", "联系电话"], [["张三", "13800001111"]])
    result = runner.invoke(args=["import-retirees", str(path)])
    assert result.exit_code == 2
    assert "身份证号（id_number）" in result.output and "社区代码（community_code）" in result.output
    assert count(Retiree) == 0


def test_unsupported_file_type_exits_2(tree, runner, tmp_path):
    path = tmp_path / "r.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0")
    result = runner.invoke(args=["import-retirees", str(path)])
    assert result.exit_code == 2 and "只支持 .csv 和 .xlsx" in result.output


# ---- retirees: re-import ------------------------------------------------------------------------

def test_reimport_updates_never_duplicates(tree, runner, tmp_path):
    rows = good_rows(3)
    path = write_csv(tmp_path / "r.csv", EN, rows)
    assert runner.invoke(args=["import-retirees", str(path)]).exit_code == 0

    rows[1][2] = "13999998888"          # new phone
    rows[1][3] = "510302001002"         # moved community
    rows[1][6] = "重病"                  # categories replaced, not merged
    rows[2][6] = ""                     # categories cleared
    rows[0][0] = "退休零"                # name corrected
    path = write_csv(tmp_path / "r2.csv", EN, rows)
    result = runner.invoke(args=["import-retirees", str(path)])
    assert result.exit_code == 0
    assert "imported 0, updated 3, rejected 0" in result.output
    assert count(Retiree) == 3
    second = records.find_by_id_number(rows[1][1])
    db.session.refresh(second)
    assert records.phone_number(second) == "13999998888" and second.phone_masked == "139****8888"
    assert second.community_id == tree["community_a2"].id
    assert [c.category for c in second.category_rows] == ["serious_illness"]
    assert records.find_by_id_number(rows[2][1]).category_rows == []
    assert records.find_by_id_number(rows[0][1]).name == "退休零"


def test_reimport_leaves_columns_absent_from_the_file_alone(tree):
    number = make_id_number()
    imports.import_retirees([{"name": "甲", "id_number": number, "community_code": "510302001001",
                              "phone": "13800001111", "categories": "孤寡"}])
    result = imports.import_retirees([{"姓名": "甲", "身份证号": number.lower(), "社区代码": "510302001001"}])
    assert (result.imported, result.updated) == (0, 1)
    retiree = records.find_by_id_number(number)
    assert records.phone_number(retiree) == "13800001111"
    assert [c.category for c in retiree.category_rows] == ["lonely"]


# ---- regions ------------------------------------------------------------------------------------

REGION_HEADER = ["code", "name", "parent_code", "level"]


def test_regions_with_parents_after_children(app, runner, tmp_path):
    rows = [
        ["510302001001", "光大街社区", "510302001000", "community"],
        ["510302001000", "五星街街道", "510302000000", "street"],
        ["510302000000", "自流井区", "510300000000", "区"],
        ["510300000000", "自贡市", "510000000000", "city"],
        ["510000000000", "四川省", "", "province"],
    ]
    path = write_csv(tmp_path / "regions.csv", REGION_HEADER, rows)
    result = runner.invoke(args=["import-regions", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 5, updated 0, rejected 0" in result.output
    community = db.session.scalar(select(Region).where(Region.code == "510302001001"))
    assert community.path == "510000000000/510300000000/510302000000/510302001000/510302001001/"
    assert community.parent.code == "510302001000" and community.parent.level == "street"

    rows[0][1] = "光大街新社区"
    path = write_csv(tmp_path / "regions2.csv", ["区划代码", "名称", "上级代码", "级别"], rows)
    result = runner.invoke(args=["import-regions", str(path)])
    assert result.exit_code == 0 and "imported 0, updated 5, rejected 0" in result.output
    assert count(Region) == 5
    assert db.session.scalar(select(Region.name).where(Region.code == "510302001001")) == "光大街新社区"


def test_region_bad_levels_codes_and_parents_are_reported(app, runner, tmp_path):
    rows = [
        ["510000000000", "四川省", "", "province"],                     # 2 ok
        ["510300000000", "自贡市", "510000000000", "city"],             # 3 ok
        ["510302000000", "自流井区", "510300000000", "county"],         # 4 bad level
        ["51030200100", "短码", "510302000000", "street"],              # 5 not 12 digits
        ["510302001001", "非街道码", "510300000000", "street"],         # 6 street code must end 000
        ["520302001000", "跨省", "510300000000", "district"],           # 7 district code must end 000000
        ["510400000000", "攀枝花", "510300000000", "city"],             # 8 parent same level
        ["510303000000", "贡井区", "510309000000", "district"],         # 9 unknown parent
        ["510303001000", "筱溪街道", "510303000000", "street"],         # 10 parent rejected in this file
        ["510000000000", "重复", "", "province"],                        # 11 duplicate code
        ["520100000000", "贵阳", "510000000000", "city"],               # 12 code not under parent
    ]
    path = write_csv(tmp_path / "regions.csv", REGION_HEADER, rows)
    report = tmp_path / "errors.csv"
    result = runner.invoke(args=["import-regions", str(path), "--errors-out", str(report)])
    assert result.exit_code == 1
    assert "imported 2, updated 0, rejected 9" in result.output
    with open(report, encoding="utf-8-sig") as f:
        by_row = {int(r["row"]): (r["column"], r["reason"]) for r in csv.DictReader(f)}
    assert by_row[4][0] == "level"
    assert by_row[5] == ("code", "区划代码应为 12 位数字")
    assert by_row[6] == ("code", "街道级区划代码应以 3 个 0 结尾")
    assert by_row[7] == ("code", "区县级区划代码应以 6 个 0 结尾")
    assert by_row[8] == ("parent_code", "上级区划 510300000000 是市级，不能作为市级的上级")
    assert by_row[9] == ("parent_code", "上级区划 510309000000 不存在")
    assert by_row[10] == ("parent_code", "上级区划 510303000000 本次未能导入（见第 9 行）")
    assert by_row[11] == ("code", "与第 2 行区划代码重复")
    assert by_row[12] == ("code", "区划代码应以上级代码的前 2 位开头")
    assert count(Region) == 2


def test_region_reimport_cannot_move_a_region(tree):
    result = imports.import_regions([{"code": "510302001001", "name": "光大街社区", "parent_code": "",
                                      "level": "community"}])
    assert result.rejected == 1 and "导入不能移动区划" in result.errors[0].reason
    assert db.session.get(Region, tree["community_a"].id).parent_id == tree["street_a"].id
