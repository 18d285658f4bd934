"""Who runs committed jobs (JOBS_MODE), and the periodic work they all schedule the same way.

- ``inline``: the committing thread runs them right after the commit (tests).
- ``thread``: one thread of the serving process polls the outbox (the embedded default, so
  `make run` needs no other service); started by the first request the process serves, so the
  reloader's watching parent never runs one.
- ``huey``: the committing process hands each job's id to huey on Redis; `flask --app portal
  worker` processes run them. Each worker also sweeps the outbox once a minute, so a job whose
  hand-over was lost (the web process died right after its commit, Redis was down) still runs.

Periodic work is a job like any other: once a minute each dispatcher writes the jobs whose time
has come under a dedupe key naming the day, so several workers write each one once, and a day
missed while every worker was down is caught up when one starts.
"""

from __future__ import annotations

import logging
import os
import threading
import time as time_module
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import delete

from portal.core import db
from portal.jobs.models import DONE, Job
from portal.jobs.outbox import (
    HANDLERS,
    due_job_ids,
    enqueue,
    handler,
    recover_expired,
    run_due,
    run_job,
)
from portal.rules.deadlines import pacific_time

log = logging.getLogger("portal.jobs")
#: How long finished jobs are kept (their payload is already gone) before they are deleted.
DONE_KEEP_DAYS = 30


@dataclass(frozen=True)
class Periodic:
    """A job written once a day at ``at`` (Los Angeles time), from then until midnight; or,
    with ``every``, once in each such slice of the day."""

    name: str
    kind: str
    at: time = time(0, 0)
    every: timedelta | None = None
    #: A setting (in minutes) that replaces ``every`` when it is set.
    every_setting: str | None = None

    def slot(self, local: datetime, config=None) -> str | None:
        """The dedupe slot ``local`` falls in, or None before today's time has come."""
        every = self.every
        if self.every_setting and config is not None and config.get(self.every_setting):
            every = timedelta(minutes=int(config[self.every_setting]))
        if every is not None:
            seconds = int(every.total_seconds())
            since_midnight = local.hour * 3600 + local.minute * 60 + local.second
            return f"{local.date().isoformat()}T{since_midnight // seconds}"
        return local.date().isoformat() if local.time() >= self.at else None


#: Every periodic job. The handlers live in their areas and register under these kinds.
SCHEDULE: tuple[Periodic, ...] = (
    Periodic("housekeeping", "requests.abandon_stale", time(3, 0)),
    Periodic("drafts-purge", "requester.purge_drafts", time(3, 10)),
    Periodic("jobs-cleanup", "jobs.cleanup", time(3, 20)),
    Periodic("clerk-digest", "reminders.clerk_digest", time(7, 0)),
    Periodic("requester-reminders", "reminders.requesters", time(9, 0)),
    # Files whose unit of work never committed (a process killed mid-request).
    Periodic("storage-sweep", "storage.sweep_pending", every=timedelta(minutes=15)),
    # The chain head, signed, to the head file outside the database (portal.audit.heads).
    Periodic("audit-head", "audit.record_head", every=timedelta(hours=1),
             every_setting="AUDIT_HEAD_EVERY_MINUTES"),
)


def schedule_due(session, now: datetime) -> list[str]:
    """Write today's periodic jobs whose time has passed and that are not written yet."""
    local = pacific_time(now)  # the schedule is in Los Angeles time, as every deadline
    written = []
    config = current_app.config if has_app_context() else None
    for item in SCHEDULE:
        slot = item.slot(local, config)
        if item.kind not in HANDLERS or slot is None:
            continue
        key = f"periodic:{item.name}:{slot}"
        if enqueue(session, item.kind, {"slot": slot}, dedupe_key=key):
            written.append(item.name)
    return written


def tick(app: Flask) -> list[str]:
    """Once a minute, in every dispatcher: write the periodic jobs that are due."""
    with app.app_context():
        g.db_read_first = True  # SQLite: the write lock only if a job is to be written
        written = schedule_due(db.get_session(), db.utcnow())
        db.commit()
    return written


