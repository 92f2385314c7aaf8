"""Policy meetings (社保政策例会) for community staff: agenda, materials, invitations, attendance.

Admins (street / agency) run meetings for the community workers of their subtree. Materials
are readable only by invited staff and by admins whose subtree holds the meeting. The
attendance rate of a community is attended / invited over meetings that have started.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.datastructures import FileStorage

from app.domain import audit, clock, inputs
from app.domain.errors import RoleForbidden, ValidationFailed
from app.domain.events.errors import (
    InvitationConflict,
    MaterialNotFound,
    MeetingForbidden,
    MeetingNotFound,
    MeetingNotStarted,
)
from app.domain.files import uploads
from app.domain.org import regions
from app.domain.org.staff import ensure_in_scope
from app.domain.paging import Page, paginate
from app.extensions import db
from app.models import Region, Staff
from app.models.events import Meeting, MeetingInvitation, MeetingMaterial
from app.models.files import StoredFile

ADMIN_ROLES = ("street_admin", "agency_admin")
INVITED_ROLE = "community_worker"
MATERIAL_MAX_BYTES = 20 * 1024 * 1024
AGENDA_MAX = 10_000


@dataclass(frozen=True)
class CommunityAttendance:
    community: Region
    invited: int
    attended: int

    @property
    def rate(self) -> float | None:
        return self.attended / self.invited if self.invited else None


@dataclass(frozen=True)
class MeetingPage:
    """One meeting as a staff member sees it: managers also get invitations and this meeting's rates."""

    meeting: Meeting
    materials: list[MeetingMaterial]
    manage: bool
    started: bool
    invitations: list[MeetingInvitation]
    rates: list[CommunityAttendance]


def _require_admin(staff: Staff) -> None:
    if staff.role not in ADMIN_ROLES:
        raise RoleForbidden()


def create_meeting(staff: Staff, *, title: str, starts_at: datetime, place: str, region: Region,
                   agenda: str | None = None) -> Meeting:
    """An admin creates a meeting for the community staff under `region` (in their subtree). Caller commits."""
    _require_admin(staff)
    ensure_in_scope(staff, region)
    fields: dict[str, str] = {}
    if not (title or "").strip() or len(title.strip()) > 100 or inputs.has_control_characters(title, multiline=False):
        fields["title"] = "标题必填，最多 100 个字符，不含控制字符"
    if not (place or "").strip() or len(place.strip()) > 200 or inputs.has_control_characters(place, multiline=False):
        fields["place"] = "地点必填，最多 200 个字符，不含控制字符"
    if len(agenda or "") > AGENDA_MAX or inputs.has_control_characters(agenda):
        fields["agenda"] = f"议程最多 {AGENDA_MAX} 个字符，不含控制字符"
    if region.level == "community":
        fields["region"] = "例会范围应为街道及以上区划"
    if fields:
        raise ValidationFailed(fields=fields)
    meeting = Meeting(title=title.strip(), agenda=(agenda or "").strip() or None, starts_at=starts_at,
                      place=place.strip(), region_id=region.id, created_by_id=staff.id)
    db.session.add(meeting)
    db.session.flush()
    audit.record(staff, "meeting.create", subject_type="meeting", subject_id=meeting.id, region_id=region.id)
    return meeting


def _invited(staff: Staff, meeting: Meeting) -> bool:
    return db.session.scalar(select(MeetingInvitation.id).where(
        MeetingInvitation.meeting_id == meeting.id, MeetingInvitation.staff_id == staff.id)) is not None


def _manages(staff: Staff, meeting: Meeting) -> bool:
    return staff.role in ADMIN_ROLES and regions.contains(staff.region, meeting.region)


def list_for_staff(staff: Staff, page: int = 1) -> Page:
    """One page of the meetings an admin manages (subtree) or a staff member is invited to, latest first."""
    invited = select(MeetingInvitation.meeting_id).where(MeetingInvitation.staff_id == staff.id)
    condition = Meeting.id.in_(invited)
    if staff.role in ADMIN_ROLES:
        condition = or_(condition, regions.subtree_condition(staff.region))
    return paginate(select(Meeting).join(Region, Meeting.region_id == Region.id).where(condition)
                    .options(selectinload(Meeting.region)).order_by(Meeting.starts_at.desc(), Meeting.id.desc()),
                    page)


def get_for_staff(staff: Staff, meeting_id: int) -> Meeting:
    """The meeting, if the staff member manages it or is invited (NotFound / NotAuthorized otherwise)."""
    meeting = inputs.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingNotFound()
    if not (_manages(staff, meeting) or _invited(staff, meeting)):
        raise MeetingForbidden()
    return meeting


def page_for_staff(staff: Staff, meeting_id: int) -> MeetingPage:
    """What the meeting page shows `staff` (invited, or an admin in scope; see `get_for_staff`).

    Only an admin whose subtree holds the meeting (who may upload, invite and record attendance)
    sees the invitations and the attendance rates.
    """
    meeting = get_for_staff(staff, meeting_id)
    manage = _manages(staff, meeting)
    return MeetingPage(
        meeting=meeting, materials=materials(meeting), manage=manage,
        started=meeting.starts_at.astimezone(clock.SERVICE_ZONE).date() <= clock.today(),
        invitations=invitations(meeting) if manage else [],
        rates=attendance_by_community(meeting.region, meeting=meeting) if manage else [])


def _managed(staff: Staff, meeting_id: int) -> Meeting:
    _require_admin(staff)
    meeting = inputs.get(Meeting, meeting_id)
    if meeting is None:
        raise MeetingNotFound()
    ensure_in_scope(staff, meeting.region)
    return meeting


