"""``journeys run``, ``journeys deliveries``, ``journeys output …``: audiences to partners.

``run`` is the headless scheduler (a server, a scheduled task): it evaluates every
journey with an active output and forwards what changed, once or every interval
until Ctrl-C or SIGTERM. It logs one line per evaluation and per delivery attempt
on stdout, in a plain format a server log keeps as it is. Exit codes: 0 everything
delivered (or ``--every`` stopped), 1 some output is faulted (forwarding to it is
paused until ``journeys output resume``), 130 a single run interrupted (Ctrl-C).

``deliveries`` prints the delivery log, ``output list`` how forwarding stands for
each output, and ``output resume`` lets a faulted output send what is pending.
An output is named by its id or as ``Journey/Milestone/Connection``.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any

from app.cli._arguments import interval, positive
from app.cli._common import print_table
from app.cli.evaluate import find_journey
from app.core.commands import AddOutput, RemoveOutput, SetOutputActive
from app.core.errors import NotFoundError, StudioError
from app.core.graph import JourneyGraph
from app.core.models import Output
from app.studio import Studio

if TYPE_CHECKING:  # loaded by the studio when first used
    from app.studio import DeliveryRecord, EvaluationResult, RetryPolicy, RunReport

EXIT_DONE = 0
EXIT_FAULTED = 1
EXIT_INTERRUPTED = 130

OUTCOMES = ("delivered", "retry", "faulted")

WAIT_STEP_SECONDS = 0.5
"""The longest ``--every`` sleeps at once, so a stop is noticed within half a second."""

log = logging.getLogger("journeys.run")


def register(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    _register_run(groups)
    _register_deliveries(groups)
    _register_output(groups)


def _register_run(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = groups.add_parser(
        "run",
        help="evaluate every journey with an active output and forward the changes",
        description="Evaluate every journey that has an active output, store the "
        "memberships and send each active output's change to its partner. One line per "
        "evaluation and per delivery attempt goes to stdout. Exit code 0 when everything "
        "was delivered, 1 when an output is faulted (forwarding to it is paused: fix the "
        "cause, then `journeys output resume`), 130 when interrupted.",
    )
    when = run.add_mutually_exclusive_group()
    when.add_argument(
        "--every",
        metavar="INTERVAL",
        type=interval,
        help="run again every INTERVAL (30s, 15m, 2h) until Ctrl-C or SIGTERM, "
        "which finish the request under way and stop",
    )
    when.add_argument("--once", action="store_true", help="run once and exit (the default)")
    # ``--every -5m`` would otherwise be "expected one argument": argparse takes a dash
    # that is not a plain number for an option. This command has no option like "-5", so
    # a dash and a digit is a value, and the interval check names it.
    setattr(run, "_negative_number_matcher", re.compile(r"^-\d"))  # noqa: B010
    run.set_defaults(handler=_run)


def _register_deliveries(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    deliveries = groups.add_parser(
        "deliveries",
        help="the delivery log: every request to a partner, newest first",
        description="Every request made to a partner, newest first: time (local), "
        "journey, audience, connection, adds, deletes, outcome, HTTP status or error, "
        "latency.",
    )
    deliveries.add_argument(
        "--output", metavar="OUTPUT", action="append",
        help="only this output: its id or Journey/Milestone/Connection (repeatable)",
    )
    deliveries.add_argument("--journey", metavar="JOURNEY", help="only this journey's outputs")
    deliveries.add_argument("--outcome", choices=OUTCOMES, help="only attempts with this outcome")
    deliveries.add_argument(
        "--limit", metavar="N", type=positive, default=50,
        help="at most N attempts (default: 50)",
    )
    deliveries.add_argument("--json", action="store_true", help="print JSON")
    deliveries.set_defaults(handler=_deliveries)


def _register_output(groups: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    output = groups.add_parser(
        "output", help="outputs: add, activate, deactivate, remove; how forwarding stands; resume"
    )
    actions = output.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser(
        "list",
        help="each output: active, inactive or faulted, pending adds and deletes, "
        "what the partner holds, last delivery",
    )
    listing.add_argument("--journey", metavar="JOURNEY", help="only this journey's outputs")
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(handler=_output_list)
    resume = actions.add_parser(
        "resume",
        help="let a faulted output send again: the next run sends what is pending",
    )
    resume.add_argument(
        "output", metavar="OUTPUT", help="the output's id or Journey/Milestone/Connection"
    )
    resume.set_defaults(handler=_output_resume)
    add = actions.add_parser(
        "add",
        help="send a milestone's audience to a connection (active at once, as in the window)",
    )
    add.add_argument("audience", metavar="JOURNEY/MILESTONE",
                     help="the audience: its journey and milestone, by name")
    add.add_argument("connection", metavar="CONNECTION", help="the connection, by name or id")
    add.add_argument("--inactive", action="store_true",
                     help="add it inactive: nothing is sent until it is activated")
    add.set_defaults(handler=_output_add)
    for name, what in (
        ("activate", "send again: the next run sends the difference with what the partner has"),
        ("deactivate", "stop sending (the partner keeps its copy, which may go out of sync)"),
        ("remove", "remove the output (the partner keeps its copy, which may go out of sync)"),
    ):
        action = actions.add_parser(name, help=what)
        action.add_argument(
            "output", metavar="OUTPUT", help="the output's id or Journey/Milestone/Connection"
        )
        action.set_defaults(handler=_output_change, change=name)


# ------------------------------------------------------------------ naming outputs


@dataclass(frozen=True)
class NamedOutput:
    """An output with the names a person knows it by."""

    output: Output
    graph: JourneyGraph
    audience: str
    connection: str

    @property
    def id(self) -> str:
        return self.output.id

    @property
    def label(self) -> str:
        """``Journey/Milestone/Connection``: what ``--output`` and ``resume`` accept."""
        return f"{self.graph.name}/{self.audience}/{self.connection}"


def named_outputs(studio: Studio, graph: JourneyGraph | None = None) -> list[NamedOutput]:
    """Every output (of one journey), journeys by name, outputs in tree order."""
    state = studio.state
    graphs = [graph] if graph is not None else sorted(
        state.journeys(), key=lambda g: g.name.casefold()
    )
    return [
        NamedOutput(
            output, g, g.milestone(output.milestone_id).name,
            state.connection_name(output.connection_id),
        )
        for g in graphs
        for output in g.outputs()
    ]


def find_output(studio: Studio, text: str) -> NamedOutput:
    """The output ``text`` names: its id, or ``Journey/Milestone/Connection`` (any case).

    Names are compared whole, so a name holding a slash still works; two outputs with
    the same names (the same audience sent twice to one connection) need the id.
    """
    everything = named_outputs(studio)
    by_id = [o for o in everything if o.id == text]
    if by_id:
        return by_id[0]
    wanted = text.strip().casefold()
    found = [o for o in everything if o.label.casefold() == wanted]
    if len(found) == 1:
        return found[0]
    if found:
        ids = ", ".join(o.id for o in found)
        raise NotFoundError(f"“{text}” names {len(found)} outputs; give one of their ids: {ids}.")
    listed = "; ".join(f"{o.label} ({o.id})" for o in everything) or "none"
    raise NotFoundError(
        f"There is no output “{text}” (write its id or Journey/Milestone/Connection). "
        f"Outputs: {listed}."
    )


def reference(studio: Studio, named: NamedOutput) -> str:
    """How to name ``named`` on a command line: its label if that is unambiguous, else its id."""
    try:
        unique = find_output(studio, named.label).id == named.id
    except NotFoundError:
        unique = False
    return shlex.quote(named.label if unique else named.id)


def _journey_outputs(studio: Studio, journey: str | None) -> list[NamedOutput]:
    return named_outputs(studio, find_journey(studio, journey) if journey else None)


# ------------------------------------------------------------------ run


class Stop:
    """Set by Ctrl-C (SIGINT) or SIGTERM while installed; asked by the run between steps."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.signal: int | None = None

    def __call__(self) -> bool:
        return self._event.is_set()

    def set(self, signum: int | None = None) -> None:
        if signum is not None and self.signal is None:
            self.signal = signum
        self._event.set()

    def wait(self, seconds: float, sleep: Callable[[float], Any] | None = None) -> None:
        """Wait ``seconds`` in short steps, returning as soon as the stop is set."""
        left = seconds
        while left > 0 and not self():
            step = min(left, WAIT_STEP_SECONDS)
            if sleep is None:
                self._event.wait(step)
            else:
                sleep(step)
            left -= step

    @contextmanager
    def on_signals(self) -> Iterator[None]:
        """Ctrl-C and SIGTERM set the stop (a second Ctrl-C interrupts at once)."""

        def handler(signum: int, _frame: FrameType | None) -> None:
            self.set(signum)
            log.info("Stopping: finishing the request under way (Ctrl-C again to quit now)")
            signal.signal(signal.SIGINT, signal.default_int_handler)

        if threading.current_thread() is not threading.main_thread():
            yield  # signals reach only the main thread; the caller stops us itself
            return
        previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)


