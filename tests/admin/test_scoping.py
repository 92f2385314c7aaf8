"""A staff member never sees or acts on a retiree outside their region subtree."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.domain.archives import records
from app.domain.errors import NotFound
from app.extensions import db
from app.models import AuditEntry, Binding
from tests.support.api import bind, make_account
from tests.support.factories import make_id_number, make_retiree, make_staff, make_tree


@pytest.fixture
def world(app):
    """Three communities: A and A2 on street A (district A), B on street B (district B)."""
    tree = make_tree()
    people = {
        "a": make_retiree(tree["community_a"], name="甲社区老人", id_number=make_id_number(date(1950, 1, 2))),
        "a2": make_retiree(tree["community_a2"], name="乙社区老人", id_number=make_id_number(date(1951, 2, 3))),
        "b": make_retiree(tree["community_b"], name="丙社区老人", id_number=make_id_number(date(1952, 3, 4))),
    }
    bindings = {key: bind(make_account(), retiree, relation="child", status="pending")
                for key, retiree in people.items()}
    db.session.commit()
    return {"tree": tree, "people": people, "bindings": bindings}


def _retiree_table(html: str) -> str:
    """Only the retiree list (the search box echoes the query, so the whole page would)."""
    start = html.find('<table data-testid="retiree-list">')
    return "" if start < 0 else html[start:html.index("</table>", start)]


def _names(staff, query=None) -> set[str]:
    page = records.search_retirees(staff, query, 1, 100)
    return {r.name for r in page.items}


@pytest.mark.parametrize("role,region,visible", [
    ("helper", "community_a", {"a"}),
    ("community_worker", "community_a", {"a"}),
    ("community_worker", "community_b", {"b"}),
    ("street_admin", "street_a", {"a", "a2"}),
    ("street_admin", "district_b", {"b"}),
    ("agency_admin", "district_a", {"a", "a2"}),
    ("agency_admin", "city", {"a", "a2", "b"}),
])
def test_search_is_scoped_to_the_subtree(world, role, region, visible):
    staff = make_staff(role, world["tree"][region])
    people = world["people"]
    assert _names(staff) == {people[k].name for k in visible}
    assert records.search_retirees(staff, None, 1, 20).total == len(visible)
    for key, retiree in people.items():
        found = _names(staff, retiree.name) | _names(staff, records.full_id_number(retiree)) \
            | _names(staff, retiree.id_masked) | _names(staff, retiree.id_masked[-4:])
        assert (retiree.name in found) is (key in visible), (key, found)


def test_get_for_staff_outside_subtree_is_not_found(world):
    staff = make_staff("community_worker", world["tree"]["community_a"])
    assert records.get_for_staff(staff, world["people"]["a"].id) is world["people"]["a"]
    with pytest.raises(NotFound):
        records.get_for_staff(staff, world["people"]["b"].id)
    with pytest.raises(NotFound):
        records.reveal_id_number(staff, world["people"]["b"].id)
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == 0


# ---- through the pages -----------------------------------------------------------------------

@pytest.fixture
def worker_a(world, login_as):
    staff = make_staff("community_worker", world["tree"]["community_a"])
    db.session.commit()
    return login_as(staff)


def test_community_worker_list_and_searches_hide_other_community(world, worker_a):
    other = world["people"]["b"]
    pages = [worker_a.get("/staff/"), worker_a.get("/staff/", query_string={"q": other.name}),
             worker_a.get("/staff/", query_string={"q": records.full_id_number(other)}),
             worker_a.get("/staff/", query_string={"q": other.id_masked[-4:]})]
    for response in pages:
        html = response.get_data(as_text=True)
        assert response.status_code == 200
        table = _retiree_table(html)
        assert other.name not in table and other.id_masked not in html
    assert world["people"]["a"].name in _retiree_table(pages[0].get_data(as_text=True))
    for response in pages[1:]:
        assert "找到 0 人" in response.get_data(as_text=True)


def test_community_worker_gets_404_for_other_community_detail(world, worker_a):
    other = world["people"]["b"]
    detail = worker_a.get(f"/staff/retirees/{other.id}")
    assert detail.status_code == 404
    assert other.name not in detail.get_data(as_text=True)
    full = worker_a.post(f"/staff/retirees/{other.id}/full-id")
    assert full.status_code == 404
    assert records.full_id_number(other) not in full.get_data(as_text=True)
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == 0
    # Same answer as an id that does not exist.
    assert worker_a.get("/staff/retirees/999999").status_code == 404


def test_community_worker_cannot_see_or_approve_other_community_binding(world, worker_a):
    other_binding = world["bindings"]["b"]
    html = worker_a.get("/staff/").get_data(as_text=True)
    assert f'data-binding-id="{world["bindings"]["a"].id}"' in html
    assert f'data-binding-id="{other_binding.id}"' not in html
    for action in ("approve", "reject"):
        response = worker_a.post(f"/staff/bindings/{other_binding.id}/{action}")
        assert response.status_code == 404
    db.session.expire_all()
    assert db.session.get(Binding, other_binding.id).status == "pending"


def test_street_admin_sees_every_community_of_the_street_only(world, login_as):
    client = login_as(make_staff("street_admin", world["tree"]["street_a"]))
    html = client.get("/staff/").get_data(as_text=True)
    people, bindings = world["people"], world["bindings"]
    assert people["a"].name in html and people["a2"].name in html and people["b"].name not in html
    assert f'data-binding-id="{bindings["a2"].id}"' in html
    assert f'data-binding-id="{bindings["b"].id}"' not in html
    assert client.get(f"/staff/retirees/{people['a2'].id}").status_code == 200
    assert client.get(f"/staff/retirees/{people['b'].id}").status_code == 404


def test_agency_admin_at_the_city_sees_everything_in_the_city(world, login_as):
    client = login_as(make_staff("agency_admin", world["tree"]["city"]))
    html = client.get("/staff/").get_data(as_text=True)
    for key, retiree in world["people"].items():
        assert retiree.name in html
        assert f'data-binding-id="{world["bindings"][key].id}"' in html
        assert client.get(f"/staff/retirees/{retiree.id}").status_code == 200
    assert client.post(f"/staff/bindings/{world['bindings']['b'].id}/approve").status_code == 302
    db.session.expire_all()
    assert db.session.get(Binding, world["bindings"]["b"].id).status == "active"
