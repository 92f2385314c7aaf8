"""The staff navigation bar, assembled from entries each page module registers."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavEntry:
    label: str
    endpoint: str
    roles: tuple[str, ...]
    order: int


_ENTRIES: list[NavEntry] = []


def register_nav(label: str, endpoint: str, roles: tuple[str, ...], order: int = 50) -> None:
    """Add a link to the staff nav bar, shown to the given roles."""
    if not any(e.endpoint == endpoint for e in _ENTRIES):
        _ENTRIES.append(NavEntry(label, endpoint, roles, order))


def entries_for(role: str) -> list[NavEntry]:
    return sorted((e for e in _ENTRIES if role in e.roles), key=lambda e: (e.order, e.label))
