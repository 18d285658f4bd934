"""The outbox: enqueue in the caller's transaction; claim, run, retry or fail a job on its own.

Delivery is at least once. A job is claimed (status 'running', a lease until ``locked_until``)
in a transaction of its own, then its handler runs and the job is marked done in the same
transaction as the handler's writes. A worker that dies mid-job leaves the lease, which
expires, and the job runs again; handlers are written to be safe to run twice (an email keeps
its Message-ID, a roster match replaces its own result).
"""

from __future__ import annotations

import json
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import Flask, current_app, g
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.core import db
from portal.core.actor import SYSTEM
from portal.core.keys import app_field_cipher
from portal.jobs.models import DONE, FAILED, PENDING, RUNNING, Job
from portal.trail.chain import append_event

log = logging.getLogger("portal.jobs")

#: Seconds before the first retry; each later retry waits twice as long, up to RETRY_CAP.
RETRY_BASE_SECONDS = 30
RETRY_CAP_SECONDS = 3600


class PermanentFailure(Exception):
    """Raised by a handler when no retry can succeed (a mail server refused the address).

    Its message is kept on the job and shown to staff: it must name no person.
    """


@dataclass(frozen=True)
class Handler:
    kind: str
    run: Callable[[Session, dict, JobContext], None]
    max_attempts: int
    lease_seconds: int


@dataclass(frozen=True)
class JobContext:
    """What a handler may know about the job it runs."""

    id: int
    uid: str
    attempt: int
    request_id: int | None


HANDLERS: dict[str, Handler] = {}
#: Called with (session, job) when a job fails for good, in the transaction that records it.
FAILURE_HOOKS: list[Callable[[Session, Job], None]] = []


def handler(kind: str, *, max_attempts: int = 8, lease_seconds: int = 300):
    """Register ``fn(session, payload, context)`` as the code that runs jobs of ``kind``."""

    def register(fn):
        if kind in HANDLERS and HANDLERS[kind].run is not fn:
            raise RuntimeError(f"two handlers for job kind {kind!r}")
        HANDLERS[kind] = Handler(kind, fn, max_attempts, lease_seconds)
        return fn

    return register


def _context(uid: str) -> bytes:
    return b"job:" + uid.encode()


def _seal(uid: str, payload: dict) -> bytes:
    data = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    return app_field_cipher().encrypt(data, _context(uid))


def _open(job: Job) -> dict:
    return json.loads(app_field_cipher().decrypt(job.payload, _context(job.uid)))


def enqueue(session: Session, kind: str, payload: dict | None = None, *,
            request_id: int | None = None, dedupe_key: str | None = None,
            delay: timedelta | None = None, uid: str | None = None) -> Job | None:
    """Write a job in the caller's transaction; it is handed on only once that commits.

    With ``dedupe_key``, a job already written under that key is kept and None is returned
    (periodic work started by two workers at once runs once).
    """
    if kind not in HANDLERS:
        raise ValueError(f"no handler registered for job kind {kind!r}")
    uid = uid or secrets.token_hex(16)
    now = db.utcnow()
    job = Job(uid=uid, kind=kind, payload=_seal(uid, payload or {}), dedupe_key=dedupe_key,
              request_id=request_id, status=PENDING, attempts=0,
              max_attempts=HANDLERS[kind].max_attempts,
              next_attempt_at=now + (delay or timedelta()), created_at=now)
    if dedupe_key is not None:
        exists = session.scalar(select(Job.id).where(Job.dedupe_key == dedupe_key))
        if exists is not None:
            return None
        try:
            with session.begin_nested():
                session.add(job)
        except IntegrityError:  # written by another worker meanwhile
            return None
    else:
        session.add(job)
    session.flush()
    _hand_over_after_commit(job.id)
    return job


def _hand_over_after_commit(job_id: int) -> None:
    """Once the job's transaction commits, tell the dispatcher (it may run it at once)."""
    dispatcher = current_app.extensions.get("jobs_dispatcher")
    if dispatcher is not None:
        db.after_commit(lambda: dispatcher.notify([job_id]))


def due_job_ids(session: Session, now: datetime, limit: int = 50) -> list[int]:
    """Pending jobs whose time has come, oldest first."""
    return list(session.scalars(
        select(Job.id).where(Job.status == PENDING, Job.next_attempt_at <= now)
        .order_by(Job.id).limit(limit)
    ))


def recover_expired(session: Session, now: datetime) -> int:
    """Jobs whose worker died (lease expired) go back to pending; returns how many."""
    result = session.execute(
        update(Job).where(Job.status == RUNNING, Job.locked_until < now)
        .values(status=PENDING, locked_until=None, next_attempt_at=now,
                last_error="The worker stopped during the job")
    )
    return result.rowcount or 0


def _claim(session: Session, job_id: int, now: datetime) -> bool:
    job_kind = session.scalar(select(Job.kind).where(Job.id == job_id))
    spec = HANDLERS.get(job_kind) if job_kind else None
    # JOBS_LEASE_SECONDS overrides every kind's lease (the fault drill shortens it).
    seconds = current_app.config.get("JOBS_LEASE_SECONDS") or (spec.lease_seconds if spec else 300)
    lease = timedelta(seconds=int(seconds))
    result = session.execute(
        update(Job).where(Job.id == job_id, Job.status == PENDING, Job.next_attempt_at <= now)
        .values(status=RUNNING, attempts=Job.attempts + 1, locked_until=now + lease)
    )
    return (result.rowcount or 0) == 1


