"""Demo data (`flask --app app seed-demo`): a small city with fictional retirees and staff.

Everything goes through the same domain functions as real data (region and retiree imports,
`staff.create_staff`), so the demo exercises the real paths. Idempotent: a second run finds
every record and writes nothing. All people are fictional; names, ID numbers and phones come
from a seeded random generator, so every machine gets the same demo.
"""
from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select

from app.domain import pii
from app.domain.archives import idcard, imports
from app.domain.demo import api as api_demo
from app.domain.org import staff as staff_domain
from app.extensions import db
from app.models import Account, Binding, Region, Retiree, ServicePoint, Staff

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105 — a published demo password, printed by seed-demo
DEMO_SEED = 2026
# Ages are counted from a fixed year, not today, so the demo is the same on every machine.
REFERENCE_YEAR = 2026
LAST_RETIREMENT = date(2025, 12, 31)

DEMO_REGIONS: tuple[tuple[str, str, str, str], ...] = (
    # code, name, parent_code, level
    ("510000000000", "四川省", "", "province"),
    ("510300000000", "自贡市", "510000000000", "city"),
    ("510302000000", "自流井区", "510300000000", "district"),
    ("510303000000", "贡井区", "510300000000", "district"),
    ("510302001000", "五星街街道", "510302000000", "street"),
    ("510302002000", "东兴寺街道", "510302000000", "street"),
    ("510303001000", "筱溪街道", "510303000000", "street"),
    ("510303002000", "贡井街道", "510303000000", "street"),
    ("510302001001", "光大街社区", "510302001000", "community"),
    ("510302001002", "王井社区", "510302001000", "community"),
    ("510302002001", "东兴寺社区", "510302002000", "community"),
    ("510302002002", "檀木林社区", "510302002000", "community"),
    ("510303001001", "筱溪社区", "510303001000", "community"),
    ("510303001002", "桥头社区", "510303001000", "community"),
    ("510303002001", "贡井社区", "510303002000", "community"),
    ("510303002002", "老街社区", "510303002000", "community"),
)
DEMO_COMMUNITIES = tuple(code for code, _n, _p, level in DEMO_REGIONS if level == "community")

# username, role, region code, display name
DEMO_STAFF: tuple[tuple[str, str, str, str], ...] = (
    ("demo-helper", "helper", "510302001001", "光大街社区 楼院长"),
    ("demo-worker", "community_worker", "510302001001", "光大街社区 专干"),
    ("demo-street", "street_admin", "510302001000", "五星街街道 管理员"),
    ("demo-agency", "agency_admin", "510300000000", "自贡市社保经办机构"),
)
# openid, index of the demo retiree (in generation order), relation, binding status.
# The sandbox maps a login code `demo1.<anything>` to openid `openid-demo1`.
DEMO_ACCOUNTS: tuple[tuple[str, int, str, str], ...] = (
    ("openid-demo1", 0, "self", "active"),
    ("openid-demo2", 0, "child", "pending"),
    ("openid-demo3", 1, "self", "active"),
)

_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程魏苏吕"
_GIVEN = "秀英桂兰玉珍凤芳淑华建国明德福贵志强永红丽文军平伟春梅海燕金国富荣光辉成玲琼素清德全"
_EMPLOYERS = ("自贡盐业公司", "自贡机械厂", "自贡化工厂", "自贡纺织厂", "自贡建筑公司", "自贡运输公司",
              "自贡电机厂", "自贡食品厂")
# (category, share of retirees) — a plausible mix, so every category shows up in lists.
_CATEGORY_SHARES = (("lonely", 0.08), ("disabled", 0.07), ("hardship", 0.05), ("model_worker", 0.04),
                    ("serious_illness", 0.06))


