"""The inspector: the selected node's details and actions, on the right of the canvas.

It reads everything from the graph at refresh time (no copy of the domain) and
acts through the window's :class:`InspectorActions`, so each button is the same
single undoable command as the canvas gesture it mirrors.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.ab_tests import CONTROL, arms_of, can_test
from app.core.account import AccountState
from app.core.events import NodeKind
from app.ui import theme
from app.ui.account_settings import ACCOUNT_SETTINGS, page_for
from app.ui.background import BackgroundReads
from app.ui.canvas import cards, edits
from app.ui.canvas.scene import JourneyScene


class InspectorActions(Protocol):
    def edit_milestone(self, milestone_id: str) -> None: ...

    def rename_milestone(self, milestone_id: str, name: str) -> bool: ...

    def add_after(self, milestone_id: str) -> None: ...

    def add_beside(self, milestone_id: str) -> None: ...

    def add_output(self, milestone_id: str) -> None: ...

    def toggle_output(self, output_id: str) -> None: ...

    def resume_output(self, output_id: str) -> None: ...

    def delete_selection(self) -> None: ...

    def edit_journey_inputs(self, journey_id: str | None = None) -> None: ...

    def set_journey_exclusive(self, journey_id: str, exclusive: bool) -> None: ...

    def open_account_settings(self, page: str | None = None) -> object: ...

    def add_ab_test(self, milestone_id: str) -> None: ...

    def ab_test_reader(self, milestone_id: str) -> Callable[[], list[str]] | None: ...


def change_html(card: cards.MilestoneCard) -> str:
    """Adds and drops in words, tinted green and red (rich text for a QLabel)."""
    figures = card.figures
    if figures is None:
        return ""
    if card.calculating:
        return cards.CALCULATING
    if not figures.changed:
        return "No change since the previous evaluation"
    palette = theme.current()
    added = palette.color("success_text" if figures.added else "text_subtle").name()
    removed = palette.color("danger" if figures.removed else "text_subtle").name()
    return (f"<span style='color:{added}; font-weight:600'>+{figures.added:,}</span> joined"
            f" · <span style='color:{removed}; font-weight:600'>"
            f"\u2212{figures.removed:,}</span> left since the previous evaluation")


AB_LOADING = "Reading the results…"


def _results_text(sentences: list[str]) -> str:
    """One paragraph per variant; "Calculating…" until the arms were evaluated."""
    return "\n\n".join(sentences) or cards.CALCULATING


def _label(text: str, name: str, wrap: bool = False) -> QLabel:
    label = QLabel(text)
    label.setObjectName(name)
    label.setWordWrap(wrap)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def _button(text: str, slot: object, name: str = "inspectorButton") -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.setCursor(Qt.CursorShape.PointingHandCursor)
    button.clicked.connect(slot)
    return button


class Inspector(QWidget):
    """Shows the journey (nothing selected), one milestone, one output, or a count."""

    def __init__(self, scene: JourneyScene, actions: InspectorActions,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("inspector")
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._scene = scene
        self._actions = actions
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(18, 16, 18, 16)
        self._layout.setSpacing(8)
        self.shown: tuple[str, str] = ("", "")
        """(kind, id) on show: ("journey", id), ("milestone", id), ("output", id),
        ("selection", count) or ("", "")."""
        self.name_field: QLineEdit | None = None
        self.size_label: QLabel | None = None
        """The audience size of the shown milestone, or the journey's population."""
        self.change_label: QLabel | None = None
        """Adds and drops of the shown milestone since the previous evaluation."""
        self.sending_label: QLabel | None = None
        """What was sent to the shown output's partner and what is pending."""
        self.fault_label: QLabel | None = None
        """"Faulted: <reason>" while forwarding to the shown output is paused."""
        self.resume_button: QPushButton | None = None
        self.inputs_button: QPushButton | None = None
        """“Change inputs…” while the journey is shown (nothing selected)."""
        self.exclusive_box: QCheckBox | None = None
        """“Users leave earlier milestones…” while the journey is shown."""
        self.settings_button: QPushButton | None = None
        """“Account settings…” beside Resume, when the fault is fixed there."""
        self.ab_label: QLabel | None = None
        """The shown milestone's A/B test results, one sentence per variant."""
        self.ab_reads = BackgroundReads("Reading A/B test results", self)
        """The results are read off the GUI thread; only the latest read arrives."""
        self.ab_reads.loaded.connect(self._on_ab_loaded)
        self.ab_reads.failed.connect(self._on_ab_failed)
        self.ab_reads.slow.connect(self._on_ab_slow)
        self._ab_sentences: dict[str, list[str]] = {}
        """The last results read per tested milestone: shown at once when the inspector
        is rebuilt, until the new read arrives (no flash of "Loading")."""
        scene.selectionChanged.connect(self.refresh)
        # Updated in place: a rebuild would take the name field from under the cursor.
        scene.figuresChanged.connect(self.refresh_figures)
        scene.contentChanged.connect(self.refresh)
        scene.graphChanged.connect(self.refresh)
        scene.forwardingChanged.connect(self._refresh_forwarding)
        self.refresh()

    @property
    def state(self) -> AccountState:
        return self._scene.state

    def _clear(self) -> None:
        self.name_field = None
        self.size_label = None
        self.change_label = None
        self.sending_label = None
        self.fault_label = None
        self.resume_button = None
        self.inputs_button = None
        self.exclusive_box = None
        self.settings_button = None
        self.ab_label = None
        self.ab_reads.drop()  # a result for what was on show no longer applies
        while self._layout.count():
            item = self._layout.takeAt(0)
            if item is None:
                continue
            widget = item.widget()
            if widget is not None:
                widget.hide()
                widget.deleteLater()
            else:
                inner = item.layout()
                while inner is not None and inner.count():
                    child = inner.takeAt(0)
                    widget = child.widget() if child is not None else None
                    if widget is not None:
                        widget.hide()
                        widget.deleteLater()

    def refresh(self) -> None:
        """Rebuild from the current selection (cheap: a handful of labels)."""
        try:
            graph = self._scene.graph
            keys: list[tuple[NodeKind, str]] = self._scene.selected_keys()
        except RuntimeError:  # the scene is being destroyed with the window
            return
        if graph is None:
            self._show_empty()
            return
        if not keys:
            self._show_journey()
        elif len(keys) > 1:
            self._show_many(len(keys))
        elif keys[0][0] == "milestone" and graph.has_milestone(keys[0][1]):
            self._show_milestone(keys[0][1])
        elif keys[0][0] == "output" and graph.has_output(keys[0][1]):
            self._show_output(keys[0][1])
        else:
            self._show_journey()

    def _section(self, text: str) -> None:
        self._layout.addWidget(_label(text.upper(), "inspectorSection"))

    def _status_header(self, caption: str, status: str, *, active: bool,
                       faulted: bool = False) -> None:
        """The caption of a milestone or output view, with its Active/Inactive (or Faulted)
        chip at the right."""
        header = QHBoxLayout()
        header.addWidget(_label(caption, "inspectorSection"))
        header.addStretch(1)
        chip = _label(status, "statusChip")
        chip.setFixedHeight(20)  # the style sheet rounds it into a pill: radius 10
        chip.setProperty("active", active)
        chip.setProperty("faulted", faulted)
        header.addWidget(chip)
        self._layout.addLayout(header)

    def _rule(self) -> None:
        line = QFrame()
        line.setObjectName("inspectorRule")
        line.setFixedHeight(1)
        self._layout.addWidget(line)

    def _show_empty(self) -> None:
        self._clear()
        self.shown = ("", "")
        self._layout.addWidget(_label("Nothing to inspect", "inspectorTitle"))
        self._layout.addWidget(_label("Pick or create a journey on the left.", "inspectorText",
                                      True))
        self._layout.addStretch(1)

    def _show_journey(self) -> None:
        graph = self._scene.graph
        assert graph is not None
        self._clear()
        self.shown = ("journey", graph.id)
        self._section("Journey")
        self._layout.addWidget(_label(graph.name, "inspectorTitle", True))
        outputs = list(graph.outputs())
        active_outputs = sum(1 for o in outputs if o.active)
        self._layout.addWidget(_label(
            f"{graph.milestone_count} milestones · {len(outputs)} outputs "
            f"({active_outputs} active) · {len(graph.active_milestone_ids())} active "
            f"audiences", "inspectorText", True))
        self.size_label = _label("", "inspectorText", True)
        self._layout.addWidget(self.size_label)
        self.refresh_figures()
        self._rule()
        self._section("Inputs")
        for input_id in graph.journey.input_ids:
            record = self.state.inputs.get(input_id)
            if record is None:
                continue
            workspace = self.state.workspaces.get(record.workspace_id)
            self._layout.addWidget(_label(
                f"{record.name}  ·  {workspace.name if workspace else ''}", "inspectorText"))
        self.inputs_button = _button("Change inputs…",
                                     lambda: self._actions.edit_journey_inputs(graph.id))
        self._layout.addWidget(self.inputs_button)
        self._rule()
        self._show_targeting(graph.id, graph.journey.exclusive)
        self._rule()
        self._layout.addWidget(_label(
            "Select a milestone or an output to see it here. Drag steps and partners from "
            "the palette onto the canvas, or use the + beside a milestone.",
            "inspectorHint", True))
        self._layout.addStretch(1)

    def _show_targeting(self, journey_id: str, exclusive: bool) -> None:
        """The journey option against duplicate targeting: a box, one undoable edit."""
        self._section("Targeting")
        # Short, so the box never widens the inspector; the hint below wraps.
        box = QCheckBox("Users leave earlier milestones")
        box.setObjectName("exclusiveBox")
        box.setChecked(exclusive)
        box.setToolTip("Each user is then a member of the deepest milestone reached on a "
                       "path only, so an earlier stage's message stops once they move on.")
        # clicked, not toggled: only the person's click is an edit (a rebuild sets it too).
        box.clicked.connect(
            lambda checked: self._actions.set_journey_exclusive(journey_id, checked))
        self.exclusive_box = box
        self._layout.addWidget(box)
        self._layout.addWidget(_label(
            "On: a user who reaches a later milestone leaves the earlier ones, so each is "
            "counted and sent in the deepest milestone reached on a path only."
            if exclusive else
            "Off: users stay in every milestone they reached, so an earlier stage's "
            "message may reach them too. On: they leave it when they reach a later one.",
            "inspectorHint", True))

    def _show_many(self, count: int) -> None:
        self._clear()
        self.shown = ("selection", str(count))
        self._section("Selection")
        self._layout.addWidget(_label(f"{count} nodes selected", "inspectorTitle"))
        self._layout.addWidget(_label("Drag any of them to move them together; one undo "
                                      "puts them back.", "inspectorHint", True))
        self._layout.addWidget(_button("Remove selected", self._actions.delete_selection,
                                       "dangerButton"))
        self._layout.addStretch(1)

    def _show_milestone(self, milestone_id: str) -> None:
        graph = self._scene.graph
        assert graph is not None
        card = cards.milestone_card(graph, milestone_id)
        self._clear()
        self.shown = ("milestone", milestone_id)
        self._status_header(card.caption, card.status, active=card.active)
        name = QLineEdit(card.name)
        name.setObjectName("inspectorName")
        name.setAccessibleName("Milestone name")
        name.editingFinished.connect(lambda: self._rename(milestone_id, name))
        self.name_field = name
        self._layout.addWidget(name)
        self._section("Who is in it")
        self._layout.addWidget(_label(card.summary, "inspectorText", True))
        if not card.remaining:
            self._layout.addWidget(_button("Edit criteria…",
                                           lambda: self._actions.edit_milestone(milestone_id)))
        self._rule()
        self._section("Audience size")
        self.size_label = _label("", "inspectorTitle")
        self.change_label = _label("", "inspectorText", True)
        self.change_label.setTextFormat(Qt.TextFormat.RichText)
        self._layout.addWidget(self.size_label)
        self._layout.addWidget(self.change_label)
        self.refresh_figures()
        self._rule()
        outputs = graph.outputs_of(milestone_id)
        self._section(f"Outputs ({len(outputs)})")
        for output in outputs:
            row = QHBoxLayout()
            row.addWidget(_label(self.state.connection_name(output.connection_id),
                                 "inspectorText"), 1)
            toggle = _button("Active" if output.active else "Inactive",
                             lambda _=False, o=output.id: self._actions.toggle_output(o),
                             "statusToggle")
            toggle.setProperty("active", output.active)
            toggle.setToolTip("Click to deactivate" if output.active else "Click to activate")
            row.addWidget(toggle)
            self._layout.addLayout(row)
        self._layout.addWidget(_button("Send to a partner…",
                                       lambda: self._actions.add_output(milestone_id)))
        self._show_ab_test(milestone_id)
        self._rule()
        self._section("Add")
        self._layout.addWidget(_button("Milestone after this one…",
                                       lambda: self._actions.add_after(milestone_id)))
        self._layout.addWidget(_button("Milestone beside this one (split)…",
                                       lambda: self._actions.add_beside(milestone_id)))
        if can_test(graph, milestone_id) is None:
            self._layout.addWidget(_button("A/B test…",
                                           lambda: self._actions.add_ab_test(milestone_id)))
        self._rule()
        remove = _button("Remove milestone", self._actions.delete_selection, "dangerButton")
        problem = edits.removal_problem(graph, milestone_id)
        remove.setEnabled(problem is None)
        taking = " and its outputs" if outputs else ""
        remove.setToolTip(problem or f"Remove this milestone{taking} (Delete)")
        self._layout.addWidget(remove)
        self._layout.addStretch(1)

    def _show_output(self, output_id: str) -> None:
        graph = self._scene.graph
        assert graph is not None
        card = self._scene.output_card(output_id)
        output = graph.output(output_id)
        self._clear()
        self.shown = ("output", output_id)
        self._status_header("OUTPUT", card.status, active=card.active, faulted=card.faulted)
        self._layout.addWidget(_label(card.connection_name, "inspectorTitle", True))
        self._layout.addWidget(_label(card.partner_label, "inspectorText"))
        self._rule()
        self._section("Audience")
        self._layout.addWidget(_label(graph.milestone(output.milestone_id).name,
                                      "inspectorText", True))
        if card.forwarding is not None:  # known once the window forwards
            self._rule()
            self._section("Sending")
            self._show_sending(output_id, card)
        self._rule()
        self._layout.addWidget(_button("Deactivate" if output.active else "Activate",
                                       lambda: self._actions.toggle_output(output_id)))
        if output.active:
            warning = graph.out_of_sync_warning(output_id)
            if warning:
                self._layout.addWidget(_label(warning, "inspectorHint", True))
        self._layout.addWidget(_button("Remove output", self._actions.delete_selection,
                                       "dangerButton"))
        self._layout.addStretch(1)

    def _show_sending(self, output_id: str, card: cards.OutputCard) -> None:
        """How forwarding stands: the fault and Resume, or what was sent and is pending."""
        self.fault_label = None
        self.resume_button = None
        forwarding = card.forwarding
        if forwarding is not None and forwarding.faulted:
            box = QFrame()
            box.setObjectName("faultBox")
            inner = QVBoxLayout(box)
            inner.setContentsMargins(12, 10, 12, 12)
            inner.setSpacing(6)
            self.fault_label = _label(forwarding.fault_text, "faultText", True)
            inner.addWidget(self.fault_label)
            inner.addWidget(_label(
                "Forwarding to this partner is paused. Nothing is lost: Resume sends what "
                f"is waiting ({forwarding.pending:,} changes).", "faultHint", True))
            self.resume_button = _button("Resume", lambda: self._actions.resume_output(output_id),
                                         "resumeButton")
            self.resume_button.setToolTip("Clear the fault and send what is pending now")
            self.settings_button = None
            if ACCOUNT_SETTINGS in forwarding.fault_text:
                # The fault is fixed there (a missing secret or key): one click away.
                page = page_for(forwarding.fault_text)
                self.settings_button = _button(
                    f"{ACCOUNT_SETTINGS}…", lambda: self._actions.open_account_settings(page))
                row = QHBoxLayout()
                row.setSpacing(8)
                row.addWidget(self.resume_button)
                row.addWidget(self.settings_button)
                inner.addLayout(row)
            else:
                inner.addWidget(self.resume_button)
            self._layout.addWidget(box)
            return
        if not card.active:
            text = "Inactive: nothing is sent until you activate it."
        else:
            text = card.sending_text
        self.sending_label = _label(text, "inspectorText", True)
        self._layout.addWidget(self.sending_label)
        if forwarding is not None and forwarding.last_delivered_at is not None:
            when = forwarding.last_delivered_at.astimezone().strftime("%d %b, %H:%M")
            self._layout.addWidget(_label(f"Last delivery {when}", "inspectorHint"))

    def _refresh_forwarding(self) -> None:
        """New forwarding states: rebuild an output view (a fault or Resume may come or go)."""
        if self.shown[0] == "output":
            self.refresh()

    def refresh_figures(self) -> None:
        """Show the latest audience figures in the labels already on show."""
        try:
            graph = self._scene.graph
        except RuntimeError:  # the scene is being destroyed with the window
            return
        if graph is None or self.size_label is None:
            return
        kind, node_id = self.shown
        if kind == "journey":
            population = self._scene.population
            if population is None:
                text = cards.CALCULATING if self._scene.calculating else ""
            else:
                text = f"{cards.people_text(population.size)} in this journey"
            self.size_label.setText(text)
            self.size_label.setVisible(bool(text))
            return
        if kind != "milestone" or not graph.has_milestone(node_id):
            return
        card = self._scene.milestone_card(node_id)
        self.size_label.setText(card.size_text)
        if self.change_label is not None:
            self.change_label.setText(change_html(card))
        self._refresh_ab_test(node_id)

    def _show_ab_test(self, milestone_id: str) -> None:
        """The tested milestone's results: one plain sentence per variant against Control."""
        graph = self._scene.graph
        assert graph is not None
        arms = arms_of(graph.children(milestone_id))
        if not arms:
            return
        self._rule()
        self._section(f"A/B test ({len(arms) - 1} variant{'s' if len(arms) != 2 else ''} "
                      f"and {CONTROL})")
        self.ab_label = _label("", "inspectorText", True)
        self.ab_label.setObjectName("abTestResults")
        self._layout.addWidget(self.ab_label)
        self._refresh_ab_test(milestone_id)

    def _refresh_ab_test(self, milestone_id: str) -> None:
        """Read the results again in the background; meanwhile the last ones read stay."""
        if self.ab_label is None:
            return
        test = self._ab_test_key(milestone_id)
        known = self._ab_sentences.get(test)
        self.ab_label.setText("" if known is None else _results_text(known))
        reader = self._actions.ab_test_reader(milestone_id)
        if reader is None:
            self.ab_label.setText(cards.CALCULATING)
            return
        self.ab_reads.read(test, reader)

    def _ab_test_key(self, milestone_id: str) -> str:
        """The test on ``milestone_id`` as it is now: the milestone and its arms. A test
        removed and added again has new arms, so the old one's results are not shown."""
        graph = self._scene.graph
        known = graph is not None and graph.has_milestone(milestone_id)
        arms = arms_of(graph.children(milestone_id)) if graph is not None and known else []
        return "|".join([milestone_id, *(arm.id for arm in arms)])

    def _showing_ab_test(self, test: str) -> bool:
        kind, shown_id = self.shown
        return (self.ab_label is not None and kind == "milestone"
                and self._ab_test_key(shown_id) == test)

    def _on_ab_loaded(self, test: str, sentences: list[str]) -> None:
        self._ab_sentences[test] = sentences
        if self.ab_label is not None and self._showing_ab_test(test):
            self.ab_label.setText(_results_text(sentences))

    def _on_ab_failed(self, test: str, message: str) -> None:
        if self.ab_label is not None and self._showing_ab_test(test):
            self.ab_label.setText(f"The results could not be read: {message}")

    def _on_ab_slow(self, test: str) -> None:
        if (self.ab_label is not None and self._showing_ab_test(test)
                and test not in self._ab_sentences):
            self.ab_label.setText(AB_LOADING)

    def shutdown(self) -> None:
        """The window closes: wait for a running read (it holds a connection)."""
        self.ab_reads.shutdown()

    def _rename(self, milestone_id: str, field: QLineEdit) -> None:
        graph = self._scene.graph
        if graph is None or not graph.has_milestone(milestone_id):
            return
        if " ".join(field.text().split()) == graph.milestone(milestone_id).name:
            return
        if not self._actions.rename_milestone(milestone_id, field.text()):
            field.setText(graph.milestone(milestone_id).name)
