"""Duplicate targeting: the overlap of active audiences across journeys, and its warnings.

On the demo data (SQLite, and PostgreSQL when a server is configured): the counts of
``Studio.overlap`` (one grouped query over the stored memberships) equal those computed
directly from each audience's stored members; two overlapping audiences sent to one
connection are warned about in the marketer's words; ``journeys overlap`` prints the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from itertools import combinations

import pytest

from app.cli import main
from app.core.commands import AddOutput, SetJourneyExclusive
from app.core.models import Output
from app.core.overlap import ActiveAudience, OverlapPair, overlap_report
from app.engine.evaluation import stored_members
from app.studio import Studio

SIGNED_UP, CONVERTED = "ms-signed-up", "ms-converted"
ALL_USERS, CALIFORNIA = "ms-all-users", "ms-california"


@pytest.fixture
def url(demo_url: str) -> str:
    return demo_url


@pytest.fixture
def studio(url: str) -> Iterator[Studio]:
    """The demo account, with “Converted to paid” also sent to the CRM webhook (as “Signed
    up for trial” is), every journey evaluated."""
    opened = Studio.open(url)
    try:
        trial = opened.state.journey_by_name("Trial to paid")
        opened.execute(AddOutput(trial.id, Output(id="out-converted-crm",
                                                  milestone_id=CONVERTED,
                                                  connection_id="cn-crm")))
        _evaluate_all(opened)
        yield opened
    finally:
        opened.close()


def _evaluate_all(studio: Studio) -> None:
    for graph in studio.state.journeys():
        studio.evaluate(graph.document())


def _direct(studio: Studio) -> tuple[dict[frozenset[str], int], int]:
    """Shared users per pair and users in two or more, from each audience's members."""
    ids = [mid for _graph, mid in studio.state.active_audiences()]
    sets = {mid: stored_members(studio.database, mid) for mid in ids}
    shared = {frozenset((a, b)): len(sets[a] & sets[b]) for a, b in combinations(ids, 2)}
    everyone = [u for users in sets.values() for u in users]
    several = sum(1 for u in set(everyone) if everyone.count(u) >= 2)
    return {k: v for k, v in shared.items() if v}, several


def test_overlap_counts_equal_a_direct_computation_on_the_demo_data(studio: Studio) -> None:
    report = studio.overlap()
    shared, several = _direct(studio)
    assert report.audiences == len(studio.state.active_audiences()) == 6
    assert report.in_several == several > 0
    assert {frozenset((p.first.audience_id, p.second.audience_id)): p.shared
            for p in report.pairs} == shared
    assert [p.shared for p in report.pairs] == sorted((p.shared for p in report.pairs),
                                                      reverse=True)
    for pair in report.pairs:
        assert pair.first_size == len(stored_members(studio.database, pair.first.audience_id))
        smaller = min(pair.first_size, pair.second_size)
        assert pair.percent_of_smaller == pytest.approx(100 * pair.shared / smaller)


def test_two_overlapping_audiences_sent_to_one_connection_are_warned_about(
    studio: Studio,
) -> None:
    """“Converted to paid” sits below “Signed up for trial” and both go to the CRM webhook;
    “In California” is inside “All app and web users” and both go to Facebook. Switching
    the trial journey's option on ends its warning (the two share no one any more)."""
    converted = len(stored_members(studio.database, CONVERTED))
    california = len(stored_members(studio.database, CALIFORNIA))
    assert converted and california
    warnings = studio.overlap().warnings
    assert (f"“Signed up for trial” and “Converted to paid” both go to CRM webhook and share "
            f"{converted:,} users: they will receive both. Turn on “users leave earlier "
            f"milestones” for “Trial to paid” to send each user the later one only."
            ) in warnings
    assert any(w.startswith(f"“All app and web users” and “In California” both go to "
                            f"Facebook Custom Audiences and share {california:,} users")
               for w in warnings)
    assert len(warnings) == 2  # Signed up and All users share users but not a partner
    trial = studio.state.journey_by_name("Trial to paid")
    studio.execute(SetJourneyExclusive(trial.id, True))
    studio.evaluate(studio.state.journey(trial.id).document())
    after = studio.overlap()
    assert not any("CRM webhook" in w for w in after.warnings)
    assert len(after.warnings) == 1


def test_the_warning_names_every_shared_connection_and_counts_one_user() -> None:
    def audience(aid: str, name: str, *connections: tuple[str, str]) -> ActiveAudience:
        return ActiveAudience(aid, name, "j", "Journey", connections)

    a = audience("a", "Converted", ("c1", "CRM webhook"), ("c2", "Braze"))
    b = audience("b", "Trial users", ("c2", "Braze"), ("c1", "CRM webhook"))
    c = audience("c", "Lapsed", ("c3", "Facebook"))
    report = overlap_report([a, b, c], {"a": 10, "b": 4, "c": 8},
                            {("a", "b"): 1, ("a", "c"): 3, ("b", "c"): 0}, 2)
    assert [(p.first.name, p.second.name, p.shared) for p in report.pairs] == [
        ("Converted", "Lapsed", 3), ("Converted", "Trial users", 1)]
    assert report.warnings == (
        "“Converted” and “Trial users” both go to CRM webhook and Braze and share 1 user: "
        "they will receive both.",)
    assert report.pairs[1].percent_of_smaller == 25.0
    assert OverlapPair(a, c, 0, 0, 0).warning() is None


def test_journeys_overlap_prints_the_pairs_and_the_warnings(
    studio: Studio, url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = studio.overlap()
    studio.close()
    assert main(["--db", url, "overlap"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == (f"{report.in_several:,} users are in more than one of the 6 active "
                      f"audiences.")
    assert out[2].split("  ")[0:1] == ["Audience A"]
    first = report.pairs[0]
    assert out[4].split()[:1] == first.first.name.split()[:1]
    assert f"{first.shared:,}" in out[4] and f"{first.percent_of_smaller:.1f}%" in out[4]
    warned = [line.removeprefix("Warning: ") for line in out if line.startswith("Warning: ")]
    assert warned == list(report.warnings)
    assert main(["--db", url, "overlap", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["users_in_several"] == report.in_several
    assert [(p["a"]["name"], p["b"]["name"], p["shared"]) for p in data["pairs"]] == [
        (p.first.name, p.second.name, p.shared) for p in report.pairs]
    assert data["warnings"] == list(report.warnings)
