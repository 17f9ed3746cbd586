"""Package exports loaded on first use (PEP 562 module ``__getattr__``).

The packages' ``__init__`` modules name what they export for callers
(``from app.store import Database``) without importing it up front: the process
that parses a large import (app/ingest/parse_process.py) loads a few parser
modules of ``app.ingest`` and ``app.store`` and must not pay for SQLAlchemy, the
repositories and the domain model behind the rest.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any


def lazy_exports(package: str, where: Mapping[str, str | None]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: each name from the module ``where`` gives.

    A name mapped to None is a submodule of the package.
    """

    def __getattr__(name: str) -> Any:
        if name not in where:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = where[name]
        if module is None:
            return importlib.import_module(f"{package}.{name}")
        return getattr(importlib.import_module(module), name)

    return __getattr__
