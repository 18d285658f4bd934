"""Scoring a roster candidate against a request: dates, SSN, stays, program, and the total."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta

from portal.rules.roster_match.names import (
    _SOURCE_NOTES,
    _best_name,
    _compare_given,
    _compare_surname,
    _is_transposition,
    _name_options,
)
from portal.rules.roster_match.values import (
    DEFAULT_STAY_TOLERANCE_DAYS,
    DEFAULT_THRESHOLDS,
    DIFFERENT,
    DOB_DIGITS_SWAPPED,
    DOB_ONE_DIGIT,
    DOB_TRANSPOSED,
    DOB_YEAR_OFF,
    EXACT,
    NICKNAME,
    PARTICLE_ONLY,
    POINTS,
    PROGRAM_AGREES,
    PROGRAM_DIFFERS,
    SSN_MATCH,
    SSN_MISMATCH,
    STAY_NO_OVERLAP,
    STAY_OVERLAPS,
    UNSURE_PROGRAMS,
    MatchQuery,
    MatchResult,
    MatchThresholds,
    RosterCandidate,
    Stay,
)

# --- Dates -------------------------------------------------------------------------------


def _compare_dob(query: date, roster: date) -> str:
    if query == roster:
        return EXACT
    if query.year == roster.year and query.month == roster.day and query.day == roster.month:
        return DOB_TRANSPOSED
    same_birthday = (query.month, query.day) == (roster.month, roster.day)
    if same_birthday and abs(query.year - roster.year) == 1:
        return DOB_YEAR_OFF
    a, b = query.strftime("%Y%m%d"), roster.strftime("%Y%m%d")
    if _is_transposition(a, b):
        return DOB_DIGITS_SWAPPED
    if sum(x != y for x, y in zip(a, b, strict=True)) == 1:
        return DOB_ONE_DIGIT
    return DIFFERENT


def _digits(ssn_last4: str | None) -> str | None:
    if not ssn_last4:
        return None
    digits = "".join(ch for ch in ssn_last4 if ch.isdigit())
    return digits if len(digits) == 4 else None


def _compare_stays(
    query: MatchQuery, stays: tuple[Stay, ...], tolerance_days: int
) -> tuple[str | None, list[Stay]]:
    """Return the stay label and the stays it refers to (None when there is nothing to compare).

    The requester's dates are approximate, so a stay within the tolerance still counts.
    """
    start = query.stay_from or query.stay_to
    end = query.stay_to or query.stay_from
    if start is None or end is None or not stays:
        return None, []
    if end < start:
        start, end = end, start
    tolerance = timedelta(days=tolerance_days)
    overlapping, near = [], []
    for stay in stays:
        stay_end = stay.discharged_on or stay.admitted_on
        if stay.admitted_on <= end and start <= stay_end:
            overlapping.append(stay)
        elif stay.admitted_on <= end + tolerance and start - tolerance <= stay_end:
            near.append(stay)
    if overlapping:
        return STAY_OVERLAPS, overlapping
    if near:
        return f"within {tolerance_days} days", near
    return STAY_NO_OVERLAP, []


def _program_code(program: str | None) -> str | None:
    code = (program or "").strip().casefold()
    return None if code in UNSURE_PROGRAMS else code


# --- Scoring -----------------------------------------------------------------------------


def score(
    query: MatchQuery,
    candidate: RosterCandidate,
    thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
    *,
    stay_tolerance_days: int = DEFAULT_STAY_TOLERANCE_DAYS,
) -> MatchResult:
    """Score one roster candidate against a request (R-ID-2(c)): 0..100, fields, decision."""
    fields: dict[str, str] = {}
    total = 0.0
    asked = _name_options(query.first_name, query.last_name, query.other_names)
    known = _name_options(candidate.first_name, candidate.last_name, candidate.other_names)

    first = _best_name(
        (
            (_compare_given(q_tokens, c_tokens), q_source, c_source)
            for q_tokens, q_source in asked.given
            for c_tokens, c_source in known.given
        ),
        "first_name",
    )
    last = _best_name(
        (
            (_compare_surname(q_tokens, q_joined, c_tokens, c_joined), q_source, c_source)
            for q_tokens, q_joined, q_source in asked.surnames
            for c_tokens, c_joined, c_source in known.surnames
        ),
        "last_name",
    )
    for field, best in (("last_name", last), ("first_name", first)):
        if best is None:
            continue
        level, sources = best
        fields[field] = level
        total += POINTS[field][level]
        if level != DIFFERENT and sources in _SOURCE_NOTES:
            fields[f"{field}_source"] = _SOURCE_NOTES[sources]

    dob_level = _compare_dob(query.dob, candidate.dob)
    fields["dob"] = dob_level
    if fields.get("last_name") == PARTICLE_ONLY and not (
            dob_level == EXACT and fields.get("first_name") in (EXACT, NICKNAME)):
        # A particle alone is a weak signal: worth nothing without the rest exact.
        total += POINTS["last_name"][DIFFERENT] - POINTS["last_name"][PARTICLE_ONLY]
        fields["last_name"] = DIFFERENT

    asked_ssn, known_ssn = _digits(query.ssn_last4), _digits(candidate.ssn_last4)
    if asked_ssn and known_ssn:
        # A mismatch is strong evidence of another person (R-ID-2(c)), so it outweighs a stay.
        ssn_level = SSN_MATCH if asked_ssn == known_ssn else SSN_MISMATCH
        fields["ssn_last4"] = ssn_level
        total += POINTS["ssn_last4"][ssn_level]

    stay_level, stays = _compare_stays(query, candidate.stays, stay_tolerance_days)
    if stay_level is not None:
        fields["stay"] = stay_level
        total += POINTS["stay"]["within" if stay_level.startswith("within") else stay_level]

    # A date of birth that is nearly right counts in full only beside another sign that this
    # is the person: a stay that overlaps (or nearly), or a name matched through an other
    # name. Against stays that never overlap it counts nothing (strangers with the same common
    # name and a birth date a digit off scored as "possible"); when the requester gave no stay
    # to compare, it counts half (a patient who remembers no dates is still found).
    if dob_level not in (EXACT, DIFFERENT):
        other_name = any(f"{field}_source" in fields for field in ("first_name", "last_name"))
        if other_name or stay_level not in (None, STAY_NO_OVERLAP):
            total += POINTS["dob"][dob_level]
        elif stay_level is None:
            total += POINTS["dob"][dob_level] / 2
            fields["dob_note"] = "half: no stay to compare"
        else:
            fields["dob_note"] = "not counted: the stays do not overlap"
    else:
        total += POINTS["dob"][dob_level]

    program = _program_code(query.program)
    if program is not None and candidate.stays:
        # Program is weak evidence: a detox stay is often followed by residential treatment.
        programs = {_program_code(s.program) for s in (stays or candidate.stays)}
        program_level = PROGRAM_AGREES if program in programs else PROGRAM_DIFFERS
        fields["program"] = program_level
        total += POINTS["program"][program_level]

    clamped = round(min(100.0, max(0.0, total)), 1)
    return MatchResult(
        patient_id=candidate.patient_id,
        score=clamped,
        matched_fields=fields,
        decision=thresholds.decision(clamped),
    )


def rank(
    query: MatchQuery,
    candidates: Iterable[RosterCandidate],
    thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
    limit: int = 10,
    *,
    stay_tolerance_days: int = DEFAULT_STAY_TOLERANCE_DAYS,
) -> list[MatchResult]:
    """Score candidates and return the best `limit`, highest score first, ties by patient_id.

    Unlikely candidates are kept (their decision says so) so the clerk can see what was near;
    a candidate listed twice (found by several blocking keys) is scored once.
    """
    seen: set[int] = set()
    results = []
    for candidate in candidates:
        if candidate.patient_id in seen:
            continue
        seen.add(candidate.patient_id)
        results.append(score(query, candidate, thresholds, stay_tolerance_days=stay_tolerance_days))
    results.sort(key=lambda result: (-result.score, result.patient_id))
    return results[:limit]
