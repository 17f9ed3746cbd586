"""Demo customer data: realistic, seeded, time-relative mParticle batches.

The generator plays out each user's story against the demo account
(app/ingest/demo_account.py): sessions with screen views on the streaming app's
iOS, Android or Web input; for most users the trial-to-paid funnel — "Sign up
for trial", "Watch content", "Save for later", then a commerce purchase named
"Subscribe" — with drop-off at each step; merchandise browsing; visits to the
marketing site; partner-feed (Braze) engagement; a location (about a quarter in
California, the rest spread over other states and countries); identities and
typed user attributes. The event names are exactly the ones the demo journeys'
milestones ask for, so the first canvas shows real audience sizes.

Times are relative to ``now`` (the last two months), so the "within the last N
days" criteria always find users; the same seed gives the same users, events and
batch ids, so seeding again is a no-op. Batches are real mParticle batches: they
are written to files and imported through the same parser (or stored directly
through it, which is what :func:`seed_demo_events` does).
"""

from __future__ import annotations

import gzip
import random
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import orjson

from app.ingest.importer import ImportSummary, import_mixed_records
from app.ingest.mparticle import parse_batch
from app.ingest.values import Limits
from app.store.database import Database

DAY_MS = 24 * 3600 * 1000
IOS, ANDROID, WEB = "in-streaming-ios", "in-streaming-android", "in-streaming-web"
MARKETING_WEB, PARTNER = "in-marketing-web", "in-marketing-partner"
DEMO_INPUTS = (IOS, ANDROID, WEB, MARKETING_WEB, PARTNER)
_PLATFORM = {IOS: "iOS", ANDROID: "Android", WEB: "web", MARKETING_WEB: "web"}

#: (country, region, city, postal code, weight): about 28 % in California.
LOCATIONS = (
    ("US", "CA", "Los Angeles", "90012", 9), ("US", "CA", "San Francisco", "94103", 8),
    ("US", "CA", "San Diego", "92101", 6), ("US", "CA", "Sacramento", "95814", 5),
    ("US", "NY", "New York", "10001", 11), ("US", "TX", "Austin", "73301", 7),
    ("US", "TX", "Houston", "77002", 5), ("US", "WA", "Seattle", "98101", 6),
    ("US", "FL", "Miami", "33101", 6), ("US", "IL", "Chicago", "60601", 6),
    ("US", "MA", "Boston", "02108", 5), ("GB", "ENG", "London", "EC1A 1BB", 8),
    ("DE", "BE", "Berlin", "10115", 4), ("CA", "ON", "Toronto", "M5H 2N2", 4),
)
_LOCATION_WEIGHTS = [loc[4] for loc in LOCATIONS]
FIRST_NAMES = ("Ava", "Liam", "Mia", "Noah", "Zoe", "Ethan", "Ivy", "Lucas", "Nora", "Owen",
               "Maya", "Leo", "Aria", "Kai", "Elena", "Sam", "Priya", "Diego", "Hana", "Omar")
LAST_NAMES = ("Garcia", "Smith", "Chen", "Patel", "Johnson", "Kim", "Nguyen", "Lopez",
              "Brown", "Müller", "Rossi", "Silva", "Okafor", "Tanaka", "Haddad", "Novak")
GENRES = ("Drama", "Comedy", "Documentary", "Sci-fi", "Thriller", "Kids", "Anime", "Sports")
SCREENS = ("Home", "Browse", "Search", "Player", "Details", "Pricing", "Settings")
TITLES = ("The Long Road", "Night Shift", "Ocean Deep", "Pixel Hearts", "Summit",
          "Quiet Town", "Red Planet", "Kitchen Wars")
PLANS = (("Basic monthly", 9.99), ("Standard monthly", 14.99), ("Premium annual", 119.0))
MERCH = (("Gift card", 25.0), ("Hoodie", 49.0), ("Mug", 15.0))

# Funnel conversion at each step (drop-off is the rest).
#: Users of the first-run demo database: about 10,000 events, stored in well under a second.
DEMO_USERS = 500

P_SIGN_UP, P_WATCH, P_SAVE, P_SUBSCRIBE = 0.72, 0.7, 0.6, 0.5


def demo_batches(
    users: int, *, seed: int = 7, now_ms: int | None = None
) -> Iterator[tuple[str, dict[str, Any]]]:
    """(input id, mParticle batch) for ``users`` demo users, user after user."""
    now = int(time.time() * 1000) if now_ms is None else now_ms
    for index in range(users):
        yield from _User(index, seed, now).batches()


