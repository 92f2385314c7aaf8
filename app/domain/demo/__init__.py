"""Demo data for `flask seed-demo`: a fictional city with staff, retirees and something in every flow.

Modules: `seed`.
"""
from app.domain.demo.seed import fictional_retirees

__all__ = [
    "fictional_retirees",
]
