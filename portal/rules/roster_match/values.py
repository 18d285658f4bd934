"""The plain values the roster match works on, the labels it stores and the points it gives."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

DEFAULT_STAY_TOLERANCE_DAYS = 60
UNSURE_PROGRAMS = frozenset({"", "not sure", "not_sure", "unsure", "unknown"})

# Field labels, stored in matched_fields and shown to the clerk.
EXACT = "exact"
NICKNAME = "nickname"
PARTIAL = "partial"
TOKEN_OVERLAP = "token overlap"
TYPO = "typo"
SOUNDS_ALIKE = "sounds alike"
# A surname typed as its particle alone ("De" for De la Cruz): counts only beside an exact
# date of birth and first name.
PARTICLE_ONLY = "particle only"
INITIAL = "initial"
DIFFERENT = "different"
DOB_TRANSPOSED = "day-month transposed"
DOB_YEAR_OFF = "year off by one"
DOB_ONE_DIGIT = "one digit differs"
DOB_DIGITS_SWAPPED = "adjacent digits swapped"
SSN_MATCH = "match"
SSN_MISMATCH = "mismatch"
STAY_OVERLAPS = "overlaps"
STAY_NO_OVERLAP = "no overlap"
PROGRAM_AGREES = "agrees"
PROGRAM_DIFFERS = "differs"

POINTS: dict[str, dict[str, float]] = {
    "last_name": {EXACT: 30, TOKEN_OVERLAP: 26, TYPO: 22, SOUNDS_ALIKE: 16, PARTICLE_ONLY: 12,
                  DIFFERENT: -15},
    "first_name": {
        EXACT: 20,
        NICKNAME: 17,
        PARTIAL: 16,
        TYPO: 15,
        INITIAL: 6,
        DIFFERENT: -25,
    },
    "dob": {
        EXACT: 35,
        DOB_TRANSPOSED: 27,
        DOB_YEAR_OFF: 22,
        DOB_ONE_DIGIT: 22,
        DOB_DIGITS_SWAPPED: 22,
        DIFFERENT: -15,
    },
    "ssn_last4": {SSN_MATCH: 10, SSN_MISMATCH: -50},
    "stay": {STAY_OVERLAPS: 7, "within": 5, STAY_NO_OVERLAP: -5},
    "program": {PROGRAM_AGREES: 3, PROGRAM_DIFFERS: 0},
}


@dataclass(frozen=True, slots=True)
class Stay:
    """One admission on the roster; `discharged_on` is None when the chart does not say."""

    admitted_on: date
    discharged_on: date | None
    program: str


@dataclass(frozen=True, slots=True)
class RosterCandidate:
    """A roster patient as the matcher sees it; `other_names` are full names."""

    patient_id: int
    mrn: str
    first_name: str
    last_name: str
    other_names: tuple[str, ...]
    dob: date
    ssn_last4: str | None
    stays: tuple[Stay, ...]


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """What the requester typed about the patient; `other_names` are full names."""

    first_name: str
    last_name: str
    other_names: tuple[str, ...]
    dob: date
    ssn_last4: str | None = None
    stay_from: date | None = None
    stay_to: date | None = None
    program: str | None = None


@dataclass(frozen=True, slots=True)
class MatchThresholds:
    """Score cut-offs for the 'likely' and 'possible' decisions (the app passes config values).

    Defaults from tests/data/roster_match_pairs.csv: no near miss there scores above 50 (twins
    with the same stays reach 50), so 'possible' is 55, which keeps 99% of true matches; 97% of
    true matches with a single variation (a nickname, a typo, a transposed birth date) score
    75 or more, which is 'likely'.
    """

    likely: float = 75.0
    possible: float = 55.0

    def __post_init__(self) -> None:
        if not 0 <= self.possible <= self.likely <= 100:
            raise ValueError("thresholds must satisfy 0 <= possible <= likely <= 100")

    def decision(self, score: float) -> str:
        """Return 'likely', 'possible' or 'unlikely' for a score."""
        if score >= self.likely:
            return "likely"
        if score >= self.possible:
            return "possible"
        return "unlikely"


DEFAULT_THRESHOLDS = MatchThresholds()


@dataclass(frozen=True, slots=True)
class MatchResult:
    """One candidate's score (0..100), the fields that matched and how, and the decision."""

    patient_id: int
    score: float
    matched_fields: dict[str, str]
    decision: str
