"""Event types and inputs are stored as numbers: every type has its code, for good."""

from __future__ import annotations

import importlib
from typing import get_args

from app.core.criteria import EventType
from app.ingest.values import EVENT_TYPES
from app.store.incoming import EVENT_TYPE_CODES, EVENT_TYPES_BY_CODE


def test_every_event_type_a_criterion_or_an_importer_knows_has_one_code() -> None:
    assert set(EVENT_TYPE_CODES) == set(get_args(EventType)) == set(EVENT_TYPES)
    assert len(set(EVENT_TYPE_CODES.values())) == len(EVENT_TYPE_CODES)
    assert {EVENT_TYPES_BY_CODE[code] for code in EVENT_TYPE_CODES.values()} == set(EVENT_TYPES)


def test_the_codes_stored_databases_were_converted_with_never_change() -> None:
    migration = importlib.import_module("app.store.migrations.versions.0009_event_codes")
    assert {name: EVENT_TYPE_CODES[name] for name in migration.EVENT_TYPE_CODES} == (
        migration.EVENT_TYPE_CODES)
