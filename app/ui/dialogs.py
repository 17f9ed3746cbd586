"""Dialogs: milestone editor, connection chooser, new journey, rename journey.

Every dialog validates in place, as the person types, with the same ``can_…``
answers core gives the command later, and keeps OK disabled until the input
would be accepted; so a refusal after OK is the exception (another window
changed something meanwhile), and then the banner shows it. Dialogs only
collect values: the window turns them into one command.
"""

from __future__ import annotations

from collections.abc import Callable

from pydantic import ValidationError
from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QStyle,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.account import AccountState
from app.core.catalogue import Catalogue
from app.core.criteria import AudienceDefinition
from app.core.graph import JourneyGraph, reason
from app.core.journey_file import free_name
from app.core.models import (
    PARTNER_LABELS,
    REMAINING_USERS,
    Connection,
    Journey,
    JourneyDocument,
    Milestone,
    Output,
    new_id,
)
from app.core.templates import TEMPLATES, Template, template
from app.ui import icons, theme
from app.ui.builder import BuilderContext, CriteriaEditor
from app.ui.builder.context import audience_choices
from app.ui.preview import (
    AudienceEstimateLike,
    EstimatePreview,
    Estimator,
    PreviewRequest,
    audience_sentence,
    criterion_text,
)


def _error_label() -> QLabel:
    label = QLabel()
    label.setObjectName("fieldError")
    label.setWordWrap(True)
    label.hide()
    return label


def _show_error(label: QLabel, message: str | None) -> None:
    label.setText(message or "")
    label.setVisible(bool(message))


class _Dialog(QDialog):
    def __init__(self, title: str, parent: QWidget | None) -> None:
        super().__init__(parent)
        self.setObjectName("editorDialog")
        self.setWindowTitle(title)
        self.heading = QLabel(title)
        self.heading.setObjectName("dialogTitle")
        self.heading.setWordWrap(True)  # a long milestone name in the title wraps, uncut
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(22, 18, 22, 16)
        self.body.setSpacing(10)
        self.body.addWidget(self.heading)

    @property
    def ok_button(self) -> QAbstractButton:
        button = self.buttons.button(QDialogButtonBox.StandardButton.Ok)
        assert button is not None
        return button

    def finish_layout(self, stretch: bool = True) -> None:
        if stretch:
            self.body.addStretch(1)
        self.body.addWidget(self.buttons)

    def accept(self) -> None:
        """OK only when valid (Enter in a field must not get round the checks)."""
        if self.validate():
            super().accept()

    def validate(self) -> bool:
        raise NotImplementedError


