"""Lost-email reports in the staff workspace (issue 5 item 5): listed, handled, recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core.actor import SYSTEM
from portal.core.db import commit
from portal.requests import actions as operations
from portal.requests.lost_email import LostEmail, report_lost_email
from portal.requests.models import LostEmailReport, Message
from portal.requests.operations import TransitionRefused
from portal.trail.models import AuditEvent
from tests.factories import make_request, staff_actor


def report(db, *, reference="CPP-2026-99999", old_email="gone@example.test",
           name="Jordan Sample"):
    return report_lost_email(db, LostEmail(
        reference=reference, full_name=name, date_of_birth=None, old_email=old_email,
        new_email="new@example.test", phone="555-0100", note=None), SYSTEM)


def test_open_reports_are_listed_newest_first(db, clerk):
    older = report(db, name="First Person")
    older.created_at = datetime.now(UTC) - timedelta(hours=2)
    newer = report(db, name="Second Person")
    assert operations.open_lost_email_reports(db, staff_actor(clerk)) == [newer, older]


def test_unmatched_report_appears_on_the_staff_page(db, client, auth, clerk):
    report(db, name="Unmatched Person")
    commit()
    auth.staff(clerk.id)
    page = client.get("/staff/lost-email").get_data(as_text=True)
    assert "Unmatched Person" in page
    assert "No match for the reference" in page


def test_matched_report_links_to_its_request(db, client, auth, clerk):
    req = make_request(db)
    report(db, reference=req.reference, old_email=req.contact_email)
    commit()
    auth.staff(clerk.id)
    page = client.get("/staff/lost-email").get_data(as_text=True)
    assert f"/staff/requests/{req.id}" in page


def test_queue_page_links_to_reports_with_a_count(db, client, auth, clerk):
    report(db)
    report(db)
    commit()
    auth.staff(clerk.id)
    page = client.get("/staff/queue").get_data(as_text=True)
    assert "/staff/lost-email" in page
    assert "2 lost-email reports waiting" in page


def test_viewing_reports_is_audited_with_surrogate_ids_only(db, client, auth, clerk):
    row = report(db, name="Private Name")
    commit()
    auth.staff(clerk.id)
    client.get("/staff/lost-email")
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "lost_email_report.listed"))
    assert event.actor_id == clerk.id
    assert event.summary == {"rows": 1, "report_ids": [row.id]}


def test_marking_handled_records_who_when_and_what(db, client, auth, clerk):
    row = report(db)
    commit()
    auth.staff(clerk.id)
    response = client.post(f"/staff/lost-email/{row.id}/handled",
                           data={f"report-{row.id}-note": "Verified by phone; updated address."})
    assert response.status_code == 302
    db.expire_all()
    handled = db.get(LostEmailReport, row.id)
    assert handled.handled_at is not None
    assert handled.handled_by_id == clerk.id
    assert handled.handled_note == "Verified by phone; updated address."
    assert "Verified by phone" not in client.get("/staff/lost-email").get_data(as_text=True)


def test_handling_is_an_audit_event_without_the_note(db, client, auth, clerk):
    row = report(db)
    commit()
    auth.staff(clerk.id)
    client.post(f"/staff/lost-email/{row.id}/handled",
                data={f"report-{row.id}-note": "Called 555-0100 and confirmed."})
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "lost_email_report.handled"))
    assert (event.object_id, event.actor_id) == (row.id, clerk.id)
    assert event.summary == {"matched": False}


def test_handling_a_matched_report_adds_an_internal_note_to_the_request(db, clerk):
    req = make_request(db)
    row = report(db, reference=req.reference, old_email=req.contact_email)
    operations.mark_lost_email_handled(db, row, staff_actor(clerk), note="Verified by phone.")
    notes = db.scalars(select(Message).where(Message.request_id == req.id,
                                             Message.staff_id == clerk.id)).all()
    assert [(n.internal, n.body) for n in notes] == [
        (True, f"Lost-email report #{row.id} handled: Verified by phone.")]


def test_handling_needs_a_note(db, client, auth, clerk):
    row = report(db)
    commit()
    auth.staff(clerk.id)
    response = client.post(f"/staff/lost-email/{row.id}/handled",
                           data={f"report-{row.id}-note": "   "})
    assert response.status_code == 422
    assert "Say what you did" in response.get_data(as_text=True)
    db.expire_all()
    assert db.get(LostEmailReport, row.id).handled_at is None


def test_a_report_cannot_be_handled_twice(db, clerk):
    row = report(db)
    operations.mark_lost_email_handled(db, row, staff_actor(clerk), note="Done.")
    with pytest.raises(TransitionRefused, match="already marked this report handled"):
        operations.mark_lost_email_handled(db, row, staff_actor(clerk), note="Again.")


def test_unknown_report_is_not_found(db, client, auth, clerk):
    commit()
    auth.staff(clerk.id)
    response = client.post("/staff/lost-email/999999/handled",
                           data={"report-999999-note": "x"})
    assert response.status_code == 404


def test_a_refused_note_is_shown_again_as_typed(db, client, auth, clerk):
    row = report(db)
    commit()
    auth.staff(clerk.id)
    typed = "Verified by phone. " * 120
    response = client.post(f"/staff/lost-email/{row.id}/handled",
                           data={f"report-{row.id}-note": typed})
    assert response.status_code == 422
    assert typed.strip() in response.get_data(as_text=True)
