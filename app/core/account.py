"""AccountState: an account's workspaces, inputs, connections and journeys in memory.

The active-audience limit spans all journeys of the account, so the account is
the :class:`~app.core.graph.AccountContext` every journey graph asks before an
edit activates audiences. Journey-level rules that involve other journeys
(unique journey names, deleting only empty journeys) live here too.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

from app.core import errors
from app.core.events import AccountChanged, EventSource, JourneyAdded, JourneyRemoved
from app.core.graph import JourneyGraph, clean_name, reason
from app.core.models import (
    Account,
    Connection,
    Input,
    InputKind,
    Journey,
    JourneyDocument,
    Output,
    Workspace,
)
from app.core.partners import check_secret_ref, checked_settings
from app.core.vocabulary import PLATFORM_LENGTH, PLATFORM_SPELLINGS

NO_INPUTS_MESSAGE = (
    "Pick at least one input: a journey's population is everyone with an event through "
    "its inputs."
)
"""Why a journey can't read no input at all (the New journey dialog says the same)."""

NAMES_SHOWN = 8
"""How many names a refusal lists before it says how many more there are."""


def journey_name_key(name: str) -> str:
    """What no two journeys of an account may share: the name with spaces collapsed and
    capitals ignored (Unicode case folding, so “Straße” and “STRASSE” clash too).

    The store keeps this key under a unique index, so the rule also holds between
    windows and processes that each checked it only against their own copy.
    """
    return " ".join(name.split()).casefold()


def connection_in_use_message(name: str, users: Sequence[tuple[str, str]]) -> str:
    """Why ``name`` can't be removed: the outputs using it, as (audience, journey) names."""
    count = len(users)
    shown = ", ".join(f"“{audience}” in {journey}" for audience, journey in users[:5])
    more = f" and {count - 5} more" if count > 5 else ""
    noun = "output" if count == 1 else "outputs"
    return (
        f"“{name}” can't be removed: it is used by {count} {noun}: {shown}{more}. "
        f"Remove {'that output' if count == 1 else 'those outputs'} first."
    )


def quoted_names(names: Sequence[str], limit: int = NAMES_SHOWN) -> str:
    """``“A”, “B” and “C”``; past ``limit`` names, ``“A”, “B” and 7 more``."""
    shown = [f"“{name}”" for name in names[:limit]]
    if len(names) > limit:
        return f"{', '.join(shown)} and {len(names) - limit} more"
    if len(shown) <= 1:
        return "".join(shown)
    return f"{', '.join(shown[:-1])} and {shown[-1]}"


def audiences_by_journey(audiences: Sequence[tuple[str, str]]) -> str:
    """(audience, journey) pairs as ``“A” and “B” in Onboarding; “C” in Win-back``."""
    grouped: dict[str, list[str]] = {}
    for audience, journey in audiences:
        grouped.setdefault(journey, []).append(audience)
    parts = []
    shown = 0
    for journey, names in grouped.items():
        if shown >= NAMES_SHOWN:
            break
        room = NAMES_SHOWN - shown
        parts.append(f"{quoted_names(names[:room], room)} in {journey}")
        shown += min(len(names), room)
    more = len(audiences) - shown
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def limit_below_active_message(active: Sequence[tuple[str, str]]) -> str:
    """Why the limit can't go below the active count: which audiences are active."""
    count = len(active)
    are = "audience is" if count == 1 else "audiences are"
    return (
        f"{count} {are} active now, so the limit can't go below {count}: "
        f"{audiences_by_journey(active)}. Deactivate outputs first."
    )


def workspace_not_empty_message(name: str, inputs: Sequence[str]) -> str:
    """Why the workspace ``name`` can't be removed: the inputs it still has."""
    if len(inputs) == 1:
        return (f"The workspace “{name}” can't be removed: it still has the input "
                f"“{inputs[0]}”. Remove the input first.")
    return (f"The workspace “{name}” can't be removed: it still has {len(inputs)} inputs "
            f"({quoted_names(inputs)}). Remove its inputs first.")


