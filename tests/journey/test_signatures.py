"""A typed signature in another name (R-REL-2, #15 part 1): asked about once, may be confirmed
and is then flagged to the clerk; another named party's name is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.requests.models import ProofingStep, RecordRequest
from portal.rules.signatures import DIFFERS, MATCHES, OTHER_PARTY, Party, check_signature
from tests.journey.samples import EXECUTOR_ANSWERS, PATIENT_ANSWERS

AVERY = [Party("Avery Quill"), Party("Avery Stone")]
RECIPIENT = [Party("Morgan Lee")]


@pytest.mark.once
@pytest.mark.parametrize(("typed", "expected"), [
    ("Avery Quill", MATCHES),
    ("  avery   QUILL ", MATCHES),
    ("Avery J. Quill", MATCHES),  # a middle initial is how many people sign
    ("Avery Stone", MATCHES),  # another name the patient gave
    ("Avy Quill", DIFFERS),
    ("A. Quill", DIFFERS),
    ("Quill", DIFFERS),
    ("Morgan Lee", OTHER_PARTY),
    ("morgan lee", OTHER_PARTY),
])
def test_a_typed_name_is_the_signer_s_another_or_someone_else_s(typed, expected):
    assert check_signature(typed, AVERY, RECIPIENT) == expected


@pytest.mark.once
def test_a_name_shared_by_signer_and_other_party_is_the_signer_s():
    """A son signing for his late father of the same name signs with his own name."""
    assert check_signature("Jordan Quill", [Party("Jordan Quill Jr.")],
                           [Party("Jordan Quill")]) == MATCHES


def test_a_different_name_is_asked_about_and_nothing_typed_is_lost(wizard, scope):
    wizard.fill(PATIENT_ANSWERS)
    page = wizard.refused("sign", {"signature_name": "Avy Quill", "attest": "y"})
    text = page.get_data(as_text=True)
    assert "This is not the name you gave for yourself (Avery Quill)" in text
    assert "This is how I sign my name" in text and 'value="Avy Quill"' in text
    with scope() as session:
        assert session.scalar(select(RecordRequest)) is None


def test_a_confirmed_different_name_is_sent_and_flagged_to_the_clerk(wizard, scope):
    wizard.fill(PATIENT_ANSWERS)
    response = wizard.post("sign", {"signature_name": "Avy Quill", "attest": "y",
                                    "signature_confirmed": "y"})
    assert response.headers["Location"].endswith("/request/sent")
    with scope() as session:
        req = session.scalar(select(RecordRequest))
        assert req.signature_name == "Avy Quill"
        [flag] = session.scalars(select(ProofingStep).where(
            ProofingStep.evidence == "signature_differs")).all()
        assert flag.request_id == req.id and "the request" in flag.note
        assert "Avy" not in flag.note  # the step names no one


def test_the_own_name_raises_no_flag(wizard, scope):
    wizard.submit(PATIENT_ANSWERS)
    with scope() as session:
        assert session.scalar(select(RecordRequest)) is not None
        assert not session.scalars(select(ProofingStep).where(
            ProofingStep.evidence == "signature_differs")).all()


def test_a_representative_cannot_sign_in_the_patient_s_name_even_when_confirming(wizard, scope):
    wizard.fill(EXECUTOR_ANSWERS, slots=("photo_id", "authority_proof", "death_certificate"))
    page = wizard.refused("sign", {"signature_name": "Avery Quill", "attest": "y",
                                   "signature_confirmed": "y"})
    assert "This is the name of someone else in this request" in page.get_data(as_text=True)
    with scope() as session:
        assert session.scalar(select(RecordRequest)) is None


def test_a_consent_signed_in_the_recipient_s_name_is_refused(wizard):
    wizard.fill(EXECUTOR_ANSWERS, until="consent")
    page = wizard.refused("consent", {**EXECUTOR_ANSWERS["consent"], "consent_name": "Morgan Lee",
                                      "consent_name_confirmed": "y"})
    assert "This is the name of someone else in this request" in page.get_data(as_text=True)
