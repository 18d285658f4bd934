"""The request wizard: one question group per page, saved server-side, signed, submitted."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from markupsafe import escape
from sqlalchemy import select

from portal.requests.models import Consent, ProofingStep, RecordRequest, WizardDraft
from portal.rules import notices
from portal.storage.models import StoredDocument
from tests.journey.samples import EXECUTOR_ANSWERS, PATIENT_ANSWERS, jpeg_bytes, step_answers

EXECUTOR_SLOTS = ("photo_id", "authority_proof", "death_certificate")


def _text(response) -> str:
    return response.get_data(as_text=True)


def test_starting_sets_an_httponly_samesite_cookie_holding_only_a_random_token(wizard, scope):
    response = wizard.begin()
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("portal_wizard=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    with scope() as session:
        stored = session.scalars(select(WizardDraft.browser_token_hash)).all()
    assert token not in stored and len(stored) == 1  # only the token's hash is kept


@pytest.fixture
def https_config(app_config):
    app_config["BASE_URL"] = "https://records.example.test"
    return app_config


def test_the_draft_cookie_is_secure_when_the_portal_runs_on_https(https_config, client):
    response = client.post("/request/begin", data={"action": "new"})
    assert "Secure" in response.headers["Set-Cookie"]


def test_answers_are_stored_encrypted(wizard, scope):
    wizard.fill(PATIENT_ANSWERS, until="stay")
    with scope() as session:
        blob = session.scalar(select(WizardDraft.data_encrypted))
    assert b"Quill" not in blob and b"1980-04-12" not in blob and b"avery" not in blob


def test_wizard_urls_name_steps_only_and_never_carry_answers(wizard):
    response = wizard.begin()
    locations = []
    while True:
        location = response.headers["Location"]
        locations.append(location)
        step = location.rsplit("/", 1)[-1]
        if step == "sign":
            break
        if step == "documents":
            response = wizard.upload_documents()
        elif step == "review":
            response = wizard.post("review")
        else:
            response = wizard.post(step, step_answers(PATIENT_ANSWERS, step))
    for location in locations:
        assert re.fullmatch(r"/request/step/[a-z_]+", location), location


def test_a_step_cannot_be_opened_before_the_ones_it_depends_on(wizard):
    wizard.begin()
    response = wizard.get("review")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/request/step/kind")


def test_the_back_button_saves_what_was_typed_without_checking_it(wizard):
    wizard.fill(PATIENT_ANSWERS, until="patient")
    response = wizard.post("patient", {"first_name": "Ave", "dob": "not a date"}, action="back")
    assert response.headers["Location"].endswith("/request/step/who")
    page = _text(wizard.get("patient"))
    assert 'value="Ave"' in page and 'value="not a date"' in page
    assert "error-summary" not in page


def test_leaving_a_page_without_a_button_saves_what_was_typed(wizard):
    wizard.fill(PATIENT_ANSWERS, until="contact")
    response = wizard.post("contact", {"phone": "(555) 010-9999"}, action="save")
    assert response.status_code == 204
    assert 'value="(555) 010-9999"' in _text(wizard.get("contact"))


def test_an_accounting_request_skips_the_record_choices(wizard):
    answers = {**PATIENT_ANSWERS, "kind": {"kind": "accounting"}}
    response = wizard.fill(answers, until="method")  # no record choices, no recipient
    assert response.headers["Location"].endswith("/request/step/method")
    response = wizard.post("method", {"delivery": "download"})
    assert response.headers["Location"].endswith("/request/step/documents")


def test_an_accounting_request_is_recorded_with_its_own_part(wizard, scope):
    answers = {**PATIENT_ANSWERS, "kind": {"kind": "accounting"},
               "delivery": {"delivery": "mail"}}
    wizard.submit(answers)
    with scope() as session:
        req = session.scalar(select(RecordRequest))
        assert (req.kind, [p.part for p in req.parts]) == ("accounting", ["accounting"])
        assert req.recipient_type == "patient" and req.california_due_on is None


def test_there_is_no_parent_option_among_who_may_ask_r_id_4(wizard):
    """R-ID-4: every former patient is an adult now; no parent path."""
    wizard.fill(PATIENT_ANSWERS, until="who")
    page = _text(wizard.get("who"))
    assert 'value="parent"' not in page
    for kind in ("patient", "executor", "beneficiary", "guardian", "agent"):
        assert f'value="{kind}"' in page


def test_a_forged_parent_answer_is_refused(wizard):
    wizard.fill(PATIENT_ANSWERS, until="who")
    response = wizard.refused("who", {"requester_type": "parent"})
    assert "Choose from the options shown." in _text(response)


def test_a_representative_must_describe_their_authority_r_id_3(wizard):
    """R-ID-3: the representative's name and authority are part of the request."""
    wizard.fill(PATIENT_ANSWERS, until="who")
    # One question per page: the authority is asked next, of representatives only.
    assert wizard.post("who", {"requester_type": "guardian"}).headers["Location"].endswith(
        "/request/step/authority")
    response = wizard.refused("authority", {})
    page = _text(response)
    assert "Enter your full legal name." in page and "Describe your authority" in page