class _User:
    """One demo user's profile and story, decided by their own seeded generator."""

    def __init__(self, index: int, seed: int, now: int) -> None:
        self.rng = rng = random.Random(seed * 1_000_003 + index)
        self.index, self.seed, self.now = index, seed, now
        self.mpid = rng.getrandbits(62) + 1
        self.first, self.last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        country, region, city, postal, _ = rng.choices(LOCATIONS, _LOCATION_WEIGHTS)[0]
        self.location = {"country_code": country, "region_code": region, "city_name": city,
                         "postal_code": postal}
        self.app_input = rng.choices((IOS, ANDROID, WEB), (40, 35, 25))[0]
        self.first_seen = now - rng.randint(2 * 3600 * 1000, 60 * DAY_MS)
        self.batch_count = 0
        self.plan = "free"
        self.identities: dict[str, Any] = {"customer_id": f"C{index:07d}"}
        if rng.random() < 0.9:
            self.identities["email"] = (
                f"{self.first}.{self.last}.{index}@example.com".lower().replace("ü", "u"))
        if rng.random() < 0.4:
            self.identities["mobile_number"] = f"+1555{rng.randint(0, 9_999_999):07d}"

    # ------------------------------------------------------------------ story

    def batches(self) -> Iterator[tuple[str, dict[str, Any]]]:
        rng = self.rng
        story: list[tuple[str, list[dict[str, Any]]]] = []
        for number in range(rng.randint(1, 6)):
            start = self._time_after(self.first_seen) if number else self.first_seen
            story.append((self.app_input, self._session(start, first=number == 0)))
        story.extend((self.app_input, [event]) for event in self._funnel())
        if rng.random() < 0.15:
            story.append((self.app_input, self._merchandise()))
        if rng.random() < 0.35:
            at = self._time_after(self.first_seen - 7 * DAY_MS)
            story.append((MARKETING_WEB, [
                self._screen("Landing page", at), self._screen("Pricing", at + 40_000)]))
        if rng.random() < 0.25:
            at = self._time_after(self.first_seen)
            name = rng.choice(("Email opened", "Push opened", "Email clicked"))
            story.append((PARTNER, [self._custom(name, at, "other", {"campaign": "Winter"})]))
        if self.app_input != WEB and rng.random() < 0.04:
            story.append((self.app_input, [self._event("uninstall", self.now - 3600_000)]))
        attributes = self._attributes()
        for input_id, events in story:
            yield input_id, self._batch(input_id, events, attributes)

    def _funnel(self) -> list[dict[str, Any]]:
        rng = self.rng
        if rng.random() >= P_SIGN_UP:
            return []
        self.plan = "trial"
        signed = self._time_after(self.first_seen)
        events = [self._custom("Sign up for trial", signed, "other",
                               {"plan": rng.choice(PLANS)[0], "source": rng.choice(
                                   ("app", "web", "promo"))})]
        if rng.random() >= P_WATCH:
            return events
        watched = self._time_after(signed, within=5 * DAY_MS)
        title = rng.choice(TITLES)
        for step in range(rng.randint(1, 4)):
            events.append(self._custom(
                "Watch content", min(self.now, watched + step * 3_600_000),
                "media", {"title": title, "genre": rng.choice(GENRES),
                          "minutes": rng.randint(5, 120)}))
        if rng.random() >= P_SAVE:
            return events
        saved = self._time_after(watched, within=3 * DAY_MS)
        events.append(self._custom("Save for later", saved, "user_preference",
                                   {"title": rng.choice(TITLES)}))
        if rng.random() >= P_SUBSCRIBE:
            return events
        self.plan = "paid"
        plan, price = rng.choice(PLANS)
        events.append(self._commerce("purchase", "Subscribe",
                                     self._time_after(saved, within=4 * DAY_MS), plan, price))
        return events

    def _session(self, start: int, *, first: bool) -> list[dict[str, Any]]:
        rng = self.rng
        session_id = rng.getrandbits(48)
        events = []
        if first and self.app_input != WEB:
            events.append(self._event("first_run", start))
        events.append(self._event("session_start", start, session_id=session_id))
        at = start
        for _ in range(rng.randint(1, 5)):
            at = min(self.now, at + rng.randint(5_000, 300_000))
            events.append(self._screen(rng.choice(SCREENS), at))
        end = min(self.now, at + rng.randint(1_000, 60_000))
        events.append(self._event("session_end", end, session_id=session_id,
                                  session_duration_ms=end - start))
        return events

    def _merchandise(self) -> list[dict[str, Any]]:
        name, price = self.rng.choice(MERCH)
        at = self._time_after(self.first_seen)
        events = [self._commerce("view_detail", name, at, name, price),
                  self._commerce("add_to_cart", name, at + 30_000, name, price)]
        if self.rng.random() < 0.5:
            events.append(self._commerce("purchase", "Merchandise", at + 90_000, name, price))
        return events

    # ------------------------------------------------------------------ records

    def _time_after(self, start: int, *, within: int | None = None) -> int:
        end = self.now if within is None else min(self.now, start + within)
        return self.rng.randint(min(start, end), end)

    def _event(self, event_type: str, at: int, **data: Any) -> dict[str, Any]:
        return {"event_type": event_type, "data": {
            "timestamp_unixtime_ms": at, "location": self.location, **data}}

    def _custom(self, name: str, at: int, kind: str, attributes: dict[str, Any]
                ) -> dict[str, Any]:
        event = self._event("custom_event", at, event_name=name, custom_event_type=kind)
        event["data"]["custom_attributes"] = attributes
        return event

    def _screen(self, name: str, at: int) -> dict[str, Any]:
        return self._event("screen_view", at, screen_name=name)

    def _commerce(self, action: str, name: str, at: int, product: str, price: float
                  ) -> dict[str, Any]:
        event = self._event("commerce_event", at, event_name=name, currency_code="USD")
        event["data"]["product_action"] = {
            "action": action, "total_amount": price,
            "transaction_id": f"T{self.index}-{at}" if action == "purchase" else None,
            "products": [{"id": product.lower().replace(" ", "-"), "name": product,
                          "price": price, "quantity": 1}],
        }
        return event

    def _attributes(self) -> dict[str, Any]:
        rng = self.rng
        signup = time.strftime("%Y-%m-%d", time.gmtime(self.first_seen / 1000))
        return {
            "$firstname": self.first, "$lastname": self.last,
            "$country": self.location["country_code"], "$state": self.location["region_code"],
            "$city": self.location["city_name"], "$zip": self.location["postal_code"],
            "$age": rng.randint(18, 70), "plan": self.plan,
            "favorite_genres": rng.sample(GENRES, rng.randint(1, 3)),
            "newsletter_opt_in": rng.random() < 0.45, "signup_date": signup,
        }

    def _batch(self, input_id: str, events: list[dict[str, Any]], attributes: dict[str, Any]
               ) -> dict[str, Any]:
        self.batch_count += 1
        batch: dict[str, Any] = {
            "source_request_id": f"demo-{self.seed}-{self.index}-{self.batch_count}",
            "environment": "production",
            "mpid": self.mpid,
            "user_identities": self.identities,
            "user_attributes": attributes,
            "events": events,
        }
        if input_id in _PLATFORM:
            batch["device_info"] = {"platform": _PLATFORM[input_id]}
        return batch


