"""Hostile journey files: ``journeys journey import FILE`` stores nothing it can't evaluate.

Each case of the corpus is a journey file written by the test (counts past 64 bits,
NaN written as JSON's NaN, text for numbers, NUL characters, bytes that are not
UTF-8, nesting 10,000 deep, lists where objects belong, audience-membership
criteria that point at their own milestone, one after it or nothing). Each must
end with exit code 1 and one message naming the milestone (by name, or by its
place in the file when it has none) and the field, never a traceback, with the
stored journeys exactly as before. The same corpus runs on SQLite and PostgreSQL.

A valid file whose criteria use a sibling branch's audience and another journey's
audience imports and evaluates on both, and so does one with every bound at its
limit: the bounds are what can be evaluated, not guesses.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, func, make_url, select, text
from sqlalchemy.pool import NullPool

from app.cli import main
from app.core.commands import SetCriteria
from app.core.criteria import (
    CLAUSES_MAX,
    CONDITIONS_MAX,
    COUNT_MAX,
    GROUP_DEPTH_MAX,
    LIST_VALUES_MAX,
    WINDOW_DAYS_MAX,
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
)
from app.core.errors import AudienceMembershipError
from app.store.schema import JourneyInputRow, JourneyRow, MilestoneRow, OutputRow
from app.studio import Studio

NAN = float("nan")
INF = float("inf")
BAD_BYTES = "@@not-utf-8@@"
"""Stands for bytes that are not UTF-8 in a file's text; replaced when it is written."""


# ---------------------------------------------------------------- the files


def event(**fields: Any) -> dict[str, Any]:
    return {"kind": "event", "event_name": "Open", **fields}


def member_of(milestone_id: str, member: bool = True) -> dict[str, Any]:
    return {"kind": "audience", "milestone_id": milestone_id, "member": member}


def criteria(*items: dict[str, Any]) -> dict[str, Any]:
    return {"clauses": [{"join": "and", "item": item} for item in items]}


def milestone(milestone_id: str, name: str | None, *items: dict[str, Any],
              parent: str | None = None, **extra: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"id": milestone_id}
    if name is not None:
        row["name"] = name
    row.update({"parent_id": parent, "remaining": False, "definition": criteria(*items),
                "x": 0.0, "y": 0.0})
    row.update(extra)
    return row


def journey(*milestones: dict[str, Any], name: str = "Hostile", **top: Any) -> dict[str, Any]:
    return {
        "format": "journey-studio.journey",
        "version": 1,
        "criteria_version": 1,
        "journey": {"name": name, "inputs": [{"workspace": "Streaming App", "name": "iOS"}]},
        "milestones": list(milestones),
        **top,
    }


def as_file(data: dict[str, Any]) -> bytes:
    """JSON as Python writes it: NaN and Infinity as bare words, NUL as \\u0000."""
    return json.dumps(data, allow_nan=True).encode().replace(
        json.dumps(BAD_BYTES).encode()[1:-1], b"\xff\xfe"
    )


def deep_groups(depth: int) -> bytes:
    """A file whose first milestone's criteria nest ``depth`` groups, written by hand
    (Python's own JSON writer would overflow its stack)."""
    head, tail = as_file(journey(milestone("a", "Opened", event()))).split(
        json.dumps(event()).encode()
    )
    inner = json.dumps({"kind": "identity", "identity_type": "email"}).encode()
    group = b'{"kind": "group", "clauses": [{"item": '
    return head + group * depth + inner + b"}]}" * depth + tail


def with_opened(*items: dict[str, Any], **extra: Any) -> bytes:
    return as_file(journey(milestone("a", "Opened", *items, **extra)))


@dataclass(frozen=True)
class Case:
    name: str
    content: bytes
    message: tuple[str, ...]
    """Fragments the one line on stderr holds, in this order."""


def case(name: str, content: bytes, *message: str) -> Case:
    return Case(name, content, message)


