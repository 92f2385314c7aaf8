"""Reports from the mini-program: hospitalization, death, hardship, home certification."""
from __future__ import annotations

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from app.api.security import current_account, require_account
from app.domain import clock
from app.domain.cases import reports
from app.extensions import db
from app.models.cases import REPORT_STATUS_LABELS, REPORT_TYPE_LABELS, REPORT_TYPES
from app.models.tasks import TASK_KIND_LABELS

blp = Blueprint("reports", __name__, description="住院、去世、生活困难与上门认证报告")

IDEMPOTENCY_HEADER = {
    "in": "header", "name": "Idempotency-Key", "required": False, "schema": {"type": "string", "maxLength": 100},
    "description": ("同一个键与相同内容只受理一次（重放返回原报告，200）；"
                    "同一个键与不同内容返回 409 idempotency_key_reused"),
}


class LocalDateTime(fields.DateTime):
    """ISO 8601 in the service zone (Asia/Shanghai), with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else value.astimezone(clock.SERVICE_ZONE).isoformat()


class ReportCreateSchema(Schema):
    type = fields.String(required=True, validate=validate.OneOf(REPORT_TYPES),
                         metadata={"description": "hospitalization 住院 / death 去世 / hardship 生活困难 / "
                                                  "home_certification 申请上门认证"})
    retiree_id = fields.Integer(required=True, strict=True)
    hospital = fields.String(validate=validate.Length(min=1, max=100), metadata={"description": "住院：医院"})
    ward = fields.String(validate=validate.Length(max=50), metadata={"description": "住院：科室/病房"})
    admitted_on = fields.Date(metadata={"description": "住院：入院日期"})
    died_on = fields.Date(metadata={"description": "去世：去世日期"})
    description = fields.String(validate=validate.Length(min=1, max=4000),
                                metadata={"description": "生活困难：困难情况"})
    note = fields.String(validate=validate.Length(max=2000))


class ReportListArgs(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10_000))
    per_page = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class ReportTaskSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    kind_label = fields.Function(lambda t: TASK_KIND_LABELS.get(t.kind, t.kind))
    status = fields.String()
    due_on = fields.Date()


class ReportSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    type_label = fields.Function(lambda r: REPORT_TYPE_LABELS[r.type])
    status = fields.String(metadata={"description": "received 已受理 / verified 已核实 / rejected 已驳回 / "
                                                    "done 已办结 / cancelled 已撤销"})
    status_label = fields.Function(lambda r: REPORT_STATUS_LABELS[r.status])
    retiree_id = fields.Integer()
    retiree_name = fields.String(attribute="retiree.name")
    hospital = fields.String(allow_none=True)
    ward = fields.String(allow_none=True)
    admitted_on = fields.Date(allow_none=True)
    died_on = fields.Date(allow_none=True)
    description = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    decision_note = fields.String(allow_none=True, metadata={"description": "驳回原因等"})
    task = fields.Nested(ReportTaskSchema, attribute="visit_task", allow_none=True)
    hardship_case_id = fields.Integer(allow_none=True)
    created_at = LocalDateTime()
    closed_at = LocalDateTime(allow_none=True)


class ReportPageSchema(Schema):
    items = fields.List(fields.Nested(ReportSchema))
    total = fields.Integer()
    page = fields.Integer()
    per_page = fields.Integer()


@blp.post("/reports")
@blp.arguments(ReportCreateSchema)
@blp.response(201, ReportSchema)
@blp.alt_response(200, schema=ReportSchema, description="同一 Idempotency-Key 与相同内容的重放：原报告")
@blp.alt_response(403, response="FORBIDDEN", description="not_bound：未绑定该退休人员")
@blp.alt_response(409, response="CONFLICT", description="idempotency_key_reused / already_deceased")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY", description="retiree_deceased / not_due")
@blp.doc(parameters=[IDEMPOTENCY_HEADER])
@require_account
def create(args):
    """报告住院、去世、生活困难，或申请上门认证

    住院生成探视任务；去世只标记“已报告去世”，待社区核实后才生效；生活困难进入帮扶评估。
    """
    report, created = reports.file_report(current_account(), args, request.headers.get("Idempotency-Key"))
    db.session.commit()
    if created:
        return report
    return report, 200, {"Idempotent-Replayed": "true"}


@blp.get("/reports")
@blp.arguments(ReportListArgs, location="query")
@blp.response(200, ReportPageSchema)
@require_account
def index(args):
    """我提交的报告及办理状态（最新在前）"""
    items, total = reports.list_reports(current_account(), page=args["page"], per_page=args["per_page"])
    return {"items": items, "total": total, "page": args["page"], "per_page": args["per_page"]}


@blp.get("/reports/<int:report_id>")
@blp.response(200, ReportSchema)
@blp.alt_response(404, response="NOT_FOUND")
@require_account
def show(report_id: int):
    """我提交的一份报告"""
    return reports.get_report(current_account(), report_id)
