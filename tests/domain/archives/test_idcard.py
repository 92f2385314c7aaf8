"""Resident ID numbers (GB 11643): check digit, birth date, gender, normalization, masking."""
from __future__ import annotations

import pytest

from app.domain.archives import idcard


@pytest.mark.parametrize(("number", "birth", "gender"), [
    ("11010519491231002X", "1949-12-31", "female"),   # the standard's own example, check X
    ("440524188001010014", "1880-01-01", "male"),     # oldest accepted year
    ("510302195003140028", "1950-03-14", "female"),
])
def test_known_valid_numbers(number, birth, gender):
    facts = idcard.parse(number)
    assert (facts.number, facts.birth_date.isoformat(), facts.gender) == (number, birth, gender)


def test_check_digit_known_vectors():
    assert idcard.check_digit("11010519491231002") == "X"
    assert idcard.check_digit("44052418800101001") == "4"
    assert idcard.check_digit("51030219500314002") == "8"  # worked by hand: sum 169, 169 % 11 = 4


def _with_check(first17: str) -> str:
    return first17 + idcard.check_digit(first17)


@pytest.mark.parametrize(("raw", "message"), [
    ("110105194912310021", "身份证号校验位不正确"),               # check should be X
    ("11010519491231002", "身份证号应为18位（最后一位可为X）"),     # 17 characters
    ("11010519491231002X1", "身份证号应为18位（最后一位可为X）"),   # 19 characters
    ("110105491231002", "身份证号应为18位（最后一位可为X）"),       # old 15-digit numbers are not accepted
    ("11010519491231002A", "身份证号应为18位（最后一位可为X）"),
    ("1101051949123100X2", "身份证号应为18位（最后一位可为X）"),    # X only as the last character
    (_with_check("11010519500230002"), "身份证号中的出生日期无效"),  # 30 February
    (_with_check("11010519491301002"), "身份证号中的出生日期无效"),  # month 13
    (_with_check("11010518791231002"), "身份证号中的出生日期无效"),  # before 1880
    (_with_check("11010529991231002"), "身份证号中的出生日期无效"),  # in the future
    ("", "身份证号应为18位（最后一位可为X）"),
])
def test_invalid_numbers_say_why(raw, message):
    with pytest.raises(idcard.InvalidIdNumber) as exc:
        idcard.parse(raw)
    assert str(exc.value) == message


def test_valid_date_but_wrong_check_digit_still_fails():
    first17 = "51030219500314002"
    wrong = "0" if idcard.check_digit(first17) != "0" else "1"
    with pytest.raises(idcard.InvalidIdNumber, match="校验位"):
        idcard.parse(first17 + wrong)


@pytest.mark.parametrize("raw", [
    "11010519491231002x",                       # lower-case x
    "１１０１０５１９４９１２３１００２Ｘ",          # full-width digits and X
    "１１０１０５１９４９１２３１００２ｘ",
    " 110105 19491231 002X ",                   # spaces people paste
    "110105\u300019491231002X",                 # ideographic space
])
def test_normalization_accepts_pasted_forms(raw):
    assert idcard.parse(raw).number == "11010519491231002X"


def test_mask_keeps_region_and_last_four():
    assert idcard.mask("510302195003140027") == "510302********0027"
    assert idcard.mask("11010519491231002X") == "110105********002X"
