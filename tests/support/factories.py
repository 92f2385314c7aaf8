"""Test data builders. Plain functions over the domain layer: what the app itself would create."""
from __future__ import annotations

import itertools
import random
from datetime import date

from app.domain.archives import idcard, records
from app.domain.org import staff as staff_domain
from app.domain.org.regions import path_for
from app.extensions import db
from app.models import Region, ServicePoint

_seq = itertools.count(1)
# Seeded, and reseeded before every test (the root conftest's `app` fixture), so a test's random
# birth dates and genders are the same whatever ran before it.
_rng = random.Random(2026)


def reseed(seed: int = 2026) -> None:
    _rng.seed(seed)


def make_id_number(birth: date = date(1950, 3, 14), gender: str = "female", area: str = "510302") -> str:
    """A valid ID number (correct check digit), unique within the run."""
    serial = next(_seq) % 500
    odd_even = serial * 2 + (1 if gender == "male" else 0)
    first17 = f"{area}{birth:%Y%m%d}{odd_even:03d}"
    return first17 + idcard.check_digit(first17)


def make_region(code: str, name: str, level: str, parent: Region | None = None) -> Region:
    region = Region(code=code, name=name, level=level, parent_id=parent.id if parent else None,
                    path=path_for(code, parent))
    db.session.add(region)
    db.session.flush()
    return region


def make_tree() -> dict[str, Region]:
    """Province → city → two districts → streets → communities, with real-format codes."""
    r: dict[str, Region] = {}
    r["province"] = make_region("510000000000", "四川省", "province")
    r["city"] = make_region("510300000000", "自贡市", "city", r["province"])
    r["district_a"] = make_region("510302000000", "自流井区", "district", r["city"])
    r["district_b"] = make_region("510303000000", "贡井区", "district", r["city"])
    r["street_a"] = make_region("510302001000", "五星街街道", "street", r["district_a"])
    r["street_b"] = make_region("510303001000", "艾叶镇", "street", r["district_b"])
    r["community_a"] = make_region("510302001001", "光大街社区", "community", r["street_a"])
    r["community_a2"] = make_region("510302001002", "王井社区", "community", r["street_a"])
    r["community_b"] = make_region("510303001001", "建设社区", "community", r["street_b"])
    return r


def make_service_point(community: Region, code: str | None = None) -> ServicePoint:
    point = ServicePoint(code=code or f"SP{community.code}", name=f"{community.name}服务站",
                         address=f"{community.name}1号", region_id=community.id)
    db.session.add(point)
    db.session.flush()
    return point


def make_retiree(community: Region, name: str = "张桂芳", birth: date | None = None,
                 gender: str | None = None, categories: list[str] | None = None,
                 mobility_limited: bool = False, phone: str | None = "13800001111", id_number: str | None = None):
    birth = birth or date(1950 + _rng.randint(0, 10), _rng.randint(1, 12), _rng.randint(1, 28))
    gender = gender or _rng.choice(("male", "female"))
    number = id_number or make_id_number(birth, gender)
    return records.create_retiree(name=name, id_number=number, community=community, phone=phone,
                                   address=f"{community.name}幸福路8号", former_employer="自贡市盐业公司",
                                   retirement_date=date(2010, 6, 1), categories=categories or [],
                                   mobility_limited=mobility_limited)


def make_staff(role: str, region: Region, username: str | None = None, password: str = "correct-horse-1"):
    return staff_domain.create_staff(username or f"{role}-{next(_seq)}", password, role, region.code,
                                     display_name=f"测试{role}")
