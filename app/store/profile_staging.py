"""Storing the profile rows a staged part brings (see app/store/staged_profiles.py).

The writer decides which records' profiles to store (new records whose profile
it has not stored for the user) and hands their numbers here with the user ids;
the rows move from the deserialized part into ``user_identities`` and
``user_attributes`` in a few ``INSERT … SELECT`` statements, without a Python
value per row. When a user has several such records in a part, each identity
and attribute takes its value from the latest of them, as if they had been
stored one after another.

A duplicate record's profile is not stored, but the parsing process does not
know which records are duplicates: it stages a profile once and later records
of the user with the same profile come without rows. So the rows of duplicate
records are kept aside in temporary tables (on the connection, outside the
events' memory budget), by external id and fingerprint, until a new record of
the user with that fingerprint needs them (:meth:`ProfileStaging.store_kept`).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection

from app.store.incoming import ATTRIBUTE_VALUE_FIELDS
from app.store.multirow import RowsInsert
from app.store.staged_profiles import ATTRIBUTES_TABLE, IDENTITIES_TABLE

_CHOSEN = "import_profile_records"
"""Temporary: (record number, user id) of the part's records whose profiles are stored."""
_KEPT = "import_kept_profiles"
"""Temporary: the (external id, fingerprint) of each user whose duplicate's rows are kept."""
_KEPT_IDENTITIES = "import_kept_identities"
_KEPT_ATTRIBUTES = "import_kept_attributes"
_DUPLICATES = "import_duplicate_profiles"
"""Temporary: (record number, external id, fingerprint) of a part's duplicates being kept."""

_VALUES = ", ".join(ATTRIBUTE_VALUE_FIELDS)
_SET_VALUES = ", ".join(f"{f} = excluded.{f}" for f in ATTRIBUTE_VALUE_FIELDS)
_UPSERT_ATTRIBUTE = f" ON CONFLICT (user_id, name) DO UPDATE SET {_SET_VALUES}"
_UPSERT_IDENTITY = " ON CONFLICT (user_id, identity_type) DO UPDATE SET value = excluded.value"


