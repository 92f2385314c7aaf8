"""Personal data at rest: AES-GCM encryption, the keyed lookup hash, masking."""
from __future__ import annotations

import base64
import hashlib
from datetime import date

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from app.domain import pii
from app.domain.archives import idcard, records
from app.extensions import db
from app.models import Retiree
from tests.support.config import TEST_PII_KEY
from tests.support.factories import make_id_number, make_retiree, make_tree

OTHER_KEY = base64.b64encode(b"another-32-byte-key-for-testing!").decode()


def test_encrypt_decrypt_roundtrip_with_the_configured_key(app):
    for text in ("11010519491231002X", "13812345678", "四川省自贡市自流井区光大街8号"):
        blob = pii.encrypt(text)
        assert pii.decrypt(blob) == text
        assert text.encode() not in blob


def test_ciphertext_differs_every_time():
    first = pii.encrypt("11010519491231002X", key=TEST_PII_KEY)
    second = pii.encrypt("11010519491231002X", key=TEST_PII_KEY)
    assert first != second and first[:1] == second[:1] == b"\x01"  # version byte, then a fresh nonce
    assert first[1:13] != second[1:13]
    assert pii.decrypt(first, key=TEST_PII_KEY) == pii.decrypt(second, key=TEST_PII_KEY)


def test_wrong_key_or_tampering_is_detected():
    blob = pii.encrypt("13812345678", key=TEST_PII_KEY)
    with pytest.raises(InvalidTag):
        pii.decrypt(blob, key=OTHER_KEY)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(InvalidTag):
        pii.decrypt(tampered, key=TEST_PII_KEY)
    with pytest.raises(ValueError, match="version"):
        pii.decrypt(b"\x02" + blob[1:], key=TEST_PII_KEY)


def test_lookup_hash_is_stable_and_keyed():
    number = "11010519491231002X"
    one = pii.lookup_hash(number, key=TEST_PII_KEY)
    assert one == pii.lookup_hash(number, key=TEST_PII_KEY)
    assert len(one) == 64 and int(one, 16) >= 0
    assert one != pii.lookup_hash(number, key=OTHER_KEY)          # a different PII_KEY, a different hash
    assert one != hashlib.sha256(number.encode()).hexdigest()     # not an unkeyed, guessable hash
    assert one != pii.lookup_hash("110105194912310038", key=TEST_PII_KEY)


def test_bad_pii_key_is_refused():
    with pytest.raises(RuntimeError, match="base64"):
        pii.encrypt("x", key="not base64!!")
    with pytest.raises(RuntimeError, match="32 bytes"):
        pii.encrypt("x", key=base64.b64encode(b"short").decode())


@pytest.mark.parametrize(("phone", "masked"), [
    ("13812345678", "138****5678"),
    ("0813-2123456", "081*****3456"),
    ("2123456", "212****3456"),
    ("1234", "****"),
    (None, None),
    ("", ""),
])
def test_phone_masks(phone, masked):
    assert pii.mask_phone(phone) == masked


def test_stored_archive_holds_no_plaintext_and_is_found_by_hash(app):
    tree = make_tree()
    number = make_id_number(date(1950, 3, 14), "female", area="510302")
    retiree = make_retiree(tree["community_a"], id_number=number, phone="13812345678")
    db.session.commit()
    row = db.session.execute(select(Retiree.id_number_enc, Retiree.id_hash, Retiree.id_masked,
                                    Retiree.phone_enc, Retiree.phone_masked)).one()
    assert number.encode() not in row.id_number_enc and b"13812345678" not in row.phone_enc
    assert row.id_hash == pii.lookup_hash(number) and number not in row.id_hash
    assert row.id_masked == idcard.mask(number) == number[:6] + "********" + number[-4:]
    assert row.phone_masked == "138****5678"
    assert records.find_by_id_number(number.lower()).id == retiree.id
    profile = records.masked_profile(retiree)
    assert profile["id_number"] == row.id_masked and profile["phone"] == "138****5678"
    assert number not in str(profile)