def fictional_retirees(count: int, community_codes: Sequence[str], *,
                       seed: int = DEMO_SEED) -> Iterator[dict[str, str]]:
    """`count` import rows (English headers) of fictional retirees, aged 60–95 in REFERENCE_YEAR,
    with valid, unique ID numbers whose area is the community's district. Deterministic per seed.
    Also used by bench/bench_import.py.
    """
    rng = random.Random(seed)
    used: set[str] = set()
    first_day = date(REFERENCE_YEAR - 95, 1, 1)
    span = (date(REFERENCE_YEAR - 60, 12, 31) - first_day).days
    for _ in range(count):
        community = community_codes[rng.randrange(len(community_codes))]
        male = rng.random() < 0.45
        while True:
            born = first_day + timedelta(days=rng.randrange(span))
            serial = rng.randrange(1, 500) * 2 + (1 if male else 0)
            first17 = f"{community[:6]}{born:%Y%m%d}{serial:03d}"
            if first17 not in used:
                used.add(first17)
                break
        number = first17 + idcard.check_digit(first17)
        name = _SURNAMES[rng.randrange(len(_SURNAMES))] + "".join(
            _GIVEN[rng.randrange(len(_GIVEN))] for _ in range(1 if rng.random() < 0.2 else 2))
        retire_age = 60 if male else rng.choice((50, 55))
        retired = min(date(born.year + retire_age, born.month, min(born.day, 28)), LAST_RETIREMENT)
        age = REFERENCE_YEAR - born.year
        categories = [c for c, share in _CATEGORY_SHARES if rng.random() < share]
        mobility = rng.random() < (0.35 if age >= 85 else 0.1) or "disabled" in categories
        yield {
            "name": name, "id_number": number, "phone": f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
            "community_code": community, "former_employer": rng.choice(_EMPLOYERS),
            "retirement_date": retired.isoformat(), "categories": ";".join(categories),
            "mobility_limited": "是" if mobility else "否",
        }


@dataclass
class DemoSummary:
    regions_created: int = 0
    service_points_created: int = 0
    retirees_created: int = 0
    staff_created: list[str] = field(default_factory=list)
    accounts_created: list[str] = field(default_factory=list)
    slots_created: int = 0
    staff: list[tuple[str, str, str]] = field(default_factory=list)  # username, role, region name


def seed_demo(retiree_count: int = 300) -> DemoSummary:
    """Create the demo city, its service points, retirees, staff and mini-program accounts.

    Idempotent (existing records are found, not rewritten). COMMITS.
    """
    summary = DemoSummary()
    region_rows = [{"code": c, "name": n, "parent_code": p, "level": lv} for c, n, p, lv in DEMO_REGIONS]
    existing_codes = set(db.session.scalars(select(Region.code).where(Region.code.in_([r[0] for r in DEMO_REGIONS]))))
    missing = [r for r in region_rows if r["code"] not in existing_codes]
    if missing:
        result = imports.import_regions(missing)
        if not result.ok:
            raise RuntimeError(f"demo regions rejected: {result.errors}")
        summary.regions_created = result.imported

    for code in DEMO_COMMUNITIES:
        community = db.session.scalar(select(Region).where(Region.code == code))
        if db.session.scalar(select(ServicePoint.id).where(ServicePoint.code == f"SP{code}")) is None:
            db.session.add(ServicePoint(code=f"SP{code}", name=f"{community.name}服务站",
                                        address=f"{community.name}便民服务中心", region_id=community.id))
            summary.service_points_created += 1
    db.session.commit()

    rows = list(fictional_retirees(retiree_count, DEMO_COMMUNITIES))
    hashes = [pii.lookup_hash(r["id_number"]) for r in rows]
    known = set(db.session.scalars(select(Retiree.id_hash).where(Retiree.id_hash.in_(hashes))))
    new_rows = [r for r, h in zip(rows, hashes, strict=True) if h not in known]
    if new_rows:
        result = imports.import_retirees(new_rows)
        if not result.ok:
            raise RuntimeError(f"demo retirees rejected: {result.errors}")
        summary.retirees_created = result.imported

    for username, role, region_code, display in DEMO_STAFF:
        region = db.session.scalar(select(Region).where(Region.code == region_code))
        summary.staff.append((username, role, region.name))
        if db.session.scalar(select(Staff.id).where(Staff.username == username)) is None:
            staff_domain.create_staff(username, DEMO_PASSWORD, role, region_code, display_name=display)
            summary.staff_created.append(username)

    for openid, index, relation, status in DEMO_ACCOUNTS:
        retiree_id = db.session.scalar(select(Retiree.id).where(Retiree.id_hash == hashes[index]))
        account = db.session.scalar(select(Account).where(Account.openid == openid))
        if account is None:
            account = Account(openid=openid)
            db.session.add(account)
            db.session.flush()
            summary.accounts_created.append(openid)
        if db.session.scalar(select(Binding.id).where(Binding.account_id == account.id,
                                                      Binding.retiree_id == retiree_id)) is None:
            db.session.add(Binding(account_id=account.id, retiree_id=retiree_id, relation=relation, status=status))
    db.session.commit()
    summary.slots_created = api_demo.seed_certification_slots(tuple(openid for openid, *_ in DEMO_ACCOUNTS))
    return summary