def retry_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter: about 30 s, 1 min, 2 min, … up to an hour."""
    seconds = min(RETRY_BASE_SECONDS * 2 ** max(attempt - 1, 0), RETRY_CAP_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))  # noqa: S311 (not security)


def run_job(app: Flask, job_id: int) -> str | None:
    """Claim and run one job in app contexts of its own; returns its new status, or None if
    another worker has it (or it is not due)."""
    with app.app_context():
        session = db.get_session()
        if not _claim(session, job_id, db.utcnow()):
            db.rollback()
            return None
        db.commit()
        job = session.get(Job, job_id)
        spec = HANDLERS.get(job.kind)
        context = JobContext(job.id, job.uid, job.attempts, job.request_id)
        try:
            if spec is None:
                raise PermanentFailure(f"No handler for job kind {job.kind}")
            spec.run(session, _open(job), context)
            job = session.get(Job, job_id)
            job.status, job.finished_at, job.locked_until = DONE, db.utcnow(), None
            job.payload, job.last_error = b"", None
            db.commit()
            return DONE
        except PermanentFailure as exc:
            db.rollback()
            return _record_failure(app, job_id, str(exc)[:300], permanent=True)
        except Exception as exc:  # any failure is retried; the job is never lost
            db.rollback()
            log.exception("job %s (%s) failed on attempt %s", job_id, context.uid,
                          context.attempt)
            return _record_failure(app, job_id, type(exc).__name__, permanent=False)


def _record_failure(app: Flask, job_id: int, reason: str, *, permanent: bool) -> str:
    with app.app_context():
        session = db.get_session()
        job = session.get(Job, job_id)
        job.locked_until = None
        job.last_error = reason
        if permanent or job.attempts >= job.max_attempts:
            job.status, job.finished_at = FAILED, db.utcnow()
            _alert(session, job)
        else:
            job.status = PENDING
            job.next_attempt_at = db.utcnow() + retry_delay(job.attempts)
        db.commit()
        return job.status


def _alert(session: Session, job: Job) -> None:
    """A job failed for good: an error in the log, an audit event, a mail to the operators."""
    log.error("job %s (%s) failed for good after %s attempt(s): %s", job.id, job.kind,
              job.attempts, job.last_error)
    append_event(session, "job.failed", actor=SYSTEM, object_type="job", object_id=job.id,
                 request_id=job.request_id,
                 summary={"kind": job.kind, "attempts": job.attempts})
    for hook in FAILURE_HOOKS:
        hook(session, job)


def retry_failed(session: Session, job_id: int, *, by: str) -> bool:
    """An admin sends a failed job round again (its attempts start over)."""
    job = session.get(Job, job_id)
    if job is None or job.status != FAILED:
        return False
    job.status, job.attempts, job.next_attempt_at = PENDING, 0, db.utcnow()
    job.finished_at, job.retried_by = None, by
    append_event(session, "job.retried", actor=SYSTEM, object_type="job", object_id=job.id,
                 request_id=job.request_id, summary={"kind": job.kind, "by": by})
    _hand_over_after_commit(job.id)
    return True


def status_counts(session: Session) -> dict[str, int]:
    """How many jobs are in each state (the admin page and the health check)."""
    counts = dict.fromkeys((PENDING, RUNNING, DONE, FAILED), 0)
    for status, count in session.execute(select(Job.status, func.count()).group_by(Job.status)):
        counts[status] = count
    return counts


def run_due(app: Flask, *, limit: int = 50) -> int:
    """Recover expired leases and run every job that is due now; returns how many ran.

    Looking costs no write: on SQLite the poll reads as a snapshot (portal.core.db) and takes
    the database's one write lock only when there is a lease to recover, so a dispatcher
    polling every few seconds never makes a page wait."""
    ran = 0
    while True:
        with app.app_context():
            g.db_read_first = True
            session = db.get_session()
            now = db.utcnow()
            expired = session.scalar(select(Job.id).where(
                Job.status == RUNNING, Job.locked_until < now).limit(1))
            if expired is not None and recover_expired(session, now):
                db.commit()
            ids = due_job_ids(session, now, limit)
            db.rollback()
        if not ids:
            return ran
        ran_now = sum(run_job(app, job_id) is not None for job_id in ids)
        if not ran_now:
            return ran
        ran += ran_now


def list_jobs(session: Session, statuses: tuple[str, ...], limit: int = 100) -> list[Job]:
    """The newest jobs in the given states (the admin page): no payload is read."""
    return list(session.scalars(
        select(Job).where(Job.status.in_(statuses)).order_by(Job.id.desc()).limit(limit)
    ))


def undeliverable_mail(session: Session, request_id: int) -> list[Job]:
    """Emails about a request that failed for good (a refused address), for its clerk."""
    return list(session.scalars(
        select(Job).where(Job.request_id == request_id, Job.kind == "mail.send",
                          Job.status == FAILED).order_by(Job.id)
    ))
