"""Staff login/logout, the home page (retiree list, search, pages, bindings) and the detail page."""
from __future__ import annotations

from datetime import date
from urllib.parse import unquote

import pytest
from sqlalchemy import select

from app.domain.archives import records
from app.extensions import db
from app.models import AuditEntry, Binding
from tests.support.api import bind, make_account
from tests.support.factories import make_id_number, make_retiree, make_staff, make_tree
from tests.support.staff import PASSWORD, csrf_token_from, fresh_client, login


@pytest.fixture
def worker(tree):
    staff = make_staff("community_worker", tree["community_a"], username="worker-a")
    db.session.commit()
    return staff


def _html(response) -> str:
    return response.get_data(as_text=True)


# ---- login, logout, sessions ------------------------------------------------------------------

def test_login_page_renders(client):
    response = client.get("/staff/login")
    assert response.status_code == 200
    assert "工作人员登录" in _html(response)


def test_login_sets_httponly_samesite_session_cookie(client, worker):
    response = login(client, worker)
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"
    cookie = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    home = client.get("/staff/")
    assert home.status_code == 200
    assert "光大街社区" in _html(home)


def test_password_is_stored_hashed(worker):
    assert PASSWORD not in worker.password_hash
    assert worker.password_hash.startswith(("scrypt:", "pbkdf2:"))


@pytest.mark.parametrize("username,password", [("worker-a", "wrong-password"), ("nobody", PASSWORD)])
def test_wrong_credentials_show_one_message(client, worker, username, password):
    response = client.post("/staff/login", data={"username": username, "password": password})
    assert response.status_code == 401
    assert "用户名或密码错误" in _html(response)
    assert client.get("/staff/").status_code == 302


def test_missing_fields_are_a_400_with_messages(client, worker):
    response = client.post("/staff/login", data={"username": "", "password": ""})
    assert response.status_code == 400
    assert "请输入用户名" in _html(response) and "请输入密码" in _html(response)


def test_control_characters_in_the_username_are_a_400_not_a_database_error(client, worker):
    # PostgreSQL refuses NUL in a query parameter: the form must stop it first.
    for username in ("worker-a\x00", "worker\x1b-a"):
        response = client.post("/staff/login", data={"username": username, "password": PASSWORD})
        assert response.status_code == 400 and "控制字符" in _html(response)


def test_inactive_staff_cannot_log_in(client, worker):
    worker.active = False
    db.session.commit()
    assert login(client, worker).status_code == 401


def test_pages_require_login_and_remember_where_to_go(client, worker):
    response = client.get("/staff/retirees/1")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login?next=")
    response = login(client, worker, query_string={"next": "/staff/?q=张"})
    assert unquote(response.headers["Location"]) == "/staff/?q=张"


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/staff", "/\\evil.example",
                                    "/staff\\..\\x", "javascript:alert(1)", "/api/v1/me", "http:/staff"])
