"""Bad input gets a clear message beside the field and in a summary; nothing typed is lost and
nothing is stored (issue: "Bad input and abuse")."""

from __future__ import annotations

import html
import io
import os
import re
from datetime import timedelta
from html import unescape

import pytest
from PIL import Image

from portal.requests.models import Consent, RecordRequest
from portal.rules.deadlines import today_pacific
from portal.storage.models import StoredDocument
from tests.journey.samples import (
    EXECUTABLE,
    EXECUTOR_ANSWERS,
    PATIENT_ANSWERS,
    consent_answers,
    pdf_bytes,
    png_bomb_bytes,
    with_date,
)

TOMORROW = (today_pacific() + timedelta(days=2)).isoformat()
YESTERDAY = (today_pacific() - timedelta(days=1)).isoformat()
LONG_NAME = "A" * 10_000


def _page(response) -> str:
    return unescape(response.get_data(as_text=True))


def _shows_problem(response, field_id: str, message: str) -> None:
    """The message next to the field, and the summary linking to the field."""
    page = _page(response)
    assert f'id="{field_id}-error"' in page
    summary = page.split('class="error-summary"', 1)[1].split("</div>", 1)[0]
    assert f'href="#{field_id}"' in summary and message in summary
    assert message in page.split(f'id="{field_id}-error"', 1)[1][:600]


NEXT_YEAR = f"{today_pacific().year + 1}-01-01"
PATIENT, STAY = PATIENT_ANSWERS["patient"], PATIENT_ANSWERS["stay"]

