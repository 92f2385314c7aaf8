"""Reports from the mini-program: hospitalization, death, hardship, home certification."""
from __future__ import annotations

from flask import request
from marshmallow import Schema, fields, validate

from app.api.blueprint import ApiBlueprint, operation
from app.api.fields import CalendarDate, Choice, LocalDateTime, Text
from app.api.schemas import PageQuerySchema, page_of, page_schema, retiree_id_param
from app.api.security import current_account, require_account
from app.domain.accounts.errors import NotBound
from app.domain.cases import reports
from app.domain.cases.errors import AlreadyDeceased, IdempotencyKeyReused, ReportNotFound
from app.domain.certification.errors import NotDue
from app.domain.errors import RetireeDeceased
from app.extensions import db
from app.models.cases import REPORT_STATUS_LABELS, REPORT_STATUSES, REPORT_TYPE_LABELS, REPORT_TYPES
from app.models.tasks import TASK_KIND_LABELS

blp = ApiBlueprint("reports", __name__, description="住院、去世、生活困难与上门认证报告")

IDEMPOTENCY_HEADER = {
    "in": "header", "name": "Idempotency-Key", "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": reports.MAX_KEY_LENGTH},
    "description": ("同一个键与相同内容只受理一次（重放返回原报告，200）；"
                    "同一个键与不同内容返回 409 idempotency_key_reused"),
}


class ReportCreateSchema(Schema):
    type = Choice(REPORT_TYPES, required=True, metadata={
        "description": "hospitalization 住院 / death 去世 / hardship 生活困难 / home_certification 申请上门认证"})
    retiree_id = retiree_id_param(required=True)
    hospital = Text(100, min_length=1, metadata={"description": "住院：医院"})
    ward = Text(50, metadata={"description": "住院：科室/病房"})
    admitted_on = CalendarDate(metadata={"description": "住院：入院日期"})
    died_on = CalendarDate(metadata={"description": "去世：去世日期"})
    description = Text(4000, min_length=1, multiline=True, metadata={"description": "生活困难：困难情况"})
    note = Text(2000, multiline=True)


class ReportTaskSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.String(required=True)
    kind_label = fields.Function(lambda t: TASK_KIND_LABELS.get(t.kind, t.kind), metadata={"type": "string"})
    status = fields.String(required=True)
    due_on = fields.Date(required=True)


class ReportSchema(Schema):
    id = fields.Integer(required=True)
    type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES))
    type_label = fields.Function(lambda r: REPORT_TYPE_LABELS[r.type], metadata={"type": "string"})
    status = fields.String(required=True, validate=validate.OneOf(REPORT_STATUSES), metadata={
        "description": "received 已受理 / verified 已核实 / rejected 已驳回 / done 已办结 / cancelled 已撤销"})
    status_label = fields.Function(lambda r: REPORT_STATUS_LABELS[r.status], metadata={"type": "string"})
    retiree_id = fields.Integer(required=True)
    retiree_name = fields.String(attribute="retiree.name", required=True)
    hospital = fields.String(allow_none=True)
    ward = fields.String(allow_none=True)
    admitted_on = fields.Date(allow_none=True)
    died_on = fields.Date(allow_none=True)
    description = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True, metadata={"description": "驳回原因等"})
    task = fields.Nested(ReportTaskSchema, attribute="visit_task", allow_none=True)
    hardship_case_id = fields.Integer(allow_none=True)
    created_at = LocalDateTime(required=True)
    closed_at = LocalDateTime(allow_none=True)


ReportPageSchema = page_schema(ReportSchema, "ReportPage")


@blp.post("/reports")
@blp.arguments(ReportCreateSchema)
@blp.response(201, ReportSchema)
@blp.alt_response(200, schema=ReportSchema, description="同一 Idempotency-Key 与相同内容的重放：原报告")
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
@operation("createReport", NotBound, IdempotencyKeyReused, AlreadyDeceased, RetireeDeceased, NotDue)
@require_account
def create(args):
    """报告住院、去世、生活困难，或申请上门认证（上门认证也可用 requestHomeCertification）

    住院生成探视任务；去世只标记“已报告去世”，待社区核实后才生效；生活困难进入帮扶评估。
    """
    report, created = reports.file_report(current_account(), args, request.headers.get("Idempotency-Key"))
    db.session.commit()
    if created:
        return report
    return report, 200, {"Idempotent-Replayed": "true"}


@blp.get("/reports")
@blp.arguments(PageQuerySchema, location="query")
@blp.response(200, ReportPageSchema)
@operation("listReports")
@require_account
def index(args):
    """我提交的报告及办理状态（最新在前）"""
    items, total = reports.list_reports(current_account(), page=args["page"], per_page=args["per_page"])
    return page_of(items, total, args)


@blp.get("/reports/<int:report_id>")
@blp.response(200, ReportSchema)
@operation("getReport", ReportNotFound)
@require_account
def show(report_id: int):
    """我提交的一份报告"""
    return reports.get_report(current_account(), report_id)
