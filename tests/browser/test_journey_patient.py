"""The patient journey in headless Chromium at 320 px wide, with axe on every page.

A former patient asks for their own records on a phone, confirms their email from the outbox,
signs in by emailed link, answers the clerk's question with a file, and downloads the released
packet. The clerk's side runs through the staff workspace's operations, not its pages.
"""

from __future__ import annotations

import re
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.journey.samples import jpeg_bytes

pytestmark = pytest.mark.browser


@contextmanager
def clerk_work(live_server):
    """A unit of work on the live app's database, as a clerk's request would run it."""
    from portal.core.db import commit, get_session

    with live_server.app.test_request_context():
        yield get_session()
        commit()


def last_link(live_server) -> str:
    """The link in the newest email of the outbox."""
    mail = live_server.outbox()[-1]
    return re.search(r"https?://\S+", mail.get_content()).group(0)


class Visit:
    """Checks every page the visitor lands on: axe, and no sideways scrolling at 320 px."""

    def __init__(self, page, axe_check, narrow):
        self.page, self.axe_check, self.narrow = page, axe_check, narrow

    def check(self) -> None:
        self.axe_check(self.page)
        self.narrow()

    def go(self, url: str) -> None:
        self.page.goto(url)
        self.check()

    def press(self, name: str) -> None:
        self.page.get_by_role("button", name=name, exact=True).click()
        self.page.wait_for_load_state()
        self.check()

    def choose(self, label: str) -> None:
        self.page.get_by_label(label, exact=True).check()

    def fill(self, label: str, value: str) -> None:
        self.page.get_by_label(label, exact=True).fill(value)

    def fill_date(self, legend: str, iso: str) -> None:
        """Type a date into its month, day and year boxes (only those the question has)."""
        group = self.page.get_by_role("group", name=legend, exact=True)
        year, month, day = iso.split("-")
        for box, value in (("Month", str(int(month))), ("Day", str(int(day))), ("Year", year)):
            boxes = group.get_by_label(box, exact=True)
            if boxes.count():
                boxes.fill(value)

    def date_typed(self, legend: str) -> list[str]:
        group = self.page.get_by_role("group", name=legend, exact=True)
        return [box.input_value() for box in group.locator("input").all()]

    def heading(self) -> str:
        return self.page.locator("h1").inner_text()


def to_the_patient_step(visit: Visit, base: str) -> None:
    """A new request for one's own copies, up to the page about the patient."""
    visit.go(base + "/request")
    visit.press("Start now")
    visit.choose("Copies of medical records")
    visit.press("Save and continue")
    visit.choose("I am the patient")
    visit.press("Save and continue")


def fill_patient_wizard(visit: Visit, base: str, id_photo) -> None:
    """The wizard for a patient's own complete record by download."""
    to_the_patient_step(visit, base)
    visit.fill("Legal first name", "Avery")
    visit.fill("Legal last name", "Quill")
    visit.fill_date("Date of birth", "1980-04-12")
    visit.press("Save and continue")
    visit.fill("Email address", "avery.quill@example.test")
    visit.fill("Email address again", "avery.quill@example.test")
    visit.fill("Address line 1", "12 Canyon Road")
    visit.fill("City or town", "Springfield")
    visit.fill("State", "CA")
    visit.fill("ZIP code", "90000")
    visit.press("Save and continue")
    visit.fill_date("About when did the stay begin? (optional)", "2016-03-01")
    visit.fill_date("About when did it end? (optional)", "2016-04-01")
    visit.press("Save and continue")
    visit.choose("Residential treatment")  # one question per page (#15)
    visit.press("Save and continue")
    visit.choose("The complete record")
    visit.press("Save and continue")
    assert visit.heading() == "The dates of the records"
    visit.press("Save and continue")  # optional: every date
    visit.choose("Me")
    visit.press("Save and continue")
    visit.choose("Secure download (by email link)")
    visit.press("Save and continue")
    visit.choose("To keep for myself")
    visit.press("Save and continue")
    visit.page.set_input_files("#photo_id", id_photo)
    visit.press("Save and continue")
    assert visit.heading() == "Check your answers"
    assert "$0.00" in visit.page.content()
    visit.press("Continue to sign")
    visit.fill("Type your full legal name", "Avery Quill")
    visit.page.get_by_label(re.compile("^I confirm that the information")).check()
    visit.press("Send my request")