CASES = {
    "date_of_birth_in_the_future": (
        "patient", with_date(PATIENT, "dob", TOMORROW), "dob",
        "The date of birth cannot be in the future."),
    "date_that_is_not_a_date": (
        "patient", {**with_date(PATIENT, "dob", ""), "dob-month": "31", "dob-day": "31",
                    "dob-year": "1980"}, "dob", "The date of birth must be a real date."),
    "date_of_birth_without_its_year": (
        "patient", {**with_date(PATIENT, "dob", "1980-04-12"), "dob-year": ""}, "dob",
        "The date of birth must include a year."),
    "date_of_birth_with_a_two_digit_year": (
        "patient", {**with_date(PATIENT, "dob", "1980-04-12"), "dob-year": "80"}, "dob",
        "Write the year of the date of birth with 4 digits"),
    "ten_thousand_character_name": (
        "patient", {**PATIENT, "first_name": LONG_NAME}, "first_name",
        "Use 120 characters or fewer (you entered 10000)."),
    "control_characters_in_a_name": (
        "patient", {**PATIENT, "last_name": "Qu\x07ill\u202e"}, "last_name",
        "Remove the unusual characters"),
    "emails_that_differ": (
        "contact", {**PATIENT_ANSWERS["contact"], "email_confirm": "avery.quil@example.test"},
        "email_confirm", "The two email addresses are different."),
    "a_four_digit_zip": (
        "contact", {**PATIENT_ANSWERS["contact"], "address_postal_code": "9026"},
        "address_postal_code", "Enter a ZIP code of 5 digits"),
    "a_state_that_is_not_one": (
        "contact", {**PATIENT_ANSWERS["contact"], "address_state": "Cali"},
        "address_state", "Enter the state as its two-letter code"),
    "admission_in_the_future": (
        "stay", with_date(STAY, "stay_from", NEXT_YEAR, day=False), "stay_from",
        "The admission date cannot be in the future."),
    "discharge_before_admission": (
        "stay", with_date(STAY, "stay_to", "2016-02-01", day=False), "stay_to",
        "The discharge date must be on or after the admission date."),
    "stay_before_the_date_of_birth": (
        "stay", with_date(with_date(STAY, "stay_from", "1979-01-01", day=False), "stay_to",
                          "1979-02-01", day=False),
        "stay_from", "The stay cannot begin before the date of birth you gave."),
    "stay_after_the_program_closed": (
        "stay", with_date(with_date(STAY, "stay_from", "2019-01-01", day=False), "stay_to", "",
                          day=False),
        "stay_from", "The program closed on November 10, 2018"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_answer_is_explained_and_nothing_typed_is_lost(case, wizard, count):
    step, data, field_id, message = CASES[case]
    wizard.fill(PATIENT_ANSWERS, until=step)
    response = wizard.refused(step, data)
    _shows_problem(response, field_id, message)
    _kept(_page(response), data)
    # Coming back later shows the same answers: they were saved, not thrown away.
    _kept(_page(wizard.get(step)), data)
    assert count(RecordRequest) == 0


def _kept(page: str, data: dict) -> None:
    """Every typed answer is back in its own box (a textarea's text is its content)."""
    for name, value in data.items():
        if re.fullmatch(r"\d{4}-\d\d-\d\d", value or ""):  # a whole date: shown in boxes
            year, month, _day = value.split("-")
            _kept(page, {f"{name}-month": str(int(month)), f"{name}-year": year})
        elif value and name != "program":
            shown = html.escape(value, quote=True)
            assert re.search(rf'name="{re.escape(name)}"[^>]*value="{re.escape(shown)}"', page) \
                or re.search(rf">\s*{re.escape(shown)}</textarea>", page), name


def test_a_date_of_birth_after_the_stay_is_refused_when_the_stay_is_checked(wizard, count):
    """A DOB later than the stay is caught whichever page was filled last."""
    wizard.fill(PATIENT_ANSWERS, until="stay")
    wizard.post("patient", {**PATIENT_ANSWERS["patient"], "dob": "2017-01-01"})
    response = wizard.refused("stay", PATIENT_ANSWERS["stay"])
    _shows_problem(response, "stay_from", "The stay cannot begin before the date of birth")
    assert count(RecordRequest) == 0


def test_changing_the_date_of_birth_later_is_caught_before_sending(wizard, count):
    wizard.fill(PATIENT_ANSWERS)
    wizard.post("patient", {**PATIENT_ANSWERS["patient"], "dob": "2017-01-01"})
    response = wizard.sign()
    assert response.headers["Location"].endswith("/request/step/stay")
    assert count(RecordRequest) == 0


@pytest.mark.parametrize("expires_on, message", [
    (YESTERDAY, "The end date cannot be in the past."),
    ((today_pacific() + timedelta(days=400)).isoformat(), "The end date can be at most 12 months"),
    ("", "Enter the date this permission ends."),
])
def test_a_consent_end_date_must_be_specific_and_in_range_r_rel_2(
        expires_on, message, wizard, count):
    """R-REL-2: a specific expiry date, not past, at most CONSENT_MAX_MONTHS away."""
    wizard.fill(EXECUTOR_ANSWERS, until="consent")
    response = wizard.refused("consent", {**consent_answers("Jordan Quill"),
                                       "expires_on": expires_on})
    _shows_problem(response, "expires_on", message)
    assert 'value="Jordan Quill"' in _page(response)
    assert count(RecordRequest) == 0


def test_a_consent_must_be_agreed_to_r_rel_2(wizard, count):
    """R-REL-2: no consent without the signer confirming the statements; nothing is sent."""
    wizard.fill(EXECUTOR_ANSWERS, until="consent")
    response = wizard.refused("consent", {**consent_answers("Jordan Quill"), "agree": ""})
    _shows_problem(response, "agree", "Confirm that you have read the statements")
    assert 'value="Jordan Quill"' in _page(response)
    # The step stays undone: later steps send the requester back to it.
    assert wizard.get("sign").headers["Location"].endswith("/request/step/consent")
    assert count(RecordRequest) == 0 and count(Consent) == 0


def _noisy_jpeg(size=(600, 600)) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, os.urandom(size[0] * size[1] * 3)).save(out, format="JPEG")
    return out.getvalue()


UPLOAD_CASES = {
    "larger_than_the_limit": (lambda: _noisy_jpeg(), "big.jpg", "“big.jpg” is larger than"),
    "jpg_that_is_a_pdf": (lambda: pdf_bytes(), "id.jpg", "is really a PDF document"),
    "jpg_that_is_an_executable": (lambda: EXECUTABLE, "id.jpg",
                                  "“id.jpg” is not a JPEG or PNG photo or a PDF document"),
    "decompression_bomb": (lambda: png_bomb_bytes(), "id.png", "too many pixels"),
    "encrypted_pdf": (lambda: pdf_bytes(password="x"), "id.pdf", "protected by a password"),
}


@pytest.fixture
def small_uploads(app_config):
    app_config["ID_UPLOAD_MAX_BYTES"] = 100 * 1024
    return app_config


@pytest.mark.parametrize("case", sorted(UPLOAD_CASES))
def test_a_bad_upload_is_refused_by_name_and_nothing_is_stored(case, small_uploads, wizard,
                                                               count, stored_files):
    make, name, message = UPLOAD_CASES[case]
    wizard.fill(PATIENT_ANSWERS, until="documents")
    response = wizard.refused("documents", files={"photo_id": (name, make())})
    _shows_problem(response, "photo_id", message)
    assert count(StoredDocument) == 0 and stored_files() == []
    # The answers typed before are all still there.
    assert 'value="Avery"' in _page(wizard.get("patient"))


def test_a_bad_upload_does_not_remove_a_good_one_already_sent(wizard, count):
    wizard.fill(PATIENT_ANSWERS, until="documents")
    wizard.upload_documents()
    response = wizard.refused("documents", files={"photo_id": ("new.jpg", EXECUTABLE)})
    assert "Received: photo_id.jpg" in _page(response)
    assert count(StoredDocument) == 2  # the inert copy and the original kept as evidence


def test_a_missing_photo_id_is_asked_for_r_id_2(wizard, count):
    """R-ID-2(b): the photo ID is required; the request cannot be sent without it."""
    wizard.fill(PATIENT_ANSWERS, until="documents")
    response = wizard.refused("documents")
    _shows_problem(response, "photo_id", "Choose a photo or scan of your government photo ID.")
    assert wizard.get("sign").headers["Location"].endswith("/request/step/documents")
    assert count(RecordRequest) == 0 and count(StoredDocument) == 0


def test_sending_without_signing_is_refused_and_keeps_the_answers(wizard, count):
    wizard.fill(PATIENT_ANSWERS)
    response = wizard.refused("sign", {"signature_name": "Avery Quill", "attest": ""})
    _shows_problem(response, "attest", "Confirm that the information is true")
    assert 'value="Avery Quill"' in _page(response)
    assert count(RecordRequest) == 0


def test_an_enormous_post_is_capped_in_the_draft_not_refused_with_an_error(wizard, scope):
    from sqlalchemy import select

    from portal.requester.drafts import MAX_STEP_CHARS, read_answers
    from portal.requests.models import WizardDraft

    wizard.fill(PATIENT_ANSWERS, until="patient")
    big = {name: "x" * 20_000 for name in ("first_name", "last_name", "other_names",
                                           "ssn_last4")}
    wizard.refused("patient", big)
    with scope() as session:
        answers = read_answers(session.scalar(select(WizardDraft)))
    saved = answers["steps"]["patient"]
    assert sum(len(v) for values in saved.values() for v in values) <= MAX_STEP_CHARS



def test_a_state_typed_by_name_is_kept_as_its_code(app):
    """#15 part 1: "California" is CA; ZIP+4 without a dash is written with one."""
    from werkzeug.datastructures import MultiDict

    from portal.requester.forms import ContactForm

    answers = {**PATIENT_ANSWERS["contact"], "address_state": "california",
               "address_postal_code": "930011234"}
    with app.test_request_context(method="POST"):
        form = ContactForm(formdata=MultiDict(answers))
        assert form.validate(), form.errors
        assert (form.address_state.data, form.address_postal_code.data) == ("CA", "93001-1234")


ABROAD = {**PATIENT_ANSWERS["contact"], "address_where": "abroad",
          "address_care_of": "c/o Maria Quill", "address_line1": "Calle Mayor 12, 3º B",
          "address_city": "Madrid", "address_state": "", "address_postal_code": "",
          "address_region": "", "address_postcode": "28013", "address_country": "Spain"}


def test_an_address_abroad_is_taken_without_a_state_or_zip_and_mailed_with_its_country(
        app, wizard, count):
    """#15 part 1: the foreign-address path; the institution or "care of" line comes first."""
    from sqlalchemy import select

    from portal.requests.letters import addressee
    from portal.requests.models import RecordRequest

    answers = {**PATIENT_ANSWERS, "contact": ABROAD}
    assert wizard.submit(answers).status_code == 302
    with app.app_context():
        from portal.core.db import get_session

        req = get_session().scalar(select(RecordRequest))
        assert (req.address_state, req.address_postal_code, req.address_country) == (
            None, "28013", "Spain")
        assert addressee(req).lines == ("c/o Maria Quill", "Calle Mayor 12, 3º B",
                                        "Madrid 28013", "SPAIN")


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"address_country": ""}, "address_country", "Enter the country."),
    ({"address_country": "USA"}, "address_country", "choose “In the United States”"),
    ({"address_where": "us"}, "address_state", "Enter the state."),
])
def test_each_address_path_asks_for_its_own_parts(wizard, count, changes, field, message):
    wizard.fill(PATIENT_ANSWERS, until="contact")
    page = wizard.refused("contact", {**ABROAD, **changes}).get_data(as_text=True)
    assert message in page
    assert f'id="{field}-error"' in page or f'{field}-error' in page
    assert "Calle Mayor 12, 3º B" in page  # nothing typed is lost


def test_a_us_state_typed_by_name_is_stored_as_its_code(app, wizard):
    from sqlalchemy import select

    from portal.requests.models import RecordRequest

    contact = {**PATIENT_ANSWERS["contact"], "address_state": "california",
               "address_postal_code": "930011234"}
    assert wizard.submit({**PATIENT_ANSWERS, "contact": contact}).status_code == 302
    with app.app_context():
        from portal.core.db import get_session

        req = get_session().scalar(select(RecordRequest))
        assert (req.address_state, req.address_postal_code, req.address_country) == (
            "CA", "93001-1234", None)


def test_the_review_page_shows_the_address_as_letters_will_print_it(wizard):
    wizard.fill({**PATIENT_ANSWERS, "contact": ABROAD}, until="sign")
    page = wizard.get("review").get_data(as_text=True)
    assert "c/o Maria Quill, Calle Mayor 12, 3º B, Madrid 28013, SPAIN" in page