def add_material(staff: Staff, meeting_id: int, file: FileStorage | None) -> MeetingMaterial:
    """Upload a material (PDF, Office document or image, ≤ 20 MiB). Caller commits."""
    meeting = _managed(staff, meeting_id)
    stored = uploads.store_upload(file, kind="meeting_material",
                                  allowed_types=uploads.DOCUMENT_TYPES + uploads.IMAGE_TYPES,
                                  max_bytes=MATERIAL_MAX_BYTES)
    material = MeetingMaterial(meeting_id=meeting.id, file_id=stored.id, uploaded_by_id=staff.id)
    db.session.add(material)
    db.session.flush()
    return material


def materials(meeting: Meeting) -> list[MeetingMaterial]:
    """The meeting's materials with their files, oldest first (the caller checked access)."""
    return list(db.session.scalars(select(MeetingMaterial).where(MeetingMaterial.meeting_id == meeting.id)
                                   .options(selectinload(MeetingMaterial.file)).order_by(MeetingMaterial.id)))


def material_for_download(staff: Staff, meeting_id: int, material_id: int) -> tuple[StoredFile, Path]:
    """The stored file and its path, for invited staff or admins in scope only."""
    meeting = get_for_staff(staff, meeting_id)
    material = inputs.get(MeetingMaterial, material_id)
    if material is None or material.meeting_id != meeting.id:
        raise MaterialNotFound()
    return material.file, uploads.path_of(material.file)


def invite_region(staff: Staff, meeting_id: int, region: Region | None) -> int:
    """Invite every active community worker under `region` (inside the meeting's scope).

    Already invited staff are skipped. Returns the number newly invited. Caller commits.
    The meeting is authorized before the form is looked at, so another region's meeting is a
    403 whatever was posted.
    """
    meeting = _managed(staff, meeting_id)
    if region is None:
        raise ValidationFailed(fields={"region": "请选择邀请范围"})
    ensure_in_scope(staff, region)
    if not regions.contains(meeting.region, region):
        raise ValidationFailed(fields={"region": "邀请范围应在例会范围之内"})
    already = select(MeetingInvitation.staff_id).where(MeetingInvitation.meeting_id == meeting.id)
    workers = db.session.scalars(
        select(Staff).join(Region, Staff.region_id == Region.id)
        .where(regions.subtree_condition(region), Staff.role == INVITED_ROLE, Staff.active.is_(True),
               Staff.id.not_in(already)).order_by(Staff.id)).all()
    try:
        with db.session.begin_nested():
            db.session.add_all(MeetingInvitation(meeting_id=meeting.id, staff_id=w.id, community_id=w.region_id)
                               for w in workers)
            db.session.flush()
    except IntegrityError:
        raise InvitationConflict() from None
    return len(workers)


def invitations(meeting: Meeting) -> list[MeetingInvitation]:
    """Every invitation of the meeting with staff and community, by community code."""
    return list(db.session.scalars(
        select(MeetingInvitation).join(Region, MeetingInvitation.community_id == Region.id)
        .where(MeetingInvitation.meeting_id == meeting.id)
        .options(selectinload(MeetingInvitation.staff), selectinload(MeetingInvitation.community))
        .order_by(Region.code, MeetingInvitation.id)))


def record_attendance(staff: Staff, meeting_id: int, attended_ids: set[int]) -> int:
    """Record who came: invitations in `attended_ids` attended, every other invitation absent.

    Allowed from the meeting's day on. Returns the number of invitations recorded. Caller commits.
    """
    meeting = _managed(staff, meeting_id)
    if meeting.starts_at.astimezone(clock.SERVICE_ZONE).date() > clock.today():
        raise MeetingNotStarted()
    rows = invitations(meeting)
    unknown = set(attended_ids) - {row.id for row in rows}
    if unknown:
        raise ValidationFailed(fields={"attended": "包含未受邀人员"})
    now = clock.now()
    for row in rows:
        row.attended = row.id in attended_ids
        row.recorded_at, row.recorded_by_id = now, staff.id
    db.session.flush()
    audit.record(staff, "meeting.attendance", subject_type="meeting", subject_id=meeting.id,
                 region_id=meeting.region_id, detail={"attended": len(attended_ids), "invited": len(rows)})
    return len(rows)


def attendance_by_community(region: Region, *, meeting: Meeting | None = None, date_from: date | None = None,
                            date_to: date | None = None) -> list[CommunityAttendance]:
    """Attendance per community under `region`: invited and attended over meetings that have
    started (one meeting, or those starting within [date_from, date_to] in the service zone)."""
    query = (select(MeetingInvitation.community_id, func.count(MeetingInvitation.id),
                    func.count(MeetingInvitation.id).filter(MeetingInvitation.attended.is_(True)))
             .join(Meeting, MeetingInvitation.meeting_id == Meeting.id)
             .join(Region, MeetingInvitation.community_id == Region.id)
             .where(regions.subtree_condition(region), Meeting.starts_at <= clock.now())
             .group_by(MeetingInvitation.community_id))
    if meeting is not None:
        query = query.where(Meeting.id == meeting.id)
    if date_from is not None or date_to is not None:
        start, end = clock.local_days(date_from or clock.EARLIEST_DAY, date_to or clock.LATEST_DAY)
        query = query.where(Meeting.starts_at >= start, Meeting.starts_at < end)
    counts = {community_id: (invited, attended) for community_id, invited, attended in db.session.execute(query)}
    if not counts:
        return []
    communities = db.session.scalars(select(Region).where(Region.id.in_(counts)).order_by(Region.code))
    return [CommunityAttendance(c, *counts[c.id]) for c in communities]
