"""Search rules for the staff retiree list: names, full/masked/partial ID numbers, page links."""
from __future__ import annotations

from datetime import date

import pytest

from app.domain.archives import records
from app.extensions import db
from tests.support.factories import make_id_number, make_retiree, make_staff


@pytest.fixture
def searchable(tree):
    number = make_id_number(date(1948, 11, 30), "male")
    wang = make_retiree(tree["community_a"], name="王100%_满", id_number=number)
    other = make_retiree(tree["community_a"], name="李四", id_number=make_id_number(date(1949, 1, 1), "female",
                                                                                  "510311"))
    staff = make_staff("community_worker", tree["community_a"])
    db.session.commit()
    return staff, wang, other, number


def _found(staff, query) -> set[str]:
    return {r.name for r in records.search_retirees(staff, query, 1, 50).items}


@pytest.mark.parametrize("query_of", [
    lambda n: n, lambda n: n.lower(), lambda n: f" {n[:6]} {n[6:]} ",  # pasted with spaces
    lambda n: n.translate(str.maketrans("0123456789", "０１２３４５６７８９")),  # full-width digits
    lambda n: n[:6] + "*" * 8 + n[-4:], lambda n: "****" + n[-4:], lambda n: n[:6] + "＊＊",
    lambda n: n[-4:], lambda n: n[-2:],
])
def test_id_queries_find_the_archive(searchable, query_of):
    staff, wang, _other, number = searchable
    assert _found(staff, query_of(number)) == {wang.name}


@pytest.mark.parametrize("query_of", [
    lambda n: n[:14],  # hidden birth-date digits cannot be matched without decrypting
    lambda n: n[:17] + ("0" if n[17] != "0" else "1"),  # a different (invalid) full number
    lambda n: n[:7] + "*" * 7 + n[-4:],  # more head than the mask shows
])
def test_id_queries_that_cannot_match(searchable, query_of):
    staff, _wang, _other, number = searchable
    assert _found(staff, query_of(number)) == set()


def test_name_search_treats_wildcards_literally(searchable):
    staff, wang, _other, _number = searchable
    assert _found(staff, "100%_") == {wang.name}
    assert _found(staff, "%") == {wang.name}
    assert _found(staff, "_") == {wang.name}
    assert _found(staff, "李") == {"李四"}
    assert _found(staff, "   ") == {wang.name, "李四"}


def test_page_numbers_show_gaps():
    page = records.Page(items=[], total=200, page=5, per_page=20)
    assert page.pages == 10 and page.has_prev and page.has_next
    assert page.page_numbers() == [1, None, 3, 4, 5, 6, 7, None, 10]
    assert records.Page(items=[], total=0, page=1, per_page=20).page_numbers() == [1]