def test_next_cannot_redirect_off_site(client, worker, target):
    response = login(client, worker, query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/"


def test_login_page_sends_logged_in_staff_home(login_as, worker):
    response = login_as(worker).get("/staff/login")
    assert response.status_code == 302 and response.headers["Location"] == "/staff/"


def test_logout_is_post_only_and_ends_the_session(client, worker):
    login(client, worker)
    assert client.get("/staff/logout").status_code == 405
    assert client.get("/staff/").status_code == 200
    response = client.post("/staff/logout")
    assert response.status_code == 302
    assert response.headers["Location"] == "/staff/login"
    assert client.get("/staff/").status_code == 302


def test_bumping_session_version_ends_existing_sessions(client, worker):
    login(client, worker)
    assert client.get("/staff/").status_code == 200
    worker.session_version += 1
    db.session.commit()
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/login")


def test_login_is_rate_limited_per_username(client, worker):
    # Different client addresses, same username: the per-username failure limit trips.
    for i in range(10):
        response = login(client, worker, password="wrong-password", environ_base={"REMOTE_ADDR": f"10.0.0.{i}"})
        assert response.status_code == 401
    response = login(client, worker, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert response.status_code == 429
    assert "登录尝试次数过多" in _html(response)
    assert client.get("/staff/").status_code == 302


def test_login_is_rate_limited_per_address(client, worker):
    for i in range(10):
        response = client.post("/staff/login", data={"username": f"guess-{i}", "password": "x" * 9})
        assert response.status_code == 401
    assert login(client, worker).status_code == 429


def test_successful_logins_do_not_count(client, worker):
    # A whole office behind one address logs in every morning.
    for _ in range(12):
        assert login(client, worker).status_code == 302
        client.post("/staff/logout")
    assert login(client, worker, password="wrong-password").status_code == 401


# ---- CSRF (protection on) ---------------------------------------------------------------------

def test_csrf_rejects_login_without_token(csrf_app):
    client = fresh_client(csrf_app)
    tree = make_tree()
    staff = make_staff("community_worker", tree["community_a"])
    db.session.commit()
    response = login(client, staff)
    assert response.status_code == 400
    assert "页面已过期" in _html(response)
    page = client.get("/staff/login")
    response = client.post("/staff/login", data={"username": staff.username, "password": PASSWORD,
                                                 "csrf_token": csrf_token_from(_html(page))})
    assert response.status_code == 302


def test_csrf_rejects_binding_approval_and_logout_without_token(csrf_app):
    client = fresh_client(csrf_app)
    tree = make_tree()
    staff = make_staff("community_worker", tree["community_a"])
    retiree = make_retiree(tree["community_a"])
    binding = bind(make_account(), retiree, relation="child", status="pending")
    db.session.commit()
    page = client.get("/staff/login")
    token = csrf_token_from(_html(page))
    assert client.post("/staff/login", data={"username": staff.username, "password": PASSWORD,
                                              "csrf_token": token}).status_code == 302
    assert client.post(f"/staff/bindings/{binding.id}/approve").status_code == 400
    assert client.post("/staff/logout").status_code == 400
    db.session.expire_all()
    assert db.session.get(Binding, binding.id).status == "pending"
    home = client.get("/staff/")
    assert home.status_code == 200  # still logged in
    token = csrf_token_from(_html(home))
    response = client.post(f"/staff/bindings/{binding.id}/approve", data={"csrf_token": token})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Binding, binding.id).status == "active"


# ---- home: list, search, pages ---------------------------------------------------------------

def test_home_lists_retirees_masked(login_as, tree, worker):
    old = make_retiree(tree["community_a"], name="王秀英", birth=date(1940, 5, 2), gender="female",
                       categories=["lonely"], phone="13912345678")
    db.session.commit()
    html = _html(login_as(worker).get("/staff/"))
    assert "王秀英" in html
    assert old.id_masked in html and records.full_id_number(old) not in html
    assert "139****5678" in html and "13912345678" not in html
    assert "高龄" in html and "孤寡" in html
    assert "女" in html and "健在" in html and "正常发放" in html
    assert "光大街社区" in html
    assert f"/staff/retirees/{old.id}" in html


def test_home_paginates_twenty_per_page(login_as, tree, worker):
    for i in range(45):
        make_retiree(tree["community_a"], name=f"退休{i:02d}")
    db.session.commit()
    client = login_as(worker)
    first = _html(client.get("/staff/"))
    assert first.count("/staff/retirees/") == 20
    assert "共 45 人" in first and "第 1 / 3 页" in first
    assert 'href="/staff/?page=2"' in first and 'href="/staff/?page=3"' in first
    last = _html(client.get("/staff/?page=3"))
    assert last.count("/staff/retirees/") == 5
    assert "第 3 / 3 页" in _html(client.get("/staff/?page=99"))
    assert "第 1 / 3 页" in _html(client.get("/staff/?page=abc"))


def test_search_keeps_the_query_in_page_links(login_as, tree, worker):
    for i in range(25):
        make_retiree(tree["community_a"], name=f"刘{i:02d}")
    make_retiree(tree["community_a"], name="陈立")
    db.session.commit()
    html = _html(login_as(worker).get("/staff/", query_string={"q": "刘"}))
    assert "找到 25 人" in html and "陈立" not in html
    assert "page=2&amp;q=%E5%88%98" in html or "q=%E5%88%98&amp;page=2" in html


@pytest.mark.parametrize("how", ["name", "last4", "full", "masked", "area"])
def test_search_by_name_or_id(login_as, tree, worker, how):
    number = make_id_number(date(1952, 8, 9), "male")
    target = make_retiree(tree["community_a"], name="赵建国", id_number=number)
    make_retiree(tree["community_a"], name="钱淑珍", id_number=make_id_number(date(1953, 1, 1), "female", "510311"))
    db.session.commit()
    query = {"name": "建国", "last4": number[-4:], "full": number, "masked": target.id_masked,
             "area": "510302"}[how]
    html = _html(login_as(worker).get("/staff/", query_string={"q": query}))
    assert "赵建国" in html
    assert "钱淑珍" not in html
    assert target.id_masked in html


def test_search_without_match_explains(login_as, tree, worker):
    make_retiree(tree["community_a"], name="孙玉兰")
    db.session.commit()
    html = _html(login_as(worker).get("/staff/", query_string={"q": "不存在"}))
    assert "孙玉兰" not in html
    assert "没有找到" in html


def test_overlong_search_is_explained_not_a_500(login_as, tree, worker):
    make_retiree(tree["community_a"], name="孙玉兰")
    db.session.commit()
    response = login_as(worker).get("/staff/", query_string={"q": "张" * 60})
    assert response.status_code == 200
    assert "最多 50 个字符" in _html(response)


# ---- home: pending relative bindings ---------------------------------------------------------

def test_pending_bindings_listed_and_approved(login_as, tree, worker):
    retiree = make_retiree(tree["community_a"], name="周德明")
    binding = bind(make_account(), retiree, relation="spouse", status="pending")
    db.session.commit()
    client = login_as(worker)
    html = _html(client.get("/staff/"))
    assert f'data-binding-id="{binding.id}"' in html and "配偶" in html
    response = client.post(f"/staff/bindings/{binding.id}/approve", data={"next": "/staff/?q=周"})
    assert response.status_code == 302
    assert unquote(response.headers["Location"]) == "/staff/?q=周"
    db.session.expire_all()
    stored = db.session.get(Binding, binding.id)
    assert stored.status == "active" and stored.approved_by_staff_id == worker.id
    html = _html(client.get("/staff/"))
    assert "已同意周德明的配偶绑定申请" in html
    assert f'data-binding-id="{binding.id}"' not in html


def test_pending_binding_rejected(login_as, tree, worker):
    binding = bind(make_account(), make_retiree(tree["community_a"]), relation="child", status="pending")
    db.session.commit()
    client = login_as(worker)
    assert client.post(f"/staff/bindings/{binding.id}/reject").status_code == 302
    db.session.expire_all()
    assert db.session.get(Binding, binding.id).status == "rejected"
    assert "已拒绝" in _html(client.get("/staff/"))


def test_deciding_twice_says_already_handled(login_as, tree, worker):
    binding = bind(make_account(), make_retiree(tree["community_a"]), relation="child", status="pending")
    db.session.commit()
    client = login_as(worker)
    client.post(f"/staff/bindings/{binding.id}/approve")
    response = client.post(f"/staff/bindings/{binding.id}/reject", follow_redirects=True)
    assert response.status_code == 200
    assert "该绑定申请已处理" in _html(response)
    db.session.expire_all()
    assert db.session.get(Binding, binding.id).status == "active"


def test_unknown_binding_is_404(login_as, worker):
    assert login_as(worker).post("/staff/bindings/999999/approve").status_code == 404


# ---- helpers (楼院长): reduced page ----------------------------------------------------------

def test_helper_sees_own_region_without_binding_review(login_as, tree):
    helper = make_staff("helper", tree["community_a"])
    mine = make_retiree(tree["community_a"], name="吴桂兰")
    make_retiree(tree["community_b"], name="郑国强")
    binding = bind(make_account(), mine, relation="child", status="pending")
    db.session.commit()
    client = login_as(helper)
    html = _html(client.get("/staff/"))
    assert "吴桂兰" in html and "郑国强" not in html
    assert "待审核的家属绑定" not in html
    assert client.post(f"/staff/bindings/{binding.id}/approve").status_code == 403
    db.session.expire_all()
    assert db.session.get(Binding, binding.id).status == "pending"


def test_helper_cannot_view_full_id(login_as, tree):
    helper = make_staff("helper", tree["community_a"])
    retiree = make_retiree(tree["community_a"])
    db.session.commit()
    client = login_as(helper)
    html = _html(client.get(f"/staff/retirees/{retiree.id}"))
    assert retiree.id_masked in html and "查看完整身份证号" not in html
    response = client.post(f"/staff/retirees/{retiree.id}/full-id")
    assert response.status_code == 403
    assert records.full_id_number(retiree) not in _html(response)
    assert db.session.scalar(select(db.func.count(AuditEntry.id))) == 0


# ---- detail page --------------------------------------------------------------------------------

def test_detail_page_is_masked(login_as, tree, worker):
    retiree = make_retiree(tree["community_a"], name="冯淑华", categories=["disabled"], mobility_limited=True,
                           phone="13600001234")
    db.session.commit()
    response = login_as(worker).get(f"/staff/retirees/{retiree.id}")
    html = _html(response)
    assert response.status_code == 200
    assert "冯淑华" in html and retiree.id_masked in html and "136****1234" in html
    assert records.full_id_number(retiree) not in html and "13600001234" not in html
    assert "残疾" in html and "查看完整身份证号" in html


def test_full_id_shown_once_and_audited(login_as, tree, worker):
    retiree = make_retiree(tree["community_a"])
    db.session.commit()
    client = login_as(worker)
    response = client.post(f"/staff/retirees/{retiree.id}/full-id")
    assert response.status_code == 200
    assert records.full_id_number(retiree) in _html(response)
    assert "no-store" in response.headers["Cache-Control"]
    entry = db.session.scalar(select(AuditEntry))
    assert (entry.action, entry.actor_type, entry.actor_id) == ("retiree.view_full_id", "staff", worker.id)
    assert (entry.subject_type, entry.subject_id) == ("retiree", retiree.id)
    # Reloading the detail page shows the masked form again.
    assert records.full_id_number(retiree) not in _html(client.get(f"/staff/retirees/{retiree.id}"))


def test_full_id_needs_post(login_as, tree, worker):
    retiree = make_retiree(tree["community_a"])
    db.session.commit()
    assert login_as(worker).get(f"/staff/retirees/{retiree.id}/full-id").status_code == 405


@pytest.mark.parametrize(("retiree_id", "message"), [
    ("424242", "未找到该退休人员"),
    # Beyond the id column's range: routing's 404, before any lookup, still in Chinese.
    ("99999999999999999999", "该记录不在您的管辖范围内"),
])
def test_unknown_retiree_is_404(login_as, worker, retiree_id, message):
    response = login_as(worker).get(f"/staff/retirees/{retiree_id}")
    assert response.status_code == 404
    assert message in _html(response) and "not found" not in _html(response).lower()


def test_forbidden_page_speaks_chinese(login_as, tree):
    helper = make_staff("helper", tree["community_a"])
    response = login_as(helper).post("/staff/bindings/1/approve")
    assert response.status_code == 403
    assert "权限" in _html(response) and "permission" not in _html(response)
