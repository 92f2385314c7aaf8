"""app/errors.py: one place wires every error — the JSON envelope under /api/, Chinese pages
elsewhere — through public hooks only (no private library method is overridden)."""
from __future__ import annotations

import pytest
import sqlalchemy.exc
from flask import Blueprint
from flask_smorest import Api
from flask_smorest import Blueprint as SmorestBlueprint
from webargs.flaskparser import FlaskParser

from app import create_app
from app.api import TuiguanApi
from app.api.blueprint import ApiBlueprint
from app.api.parsing import ApiParser
from app.domain.certification.errors import SlotFull
from app.domain.errors import catalogue
from app.extensions import db


@pytest.mark.parametrize(("ours", "library"), [(TuiguanApi, Api), (ApiParser, FlaskParser),
                                                (ApiBlueprint, SmorestBlueprint)])
def test_no_private_library_method_is_overridden(ours, library):
    private = [name for name in vars(ours) if name.startswith("_") and not name.startswith("__")
               and hasattr(library, name)]
    assert private == []


@pytest.fixture
def failing_routes(base_overrides):
    """A fresh app with routes that raise, under /api/ and elsewhere (the shared app is set up)."""
    app = create_app("testing", {**base_overrides, "PROPAGATE_EXCEPTIONS": False})
    bp = Blueprint("failing", __name__)

    @bp.get("/api/v1/_test/full")
    def api_full():
        raise SlotFull()

    @bp.get("/api/v1/_test/boom")
    def api_boom():
        raise RuntimeError("boom")

    @bp.get("/_test/full")
    def page_full():
        raise SlotFull()

    @bp.get("/_test/boom")
    def page_boom():
        raise RuntimeError("boom")

    @bp.get("/api/v1/_test/locked")
    def api_locked():
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))

    @bp.get("/_test/locked")
    def page_locked():
        raise sqlalchemy.exc.OperationalError("SELECT 1", {}, Exception("database is locked"))

    app.register_blueprint(bp)
    yield app
    with app.app_context():
        db.engine.dispose()


def test_a_domain_error_is_the_envelope_under_api_and_a_chinese_page_elsewhere(failing_routes):
    client = failing_routes.test_client()
    response = client.get("/api/v1/_test/full")
    assert response.status_code == 409
    assert response.get_json() == {"error": {"code": "slot_full", "message": "该时段已约满", "fields": {}}}
    page = client.get("/_test/full")
    assert page.status_code == 409 and page.mimetype == "text/html"
    assert "该时段已约满" in page.get_data(as_text=True)


def test_an_unexpected_exception_is_a_500_without_details(failing_routes):
    client = failing_routes.test_client()
    response = client.get("/api/v1/_test/boom")
    assert response.status_code == 500
    assert response.get_json()["error"] == {"code": "internal_error", "message": catalogue()["internal_error"].message,
                                            "fields": {}}
    page = client.get("/_test/boom")
    assert page.status_code == 500 and "boom" not in page.get_data(as_text=True)
    assert "请稍后重试" in page.get_data(as_text=True)


def test_a_database_that_cannot_answer_is_a_503_with_retry_after(failing_routes):
    client = failing_routes.test_client()
    response = client.get("/api/v1/_test/locked")
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.get_json()["error"]["code"] == "service_unavailable"
    assert response.get_json()["error"]["retry_after"] == 5
    page = client.get("/_test/locked")
    assert page.status_code == 503 and "服务暂不可用" in page.get_data(as_text=True)


def test_http_errors_answer_with_the_catalogue_message(client):
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.get_json()["error"] == {"code": "not_found", "message": catalogue()["not_found"].message,
                                            "fields": {}}
    page = client.get("/staff/no-such-page")
    assert page.status_code == 404 and "页面不存在" in page.get_data(as_text=True)


def test_invalid_input_has_one_message_whoever_refuses(client, app):
    from tests.support.api import auth_headers, make_account

    headers = auth_headers(make_account())
    by_schema = client.post("/api/v1/bindings", headers=headers, json={"relation": "self"}).get_json()["error"]
    by_domain = client.post("/api/v1/bindings", headers=headers,
                            json={"relation": "self", "name": "张三", "id_number": "123"}).get_json()["error"]
    assert by_schema["code"] == by_domain["code"] == "invalid_input"
    assert by_schema["message"] == by_domain["message"] == catalogue()["invalid_input"].message
    assert by_schema["fields"] == {"name": "必填", "id_number": "必填"} and "id_number" in by_domain["fields"]
