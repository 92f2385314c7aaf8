"""WeChat's message-push callback, `/wechat/callback` (configured in the mini-program console).

GET: URL verification — answer `echostr` when `signature` = sha1 of the sorted token, timestamp and
nonce. POST: events in XML or JSON mode (plaintext, compatible or safe mode; safe mode needs
WECHAT_CALLBACK_AES_KEY). Subscription events update the consent ledger (`consent.record_push_event`);
WeChat gets "success" for everything it signed, so it never re-delivers an event we chose to ignore.
Thin: verify, parse, one domain call, commit.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging

import xmltodict
from flask import Blueprint, Response, current_app, request

from app.domain.messaging import consent
from app.extensions import csrf, db

log = logging.getLogger(__name__)

bp = Blueprint("wechat_callback", __name__)
csrf.exempt(bp)  # WeChat's servers post here; the signature is the authentication

EVENTS = {
    "subscribe_msg_popup_event": "SubscribeMsgPopupEvent",
    "subscribe_msg_change_event": "SubscribeMsgChangeEvent",
    "subscribe_msg_sent_event": "SubscribeMsgSentEvent",
}
MAX_BODY = 256 * 1024


def signature_for(token: str, *parts: str) -> str:
    """WeChat's signature: sha1 of the token and the parts, sorted and concatenated."""
    return hashlib.sha1("".join(sorted([token, *parts])).encode("utf-8")).hexdigest()  # noqa: S324 — WeChat's scheme


def _token() -> str:
    return current_app.config["WECHAT_CALLBACK_TOKEN"] or ""


def _signed(signature: str | None, *parts: str | None) -> bool:
    if not signature or not _token() or any(p is None for p in parts):
        return False
    return hmac.compare_digest(signature_for(_token(), *parts), signature)


def _text(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/plain")


@bp.get("/wechat/callback")
def verify():
    args = request.args
    if not _signed(args.get("signature"), args.get("timestamp"), args.get("nonce")):
        return _text("invalid signature", 403)
    return _text(args.get("echostr", ""))


@bp.post("/wechat/callback")
def receive():
    args = request.args
    if not _signed(args.get("signature"), args.get("timestamp"), args.get("nonce")):
        return _text("invalid signature", 403)
    raw = request.get_data(cache=False)
    if len(raw) > MAX_BODY:
        return _text("too large", 413)
    try:
        message = parse(raw.decode("utf-8"))
        if "Encrypt" in message:
            message = _decrypt(message, args)
    except ValueError as exc:
        log.warning("wechat callback rejected: %s", exc)
        return _text(str(exc), 400)
    event = message.get("Event")
    if message.get("MsgType") == "event" and event in EVENTS:
        items = list_items(message, EVENTS[event])
        applied = consent.record_push_event(str(message.get("FromUserName") or ""), event, items,
                                            message.get("CreateTime"))
        db.session.commit()
        log.info("wechat callback event=%s items=%s applied=%s", event, len(items), applied)
    return _text("success")


def parse(body: str) -> dict:
    """A pushed message as a dict, from XML (`<xml>…</xml>`) or JSON."""
    stripped = body.lstrip()
    try:
        if stripped.startswith("<"):
            parsed = xmltodict.parse(stripped, disable_entities=True)
            message = parsed.get("xml") if isinstance(parsed, dict) else None
        else:
            message = json.loads(stripped)
    except Exception as exc:  # noqa: BLE001 — expat and json raise many types; all mean "bad body"
        raise ValueError("body is neither XML nor JSON") from exc
    if not isinstance(message, dict):
        raise ValueError("body is not a WeChat message")
    return message


def list_items(message: dict, container: str) -> list[dict]:
    """The event's `List` entries. JSON mode: `List` at the top, an object for one item and an
    array for several; XML mode: repeated `<List>` inside `<SubscribeMsg…Event>` (xmltodict gives
    a dict for one and a list for several)."""
    holder = message.get(container) if isinstance(message.get(container), dict) else message
    items = holder.get("List") if isinstance(holder, dict) else None
    if items is None:
        return []
    if isinstance(items, dict):
        items = [items]
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _decrypt(message: dict, args) -> dict:
    """Safe mode: check `msg_signature` over the ciphertext, then decrypt (wechatpy)."""
    aes_key = current_app.config["WECHAT_CALLBACK_AES_KEY"]
    if not aes_key:
        raise ValueError("encrypted message but WECHAT_CALLBACK_AES_KEY is not set")
    from wechatpy.crypto import WeChatCrypto
    from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException

    crypto = WeChatCrypto(_token(), aes_key, current_app.config["WECHAT_APPID"])
    try:
        plain = crypto.decrypt_message({"Encrypt": message["Encrypt"]}, args.get("msg_signature", ""),
                                       args.get("timestamp", ""), args.get("nonce", ""))
    except (InvalidSignatureException, InvalidAppIdException) as exc:
        raise ValueError("invalid msg_signature or appid") from exc
    except Exception as exc:  # noqa: BLE001 — padding/base64 errors: a body we cannot read
        raise ValueError("cannot decrypt message") from exc
    return parse(plain if isinstance(plain, str) else plain.decode("utf-8"))
