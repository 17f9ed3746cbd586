"""Event types and inputs are stored as numbers: every type has its code, for good."""

from __future__ import annotations

import importlib

from app.core.vocabulary import EVENT_TYPES
from app.store.incoming import EVENT_TYPE_CODES, EVENT_TYPES_BY_CODE


def test_the_codes_stored_databases_were_converted_with_never_change() -> None:
    """The codes come from the order of the core's event types: reordering them (rather
    than adding a type at the end) would change what stored numbers mean."""
    migration = importlib.import_module("app.store.migrations.versions.0009_event_codes")
    assert {name: EVENT_TYPE_CODES[name] for name in migration.EVENT_TYPE_CODES} == (
        migration.EVENT_TYPE_CODES)


def test_every_code_reads_back_as_its_type() -> None:
    assert [EVENT_TYPES_BY_CODE[EVENT_TYPE_CODES[name]] for name in EVENT_TYPES] == list(
        EVENT_TYPES)
