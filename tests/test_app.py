"""The app factory and the service's outer edges."""
from __future__ import annotations

import pytest

from app import create_app


def test_factory_builds_testing_app(app):
    assert app.config["TESTING"] is True
    assert app.config["PII_KEY"]


def test_production_refuses_missing_secrets(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.delenv("PII_KEY", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    with pytest.raises(RuntimeError) as refused:
        create_app("production")
    assert "SECRET_KEY" in str(refused.value) and "PII_KEY" in str(refused.value)


def test_production_refuses_memory_redis(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 32)
    monkeypatch.setenv("PII_KEY", "dGVzdC1waWkta2V5LTMyLWJ5dGVzLWxvbmctZW5vdWdoIQ==")
    monkeypatch.delenv("REDIS_URL", raising=False)
    with pytest.raises(RuntimeError, match="REDIS_URL"):
        create_app("production")


def test_healthz_reports_database_and_redis(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


def test_unknown_api_path_is_json_envelope(client):
    response = client.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"


def test_openapi_document_is_served(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.get_json()["info"]["title"] == "Tuiguan mini-program API"
