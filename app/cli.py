"""Registers every CLI command module in app/commands."""
from __future__ import annotations

import importlib
import pkgutil

from flask import Flask

import app.commands as package


def register(app: Flask) -> None:
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda i: i.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for command in getattr(module, "commands", []):
            app.cli.add_command(command)