def test_an_executor_must_upload_proof_of_authority_and_the_death_certificate_r_id_3(wizard):
    """R-ID-3: letters testamentary (or similar) plus the death certificate."""
    wizard.fill(EXECUTOR_ANSWERS, until="documents")
    response = wizard.refused("documents", files={"photo_id": ("id.jpg", jpeg_bytes())})
    page = _text(response)
    assert "document that gives you authority" in page and "death certificate" in page
    assert "Received: id.jpg" in page  # the file that passed is kept


def test_an_uploaded_file_stays_with_the_draft_and_is_not_asked_for_again(wizard):
    wizard.fill(PATIENT_ANSWERS, until="documents")
    wizard.upload_documents()
    page = _text(wizard.get("documents"))
    assert "Received: photo_id.jpg" in page
    response = wizard.post("documents")  # no new file: the one already sent is enough
    assert response.headers["Location"].endswith("/request/step/review")


def test_removing_an_uploaded_file_deletes_it(wizard, count, app):
    wizard.fill(PATIENT_ANSWERS, until="documents")
    wizard.upload_documents()
    assert count(StoredDocument) == 2  # the inert copy and the original kept as evidence
    wizard.post("documents", action="remove:photo_id")
    assert count(StoredDocument) == 0


def test_the_fee_estimate_is_shown_before_signing_r_fee_3(wizard):
    """R-FEE-3: the default schedule charges nothing for the patient's own copy."""
    wizard.fill(PATIENT_ANSWERS)
    page = _text(wizard.get("sign"))
    assert "Estimated fee" in page and "$0.00" in page


@pytest.fixture
def charging_config(app_config):
    app_config["FEE_THIRD_PARTY_ELECTRONIC_FLAT_CENTS"] = 500
    return app_config


def test_a_configured_fee_is_estimated_on_the_review_and_sign_pages(charging_config, wizard):
    answers = {**EXECUTOR_ANSWERS, "purpose": {"purpose": "insurance"}}
    wizard.fill(answers, slots=EXECUTOR_SLOTS)
    assert "$5.00" in _text(wizard.get("sign"))
    assert "$5.00" in _text(wizard.get("review"))


def test_a_public_benefit_appeal_waives_the_fee_r_fee_5(charging_config, wizard, scope):
    """R-FEE-5: copies for a public-benefit appeal are free."""
    answers = {**EXECUTOR_ANSWERS, "purpose": {"purpose": "public_benefit_appeal"}}
    wizard.fill(answers, slots=EXECUTOR_SLOTS)
    page = _text(wizard.get("sign"))
    assert "$0.00" in page and "public benefit" in page
    wizard.sign("Jordan Quill")
    with scope() as session:
        req = session.scalar(select(RecordRequest))
        assert req.fee_waived and req.fee_estimate_cents == 0


