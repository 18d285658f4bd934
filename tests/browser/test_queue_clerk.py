"""The clerk's workspace in headless Chromium, axe-checked on every page (issue 4, Done when).

A clerk signs in with password and TOTP, finds a new request in the queue, verifies the
requester, locates the patient, asks for more information, receives the answer, attaches the
records and releases them. Another clerk, a licensed reviewer, denies one part on a clinical
ground and routes it to a different licensed reviewer.
"""

from __future__ import annotations

import io
import re
from contextlib import contextmanager
from datetime import date

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import click_and_settle, sign_in_staff
from tests.factories import (
    advance_request,
    make_request,
    make_roster_patient,
    make_staff,
    make_staff_with_mfa,
    sample_pdf,
    third_party_consent,
)

pytestmark = pytest.mark.browser



@contextmanager
def work(live_server):
    """A unit of work on the live app's database (set-up, or the requester's side)."""
    from portal.core.db import commit, get_session

    with live_server.app.test_request_context():
        yield get_session()
        commit()


class Clerk:
    """Drives the staff pages and runs axe on every page it lands on."""

    def __init__(self, page, axe_check, base: str):
        self.page, self.axe_check, self.base = page, axe_check, base

    def check(self, context: str) -> None:
        self.axe_check(self.page, context=context)

    def sign_in(self, email: str, secret: str) -> None:
        sign_in_staff(self.page, self.base, email, secret)

    def press(self, name: str, context: str) -> None:
        click_and_settle(self.page, self.page.get_by_role("button", name=name, exact=True))
        self.check(context)

    def flash(self) -> str:
        return self.page.locator(".flashes").inner_text()


def new_request_with_photo_id(live_server):
    """A request just submitted and confirmed by email, with its photo ID uploaded."""
    from PIL import Image

    from portal.core.actor import SYSTEM
    from portal.requests.operations import transition
    from portal.storage.operations import save_document

    with work(live_server) as session:
        patient = make_roster_patient(session, first="Avery", last="Quill",
                                      dob=date(1980, 4, 12), mrn="MRN-40123")
        req = make_request(session)
        transition(session, req, "confirm_email", SYSTEM)
        photo = io.BytesIO()
        Image.new("RGB", (300, 200), "teal").save(photo, "JPEG")
        photo.seek(0)
        save_document(session, photo, kind="photo_id", filename="licence.jpg",
                      media_type="image/jpeg", actor=SYSTEM, request_id=req.id)
        return req.id, req.reference, patient.id


def test_a_clerk_works_a_request_from_the_queue_to_release(live_server, page, axe_check,
                                                            tmp_path):
    with work(live_server) as session:
        _staff, secret = make_staff_with_mfa(session, "clerk", email="queue.clerk@example.test")
    request_id, reference, _patient_id = new_request_with_photo_id(live_server)
    clerk = Clerk(page, axe_check, live_server.url)
    clerk.sign_in("queue.clerk@example.test", secret)

    page.goto(live_server.url + "/staff/queue")
    clerk.check("queue")
    page.get_by_role("link", name=reference).click()
    clerk.check("request page")
    assert page.get_by_role("img", name=re.compile("licence.jpg")).is_visible()
    # The ID large beside the typed details, then back to the request.
    page.get_by_role("link", name="Look closely, beside the typed details").click()
    clerk.check("the ID beside the details")
    large = page.get_by_role("img", name=re.compile("licence.jpg, large"))
    expect(large).to_be_visible()
    assert large.evaluate("img => img.naturalWidth") == 300  # the source's own pixels
    page.get_by_role("link", name="Back to the request").click()

    page.get_by_label("Government photo ID compared with the typed details").check()
    clerk.press("The requester is verified", "after verifying")
    assert "identity is verified" in clerk.flash()

    page.get_by_label("Choose MRN MRN-40123").check()
    clerk.press("Record the patient", "after locating")
    assert "Patient located" in page.locator(".status").inner_text()

    page.get_by_text("Ask the requester for more information").click()
    page.get_by_label("Why the request has to wait").select_option("details_unclear")
    page.get_by_label("Message to the requester").first.fill("Which stay do you need?")
    clerk.press("Send and wait for the answer", "waiting")
    assert "Waiting for the requester" in page.locator(".status").inner_text()

    from portal.core.actor import Actor
    from portal.requester.journey import post_reply
    from portal.requests.models import RecordRequest

    with work(live_server) as session:
        req = session.get(RecordRequest, request_id)
        post_reply(session, req, "The 2016 stay, please.", [],
                   Actor(kind="requester", id=req.requester_id))
    page.reload()
    clerk.check("answer received")
    assert "The 2016 stay, please." in page.locator("#messages").inner_text()
    assert "Patient located" in page.locator(".status").inner_text()

    form = page.locator("#outcome-form")
    form.get_by_label("Complete record (excluding psychotherapy and counseling notes)").check()
    form.get_by_label("Outcome", exact=True).select_option("released")
    clerk.press("Record the outcome", "outcome recorded")

    record = tmp_path / "complete-record.pdf"
    record.write_bytes(sample_pdf(3))
    page.set_input_files("#records-record", str(record))
    clerk.press("Attach", "record attached")
    assert "complete-record.pdf" in page.locator("#records").inner_text()

    page.get_by_role("link", name="Release the records").click()
    clerk.check("release page")
    page.get_by_label("Secure download", exact=True).check()
    clerk.press("Build the packet and release", "released")
    assert "The records were released" in clerk.flash()
    assert "Closed" in page.locator(".status").inner_text()


