"""Demo data: `seed-demo` builds a usable city, and running it again changes nothing."""
from __future__ import annotations

from sqlalchemy import func, select

from app.domain.archives import idcard, records
from app.domain.demo import seed as demo
from app.domain.org import staff as staff_domain
from app.extensions import db
from app.models import Account, AuditEntry, Binding, Region, Retiree, RetireeCategory, ServicePoint, Staff
from app.models.people import STORED_CATEGORIES

MODELS = (Region, ServicePoint, Retiree, RetireeCategory, Staff, Account, Binding)


def _counts() -> dict[str, int]:
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in MODELS}


def test_seed_demo_is_idempotent(app, runner):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    after_first = _counts()
    hashes = sorted(db.session.scalars(select(Retiree.id_hash)))
    updated_at = db.session.scalar(select(func.max(Retiree.updated_at)))

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "regions +0, service points +0, retirees +0, staff +0, mini-program accounts +0" in second.output
    assert _counts() == after_first
    assert sorted(db.session.scalars(select(Retiree.id_hash))) == hashes
    assert db.session.scalar(select(func.max(Retiree.updated_at))) == updated_at  # nothing rewritten
    categories = after_first.pop("RetireeCategory")
    assert categories > 30
    assert after_first == {"Region": 16, "ServicePoint": 8, "Retiree": 300, "Staff": 4, "Account": 3, "Binding": 3}


def test_demo_city_tree_and_service_points(app):
    demo.seed_demo(retiree_count=20)
    city = db.session.scalar(select(Region).where(Region.code == "510300000000"))
    assert (city.name, city.level, city.parent.code) == ("自贡市", "city", "510000000000")
    districts = {r.code: r.name for r in db.session.scalars(select(Region).where(Region.parent_id == city.id))}
    assert districts == {"510302000000": "自流井区", "510303000000": "贡井区"}
    communities = list(db.session.scalars(select(Region).where(Region.level == "community")))
    assert len(communities) == 8
    assert all(c.path.startswith(city.path) and len(c.code) == 12 and not c.code.endswith("000")
               for c in communities)
    points = {p.region_id for p in db.session.scalars(select(ServicePoint))}
    assert points == {c.id for c in communities}


def test_demo_retirees_are_valid_and_varied(app):
    demo.seed_demo()
    retirees = list(db.session.scalars(select(Retiree)))
    assert len(retirees) == 300
    ages = [demo.REFERENCE_YEAR - r.birth_date.year for r in retirees]
    assert min(ages) >= 60 and max(ages) <= 95
    assert sum(a >= 80 for a in ages) >= 30                       # enough 高龄 to show in lists
    for retiree in retirees[:50]:
        number = records.full_id_number(retiree)
        assert idcard.parse(number).birth_date == retiree.birth_date     # valid check digit
        assert number[:6] == retiree.community.code[:6]
    categories = set(db.session.scalars(select(RetireeCategory.category)))
    assert categories == set(STORED_CATEGORIES)
    limited = sum(r.mobility_limited for r in retirees)
    assert 10 <= limited <= 150
    assert len({r.name for r in retirees}) > 200


def test_demo_generator_is_deterministic():
    one = list(demo.fictional_retirees(30, demo.DEMO_COMMUNITIES))
    two = list(demo.fictional_retirees(30, demo.DEMO_COMMUNITIES))
    assert one == two
    assert len({r["id_number"] for r in one}) == 30
    assert list(demo.fictional_retirees(40, demo.DEMO_COMMUNITIES))[:30] == one


def test_demo_staff_one_per_role_can_log_in(app, runner):
    result = runner.invoke(args=["seed-demo", "--retirees", "5"])
    assert result.exit_code == 0
    assert demo.DEMO_PASSWORD in result.output
    for username, role, region_code, _display in demo.DEMO_STAFF:
        assert username in result.output
        staff = staff_domain.authenticate(username, demo.DEMO_PASSWORD)
        assert staff is not None and staff.role == role and staff.region.code == region_code
    assert sorted(db.session.scalars(select(Staff.role))) == sorted(
        ["helper", "community_worker", "street_admin", "agency_admin"])
    assert db.session.scalar(select(AuditEntry).where(AuditEntry.action == "retirees.import")) is not None


def test_demo_accounts_are_bound(app):
    demo.seed_demo(retiree_count=5)
    bindings = {(b.account.openid, b.relation, b.status) for b in db.session.scalars(select(Binding))}
    assert bindings == {("openid-demo1", "self", "active"), ("openid-demo2", "child", "pending"),
                        ("openid-demo3", "self", "active")}


def test_sandbox_login_demo1_reaches_its_bound_retiree(app, client):
    demo.seed_demo(retiree_count=5)
    login = client.post("/api/v1/auth/login", json={"code": "demo1.x"})
    assert login.status_code == 200, login.get_json()
    headers = {"Authorization": f"Bearer {login.get_json()['token']}"}
    me = client.get("/api/v1/me", headers=headers).get_json()
    active = [b for b in me["bindings"] if b["status"] == "active"]
    assert len(active) == 1
    retiree_id = active[0]["retiree"]["id"]
    profile = client.get(f"/api/v1/retirees/{retiree_id}", headers=headers)
    assert profile.status_code == 200 and "****" in profile.get_json()["id_number"]
