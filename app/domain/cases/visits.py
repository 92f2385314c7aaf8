"""Visit tasks and visit records: the staff work queue, assignment, recording a visit with its
costs and photo, and the empty visit (空访) that schedules a revisit by itself.

Who may do what: office staff (community worker and up) act on tasks whose community lies in
their region subtree; a helper (楼院长/小组长) sees and records only tasks assigned to them.
A revisit points at the *root* task (source ("visit_task", root id)), so a chain of empty
visits stays one story: its report, its kind, its festival roster entry.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from app.domain import clock
from app.domain.cases import costs
from app.domain.cases.errors import AssignForbidden, RecordNotFound, TaskClosed, TaskForbidden, TaskNotFound
from app.domain.certification import certify
from app.domain.errors import ValidationFailed
from app.domain.messaging import outbox
from app.domain.org import regions
from app.extensions import db
from app.models import Region, Retiree, Staff
from app.models.cases import VISIT_OUTCOMES, Report, VisitRecord
from app.models.files import StoredFile
from app.models.tasks import TASK_KIND_LABELS, TASK_KINDS, TASK_STATUSES, VisitTask

OFFICE_ROLES = ("community_worker", "street_admin", "agency_admin")
PHOTO_MAX_BYTES = 5 * 1024 * 1024
# A visit recorded "in the future" is a typo; allow the clock skew of a phone.
FUTURE_SKEW = timedelta(minutes=10)
MAX_BACKDATE = timedelta(days=366)


@dataclass(frozen=True)
class QueuePage:
    tasks: list[VisitTask]
    total: int
    page: int
    per_page: int


def create_task(kind: str, retiree: Retiree, due_on: date, *, source_type: str | None = None,
                source_id: int | None = None, note: str | None = None,
                assignee: Staff | None = None) -> VisitTask:
    """The open task of this kind for this source, created once (partial unique index). Flushes."""
    if kind not in TASK_KINDS:
        raise ValidationFailed(fields={"kind": "未知的任务类型"})

    def existing() -> VisitTask | None:
        if source_id is None:
            return None
        return db.session.scalar(select(VisitTask).where(
            VisitTask.kind == kind, VisitTask.source_type == source_type, VisitTask.source_id == source_id,
            VisitTask.status == "open"))

    task = existing()
    if task is not None:
        return task
    try:
        with db.session.begin_nested():
            task = VisitTask(kind=kind, retiree_id=retiree.id, community_id=retiree.community_id, status="open",
                             due_on=due_on, source_type=source_type, source_id=source_id, created_at=clock.now(),
                             note=(note or None), assignee_id=assignee.id if assignee else None)
            db.session.add(task)
    except IntegrityError:  # the same source created it concurrently: use theirs
        task = existing()
        if task is None:
            raise
    return task


def root_task(task: VisitTask) -> VisitTask:
    """The task a revisit chain started from (the task itself when it is not a revisit)."""
    if task.kind == "revisit" and task.source_type == "visit_task" and task.source_id:
        root = db.session.get(VisitTask, task.source_id)
        if root is not None:
            return root
    return task


def effective_kind(task: VisitTask) -> str:
    """What the visit is for: a revisit does the work of its root task."""
    return root_task(task).kind


def can_view(staff: Staff, task: VisitTask) -> bool:
    if staff.role == "helper":
        return task.assignee_id == staff.id
    return regions.contains(staff.region, task.community)


def task_for(staff: Staff, task_id: int) -> VisitTask:
    """The task, if `staff` may see it: 404 when missing, 403 when out of scope or not theirs."""
    task = db.session.get(VisitTask, task_id)
    if task is None:
        raise TaskNotFound()
    if not can_view(staff, task):
        raise TaskForbidden()
    return task


def queue(staff: Staff, *, kind: str | None = None, status: str | None = "open",
          assignee_id: int | None = None, overdue_only: bool = False, page: int = 1,
          per_page: int = 50) -> QueuePage:
    """The task queue `staff` may see, filtered; open tasks first by due date."""
    stmt = select(VisitTask)
    if staff.role == "helper":
        stmt = stmt.where(VisitTask.assignee_id == staff.id)
    else:
        stmt = stmt.where(VisitTask.community_id.in_(regions.region_ids_under(staff.region)))
        if assignee_id == 0:
            stmt = stmt.where(VisitTask.assignee_id.is_(None))
        elif assignee_id:
            stmt = stmt.where(VisitTask.assignee_id == assignee_id)
    if kind:
        if kind not in TASK_KINDS:
            raise ValidationFailed(fields={"kind": "未知的任务类型"})
        stmt = stmt.where(VisitTask.kind == kind)
    if status:
        if status not in TASK_STATUSES:
            raise ValidationFailed(fields={"status": "未知的任务状态"})
        stmt = stmt.where(VisitTask.status == status)
    if overdue_only:
        stmt = stmt.where(VisitTask.status == "open", VisitTask.due_on < clock.today())
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    # Clamp to the real pages: a hostile ?page= must not overflow OFFSET (bigint) on PostgreSQL.
    page = min(max(page, 1), max(1, -(-int(total or 0) // per_page)))
    tasks = list(db.session.scalars(stmt.order_by(VisitTask.status.desc(), VisitTask.due_on, VisitTask.id)
                                    .limit(per_page).offset((page - 1) * per_page)))
    return QueuePage(tasks, int(total or 0), page, per_page)


def is_overdue(task: VisitTask, today: date | None = None) -> bool:
    return task.status == "open" and task.due_on < (today or clock.today())


def staff_in_scope(staff: Staff) -> list[Staff]:
    """Active staff attached to `staff`'s region subtree (the queue's assignee filter)."""
    return list(db.session.scalars(
        select(Staff).join(Region, Region.id == Staff.region_id)
        .where(Staff.active.is_(True), regions.subtree_condition(staff.region)).order_by(Staff.role, Staff.id)))


def staff_responsible_for(staff: Staff, community: Region) -> list[Staff]:
    """Active staff in `staff`'s subtree whose own scope covers `community` (assignable to its work)."""
    return [s for s in staff_in_scope(staff) if regions.contains(s.region, community)]


