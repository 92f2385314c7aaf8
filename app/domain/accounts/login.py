"""Mini-program accounts: WeChat login and API tokens.

Tokens are random 256-bit reference tokens; only their SHA-256 is stored, so a database leak
yields no usable token, and revoking is deleting (or stamping) one row: it takes effect on the
very next request, unlike a signed cookie.
"""
from __future__ import annotations

import hashlib
import logging
import math
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import lazyload

from app.domain import clock, pii
from app.domain.accounts.errors import LoginCodeInvalid, WeChatDown
from app.extensions import db
from app.models import Account, ApiToken
from app.wechat.client import get_client
from app.wechat.errors import WeChatCodeInvalid, WeChatError, WeChatUnavailable

TOKEN_BYTES = 32
log = logging.getLogger(__name__)


def _hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def issue_token(account: Account) -> str:
    """Create a token for the account and return its raw value (shown once). Caller commits."""
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    ttl = timedelta(days=current_app.config["API_TOKEN_TTL_DAYS"])
    db.session.add(ApiToken(account_id=account.id, token_hash=_hash(raw), expires_at=clock.now() + ttl))
    db.session.flush()
    return raw


def account_for_token(raw: str | None) -> Account | None:
    """The account a live (unexpired, unrevoked) token belongs to, else None."""
    if not raw or len(raw) > 200:
        return None
    # One round trip on every API request (token and account joined; the account's bindings,
    # eager elsewhere, load only if a caller touches them).
    row = db.session.execute(
        select(ApiToken.revoked_at, ApiToken.expires_at, Account).join(Account, Account.id == ApiToken.account_id)
        .where(ApiToken.token_hash == _hash(raw)).options(lazyload(Account.bindings))).first()
    if row is None or row.revoked_at is not None or row.expires_at <= clock.now():
        return None
    return row.Account


def revoke_token(raw: str) -> None:
    """Revoke one token (logout). Caller commits."""
    db.session.execute(update(ApiToken).where(ApiToken.token_hash == _hash(raw), ApiToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))


def revoke_all_tokens(account: Account) -> None:
    """Revoke every token of an account. Caller commits."""
    db.session.execute(update(ApiToken).where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))


def login_with_code(code: str) -> tuple[Account, str]:
    """Exchange a `wx.login` code for the account (created on first login) and a new API token.

    The session_key is stored encrypted and never returned. WeChat says the code is bad or
    used → NotAuthenticated `wechat_code_invalid`; WeChat unreachable or busy → Unavailable
    `wechat_unavailable` with a Retry-After. Caller commits.
    """
    try:
        session = get_client().code_to_session(code)
    except WeChatCodeInvalid as exc:
        raise LoginCodeInvalid() from exc
    except WeChatUnavailable as exc:
        retry_after = max(1, math.ceil(getattr(exc, "retry_after", None) or 5))
        raise WeChatDown(headers={"Retry-After": str(retry_after)}) from exc
    except WeChatError as exc:
        # Our side is misconfigured (appid/secret) or WeChat answered something unexpected:
        # the user can only wait, and the log tells the operator why.
        log.error("jscode2session failed: errcode=%s errmsg=%s", exc.errcode, exc.errmsg)
        raise WeChatDown(headers={"Retry-After": "60"}) from exc
    account = _account_for_openid(session["openid"], session.get("unionid"))
    account.session_key_enc = pii.encrypt(session["session_key"]) if session.get("session_key") else None
    account.last_login_at = clock.now()
    db.session.flush()
    return account, issue_token(account)


def _account_for_openid(openid: str, unionid: str | None) -> Account:
    account = db.session.scalar(select(Account).where(Account.openid == openid))
    if account is None:
        try:
            # Two first logins at once: the unique openid lets one insert win; the other reads it.
            with db.session.begin_nested():
                account = Account(openid=openid, unionid=unionid)
                db.session.add(account)
                db.session.flush()
        except IntegrityError:
            account = db.session.scalar(select(Account).where(Account.openid == openid))
    if unionid and account.unionid != unionid:
        account.unionid = unionid
    return account
