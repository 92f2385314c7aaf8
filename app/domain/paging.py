"""Pages of a longer result, for the staff lists: one count and one bounded query, never a
silent cut-off."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, func, select

from app.extensions import db

STAFF_PER_PAGE = 50


@dataclass(frozen=True)
class Page:
    """One page of a longer result. `page` is 1-based and always within 1..pages."""

    items: list[Any]
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    def page_numbers(self, around: int = 2) -> list[int | None]:
        """Page links to show: first, last and `around` either side of the current; None = a gap."""
        wanted = {1, self.pages, *range(self.page - around, self.page + around + 1)}
        out: list[int | None] = []
        for number in sorted(n for n in wanted if 1 <= n <= self.pages):
            if out and out[-1] is not None and number - out[-1] > 1:
                out.append(None)
            out.append(number)
        return out


def paginate(query: Select, page: int = 1, per_page: int = STAFF_PER_PAGE, *, max_per_page: int = 100) -> Page:
    """One page of the ordered `query` (entities), with the total.

    `per_page` is clamped to 1..max_per_page and `page` to 1..pages: a page past the end (or a
    hostile number) gives the last page, a page below 1 the first.
    """
    per_page = min(max(int(per_page), 1), max_per_page)
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(int(page), 1), pages)
    items = list(db.session.scalars(query.limit(per_page).offset((page - 1) * per_page)))
    return Page(items=items, total=total, page=page, per_page=per_page)


def page_of_list(items: list[Any], page: int = 1, per_page: int = STAFF_PER_PAGE, *, max_per_page: int = 100) -> Page:
    """One page of an already ordered, bounded list (clamped like `paginate`)."""
    per_page = min(max(int(per_page), 1), max_per_page)
    pages = max(1, -(-len(items) // per_page))
    page = min(max(int(page), 1), pages)
    return Page(items=items[(page - 1) * per_page:page * per_page], total=len(items), page=page, per_page=per_page)
