"""Certification result imports (CLI and staff upload): bad rows reported, re-import idempotent."""
from __future__ import annotations

import io
from datetime import date

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from app.domain.archives import records
from app.extensions import db
from app.models.certification import CertificationRecord, CertificationState
from tests.support.certification import retiree_in
from tests.support.factories import make_id_number, make_staff
from tests.support.staff import fresh_client, login

pytestmark = pytest.mark.usefixtures("frozen_clock")


def _count():
    return db.session.scalar(select(func.count()).select_from(CertificationRecord))


def test_cli_import_reports_bad_rows_and_is_idempotent(runner, tree, tmp_path):
    a = retiree_in(tree["community_a"])
    b = retiree_in(tree["community_b"])
    dead = retiree_in(tree["community_a"])
    dead.life_status, dead.died_on = "deceased", date(2025, 1, 1)
    db.session.commit()
    unknown = make_id_number(date(1951, 2, 3))
    rows = [
        "id_number,certified_on,method",
        f"{records.full_id_number(a)},2025-02-01,self_service_face",
        f"{records.full_id_number(b)},2025/02/03,数据比对",
        f"{records.full_id_number(a)},2025-02-01,self_service_face",  # duplicate in the file
        "110101199003070000,2025-02-01,data_match",  # bad check digit
        f"{unknown},2025-02-01,data_match",
        f"{records.full_id_number(a)},2025-13-01,data_match",
        f"{records.full_id_number(a)},2025-04-01,data_match",  # after the frozen today
        f"{records.full_id_number(a)},2025-02-02,carrier pigeon",
        f"{records.full_id_number(dead)},2025-02-02,data_match",
        ",,",
    ]
    path = tmp_path / "faces.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = runner.invoke(args=["import-certifications", str(path)])
    assert result.exit_code == 1
    assert "imported 2, skipped 1, rejected 6" in result.output
    assert "第 5 行 [id_number] 身份证号校验位不正确" in result.output
    assert "第 6 行 [id_number] 未找到该身份证号对应的退休人员" in result.output
    assert "第 7 行 [certified_on]" in result.output and "第 8 行 [certified_on] 认证日期不能晚于今天" in result.output
    assert "第 9 行 [method] 认证方式应为" in result.output
    assert "第 10 行 [certified_on] 该退休人员已故" in result.output
    assert _count() == 2
    state = db.session.get(CertificationState, b.id)
    assert (state.last_certified_on, state.last_method) == (date(2025, 2, 3), "data_match")
    again = runner.invoke(args=["import-certifications", str(path)])
    assert "imported 0, skipped 3, rejected 6" in again.output
    assert _count() == 2


def test_cli_import_xlsx_with_chinese_headers(runner, tree, tmp_path):
    a = retiree_in(tree["community_a"])
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号", "认证日期", "认证方式"])
    sheet.append([records.full_id_number(a), date(2025, 3, 1), "人脸识别"])
    path = tmp_path / "12333.xlsx"
    book.save(path)
    result = runner.invoke(args=["import-certifications", str(path)])
    assert result.exit_code == 0, result.output
    assert "imported 1, skipped 0, rejected 0" in result.output
    record = db.session.scalar(select(CertificationRecord))
    assert (record.method, record.certified_on, record.source) == ("self_service_face", date(2025, 3, 1),
                                                                   "import:12333.xlsx")


def test_cli_import_missing_columns_exits_2(runner, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,date\n张三,2025-01-01\n", encoding="utf-8")
    result = runner.invoke(args=["import-certifications", str(path)])
    assert result.exit_code == 2
    assert "缺少必需的列" in result.output


def test_upload_page_imports_only_in_scope(app, tree):
    mine = retiree_in(tree["community_a"])
    theirs = retiree_in(tree["community_b"])
    worker = make_staff("community_worker", tree["community_a"])
    db.session.commit()
    client = fresh_client(app)
    assert login(client, worker).status_code == 302
    body = ("身份证号,认证日期,认证方式\n"
            f"{records.full_id_number(mine)},2025-03-01,数据比对\n"
            f"{records.full_id_number(theirs)},2025-03-01,数据比对\n").encode()
    response = client.post("/staff/certification/import", data={"file": (io.BytesIO(body), "match.csv")},
                           content_type="multipart/form-data")
    text = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "成功 1 条，跳过（已导入）0 条，有误 1 条" in text
    assert "该退休人员不在您的管辖范围内" in text
    assert db.session.scalars(select(CertificationRecord.retiree_id)).all() == [mine.id]