def test_a_patient_asks_follows_answers_and_downloads_on_a_phone(live_server, visit, tmp_path):
    base = live_server.url
    photo = tmp_path / "licence.jpg"
    photo.write_bytes(jpeg_bytes(gps=True))
    fill_patient_wizard(visit, base, photo)

    assert visit.heading() == "Request sent"
    reference = visit.page.locator(".reference").inner_text()
    assert re.fullmatch(r"CPP-\d{4}-\d{5}", reference)
    assert "(15 days left)" in visit.page.content()

    # Confirm the email address from the outbox: the link opens a page, the button confirms.
    visit.go(last_link(live_server))
    visit.press("Confirm my email address")
    assert visit.heading() == "Email address confirmed"

    # Sign in by emailed link.
    visit.fill("Email address", "avery.quill@example.test")
    visit.press("Email me a sign-in link")
    assert visit.heading() == "Check your email"
    visit.go(last_link(live_server))
    visit.press("Sign in")
    assert visit.heading() == "My requests"
    visit.page.get_by_role("link", name=f"Request {reference}").click()
    visit.check()

    # The clerk asks for more information (through the staff operations).
    from portal.requests.models import RecordRequest
    from tests.journey.clerk import ask_for_information, clerk, release_all, verify_and_locate

    with clerk_work(live_server) as session:
        req = session.query(RecordRequest).filter_by(reference=reference).one()
        _staff, actor = clerk(session)
        ask_for_information(session, req, actor, "Please send a clearer photo of your ID.")
    # The update email's link, then its one button, land on the question itself (R-SEC-6
    # subject; the email names nothing), on screen without scrolling on a phone.
    update_mail = live_server.outbox()[-1]
    assert update_mail["Subject"] == "There is an update to your request"
    assert "clearer photo" not in update_mail.get_content()
    visit.go(last_link(live_server))
    visit.press("See the update")
    assert visit.page.url.endswith("#update")
    question = visit.page.locator("#update .message-body")
    assert question.inner_text() == "Please send a clearer photo of your ID."
    expect(question).to_be_in_viewport()
    assert "We need something from you" in visit.page.locator("#update").inner_text()

    # The requester answers with a file.
    visit.fill("Your reply", "Here is a clearer photo.")
    visit.page.set_input_files("#attachments", photo)
    visit.press("Send")
    assert "Your reply was sent." in visit.page.content()
    assert "Checking identity" in visit.page.locator(".status-now").inner_text()

    # The clerk verifies, locates and releases by download.
    with clerk_work(live_server) as session:
        req = session.query(RecordRequest).filter_by(reference=reference).one()
        _staff, actor = clerk(session)
        verify_and_locate(session, req, actor)
        release_all(session, req, actor, method="download")
    visit.page.reload()
    visit.check()
    # Crisis help comes before the download of one's own treatment record.
    crisis = visit.page.locator(".crisis-help")
    download = visit.page.get_by_role("link", name="Download your records (PDF)")
    assert "988" in crisis.inner_text()
    assert crisis.bounding_box()["y"] < download.bounding_box()["y"]
    with visit.page.expect_download() as download_info:
        visit.page.get_by_role("link", name="Download your records (PDF)").click()
    packet = download_info.value.path().read_bytes()
    assert packet.startswith(b"%PDF-")
    # Released and closed: when and how it ended, no countdown.
    visit.page.reload()
    dates = visit.page.locator(".summary-list").first.inner_text()
    assert "days left" not in visit.page.content() and "Ended" in dates
    timeline = visit.page.locator(".timeline").inner_text()
    for words in ("Received", "Checking identity", "Waiting for information from you", "Sent"):
        assert words in timeline


def test_the_browser_back_button_keeps_what_was_typed(live_server, visit):
    """Typed answers survive leaving a page by the browser's own back button (journey.js)."""
    to_the_patient_step(visit, live_server.url)
    visit.fill("Legal first name", "Avery")
    visit.fill_date("Date of birth", "1980-04-12")
    visit.page.go_back()
    visit.page.wait_for_load_state()
    assert visit.heading() == "Who is asking"
    visit.press("Save and continue")
    assert visit.page.get_by_label("Legal first name", exact=True).input_value() == "Avery"
    assert visit.date_typed("Date of birth") == ["4", "12", "1980"]


def test_a_validation_error_keeps_every_answer_on_the_page(live_server, visit):
    to_the_patient_step(visit, live_server.url)
    visit.fill("Legal first name", "Avery")
    visit.fill_date("Date of birth", "2090-01-01")
    visit.press("Save and continue")
    assert "The date of birth cannot be in the future." in visit.page.content()
    assert visit.page.evaluate("document.activeElement.className") == "error-summary"
    assert visit.page.get_by_label("Legal first name", exact=True).input_value() == "Avery"
    assert visit.date_typed("Date of birth") == ["1", "1", "2090"]  # three boxes, as typed
    visit.page.get_by_role("link", name="The date of birth cannot be in the future.").click()
    assert visit.page.evaluate("document.activeElement.name") == "dob-month"
    # Post, redirect, get: the error page was a GET, so coming Back to it after the next step
    # shows the page again; a POST answer (no-store) would need "Confirm Form Resubmission".
    visit.fill("Legal last name", "Quill")
    visit.fill_date("Date of birth", "1980-04-12")
    visit.press("Save and continue")
    assert visit.heading() == "How we can reach you"
    visit.page.go_back()
    visit.page.wait_for_load_state()
    assert visit.heading() == "About the patient"
    assert visit.page.get_by_label("Legal first name", exact=True).input_value() == "Avery"


def test_deleting_the_answers_asks_first_on_a_page_of_its_own(live_server, visit):
    to_the_patient_step(visit, live_server.url)
    visit.fill("Legal first name", "Avery")
    visit.page.get_by_role("link", name="Delete my answers and files").click()
    visit.check()
    assert visit.heading() == "Delete your answers?"
    # "No" goes back with nothing lost (the page left was saved as it was typed).
    visit.page.get_by_role("link", name="No, go back to my request").click()
    visit.check()
    assert visit.page.get_by_label("Legal first name", exact=True).input_value() == "Avery"
    visit.page.get_by_role("link", name="Delete my answers and files").click()
    visit.press("Yes, delete my answers and files")
    assert "Your answers and files were deleted." in visit.page.content()
    visit.page.go_back()
    visit.page.wait_for_load_state()
    assert "Avery" not in visit.page.content()
