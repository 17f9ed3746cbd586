"""``journeys catalogue``: what the demo data holds, over a journey's inputs or every input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from app.cli import main
from app.studio import Studio


def test_the_catalogue_of_a_journey_lists_only_what_its_inputs_saw(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "j.db")

    assert main(["--db", db, "catalogue", "--journey", "Trial to paid"]) == 0

    out = capsys.readouterr().out
    assert out.startswith("Seen by the inputs of “Trial to paid” (Streaming App/Android, "
                          "Streaming App/Web, Streaming App/iOS):")
    assert "Watch content" in out and "custom_event" in out
    assert "Sign up for trial: " in out  # its attributes
    assert "favorite_genres    list" in out
    assert "Push opened" not in out  # only the partner feed, which the journey does not read
    assert main(["--db", db, "catalogue"]) == 0
    assert "Push opened" in capsys.readouterr().out


def test_the_catalogue_as_json_has_the_counts_the_builder_gets(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = str(tmp_path / "j.db")

    assert main(["--db", db, "catalogue", "--json"]) == 0

    listed = json.loads(capsys.readouterr().out)
    studio = Studio.open(db)
    try:
        catalogue = studio.account_catalogue()
        assert listed["inputs"] == sorted(studio.input_labels().values())
    finally:
        studio.close()
    watched = next(e for e in listed["event"] if e["value"] == "Watch content")
    entry = next(e for e in catalogue.entries("event", "custom_event")
                 if e.value == "Watch content")
    assert (watched["count"], watched["last_seen"]) == (
        entry.count, entry.last_seen.isoformat() if entry.last_seen else None)
    assert {e["value"] for e in listed["identity_type"]} == {
        "customer_id", "email", "mobile_number"}


def test_a_misspelled_event_gets_the_hint_in_the_studio_catalogue(tmp_path: Path) -> None:
    studio = Studio.open(str(tmp_path / "j.db"))
    try:
        journey = studio.state.journey_by_name("Trial to paid")
        catalogue = studio.catalogue(journey.id)
        pushes = next(e.count for e in studio.account_catalogue().entries("event")
                      if e.value == "Push opened")

        assert catalogue.hint("event", "custom_event", "Push opened") == (
            f"never seen in this journey's inputs; {pushes:,} times in "
            "Marketing Site/Partner feed: Braze")
        assert catalogue.hint("event", "custom_event", "Watch contnet") == (
            "never seen in any input")
        assert "Watch content" in catalogue.values("event", "custom_event")
    finally:
        studio.close()
