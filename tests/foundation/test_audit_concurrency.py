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
