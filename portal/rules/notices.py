"""The legal statements that documents must carry, each in one place.

Every letter, form and packet takes its regulatory wording from here, so a change in the law
is one edit. Texts quote the regulation where the regulation prescribes words (42 CFR 2.32)
and are plain-language statements of the required element everywhere else. Where a statement
contains ``{placeholders}`` the caller fills them from configuration (never leaving a blank).
"""

from __future__ import annotations

from dataclasses import dataclass

# --- 42 CFR 2.32: notice to accompany disclosure (text as amended by 89 FR 12472, 2024) ---

#: R-REL-5: the short statement, printed on every page of a released packet (2.32(a)(2)).
PART2_SHORT_STATEMENT = "42 CFR part 2 prohibits unauthorized use or disclosure of these records."

#: R-REL-5: the long statement (2.32(a)(1)), as its opening paragraph, its three conditions,
#: and its closing sentence; printed on every cover letter.
PART2_LONG_STATEMENT_OPENING = (
    "This record which has been disclosed to you is protected by Federal confidentiality rules "
    "(42 CFR part 2). These rules prohibit you from using or disclosing this record, or "
    "testimony that describes the information contained in this record, in any civil, "
    "criminal, administrative, or legislative proceedings by any Federal, State, or local "
    "authority, against the patient, unless authorized by the consent of the patient, except "
    "as provided at 42 CFR 2.12(c)(5) or as authorized by a court in accordance with 42 CFR "
    "2.64 or 2.65. In addition, the Federal rules prohibit you from making any other use or "
    "disclosure of this record unless at least one of the following applies:"
)
PART2_LONG_STATEMENT_CONDITIONS = (
    "(i) Further use or disclosure is expressly permitted by the written consent of the "
    "individual whose information is being disclosed in this record or as otherwise permitted "
    "by 42 CFR part 2.",
    "(ii) You are a covered entity or business associate and have received the record for "
    "treatment, payment, or health care operations, or",
    "(iii) You have received the record from a covered entity or business associate as "
    "permitted by 45 CFR part 164, subparts A and E.",
)
PART2_LONG_STATEMENT_CLOSING = (
    "A general authorization for the release of medical or other information is NOT sufficient "
    "to meet the required elements of written consent to further use or redisclose the record "
    "(see 42 CFR 2.31)."
)
PART2_LONG_STATEMENT = " ".join(
    (PART2_LONG_STATEMENT_OPENING, *PART2_LONG_STATEMENT_CONDITIONS, PART2_LONG_STATEMENT_CLOSING)
)

# --- Consent to release: 42 CFR 2.31(a), 45 CFR 164.508(c), Cal. Civ. Code 56.11 (R-REL-2) ---

#: 2.31(a)(6), 164.508(c)(2)(i), R-REL-6: the right to revoke, its reliance exception, and how.
CONSENT_REVOCATION = (
    "I may revoke (cancel) this consent at any time by writing to the Records Custodian at the "
    "address on this form. Revoking it does not undo a use or disclosure already made in "
    "reliance on this consent before my written revocation was received."
)
#: 164.508(c)(2)(ii): whether treatment, payment, enrollment or eligibility depend on signing.
CONSENT_CONDITIONING = (
    "The program will not condition treatment, payment, enrollment in a health plan, or "
    "eligibility for benefits on whether I sign this consent. The program has closed and "
    "provides no treatment; signing or refusing to sign changes nothing about any care I "
    "receive elsewhere."
)
#: 2.31(a)(10) and 164.508(c)(2)(iii): the potential for redisclosure.
CONSENT_REDISCLOSURE = (
    "Information disclosed under this consent may be redisclosed by the recipient and may then "
    "no longer be protected by the federal privacy rules (45 CFR part 164). 42 CFR part 2 "
    "continues to limit how the records may be used against me in any civil, criminal, "
    "administrative, or legislative proceeding."
)
#: 2.31(a)(10): the consequences of refusing to sign.
CONSENT_REFUSAL = (
    "I do not have to sign this consent. If I do not sign it, the records described here will "
    "not be sent to the recipient named here; I can still ask for a copy of my own records."
)
#: 2.31(a)(7), Civ. Code 56.11(h): a specific date, not an event alone.
CONSENT_EXPIRY = (
    "This consent expires on the expiration date written on this form. After that date no "
    "further disclosure will be made under it."
)
#: Civ. Code 56.11(i) and 164.508(c)(4): the signer's right to a copy.
CONSENT_RIGHT_TO_COPY = "I have the right to receive a copy of this consent after I sign it."
#: Civ. Code 56.11(b): a separate form, signed by a signature that serves no other purpose.
CONSENT_SIGNATURE_PURPOSE = (
    "My signature below serves only to sign this consent and has no other purpose."
)
#: R-REL-4, 2.31(b), 164.508(a)(2): psychotherapy notes need their own consent.
CONSENT_PSYCHOTHERAPY_NOTES = (
    "This consent does not cover psychotherapy notes or counseling session notes. Those need "
    "a separate consent of their own."
)
#: 2.31(a)(5): the patient-initiated purpose accepted by the rule.
CONSENT_PURPOSE_AT_REQUEST = "At the request of the patient"

