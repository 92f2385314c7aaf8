"""Campaigns: a template + data + audience + send time, reviewed by an admin, then sent to many.

Life cycle: `draft` (made by hand, or automatically before a holiday: app/domain/holidays.py) →
the reviewer previews the numbers and approves → `approved` (waiting for its send time) →
`sending` (the audience is streamed into the outbox: app/domain/campaign_dispatch.py) → `done`
when no row is left pending. `paused` (by staff, or until midnight by WeChat's 45009) stops the
sender from claiming its rows; `cancelled` cancels the rows not yet sent.

Who: street and agency admins create, edit, approve, pause, resume and cancel campaigns whose
region lies in their own subtree. Community workers see the campaigns that cover their community
(read only) and download the offline list for their own subtree, to phone or visit.
Progress is counted from the notification rows (indexed by campaign and status), never kept in
counters the workers would contend on.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, func, literal, or_, select, update

from app.domain import audit, clock, pii
from app.domain.campaigns.errors import (
    CampaignFinished,
    CampaignForbidden,
    CampaignNotDraft,
    CampaignNotFound,
    CampaignNotPaused,
    CampaignNotRunning,
    CampaignSendTimePassed,
    InvalidCampaign,
)
from app.domain.messaging import templates
from app.domain.org import regions
from app.extensions import db
from app.jobs import jobs
from app.models import Region, Retiree, Staff
from app.models.campaigns import CampaignBatch
from app.models.messaging import Campaign, Notification, OfflineContact
from app.models.people import CATEGORY_LABELS

MANAGER_ROLES = ("street_admin", "agency_admin")
VIEWER_ROLES = ("community_worker", "street_admin", "agency_admin")
# Templates meant for many people at once (the others are transactional: bookings, visits…).
CAMPAIGN_TEMPLATES = ("holiday_greeting",)
DISPATCH_JOB = "workers.campaigns.dispatch_campaign"
REQUEUE_JOB = "workers.campaigns.requeue_campaign"
STATUS_LABELS = {"draft": "草稿", "approved": "已审核待发送", "sending": "发送中", "paused": "已暂停",
                 "done": "已完成", "cancelled": "已取消"}
OFFLINE_REASON_LABELS = {"no_wechat_binding": "未绑定微信", "no_consent": "未授权订阅消息", "send_failed": "发送失败"}
# A draft whose send time passed less than this ago is sent at once when approved (a greeting
# approved on the morning of the festival); an older one must get a new time first.
STALE_SEND_TIME = timedelta(days=1)
HOLIDAY_LABELS = {"spring_festival": "春节", "double_ninth": "重阳节"}


# ---- scope ---------------------------------------------------------------------------------------

def _covers_staff(staff: Staff):
    """Campaign regions that lie in the staff subtree, or contain the staff member's region."""
    return or_(regions.subtree_condition(staff.region), literal(staff.region.path).startswith(Region.path))


def list_for_staff(staff: Staff, status: str | None = None) -> list[Campaign]:
    """Campaigns the staff member may see, newest first (no audience is loaded)."""
    if staff.role not in VIEWER_ROLES:
        raise CampaignForbidden()
    query = select(Campaign).join(Region, Region.id == Campaign.region_id).where(_covers_staff(staff))
    if status:
        query = query.where(Campaign.status == status)
    return list(db.session.scalars(query.order_by(Campaign.id.desc()).limit(500)))


def get_for_staff(staff: Staff, campaign_id: int, *, manage: bool = False) -> Campaign:
    """The campaign, if the staff member may see it (`manage`: may change it); else 403/404."""
    campaign = db.session.get(Campaign, campaign_id)
    if campaign is None or campaign.region is None:
        raise CampaignNotFound()
    if manage:
        if staff.role not in MANAGER_ROLES or not regions.contains(staff.region, campaign.region):
            raise CampaignForbidden()
    elif staff.role not in VIEWER_ROLES or not (regions.contains(staff.region, campaign.region)
                                                 or regions.contains(campaign.region, staff.region)):
        raise CampaignForbidden()
    return campaign


# ---- drafts --------------------------------------------------------------------------------------

