"""Typed WeChat failures, so callers decide by kind instead of by errcode.

They subclass wechatpy's `WeChatClientException`, so `errcode`/`errmsg` read as in wechatpy.
`errcode` is WeChat's number, or None when WeChat never answered (timeout, connection, HTTP 5xx).
"""
from __future__ import annotations

from wechatpy.exceptions import WeChatClientException

TOKEN_ERRCODES = frozenset({40001, 40014, 42001})  # invalid credential, invalid token, expired token


class WeChatError(WeChatClientException):
    """A WeChat call failed for a reason not covered by a subclass (e.g. bad appid/secret)."""

    def __init__(self, errcode: int | None, errmsg: str | None, *, request=None, response=None) -> None:
        super().__init__(errcode, errmsg, client=None, request=request, response=response)
        self.args = (errcode, errmsg)

    def __reduce__(self):
        # Picklable without the request/response objects (job systems may serialise errors).
        state = {k: v for k, v in self.__dict__.items() if k not in ("client", "request", "response")}
        return (self.__class__, (self.errcode, self.errmsg), state)


class WeChatCodeInvalid(WeChatError):
    """The login/phone code is wrong, used or from a blocked user (40029, 40163, 40226): ask for a new one."""


class WeChatUnavailable(WeChatError):
    """WeChat is busy or unreachable (-1, 45011, HTTP 5xx, timeout, connection error): retry later.

    `retry_after` is a hint in seconds.
    """

    def __init__(self, errcode: int | None, errmsg: str | None, *, retry_after: float = 2.0,
                 request=None, response=None) -> None:
        super().__init__(errcode, errmsg, request=request, response=response)
        self.retry_after = retry_after


class WeChatTokenInvalid(WeChatError):
    """The access token was refused again after the one refresh (40001/40014/42001)."""


class WeChatNoConsent(WeChatError):
    """The user has no subscription for this template (43101): final for this message."""


class WeChatQuotaExceeded(WeChatError):
    """The daily quota of this API is used up (45009): pause until tomorrow."""


class WeChatInvalidData(WeChatError):
    """WeChat refused the content (47003 bad field, 40003 bad openid, 40037 bad template, 41030 bad page).

    Final for this message; `errmsg` names the field.
    """


_BY_ERRCODE: dict[int, type[WeChatError]] = {
    40029: WeChatCodeInvalid,
    40163: WeChatCodeInvalid,
    40226: WeChatCodeInvalid,
    -1: WeChatUnavailable,
    45011: WeChatUnavailable,
    43101: WeChatNoConsent,
    45009: WeChatQuotaExceeded,
    47003: WeChatInvalidData,
    40003: WeChatInvalidData,
    40037: WeChatInvalidData,
    41030: WeChatInvalidData,
    **{code: WeChatTokenInvalid for code in TOKEN_ERRCODES},
}
_RETRY_AFTER = {-1: 1.0, 45011: 60.0}  # 45011: per-minute frequency limit


def error_for(errcode: int | None, errmsg: str | None, *, request=None, response=None) -> WeChatError:
    """The typed error for a WeChat errcode (None: WeChat did not answer → unavailable)."""
    cls = WeChatUnavailable if errcode is None else _BY_ERRCODE.get(errcode, WeChatError)
    if cls is WeChatUnavailable:
        return WeChatUnavailable(errcode, errmsg, retry_after=_RETRY_AFTER.get(errcode, 2.0),
                                 request=request, response=response)
    return cls(errcode, errmsg, request=request, response=response)