class ProfileStaging:
    """The temporary tables of one writer's connection and the statements that use them."""

    def __init__(self, connection: Connection, part_schema: str) -> None:
        self._connection = connection
        run = connection.exec_driver_sql
        for table, columns in (
            (_CHOSEN, "record_no INTEGER PRIMARY KEY, user_id INTEGER NOT NULL"),
            (_KEPT, "external_id TEXT PRIMARY KEY, fingerprint INTEGER NOT NULL"),
            (_KEPT_IDENTITIES, "external_id TEXT NOT NULL, identity_type, value"),
            (_KEPT_ATTRIBUTES, f"external_id TEXT NOT NULL, name, {_VALUES}"),
            (_DUPLICATES, "record_no INTEGER PRIMARY KEY, external_id TEXT NOT NULL, "
                          "fingerprint INTEGER NOT NULL"),
        ):
            run(f"CREATE TEMP TABLE IF NOT EXISTS {table} ({columns})")
            run(f"DELETE FROM temp.{table}")  # a pooled connection may have kept one
        for table in (_KEPT_IDENTITIES, _KEPT_ATTRIBUTES):
            run(f"CREATE INDEX IF NOT EXISTS temp.{table}_by_user ON {table} (external_id)")
        self.kept = 0
        """Users whose duplicate's profile is kept (0: nothing to look up)."""

        identities = (f"{part_schema}.{IDENTITIES_TABLE} AS i "
                      f"JOIN temp.{_CHOSEN} AS c ON c.record_no = i.record_no")
        attributes = (f"{part_schema}.{ATTRIBUTES_TABLE} AS a "
                      f"JOIN temp.{_CHOSEN} AS c ON c.record_no = a.record_no")
        values = ", ".join(f"a.{f}" for f in ATTRIBUTE_VALUE_FIELDS)
        # An attribute removed by any chosen record goes first; the latest value is
        # then inserted where the latest record sets one.
        self._remove = (f"DELETE FROM main.user_attributes WHERE (user_id, name) IN "
                        f"(SELECT c.user_id, a.name FROM {attributes} "
                        f"WHERE a.value_type IS NULL)")
        # One chosen record a user (the usual part): its rows as they are.
        self._store_one_each = (
            f"INSERT INTO main.user_identities (user_id, identity_type, value) "
            f"SELECT c.user_id, i.identity_type, i.value FROM {identities} WHERE true"
            + _UPSERT_IDENTITY,
            f"INSERT INTO main.user_attributes (user_id, name, {_VALUES}) "
            f"SELECT c.user_id, a.name, {values} FROM {attributes} "
            f"WHERE a.value_type IS NOT NULL" + _UPSERT_ATTRIBUTE,
        )
        # Several for some user: each identity and attribute from the latest record
        # (SQLite takes the other columns from the row holding the max()).
        latest_attributes = ("SELECT c.user_id AS user_id, a.name AS name, "
                             + ", ".join(f"a.{f} AS {f}" for f in ATTRIBUTE_VALUE_FIELDS)
                             + f", max(a.record_no) FROM {attributes} GROUP BY c.user_id, a.name")
        self._store_latest = (
            f"INSERT INTO main.user_identities (user_id, identity_type, value) "
            f"SELECT user_id, identity_type, value FROM (SELECT c.user_id AS user_id, "
            f"i.identity_type AS identity_type, i.value AS value, max(i.record_no) "
            f"FROM {identities} GROUP BY c.user_id, i.identity_type) WHERE true"
            + _UPSERT_IDENTITY,
            f"INSERT INTO main.user_attributes (user_id, name, {_VALUES}) "
            f"SELECT user_id, name, {_VALUES} FROM ({latest_attributes}) "
            f"WHERE value_type IS NOT NULL" + _UPSERT_ATTRIBUTE,
        )
        duplicates = f"SELECT external_id FROM temp.{_DUPLICATES}"
        self._keep = (
            *(f"DELETE FROM temp.{t} WHERE external_id IN ({duplicates})"
              for t in (_KEPT, _KEPT_IDENTITIES, _KEPT_ATTRIBUTES)),
            f"INSERT INTO temp.{_KEPT} SELECT external_id, fingerprint FROM temp.{_DUPLICATES}",
            f"INSERT INTO temp.{_KEPT_IDENTITIES} SELECT d.external_id, i.identity_type, i.value "
            f"FROM {part_schema}.{IDENTITIES_TABLE} AS i "
            f"JOIN temp.{_DUPLICATES} AS d ON d.record_no = i.record_no",
            f"INSERT INTO temp.{_KEPT_ATTRIBUTES} SELECT d.external_id, a.name, "
            + ", ".join(f"a.{f}" for f in ATTRIBUTE_VALUE_FIELDS)
            + f" FROM {part_schema}.{ATTRIBUTES_TABLE} AS a "
            f"JOIN temp.{_DUPLICATES} AS d ON d.record_no = a.record_no",
        )
        self._store_kept = (
            f"INSERT INTO main.user_identities (user_id, identity_type, value) "
            f"SELECT ?, identity_type, value FROM temp.{_KEPT_IDENTITIES} "
            f"WHERE external_id = ?" + _UPSERT_IDENTITY,
            f"DELETE FROM main.user_attributes WHERE user_id = ? AND name IN (SELECT name "
            f"FROM temp.{_KEPT_ATTRIBUTES} WHERE external_id = ? AND value_type IS NULL)",
            f"INSERT INTO main.user_attributes (user_id, name, {_VALUES}) "
            f"SELECT ?, name, {_VALUES} FROM temp.{_KEPT_ATTRIBUTES} "
            f"WHERE external_id = ? AND value_type IS NOT NULL" + _UPSERT_ATTRIBUTE,
        )
        self._insert_chosen = RowsInsert(f"temp.{_CHOSEN}", 2)

    def store(self, chosen: Sequence[tuple[int, int]]) -> None:
        """Store the staged profiles of ``chosen`` (record number, user id) records."""
        if not chosen:
            return
        run = self._connection.exec_driver_sql
        run(f"DELETE FROM temp.{_CHOSEN}")
        self._insert_chosen.run(run, chosen)
        run(self._remove)
        one_each = len({user_id for _number, user_id in chosen}) == len(chosen)
        for statement in self._store_one_each if one_each else self._store_latest:
            run(statement)

    def keep(self, duplicates: Sequence[tuple[int, str, int]]) -> None:
        """Keep the staged profiles of duplicate (record number, external id, fingerprint) records.

        One record per user (the latest): each replaces what was kept for its user.
        """
        if not duplicates:
            return
        run = self._connection.exec_driver_sql
        run(f"DELETE FROM temp.{_DUPLICATES}")
        run(f"INSERT INTO temp.{_DUPLICATES} VALUES (?, ?, ?)", list(duplicates))
        for statement in self._keep:
            run(statement)
        self.kept = self._connection.exec_driver_sql(
            f"SELECT count(*) FROM temp.{_KEPT}").scalar_one()

    def store_kept(self, user_id: int, external_id: str, fingerprint: int) -> bool:
        """Store the kept profile of ``external_id`` as ``user_id``'s if it has ``fingerprint``.

        Returns whether there was one to store.
        """
        if not self.kept:
            return False
        run = self._connection.exec_driver_sql
        found = run(f"SELECT 1 FROM temp.{_KEPT} WHERE external_id = ? AND fingerprint = ?",
                    (external_id, fingerprint)).first()
        if found is None:
            return False
        for statement in self._store_kept:
            run(statement, (user_id, external_id))
        return True

    def drop(self) -> None:
        for table in (_CHOSEN, _KEPT, _KEPT_IDENTITIES, _KEPT_ATTRIBUTES, _DUPLICATES):
            self._connection.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{table}")
