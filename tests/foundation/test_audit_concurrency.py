"""Concurrent writers cannot fork the audit chain (appends are serialized, R-AUD-2)."""

from __future__ import annotations

import threading

from portal.core import db as dbmod
from portal.core.actor import Actor
from portal.trail.chain import append_event, verify_chain


def test_concurrent_appends_from_many_threads_form_one_unbroken_chain(app):
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def writer(worker: int) -> None:
        try:
            barrier.wait()
            for n in range(20):
                with app.app_context():
                    session = dbmod.get_session()
                    append_event(session, "test.appended", actor=Actor(kind="system"),
                                 summary={"worker": worker, "n": n})
                    dbmod.commit()
        except BaseException as exc:  # collected and asserted on the main thread
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    with app.app_context():
        result = verify_chain(dbmod.get_session())
    assert result.ok, result.reason
    assert result.checked == 80


def test_a_deferred_event_is_written_at_the_commit_and_dropped_with_a_rollback(app):
    """Page views record what they showed just before the commit (the lock is then held for
    the insert only); a unit of work that rolls back records nothing, as before."""
    from sqlalchemy import func, select

    from portal.core.actor import SYSTEM
    from portal.core.db import commit, get_session, rollback
    from portal.trail.chain import append_event, verify_chain
    from portal.trail.models import AuditEvent

    def count() -> int:
        with app.app_context():
            return get_session().scalar(select(func.count()).select_from(AuditEvent))

    before = count()
    with app.app_context():
        session = get_session()
        assert append_event(session, "queue.viewed", actor=SYSTEM, deferred=True) is None
        append_event(session, "request.created", actor=SYSTEM)  # written now
        assert session.scalar(select(func.count()).select_from(AuditEvent)) == before + 1
        commit()
    assert count() == before + 2
    with app.app_context():
        append_event(get_session(), "queue.viewed", actor=SYSTEM, deferred=True)
        rollback()
    assert count() == before + 2
    with app.app_context():
        assert verify_chain(get_session()).ok
