"""Built-in journey templates: the journeys most marketers start with, as data.

A template is a name, a sentence on what it is for, and milestones with their
criteria; :meth:`Template.document` makes a new journey of it, under new ids, for
the inputs the marketer picks (a template names no inputs and no outputs: both
are the account's own). The criteria ask for events every app sends (sessions,
uninstalls, commerce actions) or that the demo account's streaming app sends
("Sign up for trial", "Watch content", "Subscribe"), so each template shows real
audiences on the demo data and is a fair start on an account's own data, where
the event names are edited to the account's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from app.core.criteria import (
    AudienceDefinition,
    Clause,
    EcommerceCriterion,
    EventCriterion,
    Group,
    TimeWindow,
)
from app.core.layout import laid_out
from app.core.models import Journey, JourneyDocument, Milestone, new_id
from app.core.vocabulary import CommerceAction, EventType


@dataclass(frozen=True)
class TemplateMilestone:
    """A milestone of a template; ``parent`` is the key of an earlier one (None: a root)."""

    key: str
    name: str
    definition: AudienceDefinition = field(default_factory=AudienceDefinition)
    parent: str | None = None
    remaining: bool = False


@dataclass(frozen=True)
class Template:
    """A journey to start from: milestones in tree order (depth first, parents before
    children, siblings left to right), as journey files and evaluations list them."""

    key: str
    name: str
    description: str
    milestones: tuple[TemplateMilestone, ...]

    def document(self, journey: Journey) -> JourneyDocument:
        """A new journey named and fed as ``journey``, with this template's milestones
        under fresh ids, laid out as a new journey is."""
        ids = {m.key: new_id() for m in self.milestones}
        milestones = tuple(
            Milestone(id=ids[m.key], name=m.name, definition=m.definition,
                      parent_id=ids[m.parent] if m.parent else None, remaining=m.remaining)
            for m in self.milestones
        )
        return laid_out(JourneyDocument(journey=journey, milestones=milestones))


# ------------------------------------------------------------------ criteria


def _within(days: int) -> TimeWindow:
    return TimeWindow(kind="within_last_days", days=days)


def _did(event_type: EventType, days: int, name: str | None = None) -> EventCriterion:
    return EventCriterion(event_type=event_type, event_name=name, window=_within(days))


def _did_not(event_type: EventType, days: int) -> EventCriterion:
    """No event of the type in the last ``days`` (the count is zero)."""
    return EventCriterion(event_type=event_type, count_operator="=", count=0,
                          window=_within(days))


def _commerce(action: CommerceAction, days: int) -> EcommerceCriterion:
    return EcommerceCriterion(action=action, window=_within(days))


def _subscribed(days: int) -> EventCriterion:
    return EventCriterion(event_type="commerce_event", commerce_action="purchase",
                          event_name="Subscribe", window=_within(days))


def _all(*items: EventCriterion | EcommerceCriterion | Group) -> AudienceDefinition:
    return AudienceDefinition(clauses=tuple(Clause(item=i) for i in items))


def _any(*items: EventCriterion | EcommerceCriterion) -> Group:
    return Group(clauses=tuple(Clause(join="and" if n == 0 else "or", item=i)
                               for n, i in enumerate(items)))


# ------------------------------------------------------------------ templates

TRIAL_TO_PAID = Template(
    key="trial-to-paid",
    name="Trial to paid",
    description=(
        "Follow new trial users from sign-up to a paid plan: who watches, who subscribes, "
        "and who has not watched anything yet (nudge them with a first recommendation)."
    ),
    milestones=(
        TemplateMilestone("trial", "Started a trial",
                          _all(_did("custom_event", 30, "Sign up for trial"))),
        TemplateMilestone("watched", "Watched content",
                          _all(_did("custom_event", 30, "Watch content")), parent="trial"),
        TemplateMilestone("paid", "Subscribed", _all(_subscribed(30)), parent="watched"),
        TemplateMilestone("idle", "Not watching yet", parent="trial", remaining=True),
    ),
)

CART_ABANDONMENT = Template(
    key="cart-abandonment",
    name="Cart abandonment",
    description=(
        "Shoppers who added something to their cart in the last 30 days, split into "
        "those who bought and those who left without buying (remind them of their cart)."
    ),
    milestones=(
        TemplateMilestone("cart", "Added to cart", _all(_commerce("add_to_cart", 30))),
        TemplateMilestone("bought", "Bought", _all(_commerce("purchase", 30)), parent="cart"),
        TemplateMilestone("abandoned", "Abandoned their cart", parent="cart", remaining=True),
    ),
)

RE_ENGAGEMENT = Template(
    key="re-engagement",
    name="Re-engagement of lapsed users",
    description=(
        "Users who were active in the last 60 days but have not opened the app for a "
        "week, split into subscribers and free users, to bring them back with the right "
        "message."
    ),
    milestones=(
        TemplateMilestone("active", "Active in the last 60 days",
                          _all(_did("session_start", 60))),
        TemplateMilestone("lapsed", "No session for 7 days",
                          _all(_did_not("session_start", 7)), parent="active"),
        TemplateMilestone("subscribers", "Lapsed subscribers", _all(_subscribed(365)),
                          parent="lapsed"),
        TemplateMilestone("free", "Lapsed free users", parent="lapsed", remaining=True),
    ),
)

WIN_BACK = Template(
    key="win-back",
    name="Win-back after churn",
    description=(
        "Users who churned (uninstalled the app, or had no session for 21 days), split "
        "into those who tried the product and those who never did, for a win-back offer."
    ),
    milestones=(
        TemplateMilestone("churned", "Churned",
                          _all(_any(_did("uninstall", 90), _did_not("session_start", 21)))),
        TemplateMilestone("tried", "Had started a trial",
                          _all(_did("custom_event", 365, "Sign up for trial")),
                          parent="churned"),
        TemplateMilestone("never", "Never tried", parent="churned", remaining=True),
    ),
)

TEMPLATES: tuple[Template, ...] = (TRIAL_TO_PAID, CART_ABANDONMENT, RE_ENGAGEMENT, WIN_BACK)
"""The built-in templates, in the order the New journey dialog lists them."""


def template(key: str) -> Template:
    """The built-in template called ``key`` (KeyError if there is none)."""
    for item in TEMPLATES:
        if item.key == key:
            return item
    raise KeyError(key)