def assignable_staff(staff: Staff, task: VisitTask) -> list[Staff]:
    """Active staff `staff` may hand the task to: in `staff`'s subtree, with the task in theirs."""
    return staff_responsible_for(staff, task.community)


def assign(staff: Staff, task: VisitTask, assignee: Staff | None) -> VisitTask:
    """Assign (or, with None, unassign) an open task. Office staff in scope only. Flushes."""
    if staff.role not in OFFICE_ROLES:
        raise AssignForbidden()
    if not can_view(staff, task):
        raise TaskForbidden()
    if task.status != "open":
        raise TaskClosed()
    if assignee is not None and assignee.id not in {s.id for s in assignable_staff(staff, task)}:
        raise ValidationFailed(fields={"assignee": "只能分派给辖区内负责该社区的工作人员"})
    task.assignee_id = assignee.id if assignee else None
    db.session.flush()
    return task


def _check_recording(staff: Staff, task: VisitTask, visited_by: Staff, visited_at: datetime) -> None:
    if not can_view(staff, task):
        raise TaskForbidden()
    if task.status != "open":
        raise TaskClosed()
    fields: dict[str, str] = {}
    if staff.role == "helper" and visited_by.id != staff.id:
        fields["visited_by"] = "楼院长/小组长只能登记本人的走访"
    elif not visited_by.active or not regions.contains(visited_by.region, task.community) or not (
            regions.contains(staff.region, visited_by.region) or visited_by.id == staff.id):
        fields["visited_by"] = "走访人应为负责该社区的工作人员"
    if visited_at.tzinfo is None:
        fields["visited_at"] = "时间应带时区"
    elif visited_at > clock.now() + FUTURE_SKEW:
        fields["visited_at"] = "走访时间不能晚于现在"
    elif visited_at < clock.now() - MAX_BACKDATE:
        fields["visited_at"] = "走访时间过早（最多补录一年内的走访）"
    if fields:
        raise ValidationFailed(fields=fields)


def _lock_open(task: VisitTask) -> None:
    """Take the task with a conditional UPDATE so two recorders cannot both close it."""
    closed = db.session.execute(update(VisitTask).where(VisitTask.id == task.id, VisitTask.status == "open")
                                .values(status="done", closed_at=clock.now())).rowcount
    if not closed:
        raise TaskClosed()
    db.session.refresh(task)


def record_visit(staff: Staff, task: VisitTask, *, visited_at: datetime, visited_by: Staff, outcome: str,
                 notes: str | None = None, companions: str | None = None, photo: StoredFile | None = None,
                 cost_lines: list[tuple[str, int, str | None]] | None = None) -> VisitRecord:
    """Record a visit that found the retiree, close the task, attach costs. Caller commits.

    `outcome`: completed; for home certification also certified / not_certified (certified
    records the certification). When the task came from a report, the reporter is told.
    """
    kind = effective_kind(task)
    allowed = ("certified", "not_certified") if kind == "home_certification" else ("completed",)
    if outcome not in VISIT_OUTCOMES or outcome not in allowed:
        raise ValidationFailed(fields={"outcome": "走访结果应为：" + "、".join(allowed)})
    _check_recording(staff, task, visited_by, visited_at)
    costs.check_visit_lines(cost_lines or [])
    _lock_open(task)
    record = VisitRecord(task_id=task.id, retiree_id=task.retiree_id, community_id=task.community_id,
                         visited_at=visited_at, visited_by_id=visited_by.id, companions=_clip(companions, 200),
                         outcome=outcome, empty_visit=False, notes=_clip(notes, 4000),
                         photo_id=photo.id if photo else None, recorded_by_id=staff.id)
    db.session.add(record)
    db.session.flush()
    costs.add_visit_costs(record, cost_lines or [])
    if outcome == "certified":
        certify.record_certification(task.retiree, local_date(visited_at), method="home_visit",
                                           staff=visited_by, source=f"visit_task:{task.id}")
    _finish_reports(root_task(task), record, visited_by)
    db.session.flush()
    return record


