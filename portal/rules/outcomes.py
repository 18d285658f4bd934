"""The outcome of each requested part (R-DEN-4): one vocabulary, its labels, and "decided".

A request ends with an outcome per part: released, denied on a ground (R-DEN-1), under review
(R-DEN-3), or one of the outcomes that are not denials and have letters of their own: no records
found, destroyed in the 2018 fire, destroyed under the retention schedule. The request closes
when every part has an outcome that is not "under review".
"""

from __future__ import annotations

from collections.abc import Iterable

from portal.rules import N_

RELEASED = "released"
DENIED = "denied"
UNDER_REVIEW = "under_review"
NO_RECORDS = "no_records"
DESTROYED_FIRE = "destroyed_fire"
DESTROYED_RETENTION = "destroyed_retention"

#: R-DEN-4: no copy can be given, and it is not a denial; each has its own letter.
NOT_AVAILABLE = (NO_RECORDS, DESTROYED_FIRE, DESTROYED_RETENTION)
#: What a clerk may record for a part ("under review" follows from routing a denial).
DECIDABLE = (RELEASED, DENIED, *NOT_AVAILABLE)
#: Every stored outcome, in report order.
OUTCOMES = (RELEASED, DENIED, UNDER_REVIEW, *NOT_AVAILABLE)

#: The clerk's choices, as actions.
CHOICE_LABELS = {
    RELEASED: N_("Release"),
    DENIED: N_("Deny"),
    NO_RECORDS: N_("No records found"),
    DESTROYED_FIRE: N_("Destroyed in the 2018 fire"),
    DESTROYED_RETENTION: N_("Destroyed under the retention schedule"),
    UNDER_REVIEW: N_("Denial under review"),
}
#: What happened, in a report (the auditor's dashboard).
REPORT_LABELS = {
    RELEASED: N_("Released"),
    DENIED: N_("Denied"),
    UNDER_REVIEW: N_("Under review"),
    NO_RECORDS: N_("No records"),
    DESTROYED_FIRE: N_("Lost in fire"),
    DESTROYED_RETENTION: N_("Retention"),
}
#: The titles of the letters of the outcomes that are not denials (R-DEN-4).
NOT_AVAILABLE_TITLES = {
    NO_RECORDS: "No records found",
    DESTROYED_FIRE: "Records destroyed in the 2018 fire",
    DESTROYED_RETENTION: "Records destroyed under the retention schedule",
}


def is_decided(outcome: str | None) -> bool:
    """A part is decided once it has an outcome that is not "under review"."""
    return outcome is not None and outcome != UNDER_REVIEW


def every_part_decided(outcomes: Iterable[str | None]) -> bool:
    """Whether a request may close: every part decided (R-DEN-4)."""
    return all(is_decided(outcome) for outcome in outcomes)


def undecided_count(outcomes: Iterable[str | None]) -> int:
    """How many parts still wait for an outcome (or for their review)."""
    return sum(not is_decided(outcome) for outcome in outcomes)
