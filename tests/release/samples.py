"""Factories for the plain values documents are rendered from (no database, no Flask)."""

from __future__ import annotations

from datetime import date, timedelta

from portal.release import documents as d
from portal.release.letterhead import Letterhead, letterhead_from_config

TODAY = date(2026, 11, 26)
REFERENCE = "R-2026-00042"
PROGRAM_NAME = "The Canyon at Peace Park"

CONFIG = {
    "CUSTODIAN_NAME": "Records Custodian",
    "CUSTODIAN_ADDRESS": "PO Box 4821\nMalibu, CA 90265",
    "CUSTODIAN_PHONE": "(310) 555-0142",
    "CUSTODIAN_EMAIL": "records@custodian.example",
    "PROGRAM_NAME": PROGRAM_NAME,
    "COMPLAINT_CONTACT_TITLE": "Privacy Officer",
}


def letterhead(**overrides: object) -> Letterhead:
    return letterhead_from_config({**CONFIG, **overrides})


def address(name: str = "Maria Lopez") -> d.MailingAddress:
    return d.MailingAddress(
        name=name, lines=("1420 Ocean Park Blvd Apt 3", "Santa Monica, CA 90405")
    )


def _letter(**overrides: object) -> dict[str, object]:
    return {"reference": REFERENCE, "generated_on": TODAY, "to": address(), **overrides}


def acknowledgement(**overrides: object) -> d.Acknowledgement:
    values = _letter(
        received_on=date(2026, 11, 24),
        requested=("A copy of the complete record, 2016 to 2018",),
        delivery="Secure download link by email",
        california_due_on=date(2026, 12, 9),
        hipaa_due_on=date(2026, 12, 24),
        about_name="Maria Lopez",
    )
    return d.Acknowledgement(**{**values, **overrides})


def consent(**overrides: object) -> d.ConsentForm:
    values = {
        "generated_on": TODAY,
        "reference": REFERENCE,
        "patient_name": "Maria Lopez",
        "patient_other_names": ("Maria Gutierrez",),
        "patient_date_of_birth": date(1984, 3, 9),
        "information": "Discharge summary and medication records from the stay of June to "
        "August 2017",
        "recipients": (
            d.MailingAddress(name="Dr. Aaron Feld", lines=("200 Main St", "Ventura, CA 93001")),
        ),
        "purpose": "Continuing care with my new doctor",
        "expires_on": date(2027, 5, 26),
        "signed_by": "Maria Lopez",
        "signed_on": TODAY,
        "recipient_kind": "doctor",
        "use_limits_stated": True,
        "redisclosure_statement_included": True,
    }
    return d.ConsentForm(**{**values, **overrides})


def consent_summary(**overrides: object) -> d.ConsentSummary:
    values = dict(
        title="Consent to release records",
        signed_by="Maria Lopez",
        signed_on=date(2026, 11, 20),
        recipient="Dr. Aaron Feld, 200 Main St, Ventura, CA 93001",
        information="Discharge summary and medication records, June to August 2017",
        purpose="Continuing care",
        expires_on=date(2027, 5, 20),
    )
    return d.ConsentSummary(**{**values, **overrides})


def cover_letter(third_party: bool = False, **overrides: object) -> d.CoverLetter:
    values = _letter(
        patient_name="Maria Lopez",
        released=("Discharge summary, August 2017", "Medication administration record, 2017"),
    )
    if third_party:
        values.update(
            to=address("Dr. Aaron Feld"),
            third_party_consents=(consent_summary(),),
            consent_copy_enclosed=True,
        )
    return d.CoverLetter(**{**values, **overrides})


def extension_notice(**overrides: object) -> d.ExtensionNotice:
    values = _letter(
        received_on=date(2026, 11, 1),
        california_due_on=date(2026, 11, 16),
        hipaa_due_on=date(2026, 12, 1),
        new_due_on=date(2026, 12, 31),
        reasons=(
            "Part of the record is on paper damaged in the 2018 fire and must be copied by hand.",
        ),
    )
    return d.ExtensionNotice(**{**values, **overrides})


def denial(
    ground: str = "psychotherapy_notes", partial: bool = False, **overrides: object
) -> d.DenialLetter:
    values = _letter(
        denied=(d.DeniedPart(description="Therapist's session notes, 2017", ground=ground),)
    )
    if partial:
        values["released"] = ("Discharge summary, August 2017",)
    return d.DenialLetter(**{**values, **overrides})


def review_decision(**overrides: object) -> d.ReviewDecision:
    values = _letter(
        reviewed_on=date(2026, 11, 25),
        upheld=(d.DeniedPart(description="Nursing notes of 3 July 2017", ground="endanger_life"),),
        reversed=("Progress notes, July 2017",),
        release_by=date(2026, 12, 3),
    )
    return d.ReviewDecision(**{**values, **overrides})


def could_not_verify(**overrides: object) -> d.CouldNotVerify:
    values = _letter(reason="The copy of the photo ID we received was too blurred to read.")
    return d.CouldNotVerify(**{**values, **overrides})


def outcome(kind: str = "no_records", **overrides: object) -> d.OutcomeLetter:
    values = _letter(kind=kind, parts=("Complete record, 2016 to 2018",))
    return d.OutcomeLetter(**{**values, **overrides})


def accounting(**overrides: object) -> d.AccountingOfDisclosures:
    values = _letter(
        patient_name="Maria Lopez",
        period_start=TODAY - timedelta(days=6 * 365),
        period_end=TODAY,
        disclosures=(
            d.DisclosureEntry(
                disclosed_on=date(2025, 3, 14),
                recipient_name="Dr. Aaron Feld",
                recipient_address=("200 Main St", "Ventura, CA 93001"),
                description="Discharge summary, August 2017",
                purpose="Continuing care, at the request of the patient",
            ),
            d.DisclosureEntry(
                disclosed_on=date(2026, 2, 2),
                recipient_name="Harbor Law Group LLP",
                recipient_address=("11 Shore Rd Suite 400", "Long Beach, CA 90802"),
                description="Complete record, 2016 to 2018",
                purpose="Legal representation of the patient",
            ),
        ),
    )
    return d.AccountingOfDisclosures(**{**values, **overrides})
