"""Every letter and form the custodian sends, one function each, from plain values to PDF.

Callers build one of the frozen dataclasses below from their own models and pass it with the
:class:`~portal.release.letterhead.Letterhead`; nothing here reads the database or Flask.
Letters go to a window envelope, so each starts with the neutral sender block and the
mailing address; the program's name appears only in the body, where the law needs it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from portal.release.letterhead import Letterhead
from portal.release.pdf import render_pdf
from portal.rules import outcomes
from portal.rules.consent import RECIPIENT_KIND_LABELS
from portal.rules.deadlines import extension_window_problems
from portal.rules.notices import DENIAL_GROUNDS, EXTENSION_CITATIONS, DenialGround

__all__ = [
    "AccountingOfDisclosures",
    "Acknowledgement",
    "ConsentForm",
    "ConsentSummary",
    "CouldNotVerify",
    "CoverLetter",
    "DeniedPart",
    "DenialLetter",
    "DisclosureEntry",
    "DocumentRefused",
    "ExtensionNotice",
    "MailingAddress",
    "OtherCustodian",
    "OutcomeLetter",
    "ReviewDecision",
    "accounting_of_disclosures_pdf",
    "acknowledgement_pdf",
    "blank_consent_form_pdf",
    "consent_form_pdf",
    "could_not_verify_pdf",
    "cover_letter_pdf",
    "denial_letter_pdf",
    "extension_notice_pdf",
    "mail_in_request_form_pdf",
    "outcome_letter_pdf",
    "review_decision_pdf",
]

#: The Woolsey Fire destroyed the treatment facility and the paper records kept there.
FACILITY_FIRE_DATE = date(2018, 11, 10)

#: R-DEN-4: the outcomes that are not denials, each with a letter of its own.
OUTCOME_KINDS: tuple[str, ...] = outcomes.NOT_AVAILABLE


class DocumentRefused(ValueError):
    """The values would produce an unlawful or incomplete document; nothing was rendered."""


def _require_text(name: str, value: str | None) -> None:
    if value is None or not str(value).strip():
        raise DocumentRefused(f"{name} is blank; a document cannot be produced with a blank.")


@dataclass(frozen=True, kw_only=True)
class MailingAddress:
    """A name and postal lines, printed where the envelope window shows them."""

    name: str
    lines: tuple[str, ...]

    def __post_init__(self) -> None:
        _require_text("The addressee's name", self.name)
        if not any(line.strip() for line in self.lines):
            raise DocumentRefused("The mailing address has no lines.")


@dataclass(frozen=True, kw_only=True)
class Letter:
    """What every letter carries: its request reference, its date and its addressee."""

    reference: str
    generated_on: date
    to: MailingAddress

    def __post_init__(self) -> None:
        _require_text("The request reference", self.reference)


# ---------------------------------------------------------------- acknowledgement (R-DL-1)


@dataclass(frozen=True, kw_only=True)
class Acknowledgement(Letter):
    """Receipt of a request: what was asked, when it arrived, both due dates (R-DL-1)."""

    received_on: date
    requested: tuple[str, ...]
    delivery: str
    #: None for an accounting request: only the federal clock runs (R-DL-4).
    california_due_on: date | None
    hipaa_due_on: date
    about_name: str | None = None


def acknowledgement_pdf(letter: Acknowledgement, letterhead: Letterhead) -> bytes:
    """Acknowledge a request; says "your request" and never confirms anyone was a patient."""
    return _letter_pdf(
        "acknowledgement.html",
        letter,
        letterhead,
        title=f"We received your request {letter.reference}",
        subject="Acknowledgement of a records request, with its due dates and next steps",
    )


# ---------------------------------------------------------------- consent (R-REL-2)


@dataclass(frozen=True, kw_only=True)
class ConsentForm:
    """A consent to release to someone other than the patient, pre-filled from a request."""

    generated_on: date
    patient_name: str
    patient_date_of_birth: date | None
    information: str
    recipients: tuple[MailingAddress, ...]
    purpose: str
    expires_on: date
    reference: str | None = None
    patient_other_names: tuple[str, ...] = ()
    signed_by: str | None = None
    signed_on: date | None = None
    signer_authority: str | None = None
    #: R-REL-2: the kind of recipient chosen (portal.rules.consent), and what the signed form
    #: stated: a copy shows exactly what was signed, so a consent taken before a statement
    #: existed is never printed with it.
    recipient_kind: str | None = None
    use_limits_stated: bool = True
    redisclosure_statement_included: bool = False
    #: A copy inside a released packet, whose strip numbers every page: no counter of its own.
    in_packet: bool = False

    def __post_init__(self) -> None:
        _require_text("The patient's name", self.patient_name)
        if self.recipient_kind is not None and self.recipient_kind not in RECIPIENT_KIND_LABELS:
            raise DocumentRefused(f"Unknown kind of recipient {self.recipient_kind!r}.")
        if self.redisclosure_statement_included and not self.use_limits_stated:
            raise DocumentRefused("The redisclosure statement is the exception to the limits on "
                                  "use; a consent cannot carry it without them.")
        _require_text("The description of the information", self.information)
        _require_text("The purpose", self.purpose)
        if not self.recipients:
            raise DocumentRefused("A consent must name at least one recipient (2.31(a)(4)).")
        if (self.signed_by is None) != (self.signed_on is None):
            raise DocumentRefused("A signed consent needs both the signer and the date signed.")


    @property
    def recipient_kind_label(self) -> str | None:
        return RECIPIENT_KIND_LABELS.get(self.recipient_kind) if self.recipient_kind else None


def consent_form_pdf(consent: ConsentForm, letterhead: Letterhead) -> bytes:
    """The consent to release, every 2.31(a)/164.508(c)/56.11 element, in 14-point type."""
    return render_pdf(
        "consent_form.html",
        {"consent": consent, "generated_on": consent.generated_on, "reference": consent.reference},
        title="Consent to release records",
        subject="Written consent to disclose records to a named recipient",
        letterhead=letterhead,
    )


def blank_consent_form_pdf(letterhead: Letterhead, *, generated_on: date) -> bytes:
    """A blank, printable consent for the mail-in path."""
    return render_pdf(
        "consent_form.html",
        {"consent": None, "generated_on": generated_on, "reference": None},
        title="Consent to release records (blank form)",
        subject="Blank written consent to disclose records, to complete by hand",
        letterhead=letterhead,
    )


def mail_in_request_form_pdf(letterhead: Letterhead, *, generated_on: date) -> bytes:
    """A blank request form for people who will not use the web, with a blank consent (R-ID-1)."""
    return render_pdf(
        "mail_in_request_form.html",
        {"consent": None, "generated_on": generated_on, "reference": None},
        title="Records request form (mail-in)",
        subject="Paper form to request records by mail, with a blank consent to release",
        letterhead=letterhead,
    )


# ---------------------------------------------------------------- cover letter (R-REL-5)


@dataclass(frozen=True, kw_only=True)
class ConsentSummary:
    """The scope of one consent a third-party release relies on (42 CFR 2.32(b)).

    `title` says which consent it is (the consent to release, or the separate consent for
    therapy and counseling notes, R-REL-4).
    """

    title: str
    signed_by: str
    signed_on: date
    recipient: str
    information: str
    purpose: str
    expires_on: date


@dataclass(frozen=True, kw_only=True)
class CoverLetter(Letter):
    """The first pages of a release: what is enclosed, and the long 42 CFR 2.32 statement."""

    patient_name: str
    released: tuple[str, ...]
    #: R-REL-5: every consent the released parts rest on, the notes consent included.
    third_party_consents: tuple[ConsentSummary, ...] = ()
    consent_copy_enclosed: bool = False
    other_parts_answered_separately: bool = False

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.released:
            raise DocumentRefused("A cover letter must list what is released.")


def cover_letter_pdf(letter: CoverLetter, letterhead: Letterhead) -> bytes:
    """Cover letter with the long 2.32 statement and, for a third party, the consent scope."""
    return _letter_pdf(
        "cover_letter.html",
        letter,
        letterhead,
        title=f"Records released under request {letter.reference}",
        subject="Cover letter for released records, with the 42 CFR 2.32 notice",
    )


# ---------------------------------------------------------------- extension (R-DL-2)


@dataclass(frozen=True, kw_only=True)
class ExtensionNotice(Letter):
    """HIPAA's one extension: reasons and a new date, sent before the HIPAA due date.

    `kind` is the kind of request, which decides the rule cited (164.524(b)(2)(ii) for copies,
    164.528(c)(1)(ii) for an accounting, R-DL-4). `california_due_on` is None where California
    sets no date (an accounting): the notice then says nothing about California.
    """

    received_on: date
    california_due_on: date | None
    hipaa_due_on: date
    new_due_on: date
    reasons: tuple[str, ...]
    kind: str = "copies"

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in EXTENSION_CITATIONS:
            raise DocumentRefused(f"No extension is defined for a request of kind {self.kind!r}.")
        # R-DL-2: written, with reasons, within the first period, at most 30 days more.
        if not any(reason.strip() for reason in self.reasons):
            raise DocumentRefused("An extension notice must give the reasons for the delay.")
        # The window is the deadline rule's (R-DL-2), the same one the clerk's action asks.
        problems = extension_window_problems(self.hipaa_due_on, self.new_due_on,
                                             self.generated_on)
        if problems:
            raise DocumentRefused(" ".join(problems))


    @property
    def citation(self) -> str:
        return EXTENSION_CITATIONS[self.kind]


def extension_notice_pdf(letter: ExtensionNotice, letterhead: Letterhead) -> bytes:
    """Written notice of the one HIPAA extension, with reasons and the new date (R-DL-2)."""
    return _letter_pdf(
        "extension_notice.html",
        letter,
        letterhead,
        title=f"More time needed for request {letter.reference}",
        subject="Notice of extension of time to respond, with reasons and the new date",
    )


# ---------------------------------------------------------------- denial and review (R-DEN-*)


@dataclass(frozen=True, kw_only=True)
class DeniedPart:
    """One part of a request that is denied, and the ground code it is denied on."""

    description: str
    ground: str

    def __post_init__(self) -> None:
        if self.ground not in DENIAL_GROUNDS:
            raise DocumentRefused(f"Unknown denial ground {self.ground!r}.")

    @property
    def basis(self) -> DenialGround:
        return DENIAL_GROUNDS[self.ground]


def _grounds(parts: Sequence[DeniedPart]) -> list[DenialGround]:
    """The distinct grounds used, in the order they first appear."""
    return list(dict.fromkeys(part.basis for part in parts))


@dataclass(frozen=True, kw_only=True)
class DenialLetter(Letter):
    """A full or partial denial: the basis, review rights, complaint routes (R-DEN-2)."""

    denied: tuple[DeniedPart, ...]
    released: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.denied:
            raise DocumentRefused("A denial letter must list what is denied.")

    @property
    def partial(self) -> bool:
        return bool(self.released)

    @property
    def grounds(self) -> list[DenialGround]:
        return _grounds(self.denied)


def denial_letter_pdf(letter: DenialLetter, letterhead: Letterhead) -> bytes:
    """Denial letter per 164.524(d)(2); a partial denial says everything else is released."""
    kind = "Partial denial" if letter.partial else "Denial"
    return _letter_pdf(
        "denial_letter.html",
        letter,
        letterhead,
        title=f"{kind} of access, request {letter.reference}",
        subject="Decision on a request for access, with the reasons and your rights",
    )


@dataclass(frozen=True, kw_only=True)
class ReviewDecision(Letter):
    """The outcome of a review by a licensed professional not involved in the denial (R-DEN-3)."""

    reviewed_on: date
    upheld: tuple[DeniedPart, ...] = ()
    reversed: tuple[str, ...] = ()
    release_by: date | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.upheld and not self.reversed:
            raise DocumentRefused("A review decision must say what was upheld or reversed.")
        if self.reversed and self.release_by is None:
            raise DocumentRefused("A reversed denial needs the date the records will be sent.")
        if any(not part.basis.reviewable for part in self.upheld):
            raise DocumentRefused("Only grounds under 164.524(a)(3) are reviewable.")

    @property
    def grounds(self) -> list[DenialGround]:
        return _grounds(self.upheld)


def review_decision_pdf(letter: ReviewDecision, letterhead: Letterhead) -> bytes:
    """The reviewer's decision on a denial, and what happens now."""
    return _letter_pdf(
        "review_decision.html",
        letter,
        letterhead,
        title=f"Review of the decision on request {letter.reference}",
        subject="Result of the review of a denial of access",
    )