# ---------------------------------------------------------------------- outputs


def write_demo_files(
    directory: Path, users: int, *, seed: int = 7, now_ms: int | None = None,
    compress: bool = True,
) -> dict[str, Path]:
    """Write the batches as mParticle JSON lines, one file per input; returns them by input."""
    directory.mkdir(parents=True, exist_ok=True)
    suffix = ".jsonl.gz" if compress else ".jsonl"
    paths = {input_id: directory / f"{input_id}{suffix}" for input_id in DEMO_INPUTS}
    with ExitStack() as stack:
        files = {
            input_id: stack.enter_context(
                gzip.open(path, "wb", compresslevel=5)  # noqa: SIM115 (the stack closes it)
                if compress else open(path, "wb"))  # noqa: SIM115
            for input_id, path in paths.items()
        }
        for input_id, batch in demo_batches(users, seed=seed, now_ms=now_ms):
            files[input_id].write(orjson.dumps(batch) + b"\n")
    return paths


def seed_demo_events(
    database: Database, users: int = DEMO_USERS, *, seed: int = 7, now_ms: int | None = None
) -> ImportSummary:
    """Store demo users and events straight into ``database`` (through the batch parser).

    The database must hold the demo account's inputs. Running it again with the
    same seed stores nothing new (the batches are keyed).
    """
    limits = Limits()
    platforms = {IOS: "iOS", ANDROID: "Android", WEB: "Web", MARKETING_WEB: "Web",
                 PARTNER: None}
    line = 0

    def records() -> Iterator[tuple[str, Any]]:
        nonlocal line
        for input_id, batch in demo_batches(users, seed=seed, now_ms=now_ms):
            line += 1
            yield input_id, parse_batch(batch, line, None, limits=limits, input_id=input_id,
                                        default_platform=platforms[input_id])

    return import_mixed_records(database, records(), name="demo data")
