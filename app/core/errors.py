"""Typed errors whose messages are written for the marketer.

Every rule of the product (DESIGN.md section 1) fails with a subclass of
:class:`JourneyRuleError`. The UI shows ``str(error)`` as is, so messages are
complete sentences that say what was refused and what to do instead.
"""

from __future__ import annotations

from collections.abc import Sequence


class StudioError(Exception):
    """Base of every error the application reports to a person."""

    @property
    def message(self) -> str:
        return str(self)


class JourneyRuleError(StudioError):
    """An edit that a rule of the product forbids. Nothing was changed."""


class NotFoundError(JourneyRuleError):
    """The edit names something that does not exist (any more)."""


class InvalidNameError(JourneyRuleError):
    """A name that is blank or too long."""


class DuplicateNameError(JourneyRuleError):
    """A name already taken where names must be unique."""


class CycleError(JourneyRuleError):
    """A milestone moved under itself or under one of its own descendants."""


class AudienceMembershipError(JourneyRuleError):
    """A criterion uses an audience it can't: the milestone's own, one after it, or none.

    ``milestone_id`` is the milestone whose criteria were refused and ``audience_id``
    the audience they refer to, so an import can say where in its file the
    criterion is.
    """

    def __init__(self, message: str, milestone_id: str, audience_id: str) -> None:
        super().__init__(message)
        self.milestone_id = milestone_id
        self.audience_id = audience_id


class SplitRuleError(JourneyRuleError):
    """The Remaining-users rules of a split: only one, always last, never alone."""


class RemainingUsersCriteriaError(JourneyRuleError):
    """Remaining users has no criteria of its own."""


class MilestoneHasChildrenError(JourneyRuleError):
    """Milestones are removed last to first."""


class MilestoneHasOutputsError(JourneyRuleError):
    """A milestone's outputs are removed before the milestone."""


class JourneyNotEmptyError(JourneyRuleError):
    """A journey is deleted only once it has no milestones."""


class DuplicateOutputError(JourneyRuleError):
    """An audience is connected to a given connection at most once."""


class UnknownReferenceError(JourneyRuleError):
    """An input or connection that the account does not have."""


class InvalidSettingError(JourneyRuleError):
    """An account setting outside what the product allows."""


class ConnectionInUseError(JourneyRuleError):
    """A connection is removed only once no output uses it."""


class WorkspaceNotEmptyError(JourneyRuleError):
    """A workspace is removed only once it has no inputs."""


class InputInUseError(JourneyRuleError):
    """An input is removed only when no events came through it and no journey reads it."""


class NoInputsError(JourneyRuleError):
    """A journey reads at least one input: its population is everyone seen through them."""


class LimitBelowActiveError(InvalidSettingError):
    """The limit set below the number of audiences active now.

    ``active`` names them, as (audience, journey) pairs, so a window can list them.
    """

    def __init__(self, message: str, active: Sequence[tuple[str, str]]) -> None:
        super().__init__(message)
        self.active = tuple(active)


class ActiveAudienceLimitError(JourneyRuleError):
    """The edit would make more audiences active than the account allows."""

    def __init__(self, would_activate: Sequence[str], count_after: int, limit: int) -> None:
        self.would_activate = tuple(would_activate)
        self.count_after = count_after
        self.limit = limit
        names = ", ".join(f"“{name}”" for name in self.would_activate)
        noun = "audience" if len(self.would_activate) == 1 else "audiences"
        super().__init__(
            f"This would activate the {noun} {names}, making {count_after} active "
            f"audience{'' if count_after == 1 else 's'} "
            f"against the account limit of {limit}. Deactivate an output elsewhere or raise "
            f"the limit in Account settings."
        )


class ConflictError(StudioError):
    """Someone else saved a newer version; nothing was overwritten."""


class DataError(StudioError):
    """Stored or imported data that does not validate."""
