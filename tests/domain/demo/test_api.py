"""Demo data for the API's certification flows: slots a demo account can see and book, once."""
from __future__ import annotations

from sqlalchemy import func, select

from app.domain.demo import seed as demo
from app.extensions import db
from app.models.certification import OpeningHours, Slot


def test_demo_accounts_find_open_slots_near_them(app, client, wechat_sandbox):
    first = demo.seed_demo(retiree_count=20)
    assert first.slots_created > 0
    hours = db.session.scalar(select(func.count(OpeningHours.id)))
    again = demo.seed_demo(retiree_count=20)
    assert again.slots_created == 0 and db.session.scalar(select(func.count(OpeningHours.id))) == hours
    token = client.post("/api/v1/auth/login", json={"code": "demo1.demo"}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    me = client.get("/api/v1/me", headers=headers).get_json()
    retiree_id = me["bindings"][0]["retiree"]["id"]
    points = client.get(f"/api/v1/service-points?retiree_id={retiree_id}", headers=headers).get_json()["items"]
    slots = client.get(f"/api/v1/slots?service_point_id={points[0]['id']}", headers=headers).get_json()
    assert slots["total"] > 0 and slots["total"] <= db.session.scalar(select(func.count(Slot.id)))
