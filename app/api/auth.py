"""Login with a wx.login code, logout (token revocation)."""
from __future__ import annotations

from app.api.blueprint import ApiBlueprint, operation
from app.api.schemas import LoginResultSchema, LoginSchema
from app.api.security import current_token, require_account
from app.domain.accounts import login as accounts
from app.domain.accounts.errors import LoginCodeInvalid, WeChatDown
from app.extensions import db

blp = ApiBlueprint("auth", __name__, description="微信登录与注销")


@blp.post("/auth/login")
@blp.arguments(LoginSchema)
@blp.response(200, LoginResultSchema)
@operation("login", LoginCodeInvalid, WeChatDown)
def login(args):
    """用 wx.login 的 code 登录，换取 API 令牌

    code 无效或已使用 → 401 wechat_code_invalid；微信不可用 → 503 wechat_unavailable（带 Retry-After）。
    """
    account, token = accounts.login_with_code(args["code"])
    db.session.commit()
    return {"token": token, "account": account}


@blp.post("/auth/logout")
@blp.response(204)
@operation("logout")
@require_account
def logout():
    """注销：当前令牌立即失效"""
    accounts.revoke_token(current_token())
    db.session.commit()
