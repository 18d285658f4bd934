"""Two clerks acting on one request at once: exactly one wins, the other gets a 409."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm.exc import StaleDataError

from portal.core.db import commit, get_session, rollback
from portal.core.errors import Conflict
from portal.requests import actions as operations
from portal.requests.models import RecordRequest
from portal.rules import lifecycle
from tests.factories import advance_request, make_request, make_staff, staff_actor


def test_two_simultaneous_verifications_cannot_both_win(app, db):
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("SQLite serializes writers; the expected-version test covers it there")
    clerks = [make_staff(db, "clerk"), make_staff(db, "clerk")]
    req = advance_request(db, make_request(db), clerks[0], "identity_review")
    commit()
    request_id, version = req.id, req.version
    actors = [staff_actor(c) for c in clerks]
    loaded = threading.Barrier(2)
    outcomes: list[str] = []

    def act(actor):
        with app.app_context():
            session = get_session()
            target = session.get(RecordRequest, request_id)
            loaded.wait(timeout=10)  # both have read the same version before either writes
            try:
                operations.verify_requester(session, target, actor, evidence=["photo_id"],
                                            note=None, expected_version=version)
                commit()
                outcomes.append("won")
            except (StaleDataError, Conflict):
                rollback()
                outcomes.append("conflict")

    threads = [threading.Thread(target=act, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict", "won"]
    db.expire_all()
    final = db.get(RecordRequest, request_id)
    assert final.status == lifecycle.REQUESTER_VERIFIED and final.version > version


def test_the_second_clerk_with_a_stale_version_gets_a_conflict(db):
    first, second = make_staff(db, "clerk"), make_staff(db, "clerk")
    req = advance_request(db, make_request(db), first, "identity_review")
    seen = req.version
    operations.verify_requester(db, req, staff_actor(first), evidence=["photo_id"], note=None,
                                expected_version=seen)
    with pytest.raises(Conflict):
        operations.could_not_verify(db, req, staff_actor(second), reason="",
                                    expected_version=seen)
    assert req.status == lifecycle.REQUESTER_VERIFIED


def test_an_in_place_action_also_bumps_the_version(db):
    clerk = make_staff(db, "clerk")
    req = make_request(db)
    seen = req.version
    operations.claim_request(db, req, staff_actor(clerk), expected_version=seen)
    db.flush()
    assert req.version == seen + 1