#: Civ. Code 56.11(g): the specific uses and limitations on use by the recipient. Printed in
#: the consent's own part, right after the purpose it refers to.
CONSENT_RECIPIENT_USE_LIMITS = (
    "The recipient may use these records only for the purpose stated in this consent. The "
    "recipient may not use them for any other purpose, and may not disclose them to anyone "
    "else for any other purpose."
)
#: The one exception to the limits above, for a doctor, clinic or health plan (2.31(a)(4)(iii)).
CONSENT_RECIPIENT_USE_EXCEPTION = (
    "The only exception is the statement that follows, which federal law requires when the "
    "recipient is a health care provider or health plan receiving the records for treatment, "
    "payment or health care operations."
)
#: 42 CFR 2.31(a)(4)(iii) (89 FR 12472, 2024), in the regulation's words: required when the
#: recipient is a covered entity or business associate receiving for treatment, payment or
#: health care operations (R-REL-2).
CONSENT_HIPAA_REDISCLOSURE = (
    "The patient's record (or information contained in the record) may be redisclosed in "
    "accordance with the permissions contained in the HIPAA regulations, except for uses and "
    "disclosures for civil, criminal, administrative, and legislative proceedings against the "
    "patient."
)
#: On the blank form, where the kind of recipient is a tick box.
CONSENT_HIPAA_REDISCLOSURE_CONDITION = (
    "If you ticked \u201cMy doctor or clinic\u201d or \u201cMy health plan, for payment\u201d, "
    "this statement also applies, and is the only exception to the limits above:"
)

#: The order in which the consent form prints the statements above.
CONSENT_STATEMENTS = (
    CONSENT_REVOCATION,
    CONSENT_EXPIRY,
    CONSENT_CONDITIONING,
    CONSENT_REFUSAL,
    CONSENT_REDISCLOSURE,
    CONSENT_PSYCHOTHERAPY_NOTES,
    CONSENT_RIGHT_TO_COPY,
    CONSENT_SIGNATURE_PURPOSE,
)

#: Civ. Code 56.11(a): minimum type size of a consent that is not handwritten.
CONSENT_MINIMUM_POINT_SIZE = 14

# --- Extension notices (R-DL-2, R-DL-4): the one extension each clock allows ---

#: The citation an extension notice gives, by kind of request.
EXTENSION_CITATIONS = {
    "copies": "45 CFR 164.524(b)(2)(ii)",
    "accounting": "45 CFR 164.528(c)(1)(ii)",
}

# --- Denials: 45 CFR 164.524(a)(2)-(3), (d); Cal. Health & Safety Code 123115(b) ---


@dataclass(frozen=True)
class DenialGround:
    """One lawful reason to deny access, with its citation and whether it can be reviewed."""

    code: str
    citation: str
    reviewable: bool
    explanation: str
    #: Cal. H&S 123115(b): a licensed professional the patient names may still receive them.
    california_professional_copy: bool = False


#: R-DEN-1 (no review) and R-DEN-3 (review by another licensed professional); codes are shared.
DENIAL_GROUNDS: dict[str, DenialGround] = {
    ground.code: ground
    for ground in (
        DenialGround(
            "psychotherapy_notes",
            "45 CFR 164.524(a)(1)(i) and (a)(2)",
            False,
            "These are psychotherapy notes: a therapist's separate notes about counseling "
            "sessions. Federal law does not give a right of access to them.",
        ),
        DenialGround(
            "legal_proceedings",
            "45 CFR 164.524(a)(1)(ii) and (a)(2)",
            False,
            "This information was gathered in reasonable anticipation of, or for use in, a "
            "civil, criminal, or administrative action or proceeding.",
        ),
        DenialGround(
            "confidential_source",
            "45 CFR 164.524(a)(2)(v)",
            False,
            "This information was obtained from someone other than a health care provider "
            "under a promise of confidentiality, and releasing it would be reasonably likely "
            "to reveal the source.",
        ),
        DenialGround(
            "endanger_life",
            "45 CFR 164.524(a)(3)(i)",
            True,
            "A licensed health care professional has determined that access is reasonably "
            "likely to endanger the life or physical safety of the patient or another person.",
            california_professional_copy=True,
        ),
        DenialGround(
            "harm_to_other",
            "45 CFR 164.524(a)(3)(ii)",
            True,
            "The information refers to another person (not a health care provider), and a "
            "licensed health care professional has determined that access is reasonably likely "
            "to cause substantial harm to that person.",
        ),
        DenialGround(
            "harm_via_representative",
            "45 CFR 164.524(a)(3)(iii)",
            True,
            "The request was made by a personal representative, and a licensed health care "
            "professional has determined that giving access to that representative is "
            "reasonably likely to cause substantial harm to the patient or another person.",
        ),
    )
}

