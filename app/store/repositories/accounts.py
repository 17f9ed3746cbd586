"""AccountRepository: the one account of a database, its workspaces, inputs and connections.

The account row is versioned like a journey: a change of its own fields names the
version it started from and is refused with a ConflictError when another window
or process changed the account since.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Table, delete, select, update
from sqlalchemy.orm import Session

from app.core.errors import ConflictError, DataError
from app.core.models import Account, Connection, Input, Workspace
from app.store.repositories._support import assign, flush, json_value, validated
from app.store.schema import (
    AccountRow,
    ConnectionRow,
    InputRow,
    JourneyInputRow,
    JourneyRow,
    MilestoneRow,
    OutputRow,
    WorkspaceRow,
)


@dataclass(frozen=True)
class AccountData:
    """The account and what journeys are built from, each kind in its display order."""

    account: Account
    workspaces: tuple[Workspace, ...] = ()
    inputs: tuple[Input, ...] = ()
    connections: tuple[Connection, ...] = ()
    version: int = 1
    """The account row's version: what a later change of the account must name."""


class AccountRepository:
    """The account, its workspaces and inputs, and its connections."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def load(self) -> AccountData | None:
        """The account with everything under it, or None for a brand-new database.

        Workspaces and inputs come in their saved positions (inputs grouped by
        workspace); connections, which have no position, by name.
        """
        rows = self._session.scalars(select(AccountRow)).all()
        if not rows:
            return None
        if len(rows) > 1:
            raise DataError(
                f"This database holds {len(rows)} accounts; Journey Studio keeps exactly one."
            )
        row = rows[0]
        workspace_rows = self._session.scalars(
            select(WorkspaceRow)
            .where(WorkspaceRow.account_id == row.id)
            .order_by(WorkspaceRow.position, WorkspaceRow.id)
        ).all()
        order = {w.id: index for index, w in enumerate(workspace_rows)}
        input_rows = sorted(
            self._session.scalars(
                select(InputRow).where(InputRow.workspace_id.in_(list(order)))
            ).all(),
            key=lambda i: (order[i.workspace_id], i.position, i.id),
        )
        connection_rows = sorted(
            self._session.scalars(
                select(ConnectionRow).where(ConnectionRow.account_id == row.id)
            ).all(),
            key=lambda c: (c.name.casefold(), c.id),
        )
        return AccountData(
            account=validated(
                Account,
                "account",
                id=row.id,
                name=row.name,
                active_audience_limit=row.active_audience_limit,
            ),
            version=row.version,
            workspaces=tuple(
                validated(Workspace, f"workspace “{w.name}”", id=w.id, name=w.name)
                for w in workspace_rows
            ),
            inputs=tuple(
                validated(
                    Input,
                    f"input “{i.name}”",
                    id=i.id,
                    workspace_id=i.workspace_id,
                    name=i.name,
                    kind=i.kind,
                    platform=i.platform,
                )
                for i in input_rows
            ),
            connections=tuple(
                validated(
                    Connection,
                    f"connection “{c.name}”",
                    id=c.id,
                    name=c.name,
                    partner=c.partner,
                    settings=json_value(c.settings, f"connection “{c.name}”"),
                    secret_ref=c.secret_ref,
                )
                for c in connection_rows
            ),
        )

    def create(self, data: AccountData) -> None:
        """Store a whole new account: the account, its workspaces, inputs and connections.

        Positions follow the order in ``data`` (inputs counted within their workspace).
        """
        self.save_account(data.account)
        for position, workspace in enumerate(data.workspaces):
            self.add_workspace(workspace, position)
        for workspace in data.workspaces:
            own = [i for i in data.inputs if i.workspace_id == workspace.id]
            for position, input_ in enumerate(own):
                self.add_input(input_, position)
        for connection in data.connections:
            self.save_connection(connection)

    def save_account(self, account: Account, expected_version: int | None = None) -> int:
        """Create the account, or update its name and limit; return its new version.

        With ``expected_version`` (the version the caller loaded), the update is an
        atomic compare-and-set and the first statement of the transaction (on SQLite
        that takes the write lock before anything is read); if the stored version moved
        on meanwhile, ConflictError and nothing is written. Without it, the account is
        created or overwritten (setting up a database).
        """
        if expected_version is not None:
            return self._compare_and_set(account, expected_version)
        rows = self._session.scalars(
            select(AccountRow).execution_options(populate_existing=True)
        ).all()
        others = [r for r in rows if r.id != account.id]
        if others:
            raise DataError(
                f"This database already belongs to the account “{others[0].name}”; "
                f"Journey Studio keeps one account per database."
            )
        values: dict[str, Any] = {
            "name": account.name,
            "active_audience_limit": account.active_audience_limit,
        }
        if rows:
            values["version"] = rows[0].version + 1
            assign(rows[0], values)
        else:
            values["version"] = 1
            self._session.add(AccountRow(id=account.id, **values))
        flush(self._session, "the account")
        return int(values["version"])

    def lock(self) -> None:
        """Hold the account until the transaction ends: other writers that lock it wait.

        An edit that checks a rule spanning the account (the active-audience limit)
        against what is stored locks first, so two such edits can't both read the old
        state and both pass. The statement is a write that changes nothing: on
        PostgreSQL it locks the row (as SELECT … FOR UPDATE would), on SQLite it takes
        the database's write lock before anything is read. The version is left alone:
        edits elsewhere in the account don't make a window's limit change stale.
        """
        self._session.execute(update(_table()).values(version=AccountRow.version))

    def stored_account(self) -> tuple[Account, int]:
        """The account as stored now, with its version (not the rows cached in the session)."""
        row = self._session.execute(
            select(
                AccountRow.id, AccountRow.name, AccountRow.active_audience_limit,
                AccountRow.version,
            )
        ).first()
        if row is None:
            raise DataError("This database has no account yet.")
        account = validated(
            Account, "account", id=row.id, name=row.name,
            active_audience_limit=row.active_audience_limit,
        )
        return account, row.version

    def _compare_and_set(self, account: Account, expected: int) -> int:
        """Move the account from ``expected`` to the next version, or raise ConflictError."""
        result = self._session.execute(
            update(_table())
            .where(AccountRow.id == account.id, AccountRow.version == expected)
            .values(
                name=account.name,
                active_audience_limit=account.active_audience_limit,
                version=expected + 1,
            )
        )
        if cast("CursorResult[Any]", result).rowcount == 1:
            return expected + 1
        limit = self._session.scalar(
            select(AccountRow.active_audience_limit).where(AccountRow.id == account.id)
        )
        if limit is None:
            raise DataError("The account can't be saved: this database holds another account.")
        raise ConflictError(
            f"The account settings were changed in another window or by someone else since "
            f"you opened them (the active-audience limit is now {limit}). Nothing was "
            f"overwritten; reload to see their changes."
        )

    def add_workspace(self, workspace: Workspace, position: int) -> None:
        """Add a workspace at ``position`` in the account's workspace list."""
        self._session.add(
            WorkspaceRow(
                id=workspace.id,
                account_id=self._account_id(f"workspace “{workspace.name}”"),
                name=workspace.name,
                position=position,
            )
        )
        flush(self._session, f"workspace “{workspace.name}”")

    def add_input(self, input_: Input, position: int) -> None:
        """Add an input at ``position`` among its workspace's inputs."""
        if self._session.get(WorkspaceRow, input_.workspace_id) is None:
            raise DataError(
                f"The input “{input_.name}” can't be saved: its workspace is not in this database."
            )
        self._session.add(
            InputRow(
                id=input_.id,
                workspace_id=input_.workspace_id,
                name=input_.name,
                kind=input_.kind,
                platform=input_.platform,
                position=position,
            )
        )
        flush(self._session, f"input “{input_.name}”")

    def save_workspace(self, workspace: Workspace, position: int) -> None:
        """Create a workspace or rename it, at ``position`` in the account's list."""
        row = self._session.get(WorkspaceRow, workspace.id)
        if row is None:
            self.add_workspace(workspace, position)
            return
        assign(row, {"name": workspace.name, "position": position})
        flush(self._session, f"workspace “{workspace.name}”")

    def save_input(self, input_: Input, position: int) -> None:
        """Create an input or rename it, at ``position`` among its workspace's inputs."""
        row = self._session.get(InputRow, input_.id)
        if row is None:
            self.add_input(input_, position)
            return
        assign(row, {"name": input_.name, "kind": input_.kind, "platform": input_.platform,
                     "position": position})
        flush(self._session, f"input “{input_.name}”")

    def place_workspaces(self, order: list[str]) -> None:
        """Give these workspaces the positions of their order (only rows that differ)."""
        rows = {r.id: r for r in self._session.scalars(
            select(WorkspaceRow).where(WorkspaceRow.id.in_(order)))}
        for position, workspace_id in enumerate(order):
            if workspace_id in rows:
                assign(rows[workspace_id], {"position": position})
        flush(self._session, "order of the workspaces")

    def place_inputs(self, order: list[str]) -> None:
        """Give these inputs (of one workspace) the positions of their order."""
        rows = {r.id: r for r in self._session.scalars(
            select(InputRow).where(InputRow.id.in_(order)))}
        for position, input_id in enumerate(order):
            if input_id in rows:
                assign(rows[input_id], {"position": position})
        flush(self._session, "order of the inputs")

    def workspace_names(self) -> dict[str, str]:
        """Every stored workspace's name by id (to ask the name rule of what is stored)."""
        rows = self._session.execute(select(WorkspaceRow.id, WorkspaceRow.name)).all()
        return {row.id: row.name for row in rows}

    def input_names(self) -> dict[str, tuple[str, str]]:
        """Every stored input's (workspace id, name) by id."""
        rows = self._session.execute(
            select(InputRow.id, InputRow.workspace_id, InputRow.name)).all()
        return {row.id: (row.workspace_id, row.name) for row in rows}

    def input_readers(self, input_id: str) -> list[str]:
        """The names of the stored journeys that read the input, by name."""
        rows = self._session.scalars(
            select(JourneyRow.name)
            .join(JourneyInputRow, JourneyInputRow.journey_id == JourneyRow.id)
            .where(JourneyInputRow.input_id == input_id)
        ).all()
        return sorted(rows, key=str.casefold)

    def event_counts(self, input_ids: list[str] | None = None) -> dict[str, int]:
        """How many events are stored per input (see :func:`event_numbers.event_counts`)."""
        from app.store.event_numbers import event_counts

        return event_counts(self._session.connection(), input_ids)

    def delete_input(self, input_id: str) -> None:
        """Delete an input no journey reads and no event came through (the caller checks).

        What only remembered the input goes with it: its event number, given when its
        first events were stored (none remain), and the batches imported through it
        (user attributes only), which would block the deletion otherwise.
        """
        from app.store.event_tables import ImportedBatchRow, InputNumberRow

        session = self._session
        session.execute(delete(ImportedBatchRow).where(ImportedBatchRow.input_id == input_id))
        session.execute(delete(InputNumberRow).where(InputNumberRow.input_id == input_id))
        session.execute(delete(InputRow).where(InputRow.id == input_id))

    def delete_workspace(self, workspace_id: str) -> None:
        """Delete a workspace without inputs (the caller checks)."""
        self._session.execute(delete(WorkspaceRow).where(WorkspaceRow.id == workspace_id))

    def save_connection(self, connection: Connection) -> None:
        """Create a connection or replace its name, partner and settings."""
        values = {
            "name": connection.name,
            "partner": connection.partner,
            "settings": dict(connection.settings),
            "secret_ref": connection.secret_ref,
        }
        row = self._session.get(ConnectionRow, connection.id)
        if row is None:
            account_id = self._account_id(f"connection “{connection.name}”")
            self._session.add(ConnectionRow(id=connection.id, account_id=account_id, **values))
        else:
            assign(row, values)
        flush(self._session, f"connection “{connection.name}”")

    def get_connection(self, connection_id: str) -> Connection | None:
        """One connection as stored now (not the row cached in the session), or None."""
        row = self._session.execute(
            select(ConnectionRow.id, ConnectionRow.name, ConnectionRow.partner,
                   ConnectionRow.settings, ConnectionRow.secret_ref)
            .where(ConnectionRow.id == connection_id)
        ).first()
        if row is None:
            return None
        return validated(
            Connection, f"connection “{row.name}”", id=row.id, name=row.name,
            partner=row.partner, settings=json_value(row.settings, f"connection “{row.name}”"),
            secret_ref=row.secret_ref,
        )

    def connection_names(self) -> dict[str, str]:
        """Every stored connection's name by id (to ask the name rule of what is stored)."""
        rows = self._session.execute(select(ConnectionRow.id, ConnectionRow.name)).all()
        return {row.id: row.name for row in rows}

    def connection_users(self, connection_id: str) -> list[tuple[str, str]]:
        """(audience name, journey name) of every stored output that uses the connection."""
        rows = self._session.execute(
            select(MilestoneRow.name, JourneyRow.name)
            .select_from(OutputRow)
            .join(MilestoneRow, MilestoneRow.id == OutputRow.milestone_id)
            .join(JourneyRow, JourneyRow.id == OutputRow.journey_id)
            .where(OutputRow.connection_id == connection_id)
            .order_by(JourneyRow.name, OutputRow.position, OutputRow.id)
        ).all()
        return [(audience, journey) for audience, journey in rows]

    def delete_connection(self, connection_id: str) -> None:
        """Delete a connection (its outputs are gone: the caller checks first)."""
        self._session.execute(delete(ConnectionRow).where(ConnectionRow.id == connection_id))

    def _account_id(self, what: str) -> str:
        account_id = self._session.scalars(select(AccountRow.id)).first()
        if account_id is None:
            raise DataError(f"The {what} can't be saved before the account is.")
        return account_id


def _table() -> Table:
    """The Core table of the account: the version guard bypasses the ORM."""
    return cast(Table, AccountRow.__table__)