CORPUS = [
    case("count 2**63", with_opened(event(count=2**63)),
         "milestone 1 (“Opened”): clause 1 (event criterion), field count: "
         f"should be at most {COUNT_MAX:,}"),
    case("count -1", with_opened(event(count=-1)),
         "milestone 1 (“Opened”): clause 1 (event criterion), field count: should be at least 0"),
    case("count as text", with_opened(event(count="3")),
         "milestone 1 (“Opened”): clause 1 (event criterion), field count: "
         "should be a whole number"),
    case("count true", with_opened(event(count=True)),
         "milestone 1 (“Opened”): clause 1 (event criterion), field count: "
         "should be a whole number"),
    case("days as text", with_opened(event(window={"kind": "within_last_days", "days": "30"})),
         "milestone 1 (“Opened”): clause 1 (event criterion), field window.days: "
         "should be a whole number"),
    case("NaN amount",
         with_opened({"kind": "ecommerce", "amount": [{"operator": "gt", "value": NAN}]}),
         "milestone 1 (“Opened”): clause 1 (ecommerce criterion), field amount[0].value: "
         "should be a finite number, not NaN or Infinity"),
    case("Infinity amount",
         with_opened({"kind": "ecommerce",
                      "amount": [{"operator": "between", "value": [10, INF]}]}),
         "milestone 1 (“Opened”): clause 1 (ecommerce criterion), field amount[0].value[1]: "
         "should be a finite number"),
    case("amount as text",
         with_opened({"kind": "ecommerce", "amount": [{"operator": "gt", "value": "12"}]}),
         "milestone 1 (“Opened”): clause 1 (ecommerce criterion), field amount[0].value: "
         "should be a number or a list"),
    case("NaN attribute value",
         with_opened({"kind": "user_attribute", "condition": {
             "attribute": "ltv", "type": "number", "operator": "gt", "value": NAN}}),
         "milestone 1 (“Opened”): clause 1 (user attribute criterion), field condition.value: "
         "should be a finite number"),
    case("NUL in an event name", with_opened(event(event_name="Op\x00en")),
         "milestone 1 (“Opened”): clause 1 (event criterion), field event_name: "
         "contains a NUL character"),
    case("NUL in a list value",
         with_opened({"kind": "location", "field": "city", "operator": "in",
                      "value": ["Paris", "Ly\x00on"]}),
         "milestone 1 (“Opened”): clause 1 (location criterion), field value[1]: "
         "contains a NUL character"),
    case("NUL in a milestone name", as_file(journey(milestone("a", "Op\x00ened", event()))),
         "milestone 1, field name: ", "NUL character"),
    case("NUL in the journey name", as_file(journey(milestone("a", "Opened"), name="Ho\x00")),
         "journey, field name: ", "NUL character"),
    case("bad UTF-8 in a milestone name",
         as_file(journey(milestone("a", "Opened"), milestone("b", f"Bo{BAD_BYTES}ught",
                                                           parent="a"))),
         "milestone 2, field name: is not valid UTF-8 text"),
    case("bad UTF-8 in an event name", with_opened(event(event_name=f"Op{BAD_BYTES}en")),
         "milestone 1 (“Opened”): clause 1 (event criterion), field event_name: "
         "is not valid UTF-8 text"),
    case("groups 10,000 deep", deep_groups(10_000),
         "milestone 1 (“Opened”), field definition: ", f"at most {GROUP_DEPTH_MAX} deep"),
    case("groups one too deep", deep_groups(GROUP_DEPTH_MAX + 1),
         "milestone 1 (“Opened”): definition: clause 1 nests groups "
         f"{GROUP_DEPTH_MAX + 1} deep; groups nest at most {GROUP_DEPTH_MAX} deep"),
    case("a list for the criteria",
         as_file(journey({**milestone("a", "Opened"), "definition": [event()]})),
         "milestone 1 (“Opened”), field definition: should be an object"),
    case("a list for a criterion",
         as_file(journey({**milestone("a", "Opened"),
                          "definition": {"clauses": [{"item": [event()]}]}})),
         "milestone 1 (“Opened”): clause 1, field item: should be an object"),
    case("a list for a milestone", as_file(journey([milestone("a", "Opened")])),  # type: ignore[arg-type]
         "milestone 1: should be an object"),
    case("an object for the milestones",
         as_file({**journey(), "milestones": {"a": milestone("a", "Opened")}}),
         "field milestones: should be a list"),
    case("text for the inputs",
         as_file({**journey(), "journey": {"name": "Hostile", "inputs": "iOS"}}),
         "journey, field inputs: should be a list"),
    case("text for a position", with_opened(event(), x="left"),
         "milestone 1 (“Opened”), field x: should be a number"),
    case("NaN position", with_opened(event(), y=NAN),
         "milestone 1 (“Opened”), field y: should be a finite number"),
    case("text for the criteria version", as_file(journey(criteria_version="1")),
         "field criteria_version: should be a whole number"),
    case("no name", as_file(journey(milestone("a", None, event(count=2**63)))),
         "milestone 1, field name: is missing"),
    case("the same id twice",
         as_file(journey(milestone("a", "Opened"), milestone("a", "Bought", parent="a"))),
         "milestone 2 (“Bought”), field id: “a” is also the id of milestone 1"),
    case("a parent that is not before it",
         as_file(journey(milestone("b", "Bought", parent="a"), milestone("a", "Opened"))),
         "milestone 1 (“Bought”), field parent_id: “a” is not the id of a milestone before it"),
    case("membership of itself", with_opened(event(), member_of("a")),
         "milestone 1 (“Opened”): clause 2 (audience membership criterion), field milestone_id: "
         "The criteria of “Opened” can't use its own audience"),
    case("membership of a descendant",
         as_file(journey(milestone("a", "Opened", member_of("c", member=False)),
                         milestone("b", "Bought", parent="a"),
                         milestone("c", "Kept", parent="b"))),
         "milestone 1 (“Opened”): clause 1 (audience membership criterion), field milestone_id: "
         "The criteria of “Opened” can't use the audience of “Kept”, which comes after it"),
    case("membership of a missing milestone",
         as_file(journey(milestone("a", "Opened"),
                         milestone("b", "Bought", {"kind": "group", "clauses": [
                             {"item": event()},
                             {"join": "exclude", "item": member_of("nowhere")}]},
                             parent="a"))),
         "milestone 2 (“Bought”): clause 1 (group) › clause 2 (audience membership criterion), "
         "field milestone_id: The criteria of “Bought” use an audience that is not in this "
         "account"),
]


