"""The clerk's way through the queue (#15 part 4): "next request" in the queue's order, and a
record attached with its release outcome in one step that stays two audited decisions."""

from __future__ import annotations

import html
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core.db import commit
from portal.queue.listing import next_request_id
from portal.rules import lifecycle
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent
from tests.factories import (
    advance_request,
    make_request,
    make_roster_patient,
    sample_pdf,
    staff_actor,
)


def _received(days_ago: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days_ago)


def test_next_follows_the_queue_order_and_wraps_round(db):
    due_first = make_request(db, received_at=_received(10))
    due_second = make_request(db, received_at=_received(5))
    due_last = make_request(db, received_at=_received(1))
    closed = make_request(db, received_at=_received(7))
    closed.status, closed.is_open = lifecycle.WITHDRAWN, False
    db.flush()
    assert next_request_id(db, due_first) == due_second.id  # the closed one is skipped
    assert next_request_id(db, due_second) == due_last.id
    assert next_request_id(db, due_last) == due_first.id  # after the last, the first again
    for other in (due_second, due_last):
        other.status, other.is_open = lifecycle.WITHDRAWN, False
    db.flush()
    assert next_request_id(db, due_first) is None


def test_save_and_go_to_the_next_request(client, signed_in, clerk, db):
    first = make_request(db, received_at=_received(3))
    second = make_request(db, received_at=_received(2))
    commit()
    response = client.post(f"/staff/requests/{first.id}/claim",
                           data={"claim-version": first.version, "then": "next"})
    assert response.headers["Location"].endswith(f"/staff/requests/{second.id}")
    page = client.get(f"/staff/requests/{first.id}").get_data(as_text=True)
    assert f'href="/staff/requests/{second.id}">Next request in the queue' in page


def _outcome(client, req, **extra):
    return client.post(f"/staff/requests/{req.id}/outcome", data={
        "outcomes-version": req.version, "outcomes-parts": [str(p.id) for p in req.parts],
        "outcomes-ground": "", **extra}, content_type="multipart/form-data")


@pytest.fixture
def located(clerk, db):
    """A request whose patient the clerk has located, ready for its outcomes."""
    req = advance_request(db, make_request(db), clerk, "patient_located",
                          patient=make_roster_patient(db))
    commit()
    return req


def test_a_release_outcome_can_bring_its_record_as_two_audited_decisions(client, signed_in,
                                                                          located, db):
    req = located
    response = _outcome(client, req, **{"outcomes-outcome": "released",
                                        "outcomes-record": (io.BytesIO(sample_pdf(2)),
                                                            "summary.pdf")})
    assert response.status_code == 302
    db.expire_all()
    [record] = db.scalars(select(StoredDocument).where(StoredDocument.kind == "record")).all()
    assert record.request_id == req.id and record.subtype == req.parts[0].part
    actions = [e.action for e in db.scalars(select(AuditEvent).where(
        AuditEvent.request_id == req.id).order_by(AuditEvent.id))]
    assert actions.index("request.outcome_recorded") < actions.index("request.records_attached")


def test_a_record_comes_only_with_a_release(client, signed_in, located, db):
    req = located
    response = _outcome(client, req, **{"outcomes-outcome": "no_records",
                                        "outcomes-record": (io.BytesIO(sample_pdf(1)),
                                                            "summary.pdf")})
    assert response.status_code == 422
    assert "Attach a record only with the outcome" in response.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(select(StoredDocument).where(StoredDocument.kind == "record")) is None
    assert all(part.outcome is None for part in req.parts)  # nothing half done


def test_the_queue_shows_names_as_given_until_verified_and_audits_what_it_showed(
        client, signed_in, clerk, db):
    waiting = make_request(db, patient_first_name="Robin", patient_last_name="Vale")
    verified = advance_request(db, make_request(db, patient_first_name="Sage",
                                                patient_last_name="Orr"),
                               clerk, "requester_verified")
    commit()
    page = client.get("/staff/queue").get_data(as_text=True)
    robin = page.split("Robin Vale", 1)[1].split("</td>", 1)[0]
    sage = page.split("Sage Orr", 1)[1].split("</td>", 1)[0]
    assert "as given by the requester" in robin and "as given" not in sage
    db.expire_all()
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "queue.viewed")
                       .order_by(AuditEvent.id.desc())).first()
    assert sorted(event.summary["requests"]) == sorted([waiting.id, verified.id])
    assert event.summary["names_shown"] is True
    assert "Robin" not in str(event.summary)


def test_a_role_left_out_of_the_setting_sees_no_names(app, client, signed_in, db):
    app.config["QUEUE_NAMES_FOR_ROLES"] = ("supervisor",)
    make_request(db, patient_first_name="Robin", patient_last_name="Vale")
    commit()
    page = client.get("/staff/queue").get_data(as_text=True)
    assert "Robin" not in page and ">Patient<" not in page


