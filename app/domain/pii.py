"""Encryption, keyed lookup hashes and masking for personal data (ID numbers, phones).

PII_KEY (base64, 32 bytes) is expanded with HKDF into two independent keys: one for AES-GCM
encryption, one for the HMAC lookup hash, so a leaked hash index reveals nothing about the
encryption key and the hash cannot be recomputed without PII_KEY (no dictionary attack on
the small ID-number space).
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_NONCE = 12
_VERSION = b"\x01"


@lru_cache(maxsize=8)
def _keys(pii_key: str) -> tuple[AESGCM, bytes]:
    try:
        master = base64.b64decode(pii_key, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise RuntimeError("PII_KEY must be base64 of 32 random bytes") from exc
    if len(master) < 32:
        raise RuntimeError("PII_KEY must decode to at least 32 bytes")
    material = HKDF(algorithm=hashes.SHA256(), length=64, salt=None,
                    info=b"tuiguan-pii-v1").derive(master)
    return AESGCM(material[:32]), material[32:]


def _current_key() -> str:
    from flask import current_app

    return current_app.config["PII_KEY"]


def encrypt(plaintext: str, *, key: str | None = None) -> bytes:
    """AES-GCM with a random nonce; output = version byte + nonce + ciphertext."""
    aead, _ = _keys(key or _current_key())
    nonce = os.urandom(_NONCE)
    return _VERSION + nonce + aead.encrypt(nonce, plaintext.encode("utf-8"), None)


def decrypt(blob: bytes, *, key: str | None = None) -> str:
    aead, _ = _keys(key or _current_key())
    if not blob or blob[:1] != _VERSION:
        raise ValueError("unknown PII ciphertext version")
    nonce, body = blob[1:1 + _NONCE], blob[1 + _NONCE:]
    return aead.decrypt(nonce, body, None).decode("utf-8")


def lookup_hash(value: str, *, key: str | None = None) -> str:
    """Keyed hash (HMAC-SHA256, hex) used for equality lookups on encrypted columns."""
    _, mac_key = _keys(key or _current_key())
    return hmac.new(mac_key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def mask_phone(phone: str | None) -> str | None:
    """`138****5678` for mobiles; longer landlines keep their last four."""
    if not phone:
        return phone
    if len(phone) <= 4:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7 if len(phone) > 7 else 4) + phone[-4:]
