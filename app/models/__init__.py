"""All models. Every module in this package is imported here, so Alembic and `db.create_all`
see every table without a hand-kept list (one module per area; add a file, nothing else)."""
import importlib
import pkgutil

from app.models.accounts import Account, ApiToken, Binding
from app.models.audit import AuditEntry
from app.models.org import Region, ServicePoint
from app.models.people import Retiree, RetireeCategory
from app.models.staff import Staff

for _info in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_info.name}")

__all__ = [
    "Account", "ApiToken", "AuditEntry", "Binding", "Region", "Retiree", "RetireeCategory",
    "ServicePoint", "Staff",
]
