"""Staff accounts: creation, password checks, region scope."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash, generate_password_hash

from app.domain.errors import OutOfScope, ValidationFailed
from app.domain.org import regions
from app.domain.org.errors import UsernameTaken
from app.extensions import db
from app.models import Region, Staff
from app.models.staff import STAFF_ROLES

MIN_PASSWORD_LENGTH = 8
# Role → the region levels it may be attached to.
ROLE_LEVELS = {
    "helper": ("community",),
    "community_worker": ("community",),
    "street_admin": ("street", "district"),
    "agency_admin": ("city", "district", "province"),
}
# Checked against a dummy hash when the user does not exist, so timing does not reveal usernames.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


def create_staff(username: str, password: str, role: str, region_code: str,
                 display_name: str | None = None) -> Staff:
    """Create a staff account attached to a region. Caller commits."""
    fields: dict[str, str] = {}
    if role not in STAFF_ROLES:
        fields["role"] = "角色应为：" + ", ".join(STAFF_ROLES)
    if len(password or "") < MIN_PASSWORD_LENGTH:
        fields["password"] = f"密码至少 {MIN_PASSWORD_LENGTH} 位"
    if not username or len(username) > 64:
        fields["username"] = "用户名必填，最多 64 个字符"
    region = regions.by_code(region_code)
    if region is None:
        fields["region"] = "区划代码不存在"
    elif role in ROLE_LEVELS and region.level not in ROLE_LEVELS[role]:
        fields["region"] = f"{role} 应挂在 {'/'.join(ROLE_LEVELS[role])} 级区划上"
    if fields:
        raise ValidationFailed(fields=fields)
    if db.session.scalar(select(Staff.id).where(Staff.username == username)):
        raise UsernameTaken(fields={"username": "已存在"})
    staff = Staff(username=username, password_hash=generate_password_hash(password), role=role,
                  region_id=region.id, display_name=display_name)
    db.session.add(staff)
    db.session.flush()
    return staff


def authenticate(username: str, password: str) -> Staff | None:
    """The active staff member with these credentials, or None."""
    staff = db.session.scalar(select(Staff).where(Staff.username == username))
    if staff is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not staff.active or not check_password_hash(staff.password_hash, password or ""):
        return None
    return staff


def ensure_in_scope(staff: Staff, region: Region) -> None:
    """Raise NotAuthorized unless `region` lies in the staff member's region subtree."""
    if not regions.contains(staff.region, region):
        raise OutOfScope()
