"""The "Add A/B test" dialog: variants with names and shares, the Control's remainder live.

Validated as the person types with the same rules core applies to the command
(:func:`app.core.commands.check_add_ab_test`), so OK is enabled only for a test
that will be accepted. The dialog only collects the split; the window turns it
into one undoable command.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QGridLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QWidget,
)

from app.core.ab_tests import CONTROL, MAX_VARIANTS, control_percent
from app.core.account import AccountState
from app.core.commands import check_add_ab_test
from app.core.errors import JourneyRuleError
from app.ui.dialogs import _Dialog, _error_label, _show_error

DEFAULT_NAMES = ("Variant A", "Variant B", "Variant C", "Variant D", "Variant E")


class ABTestDialog(_Dialog):
    """Up to five variants (name, share in %) and the Control, which takes the rest."""

    def __init__(self, state: AccountState, journey_id: str, milestone_id: str,
                 parent: QWidget | None = None) -> None:
        self.state = state
        self.journey_id = journey_id
        self.milestone_id = milestone_id
        tested = state.journey(journey_id).milestone(milestone_id).name
        super().__init__(f"Add an A/B test on “{tested}”", parent)
        note = QLabel(
            "Each user of this milestone is assigned by their user id, always to the same "
            "arm. The split is fixed once saved: to change it, remove the test and add a new one."
        )
        note.setObjectName("dialogNote")
        note.setWordWrap(True)
        self.body.addWidget(note)
        self.grid = QGridLayout()
        self.grid.setHorizontalSpacing(10)
        self.body.addLayout(self.grid)
        self.names: list[QLineEdit] = []
        self.shares: list[QDoubleSpinBox] = []
        self.control_label = QLabel()
        self.control_label.setObjectName("controlShare")
        self.add_button = QPushButton("Add a variant")
        self.add_button.setObjectName("addVariant")
        self.add_button.clicked.connect(lambda: self.add_variant())
        self.remove_button = QPushButton("Remove the last variant")
        self.remove_button.setObjectName("removeVariant")
        self.remove_button.clicked.connect(self.remove_variant)
        self.error = _error_label()
        self.add_variant(50.0)
        self.body.addWidget(self.add_button)
        self.body.addWidget(self.remove_button)
        self.body.addWidget(self.error)
        self.finish_layout()
        self.resize(460, 360)
        self.validate()

    # ---------------------------------------------------------------- rows

    def add_variant(self, percent: float = 10.0) -> None:
        """A new row at the end (named Variant A, B, …), before the Control's line."""
        if len(self.names) >= MAX_VARIANTS:
            return
        row = len(self.names)
        name = QLineEdit(DEFAULT_NAMES[row])
        name.setObjectName(f"variantName{row}")
        name.setAccessibleName(f"Variant {row + 1} name")
        share = QDoubleSpinBox()
        share.setObjectName(f"variantShare{row}")
        share.setAccessibleName(f"Variant {row + 1} share")
        share.setRange(0.0, 100.0)
        share.setDecimals(2)
        share.setSuffix(" %")
        share.setValue(percent)
        name.textChanged.connect(self.validate)
        share.valueChanged.connect(self.validate)
        self.names.append(name)
        self.shares.append(share)
        self._place_rows()
        self.validate()

    def remove_variant(self) -> None:
        if len(self.names) <= 1:
            return
        for widget in (self.names.pop(), self.shares.pop()):
            self.grid.removeWidget(widget)
            widget.deleteLater()
        self._place_rows()
        self.validate()

    def _place_rows(self) -> None:
        for row, (name, share) in enumerate(zip(self.names, self.shares, strict=True)):
            self.grid.addWidget(name, row, 0)
            self.grid.addWidget(share, row, 1)
            name.show()  # added to a dialog already on show: not shown by itself
            share.show()
        self.grid.addWidget(self.control_label, len(self.names), 0, 1, 2)

    # ---------------------------------------------------------------- values

    def variants(self) -> list[tuple[str, float]]:
        return [(n.text(), s.value()) for n, s in zip(self.names, self.shares, strict=True)]

    def validate(self) -> bool:
        variants = self.variants()
        rest = control_percent(variants)
        self.control_label.setText(f"{CONTROL}: {max(rest, 0):g} % (the rest)")
        try:
            check_add_ab_test(self.state, self.journey_id, self.milestone_id, variants)
            problem = None
        except JourneyRuleError as error:
            problem = str(error)
        _show_error(self.error, problem)
        self.add_button.setEnabled(len(self.names) < MAX_VARIANTS)
        self.remove_button.setEnabled(len(self.names) > 1)
        self.ok_button.setEnabled(problem is None)
        return problem is None
