"""Journeys as files and the built-in templates, through Studio on the demo database.

Every built-in template, created for the streaming app's inputs, has people in every
milestone on the demo data; a journey written to a file and read into another account
with the same inputs is the same journey under new ids; a file with a problem stores
nothing and says what and where. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.core.commands import CreateJourney
from app.core.errors import DataError
from app.core.models import Journey
from app.core.templates import TEMPLATES, Template
from app.studio import Studio

STREAMING_INPUTS = ("in-streaming-ios", "in-streaming-android", "in-streaming-web")


@pytest.fixture
def url(demo_url: str) -> str:
    return demo_url


@pytest.fixture
def studio(url: str) -> Iterator[Studio]:
    opened = Studio.open(url)
    yield opened
    opened.close()


def _stored(url: str) -> tuple[object, ...]:
    """The account as another process reads it from the database."""
    other = Studio.open(url)
    try:
        account, documents = other.state.snapshot()
        return account, tuple(sorted(documents, key=lambda d: d.journey.id))
    finally:
        other.close()


def _without_ids(data: dict[str, Any]) -> dict[str, Any]:
    """A journey file with every milestone id replaced by its place in the file."""
    places = {row["id"]: f"#{n}" for n, row in enumerate(data["milestones"])}
    text = json.dumps(data)
    for milestone_id, place in places.items():
        text = text.replace(json.dumps(milestone_id), json.dumps(place))
    return dict(json.loads(text))


# ---------------------------------------------------------------- templates


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda t: t.key)
def test_each_template_has_people_in_every_milestone_on_the_demo_data(
    studio: Studio, template: Template
) -> None:
    document = template.document(Journey(name=f"{template.name} test",
                                         input_ids=STREAMING_INPUTS))
    studio.execute(CreateJourney(document))
    result = studio.evaluate(studio.state.journey(document.journey.id).document())
    sizes = {m.name: m.size for m in result.milestones}
    assert list(sizes) == [m.name for m in template.milestones]
    assert all(size > 0 for size in sizes.values()), sizes
    # Splits partition their parent: the remaining users are the parent's others.
    for milestone in template.milestones:
        if milestone.remaining:
            parent = next(m for m in template.milestones if m.key == milestone.parent)
            siblings = [m.name for m in template.milestones
                        if m.parent == milestone.parent and not m.remaining]
            assert sizes[milestone.name] < sizes[parent.name]
            assert all(sizes[s] <= sizes[parent.name] for s in siblings)


# ---------------------------------------------------------------- files


def test_a_journey_file_read_into_another_account_is_the_same_journey_under_new_ids(
    studio: Studio, tmp_path: Path
) -> None:
    for template in TEMPLATES:
        studio.execute(CreateJourney(template.document(
            Journey(name=template.name + " copy", input_ids=STREAMING_INPUTS))))
    other = Studio.open(f"sqlite:///{tmp_path}/other.db")
    try:
        for graph in studio.state.journeys():
            path = tmp_path / f"{graph.id}.json"
            studio.export_journey(graph.id, path)
            original = graph.document()
            loaded = other.read_journey_file(path, name=f"{graph.name} imported")
            other.execute(CreateJourney(loaded.document))
            copy = other.state.journey(loaded.document.journey.id).document()

            # New ids for the journey and every milestone, mapped one to one.
            assert copy.journey.id != original.journey.id
            ids = {m.id: c.id for m, c in zip(original.milestones, copy.milestones,
                                              strict=True)}
            assert not set(ids) & set(ids.values())
            # Otherwise the same: names, parents, splits, criteria, places, inputs.
            assert copy.journey.input_ids == original.journey.input_ids
            assert copy.journey.name == f"{graph.name} imported"
            assert [m.model_copy(update={
                "id": ids[m.id], "parent_id": ids.get(m.parent_id or "")})
                for m in original.milestones] == list(copy.milestones)
            # And the file of the copy is the file of the original, ids aside.
            again = json.loads(other.journey_file_text(copy.journey.id))
            first = json.loads(path.read_text(encoding="utf-8"))
            again["journey"]["name"] = first["journey"]["name"]
            assert _without_ids(again) == _without_ids(first)
    finally:
        other.close()


def test_a_name_clash_gets_the_next_free_name_or_a_refusal_that_says_why(
    studio: Studio, url: str, tmp_path: Path
) -> None:
    path = tmp_path / "trial.json"
    studio.export_journey("jr-trial-to-paid", path)
    before = _stored(url)
    with pytest.raises(Exception, match="There is already a journey called “Trial to paid”"):
        studio.read_journey_file(path)
    assert _stored(url) == before

    loaded = studio.read_journey_file(path, new_name_on_clash=True)
    assert loaded.document.journey.name == "Trial to paid (2)"
    assert loaded.renamed_from == "Trial to paid"
    studio.execute(CreateJourney(loaded.document))
    third = studio.read_journey_file(path, new_name_on_clash=True)
    assert third.document.journey.name == "Trial to paid (3)"


def test_inputs_the_account_lacks_are_refused_by_name(studio: Studio, tmp_path: Path) -> None:
    path = tmp_path / "trial.json"
    studio.export_journey("jr-trial-to-paid", path)
    empty = Studio.open(f"sqlite:///{tmp_path}/empty.db", seed_demo=False)
    try:
        with pytest.raises(DataError) as refusal:
            empty.read_journey_file(path)
        assert str(refusal.value).startswith(
            "The journey reads inputs this account does not have: Streaming App/iOS, "
            "Streaming App/Android, Streaming App/Web.")
        assert not list(empty.state.journeys())
    finally:
        empty.close()


def _trial_file(studio: Studio) -> dict[str, Any]:
    return dict(json.loads(studio.journey_file_text("jr-trial-to-paid")))


def _bad_count(data: dict[str, Any]) -> None:
    data["milestones"][1]["definition"]["clauses"][0]["item"]["count"] = "many"


def _no_name(data: dict[str, Any]) -> None:
    del data["milestones"][2]["name"]


def _orphan(data: dict[str, Any]) -> None:
    data["milestones"][1]["parent_id"] = "nowhere"


def _wrong_format(data: dict[str, Any]) -> None:
    data["format"] = "something else"


@pytest.mark.parametrize(("spoil", "message"), [
    (_bad_count, "milestone 2 (“Watched content”): clause 1 (event criterion), field count: "
                 "should be a whole number"),
    (_no_name, "milestone 3, field name: is missing"),
    (_orphan, "milestone 2 (“Watched content”), field parent_id: “nowhere” is not the id "
              "of a milestone before it in the file"),
    (_wrong_format, "This is not a journey export"),
])
def test_a_malformed_file_stores_nothing_and_names_what_and_where(
    studio: Studio, url: str, tmp_path: Path, spoil: Any, message: str
) -> None:
    data = _trial_file(studio)
    spoil(data)
    path = tmp_path / "spoilt.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    before = _stored(url)
    with pytest.raises(DataError) as refusal:
        studio.read_journey_file(path, new_name_on_clash=True)
    assert message in str(refusal.value)
    assert _stored(url) == before


def test_a_file_that_is_not_json_says_so(studio: Studio, tmp_path: Path) -> None:
    path = tmp_path / "notes.json"
    path.write_text("{\"format\": ", encoding="utf-8")
    with pytest.raises(DataError, match=r"^notes\.json is not JSON: "):
        studio.read_journey_file(path)
    with pytest.raises(DataError, match=r"^Can't read .*missing\.json"):
        studio.read_journey_file(tmp_path / "missing.json")
