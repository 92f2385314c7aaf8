"""A mini-program account's phone number, verified through WeChat (`getPhoneNumber`).

The mini-program's `<button open-type="getPhoneNumber">` gives a one-time code; WeChat turns it
into the number the user's WeChat account has verified. The account keeps it (encrypted, masked
for display), and when the account is the retiree's own (an active `self` binding) the archive's
phone is confirmed — or updated, when the archive had another number or none — so community
workers call the number the retiree actually uses. Every change is audited, with masked numbers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from app.domain import audit, clock, pii
from app.domain.accounts.errors import PhoneCodeInvalid, PhoneNotMainland, WeChatDown
from app.extensions import db
from app.models import Account, Binding, Retiree
from app.wechat.client import get_client
from app.wechat.errors import WeChatCodeInvalid, WeChatError, WeChatUnavailable

MAINLAND = "86"


@dataclass(frozen=True)
class PhoneResult:
    """What the verification did: the account's masked number, and for a retiree's own account
    what happened to the archive (`confirmed`, `updated`) — None for a relative's account."""

    account: Account
    retiree: Retiree | None
    archive: str | None


def _number_from_wechat(code: str) -> str:
    try:
        info = get_client().get_phone_number(code)
    except WeChatCodeInvalid as exc:
        raise PhoneCodeInvalid(fields={"code": "凭证无效或已使用"}) from exc
    except WeChatUnavailable as exc:
        retry_after = max(1, math.ceil(getattr(exc, "retry_after", None) or 5))
        raise WeChatDown(headers={"Retry-After": str(retry_after)}) from exc
    except WeChatError as exc:
        raise WeChatDown(headers={"Retry-After": "60"}) from exc
    number = str(info.get("purePhoneNumber") or "")
    if str(info.get("countryCode") or MAINLAND) != MAINLAND or not (len(number) == 11 and number.isdigit()
                                                                     and number.startswith("1")):
        raise PhoneNotMainland()
    return number


def _own_retiree(account: Account) -> Retiree | None:
    return db.session.scalar(select(Retiree).join(Binding, Binding.retiree_id == Retiree.id).where(
        Binding.account_id == account.id, Binding.relation == "self", Binding.status == "active"))


def _confirm_archive(account: Account, retiree: Retiree, number: str) -> str:
    """Confirm or update the archive's phone; returns `confirmed` or `updated` (audited)."""
    current = pii.decrypt(retiree.phone_enc) if retiree.phone_enc else None
    now = clock.now()
    outcome = "confirmed" if current == number else "updated"
    if outcome == "updated":
        retiree.phone_enc, retiree.phone_masked = pii.encrypt(number), pii.mask_phone(number)
    retiree.phone_confirmed_at = now
    audit.record(account, f"retiree.phone_{outcome}", subject_type="retiree", subject_id=retiree.id,
                 region_id=retiree.community_id,
                 detail={"from": pii.mask_phone(current), "to": pii.mask_phone(number), "source": "wechat"})
    return outcome


def verify_phone(account: Account, code: str) -> PhoneResult:
    """Verify the account's phone with a `getPhoneNumber` code. Caller commits.

    400 `phone_code_invalid` (code wrong or used); 422 `phone_not_mainland`; 503
    `wechat_unavailable` with Retry-After. The number never leaves unmasked.
    """
    number = _number_from_wechat(code)
    account.phone_enc, account.phone_masked = pii.encrypt(number), pii.mask_phone(number)
    account.phone_verified_at = clock.now()
    audit.record(account, "account.phone_verified", subject_type="account", subject_id=account.id,
                 detail={"phone": pii.mask_phone(number)})
    retiree = _own_retiree(account)
    archive = _confirm_archive(account, retiree, number) if retiree is not None else None
    db.session.flush()
    return PhoneResult(account=account, retiree=retiree, archive=archive)
