"""Locating the patient a request is about (R-ID-2(c)): the roster match runs for a request,
and what the roster knows about a located patient's requests.

The roster (portal.roster) is the program's patient index and knows nothing of requests; this
module asks it for candidates and keeps each run's ranking with the request (R-ID-2(c): every
run kept, a new run never erases the earlier ranking).
"""

from __future__ import annotations

import hashlib

from flask import current_app
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from portal.core.actor import SYSTEM, Actor
from portal.core.db import get_session, take_write_lock, utcnow
from portal.jobs.outbox import JobContext, enqueue, handler
from portal.requests.models import RecordRequest, RosterMatch, RosterMatchRun
from portal.roster.candidates import candidate_ids, load_candidates, match_thresholds
from portal.roster.models import RosterPatient
from portal.rules import roster_match
from portal.rules.names import split_other_names
from portal.rules.roster_match import MatchQuery
from portal.trail.chain import append_event


def query_for_request(req: RecordRequest) -> MatchQuery:
    """What the requester said about the patient, as the matcher's query."""
    return MatchQuery(
        first_name=req.patient_first_name,
        last_name=req.patient_last_name,
        other_names=split_other_names(req.patient_other_names),
        dob=req.patient_dob,
        ssn_last4=req.patient_ssn_last4,
        stay_from=req.stay_from,
        stay_to=req.stay_to,
        program=req.program,
    )


def match_inputs_digest(query: MatchQuery, thresholds, limit: int) -> str:
    """SHA-256 of what a match run was given, in a canonical form (R-ID-2(c))."""
    import json
    from dataclasses import asdict

    inputs = {"query": asdict(query), "thresholds": asdict(thresholds), "limit": limit}
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def has_match_run(session: Session, request_id: int) -> bool:
    """Whether the roster match ever ran for this request (read from its runs, not the trail)."""
    return latest_match_run(session, request_id) is not None


def match_runs(session: Session, request_id: int) -> list[RosterMatchRun]:
    """Every roster-match run of a request, newest first (R-ID-2(c): none is ever erased)."""
    return list(session.scalars(select(RosterMatchRun).where(
        RosterMatchRun.request_id == request_id).order_by(RosterMatchRun.id.desc())))


def latest_match_run(session: Session, request_id: int) -> RosterMatchRun | None:
    """The run whose candidates the clerk is shown now."""
    return session.scalar(select(RosterMatchRun).where(
        RosterMatchRun.request_id == request_id).order_by(RosterMatchRun.id.desc()).limit(1))


def view_match_run(session: Session, req: RecordRequest, run_id: int,
                   actor: Actor) -> tuple[RosterMatchRun, dict[int, RosterPatient]] | None:
    """One run's ranking, with the roster patients it named (None if the request has no such
    run); audited as a view of roster data (R-AUD-2), with surrogate ids only."""
    run = session.get(RosterMatchRun, run_id)
    if run is None or run.request_id != req.id:
        return None
    ids = [entry["patient_id"] for entry in run.ranking or []]
    patients = {p.id: p for p in session.scalars(
        select(RosterPatient).where(RosterPatient.id.in_(ids)))} if ids else {}
    append_event(session, "roster.run_viewed", actor=actor, deferred=True,
                 object_type="roster_match_run", object_id=run.id, request_id=req.id,
                 summary={"candidates": len(ids)})
    return run, patients


def run_roster_match(session: Session, request_id: int, actor: Actor = SYSTEM) -> list[RosterMatch]:
    """Rank roster candidates for a request and keep the run; the latest candidates replace the
    earlier ones for the clerk's choice, and every run's ranking stays on file (R-ID-2(c)).

    Candidates come from the blocking keys, scores from portal.rules.roster_match; the audit
    event holds counts only (R-ID-5: nothing says who matched).
    """
    take_write_lock(session)  # the stored ranking replaces the last one: read the roster now
    req = session.get(RecordRequest, request_id)
    if req is None:
        raise LookupError(request_id)
    query = query_for_request(req)
    patient_ids = candidate_ids(session, roster_match.blocking_keys_for_query(query))
    thresholds = match_thresholds()
    limit = int(current_app.config.get("MATCH_CANDIDATE_LIMIT", 10))
    results = roster_match.rank(query, load_candidates(session, patient_ids), thresholds,
                                limit=limit)
    session.execute(delete(RosterMatch).where(RosterMatch.request_id == request_id))
    now = utcnow()
    matches = [
        RosterMatch(request_id=request_id, patient_id=r.patient_id, rank=number, score=r.score,
                    decision=r.decision, matched_fields=dict(r.matched_fields), computed_at=now)
        for number, r in enumerate(results, start=1)
    ]
    session.add_all(matches)
    session.add(RosterMatchRun(
        request_id=request_id, ran_at=now, actor_type=actor.kind, actor_id=actor.id,
        inputs_digest=match_inputs_digest(query, thresholds, limit),
        candidate_count=len(patient_ids),
        ranking=[{"patient_id": m.patient_id, "rank": m.rank, "score": m.score,
                  "decision": m.decision, "matched_fields": m.matched_fields} for m in matches],
    ))
    session.flush()
    append_event(
        session, "roster.matched", actor=actor, object_type="request", object_id=request_id,
        request_id=request_id,
        summary={"candidates": len(patient_ids), "ranked": len(matches),
                 "likely": sum(m.decision == "likely" for m in matches),
                 "possible": sum(m.decision == "possible" for m in matches)},
    )
    return matches


ROSTER_MATCH_JOB = "requests.roster_match"


def schedule_roster_match(request_id: int) -> None:
    """R-ID-5: the match runs as a job after the submission commits, outside the visitor's
    request; the job is written in the submission's own transaction, so it cannot be lost."""
    enqueue(get_session(), ROSTER_MATCH_JOB, {"request_id": request_id}, request_id=request_id)


@handler(ROSTER_MATCH_JOB)
def run_roster_match_job(session: Session, payload: dict, _context: JobContext) -> None:
    """The roster match of the staff workspace, as a job of its own."""
    run_roster_match(session, payload["request_id"])


def view_patient(session: Session, patient_id: int,
                 actor: Actor) -> tuple[RosterPatient, list[RecordRequest]] | None:
    """A roster patient and every request ever located to them; audited."""
    patient = session.get(RosterPatient, patient_id)
    if patient is None:
        return None
    requests = list(session.scalars(
        select(RecordRequest).where(RecordRequest.patient_id == patient_id)
        .order_by(RecordRequest.received_at.desc())
    ))
    append_event(session, "roster.patient_viewed", actor=actor, deferred=True,
                 object_type="roster_patient",
                 object_id=patient_id, summary={"requests": len(requests)})
    return patient, requests
