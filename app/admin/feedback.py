"""Staff pages for feedback tickets (意见反馈): the queue with overdue ones highlighted, reply, close."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.admin import bp
from app.admin.forms import save_form
from app.admin.nav import register_nav
from app.admin.security import current_staff, staff_required
from app.domain import clock
from app.domain.evaluation import feedback as feedback_domain
from app.extensions import db
from app.models.evaluation import (
    FEEDBACK_CATEGORY_LABELS,
    FEEDBACK_STATUS_LABELS,
    FEEDBACK_STATUSES,
    RATING_SUBJECT_LABELS,
)

FEEDBACK_STAFF = feedback_domain.STAFF_ROLES
register_nav("意见反馈", "admin.feedback", FEEDBACK_STAFF, order=50)


class ReplyForm(FlaskForm):
    reply = TextAreaField("回复", validators=[DataRequired("请填写回复"), Length(max=feedback_domain.REPLY_MAX)])


@bp.app_template_filter("feedback_category_label")
def feedback_category_label(value: str | None) -> str:
    return FEEDBACK_CATEGORY_LABELS.get(value or "", value or "")


@bp.app_template_filter("feedback_status_label")
def feedback_status_label(value: str | None) -> str:
    return FEEDBACK_STATUS_LABELS.get(value or "", value or "")


@bp.get("/feedback")
@staff_required(*FEEDBACK_STAFF)
def feedback():
    status = request.args.get("status", "open")
    status = status if status in FEEDBACK_STATUSES else None
    staff = current_staff()
    page = feedback_domain.tickets_for_staff(staff, status, request.args.get("page", 1, type=int))
    now = clock.now()
    return render_template("feedback/list.html", tickets=page.items, page=page, status=status,
                           statuses=FEEDBACK_STATUSES, overdue_count=feedback_domain.overdue_count(staff),
                           overdue={t.id for t in page.items if feedback_domain.is_overdue(t, now)})


def _render_ticket(ticket, form: ReplyForm, status: int = 200):
    return render_template("feedback/detail.html", ticket=ticket, form=form,
                           overdue=feedback_domain.is_overdue(ticket),
                           subject_labels=RATING_SUBJECT_LABELS), status


@bp.get("/feedback/<int:ticket_id>")
@staff_required(*FEEDBACK_STAFF)
def feedback_detail(ticket_id: int):
    return _render_ticket(feedback_domain.get_for_staff(current_staff(), ticket_id), ReplyForm())


@bp.post("/feedback/<int:ticket_id>/reply")
@staff_required(*FEEDBACK_STAFF)
def feedback_reply(ticket_id: int):
    staff = current_staff()
    form = ReplyForm()
    if save_form(form, lambda: feedback_domain.reply(staff, ticket_id, form.reply.data)) is not None:
        flash("已回复，反馈人会收到通知", "success")
        return redirect(url_for("admin.feedback_detail", ticket_id=ticket_id))
    return _render_ticket(feedback_domain.get_for_staff(staff, ticket_id), form, 400)


@bp.post("/feedback/<int:ticket_id>/close")
@staff_required(*FEEDBACK_STAFF)
def feedback_close(ticket_id: int):
    feedback_domain.close(current_staff(), ticket_id)
    db.session.commit()
    flash("已关闭", "success")
    return redirect(url_for("admin.feedback_detail", ticket_id=ticket_id))
