"""User profiles staged in a part's database by the parsing process, once per change.

mParticle repeats a user's whole profile (identities and attributes) in every
batch. Handing each record's profile to the writer cost the import twice: the
profile's JSON crossed the process boundary with every record, and the writer
thread (what limits an import) bound every changed profile's rows into SQLite,
one value at a time. So the parsing process (app/store/staged_events.py) puts
the rows of a profile into the part's database only when the profile of that
user differs from the one it staged last, and records carry just the
fingerprint. The writer moves staged rows into ``user_identities`` and
``user_attributes`` with an ``INSERT … SELECT`` (app/store/profile_staging.py).

What this needs of the writer, which alone knows which records are duplicates:
a record without staged rows has the fingerprint of the last record of its user
that had them (in file order). If that record was stored, so was its profile;
if it was a duplicate, the writer kept its rows aside and stores them with the
first new record of the user that needs them.

Records without a fingerprint (formats that do not repeat profiles) have their
profile staged every time they carry one. This module imports nothing heavy: a
parsing process loads it without SQLAlchemy.
"""

from __future__ import annotations

import sqlite3
from operator import itemgetter
from typing import Any

from app.store.incoming import ATTRIBUTE_VALUE_FIELDS, IncomingRecord
from app.store.last_values import LastValues
from app.store.multirow import RowsInsert

IDENTITIES_TABLE = "part_identities"
ATTRIBUTES_TABLE = "part_attributes"
IDENTITY_COLUMNS = ("record_no", "identity_type", "value")
ATTRIBUTE_COLUMNS = ("record_no", "name", *ATTRIBUTE_VALUE_FIELDS)
"""A staged attribute; ``value_type`` NULL removes the attribute (as a None row does)."""

#: Users whose last staged fingerprint is remembered; past it the memory starts
#: over (a forgotten user's next profile is staged again: correct, only slower).
#: As mparticle.PROFILE_CACHE_LIMIT: the parsing process holds it all along.
STAGED_PROFILE_LIMIT = 100_000

_values = itemgetter(*ATTRIBUTE_VALUE_FIELDS)
_REMOVED = (None,) * len(ATTRIBUTE_VALUE_FIELDS)


class ProfileRows:
    """The profile rows of one part, and the memory of what earlier parts staged."""

    def __init__(self, database: sqlite3.Connection) -> None:
        self._db = database
        self._staged = LastValues(STAGED_PROFILE_LIMIT)
        self._identities: list[tuple[Any, ...]] = []
        self._attributes: list[tuple[Any, ...]] = []
        for table, columns in ((IDENTITIES_TABLE, IDENTITY_COLUMNS),
                               (ATTRIBUTES_TABLE, ATTRIBUTE_COLUMNS)):
            database.execute(f"CREATE TABLE {table} ({', '.join(columns)})")
        self._inserts = [RowsInsert(table, len(columns))
                         for table, columns in ((IDENTITIES_TABLE, IDENTITY_COLUMNS),
                                                (ATTRIBUTES_TABLE, ATTRIBUTE_COLUMNS))]

    def take(self, number: int, record: IncomingRecord) -> bool:
        """Stage ``record``'s profile as record ``number`` if it must be; True if it was."""
        fingerprint = record.profile
        if fingerprint is not None:
            if not self._staged.changed(record.user.external_id, fingerprint):
                return False
        elif not record.identities and not record.attributes:
            return False
        self._identities.extend([(number, kind, value)
                                 for kind, value in record.identities.items()])
        self._attributes.extend([
            (number, name, *(_REMOVED if row is None else _values(row)))
            for name, row in record.attributes.items()])
        return True

    def forget(self, records: list[IncomingRecord]) -> None:
        """These records' profiles go to the writer in full (their part is not staged).

        The writer may find them duplicates and skip their profiles, so the next
        staged record of each of their users must bring its profile again.
        """
        for record in records:
            self._staged.forget(record.user.external_id)

    def write(self) -> None:
        """Replace the part's profile tables with the rows taken since the last call."""
        for insert, table, rows in zip(self._inserts, (IDENTITIES_TABLE, ATTRIBUTES_TABLE),
                                       (self._identities, self._attributes), strict=True):
            self._db.execute(f"DELETE FROM {table}")
            insert.run(self._db.executemany, rows)
        self._identities, self._attributes = [], []
