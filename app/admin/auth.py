"""Staff login and logout."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import login_user, logout_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, Length

from app.admin import bp
from app.domain import staff as staff_domain
from app.extensions import db, limiter


class LoginForm(FlaskForm):
    username = StringField("用户名", validators=[DataRequired("请输入用户名"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


def _safe_next(target: str | None) -> str:
    # Only same-site relative paths: never an open redirect.
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("admin.home")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute", methods=["POST"])
def login():
    form = LoginForm()
    if form.validate_on_submit():
        staff = staff_domain.authenticate(form.username.data, form.password.data)
        if staff is not None:
            login_user(staff)
            return redirect(_safe_next(request.args.get("next")))
        flash("用户名或密码错误", "error")
    return render_template("login.html", form=form), 200 if request.method == "GET" or form.errors == {} else 400


@bp.post("/logout")
def logout():
    logout_user()
    db.session.remove()
    flash("已退出登录", "success")
    return redirect(url_for("admin.login"))