def input_in_use_message(label: str, readers: Sequence[str], events: int) -> str:
    """Why the input ``label`` (``Workspace/Input``) can't be removed.

    ``readers`` are the names of the journeys that read it, ``events`` how many events
    are stored for it. Stored events are never deleted, so an input that received some
    stays for good: the message says so rather than suggest something that can't work.
    """
    reasons = []
    if events:
        reasons.append(f"{events:,} event{'s have' if events != 1 else ' has'} arrived "
                       f"through it")
    if readers:
        reads = "reads" if len(readers) == 1 else "read"
        noun = "journey" if len(readers) == 1 else "journeys"
        reasons.append(f"the {noun} {quoted_names(readers)} {reads} it")
    if events:
        advice = ("Stored events are kept, so an input that has received events stays; "
                  "rename it if it is no longer used.")
    else:
        whose = "that journey's" if len(readers) == 1 else "those journeys'"
        advice = f"Take it out of {whose} inputs first."
    return f"The input “{label}” can't be removed: {' and '.join(reasons)}. {advice}"


class AccountState(EventSource):
    """Everything of one account that journeys are built from, plus the journeys."""

    def __init__(
        self,
        account: Account,
        workspaces: Iterable[Workspace] = (),
        inputs: Iterable[Input] = (),
        connections: Iterable[Connection] = (),
    ) -> None:
        super().__init__()
        self._account = account
        self.workspaces: dict[str, Workspace] = {w.id: w for w in workspaces}
        self.inputs: dict[str, Input] = {i.id: i for i in inputs}
        self.connections: dict[str, Connection] = {c.id: c for c in connections}
        self._journeys: dict[str, JourneyGraph] = {}
        self._event_counts: dict[str, int] = {}

    # ------------------------------------------------------------------ account

    @property
    def account(self) -> Account:
        return self._account

    @property
    def limit(self) -> int:
        return self._account.active_audience_limit

    def check_set_limit(self, limit: int) -> None:
        """The limit is never negative nor below the audiences active now (named)."""
        if limit < 0:
            raise errors.InvalidSettingError("The active-audience limit can't be negative.")
        if limit < self.active_audience_count():
            active = [(name, graph.name) for graph in self._journeys.values()
                      for name in graph.names_of(graph.active_milestone_ids())]
            raise errors.LimitBelowActiveError(limit_below_active_message(active), active)

    def can_set_limit(self, limit: int) -> str | None:
        return reason(lambda: self.check_set_limit(limit))

    def set_limit(self, limit: int) -> None:
        self.check_set_limit(limit)
        self._account = self._account.model_copy(update={"active_audience_limit": limit})
        self.emit(AccountChanged(""))

    def replace_account(self, account: Account) -> None:
        self.check_set_limit(account.active_audience_limit)
        self._account = account
        self.emit(AccountChanged(""))

    # ------------------------------------------------------------------ connections

    def connection(self, connection_id: str) -> Connection:
        try:
            return self.connections[connection_id]
        except KeyError:
            raise errors.NotFoundError(
                "That connection is no longer in this account."
            ) from None

    def connection_by_name(self, name: str) -> Connection:
        """The connection called ``name`` (spaces and capitals ignored), or its id."""
        if name in self.connections:
            return self.connections[name]
        wanted = journey_name_key(name)
        for connection in self.connections.values():
            if journey_name_key(connection.name) == wanted:
                return connection
        raise errors.NotFoundError(f"There is no connection called “{name}”.")

    def checked_connection(
        self,
        connection_id: str,
        name: str,
        partner: str,
        settings: Mapping[str, Any],
        secret_ref: str,
    ) -> Connection:
        """The connection these values make, cleaned, or the first refusal naming the field.

        The name is trimmed and unique among the account's connections (capitals
        and spaces ignored); settings are checked by the partner's model and
        stored with its defaults filled in; the secret is only a reference.
        """
        cleaned = clean_name(name, "connection")
        key = journey_name_key(cleaned)
        for other in self.connections.values():
            if other.id != connection_id and journey_name_key(other.name) == key:
                raise errors.DuplicateNameError(
                    f"There is already a connection called “{other.name}”."
                )
        checked = checked_settings(partner, dict(settings))
        ref = check_secret_ref(partner, secret_ref)
        return Connection(
            id=connection_id, name=cleaned, partner=partner,  # type: ignore[arg-type]
            settings=checked.model_dump(mode="json"), secret_ref=ref,
        )

    def can_add_connection(
        self, name: str, partner: str, settings: Mapping[str, Any], secret_ref: str = ""
    ) -> str | None:
        return reason(lambda: self.checked_connection(
            "new connection", name, partner, settings, secret_ref))

    def can_edit_connection(
        self, connection_id: str, name: str, settings: Mapping[str, Any], secret_ref: str
    ) -> str | None:
        return reason(lambda: self.checked_connection(
            connection_id, name, self.connection(connection_id).partner, settings, secret_ref))

    def add_connection(self, connection: Connection, index: int | None = None, *,
                       restore: bool = False) -> Connection:
        """Add a connection (checked); an undone removal comes back at ``index``.

        ``restore`` puts back a record as it was (an undo): it is not checked again,
        so a connection saved before a rule existed (a demo connection without its
        token) can be removed and brought back.
        """
        if connection.id in self.connections:
            raise errors.DuplicateNameError("This connection is already in the account.")
        checked = connection if restore else self.checked_connection(
            connection.id, connection.name, connection.partner, connection.settings,
            connection.secret_ref)
        items = list(self.connections.items())
        position = len(items) if index is None else max(0, min(index, len(items)))
        items.insert(position, (checked.id, checked))
        self.connections = dict(items)
        self.emit(AccountChanged(""))
        return checked

    def replace_connection(self, connection: Connection, *, restore: bool = False) -> Connection:
        """Put an edited connection (same id, same partner) in place of the stored one;
        ``restore``: an earlier version of it, as it was (an undo)."""
        current = self.connection(connection.id)
        checked = connection if restore else self.checked_connection(
            connection.id, connection.name, current.partner, connection.settings,
            connection.secret_ref)
        self.connections[checked.id] = checked
        self.emit(AccountChanged(""))
        return checked

    def connection_users(self, connection_id: str) -> list[tuple[JourneyGraph, Output]]:
        """The outputs that forward to this connection, journey by journey."""
        return [
            (graph, output)
            for graph in self._journeys.values()
            for output in graph.outputs()
            if output.connection_id == connection_id
        ]

    def check_remove_connection(self, connection_id: str) -> None:
        connection = self.connection(connection_id)
        users = self.connection_users(connection_id)
        if users:
            raise errors.ConnectionInUseError(connection_in_use_message(
                connection.name,
                [(graph.milestone(o.milestone_id).name, graph.name) for graph, o in users],
            ))

    def can_remove_connection(self, connection_id: str) -> str | None:
        return reason(lambda: self.check_remove_connection(connection_id))

    def remove_connection(self, connection_id: str) -> tuple[Connection, int]:
        """Remove an unused connection; returns it and its place (for undo)."""
        self.check_remove_connection(connection_id)
        index = list(self.connections).index(connection_id)
        removed = self.connections.pop(connection_id)
        self.emit(AccountChanged(""))
        return removed, index

    # ------------------------------------------------------------------ workspaces

    def workspace(self, workspace_id: str) -> Workspace:
        try:
            return self.workspaces[workspace_id]
        except KeyError:
            raise errors.NotFoundError("That workspace is no longer in this account.") from None

    def workspace_by_name(self, name: str) -> Workspace:
        """The workspace called ``name`` (spaces and capitals ignored), or its id."""
        if name in self.workspaces:
            return self.workspaces[name]
        wanted = journey_name_key(name)
        for workspace in self.workspaces.values():
            if journey_name_key(workspace.name) == wanted:
                return workspace
        known = quoted_names([w.name for w in self.workspaces.values()]) or "none yet"
        raise errors.NotFoundError(
            f"There is no workspace called “{name}”. Workspaces: {known}."
        )

    def checked_workspace(self, workspace: Workspace) -> Workspace:
        """The workspace with its name cleaned, or the refusal: names are unique in the
        account (capitals and spaces ignored, as journey names)."""
        cleaned = clean_name(workspace.name, "workspace")
        key = journey_name_key(cleaned)
        for other in self.workspaces.values():
            if other.id != workspace.id and journey_name_key(other.name) == key:
                raise errors.DuplicateNameError(
                    f"There is already a workspace called “{other.name}”."
                )
        return workspace.model_copy(update={"name": cleaned})

    def check_add_workspace(self, workspace: Workspace) -> None:
        if workspace.id in self.workspaces:
            raise errors.DuplicateNameError("This workspace is already in the account.")
        self.checked_workspace(workspace)

    def can_add_workspace(self, name: str) -> str | None:
        return reason(lambda: self.check_add_workspace(Workspace(id="new workspace", name="-")
                                                       .model_copy(update={"name": name})))

    def add_workspace(self, workspace: Workspace, index: int | None = None) -> Workspace:
        """Add a workspace (checked) at the end, or back at ``index`` (an undone removal)."""
        self.check_add_workspace(workspace)
        checked = self.checked_workspace(workspace)
        items = list(self.workspaces.items())
        position = len(items) if index is None else max(0, min(index, len(items)))
        items.insert(position, (checked.id, checked))
        self.workspaces = dict(items)
        self.emit(AccountChanged(""))
        return checked

    def check_rename_workspace(self, workspace_id: str, name: str) -> None:
        workspace = self.workspace(workspace_id)
        self.checked_workspace(workspace.model_copy(update={"name": name}))

    def can_rename_workspace(self, workspace_id: str, name: str) -> str | None:
        return reason(lambda: self.check_rename_workspace(workspace_id, name))

    def rename_workspace(self, workspace_id: str, name: str) -> Workspace:
        """Rename a workspace; returns it as it was (for undo)."""
        old = self.workspace(workspace_id)
        self.workspaces[workspace_id] = self.checked_workspace(
            old.model_copy(update={"name": name}))
        self.emit(AccountChanged(""))
        return old

    def check_remove_workspace(self, workspace_id: str) -> None:
        workspace = self.workspace(workspace_id)
        inputs = self.inputs_of(workspace_id)
        if inputs:
            raise errors.WorkspaceNotEmptyError(
                workspace_not_empty_message(workspace.name, [i.name for i in inputs]))

    def can_remove_workspace(self, workspace_id: str) -> str | None:
        return reason(lambda: self.check_remove_workspace(workspace_id))

    def remove_workspace(self, workspace_id: str) -> tuple[Workspace, int]:
        """Remove an empty workspace; returns it and its place (for undo)."""
        self.check_remove_workspace(workspace_id)
        index = list(self.workspaces).index(workspace_id)
        removed = self.workspaces.pop(workspace_id)
        self.emit(AccountChanged(""))
        return removed, index

    # ------------------------------------------------------------------ inputs

    def inputs_of(self, workspace_id: str) -> list[Input]:
        return [i for i in self.inputs.values() if i.workspace_id == workspace_id]

    def input(self, input_id: str) -> Input:
        try:
            return self.inputs[input_id]
        except KeyError:
            raise errors.NotFoundError("That input is no longer in this account.") from None

    def input_label(self, input_id: str) -> str:
        """``Workspace/Input``: how an input is named outside its workspace."""
        input_ = self.input(input_id)
        workspace = self.workspaces.get(input_.workspace_id)
        return f"{workspace.name}/{input_.name}" if workspace else input_.name

    def input_by_name(self, workspace_id: str, name: str) -> Input:
        """The input of the workspace called ``name`` (spaces and capitals ignored)."""
        workspace = self.workspace(workspace_id)
        wanted = journey_name_key(name)
        for input_ in self.inputs_of(workspace_id):
            if journey_name_key(input_.name) == wanted:
                return input_
        known = quoted_names([i.name for i in self.inputs_of(workspace_id)]) or "none yet"
        raise errors.NotFoundError(
            f"“{workspace.name}” has no input called “{name}”. Its inputs: {known}."
        )

    def checked_input(self, input_: Input) -> Input:
        """The input cleaned, or the first refusal.

        Its workspace exists; its name is unique within the workspace (capitals and
        spaces ignored; two workspaces may both have a “Web”); a platform feed names
        its platform (known ones spelled the one way events store them: ``ios`` is
        iOS), a partner feed has none.
        """
        workspace = self.workspace(input_.workspace_id)
        cleaned = clean_name(input_.name, "input")
        key = journey_name_key(cleaned)
        for other in self.inputs_of(workspace.id):
            if other.id != input_.id and journey_name_key(other.name) == key:
                raise errors.DuplicateNameError(
                    f"“{workspace.name}” already has an input called “{other.name}”."
                )
        return input_.model_copy(update={
            "name": cleaned, "platform": _checked_platform(input_.kind, input_.platform)})

    def check_add_input(self, input_: Input) -> None:
        if input_.id in self.inputs:
            raise errors.DuplicateNameError("This input is already in the account.")
        self.checked_input(input_)

    def can_add_input(self, workspace_id: str, name: str, platform: str | None,
                      kind: InputKind = "platform") -> str | None:
        return reason(lambda: self.check_add_input(Input(
            id="new input", workspace_id=workspace_id, name="-", kind=kind,
        ).model_copy(update={"name": name, "platform": platform})))

    def add_input(self, input_: Input, index: int | None = None) -> Input:
        """Add an input (checked) after its workspace's inputs, or back at ``index``
        among them (an undone removal)."""
        self.check_add_input(input_)
        checked = self.checked_input(input_)
        self._place_input(checked, index)
        self.emit(AccountChanged(""))
        return checked

    def check_rename_input(self, input_id: str, name: str) -> None:
        self.checked_input(self.input(input_id).model_copy(update={"name": name}))

    def can_rename_input(self, input_id: str, name: str) -> str | None:
        return reason(lambda: self.check_rename_input(input_id, name))

    def rename_input(self, input_id: str, name: str) -> Input:
        """Rename an input; returns it as it was (for undo)."""
        old = self.input(input_id)
        self.inputs[input_id] = self.checked_input(old.model_copy(update={"name": name}))
        self.emit(AccountChanged(""))
        return old

    def input_readers(self, input_id: str) -> list[JourneyGraph]:
        """The journeys that read the input, by name."""
        return sorted((g for g in self._journeys.values() if input_id in g.journey.input_ids),
                      key=lambda g: g.name.casefold())

    def set_event_counts(self, counts: Mapping[str, int]) -> None:
        """How many events are stored per input, as the application service last read them.

        Core has no database: the store counts, and asks again inside the transaction
        that would remove an input, whatever was imported since.
        """
        self._event_counts = {k: v for k, v in counts.items() if v}

    def event_count(self, input_id: str) -> int:
        return self._event_counts.get(input_id, 0)

    def check_remove_input(self, input_id: str) -> None:
        self.input(input_id)
        readers = [g.name for g in self.input_readers(input_id)]
        events = self.event_count(input_id)
        if readers or events:
            raise errors.InputInUseError(
                input_in_use_message(self.input_label(input_id), readers, events))

    def can_remove_input(self, input_id: str) -> str | None:
        return reason(lambda: self.check_remove_input(input_id))

    def remove_input(self, input_id: str) -> tuple[Input, int]:
        """Remove an unused input; returns it and its place in its workspace (for undo)."""
        self.check_remove_input(input_id)
        removed = self.inputs[input_id]
        index = [i.id for i in self.inputs_of(removed.workspace_id)].index(input_id)
        del self.inputs[input_id]
        self.emit(AccountChanged(""))
        return removed, index

    def _place_input(self, input_: Input, index: int | None) -> None:
        """Put ``input_`` among its workspace's inputs, keeping inputs grouped by workspace
        in workspace order: the order the store hands them back in."""
        own = [i for i in self.inputs_of(input_.workspace_id) if i.id != input_.id]
        position = len(own) if index is None else max(0, min(index, len(own)))
        own.insert(position, input_)
        ordered = [i for w in self.workspaces
                   for i in (own if w == input_.workspace_id else self.inputs_of(w))]
        ordered += [i for i in self.inputs.values() if i.workspace_id not in self.workspaces]
        self.inputs = {i.id: i for i in ordered}

    def setup(self) -> tuple[tuple[Workspace, ...], tuple[Input, ...]]:
        """The workspaces and inputs in their order, as comparable values (tests compare
        these with what a reload reads, beside :meth:`snapshot`)."""
        return tuple(self.workspaces.values()), tuple(self.inputs.values())

    # ------------------------------------------------------------------ the limit

    def active_audience_count(self) -> int:
        return sum(len(g.active_milestone_ids()) for g in self._journeys.values())

    def active_audiences(self) -> list[tuple[JourneyGraph, str]]:
        """(journey, milestone id) of every active audience, journey by journey."""
        return [
            (graph, mid)
            for graph in self._journeys.values()
            for mid in sorted(graph.active_milestone_ids())
        ]

    def check_activation(self, graph: JourneyGraph, active_after: frozenset[str]) -> None:
        newly = active_after - graph.active_milestone_ids()
        others = sum(
            len(g.active_milestone_ids()) for g in self._journeys.values() if g.id != graph.id
        )
        count_after = others + len(active_after)
        if newly and count_after > self.limit:
            raise errors.ActiveAudienceLimitError(graph.names_of(newly), count_after, self.limit)

    def has_connection(self, connection_id: str) -> bool:
        return connection_id in self.connections

    def connection_name(self, connection_id: str) -> str:
        connection = self.connections.get(connection_id)
        return connection.name if connection else "that connection"

    def milestone_name(self, milestone_id: str) -> str | None:
        for graph in self._journeys.values():
            if graph.has_milestone(milestone_id):
                return graph.milestone(milestone_id).name
        return None

    # ------------------------------------------------------------------ journeys

    def journeys(self) -> Iterator[JourneyGraph]:
        """The journeys in the order they were loaded (by name) or added this session."""
        return iter(list(self._journeys.values()))

    def journey(self, journey_id: str) -> JourneyGraph:
        try:
            return self._journeys[journey_id]
        except KeyError:
            raise errors.NotFoundError("That journey is no longer in this account.") from None

    def has_journey(self, journey_id: str) -> bool:
        return journey_id in self._journeys

    def journey_by_name(self, name: str) -> JourneyGraph:
        wanted = journey_name_key(name)
        for graph in self._journeys.values():
            if journey_name_key(graph.name) == wanted:
                return graph
        raise errors.NotFoundError(f"There is no journey called “{name}”.")

    def check_journey(self, journey: Journey) -> None:
        """Name and inputs rules for a journey record being created or replaced."""
        cleaned = journey_name_key(clean_name(journey.name, "journey"))
        for other in self._journeys.values():
            if other.id != journey.id and journey_name_key(other.name) == cleaned:
                raise errors.DuplicateNameError(
                    f"There is already a journey called “{other.name}”."
                )
        unknown = [i for i in journey.input_ids if i not in self.inputs]
        if unknown:
            raise errors.UnknownReferenceError(
                f"{len(unknown)} of the selected inputs are not in this account (any more)."
            )

    def _built(self, document: JourneyDocument) -> JourneyGraph:
        """The document rebuilt edit by edit, so a whole journey obeys every rule an edit does.

        The graph is not in the account yet, so the limit check counts all the
        other journeys plus what this one would activate.
        """
        if document.journey.id in self._journeys:
            raise errors.DuplicateNameError("This journey is already in the account.")
        self.check_journey(document.journey)
        taken = {
            node
            for other in self._journeys.values()
            for node in (
                *(m.id for m in other.milestones_in_order()),
                *(o.id for o in other.outputs()),
            )
        }
        clash = next(
            (n for n in (*document.milestones, *document.outputs) if n.id in taken), None
        )
        if clash is not None:
            raise errors.DuplicateNameError(
                "Part of this journey has the same id as a node in another journey; "
                "give the copy new ids."
            )
        journey = document.journey.model_copy(
            update={"name": clean_name(document.journey.name, "journey")}
        )
        graph = JourneyGraph(journey, self)
        graph.add_milestones(document.milestones)
        # Outputs go in inactive first so the limit is checked once, for the whole journey,
        # and a refusal names every audience it would activate.
        for output in document.outputs:
            graph.add_output(output.model_copy(update={"active": False}))
        would_be_active = frozenset(
            m.id
            for o in document.outputs
            if o.active
            for m in graph.path_to(o.milestone_id)
        )
        self.check_activation(graph, would_be_active)
        for output in document.outputs:
            if output.active:
                graph.set_output_active(output.id, True)
        return graph

    def check_add_journey(self, document: JourneyDocument) -> None:
        self._built(document)

    def can_add_journey(self, document: JourneyDocument) -> str | None:
        return reason(lambda: self.check_add_journey(document))

    def add_journey(self, document: JourneyDocument, index: int | None = None) -> JourneyGraph:
        """Create a journey (empty, or whole: a duplicate, an import, an undone deletion)."""
        graph = self._built(document)
        self._place(graph, index)
        self.emit(JourneyAdded(graph.id))
        return graph

    def load_journey(self, document: JourneyDocument) -> JourneyGraph:
        """Attach a saved journey as it is (no limit check: it is already stored)."""
        graph = JourneyGraph.from_document(document, self)
        self._journeys[graph.id] = graph
        return graph

    def check_remove_journey(self, journey_id: str) -> None:
        graph = self.journey(journey_id)
        if graph.milestone_count:
            raise errors.JourneyNotEmptyError(
                f"“{graph.name}” still has {graph.milestone_count} "
                f"milestone{'s' if graph.milestone_count != 1 else ''}. A journey can be "
                f"deleted once it is empty: remove its outputs, then its milestones, last "
                f"to first."
            )

    def can_remove_journey(self, journey_id: str) -> str | None:
        return reason(lambda: self.check_remove_journey(journey_id))

    def remove_journey(self, journey_id: str) -> tuple[JourneyDocument, int]:
        self.check_remove_journey(journey_id)
        index = list(self._journeys).index(journey_id)
        graph = self._journeys.pop(journey_id)
        self.emit(JourneyRemoved(journey_id))
        return graph.document(), index

    def check_set_journey_inputs(self, journey_id: str, input_ids: Sequence[str]) -> None:
        """A journey reads at least one input, and only inputs of this account."""
        graph = self.journey(journey_id)
        if not input_ids:
            raise errors.NoInputsError(NO_INPUTS_MESSAGE)
        self.check_journey(graph.journey.model_copy(
            update={"input_ids": tuple(dict.fromkeys(input_ids))}))

    def can_set_journey_inputs(self, journey_id: str, input_ids: Sequence[str]) -> str | None:
        return reason(lambda: self.check_set_journey_inputs(journey_id, input_ids))

    def set_journey_inputs(self, journey_id: str, input_ids: Sequence[str], *,
                           restore: bool = False) -> tuple[str, ...]:
        """Change which inputs the journey reads; returns those it read (for undo).

        Its audiences then hold other people: the journey emits JourneyChanged, on
        which windows evaluate it again. ``restore`` puts back inputs as they were (an
        undo): they must still be in the account, but may be none, as a journey
        created before it had inputs reads none.
        """
        graph = self.journey(journey_id)
        if restore:
            self.check_journey(graph.journey.model_copy(update={"input_ids": tuple(input_ids)}))
        else:
            self.check_set_journey_inputs(journey_id, input_ids)
        old = graph.journey.input_ids
        graph.replace_journey(graph.journey.model_copy(
            update={"input_ids": tuple(dict.fromkeys(input_ids))}))
        return old

    def set_journey_exclusive(self, journey_id: str, exclusive: bool) -> bool:
        """Switch "users leave earlier milestones when they reach a later one"; returns
        the previous setting (for undo). No rule limits it: which audiences are active
        does not change, only who is in them. The journey emits JourneyChanged, on which
        windows evaluate it again."""
        graph = self.journey(journey_id)
        old = graph.journey.exclusive
        graph.replace_journey(graph.journey.model_copy(update={"exclusive": bool(exclusive)}))
        return old

    def check_rename_journey(self, journey_id: str, name: str) -> None:
        graph = self.journey(journey_id)
        self.check_journey(graph.journey.model_copy(update={"name": name}))

    def can_rename_journey(self, journey_id: str, name: str) -> str | None:
        return reason(lambda: self.check_rename_journey(journey_id, name))

    def rename_journey(self, journey_id: str, name: str) -> Journey:
        self.check_rename_journey(journey_id, name)
        graph = self.journey(journey_id)
        renamed = graph.journey.model_copy(update={"name": clean_name(name, "journey")})
        graph.replace_journey(renamed)
        return renamed

    def snapshot(self) -> tuple[Account, tuple[JourneyDocument, ...]]:
        """Everything an edit can change, as comparable values (tests compare these).

        Journeys are in id order: the list order is a view's concern, and the
        store hands journeys back by name, not in the order they were added.
        """
        return self._account, tuple(
            g.document() for g in sorted(self._journeys.values(), key=lambda g: g.id)
        )

    def _place(self, graph: JourneyGraph, index: int | None) -> None:
        items = list(self._journeys.items())
        position = len(items) if index is None else max(0, min(index, len(items)))
        items.insert(position, (graph.id, graph))
        self._journeys = dict(items)


