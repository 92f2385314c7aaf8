"""The region tree: lookups and subtree scoping used by every staff query."""
from __future__ import annotations

from sqlalchemy import ColumnElement, select

from app.extensions import db
from app.models import Region


def by_code(code: str) -> Region | None:
    return db.session.scalar(select(Region).where(Region.code == code))


def subtree_condition(root: Region, column=Region.path) -> ColumnElement[bool]:
    """SQL condition: the region row (joined as `column`'s table) lies in `root`'s subtree."""
    return column.startswith(root.path, autoescape=True)


def region_ids_under(root: Region):
    """A subquery of the ids of `root` and everything below it."""
    return select(Region.id).where(subtree_condition(root)).scalar_subquery()


def ancestor_ids(region: Region):
    """A subquery of the ids of `region` and every region above it (from its path, one query)."""
    codes = [code for code in region.path.split("/") if code]
    return select(Region.id).where(Region.code.in_(codes)).scalar_subquery()


def contains(root: Region, region: Region) -> bool:
    """True when `region` is `root` or lies below it."""
    return region.path.startswith(root.path)


def path_for(code: str, parent: Region | None) -> str:
    return (parent.path if parent else "") + code + "/"