@contextmanager
def run_log() -> Iterator[None]:
    """The run's lines on stdout, time-stamped, whatever ``-v`` says of other loggers."""
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", "%Y-%m-%d %H:%M:%S"))
    level, propagate = log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate
        handler.flush()


def _run(studio: Studio, args: argparse.Namespace) -> int:
    stop = Stop()
    with run_log(), stop.on_signals():
        try:
            if args.every is None:
                code = run_once(studio, stop)
                if stop():
                    log.info("Stopped.")
                    return EXIT_INTERRUPTED
                return code
            return run_every(studio, args.every, stop)
        except KeyboardInterrupt:
            log.info("Stopped.")
            return EXIT_INTERRUPTED


def run_every(
    studio: Studio,
    every: timedelta,
    stop: Stop,
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> int:
    """Run, wait ``every``, run again, until ``stop`` is set; then 0 ("Stopped.").

    A run that fails for a reason a later one may not meet (the database busy or
    away for a moment) is logged and the schedule goes on.
    """
    log.info("Running every %s; Ctrl-C or SIGTERM stops.", _duration(every))
    while not stop():
        try:
            run_once(studio, stop, policy=policy, sleep=sleep)
        except StudioError as error:
            log.info("Run failed: %s Trying again at the next run.", error)
        if stop():
            break
        following = datetime.now().astimezone() + every
        log.info("Next run at %s.", f"{following:%H:%M:%S}")
        stop.wait(every.total_seconds(), sleep)
    log.info("Stopped.")
    return EXIT_DONE


def run_once(
    studio: Studio,
    stop: Callable[[], bool],
    *,
    policy: RetryPolicy | None = None,
    sleep: Callable[[float], Any] | None = None,
) -> int:
    """One evaluation of every journey with an active output, then forwarding; logged.

    Returns 0 when nothing is faulted, 1 when an output is (this run's fault, or an
    earlier one not yet resumed), after saying which, why and how to resume.
    """
    studio.reload()  # what other windows saved since the last run, for the names
    report = studio.run_once(
        cancelled=stop,
        on_evaluated=lambda result: log.info("%s", _evaluated_line(studio, result)),
        on_attempt=lambda record: log.info("%s", _attempt_line(studio, record)),
        policy=policy,
        sleep=sleep,
    )
    log.info("%s", _summary_line(report))
    for busy in report.forwarding.busy:
        log.info("%s: left to another dispatcher sending it now.", _name_of(studio, busy))
    return _report_faults(studio, report)


def _report_faults(studio: Studio, report: RunReport) -> int:
    states = studio.output_forwarding()
    faulted = [
        named for named in named_outputs(studio)
        if named.output.active and named.id in states and states[named.id].faulted
    ]
    for named in faulted:
        state = states[named.id]
        since = f" since {_local(state.faulted_at)}" if state.faulted_at else ""
        log.info(
            "Faulted: %s → %s (%s)%s: %s. Forwarding to it is paused (%d adds, %d deletes "
            "pending); fix the cause, then: journeys output resume %s",
            named.audience, named.connection, named.graph.name, since,
            str(report.forwarding.faulted.get(named.id, state.fault_reason)).rstrip("."),
            state.pending_adds, state.pending_deletes, reference(studio, named),
        )
    return EXIT_FAULTED if faulted else EXIT_DONE


def _evaluated_line(studio: Studio, result: EvaluationResult) -> str:
    """``Trial to paid: evaluated, 5 audiences, Signed up 295 (+3 −1)``: forwarded ones named."""
    graph = studio.state.journey(result.journey_id) \
        if studio.state.has_journey(result.journey_id) else None
    name = graph.name if graph else result.journey_id
    forwarded = {o.milestone_id for o in graph.outputs() if o.active} if graph else set()
    sizes = ", ".join(
        f"{m.name} {m.size:,} (+{m.added:,} −{m.removed:,})"
        for m in result.milestones if m.audience_id in forwarded
    )
    count = len(result.milestones)
    line = f"{name}: evaluated, {count} audience{'s' if count != 1 else ''}"
    return f"{line}, {sizes}" if sizes else line


def _attempt_line(studio: Studio, record: DeliveryRecord) -> str:
    """``Signed up → CRM webhook: 295 adds, 0 deletes, delivered (HTTP 200) in 42 ms``."""
    named = _named(studio, record.output_id)
    audience = named.audience if named else record.output_id
    connection = studio.state.connection_name(record.connection_id) \
        if studio.state.has_connection(record.connection_id) else record.connection_id
    detail = _status(record)
    return (
        f"{audience} → {connection}: {record.adds:,} adds, {record.deletes:,} deletes, "
        f"{record.outcome}{f' ({detail})' if detail else ''} in {record.latency_ms:,.0f} ms"
    )


def _summary_line(report: RunReport) -> str:
    sent = report.forwarding
    journeys = len(report.evaluations)
    line = (
        f"Run done: {journeys} journey{'s' if journeys != 1 else ''} evaluated, "
        f"{sent.adds:,} adds and {sent.deletes:,} deletes delivered in "
        f"{sent.requests:,} request{'s' if sent.requests != 1 else ''}"
    )
    if sent.retries:
        line += f" ({sent.retries:,} retried)"
    if sent.faulted:
        line += f", {len(sent.faulted)} output{'s' if len(sent.faulted) != 1 else ''} faulted"
    return line + "."


def _status(record: DeliveryRecord) -> str:
    """``HTTP 200``, the error, or both (the error alone when it names the status)."""
    http = f"HTTP {record.http_status}" if record.http_status is not None else ""
    if not record.error:
        return http
    if not http or http in record.error:
        return record.error
    return f"{http}: {record.error}"


def _named(studio: Studio, output_id: str) -> NamedOutput | None:
    return next((o for o in named_outputs(studio) if o.id == output_id), None)


def _name_of(studio: Studio, output_id: str) -> str:
    named = _named(studio, output_id)
    return named.label if named else output_id


def _duration(every: timedelta) -> str:
    seconds = int(every.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _local(moment: datetime | None) -> str:
    """A stored time (UTC, naive on SQLite) in this machine's local time."""
    if moment is None:
        return ""
    aware = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment
    return f"{aware.astimezone():%Y-%m-%d %H:%M:%S}"


# ------------------------------------------------------------------ deliveries


def _deliveries(studio: Studio, args: argparse.Namespace) -> int:
    output_ids: list[str] | None = None
    if args.output:
        output_ids = [find_output(studio, text).id for text in args.output]
    if args.journey:
        of_journey = {o.id for o in _journey_outputs(studio, args.journey)}
        output_ids = [i for i in output_ids if i in of_journey] \
            if output_ids is not None else sorted(of_journey)
    records = [] if output_ids == [] else studio.deliveries(output_ids, args.outcome, args.limit)
    names = {o.id: o for o in named_outputs(studio)}
    items = [_delivery_item(studio, record, names.get(record.output_id)) for record in records]
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    if not items:
        print("No deliveries yet." if not (args.output or args.journey or args.outcome)
              else "No deliveries match.")
        return 0
    print_table(
        [(_local(r.started_at), i["journey"], i["audience"], i["connection"], f"{r.adds:,}",
          f"{r.deletes:,}", r.outcome, _status(r), f"{r.latency_ms:,.0f} ms")
         for r, i in zip(records, items, strict=True)],
        ("Time", "Journey", "Audience", "Connection", "Adds", "Deletes", "Outcome",
         "Status", "Latency"),
    )
    return 0


def _delivery_item(
    studio: Studio, record: DeliveryRecord, named: NamedOutput | None
) -> dict[str, Any]:
    """The record as JSON, with the names of what it went to (ids when since removed)."""
    state = studio.state
    item = record.as_dict()
    item["journey"] = (
        named.graph.name if named
        else state.journey(record.journey_id).name if state.has_journey(record.journey_id)
        else record.journey_id
    )
    item["audience"] = named.audience if named else "(removed output)"
    item["connection"] = (
        state.connection_name(record.connection_id)
        if state.has_connection(record.connection_id) else record.connection_id
    )
    return item


# ------------------------------------------------------------------ output list, resume


def _output_list(studio: Studio, args: argparse.Namespace) -> int:
    outputs = _journey_outputs(studio, args.journey)
    states = studio.output_forwarding()
    items: list[dict[str, Any]] = []
    for named in outputs:
        state = states.get(named.id)
        faulted = state is not None and state.faulted
        items.append({
            "id": named.id,
            "journey": named.graph.name,
            "journey_id": named.graph.id,
            "audience": named.audience,
            "milestone_id": named.output.milestone_id,
            "connection": named.connection,
            "connection_id": named.output.connection_id,
            "active": named.output.active,
            "state": "faulted" if faulted else "active" if named.output.active else "inactive",
            "fault_reason": state.fault_reason if state else None,
            "faulted_at": _iso(state.faulted_at) if state else None,
            "pending_adds": state.pending_adds if state else None,
            "pending_deletes": state.pending_deletes if state else None,
            "partner_holds": state.partner_holds if state else None,
            "last_delivered_at": _iso(state.last_delivered_at) if state else None,
        })
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    if not items:
        print("No outputs yet.")
        return 0
    print_table([_output_row(i, states.get(i["id"])) for i in items], (
        "Journey", "Audience", "Connection", "Pending", "Partner holds", "Last delivered",
        "State",
    ))
    return 0


def _output_row(item: dict[str, Any], state: Any) -> tuple[str, ...]:
    if item["state"] == "faulted":
        since = f" since {_local(state.faulted_at)}" if state.faulted_at else ""
        shown = f"faulted: {item['fault_reason']}{since}"
    else:
        shown = item["state"]
    pending = "—" if state is None else f"+{state.pending_adds:,} −{state.pending_deletes:,}"
    holds = "—" if state is None else f"{state.partner_holds:,}"
    last = _local(state.last_delivered_at) if state and state.last_delivered_at else "never"
    return (item["journey"], item["audience"], item["connection"], pending, holds, last, shown)


def _output_resume(studio: Studio, args: argparse.Namespace) -> int:
    named = find_output(studio, args.output)
    if not studio.resume_output(named.id):
        print(f"{named.label} is not faulted: nothing to resume.")
        return 0
    state = studio.output_forwarding(named.graph.id).get(named.id)
    pending = (
        f" {state.pending_adds:,} adds and {state.pending_deletes:,} deletes are pending;"
        " the next run sends them (journeys run --once)."
        if state else " The next run sends what is pending (journeys run --once)."
    )
    inactive = "" if named.output.active else " The output is inactive: activate it to send."
    print(f"Forwarding to {named.label} resumed.{pending}{inactive}")
    return 0


def _output_add(studio: Studio, args: argparse.Namespace) -> int:
    journey_name, slash, milestone_name = args.audience.rpartition("/")
    if not slash:
        raise NotFoundError(
            f"“{args.audience}” is not JOURNEY/MILESTONE (e.g. “Trial to paid/Signed up”)."
        )
    graph = find_journey(studio, journey_name)
    wanted = milestone_name.strip().casefold()
    milestones = [m for m in graph.milestones_in_order() if m.name.casefold() == wanted]
    if len(milestones) != 1:
        names = ", ".join(f"“{m.name}”" for m in graph.milestones_in_order()) or "none"
        raise NotFoundError(
            f"“{graph.name}” has no milestone called “{milestone_name}”. Milestones: {names}."
            if not milestones else
            f"“{graph.name}” has {len(milestones)} milestones called “{milestone_name}”."
        )
    connections = studio.state.connections
    connection = connections.get(args.connection) or next(
        (c for c in connections.values() if c.name.casefold() == args.connection.casefold()),
        None,
    )
    if connection is None:
        names = ", ".join(f"“{c.name}”" for c in connections.values()) or "none"
        raise NotFoundError(f"There is no connection “{args.connection}”. Connections: {names}.")
    output = Output(milestone_id=milestones[0].id, connection_id=connection.id,
                    active=not args.inactive)
    studio.execute(AddOutput(graph.id, output))
    state = "inactive" if args.inactive else "active: the next run sends its members"
    print(f"Added {graph.name}/{milestones[0].name}/{connection.name} ({output.id}), {state}.")
    return 0


def _output_change(studio: Studio, args: argparse.Namespace) -> int:
    named = find_output(studio, args.output)
    warning = named.graph.out_of_sync_warning(named.id) if args.change != "activate" else None
    if args.change == "remove":
        studio.execute(RemoveOutput(named.graph.id, named.id))
        print(f"Removed {named.label}.")
    else:
        active = args.change == "activate"
        if named.output.active == active:
            print(f"{named.label} is {'active' if active else 'inactive'} already.")
            return 0
        studio.execute(SetOutputActive(named.graph.id, named.id, active))
        print(f"{named.label} is {'active' if active else 'inactive'} now.")
    if warning:
        print(warning)
    return 0


def _iso(moment: datetime | None) -> str | None:
    if moment is None:
        return None
    return (moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment).isoformat()