def test_the_consent_shows_every_required_statement_in_14_point_text_r_rel_2(wizard, app):
    """R-REL-2: the statements in full, at a size equivalent to 14-point type."""
    wizard.fill(EXECUTOR_ANSWERS, until="consent")
    page = _text(wizard.get("consent"))
    section = page.split('class="consent-text"', 1)[1].split("</section>", 1)[0]
    for statement in notices.CONSENT_STATEMENTS:
        assert str(escape(statement)) in section
    for element in ("Avery Quill", "The Canyon at Peace Park", "Morgan Lee", "Lee &amp; Park LLP",
                    "Complete record", "A legal matter"):
        assert element in section
    css = (Path(app.static_folder) / "css" / "portal.css").read_text()
    assert re.search(r"\.consent-text\s*\{[^}]*font-size:\s*14pt", css)


def test_notes_to_a_third_party_need_a_separate_consent_r_rel_4(wizard, scope):
    """R-REL-4: therapy notes need their own consent, signed on its own page."""
    answers = {**EXECUTOR_ANSWERS,
               "records": {"scope": "complete", "notes": ["psychotherapy_notes"]},
               "notes_consent": {"expires_on": EXECUTOR_ANSWERS["consent"]["expires_on"],
                                 "consent_name": "Jordan Quill", "agree": "y"}}
    response = wizard.fill(answers, until="notes_consent", slots=EXECUTOR_SLOTS)
    assert response.headers["Location"].endswith("/request/step/notes_consent")
    page = _text(wizard.get("notes_consent"))
    assert "separate consent" in page and notices.CONSENT_PSYCHOTHERAPY_NOTES not in page
    wizard.post("notes_consent", answers["notes_consent"])
    wizard.upload_documents(EXECUTOR_SLOTS)
    wizard.post("review")
    wizard.sign("Jordan Quill")
    with scope() as session:
        consents = session.scalars(select(Consent).order_by(Consent.id)).all()
        assert [c.scope for c in consents] == ["general", "notes"]
        assert "Psychotherapy notes" in consents[1].information_description
        assert "Psychotherapy" not in consents[0].information_description


def test_changing_the_records_after_signing_the_consent_asks_for_it_again(wizard):
    wizard.fill(EXECUTOR_ANSWERS, slots=EXECUTOR_SLOTS)
    wizard.post("records", {"scope": "chosen", "parts": ["labs"]})
    response = wizard.get("sign")
    assert response.headers["Location"].endswith("/request/step/consent")


def _with_recipient_kind(kind: str) -> dict:
    return {**EXECUTOR_ANSWERS,
            "recipient": {**EXECUTOR_ANSWERS["recipient"], "recipient_kind": kind}}


