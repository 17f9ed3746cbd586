"""The first-run demo account: workspaces, inputs, connections and two journeys.

A new database is not empty: a marketer opening the app for the first time
sees a trial-to-paid funnel and a California promotion (the examples of the
product description), already connected to partners, so every part of the
canvas has something to show. Ids are fixed so tests and docs can refer to them.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.core.criteria import (
    AudienceDefinition,
    Clause,
    EventCriterion,
    LocationCriterion,
    TimeWindow,
)
from app.core.layout import laid_out
from app.core.models import (
    REMAINING_USERS,
    Account,
    Connection,
    Input,
    Journey,
    JourneyDocument,
    Milestone,
    Output,
    Workspace,
)
from app.store.repositories import AccountData


@dataclass(frozen=True)
class DemoAccount:
    account: Account
    workspaces: tuple[Workspace, ...]
    inputs: tuple[Input, ...]
    connections: tuple[Connection, ...]
    journeys: tuple[JourneyDocument, ...]

    def account_data(self) -> AccountData:
        """The account without its journeys, as the store creates it."""
        return AccountData(self.account, self.workspaces, self.inputs, self.connections)


STREAMING = Workspace(id="ws-streaming", name="Streaming App")
MARKETING = Workspace(id="ws-marketing", name="Marketing Site")

INPUTS = (
    Input(id="in-streaming-ios", workspace_id=STREAMING.id, name="iOS", platform="iOS"),
    Input(id="in-streaming-android", workspace_id=STREAMING.id, name="Android",
          platform="Android"),
    Input(id="in-streaming-web", workspace_id=STREAMING.id, name="Web", platform="Web"),
    Input(id="in-marketing-web", workspace_id=MARKETING.id, name="Web", platform="Web"),
    Input(id="in-marketing-partner", workspace_id=MARKETING.id, name="Partner feed: Braze",
          kind="partner", platform=None),
)

CONNECTIONS = (
    Connection(id="cn-facebook", name="Facebook Custom Audiences",
               partner="facebook_custom_audiences",
               settings={"ad_account_id": "act_000000"}),
    Connection(id="cn-crm", name="CRM webhook", partner="webhook",
               settings={"url": "http://127.0.0.1:8765/audiences"}),
    Connection(id="cn-braze", name="Braze", partner="braze",
               settings={"rest_endpoint": "https://rest.iad-01.braze.com"}),
)


def _did(event_name: str, days: int = 30, event_type: str = "custom_event") -> AudienceDefinition:
    criterion = EventCriterion(
        event_type=event_type,  # type: ignore[arg-type]
        event_name=event_name,
        window=TimeWindow(kind="within_last_days", days=days),
    )
    return AudienceDefinition(clauses=(Clause(item=criterion),))


def _trial_to_paid() -> JourneyDocument:
    journey = Journey(
        id="jr-trial-to-paid",
        name="Trial to paid",
        input_ids=("in-streaming-ios", "in-streaming-android", "in-streaming-web"),
    )
    signed_up = Milestone(id="ms-signed-up", name="Signed up for trial",
                          definition=_did("Sign up for trial"))
    watched = Milestone(id="ms-watched", name="Watched content", parent_id=signed_up.id,
                        definition=_did("Watch content", days=14))
    saved = Milestone(id="ms-saved", name="Saved content for later", parent_id=watched.id,
                      definition=_did("Save for later", days=14))
    not_saved = Milestone(id="ms-not-saved", name=REMAINING_USERS, parent_id=watched.id,
                          remaining=True)
    converted = Milestone(id="ms-converted", name="Converted to paid", parent_id=saved.id,
                          definition=AudienceDefinition(clauses=(Clause(item=EventCriterion(
                              event_type="commerce_event", commerce_action="purchase",
                              event_name="Subscribe")),)))
    outputs = (
        Output(id="out-trial-crm", milestone_id=signed_up.id, connection_id="cn-crm"),
        Output(id="out-not-saved-braze", milestone_id=not_saved.id,
               connection_id="cn-braze", active=False),
    )
    return laid_out(JourneyDocument(
        journey=journey,
        milestones=(signed_up, watched, saved, converted, not_saved),
        outputs=outputs,
    ))


def _california_promo() -> JourneyDocument:
    journey = Journey(
        id="jr-california-promo",
        name="California promo",
        input_ids=("in-streaming-ios", "in-streaming-android", "in-streaming-web",
                   "in-marketing-web"),
    )
    everyone = Milestone(id="ms-all-users", name="All app and web users")
    california = Milestone(
        id="ms-california", name="In California", parent_id=everyone.id,
        definition=AudienceDefinition(clauses=(Clause(item=LocationCriterion(
            field="region", operator="equals", value="CA")),)),
    )
    outputs = (
        Output(id="out-all-facebook", milestone_id=everyone.id, connection_id="cn-facebook"),
        Output(id="out-california-facebook", milestone_id=california.id,
               connection_id="cn-facebook"),
    )
    return laid_out(JourneyDocument(
        journey=journey, milestones=(everyone, california), outputs=outputs
    ))


def demo_account() -> DemoAccount:
    """The records of the demo account, ready to be stored."""
    return DemoAccount(
        account=Account(id="acct-demo", name="Demo account"),
        workspaces=(STREAMING, MARKETING),
        inputs=INPUTS,
        connections=CONNECTIONS,
        journeys=(_trial_to_paid(), _california_promo()),
    )