# ---------------------------------------------------------------- could not verify (R-ID-2)


@dataclass(frozen=True, kw_only=True)
class CouldNotVerify(Letter):
    """Neutral letter: identity not verified; says nothing about records (R-ID-2, R-ID-5)."""

    reason: str | None = None
    mail_in_form_enclosed: bool = False


def could_not_verify_pdf(letter: CouldNotVerify, letterhead: Letterhead) -> bytes:
    """Tell a requester we could not verify them, and every way to try again, mail included."""
    return _letter_pdf(
        "could_not_verify.html",
        letter,
        letterhead,
        title=f"We could not verify your identity for request {letter.reference}",
        subject="Identity could not be verified; other ways to verify",
    )


# ---------------------------------------------------------------- outcomes (R-DEN-4)


@dataclass(frozen=True, kw_only=True)
class OtherCustodian:
    """Someone else known to hold the records (164.524(d)(3))."""

    name: str
    address_lines: tuple[str, ...] = ()
    phone: str | None = None


@dataclass(frozen=True, kw_only=True)
class OutcomeLetter(Letter):
    """No records found, or records destroyed: outcomes, not denials (R-DEN-4)."""

    kind: str
    parts: tuple[str, ...]
    destroyed_on: date | None = None
    other_custodian: OtherCustodian | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.kind not in OUTCOME_KINDS:
            raise DocumentRefused(f"Unknown outcome {self.kind!r}.")
        if not self.parts:
            raise DocumentRefused("An outcome letter must say which parts it covers.")


