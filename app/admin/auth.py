"""Staff login and logout.

Password guessing is slowed twice, per client address and per username. Only failed attempts
count, so a community office behind one NAT can log in all morning, and a colleague's typos
do not lock anyone else out.
"""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFError
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.admin import bp
from app.admin.forms import single_line_text
from app.domain.org import staff as staff_domain
from app.extensions import db, limiter

LOGIN_FAILURES_PER_ADDRESS = "10 per minute"
LOGIN_FAILURES_PER_USERNAME = "10 per 15 minutes"
_TOO_MANY = "登录尝试次数过多，请稍后再试（最长 15 分钟）；忘记密码请联系管理员重置。"


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64), single_line_text])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


def safe_next(target: str | None) -> str:
    """A local staff-page path to go back to, or the home page: never an open redirect."""
    if target and target.startswith("/staff") and "\\" not in target and target.isprintable():
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("admin.home")


def _username_key() -> str:
    return "staff-login:" + (request.form.get("username") or "").strip().lower()[:64]


def _failed(response) -> bool:
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(LOGIN_FAILURES_PER_ADDRESS, methods=["POST"], deduct_when=_failed, error_message=_TOO_MANY)
@limiter.limit(LOGIN_FAILURES_PER_USERNAME, methods=["POST"], key_func=_username_key,
               deduct_when=_failed, error_message=_TOO_MANY)
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        staff = staff_domain.authenticate(form.username.data.strip(), form.password.data)
        if staff is not None:
            # A fresh session at the privilege change: nothing from before login carries over.
            session.clear()
            login_user(staff)
            return redirect(safe_next(request.args.get("next")))
        form.form_errors.append("用户名或密码错误")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("login.html", form=form), status


@bp.post("/logout")
def logout():
    logout_user()
    session.clear()
    db.session.remove()
    flash("您已安全退出", "success")
    return redirect(url_for("admin.login"))


@bp.errorhandler(CSRFError)
def csrf_failed(error: CSRFError):
    # Usually a form left open for a long time or opened before a logout; say what to do.
    return render_template("error.html", status=400, title="页面已过期",
                           message="页面已过期或无法确认表单来源。请返回上一页，刷新后再操作一次。"), 400