def _validated(staff: Staff, *, name: str, template_key: str, data: dict[str, Any], region: Region | None,
               categories: list[str], include_retirees: bool, include_relatives: bool,
               send_at: datetime | None) -> dict[str, Any]:
    fields: dict[str, str] = {}
    name = (name or "").strip()
    if not name or len(name) > 100:
        fields["name"] = "请填写活动名称（100 字以内）"
    if template_key not in CAMPAIGN_TEMPLATES:
        fields["template_key"] = "请选择消息模板"
    if region is None:
        fields["region_id"] = "请选择发送范围"
    elif not regions.contains(staff.region, region):
        fields["region_id"] = "发送范围不在您的管辖范围内"
    unknown = [c for c in categories if c not in CATEGORY_LABELS]
    if unknown:
        fields["categories"] = "未知的人员类别：" + "、".join(unknown)
    if not include_retirees and not include_relatives:
        fields["include_retirees"] = "请至少选择一种接收人（本人或家属）"
    if send_at is not None and send_at.tzinfo is None:
        raise ValueError("send_at must be timezone-aware")
    if send_at is not None and send_at <= clock.now():
        fields["send_at"] = "发送时间应晚于现在（立即发送请留空）"
    values: dict[str, str] = {}
    if "template_key" not in fields:
        template = templates.get(template_key)
        values = templates.normalize_data(template, data)
        for field in template.fields:
            raw = values.get(field.key, "")
            try:
                templates.check_value(field.wx_type, raw)
            except ValueError as exc:
                fields[f"data_{field.key}"] = f"{field.label}：{exc}"
    if fields:
        raise InvalidCampaign(fields=fields)
    return {"name": name, "template_key": template_key, "data": values, "region_id": region.id,
            "categories": sorted(set(categories)), "include_retirees": include_retirees,
            "include_relatives": include_relatives, "send_at": send_at}


def create_campaign(staff: Staff, **spec: Any) -> Campaign:
    """A new draft (see `_validated` for the fields). Flushes; the caller commits."""
    if staff.role not in MANAGER_ROLES:
        raise CampaignForbidden()
    campaign = Campaign(status="draft", created_by_staff_id=staff.id, **_validated(staff, **spec))
    db.session.add(campaign)
    db.session.flush()
    return campaign


def update_draft(staff: Staff, campaign: Campaign, **spec: Any) -> Campaign:
    """Change a draft (only drafts: an approved campaign is what the reviewer saw)."""
    _manageable(staff, campaign)
    if campaign.status != "draft":
        raise CampaignNotDraft()
    for key, value in _validated(staff, **spec).items():
        setattr(campaign, key, value)
    db.session.flush()
    return campaign


def _manageable(staff: Staff, campaign: Campaign) -> None:
    if staff.role not in MANAGER_ROLES or campaign.region is None or \
            not regions.contains(staff.region, campaign.region):
        raise CampaignForbidden()


def rendered_data(campaign: Campaign) -> list[dict[str, str]]:
    """The fields as WeChat will show them (thing values cut to 20 characters), for the preview."""
    template = templates.get(campaign.template_key)
    out = []
    for field in template.fields:
        raw = (campaign.data or {}).get(field.key, "")
        try:
            shown, problem = templates.check_value(field.wx_type, raw), ""
        except ValueError as exc:
            shown, problem = raw, str(exc)
        out.append({"key": field.key, "label": field.label, "value": raw, "shown": shown, "problem": problem})
    return out


# ---- review and sending --------------------------------------------------------------------------

def approve(staff: Staff, campaign: Campaign) -> Campaign:
    """Approve a draft: it is sent at its send time (or at once). Audited. Flushes; the dispatch
    job is enqueued after the caller commits."""
    _manageable(staff, campaign)
    if campaign.status != "draft":
        raise CampaignNotDraft()
    problems = {f"data_{r['key']}": r["problem"] for r in rendered_data(campaign) if r["problem"]}
    if problems:
        raise InvalidCampaign(fields=problems)
    now = clock.now()
    if campaign.send_at is not None and campaign.send_at < now - STALE_SEND_TIME:
        raise CampaignSendTimePassed()
    campaign.status, campaign.approved_by_staff_id, campaign.approved_at = "approved", staff.id, now
    audit.record(staff, "campaign.approve", subject_type="campaign", subject_id=campaign.id,
                 region_id=campaign.region_id, detail={"name": campaign.name, "template": campaign.template_key})
    db.session.flush()
    if campaign.send_at is None or campaign.send_at <= now:
        start_dispatch(campaign.id)
    return campaign


