"""Staff pages for message campaigns (节日慰问等群发): list, create/edit drafts, preview and
approve, live progress, pause/resume/cancel, and the offline list download (.xlsx)."""
from __future__ import annotations

import io

from flask import flash, jsonify, redirect, render_template, request, send_file, url_for
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, DateTimeLocalField, SelectField, SelectMultipleField, StringField, widgets
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from app.admin import bp
from app.admin.nav import register_nav
from app.admin.security import current_staff, staff_required
from app.domain import clock
from app.domain.campaigns import audience, lifecycle
from app.domain.errors import ValidationFailed
from app.domain.messaging import templates
from app.domain.org import regions
from app.extensions import db
from app.models import Region, Staff
from app.models.people import CATEGORY_LABELS

register_nav("消息活动", "admin.campaigns", lifecycle.VIEWER_ROLES, order=30)


@bp.app_template_filter("campaign_status_label")
def campaign_status_label(value: str | None) -> str:
    return lifecycle.STATUS_LABELS.get(value or "", value or "")


class _Checkboxes(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class CampaignForm(FlaskForm):
    name = StringField("活动名称", validators=[DataRequired("请填写活动名称"), Length(max=100)])
    region_id = SelectField("发送范围", coerce=int, validators=[DataRequired("请选择发送范围")])
    categories = _Checkboxes("人员类别（不选 = 全部退休人员）",
                             choices=[SelectChoice(code, label) for code, label in CATEGORY_LABELS.items()])
    include_retirees = BooleanField("发给退休人员本人", default=True)
    include_relatives = BooleanField("发给已绑定的家属")
    send_at = DateTimeLocalField("发送时间（留空 = 审核后立即发送）", validators=[Optional()])


def _form_class(template: templates.Template) -> type[CampaignForm]:
    """The campaign form plus one text field per template field (`data_<key>`)."""
    fields = {f"data_{f.key}": StringField(f.label, validators=[DataRequired(f"请填写{f.label}"), Length(max=100)])
              for f in template.fields}
    return type("TemplateCampaignForm", (CampaignForm,), fields)


def _region_choices(staff: Staff) -> list[SelectChoice]:
    """The staff member's region and everything below it, indented, in tree order."""
    query = select(Region).where(regions.subtree_condition(staff.region)).order_by(Region.path)
    depth = staff.region.path.count("/")
    return [SelectChoice(r.id, "　" * (r.path.count("/") - depth) + r.name) for r in db.session.scalars(query)]


def _spec(form: CampaignForm, template: templates.Template) -> dict:
    send_at = form.send_at.data
    return {"name": form.name.data, "template_key": template.key,
            "data": {f.key: getattr(form, f"data_{f.key}").data for f in template.fields},
            "region": db.session.get(Region, form.region_id.data), "categories": form.categories.data or [],
            "include_retirees": form.include_retirees.data, "include_relatives": form.include_relatives.data,
            "send_at": send_at.replace(tzinfo=clock.SERVICE_ZONE) if send_at else None}


def _show_errors(form: CampaignForm, error: ValidationFailed) -> None:
    for name, message in error.fields.items():
        field = getattr(form, name, None)
        if field is not None and hasattr(field, "errors"):
            field.errors = [*list(field.errors or []), message]
        else:
            flash(message, "error")


def _edit_page(form: CampaignForm, template: templates.Template, campaign=None):
    status = 400 if request.method == "POST" else 200
    return render_template("campaigns/form.html", form=form, template=template, campaign=campaign,
                           data_fields=[getattr(form, f"data_{f.key}") for f in template.fields]), status


@bp.get("/campaigns", endpoint="campaigns")
@staff_required(*lifecycle.VIEWER_ROLES)
def campaigns_list():
    staff = current_staff()
    status = request.args.get("status") or None
    rows = lifecycle.list_for_staff(staff, status if status in lifecycle.STATUS_LABELS else None)
    return render_template("campaigns/list.html", campaigns=rows, status=status,
                           statuses=lifecycle.STATUS_LABELS, can_create=staff.role in lifecycle.MANAGER_ROLES)


@bp.route("/campaigns/new", methods=["GET", "POST"])
@staff_required(*lifecycle.MANAGER_ROLES)
def campaign_new():
    staff = current_staff()
    key = request.args.get("template") or lifecycle.CAMPAIGN_TEMPLATES[0]
    template = templates.get(key if key in lifecycle.CAMPAIGN_TEMPLATES else lifecycle.CAMPAIGN_TEMPLATES[0])
    form = _form_class(template)()
    form.region_id.choices = _region_choices(staff)
    if request.method == "GET":
        form.region_id.data = staff.region_id
    if form.validate_on_submit():
        try:
            campaign = lifecycle.create_campaign(staff, **_spec(form, template))
        except ValidationFailed as error:
            db.session.rollback()
            _show_errors(form, error)
        else:
            db.session.commit()
            flash("草稿已保存，请预览后审核", "success")
            return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    return _edit_page(form, template)


@bp.route("/campaigns/<int:campaign_id>/edit", methods=["GET", "POST"])
@staff_required(*lifecycle.MANAGER_ROLES)
def campaign_edit(campaign_id: int):
    staff = current_staff()
    campaign = lifecycle.get_for_staff(staff, campaign_id, manage=True)
    template = templates.get(campaign.template_key)
    form = _form_class(template)(obj=None if request.method == "POST" else campaign)
    form.region_id.choices = _region_choices(staff)
    if request.method == "GET":
        for field in template.fields:
            getattr(form, f"data_{field.key}").data = (campaign.data or {}).get(field.key, "")
        form.categories.data = list(campaign.categories or [])
        form.send_at.data = campaign.send_at.astimezone(clock.SERVICE_ZONE).replace(tzinfo=None) \
            if campaign.send_at else None
    if form.validate_on_submit():
        try:
            lifecycle.update_draft(staff, campaign, **_spec(form, template))
        except ValidationFailed as error:
            db.session.rollback()
            _show_errors(form, error)
        else:
            db.session.commit()
            flash("草稿已修改", "success")
            return redirect(url_for("admin.campaign_detail", campaign_id=campaign.id))
    return _edit_page(form, template, campaign)


@bp.get("/campaigns/<int:campaign_id>")
@staff_required(*lifecycle.VIEWER_ROLES)
def campaign_detail(campaign_id: int):
    staff = current_staff()
    campaign = lifecycle.get_for_staff(staff, campaign_id)
    manageable = staff.role in lifecycle.MANAGER_ROLES and regions.contains(staff.region, campaign.region)
    preview = audience.preview(campaign) if campaign.status == "draft" else None
    return render_template(
        "campaigns/detail.html", campaign=campaign, template=templates.get(campaign.template_key),
        data=lifecycle.rendered_data(campaign), preview=preview, manageable=manageable,
        progress=None if campaign.status == "draft" else lifecycle.progress(campaign),
        categories=[CATEGORY_LABELS.get(c, c) for c in campaign.categories or []],
        holiday=lifecycle.HOLIDAY_LABELS.get(campaign.holiday_key or ""),
        offline_here=lifecycle.offline_count(staff, campaign) if campaign.status != "draft" else 0)


@bp.get("/campaigns/<int:campaign_id>/progress.json")
@staff_required(*lifecycle.VIEWER_ROLES)
def campaign_progress(campaign_id: int):
    campaign = lifecycle.get_for_staff(current_staff(), campaign_id)
    return jsonify(lifecycle.progress(campaign).as_dict())


def _action(campaign_id: int, action, done: str):
    staff = current_staff()
    campaign = lifecycle.get_for_staff(staff, campaign_id, manage=True)
    action(staff, campaign)
    db.session.commit()  # the dispatch / requeue job is enqueued on commit
    flash(done, "success")
    return redirect(url_for("admin.campaign_detail", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/approve")
@staff_required(*lifecycle.MANAGER_ROLES)
def campaign_approve(campaign_id: int):
    return _action(campaign_id, lifecycle.approve, "已审核，将按发送时间开始发送")


@bp.post("/campaigns/<int:campaign_id>/pause")
@staff_required(*lifecycle.MANAGER_ROLES)
def campaign_pause(campaign_id: int):
    return _action(campaign_id, lifecycle.pause, "已暂停：尚未发出的消息不会发送，恢复后继续")


@bp.post("/campaigns/<int:campaign_id>/resume")
@staff_required(*lifecycle.MANAGER_ROLES)
def campaign_resume(campaign_id: int):
    return _action(campaign_id, lifecycle.resume, "已恢复发送")


@bp.post("/campaigns/<int:campaign_id>/cancel")
@staff_required(*lifecycle.MANAGER_ROLES)
def campaign_cancel(campaign_id: int):
    return _action(campaign_id, lifecycle.cancel, "已取消：尚未发出的消息不再发送")


@bp.get("/campaigns/<int:campaign_id>/offline.xlsx")
@staff_required(*lifecycle.VIEWER_ROLES)
def campaign_offline_export(campaign_id: int):
    from openpyxl import Workbook

    staff = current_staff()
    campaign = lifecycle.get_for_staff(staff, campaign_id)
    workbook = Workbook(write_only=True)  # streams rows to the file: flat memory for big lists
    sheet = workbook.create_sheet("线下联系名单")
    sheet.append(["姓名", "身份证号（脱敏）", "联系电话", "住址", "社区", "原因"])
    for row in lifecycle.offline_list(staff, campaign):
        sheet.append([row.name, row.id_masked, row.phone or "", row.address or "", row.community,
                      "；".join(row.reasons)])
    buffer = io.BytesIO()
    workbook.save(buffer)
    db.session.commit()  # the audit entry of this export
    buffer.seek(0)
    stamp = clock.local_now().strftime("%Y%m%d")
    return send_file(buffer, as_attachment=True, download_name=f"campaign-{campaign.id}-offline-{stamp}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