def test_the_queue_pages_forwards_and_back(app, client, signed_in, db):
    app.config["QUEUE_PAGE_SIZE"] = 2
    made = [make_request(db, received_at=_received(10 - n)) for n in range(5)]
    commit()
    references = [r.reference for r in made]

    def shown(html):
        return [ref for ref in references if f">{ref}</a>" in html]

    first = client.get("/staff/queue").get_data(as_text=True)
    assert shown(first) == references[:2] and "Previous page" not in first
    second_link = re.search(r'href="(/staff/queue\?after=[^"]+)"', first).group(1)
    second = client.get(html.unescape(second_link)).get_data(as_text=True)
    assert shown(second) == references[2:4]
    back_link = re.search(r'href="(/staff/queue\?before=[^"]+)"', second).group(1)
    back = client.get(html.unescape(back_link)).get_data(as_text=True)
    assert shown(back) == references[:2] and "Previous page" not in back


@pytest.fixture
def supervisor_in(auth, db):
    from tests.factories import make_staff

    person = make_staff(db, "clerk", "supervisor")
    commit()
    auth.staff(person.id)
    return person


def test_a_supervisor_assigns_several_requests_at_once(client, supervisor_in, clerk, db):
    first, second, untouched = (make_request(db) for _ in range(3))
    commit()
    page = client.get("/staff/queue").get_data(as_text=True)
    assert 'id="bulk-assign"' in page and f'value="{first.id}.{first.version}"' in page
    response = client.post("/staff/queue/assign", data={
        "chosen": [f"{first.id}.{first.version}", f"{second.id}.{second.version}"],
        "staff_id": str(clerk.id), "back": "?mine=1"})
    assert response.headers["Location"].endswith("/staff/queue?mine=1")
    db.expire_all()
    assert [r.assignee_id for r in (first, second, untouched)] == [clerk.id, clerk.id, None]
    events = db.scalars(select(AuditEvent).where(AuditEvent.action == "request.assigned")).all()
    assert sorted(e.request_id for e in events) == sorted([first.id, second.id])


def test_a_request_changed_meanwhile_stops_the_whole_assignment(client, supervisor_in, clerk,
                                                                db):
    first, second = make_request(db), make_request(db)
    commit()
    stale = second.version
    from portal.requests.actions import claim_request

    claim_request(db, second, staff_actor(supervisor_in), expected_version=None)
    commit()
    response = client.post("/staff/queue/assign", data={
        "chosen": [f"{first.id}.{first.version}", f"{second.id}.{stale}"],
        "staff_id": str(clerk.id)}, follow_redirects=True)
    assert f"Nothing was assigned: {second.reference} changed" in response.get_data(True)
    db.expire_all()
    assert first.assignee_id is None  # all or nothing


def test_a_clerk_sees_no_bulk_assignment(client, signed_in, db):
    make_request(db)
    commit()
    assert 'id="bulk-assign"' not in client.get("/staff/queue").get_data(as_text=True)
    assert client.post("/staff/queue/assign", data={"chosen": ["1.1"]}).status_code == 403


def _closed(db, clerk):
    req = advance_request(db, make_request(db), clerk, "patient_located")
    from portal.requests.actions import close_request, record_outcome

    record_outcome(db, req, staff_actor(clerk), part_ids=[p.id for p in req.parts],
                   outcome="no_records", expected_version=None)
    close_request(db, req, staff_actor(clerk), expected_version=None)
    commit()
    return req


def test_a_supervisor_reopens_a_closed_request_for_review_with_a_reason(client, supervisor_in,
                                                                         clerk, db):
    req = _closed(db, clerk)
    assert 'id="reopen"' in client.get(f"/staff/requests/{req.id}").get_data(as_text=True)
    response = client.post(f"/staff/requests/{req.id}/reopen", data={
        "reopen-version": req.version, "reopen-reason": "complaint",
        "reopen-note": "Avery called: the 2016 stay is missing."})
    assert response.status_code == 302
    db.expire_all()
    assert req.status == lifecycle.PATIENT_LOCATED and req.is_open and req.closed_at is None
    event = db.scalars(select(AuditEvent).where(AuditEvent.action == "request.reopen")).one()
    assert event.summary == {"from": "closed", "to": "patient_located", "reason": "complaint"}
    from portal.requests.models import Message

    note = db.scalars(select(Message).where(Message.request_id == req.id,
                                            Message.internal.is_(True))).all()[-1]
    assert "2016 stay" in note.body


def test_reopening_needs_a_reason_and_is_for_supervisors(client, signed_in, clerk, db):
    req = _closed(db, clerk)
    assert client.post(f"/staff/requests/{req.id}/reopen", data={
        "reopen-version": req.version, "reopen-reason": "complaint"}).status_code == 403


def test_a_withdrawn_request_is_not_reopened(client, supervisor_in, db):
    req = make_request(db)
    req.status, req.is_open = lifecycle.WITHDRAWN, False
    commit()
    response = client.post(f"/staff/requests/{req.id}/reopen", data={
        "reopen-version": req.version, "reopen-reason": "error"})
    assert response.status_code == 422
    db.expire_all()
    assert req.status == lifecycle.WITHDRAWN


def test_a_reopen_without_a_reason_is_explained(client, supervisor_in, clerk, db):
    req = _closed(db, clerk)
    response = client.post(f"/staff/requests/{req.id}/reopen", data={
        "reopen-version": req.version, "reopen-reason": ""})
    assert response.status_code == 422
    assert "Choose why the request is reopened." in response.get_data(as_text=True)
