"""Mini-program accounts and their API tokens.

Tokens are random 256-bit reference tokens; only their SHA-256 is stored, so a database leak
yields no usable token, and revoking is deleting (or stamping) one row: it takes effect on the
very next request, unlike a signed cookie.
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update

from app.domain import clock
from app.extensions import db
from app.models import Account, ApiToken

TOKEN_BYTES = 32


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
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(raw)))
    if token is None or token.revoked_at is not None or token.expires_at <= clock.now():
        return None
    return db.session.get(Account, token.account_id)


def revoke_token(raw: str) -> None:
    """Revoke one token (logout). Caller commits."""
    db.session.execute(update(ApiToken).where(ApiToken.token_hash == _hash(raw), ApiToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))


def revoke_all_tokens(account: Account) -> None:
    """Revoke every token of an account. Caller commits."""
    db.session.execute(update(ApiToken).where(ApiToken.account_id == account.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=clock.now()))
