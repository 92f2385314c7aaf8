"""Retiree archives (一人一档): records with encrypted ID numbers and phones found through a keyed
hash, ID-number validation (GB 11643), categories, masked views, and the enterprise handover import.

Modules: `idcard`, `imports`, `records`.
"""
from app.domain.archives.idcard import InvalidIdNumber, check_digit, mask, parse
from app.domain.archives.imports import bulk_insert, clean_phone, import_retirees
from app.domain.archives.records import (
    create_retiree,
    find_by_id_number,
    full_id_number,
    get_for_staff,
    masked_profile,
    phone_number,
    reveal_id_number,
    search_retirees,
)

__all__ = [
    "InvalidIdNumber", "check_digit", "parse", "mask", "clean_phone", "import_retirees", "bulk_insert",
    "find_by_id_number", "create_retiree", "full_id_number", "phone_number", "masked_profile",
    "search_retirees", "get_for_staff", "reveal_id_number",
]
