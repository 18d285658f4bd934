"""Production hands jobs to huey on Redis; the worker's sweep hands over any whose hand-over
was lost (the web process died right after its commit, or Redis was down)."""

from __future__ import annotations

import secrets
import socket

import pytest
from sqlalchemy import select

from portal.jobs.models import DONE, PENDING, Job
from portal.jobs.outbox import HANDLERS, Handler

KIND = "tests.huey"


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="Redis is not answering on :6379")


@pytest.fixture
def app_config(app_config):
    app_config.update(JOBS_MODE="huey", JOBS_REDIS_URL="redis://127.0.0.1:6379/15",
                      JOBS_QUEUE_NAME=f"portal-test-{secrets.token_hex(4)}")
    return app_config


@pytest.fixture
def dispatcher(app):
    dispatcher = app.extensions["jobs_dispatcher"]
    yield dispatcher
    dispatcher.huey.flush()


@pytest.fixture
def calls(monkeypatch):
    seen: list[dict] = []
    monkeypatch.setitem(HANDLERS, KIND, Handler(KIND, lambda s, p, c: seen.append(p), 3, 300))
    return seen


def _run_queued(dispatcher) -> int:
    """What a worker process does: take each queued task and run it."""
    ran = 0
    while (task := dispatcher.huey.dequeue()) is not None:
        dispatcher.huey.execute(task)
        ran += 1
    return ran


def _status(app, job_id: int) -> str:
    from portal.core.db import get_session

    with app.app_context():
        return get_session().scalar(select(Job.status).where(Job.id == job_id))


def test_a_committed_job_is_handed_to_the_queue_and_run_by_a_worker(app, scope, dispatcher, calls):
    from portal.jobs.outbox import enqueue

    with scope() as session:
        job_id = enqueue(session, KIND, {"n": 1}).id
    assert calls == [] and dispatcher.huey.pending_count() == 1
    assert _run_queued(dispatcher) == 1
    assert calls == [{"n": 1}] and _status(app, job_id) == DONE


def test_the_sweep_hands_over_a_job_whose_hand_over_was_lost(app, scope, dispatcher, calls):
    from portal.core.db import get_session
    from portal.jobs.outbox import enqueue

    with scope() as session:
        job_id = enqueue(session, KIND, {"n": 2}).id
    dispatcher.huey.flush()  # the hand-over is lost (Redis restarted, the process died)
    with app.app_context():  # and a minute has passed
        session = get_session()
        row = session.get(Job, job_id)
        row.next_attempt_at = row.created_at.replace(year=row.created_at.year - 1)
        session.commit()
    assert _status(app, job_id) == PENDING
    assert dispatcher.sweep() == 1
    _run_queued(dispatcher)
    assert calls == [{"n": 2}] and _status(app, job_id) == DONE


def test_a_job_handed_over_twice_runs_once(app, scope, dispatcher, calls):
    from portal.jobs.outbox import enqueue

    with scope() as session:
        job_id = enqueue(session, KIND, {"n": 3}).id
    dispatcher.notify([job_id])
    assert _run_queued(dispatcher) == 2 and calls == [{"n": 3}]


def test_redis_down_at_commit_loses_nothing(app, scope, calls, monkeypatch):
    from portal.jobs.outbox import enqueue

    dispatcher = app.extensions["jobs_dispatcher"]
    monkeypatch.setattr(dispatcher.huey.storage, "enqueue",
                        lambda *a, **k: (_ for _ in ()).throw(ConnectionError("down")))
    with scope() as session:
        job_id = enqueue(session, KIND, {"n": 4}).id
    assert _status(app, job_id) == PENDING  # written; the sweep will hand it over