@handler("jobs.cleanup")
def cleanup_finished(session, _payload: dict, _context) -> None:
    """Delete finished jobs older than DONE_KEEP_DAYS (failed ones stay for an admin)."""
    cutoff = db.utcnow() - timedelta(days=DONE_KEEP_DAYS)
    session.execute(delete(Job).where(Job.status == DONE, Job.finished_at < cutoff))


class InlineDispatcher:
    """Runs what is due in the committing thread, right after each commit (tests)."""

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._local = threading.local()

    def notify(self, _job_ids: list[int]) -> None:
        if getattr(self._local, "draining", False):
            return  # the drain below is already running and will see these jobs
        self._local.draining = True
        try:
            run_due(self.app)
        finally:
            self._local.draining = False

    def start(self) -> None:
        """Nothing runs in the background in this mode."""


class ThreadDispatcher:
    """One polling thread in the serving process (the embedded default)."""

    POLL_SECONDS = 2.0
    TICK_SECONDS = 60.0

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._stop = threading.Event()

    def notify(self, _job_ids: list[int]) -> None:
        self._wake.set()

    def start(self) -> None:
        """Start the thread once per process (again after a fork: threads do not survive it)."""
        if self._pid == os.getpid():  # every request asks: answer without the lock
            return
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
            threading.Thread(target=self.loop, name="portal-jobs", daemon=True).start()

    def loop(self, *, once: bool = False) -> None:
        next_tick = 0.0
        while not self._stop.is_set():
            try:
                if time_module.monotonic() >= next_tick:
                    tick(self.app)
                    next_tick = time_module.monotonic() + self.TICK_SECONDS
                run_due(self.app)
            except Exception:  # the database may be restarting: log and try again
                log.exception("job dispatcher pass failed; retrying")
            if once:
                return
            self._wake.wait(self.POLL_SECONDS)
            self._wake.clear()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()


class HueyDispatcher:
    """Hands committed jobs to huey on Redis; `flask --app portal worker` runs them."""

    def __init__(self, app: Flask) -> None:
        from huey import RedisHuey, crontab

        self.app = app
        self.huey = RedisHuey(app.config.get("JOBS_QUEUE_NAME", "portal"),
                              url=app.config["JOBS_REDIS_URL"], results=False, utc=True)
        self.run_task = self.huey.task(name="portal.run_job")(self._run)
        self.huey.periodic_task(crontab(), name="portal.minute")(self._minute)

    def _run(self, job_id: int) -> None:
        run_job(self.app, job_id)

    def _minute(self) -> None:
        tick(self.app)
        self.sweep()

    def sweep(self) -> int:
        """Hand over every due job again (those whose hand-over was lost); returns how many."""
        with self.app.app_context():
            session = db.get_session()
            now = db.utcnow()
            recover_expired(session, now)
            ids = due_job_ids(session, now - timedelta(seconds=30), limit=1000)
            db.commit()
        for job_id in ids:
            self.run_task(job_id)
        return len(ids)

    def notify(self, job_ids: list[int]) -> None:
        for job_id in job_ids:
            try:
                self.run_task(job_id)
            except Exception:  # Redis down: the job is in the outbox, the sweep hands it over
                log.warning("could not hand job %s to the queue; the sweep will", job_id)

    def start(self) -> None:
        """Web processes only hand jobs over; workers run them."""

    def consumer(self, workers: int):
        return self.huey.create_consumer(workers=workers, worker_type="thread", periodic=True,
                                         check_worker_health=True)


MODES = {"inline": InlineDispatcher, "thread": ThreadDispatcher, "huey": HueyDispatcher}


def init_app(app: Flask) -> None:
    """Choose the dispatcher (JOBS_MODE); in thread mode, start it on the first request."""
    mode = app.config.get("JOBS_MODE", "thread")
    if mode not in MODES:
        raise RuntimeError(f"JOBS_MODE must be one of {sorted(MODES)}, not {mode!r}")
    if mode == "huey" and not app.config.get("JOBS_REDIS_URL"):
        raise RuntimeError("JOBS_MODE 'huey' needs JOBS_REDIS_URL (redis://host:6379/1)")
    dispatcher = app.extensions["jobs_dispatcher"] = MODES[mode](app)
    if mode == "thread":
        app.before_request(dispatcher.start)
