"""The roster side of the match: candidate patients by blocking key, loaded for scoring."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from flask import current_app
from sqlalchemy import delete, or_, select, union
from sqlalchemy.orm import Session

from portal.roster.bulk import KEY_COLUMNS
from portal.roster.models import Admission, RosterBlockingKey, RosterName, RosterPatient
from portal.rules import roster_match
from portal.rules.roster_match import MatchThresholds, RosterCandidate, Stay


def match_thresholds() -> MatchThresholds:
    """The configured thresholds (MATCH_*), or the module's calibrated defaults."""
    config = current_app.config
    default = roster_match.DEFAULT_THRESHOLDS
    likely = config.get("MATCH_LIKELY_THRESHOLD")
    possible = config.get("MATCH_POSSIBLE_THRESHOLD")
    return MatchThresholds(
        likely=float(likely) if likely is not None else default.likely,
        possible=float(possible) if possible is not None else default.possible,
    )


def load_candidates(session: Session, patient_ids: list[int]) -> list[RosterCandidate]:
    """The matcher's view of roster patients, loaded in three set-based queries."""
    if not patient_ids:
        return []
    rows = session.execute(
        select(RosterPatient.id, RosterPatient.mrn, RosterPatient.legal_first_name,
               RosterPatient.legal_last_name, RosterPatient.dob, RosterPatient.ssn_last4)
        .where(RosterPatient.id.in_(patient_ids))
    ).all()
    names: dict[int, list[str]] = {}
    for patient_id, full_name in session.execute(
        select(RosterName.patient_id, RosterName.full_name)
        .where(RosterName.patient_id.in_(patient_ids))
    ):
        names.setdefault(patient_id, []).append(full_name)
    stays: dict[int, list[Stay]] = {}
    for patient_id, admitted, discharged, program in session.execute(
        select(Admission.patient_id, Admission.admitted_on, Admission.discharged_on,
               Admission.program)
        .where(Admission.patient_id.in_(patient_ids)).order_by(Admission.admitted_on)
    ):
        stays.setdefault(patient_id, []).append(Stay(admitted, discharged, program))
    return [
        RosterCandidate(
            patient_id=row.id, mrn=row.mrn, first_name=row.legal_first_name,
            last_name=row.legal_last_name, other_names=tuple(names.get(row.id, ())),
            dob=row.dob, ssn_last4=row.ssn_last4, stays=tuple(stays.get(row.id, ())),
        )
        for row in rows
    ]


def refresh_blocking_keys(session: Session, patients: Iterable[int | RosterPatient]) -> int:
    """Recompute the stored blocking keys of patients added or changed outside an import.

    The import keeps keys in step itself; anything else that writes roster patients (demo
    data, a correction by hand) must call this, or the match finds those patients by their
    date of birth only. ``patients`` are ids or RosterPatient rows. Returns the number of key
    rows stored (one per pair of name initials).
    """
    session.flush()
    patient_ids = [p if isinstance(p, int) else p.id for p in patients]
    table = RosterBlockingKey.__table__
    session.execute(delete(table).where(table.c.patient_id.in_(patient_ids)))
    rows = [
        dict(zip(KEY_COLUMNS, (candidate.patient_id, *keys), strict=True))
        for candidate in load_candidates(session, patient_ids)
        for keys in roster_match.roster_key_rows(candidate.first_name, candidate.last_name,
                                                 candidate.other_names, candidate.dob)
    ]
    if rows:
        session.execute(table.insert(), rows)
    return len(rows)


def candidate_ids(session: Session, keys: Iterable[str]) -> list[int]:
    """Roster patients sharing at least one of these blocking keys, by id (ascending).

    ``dob:`` keys look up the patients' date of birth; the name-and-date keys their column
    of roster_blocking_key (see portal.roster.models).
    """
    by_kind: dict[str, list[str]] = {"dob": [], "nym": [], "nmd": [], "nyd": []}
    for key in keys:
        by_kind[key[:3]].append(key)
    table = RosterBlockingKey
    named = select(table.patient_id).where(or_(
        table.year_month_key.in_(sorted(by_kind["nym"])),
        table.month_day_key.in_(sorted(by_kind["nmd"])),
        table.year_day_key.in_(sorted(by_kind["nyd"])),
    ))
    born = select(RosterPatient.id).where(
        RosterPatient.dob.in_(sorted(date.fromisoformat(key[4:]) for key in by_kind["dob"])))
    return sorted(session.scalars(union(named, born)))