def test_a_plain_own_copy_goes_from_opening_to_release_in_at_most_seven_actions(
        live_server, page, axe_check, tmp_path):
    """#15: an action is a click that submits or navigates (typing and choosing are not).
    Verification, location, the outcome and the attachment stay separate audited decisions."""
    from sqlalchemy import select

    from portal.trail.models import AuditEvent

    with work(live_server) as session:
        _staff, secret = make_staff_with_mfa(session, "clerk", email="fast.clerk@example.test")
    request_id, reference, _patient_id = new_request_with_photo_id(live_server)
    with work(live_server) as session:
        following = make_request(session, patient_first_name="Blair", patient_last_name="Nash")
        following_reference = following.reference
    clerk = Clerk(page, axe_check, live_server.url)
    clerk.sign_in("fast.clerk@example.test", secret)
    page.goto(live_server.url + "/staff/queue")
    # The queue fits 1280 px with the patients' names: nothing to scroll sideways.
    assert "Blair Nash" in page.locator(".queue-table").inner_text()
    assert page.evaluate("() => { const w = document.querySelector('.queue-table')"
                         ".closest('.table-wrap'); return w.scrollWidth <= w.clientWidth; }")
    actions = []

    def act(locator, what: str) -> None:
        actions.append(what)
        click_and_settle(page, locator)
        clerk.check(what)

    act(page.get_by_role("link", name=reference), "open the request")
    page.get_by_label("Government photo ID compared with the typed details").check()
    act(page.get_by_role("button", name="The requester is verified", exact=True), "verify")
    page.get_by_label("Choose MRN MRN-40123").check()
    act(page.get_by_role("button", name="Record the patient", exact=True), "locate")
    form = page.locator("#outcome-form")
    form.get_by_label("Complete record (excluding psychotherapy and counseling notes)").check()
    form.get_by_label("Outcome", exact=True).select_option("released")
    record = tmp_path / "complete-record.pdf"
    record.write_bytes(sample_pdf(3))
    form.get_by_label("Scanned record to release with it (PDF, optional)").set_input_files(
        str(record))
    act(form.get_by_role("button", name="Record the outcome"), "release the part, with its record")
    assert "complete-record.pdf" in page.locator("#records").inner_text()
    act(page.get_by_role("link", name="Release the records"), "review what goes out")
    page.get_by_label("Secure download", exact=True).check()
    act(page.get_by_role("button",
                         name="Build the packet, release, and go to the next request"),
        "release and go on")
    assert page.locator("h1").inner_text() == f"Request {following_reference}"
    assert "The records were released" in clerk.flash()
    assert len(actions) <= 7, actions
    with work(live_server) as session:
        done = [e.action for e in session.scalars(select(AuditEvent).where(
            AuditEvent.request_id == request_id).order_by(AuditEvent.id))]
    for decision in ("request.verify_requester", "request.locate_patient",
                     "request.outcome_recorded", "request.records_attached",
                     "request.release"):
        assert decision in done, (decision, done)


