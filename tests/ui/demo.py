"""The demo account in memory, and a stand-in for the Studio that serves it."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.account import AccountState
from app.core.commands import Command
from app.ingest.demo_account import demo_account


def demo_state() -> AccountState:
    """The demo account with its journeys loaded, as Studio.open would give it."""
    demo = demo_account()
    state = AccountState(demo.account, demo.workspaces, demo.inputs, demo.connections)
    for document in demo.journeys:
        state.load_journey(document)
    return state


@dataclass
class FakeDatabase:
    url: str = "sqlite:////home/marketer/.local/share/Journey Studio/journeys.db"


@dataclass
class DemoStudio:
    """Stands in for app.studio.Studio where only the in-memory state matters."""

    state: AccountState = field(default_factory=demo_state)
    database: FakeDatabase = field(default_factory=FakeDatabase)

    def execute(self, command: Command) -> None:
        """Apply without persisting (nothing to persist to)."""
        command.do(self.state)

    def undo(self, command: Command) -> None:
        command.undo(self.state)

    def redo(self, command: Command) -> None:
        command.redo(self.state)

    def reload(self) -> AccountState:
        self.state = demo_state()
        return self.state
