"""Reliability fixtures: a fresh database per test, on SQLite always and on PostgreSQL when
a server is available (tests/conftest.py decides whether that variant skips or fails)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """A fresh, empty database URL, once per backend."""
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))