def test_the_clerk_s_actions_happen_in_place_without_reloading_the_page(live_server, page,
                                                                        axe_check):
    """#15 part 4: each step is done in place (in_place.js, no inline script: the CSP holds),
    the confirmation or the problem shown where the clerk works, focus on it."""
    with work(live_server) as session:
        _staff, secret = make_staff_with_mfa(session, "clerk", email="place.clerk@example.test")
    request_id, _reference, _patient_id = new_request_with_photo_id(live_server)
    clerk = Clerk(page, axe_check, live_server.url)
    clerk.sign_in("place.clerk@example.test", secret)
    page.goto(f"{live_server.url}/staff/requests/{request_id}")
    loads = []
    page.on("load", lambda: loads.append(page.url))
    page.evaluate("() => { window.samePage = 'still here'; }")

    page.get_by_label("Government photo ID compared with the typed details").check()
    clerk.press("The requester is verified", "verified in place")
    assert "identity is verified" in page.locator("#identity .flashes").inner_text()
    assert page.evaluate("() => document.activeElement.classList.contains('flashes')")

    # A refused action: the problem, in place, focused first (as a full page load would).
    clerk.press("Record the patient", "locating refused in place")
    summary = page.locator(".error-summary")
    assert summary.is_visible()
    assert page.evaluate("() => document.activeElement.classList.contains('error-summary')")

    page.get_by_label("Choose MRN MRN-40123").check()
    clerk.press("Record the patient", "located in place")
    assert "Patient located" in page.locator(".status").inner_text()
    assert page.evaluate("() => window.samePage") == "still here" and loads == []
    assert page.url.endswith(f"/staff/requests/{request_id}")


def test_a_licensed_clerk_denies_on_a_clinical_ground_and_routes_the_review(
        live_server, page, axe_check):
    with work(live_server) as session:
        decider, secret = make_staff_with_mfa(session, "clerk", licensed=True,
                                              email="licensed.clerk@example.test")
        reviewer = make_staff(session, "clerk", licensed=True)
        reviewer.display_name = "Dr. Rowan Reviewer"
        req = advance_request(session, make_request(session), make_staff(session, "clerk"),
                              "patient_located", patient=make_roster_patient(session))
        request_id = req.id
    clerk = Clerk(page, axe_check, live_server.url)
    clerk.sign_in("licensed.clerk@example.test", secret)
    page.goto(f"{live_server.url}/staff/requests/{request_id}")
    clerk.check("request page")

    form = page.locator("#outcome-form")
    form.get_by_label("Complete record (excluding psychotherapy and counseling notes)").check()
    form.get_by_label("Outcome", exact=True).select_option("denied")
    form.get_by_label("Ground for a denial").select_option("endanger_life")
    clerk.press("Record the outcome", "denied")
    assert "Likely to endanger life" in page.locator("#outcomes").inner_text()

    page.get_by_label("Send for review to").select_option(label="Dr. Rowan Reviewer")
    clerk.press("Send for review", "routed for review")
    assert "Waiting for Dr. Rowan Reviewer" in page.locator("#outcomes").inner_text()
    assert f"{decider.display_name} ·" in page.locator("#outcomes").inner_text()  # the decider


def test_a_clerk_settles_who_an_unsure_requester_is_sending_records_to_r_rel_2(live_server, page,
                                                                       axe_check):
    """R-REL-2: "not sure" reaches the clerk, who records the kind before anything goes out."""
    with work(live_server) as session:
        _staff, secret = make_staff_with_mfa(session, "clerk", email="kind.clerk@example.test")
        req = make_request(session, recipient_type="third_party", recipient_name="Morgan Lee",
                           consents=[third_party_consent(recipient_kind="unsure")])
        request_id = req.id
    clerk = Clerk(page, axe_check, live_server.url)
    clerk.sign_in("kind.clerk@example.test", secret)
    page.goto(f"{live_server.url}/staff/requests/{request_id}")
    clerk.check("request page with an unsure recipient")
    assert "Nobody has settled what kind of recipient" in page.locator("#asked").inner_text()
    page.get_by_label("The recipient is", exact=True).select_option("lawyer")
    clerk.press("Record the kind of recipient", "recipient kind recorded")
    assert "The kind of recipient is recorded." in clerk.flash()
    assert "settled by a clerk as: A lawyer" in page.locator("#asked").inner_text()
