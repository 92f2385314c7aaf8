"""The organisation: the region tree (province → community) and its subtree scoping, the region
import, and staff accounts with their region scope.

Modules: `region_import`, `regions`, `staff`.
"""
from app.domain.org.region_import import import_regions
from app.domain.org.regions import ancestor_ids, by_code, contains, path_for, region_ids_under, subtree_condition
from app.domain.org.staff import create_staff, ensure_in_scope

__all__ = [
    "import_regions", "by_code", "subtree_condition", "region_ids_under", "ancestor_ids", "contains",
    "path_for", "create_staff", "ensure_in_scope",
]