def _checked_platform(kind: str, platform: str | None) -> str | None:
    """A platform feed's platform, trimmed and spelled as events store it; none for a
    partner feed."""
    cleaned = " ".join((platform or "").split())
    if kind == "partner":
        if cleaned:
            raise errors.InvalidSettingError(
                "A partner feed has no platform: its events say where they come from.")
        return None
    if not cleaned:
        known = ", ".join(PLATFORM_SPELLINGS.values())
        raise errors.InvalidSettingError(
            f"Choose the platform the input's events come from ({known}, or another).")
    if len(cleaned) > PLATFORM_LENGTH:
        raise errors.InvalidSettingError(
            f"The platform name is {len(cleaned)} characters long; keep it to "
            f"{PLATFORM_LENGTH}.")
    return PLATFORM_SPELLINGS.get(cleaned.casefold(), cleaned)


def check_stored_limit(
    account: Account,
    journeys: Iterable[JourneyDocument],
    newly_active: Mapping[str, Iterable[str]],
    *,
    limit_changed: bool,
) -> None:
    """The active-audience limit asked again of the account as an edit is about to store it.

    A window checks an edit against its own copy of the account, which another window
    or process may have changed since (a lower limit, outputs activated elsewhere). So
    the save asks the same rules of what is stored: ``account`` and ``journeys`` are the
    account and every journey as stored with the edit applied, ``newly_active`` the
    audiences the edit activates (journey id -> milestone ids), ``limit_changed`` whether
    it sets the limit. Raises the error the edit would have met in memory had the
    window been up to date.
    """
    state = AccountState(account)
    for document in journeys:
        state.load_journey(document)
    if limit_changed:
        state.check_set_limit(state.limit)
    names = [
        name
        for journey_id, milestone_ids in newly_active.items()
        if state.has_journey(journey_id)
        for name in state.journey(journey_id).names_of(milestone_ids)
    ]
    count = state.active_audience_count()
    if names and count > state.limit:
        raise errors.ActiveAudienceLimitError(names, count, state.limit)