def outcome_letter_pdf(letter: OutcomeLetter, letterhead: Letterhead) -> bytes:
    """No-records, destroyed-in-the-fire or destroyed-under-retention letter."""
    return _letter_pdf(
        "outcome_letter.html",
        letter,
        letterhead,
        title=f"{outcomes.NOT_AVAILABLE_TITLES[letter.kind]}: request {letter.reference}",
        subject="Outcome of a records request where no copy can be provided",
    )


# ---------------------------------------------------------------- accounting (R-AUD-1)


@dataclass(frozen=True, kw_only=True)
class DisclosureEntry:
    """One disclosure as 164.528(b)(2) lists it."""

    disclosed_on: date
    recipient_name: str
    recipient_address: tuple[str, ...]
    description: str
    purpose: str


@dataclass(frozen=True, kw_only=True)
class AccountingOfDisclosures(Letter):
    """Every disclosure of one patient's records to others in a period (R-AUD-1)."""

    patient_name: str
    period_start: date
    period_end: date
    disclosures: tuple[DisclosureEntry, ...] = field(default_factory=tuple)


def accounting_of_disclosures_pdf(letter: AccountingOfDisclosures, letterhead: Letterhead) -> bytes:
    """The accounting of disclosures for one patient, for the auditor issue to serve."""
    return _letter_pdf(
        "accounting_of_disclosures.html",
        letter,
        letterhead,
        title=f"Accounting of disclosures, request {letter.reference}",
        subject="List of disclosures of records to persons other than the patient",
    )


def _letter_pdf(
    template: str, letter: Letter, letterhead: Letterhead, *, title: str, subject: str
) -> bytes:
    return render_pdf(
        template,
        {"letter": letter, "reference": letter.reference, "generated_on": letter.generated_on},
        title=title,
        subject=subject,
        letterhead=letterhead,
    )
