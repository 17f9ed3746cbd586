"""AccountRepository: the one account of a database, its workspaces, inputs and connections."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core.errors import DataError
from app.core.models import Account, Connection, Input, Workspace
from app.store.repositories._support import assign, flush, json_value, validated
from app.store.schema import AccountRow, ConnectionRow, InputRow, WorkspaceRow


@dataclass(frozen=True)
class AccountData:
    """The account and what journeys are built from, each kind in its display order."""

    account: Account
    workspaces: tuple[Workspace, ...] = ()
    inputs: tuple[Input, ...] = ()
    connections: tuple[Connection, ...] = ()


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

    def save_account(self, account: Account) -> None:
        """Create the account, or update its name and limit."""
        rows = self._session.scalars(select(AccountRow)).all()
        others = [r for r in rows if r.id != account.id]
        if others:
            raise DataError(
                f"This database already belongs to the account “{others[0].name}”; "
                f"Journey Studio keeps one account per database."
            )
        values = {"name": account.name, "active_audience_limit": account.active_audience_limit}
        if rows:
            assign(rows[0], values)
        else:
            self._session.add(AccountRow(id=account.id, **values))
        flush(self._session, "the account")

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

    def save_connection(self, connection: Connection) -> None:
        """Create a connection or replace its name, partner and settings."""
        values = {
            "name": connection.name,
            "partner": connection.partner,
            "settings": dict(connection.settings),
        }
        row = self._session.get(ConnectionRow, connection.id)
        if row is None:
            account_id = self._account_id(f"connection “{connection.name}”")
            self._session.add(ConnectionRow(id=connection.id, account_id=account_id, **values))
        else:
            assign(row, values)
        flush(self._session, f"connection “{connection.name}”")

    def _account_id(self, what: str) -> str:
        account_id = self._session.scalars(select(AccountRow.id)).first()
        if account_id is None:
            raise DataError(f"The {what} can't be saved before the account is.")
        return account_id
