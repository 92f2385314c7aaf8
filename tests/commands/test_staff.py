"""`flask --app app create-staff`."""
from __future__ import annotations

from sqlalchemy import select
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import Staff
from tests.support.factories import make_tree


def _staff(username: str) -> Staff | None:
    db.session.expire_all()
    return db.session.scalar(select(Staff).where(Staff.username == username))


def test_creates_staff_with_hashed_password(app, runner):
    make_tree()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "lihm", "--role", "community_worker",
                                 "--region", "510302001001", "--password", "s3cret-pass", "--name", "李红梅"])
    assert result.exit_code == 0, result.output
    assert "created staff lihm" in result.output
    staff = _staff("lihm")
    assert staff.role == "community_worker" and staff.region.code == "510302001001"
    assert staff.display_name == "李红梅"
    assert staff.password_hash != "s3cret-pass"
    assert check_password_hash(staff.password_hash, "s3cret-pass")


def test_prompts_for_hidden_confirmed_password(app, runner):
    make_tree()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "street1", "--role", "street_admin", "--region", "510302001000"],
                           input="long-enough-1\nlong-enough-1\n")
    assert result.exit_code == 0, result.output
    assert "long-enough-1" not in result.output  # hidden input is not echoed
    assert check_password_hash(_staff("street1").password_hash, "long-enough-1")


def test_prompt_repeats_when_confirmation_differs(app, runner):
    make_tree()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "street2", "--role", "street_admin", "--region", "510302001000"],
                           input="first-password\nother-password\nsecond-pass-1\nsecond-pass-1\n")
    assert result.exit_code == 0, result.output
    assert check_password_hash(_staff("street2").password_hash, "second-pass-1")


def test_bad_role_is_refused(app, runner):
    make_tree()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "x", "--role", "mayor", "--region", "510302001001",
                                 "--password", "s3cret-pass"])
    assert result.exit_code == 2
    assert "mayor" in result.output
    assert _staff("x") is None


def test_unknown_region_is_refused(app, runner):
    make_tree()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "x", "--role", "community_worker", "--region", "999999999999",
                                 "--password", "s3cret-pass"])
    assert result.exit_code == 1
    assert "区划代码不存在" in result.output
    assert _staff("x") is None


def test_role_must_fit_region_level(app, runner):
    make_tree()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "x", "--role", "community_worker", "--region", "510300000000",
                                 "--password", "s3cret-pass"])
    assert result.exit_code == 1
    assert "region" in result.output
    assert _staff("x") is None


def test_short_password_is_refused(app, runner):
    make_tree()
    db.session.commit()
    result = runner.invoke(args=["create-staff", "x", "--role", "helper", "--region", "510302001001",
                                 "--password", "short"])
    assert result.exit_code == 1
    assert "密码至少" in result.output
    assert _staff("x") is None


def test_duplicate_username_is_refused(app, runner):
    make_tree()
    db.session.commit()
    args = ["create-staff", "dup", "--role", "agency_admin", "--region", "510300000000"]
    assert runner.invoke(args=args + ["--password", "first-pass-1"]).exit_code == 0
    result = runner.invoke(args=args + ["--password", "second-pass-2"])
    assert result.exit_code == 1
    assert "用户名已存在" in result.output
    assert check_password_hash(_staff("dup").password_hash, "first-pass-1")
    assert db.session.scalar(select(db.func.count(Staff.id))) == 1