def start_dispatch(campaign_id: int) -> bool:
    """`approved` → `sending` (a conditional update: one dispatcher), and the dispatch job enqueued
    after commit. False if the campaign was not approved."""
    now = clock.now()
    moved = db.session.execute(update(Campaign).where(Campaign.id == campaign_id, Campaign.status == "approved")
                               .values(status="sending", dispatch_started_at=now, updated_at=now)
                               .execution_options(synchronize_session="fetch")).rowcount
    if moved:
        jobs.enqueue_after_commit(db.session, DISPATCH_JOB, campaign_id, queue="default", **job_options())
    return bool(moved)


def job_options() -> dict[str, Any]:
    """RQ options of the dispatch and requeue jobs (both resumable, so RQ may retry them)."""
    from rq import Retry

    return {"timeout": 3600, "retry": Retry(max=3, interval=[30, 120, 600]), "failure_ttl": 7 * 86400}


def dispatch_due() -> int:
    """Start every approved campaign whose send time has come (the periodic tick). Flushes."""
    due = list(db.session.scalars(select(Campaign.id).where(
        Campaign.status == "approved", or_(Campaign.send_at.is_(None), Campaign.send_at <= clock.now()))))
    return sum(start_dispatch(campaign_id) for campaign_id in due)


def pause(staff: Staff, campaign: Campaign) -> Campaign:
    """Stop sending: pending rows stay pending (the sender skips paused campaigns) until resumed."""
    _manageable(staff, campaign)
    if campaign.status not in ("approved", "sending"):
        raise CampaignNotRunning()
    campaign.status, campaign.paused_until, campaign.pause_reason = "paused", None, "工作人员暂停"
    audit.record(staff, "campaign.pause", subject_type="campaign", subject_id=campaign.id,
                 region_id=campaign.region_id)
    db.session.flush()
    return campaign


def resume(staff: Staff, campaign: Campaign) -> Campaign:
    """Continue a paused campaign (also one paused by WeChat's quota, before midnight, at the
    staff member's risk). Pending rows are re-enqueued after the caller commits."""
    _manageable(staff, campaign)
    if campaign.status != "paused":
        raise CampaignNotPaused()
    campaign.status = "sending" if campaign.dispatch_started_at else "approved"
    campaign.paused_until, campaign.pause_reason = None, None
    audit.record(staff, "campaign.resume", subject_type="campaign", subject_id=campaign.id,
                 region_id=campaign.region_id)
    db.session.flush()
    if campaign.status == "sending":
        jobs.enqueue_after_commit(db.session, REQUEUE_JOB, campaign.id, queue="default", **job_options())
    elif campaign.send_at is None or campaign.send_at <= clock.now():
        start_dispatch(campaign.id)
    return campaign


def cancel(staff: Staff, campaign: Campaign) -> Campaign:
    """Cancel: nothing more is sent (pending rows become `cancelled` when a sender or the sweeper
    meets them; what was sent stays sent)."""
    _manageable(staff, campaign)
    if campaign.status in ("done", "cancelled"):
        raise CampaignFinished()
    campaign.status = "cancelled"
    audit.record(staff, "campaign.cancel", subject_type="campaign", subject_id=campaign.id,
                 region_id=campaign.region_id)
    db.session.flush()
    return campaign


# ---- progress ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Progress:
    status: str
    total: int         # rows written, plus those expected from slices not yet written
    queued: int        # pending + sending + expected but not yet written
    sent: int
    no_consent: int
    failed: int        # failed + invalid_data
    unknown: int
    cancelled: int
    offline: int       # distinct retirees on this campaign's offline list
    dispatched: bool
    paused_until: datetime | None
    pause_reason: str | None

    @property
    def finished(self) -> bool:
        return self.dispatched and self.queued == 0

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "status_label": STATUS_LABELS.get(self.status, self.status),
                "total": self.total, "queued": self.queued, "sent": self.sent, "no_consent": self.no_consent,
                "failed": self.failed, "unknown": self.unknown, "cancelled": self.cancelled,
                "offline": self.offline, "dispatched": self.dispatched, "finished": self.finished,
                "paused_until": self.paused_until.isoformat() if self.paused_until else None,
                "pause_reason": self.pause_reason}