def record_empty_visit(staff: Staff, task: VisitTask, *, visited_at: datetime, visited_by: Staff, reason: str,
                       notes: str | None = None, photo: StoredFile | None = None,
                       cost_lines: list[tuple[str, int, str | None]] | None = None
                       ) -> tuple[VisitRecord, VisitTask]:
    """空访: nobody at home. Record the reason, close the task, schedule a revisit. Caller commits.

    The revisit is due REVISIT_AFTER_DAYS after the visit, assigned to the same person, and
    points at the root task; the report (if any) stays open until someone is found.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(fields={"reason": "请填写空访原因"})
    _check_recording(staff, task, visited_by, visited_at)
    costs.check_visit_lines(cost_lines or [])
    _lock_open(task)
    record = VisitRecord(task_id=task.id, retiree_id=task.retiree_id, community_id=task.community_id,
                         visited_at=visited_at, visited_by_id=visited_by.id, outcome="not_home", empty_visit=True,
                         empty_reason=reason[:200], notes=_clip(notes, 4000), photo_id=photo.id if photo else None,
                         recorded_by_id=staff.id)
    db.session.add(record)
    db.session.flush()
    costs.add_visit_costs(record, cost_lines or [])
    root = root_task(task)
    days = current_app.config["REVISIT_AFTER_DAYS"]
    revisit = create_task("revisit", task.retiree, local_date(visited_at) + timedelta(days=days),
                          source_type="visit_task", source_id=root.id, note=f"空访后再访：{reason[:200]}",
                          assignee=task.assignee)
    return record, revisit


def _finish_reports(root: VisitTask, record: VisitRecord, visited_by: Staff) -> None:
    """Reports waiting on this visit are done; each reporter gets `visit_done`."""
    reports = db.session.scalars(select(Report).where(
        Report.visit_task_id == root.id, Report.status.in_(("received", "verified")))).all()
    for report in reports:
        report.status, report.closed_at = "done", clock.now()
        if report.account is not None:
            outbox.notify(report.account, "visit_done",
                             {"service": TASK_KIND_LABELS.get(root.kind, "走访"), "name": report.retiree.name,
                              "visit_date": local_date(record.visited_at),
                              "visitor": visited_by.display_name or "社区工作人员",
                              "note": "感谢您的信任，如有需要请随时联系社区"},
                             f"visit_done:report:{report.id}", link=f"/reports/{report.id}")


def cancel_open_tasks(retiree: Retiree, *, keep_task_id: int | None = None) -> int:
    """Cancel every open task of a retiree except one (the condolence visit). Returns how many."""
    stmt = (update(VisitTask).where(VisitTask.retiree_id == retiree.id, VisitTask.status == "open",
                                    VisitTask.id != (keep_task_id or 0))
            .values(status="cancelled", closed_at=clock.now()))
    count = db.session.execute(stmt).rowcount
    db.session.flush()
    return count


def record_for(staff: Staff, record_id: int) -> VisitRecord:
    """A visit record `staff` may see (through its task)."""
    record = db.session.get(VisitRecord, record_id)
    if record is None:
        raise RecordNotFound()
    task_for(staff, record.task_id)
    return record


def record_of_task(task: VisitTask) -> VisitRecord | None:
    return db.session.scalar(select(VisitRecord).where(VisitRecord.task_id == task.id))


def chain(task: VisitTask) -> list[VisitTask]:
    """The root task and its revisits, oldest first (for the task page)."""
    root = root_task(task)
    revisits = db.session.scalars(select(VisitTask).where(
        VisitTask.kind == "revisit", VisitTask.source_type == "visit_task", VisitTask.source_id == root.id,
    ).order_by(VisitTask.id)).all()
    return [root, *revisits]


def local_date(at: datetime) -> date:
    """The service-zone date of an instant (a 23:30 visit in Shanghai is that day, not UTC's)."""
    return at.astimezone(clock.SERVICE_ZONE).date()


def _clip(value: str | None, limit: int) -> str | None:
    value = (value or "").strip()
    return value[:limit] or None