# ---------------------------------------------------------------- the databases


@pytest.fixture(scope="module",
                params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[str]:
    """One database a backend for the whole corpus (a refused file leaves it as it was),
    holding the demo account."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('journey-files')}/journeys.db"
        assert main(["--db", url, "journeys", "list"]) == 0
        yield url
        return
    admin: Engine = request.getfixturevalue("pg_admin_engine")
    name = f"js_files_{uuid.uuid4().hex[:16]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(request.getfixturevalue("postgres_url")).set(database=name)
    rendered = url.render_as_string(hide_password=False)
    try:
        assert main(["--db", rendered, "journeys", "list"]) == 0
        yield rendered
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def stored_rows(url: str) -> dict[str, int]:
    """How many rows each table of journeys holds."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            return {
                row.__tablename__: connection.execute(
                    select(func.count()).select_from(row)
                ).scalar_one()
                for row in (JourneyRow, JourneyInputRow, MilestoneRow, OutputRow)
            }
    finally:
        engine.dispose()


Run = Callable[..., tuple[int, str, str]]


@pytest.fixture
def run(db_url: str, capsys: pytest.CaptureFixture[str]) -> Run:
    """``journeys --db URL ARGS…`` -> (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(["--db", db_url, *args])
        out, err = capsys.readouterr()
        return code, out, err

    return _run


# ---------------------------------------------------------------- the tests


@pytest.mark.parametrize("hostile", CORPUS, ids=[c.name for c in CORPUS])
def test_a_hostile_journey_file_is_refused_naming_the_milestone_and_field(
    hostile: Case, run: Run, db_url: str, tmp_path: Path
) -> None:
    rows_before = stored_rows(db_url)
    _, listed_before, _ = run("journeys", "list")
    path = tmp_path / "journey.json"
    path.write_bytes(hostile.content)

    code, out, err = run("journey", "import", str(path))

    assert code == 1
    assert out == ""
    assert "Traceback" not in err
    assert err.startswith("journeys: ")
    assert err.count("\n") == 1, err
    position = 0
    for fragment in hostile.message:
        found = err.find(fragment, position)
        assert found >= 0, f"{fragment!r} not in {err!r}"
        position = found + len(fragment)
    assert stored_rows(db_url) == rows_before
    assert run("journeys", "list")[1] == listed_before


def test_a_file_read_from_standard_input_is_refused_the_same_way(
    run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    stdin = io.TextIOWrapper(io.BytesIO(with_opened(event(count=2**63))), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stdin)
    code, _, err = run("journey", "import", "-")
    assert code == 1
    assert "milestone 1 (“Opened”): clause 1 (event criterion), field count" in err


def test_memberships_of_a_sibling_branch_and_of_another_journey_import_and_evaluate(
    run: Run, tmp_path: Path
) -> None:
    code, out, _ = run("journey", "export", "Trial to paid")
    assert code == 0
    other = json.loads(out)["milestones"][0]
    path = tmp_path / "fine.json"
    path.write_bytes(as_file(journey(
        milestone("a", "Opened", event()),
        milestone("b", "Not yet bought", member_of("c", member=False), parent="a"),
        milestone("c", "Bought", {"kind": "ecommerce", "amount": [
            {"operator": "between", "value": [10, 1e12]}]}, parent="a"),
        milestone("d", "Also elsewhere", member_of(other["id"]), parent="b"),
        name=f"Fine {uuid.uuid4().hex[:6]}",
    )))
    code, out, err = run("journey", "import", str(path))
    assert (code, err) == (0, "")
    name = out.split("“")[1].split("”")[0]
    code, out, err = run("evaluate", name, "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert [m["name"] for m in report["milestones"]] == [
        "Opened", "Not yet bought", "Also elsewhere", "Bought"]
    exported = json.loads(run("journey", "export", name)[1])
    by_name = {m["name"]: m for m in exported["milestones"]}
    first = by_name["Not yet bought"]["definition"]["clauses"][0]["item"]
    assert first["milestone_id"] == by_name["Bought"]["id"]
    last = by_name["Also elsewhere"]["definition"]["clauses"][0]["item"]
    assert last["milestone_id"] == other["id"]


def test_criteria_at_every_bound_import_and_evaluate(run: Run, tmp_path: Path) -> None:
    """The longest definition, the deepest groups, the largest count, window, number and
    lists: all of it is evaluated on both databases (about twice as many clauses in one
    list overflow the query compiler's stack)."""
    widest = [
        event(count_operator="<=", count=COUNT_MAX,
              window={"kind": "within_last_days", "days": WINDOW_DAYS_MAX},
              conditions=[{"attribute": f"a{i}", "type": "number", "operator": "le",
                           "value": 1.7e308} for i in range(CONDITIONS_MAX)]),
        {"kind": "ecommerce", "amount": [{"operator": "between", "value": [-1.7e308, 1.7e308]}]},
        {"kind": "location", "field": "city", "operator": "not_in",
         "value": [f"City {i}" for i in range(LIST_VALUES_MAX)]},
        {"kind": "device", "platforms": [f"p{i}" for i in range(LIST_VALUES_MAX)], "negate": True},
    ]
    widest += [event(event_name=f"Event {i}") for i in range(CLAUSES_MAX - len(widest))]
    deepest: dict[str, Any] = event()
    for level in range(GROUP_DEPTH_MAX):
        deepest = {"kind": "group", "clauses": [
            {"item": deepest}, {"join": "or", "item": event(event_name=f"Level {level}")}]}
    name = f"Bounds {uuid.uuid4().hex[:6]}"
    path = tmp_path / "bounds.json"
    rows = milestone("a", "Widest", *widest)
    rows["definition"]["clauses"] = [
        {"join": "or" if i else "and", "item": item} for i, item in enumerate(widest)
    ]
    path.write_bytes(as_file(journey(rows, milestone("b", "Deepest", deepest, parent="a"),
                                     name=name)))
    code, _, err = run("journey", "import", str(path))
    assert (code, err) == (0, "")
    code, out, err = run("evaluate", name, "--json")
    assert (code, err) == (0, "")
    assert [m["name"] for m in json.loads(out)["milestones"]] == ["Widest", "Deepest"]


def test_the_canvas_command_refuses_the_same_memberships_and_stores_nothing(
    db_url: str,
) -> None:
    """SetCriteria through the application service, as the window's undo stack runs it:
    a membership of the milestone itself or of one after it is refused with the core's
    message and nothing is stored; one of another journey's milestone is saved and
    evaluated."""
    studio = Studio.open(db_url)
    try:
        trial = studio.state.journey_by_name("Trial to paid")
        first, second = list(trial.milestones_in_order())[:2]
        assert second.parent_id == first.id
        promo = studio.state.journey_by_name("California promo")
        elsewhere = next(promo.milestones_in_order())
        stored_before = stored_rows(db_url)
        for target, fragment in ((first.id, "its own audience"),
                                 (second.id, "which comes after it")):
            definition = AudienceDefinition(clauses=(
                Clause(item=AudienceMembershipCriterion(milestone_id=target)),))
            with pytest.raises(AudienceMembershipError, match=fragment):
                studio.execute(SetCriteria(trial.id, first.id, definition))
            assert trial.milestone(first.id).definition == first.definition
        assert stored_rows(db_url) == stored_before

        allowed = AudienceDefinition(clauses=(
            *first.definition.clauses,
            Clause(join="exclude", item=AudienceMembershipCriterion(milestone_id=elsewhere.id)),
        ))
        studio.execute(SetCriteria(trial.id, first.id, allowed))
        result = studio.evaluate(trial.document())
        assert [m.name for m in result.milestones] == [
            m.name for m in trial.milestones_in_order()]
    finally:
        studio.close()
    reopened = Studio.open(db_url)
    try:
        again = reopened.state.journey_by_name("Trial to paid")
        assert again.milestone(first.id).definition == allowed
    finally:
        reopened.close()
