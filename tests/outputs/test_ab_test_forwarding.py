"""The arms of an A/B test are audiences of their own: a partner sees "<audience> - <variant>"."""

from __future__ import annotations

from collections.abc import Iterator

import orjson
import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import update
from werkzeug import Request, Response

from app.core.commands import AddOutput, add_ab_test
from app.core.models import Output
from app.engine.ab_tests import ab_test_results
from app.outputs.dispatcher import RetryPolicy
from app.store.schema import ConnectionRow
from app.studio import Studio
from tests.database_templates import NewDatabase
from tests.partner import member_ids

TRIAL = "jr-trial-to-paid"
SIGNED_UP = "ms-signed-up"
QUICK = RetryPolicy(attempts=2, initial_seconds=0.0, max_seconds=0.0, jitter_seconds=0.0)


@pytest.fixture
def studio(new_database: NewDatabase, httpserver: HTTPServer) -> Iterator[Studio]:
    opened = Studio.open(new_database("sqlite", "demo"))
    with opened.database.engine.begin() as connection:
        connection.execute(
            update(ConnectionRow.__table__)
            .where(ConnectionRow.__table__.c.id == "cn-crm")
            .values(settings={"url": httpserver.url_for("/audiences")})
        )
    try:
        yield opened
    finally:
        opened.close()


def test_a_variant_is_delivered_under_its_audience_and_variant_name(
    studio: Studio, httpserver: HTTPServer
) -> None:
    names: set[str] = set()
    received: set[str] = set()

    def receive(request: Request) -> Response:
        for profile in orjson.loads(request.get_data())["user_profiles"]:
            audience = profile["audiences"][0]
            names.add(audience["audience_name"])
            if audience["action"] == "add":
                received.add(profile["mpid"])
        return Response("{}", status=202)

    httpserver.expect_request("/audiences", method="POST").respond_with_handler(receive)
    studio.execute(add_ab_test(studio.state, TRIAL, SIGNED_UP, [("Variant B", 30)]))
    graph = studio.state.journey(TRIAL)
    arm = next(m for m in graph.children(SIGNED_UP) if m.name.endswith("Variant B"))
    output = Output(milestone_id=arm.id, connection_id="cn-crm")
    studio.execute(AddOutput(TRIAL, output))
    studio.evaluate(studio.state.journey(TRIAL).document())
    report = studio.forward([output.id], policy=QUICK, sleep=lambda _s: None)

    assert report.faulted == {}
    assert names == {"Signed up for trial - Variant B"}
    assert received == member_ids(studio.database, arm.id)
    assert received  # the demo's sign-ups do land in the variant

    # Stored and reopened, the test is the same (ranges, test id), and so are its results.
    reopened = Studio.open(str(studio.database.engine.url).removeprefix("sqlite:///"))
    try:
        assert reopened.state.journey(TRIAL).document() == studio.state.journey(TRIAL).document()
    finally:
        reopened.close()
    [comparison] = ab_test_results(studio.database, graph, SIGNED_UP)
    assert comparison.variant.size == len(received)


def test_a_journey_file_keeps_its_test(studio: Studio) -> None:
    """Exported and imported again, the arms are arms with the same ranges and test id."""
    from app.core.journey_file import export_document, import_document

    studio.execute(add_ab_test(studio.state, TRIAL, SIGNED_UP, [("A", 10), ("B", 20)]))
    document = studio.state.journey(TRIAL).document()
    data = orjson.loads(orjson.dumps(export_document(studio.state, document)))
    copy = import_document(studio.state, data, name="Copy")
    assert [m.variant for m in copy.milestones] == [m.variant for m in document.milestones]
    assert sum(m.variant is not None for m in copy.milestones) == 3