class MilestoneDialog(_Dialog):
    """Name and criteria of a new milestone (after or beside another) or of one to edit."""

    def __init__(self, graph: JourneyGraph, *, milestone_id: str | None = None,
                 parent_id: str | None = None, index: int | None = None,
                 title: str = "", estimate: Estimator | None = None,
                 state: AccountState | None = None, catalogue: Catalogue | None = None,
                 parent: QWidget | None = None) -> None:
        """``estimate`` (``Studio.estimate``) turns on the live size preview; ``state``
        offers the audiences of every journey to membership criteria (else this
        journey's); ``catalogue`` the completions and hints of the journey's inputs."""
        existing = graph.milestone(milestone_id) if milestone_id else None
        super().__init__(title or (f"Edit “{existing.name}”" if existing else "New milestone"),
                         parent)
        self.graph = graph
        self.milestone_id = milestone_id
        self.parent_id = existing.parent_id if existing else parent_id
        self.index = index
        self.remaining = bool(existing and existing.remaining)
        self.name = QLineEdit(existing.name if existing else "")
        self.name.setObjectName("nameField")
        self.name.setPlaceholderText("e.g. Watched content")
        self.name.setMaxLength(120)
        self.name_error = _error_label()
        journeys = tuple(state.journeys()) if state is not None else ()
        context = BuilderContext(catalogue, audience_choices(graph, journeys, milestone_id))
        self.criteria = CriteriaEditor(existing.definition if existing else None,
                                       context=context)
        name_label = QLabel("Name")
        name_label.setObjectName("fieldLabel")
        criteria_label = QLabel("Who is in this audience")
        criteria_label.setObjectName("fieldLabel")
        self.body.addWidget(name_label)
        self.body.addWidget(self.name)
        self.body.addWidget(self.name_error)
        self.body.addSpacing(6)
        self.body.addWidget(criteria_label)
        if self.remaining:
            note = QLabel(f"“{REMAINING_USERS}” takes everyone its split's other milestones did "
                          "not; it has no criteria of its own.")
            note.setObjectName("dialogNote")
            note.setWordWrap(True)
            self.body.addWidget(note)
            self.criteria.setEnabled(False)
            self.criteria.hide()
        scroll = QScrollArea()
        scroll.setObjectName("criteriaScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.criteria)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setMinimumHeight(260)
        scroll.setVisible(not self.remaining)
        self.body.addWidget(scroll, 1)
        self.existing = existing
        self.preview_id = milestone_id or new_id()
        """The id the preview gives the milestone: its own, or a fresh one when new."""
        self.preview = EstimatePreview(estimate, self)
        self.preview.calculating.connect(self._show_calculating)
        self.preview.estimated.connect(self._show_estimate)
        self.preview.cleared.connect(self._show_nothing)
        self.preview.failed.connect(self._show_failure)
        self.estimate_panel = QFrame()
        self.estimate_panel.setObjectName("estimatePanel")
        self.estimate_icon = QLabel()
        self.estimate_icon.setObjectName("estimateIcon")
        self.estimate_figure = QLabel("—")
        self.estimate_figure.setObjectName("estimateFigure")
        self.estimate_figure.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.estimate_caption = QLabel()
        self.estimate_caption.setObjectName("estimateCaption")
        panel = QHBoxLayout(self.estimate_panel)
        panel.setContentsMargins(12, 7, 14, 7)
        panel.setSpacing(8)
        panel.addWidget(self.estimate_icon)
        panel.addWidget(self.estimate_figure)
        panel.addWidget(self.estimate_caption)
        panel.addStretch(1)
        self.estimate_panel.setMinimumWidth(300)  # steady while the figures change
        self.estimate_panel.setVisible(self.preview.enabled)
        bottom = QHBoxLayout()
        bottom.setSpacing(16)
        bottom.addWidget(self.estimate_panel)
        bottom.addStretch(1)
        bottom.addWidget(self.buttons)
        self.body.addLayout(bottom)
        self.resize(920, 680)
        self.name.textChanged.connect(self.validate)
        self.criteria.changed.connect(self.validate)
        self._show_nothing()
        self.validate()
        self.name.setFocus()

    def validate(self) -> bool:
        name = self.name.text()
        if self.milestone_id:
            problem = self.graph.can_rename_milestone(self.milestone_id, name)
        else:
            problem = self.graph.can_add_milestone(
                Milestone(name=name.strip() or "x", parent_id=self.parent_id), self.index
            ) if name.strip() else None
            if problem is None:
                problem = reason(lambda: self._check_name(name))
        _show_error(self.name_error, problem if name or self.milestone_id else None)
        rows_ok = self.criteria.validate()
        ok = problem is None and rows_ok and bool(name.strip())
        self.ok_button.setEnabled(ok)
        self._request_estimate(rows_ok, problem is None and bool(name.strip()))
        return ok

    # ------------------------------------------------------------------ size preview

    def preview_milestone(self, name_ok: bool = False) -> Milestone | None:
        """The milestone as typed, for an estimate; None when its criteria are invalid.

        Editing: a copy of the milestone with the new criteria (same id). New: a
        milestone with :attr:`preview_id` under the parent, named as typed when that
        name is acceptable (the audience does not depend on it)."""
        try:
            definition = AudienceDefinition() if self.remaining else self.criteria.definition()
        except (ValueError, ValidationError):
            return None
        if self.existing is not None:
            return self.existing.model_copy(update={"definition": definition})
        name = " ".join(self.name.text().split()) if name_ok else ""
        return Milestone(id=self.preview_id, name=name or f"New milestone {self.preview_id}",
                         parent_id=self.parent_id, definition=definition)

    def _request_estimate(self, rows_ok: bool, name_ok: bool) -> None:
        if not self.preview.enabled:
            return
        milestone = self.preview_milestone(name_ok) if rows_ok else None
        if milestone is None:
            self.preview.clear()
            return
        self.preview.request(PreviewRequest(self.graph.document(), milestone,
                                            None if self.existing else self.index))

    def _set_estimate(self, figure: str, caption: str, state: str) -> None:
        self.estimate_figure.setText(figure)
        self.estimate_caption.setText(caption)
        self.estimate_caption.setVisible(bool(caption))
        color = {"ready": "accent", "approximate": "accent"}.get(state, "text_subtle")
        self.estimate_icon.setPixmap(icons.pixmap("user", color, QSize(18, 18),
                                                  self.devicePixelRatioF()))
        for widget in (self.estimate_panel, self.estimate_figure):
            widget.setProperty("state", state)
            widget.style().unpolish(widget)
            widget.style().polish(widget)

    def _set_row_counts(self, texts: list[str | None]) -> None:
        for row, text in zip(self.criteria.rows, texts, strict=False):
            row.set_count(text)

    def _show_calculating(self) -> None:
        self._set_estimate("Calculating…", "", "calculating")
        self._set_row_counts(["…"] * len(self.criteria.rows))

    def _show_nothing(self) -> None:
        self._set_estimate("—", "Fix the criteria to see how many users match"
                           if self.criteria.rows else "", "empty")
        self._set_row_counts(["—"] * len(self.criteria.rows))

    def _show_failure(self, message: str) -> None:
        self._set_estimate("—", "Could not estimate the size", "failed")
        self.estimate_panel.setToolTip(message)
        self._set_row_counts([None] * len(self.criteria.rows))

    def _show_estimate(self, result: AudienceEstimateLike) -> None:
        figure, caption = audience_sentence(result.audience)
        approximate = result.audience.approximate
        self._set_estimate(figure, caption, "approximate" if approximate else "ready")
        self.estimate_panel.setToolTip(
            f"Counted on every {result.sample_every:,}th user and scaled up"
            if result.sample_every > 1 else "Counted exactly, as of now")
        self._set_row_counts([criterion_text(c) for c in result.criteria])

    def done(self, result: int) -> None:
        self.preview.shutdown()
        super().done(result)

    def _check_name(self, name: str) -> None:
        from app.core.graph import clean_name

        clean_name(name, "milestone")

    def values(self) -> tuple[str, AudienceDefinition]:
        """The name and the definition typed in (call after a valid accept)."""
        definition = AudienceDefinition() if self.remaining else self.criteria.definition()
        return " ".join(self.name.text().split()), definition


class ConnectionDialog(_Dialog):
    """Which configured partner an audience is for; unavailable ones say why.

    A reason that holds for every partner (the account's active-audience limit:
    adding any output would activate the same audiences) is stated once, above
    the list; only a partner's own reason (already sent there) sits under it.
    The dialog is as tall as its wrapped texts need at its width, so nothing is
    squeezed or cut however many partners refuse.
    """

    MIN_WIDTH = 460
    MAX_WIDTH = 600

    def __init__(self, graph: JourneyGraph, state: AccountState, milestone_id: str,
                 parent: QWidget | None = None,
                 open_limit: Callable[[], object] | None = None) -> None:
        """``open_limit`` opens Account settings on the limit: the limit's notice then
        offers it."""
        audience = graph.milestone(milestone_id).name
        super().__init__(f"Send “{audience}” to a partner", parent)
        self.graph = graph
        self.milestone_id = milestone_id
        self.group = QButtonGroup(self)
        self.choices: dict[str, QRadioButton] = {}
        self.reasons: dict[str, str] = {}
        """Connection id -> why it can't be chosen (its own reason, or the limit)."""
        intro = QLabel("While the output is active, the partner receives who joins and leaves "
                       "this audience after every run: every few minutes and after edits "
                       "while Journey Studio is open, or on a server's schedule. New outputs "
                       "start active.")
        intro.setObjectName("dialogNote")
        intro.setWordWrap(True)
        self.body.addWidget(intro)
        own = {c.id: graph.can_add_output(self._output(c.id, active=False))
               for c in state.connections.values()}
        self.limit_reason = self._limit_reason(own)
        """Why no partner can be added now whatever it is (the limit), or None."""
        self.settings_button: QPushButton | None = None
        """“Change the limit…” in the limit's notice (when the window can open it)."""
        if self.limit_reason:
            notice = self._notice(self.limit_reason)
            if open_limit is not None:
                self.settings_button = QPushButton("Change the limit in Account settings…")
                self.settings_button.setObjectName("linkButton")
                self.settings_button.setAutoDefault(False)
                self.settings_button.setCursor(Qt.CursorShape.PointingHandCursor)

                def change_limit() -> None:
                    self.reject()
                    open_limit()

                self.settings_button.clicked.connect(change_limit)
                layout = notice.layout()
                assert layout is not None
                layout.addWidget(self.settings_button, 0, Qt.AlignmentFlag.AlignLeft)
            self.body.addWidget(notice)
        for connection in state.connections.values():
            self._add_choice(connection, own[connection.id])
        if not state.connections:
            self.body.addWidget(QLabel("This account has no connections yet."))
        self.finish_layout(stretch=False)
        self._fit_to_contents()
        self.group.buttonToggled.connect(lambda *_: self.validate())
        first = next((b for b in self.choices.values() if b.isEnabled()), None)
        if first is not None:
            first.setChecked(True)
        self.validate()

    def _output(self, connection_id: str, active: bool = True) -> Output:
        return Output(milestone_id=self.milestone_id, connection_id=connection_id,
                      active=active)

    def _limit_reason(self, own: dict[str, str | None]) -> str | None:
        """The core's answer for a new (active) output once the partner's own rules pass:
        the same for every partner, since they all activate the same audiences."""
        free = next((connection_id for connection_id, problem in own.items()
                     if problem is None), None)
        if free is None:
            return None
        return self.graph.can_add_output(self._output(free))

    @staticmethod
    def _notice(text: str) -> QFrame:
        notice = QFrame()
        notice.setObjectName("limitNotice")
        layout = QVBoxLayout(notice)
        layout.setContentsMargins(12, 9, 12, 9)
        label = QLabel(text)
        label.setObjectName("limitNoticeText")
        label.setWordWrap(True)
        layout.addWidget(label)
        return notice

    def _add_choice(self, connection: Connection, own_problem: str | None) -> None:
        label = PARTNER_LABELS.get(connection.partner, connection.partner)
        same = label.casefold() == connection.name.casefold()
        button = QRadioButton(connection.name if same else f"{connection.name}  ·  {label}")
        button.setObjectName("partnerChoice")
        button.setIcon(icons.icon(icons.partner_icon(connection.partner),
                                  theme.brand_tint(theme.PARTNER_TINTS.get(
                                      connection.partner, theme.OTHER_PARTNER_TINT))))
        button.setIconSize(QSize(18, 18))
        problem = own_problem or self.limit_reason
        if problem:
            button.setEnabled(False)
            self.reasons[connection.id] = problem
        self.group.addButton(button)
        self.choices[connection.id] = button
        self.body.addWidget(button)
        if own_problem:
            button.setToolTip(own_problem)
            why = QLabel(own_problem)
            why.setObjectName("choiceReason")
            why.setWordWrap(True)
            why.setContentsMargins(self._indicator_width(button), 0, 0, 2)
            self.body.addWidget(why)

    @staticmethod
    def _indicator_width(button: QRadioButton) -> int:
        """Where a radio button's icon starts: its reason lines up under it."""
        style = button.style()
        return (style.pixelMetric(QStyle.PixelMetric.PM_ExclusiveIndicatorWidth, None, button)
                + style.pixelMetric(QStyle.PixelMetric.PM_RadioButtonLabelSpacing, None,
                                    button))

    def _fit_to_contents(self) -> None:
        """As wide as the widest line needs (within limits), as tall as the wrapped
        texts need at that width; it may grow, never shrink below that."""
        self.body.activate()
        wanted = max((b.sizeHint().width() for b in self.choices.values()), default=0)
        margins = self.body.contentsMargins()
        width = max(self.MIN_WIDTH, min(self.MAX_WIDTH,
                                        wanted + margins.left() + margins.right()))
        height = self.heightForWidth(width)
        self.setMinimumSize(width, height)
        self.resize(width, height)

    def choose(self, connection_id: str) -> None:
        self.choices[connection_id].setChecked(True)

    def connection_id(self) -> str | None:
        for connection_id, button in self.choices.items():
            if button.isChecked():
                return connection_id
        return None

    def validate(self) -> bool:
        ok = self.connection_id() is not None
        self.ok_button.setEnabled(ok)
        return ok


class NewJourneyDialog(_Dialog):
    """What to start from (blank or a built-in template), a name, and the inputs: a
    tree of workspaces (tick one to take all its inputs)."""

    def __init__(self, state: AccountState, parent: QWidget | None = None) -> None:
        super().__init__("New journey", parent)
        self.state = state
        self.templates = QListWidget()
        self.templates.setObjectName("templateList")
        self.templates.setIconSize(QSize(18, 18))
        blank = QListWidgetItem(icons.icon("plus", "text_muted"), "Blank journey")
        blank.setData(Qt.ItemDataRole.UserRole, None)
        self.templates.addItem(blank)
        for item in TEMPLATES:
            row = QListWidgetItem(icons.icon("journey", "accent"), item.name)
            row.setData(Qt.ItemDataRole.UserRole, item.key)
            row.setToolTip(item.description)
            self.templates.addItem(row)
        self.templates.setFixedHeight(
            self.templates.sizeHintForRow(0) * self.templates.count() + 12)
        self.template_note = QLabel()
        self.template_note.setObjectName("templateNote")
        self.template_note.setWordWrap(True)
        self.template_steps = QLabel()
        self.template_steps.setObjectName("fieldHint")
        self.template_steps.setWordWrap(True)
        self.name = QLineEdit()
        self.name.setObjectName("nameField")
        self.name.setPlaceholderText("e.g. Winback lapsed subscribers")
        self.name_error = _error_label()
        self._suggested_name = ""
        self.tree = QTreeWidget()
        self.tree.setObjectName("inputTree")
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(True)
        self.input_items: dict[str, QTreeWidgetItem] = {}
        self.workspace_items: dict[str, QTreeWidgetItem] = {}
        for workspace in state.workspaces.values():
            top = QTreeWidgetItem([workspace.name])
            top.setFlags(top.flags() | Qt.ItemFlag.ItemIsUserCheckable
                         | Qt.ItemFlag.ItemIsAutoTristate)
            top.setCheckState(0, Qt.CheckState.Unchecked)
            self.workspace_items[workspace.id] = top
            self.tree.addTopLevelItem(top)
            for input_ in state.inputs_of(workspace.id):
                child = QTreeWidgetItem([input_.name])
                child.setFlags(child.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                child.setCheckState(0, Qt.CheckState.Unchecked)
                child.setData(0, Qt.ItemDataRole.UserRole, input_.id)
                top.addChild(child)
                self.input_items[input_.id] = child
        self.tree.expandAll()
        self.inputs_error = _error_label()
        for text, widget in (("Start from", self.templates), (None, self.template_note),
                             (None, self.template_steps),
                             ("Name", self.name), (None, self.name_error),
                             ("Inputs (the journey's population)", self.tree),
                             (None, self.inputs_error)):
            if text:
                label = QLabel(text)
                label.setObjectName("fieldLabel")
                self.body.addWidget(label)
            self.body.addWidget(widget)
        self.finish_layout()
        self.ok_button.setText("Create journey")
        self.resize(520, 660)
        self._touched = False
        self.templates.currentRowChanged.connect(self._on_template)
        self.templates.setCurrentRow(0)
        self.name.textChanged.connect(self._on_edit)
        self.tree.itemChanged.connect(self._on_edit)
        self.validate()

    def template(self) -> Template | None:
        """The chosen template, or None for a blank journey."""
        item = self.templates.currentItem()
        key = item.data(Qt.ItemDataRole.UserRole) if item is not None else None
        return template(key) if key else None

    def choose_template(self, key: str | None) -> None:
        """Select a template by key (None: Blank journey), as a click on it does."""
        for row in range(self.templates.count()):
            if self.templates.item(row).data(Qt.ItemDataRole.UserRole) == key:
                self.templates.setCurrentRow(row)
                return
        raise KeyError(key)

    def _on_template(self, _row: int) -> None:
        """Show what the template holds; a name not typed by hand follows the choice."""
        chosen = self.template()
        if chosen is None:
            self.template_note.setText("An empty canvas: you add the first milestone.")
            self.template_steps.setText("")
        else:
            self.template_note.setText(chosen.description)
            self.template_steps.setText(
                "Milestones: " + " · ".join(m.name for m in chosen.milestones))
        self.template_steps.setVisible(chosen is not None)
        if self.name.text() == self._suggested_name:
            self._suggested_name = free_name(self.state, chosen.name) if chosen else ""
            self.name.setText(self._suggested_name)

    def document(self) -> JourneyDocument:
        """The new journey: empty, or the chosen template's milestones under new ids."""
        chosen = self.template()
        journey = self.journey()
        return chosen.document(journey) if chosen else JourneyDocument(journey=journey)

    def _on_edit(self, *_: object) -> None:
        self._touched = True
        self.validate()

    def check_workspace(self, workspace_id: str, checked: bool = True) -> None:
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        self.workspace_items[workspace_id].setCheckState(0, state)

    def check_input(self, input_id: str, checked: bool = True) -> None:
        state = Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked
        self.input_items[input_id].setCheckState(0, state)

    def input_ids(self) -> tuple[str, ...]:
        return tuple(i for i, item in self.input_items.items()
                     if item.checkState(0) == Qt.CheckState.Checked)

    def journey(self) -> Journey:
        return Journey(name=" ".join(self.name.text().split()) or "x",
                       input_ids=self.input_ids())

    def validate(self) -> bool:
        name = self.name.text()
        problem = reason(lambda: self.state.check_journey(
            Journey(name=name.strip() or "x", input_ids=self.input_ids()).model_copy(
                update={"name": name})))
        _show_error(self.name_error, problem if name else None)
        inputs = None if self.input_ids() else (
            "Pick at least one input: a journey's population is everyone with an event "
            "through its inputs.")
        _show_error(self.inputs_error, inputs if self._touched else None)
        ok = bool(name.strip()) and problem is None and inputs is None
        self.ok_button.setEnabled(ok)
        return ok


class RenameJourneyDialog(_Dialog):
    def __init__(self, state: AccountState, journey_id: str,
                 parent: QWidget | None = None) -> None:
        self.state = state
        self.journey_id = journey_id
        super().__init__("Rename journey", parent)
        self.name = QLineEdit(state.journey(journey_id).name)
        self.name.setObjectName("nameField")
        self.name.selectAll()
        self.name_error = _error_label()
        self.body.addWidget(self.name)
        self.body.addWidget(self.name_error)
        self.finish_layout()
        self.resize(420, 160)
        self.name.textChanged.connect(self.validate)
        self.validate()

    def new_name(self) -> str:
        return " ".join(self.name.text().split())

    def validate(self) -> bool:
        problem = self.state.can_rename_journey(self.journey_id, self.name.text())
        _show_error(self.name_error, problem)
        ok = problem is None
        self.ok_button.setEnabled(ok)
        return ok
