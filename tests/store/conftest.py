"""Store fixtures: a fresh database per test, on SQLite always and on PostgreSQL when available.

``db_url`` (empty) and ``migrated_url`` (at the newest schema) come from tests/conftest.py,
parametrised over both backends: each test gets a database of its own, dropped afterwards,
so tests never see each other's rows. Without a server the PostgreSQL variant is skipped
(and fails under CI, as ``postgres_url`` decides).

Sample data builders live here as fixtures so every test module shares them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from app.core.criteria import (
    AudienceDefinition,
    AudienceMembershipCriterion,
    Clause,
    Condition,
    DeviceCriterion,
    EventCriterion,
    Group,
    IdentityCriterion,
    LocationCriterion,
    TimeWindow,
    UserAttributeCriterion,
)
from app.core.graph import JourneyGraph
from app.core.models import (
    Account,
    Connection,
    Input,
    Journey,
    JourneyDocument,
    Milestone,
    Output,
    Workspace,
)
from app.store import AccountData, AccountRepository, Database
from tests.database_templates import NewDatabase

# ---------------------------------------------------------------------- databases


def _open(url: str) -> Iterator[Database]:
    database = Database(url)
    try:
        yield database
    finally:
        database.dispose()


@pytest.fixture
def db(migrated_url: str) -> Iterator[Database]:
    """An opened (migrated) database, once per backend."""
    yield from _open(migrated_url)


@pytest.fixture
def sqlite_db(new_database: NewDatabase) -> Iterator[Database]:
    yield from _open(new_database("sqlite", "migrated"))


@pytest.fixture
def pg_db(postgres_url: str, new_database: NewDatabase) -> Iterator[Database]:
    yield from _open(new_database("postgresql", "migrated"))


# ---------------------------------------------------------------------- sample data


@pytest.fixture
def account_data() -> AccountData:
    """An account with two workspaces, platform and partner inputs, and connections."""
    mobile = Workspace(name="Mobile apps")
    web = Workspace(name="Web")
    return AccountData(
        account=Account(name="Acme Retail", active_audience_limit=7),
        workspaces=(mobile, web),
        inputs=(
            Input(workspace_id=mobile.id, name="iOS app", kind="platform", platform="iOS"),
            Input(workspace_id=mobile.id, name="Android app", platform="Android"),
            Input(workspace_id=web.id, name="Storefront", platform="web"),
            Input(workspace_id=web.id, name="Zendesk feed", kind="partner", platform=None),
        ),
        connections=(
            Connection(
                name="Braze production",
                partner="braze",
                settings={
                    "api_key": "k-123",
                    "endpoint": "https://rest.iad-01.braze.com",
                    "retry": {"attempts": 5, "backoff_s": 1.5, "codes": [429, 503]},
                    "dry_run": False,
                    "note": None,
                },
            ),
            Connection(
                name="audience webhook",
                partner="webhook",
                settings={"url": "https://hooks.example.com/a", "secret": "s3cr3t"},
            ),
        ),
    )


def rich_definition(other_milestone_id: str) -> AudienceDefinition:
    """A definition with every criterion kind, every join, a nested group, every value type."""
    march = (datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 3, 31, 23, 59, 59, tzinfo=UTC))
    purchase = EventCriterion(
        event_type="commerce_event",
        commerce_action="purchase",
        conditions=(
            Condition(
                attribute="total_amount", type="number", operator="between", value=[10.5, 250.0]
            ),
            Condition(attribute="currency", operator="in", value=["USD", "EUR"]),
            Condition(attribute="coupon", operator="not_exists"),
        ),
        count_operator=">=",
        count=2,
        window=TimeWindow(kind="between", days=None, start=march[0], end=march[1]),
    )
    signed_up = EventCriterion(event_name="Signed up", window=TimeWindow(days=14))
    pricing = EventCriterion(
        event_type="screen_view",
        event_name="Pricing",
        count_operator="<=",
        count=3,
        window=TimeWindow(kind="before", days=None, start=datetime(2024, 6, 1, 12, tzinfo=UTC)),
    )

    def attribute(**condition: Any) -> UserAttributeCriterion:
        return UserAttributeCriterion(condition=Condition(**condition))

    nested = Group(
        clauses=(
            Clause(item=attribute(attribute="plan", operator="pattern", value="pro*")),
            Clause(
                join="and",
                item=attribute(attribute="newsletter", type="boolean", operator="eq", value=True),
            ),
            Clause(
                join="and",
                item=attribute(
                    attribute="signup_date", type="date", operator="between", value=list(march)
                ),
            ),
            Clause(
                join="or",
                item=attribute(attribute="ltv", type="number", operator="gt", value=99.95),
            ),
            Clause(join="exclude", item=IdentityCriterion(identity_type="email", present=False)),
        )
    )
    return AudienceDefinition(
        clauses=(
            Clause(item=signed_up),
            Clause(join="and", item=purchase),
            Clause(join="or", item=nested),
            Clause(join="and", item=DeviceCriterion(platforms=("iOS", "Android"), negate=True)),
            Clause(
                join="and",
                item=LocationCriterion(field="country", operator="in", value=["US", "CA"]),
            ),
            Clause(
                join="exclude", item=AudienceMembershipCriterion(milestone_id=other_milestone_id)
            ),
            Clause(join="and", item=pricing),
        )
    )


@pytest.fixture
def journey_document(account_data: AccountData) -> JourneyDocument:
    """A journey with a split (ending in Remaining users), a chain below it and outputs."""
    return build_journey(account_data, "Trial to paid")


def build_journey(data: AccountData, name: str) -> JourneyDocument:
    inputs = data.inputs
    braze, webhook = data.connections
    graph = JourneyGraph(Journey(name=name, input_ids=(inputs[2].id, inputs[0].id, inputs[3].id)))
    signed = graph.add_milestone(Milestone(name="Signed up", x=10.25, y=-3.5))
    trial = graph.add_milestone(
        Milestone(name="Started trial", parent_id=signed.id, x=220.125, y=-80.0)
    )
    browsed = graph.add_milestone(
        Milestone(name="Browsed pricing", parent_id=signed.id, x=220.0, y=40.75)
    )
    graph.add_milestone(
        Milestone(name="Remaining users", parent_id=signed.id, remaining=True, x=220.0, y=160.0)
    )
    paid = graph.add_milestone(
        Milestone(
            name="Paid",
            parent_id=trial.id,
            definition=rich_definition(browsed.id),
            x=430.0000001,
            y=-80.5,
        )
    )
    graph.add_output(Output(milestone_id=paid.id, connection_id=webhook.id, x=640.5, y=-120.0))
    graph.add_output(
        Output(milestone_id=paid.id, connection_id=braze.id, active=False, x=640.0, y=-40.25)
    )
    graph.add_output(Output(milestone_id=browsed.id, connection_id=braze.id, x=430.0, y=40.0))
    return graph.document()


@pytest.fixture
def make_journey(account_data: AccountData) -> Callable[[str], JourneyDocument]:
    """Builds another rich journey (fresh ids) with the given name."""
    return lambda name: build_journey(account_data, name)


def store_account(database: Database, data: AccountData) -> None:
    with database.transaction() as session:
        AccountRepository(session).create(data)


@pytest.fixture
def seeded_db(db: Database, account_data: AccountData) -> Database:
    """``db`` with ``account_data`` stored."""
    store_account(db, account_data)
    return db


@pytest.fixture
def store_account_into() -> Callable[[Database, AccountData], None]:
    return store_account