def progress(campaign: Campaign) -> Progress:
    """Counts by status from the notification rows (one grouped query on the campaign/status
    index), the offline list, and the rows still expected from unwritten slices."""
    counts: dict[str, int] = dict(db.session.execute(
        select(Notification.status, func.count()).where(Notification.campaign_id == campaign.id)
        .group_by(Notification.status)).all())
    offline = db.session.scalar(select(func.count(func.distinct(OfflineContact.retiree_id)))
                                .where(OfflineContact.campaign_id == campaign.id))
    written = sum(counts.values())
    unwritten = db.session.scalar(select(exists().where(CampaignBatch.campaign_id == campaign.id,
                                                        CampaignBatch.written_at.is_(None))))
    awaiting = max(campaign.total_count - written, 0) if unwritten or campaign.dispatched_at is None else 0
    if campaign.status in ("draft", "approved", "cancelled"):
        awaiting = 0
    return Progress(status=campaign.status, total=written + awaiting,
                    queued=counts.get("pending", 0) + counts.get("sending", 0) + awaiting,
                    sent=counts.get("sent", 0), no_consent=counts.get("no_consent", 0),
                    failed=counts.get("failed", 0) + counts.get("invalid_data", 0),
                    unknown=counts.get("unknown", 0), cancelled=counts.get("cancelled", 0), offline=offline or 0,
                    dispatched=campaign.dispatched_at is not None and not unwritten,
                    paused_until=campaign.paused_until, pause_reason=campaign.pause_reason)


# ---- offline list --------------------------------------------------------------------------------

@dataclass(frozen=True)
class OfflineRow:
    retiree_id: int
    name: str
    id_masked: str
    phone: str | None
    address: str | None
    community: str
    reasons: list[str]


def _offline_query(staff: Staff, campaign: Campaign):
    reached = exists().where(Notification.campaign_id == campaign.id, Notification.retiree_id == Retiree.id,
                             Notification.status == "sent")
    community = Region.__table__.alias("community")
    return (select(Retiree.id, Retiree.name, Retiree.id_masked, Retiree.phone_enc, Retiree.address,
                   community.c.name, OfflineContact.reason)
            .join(OfflineContact, OfflineContact.retiree_id == Retiree.id)
            .join(community, community.c.id == Retiree.community_id)
            .where(OfflineContact.campaign_id == campaign.id, OfflineContact.resolved_at.is_(None),
                   community.c.path.startswith(staff.region.path, autoescape=True), ~reached)
            .order_by(Retiree.id))


def offline_count(staff: Staff, campaign: Campaign) -> int:
    """Retirees of the campaign's offline list in the staff member's subtree."""
    inner = _offline_query(staff, campaign).order_by(None).with_only_columns(Retiree.id).distinct()
    return db.session.scalar(select(func.count()).select_from(inner.subquery()))


def offline_list(staff: Staff, campaign: Campaign, *, purpose: str = "export") -> Iterator[OfflineRow]:
    """The retirees staff must phone or visit: on the campaign's offline list, in the staff
    member's subtree, and not reached by WeChat through anyone (no `sent` row of the campaign).
    One row per retiree with every reason. Full phone numbers, so the export is audited (the
    entry is written now, in the caller's transaction). Streams: rows are read in chunks."""
    if staff.role not in VIEWER_ROLES:
        raise CampaignForbidden()
    audit.record(staff, f"campaign.offline_{purpose}", subject_type="campaign", subject_id=campaign.id,
                 detail={"rows": offline_count(staff, campaign), "scope_region_id": staff.region_id})

    def rows() -> Iterator[OfflineRow]:
        current: OfflineRow | None = None
        result = db.session.execute(_offline_query(staff, campaign).execution_options(yield_per=1000))
        for retiree_id, name, id_masked, phone_enc, address, community, reason in result:
            label = OFFLINE_REASON_LABELS.get(reason, reason)
            if current is not None and current.retiree_id == retiree_id:
                if label not in current.reasons:
                    current.reasons.append(label)
                continue
            if current is not None:
                yield current
            current = OfflineRow(retiree_id, name, id_masked, pii.decrypt(phone_enc) if phone_enc else None,
                                 address, community, [label])
        if current is not None:
            yield current

    return rows()
