"""The audience builder with real clicks and typing: nested groups, every kind, moves,
the audience chooser, catalogue hints and in-place refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QWidget
from pytestqt.qtbot import QtBot

from app.core.catalogue import Catalogue, Sighting
from app.core.criteria import (
    AmountCondition,
    AudienceDefinition,
    Clause,
    Condition,
    EcommerceCriterion,
    EventCriterion,
    Group,
    TimeWindow,
    UserAttributeCriterion,
)
from app.studio import Studio
from app.ui.builder import (
    AudienceEditor,
    BuilderContext,
    CommerceEditor,
    CriteriaEditor,
    CriterionRow,
    EventEditor,
    GroupBox,
)
from app.ui.builder.conditions import ConditionLine
from app.ui.dialogs import MilestoneDialog
from app.ui.main_window import MainWindow

from .demo import DemoStudio

LEFT = Qt.MouseButton.LeftButton
WAIT_MS = 15_000


def click(qtbot: QtBot, widget: QWidget) -> None:
    qtbot.mouseClick(widget, LEFT)


def type_date(qtbot: QtBot, field: QWidget, text: str) -> None:
    """Focus a date field, select what it shows and type a date over it."""
    field.setFocus(Qt.FocusReason.TabFocusReason)
    QTest.keyClick(field, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(field, text)


def row(item: object) -> CriterionRow:
    assert isinstance(item, CriterionRow), item
    return item


def group(item: object) -> GroupBox:
    assert isinstance(item, GroupBox), item
    return item


def at_ms(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


EXPECTED = AudienceDefinition(clauses=(
    Clause(item=EventCriterion(
        event_name="Watch content",
        conditions=(Condition(attribute="genre", operator="equals", value="Drama"),),
        window=TimeWindow(kind="between", days=None, start=at_ms("2026-10-01"),
                          end=at_ms("2026-11-30")),
    )),
    Clause(join="and", item=Group(clauses=(
        Clause(item=EcommerceCriterion(
            action="purchase", amount=(AmountCondition(operator="between", value=[10.0, 50.0]),),
        )),
        Clause(join="or", item=Group(clauses=(
            Clause(item=UserAttributeCriterion(condition=Condition(
                attribute="plan", operator="equals", value="pro"))),
        ))),
    ))),
))


def test_a_nested_definition_built_by_clicking_and_typing_is_stored_and_previewed(
    qtbot: QtBot, editor: MainWindow, stored_studio: Studio, db_path: Path
) -> None:
    graph = stored_studio.state.journey("jr-trial-to-paid")
    steps = editor.undo_stack.count()
    editor.add_after("ms-converted")
    dialog = editor.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    criteria = dialog.criteria
    QTest.keyClicks(dialog.name, "Watched and bought")

    # An event with an attribute condition, between two dates picked in date fields.
    click(qtbot, criteria.add_button)
    event = row(criteria.rows[0]).editors["event"]
    assert isinstance(event, EventEditor)
    QTest.keyClicks(event.event_name, "Watch content")
    click(qtbot, event.conditions.add_button)
    condition = event.conditions.lines[0]
    QTest.keyClicks(condition.attribute, "genre")
    QTest.keyClicks(condition.values.text, "Drama")
    QTest.keyClicks(event.when.kind, "betw")
    assert event.when.start.isVisible() and event.when.end.isVisible()
    type_date(qtbot, event.when.start, "2026-10-01")
    type_date(qtbot, event.when.end, "2026-11-30")

    # A group: a purchase between 10 and 50, or (a nested group) the pro plan.
    click(qtbot, criteria.add_group_button)
    outer = group(criteria.rows[1])
    purchase = row(outer.items[0])
    QTest.keyClicks(purchase.kind, "Comm")
    commerce = purchase.editors["ecommerce"]
    assert isinstance(commerce, CommerceEditor) and commerce.isVisible()
    click(qtbot, commerce.amounts.add_button)
    amount = commerce.amounts.lines[0]
    QTest.keyClicks(amount.operator, "betw")
    QTest.keyClicks(amount.values.text, "10")
    assert amount.values.high.isVisible()
    QTest.keyClicks(amount.values.high, "50")
    click(qtbot, outer.inner.add_group_button)
    inner = group(outer.items[1])
    QTest.keyClicks(inner.join, "Or")
    plan = row(inner.items[0])
    QTest.keyClicks(plan.kind, "User")
    attribute = plan.editors["user_attribute"]
    QTest.keyClicks(attribute.attribute, "plan")  # type: ignore[attr-defined]
    QTest.keyClicks(attribute.fields.values.text, "pro")  # type: ignore[attr-defined]

    assert dialog.ok_button.isEnabled()
    assert criteria.definition().model_dump(mode="json") == EXPECTED.model_dump(mode="json")
    # The preview shows what the engine counts for the milestone as typed.
    typed = dialog.preview_milestone(name_ok=True)
    assert typed is not None
    expected = stored_studio.estimate(graph.document(), typed)
    qtbot.waitUntil(lambda: dialog.estimate_figure.text() == expected.audience.text,
                    timeout=WAIT_MS)
    assert [r.count.text() for r in criteria.rows] == [
        f"{c.text} users" for c in expected.criteria]

    click(qtbot, dialog.ok_button)
    added = next(m for m in graph.milestones_in_order() if m.name == "Watched and bought")
    assert added.definition.model_dump(mode="json") == EXPECTED.model_dump(mode="json")
    assert editor.undo_stack.count() == steps + 1  # one command
    reopened = Studio.open(str(db_path))
    try:
        stored = reopened.state.journey(graph.id).milestone(added.id).definition
    finally:
        reopened.close()
    assert stored.model_dump(mode="json") == EXPECTED.model_dump(mode="json")


def _two_rows(qtbot: QtBot) -> CriteriaEditor:
    definition = AudienceDefinition(clauses=(
        Clause(item=EventCriterion(event_name="A")),
        Clause(join="or", item=EventCriterion(event_name="B")),
    ))
    builder = CriteriaEditor(definition)
    qtbot.addWidget(builder)
    builder.resize(900, 600)
    builder.show()
    qtbot.waitExposed(builder)
    return builder


def test_indent_puts_a_row_into_a_group_and_outdent_takes_it_out(qtbot: QtBot) -> None:
    builder = _two_rows(qtbot)
    second = row(builder.rows[1])
    assert not second.outdent_button.isEnabled()  # not in a group
    click(qtbot, second.indent_button)
    boxed = group(builder.rows[1])
    assert boxed.items == [second] and boxed.isVisible()
    definition = builder.definition()
    assert definition.clauses[1].join == "or"  # the group takes the row's join
    assert isinstance(definition.clauses[1].item, Group)
    # The keyboard: Ctrl+[ in the row's field takes it out again; the empty group goes.
    field = row(second).editors["event"].event_name  # type: ignore[attr-defined]
    QTest.keyClick(field, Qt.Key.Key_BracketLeft, Qt.KeyboardModifier.ControlModifier)
    assert builder.rows == [builder.rows[0], second]
    assert builder.definition() == AudienceDefinition(clauses=(
        Clause(item=EventCriterion(event_name="A")),
        Clause(join="or", item=EventCriterion(event_name="B")),
    ))
    # Ctrl+] groups the first row.
    first = row(builder.rows[0])
    QTest.keyClick(first.editors["event"].event_name,  # type: ignore[attr-defined]
                   Qt.Key.Key_BracketRight, Qt.KeyboardModifier.ControlModifier)
    assert group(builder.rows[0]).items == [first]


def test_a_row_dragged_by_its_handle_lands_in_the_group(qtbot: QtBot) -> None:
    builder = _two_rows(qtbot)
    click(qtbot, builder.add_group_button)
    box = group(builder.rows[2])
    first = row(builder.rows[0])
    QTest.keyClicks(row(box.items[0]).editors["event"].event_name, "C")  # type: ignore[attr-defined]
    qtbot.waitUntil(lambda: box.inner.height() > 0)
    handle = first.handle
    start = handle.rect().center()
    # Below the group's first row, inside the group's box: the row lands last in the group.
    last = box.items[-1]
    target = handle.mapFromGlobal(last.mapToGlobal(QPoint(40, last.height() + 6)))
    QTest.mousePress(handle, LEFT, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(handle, start + QPoint(0, 12))
    QTest.mouseMove(handle, target)
    assert builder.indicator.isVisible()
    QTest.mouseRelease(handle, LEFT, Qt.KeyboardModifier.NoModifier, target)
    assert not builder.indicator.isVisible()
    assert first in box.items and box.items.index(first) == 1
    assert first not in builder.rows
    definition = builder.definition()
    moved = definition.clauses[1].item
    assert isinstance(moved, Group)
    assert [c.item.event_name for c in moved.clauses] == ["C", "A"]  # type: ignore[union-attr]
    assert definition.clauses[0].item == EventCriterion(event_name="B")


def test_the_audience_chooser_lists_every_journey_but_not_what_follows(
    qtbot: QtBot, studio: DemoStudio
) -> None:
    graph = studio.state.journey("jr-trial-to-paid")
    dialog = MilestoneDialog(graph, milestone_id="ms-watched", state=studio.state)
    qtbot.addWidget(dialog)
    click(qtbot, dialog.criteria.add_button)
    member = row(dialog.criteria.rows[-1])  # after the milestone's own event criterion
    QTest.keyClicks(member.kind, "Aud")
    chooser = member.editors["audience"]
    assert isinstance(chooser, AudienceEditor) and chooser.isVisibleTo(dialog)
    assert chooser.choices() == [
        "Trial to paid ▸ Signed up for trial",
        "California promo ▸ All app and web users",
        "California promo ▸ In California",
    ]  # not "Watched content" itself, nor the milestones after it
    assert not dialog.ok_button.isEnabled()
    assert "Choose the audience" in member.error.text()
    QTest.keyClicks(chooser.audience, "Calif")
    QTest.keyClick(chooser.audience, Qt.Key.Key_Down)
    assert chooser.audience.currentText() == "California promo ▸ In California"
    assert member.error.isHidden(), member.error.text()
    assert dialog.ok_button.isEnabled(), dialog.name_error.text()
    assert dialog.criteria.definition().clauses[-1].item.milestone_id == (  # type: ignore[union-attr]
        "ms-california")


CATALOGUE = Catalogue(
    [
        Sighting("event", "custom_event", "Watch content", "in-app", 5_210, None),
        Sighting("event", "custom_event", "Newsletter signup", "in-web", 1_204, None),
        Sighting("event_attribute", "Watch content", "genre", "in-app", 900, None),
        Sighting("user_attribute", "number", "lifetime_value", "in-app", 300, None),
        Sighting("user_attribute", "list", "favourite_genres", "in-app", 200, None),
    ],
    journey_inputs={"in-app"},
    input_names={"in-app": "Streaming/iOS", "in-web": "Marketing Site/Web"},
)


def test_a_misspelled_event_shows_the_catalogue_hint_on_its_row(qtbot: QtBot) -> None:
    builder = CriteriaEditor(AudienceDefinition(), context=BuilderContext(CATALOGUE))
    qtbot.addWidget(builder)
    builder.show()
    click(qtbot, builder.add_button)
    event_row = row(builder.rows[0])
    event = event_row.editors["event"]
    assert isinstance(event, EventEditor)
    completer = event.event_name.completer()
    assert completer is not None
    # What the journey's inputs saw (not what only another input saw).
    assert completer.model().stringList() == ["Watch content"]  # type: ignore[attr-defined]
    assert completer.filterMode() == Qt.MatchFlag.MatchContains
    QTest.keyClicks(event.event_name, "Watch contnet")
    builder.validate()
    assert event_row.hint.isVisible()
    assert event_row.hint.text() == "never seen in any input"
    assert builder.validate()  # a warning, not a refusal
    event.event_name.clear()
    QTest.keyClicks(event.event_name, "Newsletter signup")
    builder.validate()
    assert event_row.hint.text() == ("never seen in this journey's inputs; "
                                     "1,204 times in Marketing Site/Web")
    event.event_name.clear()
    QTest.keyClicks(event.event_name, "Watch content")
    builder.validate()
    assert event_row.hint.isHidden()
    # Attribute names of that event are offered on its conditions.
    click(qtbot, event.conditions.add_button)
    line_completer = event.conditions.lines[0].attribute.completer()
    assert line_completer is not None
    assert line_completer.model().stringList() == ["genre"]  # type: ignore[attr-defined]


def test_a_known_user_attribute_takes_its_detected_type(qtbot: QtBot) -> None:
    builder = CriteriaEditor(AudienceDefinition(), context=BuilderContext(CATALOGUE))
    qtbot.addWidget(builder)
    builder.show()
    click(qtbot, builder.add_button)
    attribute_row = row(builder.rows[0])
    QTest.keyClicks(attribute_row.kind, "User")
    fields = attribute_row.editors["user_attribute"].fields  # type: ignore[attr-defined]
    assert isinstance(fields, ConditionLine)
    QTest.keyClicks(fields.attribute, "favourite_genres")
    QTest.keyClick(fields.attribute, Qt.Key.Key_Return)
    assert fields.type.currentData() == "list"
    assert fields.operator.currentText() == "holds"
    QTest.keyClicks(fields.values.text, "drama")
    assert builder.validate()
    condition = builder.definition().clauses[0].item.condition  # type: ignore[union-attr]
    assert (condition.type, condition.operator, condition.value) == ("list", "contains", "drama")


def test_every_invalid_input_shows_its_message_and_disables_ok(
    qtbot: QtBot, studio: DemoStudio
) -> None:
    graph = studio.state.journey("jr-trial-to-paid")
    dialog = MilestoneDialog(graph, milestone_id="ms-converted", state=studio.state)
    qtbot.addWidget(dialog)
    criteria = dialog.criteria
    for item in list(criteria.rows):
        click(qtbot, item.remove_button)
    assert dialog.ok_button.isEnabled()  # no criteria: everyone

    def refused(target: CriterionRow, words: str) -> None:
        assert not dialog.ok_button.isEnabled()
        assert target.error.isVisibleTo(dialog), words
        assert words in target.error.text(), target.error.text()

    click(qtbot, criteria.add_button)
    event_row = row(criteria.rows[0])
    event = event_row.editors["event"]
    assert isinstance(event, EventEditor)
    refused(event_row, "Name the custom event")
    QTest.keyClicks(event.event_name, "Watch content")
    assert dialog.ok_button.isEnabled() and event_row.error.isHidden()

    # A between window whose end comes before its start.
    QTest.keyClicks(event.when.kind, "betw")
    type_date(qtbot, event.when.start, "2026-10-05")
    type_date(qtbot, event.when.end, "2026-10-01")
    refused(event_row, "needs an end date on or after its start")
    type_date(qtbot, event.when.end, "2026-10-09")
    assert dialog.ok_button.isEnabled()

    # An event attribute condition without an attribute name, then a number that is not.
    click(qtbot, event.conditions.add_button)
    line = event.conditions.lines[0]
    refused(event_row, "Attribute should not be empty")
    QTest.keyClicks(line.attribute, "minutes")
    QTest.keyClicks(line.type, "Num")
    QTest.keyClicks(line.values.text, "ten")
    refused(event_row, "“ten” is not a number")
    line.values.text.clear()
    QTest.keyClicks(line.values.text, "10")
    assert dialog.ok_button.isEnabled()

    # A commerce amount between one number and nothing.
    click(qtbot, criteria.add_button)
    commerce_row = row(criteria.rows[1])
    QTest.keyClicks(commerce_row.kind, "Comm")
    commerce = commerce_row.editors["ecommerce"]
    assert isinstance(commerce, CommerceEditor)
    click(qtbot, commerce.amounts.add_button)
    amount = commerce.amounts.lines[0]
    QTest.keyClicks(amount.operator, "betw")
    QTest.keyClicks(amount.values.text, "10")
    refused(commerce_row, "Type the high number")
    QTest.keyClicks(amount.values.high, "5O")
    refused(commerce_row, "“5O” is not a number")
    amount.values.high.clear()
    QTest.keyClicks(amount.values.high, "50")
    assert dialog.ok_button.isEnabled()

    # Device with no platform, identity with no type, location "is one of" nothing.
    for kind, words, fix in (
        ("Dev", "Tick at least one platform", lambda r: click(
            qtbot, r.editors["device"].boxes["iOS"])),
        ("Iden", "Identity type should not be empty", lambda r: QTest.keyClicks(
            r.editors["identity"].identity, "email")),
        ("Loc", "“is one of” needs a value", lambda r: QTest.keyClicks(
            r.editors["location"].value, "US, CA")),
    ):
        click(qtbot, criteria.add_button)
        target = row(criteria.rows[-1])
        QTest.keyClicks(target.kind, kind)
        if kind == "Iden":
            target.editors["identity"].identity.setCurrentText("")  # type: ignore[attr-defined]
        if kind == "Loc":
            operator = target.editors["location"].operator  # type: ignore[attr-defined]
            for _ in range(3):  # is -> is not -> matches pattern -> is one of
                QTest.keyClick(operator, Qt.Key.Key_Down)
            assert operator.currentText() == "is one of"
        refused(target, words)
        fix(target)
        assert target.error.isHidden() and dialog.ok_button.isEnabled(), kind


def test_the_window_s_builder_hints_from_the_stored_catalogue(
    qtbot: QtBot, editor: MainWindow
) -> None:
    """The real chain: the demo database's counts, through Studio, on a row of the builder.

    "Push opened" arrives only through Marketing Site's partner feed, which "Trial to
    paid" does not read: the row says where it was seen instead of a silent 0."""
    editor.edit_milestone("ms-watched")
    qtbot.waitUntil(lambda: isinstance(editor.active_dialog, MilestoneDialog), timeout=WAIT_MS)
    dialog = editor.active_dialog
    assert isinstance(dialog, MilestoneDialog)
    builder = dialog.criteria
    click(qtbot, builder.add_button)
    new_row = row(builder.rows[-1])
    event = new_row.editors["event"]
    assert isinstance(event, EventEditor)
    completer = event.event_name.completer()
    assert completer is not None
    offered = completer.model().stringList()  # type: ignore[attr-defined]
    assert "Watch content" in offered and "Push opened" not in offered

    QTest.keyClicks(event.event_name, "Push opened")
    builder.validate()
    partner_feed = editor.studio.state.inputs["in-marketing-partner"]
    with editor.studio.database.engine.connect() as connection:
        times = connection.exec_driver_sql(
            "SELECT count(*) FROM events WHERE event_name = 'Push opened'").scalar_one()
    assert times > 0
    assert new_row.hint.text() == (
        f"never seen in this journey's inputs; {times:,} times in "
        f"Marketing Site/{partner_feed.name}")

    event.event_name.clear()
    QTest.keyClicks(event.event_name, "Watch contnet")
    builder.validate()
    assert new_row.hint.text() == "never seen in any input"
    dialog.reject()