#: 164.524(a)(4), (d)(2)(ii), (d)(4): how to use the right to review.
REVIEW_RIGHTS = (
    "You have the right to have this decision reviewed. A licensed health care professional "
    "chosen by the Records Custodian, who did not take part in the original decision, will "
    "review it. To ask for a review, write to the Records Custodian at the address above, or "
    "call {phone}, and give the reference number of this letter. There is no charge and no "
    "form to fill in. We will send the reviewer's decision to you in writing, and we will do "
    "what the reviewer decides."
)
#: 164.524(a)(2): grounds without review still leave the complaint routes open.
NO_REVIEW = (
    "Federal law does not provide a review for this reason. You may still complain, as "
    "explained below."
)
#: Cal. H&S 123115(b): adverse-consequence denials still reach a professional the patient names.
CALIFORNIA_PROFESSIONAL_COPY = (
    "California law gives you another choice. You may name a licensed physician, "
    "psychologist, marriage and family therapist, clinical social worker, or professional "
    "clinical counselor, and we will let that professional inspect or receive a copy of the "
    "records we did not release to you. Send us their name and address."
)
#: 164.524(d)(1): a partial denial releases everything else.
PARTIAL_DENIAL_RELEASE = (
    "Everything else you asked for is being released to you; only the information listed "
    "above is held back."
)
#: 164.524(d)(2)(iii), 164.530(d): complaint to the program, naming the contact title and phone.
COMPLAINT_TO_CUSTODIAN = (
    "You may complain to us. Write to the {contact_title} at the address above or call {phone}."
)
#: 164.524(d)(2)(iii), 160.306: complaint to the Secretary, through the HHS Office for Civil Rights.
HHS_OCR_COMPLAINT_INTRO = (
    "You may also complain to the Secretary of the U.S. Department of Health and Human "
    "Services, through its Office for Civil Rights (OCR):"
)
HHS_OCR_COMPLAINT_WAYS = (
    "Online: ocrportal.hhs.gov",
    "By email: OCRComplaint@hhs.gov",
    "By mail: Centralized Case Management Operations, U.S. Department of Health and Human "
    "Services, 200 Independence Avenue, S.W., Room 509F HHH Building, Washington, D.C. 20201",
    "By phone: 1-800-368-1019 (TDD 1-800-537-7697)",
)
HHS_OCR_COMPLAINT_TIME_LIMIT = (
    "A complaint to OCR should be filed within 180 days of when you learned of the problem."
)
HHS_OCR_COMPLAINT_ROUTE = " ".join(
    (HHS_OCR_COMPLAINT_INTRO, *HHS_OCR_COMPLAINT_WAYS, HHS_OCR_COMPLAINT_TIME_LIMIT)
)
#: The same route in one sentence, for letters where the law does not prescribe the detail.
HHS_OCR_COMPLAINT_SHORT = (
    "You may also complain to the U.S. Department of Health and Human Services, Office for "
    "Civil Rights: online at ocrportal.hhs.gov or by phone at 1-800-368-1019."
)
#: 164.530(g): no retaliation.
NO_RETALIATION = "We will not hold it against you in any way if you complain."

# --- Identity and non-confirmation (R-ID-2, R-ID-5) ---

#: 42 CFR 2.13(c): letters to a reader not yet verified say nothing about whether records exist.
NON_CONFIRMATION = (
    "This letter does not say whether we hold any records about anyone, and it should not be "
    "read as saying so."
)

# --- Fees (R-FEE-1, R-FEE-3, R-FEE-5) ---

#: R-FEE-1, 164.524(c)(4): what a fee for a patient's own copy may include.
FEE_BASIS = (
    "A fee for your own copy can only cover the cost of copying (labor, supplies) and postage. "
    "We never charge for searching for, retrieving or verifying records."
)
#: R-FEE-3, Cal. H&S 123110(g): records are never held back for an unpaid bill.
FEE_NEVER_WITHHELD = "We will not hold back your records because a bill has not been paid."
#: R-FEE-5, Cal. H&S 123110(d): copies for a public-benefit appeal are free.
FEE_PUBLIC_BENEFIT_WAIVER = (
    "Copies needed to support an appeal about eligibility for a public benefit program are "
    "free of charge."
)

# --- Accounting of disclosures (R-AUD-1, 164.528) ---

#: 164.528(c)(2): the first accounting in any 12 months is free.
ACCOUNTING_FEE = "Your first accounting in any 12-month period is free of charge."
ACCOUNTING_SCOPE = (
    "This accounting lists each time your records were disclosed to someone other than you, "
    "with the date, who received them, their address, what was disclosed, and why."
)