def _consent_section(wizard) -> str:
    page = _text(wizard.get("consent"))
    return page.split('class="consent-text"', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize(("kind", "statement"), [
    ("doctor", True), ("health_plan", True),
    ("lawyer", False), ("insurer", False), ("other", False), ("unsure", False)])
def test_the_consent_states_the_limits_on_use_and_the_2_31_a_4_iii_statement_for_its_kind_r_rel_2(
        wizard, scope, kind, statement):
    """R-REL-2: limits on use (Civ. Code 56.11(g)) for every recipient; the 2.31(a)(4)(iii)
    statement exactly for a doctor, clinic or health plan; what was shown is what is stored."""
    answers = _with_recipient_kind(kind)
    wizard.fill(answers, until="consent")
    section = _consent_section(wizard)
    assert str(escape(notices.CONSENT_RECIPIENT_USE_LIMITS)) in section
    assert (str(escape(notices.CONSENT_HIPAA_REDISCLOSURE)) in section) == statement
    assert ("a records clerk will check with you" in section) == (kind == "unsure")
    wizard.submit(answers, slots=EXECUTOR_SLOTS, name="Jordan Quill")
    with scope() as session:
        consent = session.scalar(select(Consent))
        assert (consent.recipient_kind, consent.use_limits_stated,
                consent.redisclosure_statement_included) == (kind, True, statement)


def test_the_recipient_step_asks_who_receives_the_records_and_keeps_what_was_typed_r_rel_2(wizard):
    """R-REL-2: the question is required; a missing answer keeps the other fields."""
    answers = {k: v for k, v in EXECUTOR_ANSWERS.items() if k != "recipient"}
    wizard.fill(answers, until="recipient")
    typed = {k: v for k, v in EXECUTOR_ANSWERS["recipient"].items() if k != "recipient_kind"}
    response = wizard.refused("recipient", typed)
    page = _text(response)
    assert "Choose who is receiving the records." in page
    assert 'value="Morgan Lee"' in page
    for label in ("My doctor or clinic", "My health plan, for payment", "A lawyer",
                  "A life or disability insurer", "Someone else", "I am not sure"):
        assert label in page


def test_changing_the_kind_of_recipient_after_signing_asks_for_the_consent_again(wizard):
    wizard.fill(EXECUTOR_ANSWERS, slots=EXECUTOR_SLOTS)
    wizard.post("recipient", {**EXECUTOR_ANSWERS["recipient"], "recipient_kind": "doctor"})
    response = wizard.get("sign")
    assert response.headers["Location"].endswith("/request/step/consent")


def test_submitting_records_the_signature_with_time_ip_and_user_agent_r_rel_1(wizard, scope):
    """R-REL-1: a signed request: typed name, attestation, time, IP and browser."""
    wizard.fill(PATIENT_ANSWERS)
    before = datetime.now(UTC)
    wizard.client.post("/request/step/sign",
                       data={"signature_name": "Avery Quill", "attest": "y", "action": "next"},
                       headers={"User-Agent": "TestBrowser/1.0"},
                       environ_base={"REMOTE_ADDR": "203.0.113.9"})
    with scope() as session:
        req = session.scalar(select(RecordRequest))
        assert req.signature_name == "Avery Quill"
        assert req.signed_ip == "203.0.113.9" and req.signed_user_agent == "TestBrowser/1.0"
        assert before - timedelta(seconds=1) <= req.signed_at <= datetime.now(UTC)


def test_submitting_moves_the_drafts_files_onto_the_request(wizard, scope):
    wizard.submit(PATIENT_ANSWERS)
    with scope() as session:
        req = session.scalar(select(RecordRequest))
        document = session.scalar(select(StoredDocument).where(StoredDocument.kind != "original"))
        assert (document.request_id, document.draft_id, document.kind) == (req.id, None,
                                                                           "photo_id")
        evidence = session.scalars(select(ProofingStep.evidence)).all()
        assert evidence == ["photo_id"]
        assert req.status == "submitted" and req.received_via == "web"


def test_the_acknowledgement_gives_the_reference_and_both_due_dates_r_dl_1(wizard, scope):
    """R-DL-1: both clocks, in plain words, from the day of receipt."""
    response = wizard.submit(PATIENT_ANSWERS)
    page = _text(wizard.client.get(response.headers["Location"]))
    with scope() as session:
        req = session.scalar(select(RecordRequest))
    assert req.reference in page
    assert "(15 days left)" in page and "(30 days left)" in page


def test_the_acknowledgement_is_also_a_pdf_receipt(wizard):
    wizard.submit(PATIENT_ANSWERS)
    response = wizard.client.get("/request/sent/receipt.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")


def test_the_submission_email_is_neutral_and_carries_no_phi_r_sec_4(wizard, outbox):
    """R-SEC-4: neutral sender and subject; the body says there is something to do."""
    wizard.submit(PATIENT_ANSWERS)
    (mail,) = outbox()
    assert mail["Subject"] == "Confirm your email address"
    assert mail["From"].startswith("Records Custodian")
    body = mail.get_content()
    for secret in ("Avery", "Quill", "1980", "Canyon", "Peace Park", "treatment", "CPP-"):
        assert secret not in body
    assert "http://localhost/confirm/" in body


def test_a_third_party_link_gets_an_access_code_shown_once_and_stored_hashed(wizard, scope):
    response = wizard.submit(EXECUTOR_ANSWERS, slots=EXECUTOR_SLOTS, name="Jordan Quill")
    page = _text(wizard.client.get(response.headers["Location"]))
    code = re.search(r'class="code">([A-Z0-9]{4}-[A-Z0-9]{4})<', page).group(1)
    with scope() as session:
        req = session.scalar(select(RecordRequest))
        assert req.access_code_hash and code not in req.access_code_hash
        assert req.recipient_email == "morgan.lee@example.test"
        assert req.requester_type == "executor" and req.requester_name == "Jordan Quill"


def test_sending_twice_records_one_request(wizard, count):
    wizard.submit(PATIENT_ANSWERS)
    again = wizard.sign()
    assert again.headers["Location"].endswith("/request/sent")
    assert "It was not sent a second time" in _text(wizard.client.get("/request/sent"))
    assert count(RecordRequest) == 1


def test_the_roster_match_runs_only_after_the_submission_has_committed_r_id_5(wizard, app,
                                                                       monkeypatch):
    """R-ID-5: the match runs outside the visitor's request, after the commit: as a job, in a
    transaction of its own that finds the request already stored."""
    from portal.jobs.outbox import HANDLERS, Handler
    from portal.requests.location import ROSTER_MATCH_JOB

    seen = []

    def fake_match(session, payload, _context):
        seen.append(session.get(RecordRequest, payload["request_id"]) is not None)

    monkeypatch.setitem(HANDLERS, ROSTER_MATCH_JOB, Handler(ROSTER_MATCH_JOB, fake_match, 8, 300))
    wizard.submit(PATIENT_ANSWERS)
    assert seen == [True]


def test_discarding_deletes_the_answers_and_the_files(wizard, count, stored_files):
    wizard.fill(PATIENT_ANSWERS, until="review")
    assert count(StoredDocument) == 2 and len(stored_files()) == 2  # copy and original
    asked = wizard.client.get("/request/discard").get_data(True)
    assert "Delete your answers?" in asked and "the 1 file you sent" in asked
    unconfirmed = wizard.client.post("/request/discard")
    assert unconfirmed.status_code == 422 and count(StoredDocument) == 2  # nothing deleted
    response = wizard.client.post("/request/discard", data={"confirm": "yes"})
    assert "portal_wizard=;" in response.headers["Set-Cookie"]
    assert count(WizardDraft) == 0 and count(StoredDocument) == 0 and stored_files() == []


def test_purging_deletes_expired_drafts_and_their_files(wizard, runner, scope, count,
                                                        stored_files):
    wizard.fill(PATIENT_ANSWERS, until="review")
    with scope() as session:
        session.scalar(select(WizardDraft)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    result = runner.invoke(args=["drafts", "purge"])
    assert "Deleted 1 expired draft(s) and 1 file(s)." in result.output
    assert count(WizardDraft) == 0 and count(StoredDocument) == 0 and stored_files() == []


def test_purging_keeps_drafts_younger_than_the_configured_days(wizard, runner, count):
    wizard.fill(PATIENT_ANSWERS, until="stay")
    runner.invoke(args=["drafts", "purge"])
    assert count(WizardDraft) == 1


def test_an_expired_draft_is_not_resumed(wizard, scope):
    wizard.fill(PATIENT_ANSWERS, until="stay")
    with scope() as session:
        session.scalar(select(WizardDraft)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    response = wizard.get("stay")
    assert response.headers["Location"].endswith("/request")
