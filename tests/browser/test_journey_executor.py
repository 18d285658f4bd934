"""An executor sends a deceased patient's records to a lawyer by link and access code.

At 320 px wide with axe on every page: the wizard with proof of authority and the consent
(R-ID-3, R-REL-2), the access code shown once, the clerk's release (through operations), then
the lawyer opens the emailed link in another browser and downloads with the code.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.rules.deadlines import today_pacific
from tests.browser.test_journey_patient import clerk_work, last_link
from tests.journey.samples import jpeg_bytes, pdf_bytes

pytestmark = pytest.mark.browser


def test_an_executor_sends_records_to_a_lawyer_by_link_and_access_code(live_server, visit,
                                                                       browser, axe_check,
                                                                       tmp_path):
    base = live_server.url
    photo = tmp_path / "licence.jpg"
    photo.write_bytes(jpeg_bytes())
    letters = tmp_path / "letters-testamentary.pdf"
    letters.write_bytes(pdf_bytes())
    certificate = tmp_path / "death-certificate.pdf"
    certificate.write_bytes(pdf_bytes())

    visit.go(base + "/request")
    visit.press("Start now")
    visit.choose("Copies of medical records")
    visit.press("Save and continue")
    visit.page.get_by_label(re.compile("^Executor or administrator")).check()
    visit.press("Save and continue")  # the authority is asked on its own page (#15)
    visit.fill("Your full legal name", "Jordan Quill")
    visit.fill("Describe your authority", "Executor, appointed by the Superior Court")
    visit.press("Save and continue")
    visit.fill("Legal first name", "Avery")
    visit.fill("Legal last name", "Quill")
    visit.fill_date("Date of birth", "1980-04-12")
    visit.press("Save and continue")
    visit.fill("Email address", "jordan.quill@example.test")
    visit.fill("Email address again", "jordan.quill@example.test")
    visit.fill("Address line 1", "12 Canyon Road")
    visit.fill("City or town", "Springfield")
    visit.fill("State", "CA")
    visit.fill("ZIP code", "90000")
    visit.press("Save and continue")
    visit.press("Save and continue")  # the stay's dates are optional
    visit.choose("Not sure")
    visit.press("Save and continue")
    visit.choose("The complete record")
    visit.press("Save and continue")
    visit.press("Save and continue")  # so are the records' dates
    visit.choose("Someone else, such as a doctor or a lawyer")
    visit.press("Save and continue")
    visit.choose("Secure download (by email link)")
    visit.press("Save and continue")
    visit.choose("A lawyer")
    visit.fill("Recipient's full name", "Morgan Lee")
    visit.fill("Organization (optional)", "Lee & Park LLP")
    visit.fill("Recipient's postal address", "100 Main St\nSpringfield, CA 90000")
    visit.fill("Recipient's email address", "morgan.lee@example.test")
    visit.fill("Recipient's email address again", "morgan.lee@example.test")
    visit.press("Save and continue")
    visit.choose("A legal matter")
    visit.press("Save and continue")

    # The consent, in full, at 14-point size (R-REL-2).
    size = visit.page.locator(".consent-text").evaluate("e => getComputedStyle(e).fontSize")
    assert float(size.removesuffix("px")) >= 18.6  # 14pt = 18.67px
    visit.fill_date("This permission ends on",
                    (today_pacific() + timedelta(days=180)).isoformat())
    visit.fill("Type your full legal name to sign this consent", "Jordan Quill")
    visit.page.get_by_label(re.compile("^I have read the statements above")).check()
    visit.press("Save and continue")

    visit.page.set_input_files("#photo_id", photo)
    visit.page.set_input_files("#authority_proof", letters)
    visit.page.set_input_files("#death_certificate", certificate)
    visit.press("Save and continue")
    assert visit.heading() == "Check your answers"
    visit.press("Continue to sign")
    visit.fill("Type your full legal name", "Jordan Quill")
    visit.page.get_by_label(re.compile("^I confirm that the information")).check()
    visit.press("Send my request")

    assert visit.heading() == "Request sent"
    reference = visit.page.locator(".reference").inner_text()
    code = visit.page.locator(".access-code .code").inner_text()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code)

    visit.go(last_link(live_server))
    visit.press("Confirm my email address")

    # The clerk verifies identity and authority, locates the patient and releases by link.
    from portal.release.models import Disclosure
    from portal.requests.models import RecordRequest
    from tests.journey.clerk import clerk, release_all, verify_and_locate

    with clerk_work(live_server) as session:
        req = session.scalar(select(RecordRequest).where(RecordRequest.reference == reference))
        _staff, actor = clerk(session)
        verify_and_locate(session, req, actor)
        release_all(session, req, actor, method="download")
    lawyer_mail = next(m for m in live_server.outbox() if m["To"] == "morgan.lee@example.test")
    link = re.search(r"https?://\S+", lawyer_mail.get_content()).group(0)

    # The lawyer, in their own browser, opens the link and enters the code they were given.
    context = browser.new_context(accept_downloads=True, viewport={"width": 320, "height": 800})
    lawyer = context.new_page()
    try:
        lawyer.goto(link)
        axe_check(lawyer)
        lawyer.get_by_label("Access code").fill("WRONG-CODE")
        lawyer.get_by_role("button", name="Download").click()
        assert "That access code is not right" in lawyer.content()
        axe_check(lawyer)
        lawyer.get_by_label("Access code").fill(code.lower())
        with lawyer.expect_download() as download_info:
            lawyer.get_by_role("button", name="Download").click()
        assert download_info.value.path().read_bytes().startswith(b"%PDF-")
    finally:
        context.close()

    with clerk_work(live_server) as session:
        disclosure = session.scalar(select(Disclosure))
        assert disclosure.recipient_name == "Morgan Lee, Lee & Park LLP"
