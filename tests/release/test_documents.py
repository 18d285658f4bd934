"""Each document read back as its reader gets it: every element the law or the reader needs."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from portal.release import documents as d
from portal.release.pdf import TEMPLATE_DIR
from portal.rules import notices

from . import pdfcheck, samples

pytestmark = pytest.mark.pdf


def _text(pdf: bytes) -> str:
    return pdfcheck.text(pdf)


def assert_hhs_route(text: str) -> None:
    """164.524(d)(2)(iii): how to complain to the Secretary, every way and the time limit."""
    assert notices.HHS_OCR_COMPLAINT_INTRO in text
    for way in notices.HHS_OCR_COMPLAINT_WAYS:
        assert way in text
    assert notices.HHS_OCR_COMPLAINT_TIME_LIMIT in text


# --------------------------------------------------------------------------- acknowledgement


@pytest.fixture(scope="module")
def acknowledgement(letterhead) -> str:
    return _text(d.acknowledgement_pdf(samples.acknowledgement(), letterhead))


def test_acknowledgement_states_reference_request_and_received_date(acknowledgement):
    assert "gave it the reference R-2026-00042" in acknowledgement
    assert "We received it on November 24, 2026" in acknowledgement
    assert "A copy of the complete record, 2016 to 2018" in acknowledgement
    assert "Secure download link by email" in acknowledgement


def test_acknowledgement_shows_both_due_dates_r_dl_1(acknowledgement):
    assert "We aim to answer by December 9, 2026, the date California law sets" in acknowledgement
    assert "outer limit of December 24, 2026" in acknowledgement


def test_acknowledgement_says_what_happens_next(acknowledgement):
    assert "What happens next" in acknowledgement
    assert "We will never ask you to come in person" in acknowledgement


def test_accounting_acknowledgement_names_only_the_federal_date_r_dl_4(letterhead):
    letter = samples.acknowledgement(california_due_on=None, hipaa_due_on=date(2027, 1, 23),
                                     requested=("A list of who the records were shared with",))
    text = " ".join(_text(d.acknowledgement_pdf(letter, letterhead)).split())
    assert "We will answer by January 23, 2027, the date federal law (HIPAA) sets" in text
    assert "California" not in text


def test_acknowledgement_never_confirms_a_patient_r_id_5(acknowledgement):
    assert "your request" in acknowledgement
    assert "patient" not in acknowledgement.lower()
    assert notices.NON_CONFIRMATION in acknowledgement


# --------------------------------------------------------------------------- consent


@pytest.fixture(scope="module")
def consent_pdf(letterhead) -> bytes:
    return d.consent_form_pdf(samples.consent(), letterhead)


@pytest.fixture(scope="module")
def blank_consent_pdf(letterhead) -> bytes:
    return d.blank_consent_form_pdf(letterhead, generated_on=samples.TODAY)


def test_consent_is_prefilled_with_every_42_cfr_2_31_element_r_rel_2(consent_pdf):
    text = _text(consent_pdf)
    assert "Full name of the patient Maria Lopez" in text  # (a)(1)
    assert "The Canyon at Peace Park, through its Records Custodian" in text  # (a)(2)
    assert (
        "Discharge summary and medication records from the stay of June to August 2017" in text
    )  # (a)(3)
    assert "Dr. Aaron Feld, 200 Main St, Ventura, CA 93001" in text  # (a)(4)
    assert "Continuing care with my new doctor" in text  # (a)(5)
    assert notices.CONSENT_REVOCATION in text  # (a)(6)
    assert "This consent expires on (write a date: month, day, year) May 26, 2027" in text  # (a)(7)
    assert "Signed electronically by Maria Lopez on November 26, 2026" in text  # (a)(8), (a)(9)


@pytest.mark.parametrize("statement", notices.CONSENT_STATEMENTS)
def test_consent_carries_every_required_statement(consent_pdf, blank_consent_pdf, statement):
    assert statement in _text(consent_pdf)
    assert statement in _text(blank_consent_pdf)


def test_consent_states_hipaa_conditioning_and_redisclosure_164_508_c(consent_pdf):
    text = _text(consent_pdf)
    assert (
        "will not condition treatment, payment, enrollment in a health plan, or "
        "eligibility for benefits" in text
    )
    assert "may then no longer be protected" in text


def test_consent_is_in_at_least_14_point_type_civ_code_56_11(consent_pdf):
    for page in range(pdfcheck.page_count(consent_pdf)):
        assert min(pdfcheck.font_sizes(consent_pdf, page)) >= 14


def test_consent_stylesheet_sets_14_point_type_civ_code_56_11():
    css = (TEMPLATE_DIR / "documents.css").read_text()
    assert ".consent { page: consent; break-before: page; font-size: 14pt;" in css


def test_blank_consent_has_lines_for_every_element_and_a_signature_block(blank_consent_pdf):
    text = _text(blank_consent_pdf)
    for label in (
        "Full name of the patient",
        "Describe the records",
        "Name of the person or organization",
        "Purpose of the release",
        "This consent expires on (write a date",
        "Signature of the patient or personal representative",
        "Printed name",
        "Date signed",
    ):
        assert label in text
    assert "You may write: At the request of the patient." in text


def test_blank_consent_is_in_at_least_14_point_type(blank_consent_pdf):
    for page in range(pdfcheck.page_count(blank_consent_pdf)):
        assert min(pdfcheck.font_sizes(blank_consent_pdf, page)) >= 14


# R-REL-2 after the legal review: Civ. Code 56.11(g) and 42 CFR 2.31(a)(4)(iii).


def _flat(text: str) -> str:
    """PDF text with its line breaks and hyphen-free wraps folded to single spaces."""
    return " ".join(text.split())


@pytest.mark.parametrize("kind", ["doctor", "health_plan", "lawyer", "insurer", "other", "unsure"])
def test_filled_consent_states_the_recipients_limits_on_use_r_rel_2_56_11_g(letterhead, kind):
    tpo = kind in ("doctor", "health_plan")
    pdf = d.consent_form_pdf(samples.consent(recipient_kind=kind,
                                             redisclosure_statement_included=tpo), letterhead)
    text = _flat(_text(pdf))
    assert "How the recipient may use the records" in text
    assert notices.CONSENT_RECIPIENT_USE_LIMITS in text


@pytest.mark.parametrize(("kind", "label"), [
    ("doctor", "My doctor or clinic"), ("health_plan", "My health plan, for payment")])
def test_consent_to_a_doctor_or_health_plan_carries_the_2_31_a_4_iii_statement_r_rel_2(
        letterhead, kind, label):
    pdf = d.consent_form_pdf(samples.consent(recipient_kind=kind), letterhead)
    text = _flat(_text(pdf))
    assert notices.CONSENT_HIPAA_REDISCLOSURE in text
    assert notices.CONSENT_RECIPIENT_USE_EXCEPTION in text
    assert f"The recipient is {label}" in text


@pytest.mark.parametrize("kind", ["lawyer", "insurer", "other", "unsure"])
def test_consent_to_anyone_else_has_no_2_31_a_4_iii_statement_r_rel_2(letterhead, kind):
    pdf = d.consent_form_pdf(samples.consent(recipient_kind=kind,
                                             redisclosure_statement_included=False), letterhead)
    text = _flat(_text(pdf))
    assert "redisclosed in accordance with the permissions contained in the HIPAA" not in text
    assert notices.CONSENT_RECIPIENT_USE_EXCEPTION not in text


def test_blank_consent_has_the_recipient_kinds_as_tick_boxes_and_both_statements_r_rel_2(
        blank_consent_pdf):
    text = _flat(_text(blank_consent_pdf))
    assert "The recipient is (tick one):" in text
    for label in ("My doctor or clinic", "My health plan, for payment", "A lawyer",
                  "A life or disability insurer", "Someone else", "I am not sure"):
        assert label in text
    assert notices.CONSENT_RECIPIENT_USE_LIMITS in text
    # The 2.31(a)(4)(iii) statement is there, tied to the tick boxes that need it.
    assert (notices.CONSENT_HIPAA_REDISCLOSURE_CONDITION + " "
            + notices.CONSENT_HIPAA_REDISCLOSURE) in text


def test_copy_of_a_consent_signed_before_the_statements_existed_shows_what_was_signed(
        letterhead):
    pdf = d.consent_form_pdf(samples.consent(recipient_kind=None, use_limits_stated=False,
                                             redisclosure_statement_included=False), letterhead)
    text = _flat(_text(pdf))
    assert notices.CONSENT_RECIPIENT_USE_LIMITS not in text
    assert notices.CONSENT_HIPAA_REDISCLOSURE not in text
    assert "Signed electronically by Maria Lopez" in text


def test_consent_with_the_redisclosure_statement_but_no_use_limits_is_refused():
    with pytest.raises(d.DocumentRefused, match="limits on use"):
        samples.consent(use_limits_stated=False, redisclosure_statement_included=True)


def test_consent_without_recipient_is_refused():
    with pytest.raises(d.DocumentRefused, match="recipient"):
        samples.consent(recipients=())


# --------------------------------------------------------------------------- mail-in form


@pytest.fixture(scope="module")
def mail_in_pdf(letterhead) -> bytes:
    return d.mail_in_request_form_pdf(letterhead, generated_on=samples.TODAY)


def test_mail_in_form_says_where_to_send_it_and_offers_paths_besides_a_notary_r_id_1(mail_in_pdf):
    text = _text(mail_in_pdf)
    assert "mail it with a copy of your photo ID to Records Custodian, PO Box 4821" in text
    assert "A notarized signature is one option, never the only one" in text
    assert "We will never ask you to come in person" in text


def test_mail_in_form_asks_about_a_public_benefit_appeal_r_fee_5(mail_in_pdf):
    assert "appeal about eligibility for a public benefit program" in _text(mail_in_pdf)


def test_mail_in_form_carries_the_blank_consent_in_14_point_type(mail_in_pdf):
    pages = pdfcheck.page_texts(mail_in_pdf)
    consent_pages = [
        i
        for i, page in enumerate(pages)
        if "Consent to release records" in page or "What I understand" in page
    ]
    assert consent_pages
    first = consent_pages[0]
    assert "Consent to release records" in pages[first]
    for page in range(first, len(pages)):
        assert min(pdfcheck.font_sizes(mail_in_pdf, page)) >= 14


# --------------------------------------------------------------------------- cover letter


def test_cover_letter_carries_the_long_42_cfr_2_32_statement_r_rel_5(letterhead):
    text = _text(d.cover_letter_pdf(samples.cover_letter(), letterhead))
    assert notices.PART2_LONG_STATEMENT in text


def test_cover_letter_to_a_third_party_summarizes_the_consent_scope_2_32_b(letterhead):
    text = _text(d.cover_letter_pdf(samples.cover_letter(third_party=True), letterhead))
    assert "because Maria Lopez asked in writing and signed the consent" in text
    assert "Signed by Maria Lopez on November 20, 2026" in text
    assert "Purpose Continuing care" in text
    assert "Expires May 20, 2027" in text
    assert "A copy of the signed consent is enclosed" in text


def test_cover_letter_lists_what_is_released(letterhead):
    text = _text(d.cover_letter_pdf(samples.cover_letter(), letterhead))
    assert "Discharge summary, August 2017" in text
    assert "Medication administration record, 2017" in text


# --------------------------------------------------------------------------- extension


def test_extension_notice_gives_reasons_and_the_new_date_r_dl_2(letterhead):
    text = _text(d.extension_notice_pdf(samples.extension_notice(), letterhead))
    assert "must be copied by hand" in text
    assert "no later than December 31, 2026" in text
    assert "cannot finish it by December 1, 2026" in text


def test_extension_notice_says_california_has_no_extension_r_dl_2(letterhead):
    text = _text(d.extension_notice_pdf(samples.extension_notice(), letterhead))
    assert "California law does not allow an extension" in text


def test_extension_notice_for_copies_cites_164_524_b_2_ii_r_dl_2(letterhead):
    text = _flat(_text(d.extension_notice_pdf(samples.extension_notice(), letterhead)))
    assert "45 CFR 164.524(b)(2)(ii)" in text
    assert "164.528" not in text


def test_accounting_extension_notice_cites_164_528_c_1_ii_and_names_no_california_date_r_dl_4(
        letterhead):
    notice = samples.extension_notice(
        kind="accounting", california_due_on=None, received_on=date(2026, 10, 1),
        hipaa_due_on=date(2026, 11, 30), new_due_on=date(2026, 12, 30),
        generated_on=date(2026, 11, 26))
    text = _flat(_text(d.extension_notice_pdf(notice, letterhead)))
    assert "45 CFR 164.528(c)(1)(ii)" in text
    assert "164.524" not in text
    assert "California" not in text
    assert "no later than December 30, 2026" in text


def test_extension_notice_of_an_unknown_kind_is_refused():
    with pytest.raises(d.DocumentRefused, match="kind"):
        samples.extension_notice(kind="amendment")


def test_extension_notice_after_the_hipaa_due_date_is_refused_r_dl_2():
    with pytest.raises(d.DocumentRefused, match="no later than the HIPAA due date"):
        samples.extension_notice(generated_on=date(2026, 12, 2))


def test_extension_beyond_30_days_is_refused_r_dl_2():
    with pytest.raises(d.DocumentRefused, match="at most 30 days"):
        samples.extension_notice(new_due_on=date(2027, 1, 1))


def test_extension_without_reasons_is_refused_r_dl_2():
    with pytest.raises(d.DocumentRefused, match="reasons"):
        samples.extension_notice(reasons=(" ",))


# --------------------------------------------------------------------------- denial


@pytest.mark.parametrize("ground", notices.DENIAL_GROUNDS)
def test_denial_states_the_basis_for_each_ground_r_den_2(letterhead, ground):
    text = _text(d.denial_letter_pdf(samples.denial(ground), letterhead))
    basis = notices.DENIAL_GROUNDS[ground]
    assert basis.explanation in text
    assert basis.citation in text


@pytest.mark.parametrize(
    "ground", ["psychotherapy_notes", "legal_proceedings", "confidential_source"]
)
def test_denial_without_review_says_so_r_den_1(letterhead, ground):
    text = _text(d.denial_letter_pdf(samples.denial(ground), letterhead))
    assert notices.NO_REVIEW in text
    assert "You have the right to have this decision reviewed" not in text


@pytest.mark.parametrize("ground", ["endanger_life", "harm_to_other", "harm_via_representative"])
def test_reviewable_denial_explains_the_review_and_how_to_ask_r_den_3(letterhead, ground):
    text = _text(d.denial_letter_pdf(samples.denial(ground), letterhead))
    assert notices.REVIEW_RIGHTS.format(phone="(310) 555-0142") in text
    assert "who did not take part in the original decision" in text


def test_adverse_consequence_denial_offers_a_professional_the_patient_names_123115_b(letterhead):
    text = _text(d.denial_letter_pdf(samples.denial("endanger_life"), letterhead))
    assert notices.CALIFORNIA_PROFESSIONAL_COPY in text


def test_denial_explains_complaints_to_the_custodian_and_to_hhs_r_den_2(letterhead):
    text = _text(d.denial_letter_pdf(samples.denial(), letterhead))
    assert "Write to the Privacy Officer at the address above or call (310) 555-0142" in text
    assert_hhs_route(text)
    assert notices.NO_RETALIATION in text


def test_partial_denial_says_everything_else_is_released_164_524_d_1(letterhead):
    text = _text(d.denial_letter_pdf(samples.denial(partial=True), letterhead))
    assert notices.PARTIAL_DENIAL_RELEASE in text
    assert "Discharge summary, August 2017" in text


def test_full_denial_does_not_claim_a_release(letterhead):
    text = _text(d.denial_letter_pdf(samples.denial(), letterhead))
    assert notices.PARTIAL_DENIAL_RELEASE not in text


def test_denial_with_an_unknown_ground_is_refused():
    with pytest.raises(d.DocumentRefused, match="Unknown denial ground"):
        d.DeniedPart(description="Notes", ground="too_sensitive")


# --------------------------------------------------------------------------- review decision


def test_review_decision_states_who_reviewed_and_the_outcome_r_den_3(letterhead):
    text = _text(d.review_decision_pdf(samples.review_decision(), letterhead))
    assert (
        "who did not take part in the original decision, completed the review on "
        "November 25, 2026" in text
    )
    assert "We will send it to you by December 3, 2026" in text
    assert "Progress notes, July 2017" in text
    assert "Nursing notes of 3 July 2017" in text
    assert_hhs_route(text)


def test_review_of_a_ground_without_review_is_refused_r_den_1():
    with pytest.raises(d.DocumentRefused, match="reviewable"):
        samples.review_decision(
            upheld=(d.DeniedPart(description="Notes", ground="psychotherapy_notes"),)
        )


# --------------------------------------------------------------------------- could not verify


@pytest.fixture(scope="module")
def could_not_verify(letterhead) -> str:
    return _text(d.could_not_verify_pdf(samples.could_not_verify(), letterhead))


def test_could_not_verify_says_nothing_about_records_r_id_5(could_not_verify):
    assert "We could not verify your identity for your request R-2026-00042" in could_not_verify
    assert notices.NON_CONFIRMATION in could_not_verify
    assert "patient" not in could_not_verify.lower()


def test_could_not_verify_offers_the_mail_in_path_r_id_1(could_not_verify):
    assert "Use the mail-in request form" in could_not_verify
    assert "None of them needs a visit in person" in could_not_verify
    assert "never the only one" in could_not_verify


# --------------------------------------------------------------------------- outcomes


def test_no_records_letter_is_not_a_denial_r_den_4(letterhead):
    text = _text(d.outcome_letter_pdf(samples.outcome("no_records"), letterhead))
    assert "found no records that match" in text
    assert "This is not a denial" in text


def test_fire_letter_names_the_fire_and_its_date_r_den_4(letterhead):
    text = _text(d.outcome_letter_pdf(samples.outcome("destroyed_fire"), letterhead))
    assert "destroyed by the Woolsey Fire on November 10, 2018" in text


def test_retention_letter_gives_the_destruction_date_r_den_4(letterhead):
    letter = samples.outcome("destroyed_retention", destroyed_on=date(2024, 1, 31))
    text = _text(d.outcome_letter_pdf(letter, letterhead))
    assert "destroyed on January 31, 2024, as our record retention schedule required" in text


@pytest.mark.parametrize("kind", d.OUTCOME_KINDS)
def test_outcome_letter_names_another_custodian_when_known_164_524_d_3(letterhead, kind):
    other = d.OtherCustodian(
        name="County Records Center", address_lines=("1 Civic Plaza",), phone="(213) 555-0100"
    )
    text = _text(d.outcome_letter_pdf(samples.outcome(kind, other_custodian=other), letterhead))
    assert "County Records Center 1 Civic Plaza Phone (213) 555-0100" in text


# --------------------------------------------------------------------------- accounting


def test_accounting_lists_date_recipient_address_description_and_purpose_r_aud_1(letterhead):
    text = _text(d.accounting_of_disclosures_pdf(samples.accounting(), letterhead))
    assert (
        "March 14, 2025 Dr. Aaron Feld 200 Main St Ventura, CA 93001 Discharge summary, "
        "August 2017 Continuing care, at the request of the patient"
    ) in text
    assert "Harbor Law Group LLP" in text
    assert "2 disclosures in this period" in text


def test_accounting_with_no_disclosures_says_so(letterhead):
    letter = replace(samples.accounting(), disclosures=())
    assert "No disclosures were made in this period" in _text(
        d.accounting_of_disclosures_pdf(letter, letterhead)
    )
