"""Rules for secret values: what a well-formed key is and what makes a secret weak.

Pure functions, shared by the settings parser (well-formedness, every environment), the production
start-up refusal and `flask check-config`, and the PII code itself. `decode_pii_key` takes one key:
a list of keys (current + previous, for rotation) is parsed by applying it to each item.
"""
from __future__ import annotations

import base64
import binascii
import math
from collections import Counter

PII_KEY_BYTES = 32
SECRET_KEY_MIN_LENGTH = 32
SECRET_KEY_MIN_BITS = 128
# What to run for a good value; quoted in refusals and in the README.
MAKE_SECRET_KEY = 'python -c "import secrets; print(secrets.token_urlsafe(48))"'  # noqa: S105 — a command, not a secret
MAKE_PII_KEY = 'python -c "import os, base64; print(base64.b64encode(os.urandom(32)).decode())"'


def decode_pii_key(value: str) -> bytes:
    """The key bytes of a PII key (standard base64 of at least 32 bytes); ValueError says what is wrong."""
    try:
        master = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"must be base64 of {PII_KEY_BYTES} random bytes (not valid base64)") from exc
    if len(master) < PII_KEY_BYTES:
        raise ValueError(f"must decode to at least {PII_KEY_BYTES} bytes (decodes to {len(master)})")
    return master


def check_pii_key(value: str) -> None:
    """Settings hook: the value must decode (raises ValueError)."""
    decode_pii_key(value)


def pii_key_weakness(value: str) -> str | None:
    """Why a well-formed PII key is not random enough, or None.

    32 random bytes are almost never all printable ASCII (about 1 in 10^13) and repeat few byte
    values; a key typed as text or padded with one byte is refused.
    """
    master = decode_pii_key(value)
    if all(32 <= b < 127 for b in master):
        return f"decodes to printable text, not random bytes: generate one with {MAKE_PII_KEY}"
    if len(set(master)) < len(master) // 2:
        return f"its bytes repeat too much to be random: generate one with {MAKE_PII_KEY}"
    return None


def entropy_bits(value: str) -> float:
    """Shannon entropy of the string's characters times its length (an estimate, in bits)."""
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values()) * n if n else 0.0


def _periodic(value: str) -> bool:
    """True for a string made of one shorter piece repeated (`abcabcabc`)."""
    return len(value) > 1 and (value + value).find(value, 1) < len(value)


def secret_weakness(value: str) -> str | None:
    """Why a session-signing secret is weak, or None: too short, repeated, or low entropy.

    128 bits by the character-frequency estimate: `secrets.token_urlsafe(32)` or longer passes,
    `token_hex(16)` (32 hex characters, ~115 bits estimated) does not.
    """
    if len(value) < SECRET_KEY_MIN_LENGTH:
        return f"too short ({len(value)} characters, at least {SECRET_KEY_MIN_LENGTH}): generate one with " \
               f"{MAKE_SECRET_KEY}"
    if _periodic(value):
        return f"one piece repeated: generate one with {MAKE_SECRET_KEY}"
    bits = entropy_bits(value)
    if bits < SECRET_KEY_MIN_BITS:
        return f"low entropy (about {bits:.0f} bits, at least {SECRET_KEY_MIN_BITS}): generate one with " \
               f"{MAKE_SECRET_KEY}"
    return None


def check_callback_aes_key(value: str) -> None:
    """WeChat's EncodingAESKey: 43 characters that are base64 of 32 bytes once '=' is added."""
    if len(value) != 43:
        raise ValueError(f"must be WeChat's 43-character EncodingAESKey (got {len(value)} characters)")
    try:
        key = base64.b64decode(value + "=", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("must be WeChat's EncodingAESKey (letters and digits)") from exc
    if len(key) != 32:
        raise ValueError("must be WeChat's EncodingAESKey (decodes to 32 bytes)")


def mask(value: str | None) -> str:
    """How a secret is shown: whether it is set and its length, nothing of its content."""
    return "not set" if not value else f"set ({len(value)} characters)"
