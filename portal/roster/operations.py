"""The roster's operations: import a CSV (checked by parsing.py, written by bulk.py), count the
roster, and search it for the roster pages. The request side of the match is
portal.requests.location.
"""

from __future__ import annotations

from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.roster.bulk import write_roster
from portal.roster.models import Admission, RosterName, RosterPatient
from portal.roster.parsing import ImportResult, RosterFileRefused, parse_roster
from portal.trail.chain import append_event


def import_roster(
    session: Session, stream: BinaryIO, *, actor: Actor, skip_invalid: bool = False,
) -> ImportResult:
    """Check and import a roster CSV in one go (the browser upload; the CLI adds progress)."""
    try:
        parsed = parse_roster(stream)
    except RosterFileRefused as exc:
        return ImportResult(imported=False, errors=[(0, p) for p in exc.problems],
                            error_count=len(exc.problems))
    return write_roster(session, parsed, actor=actor, skip_invalid=skip_invalid)


def roster_counts(session: Session) -> dict[str, int]:
    """How many patients and admissions the roster holds."""
    return {
        "patients": session.scalar(select(func.count()).select_from(RosterPatient)) or 0,
        "admissions": session.scalar(select(func.count()).select_from(Admission)) or 0,
    }


def search_roster(session: Session, term: str, actor: Actor,
                  limit: int = 50) -> list[RosterPatient]:
    """Roster patients by MRN, or whose legal or other names contain every typed word.

    Audited as roster.searched with the number of results only (never the term).
    """
    term = term.strip()
    by_mrn = list(session.scalars(select(RosterPatient).where(RosterPatient.mrn == term)))
    if by_mrn:
        found = by_mrn
    else:
        words = [w for w in term.casefold().split() if w]
        query = select(RosterPatient)
        for word in words:
            pattern = f"%{word.replace('%', '').replace('_', '')}%"
            other = select(RosterName.patient_id).where(func.lower(RosterName.full_name)
                                                         .like(pattern))
            query = query.where(
                func.lower(RosterPatient.legal_first_name).like(pattern)
                | func.lower(RosterPatient.legal_last_name).like(pattern)
                | RosterPatient.id.in_(other)
            )
        found = list(session.scalars(
            query.order_by(RosterPatient.legal_last_name, RosterPatient.legal_first_name,
                           RosterPatient.id).limit(limit)))
    append_event(session, "roster.searched", actor=actor, object_type="roster", deferred=True,
                 summary={"results": len(found), "by_mrn": bool(by_mrn)})
    return found
