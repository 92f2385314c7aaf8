"""Every setting, declared once (`config/core.py`, `wechat.py`, `messaging.py`, `services.py`), typed,
read from environment variables only. `load()` gives the app's config mapping; README's table is
generated from the declarations (`python -m config.readme --write`).
"""
from config.declare import Family, FamilyValues, Problem, Setting
from config.settings import (
    ENVIRONMENTS,
    FAMILIES,
    SETTINGS,
    Parsed,
    SettingsError,
    load,
    normalize_database_url,
    parse,
)

__all__ = ["ENVIRONMENTS", "FAMILIES", "SETTINGS", "Family", "FamilyValues", "Parsed", "Problem", "Setting",
           "SettingsError", "load", "normalize_database_url", "parse"]
