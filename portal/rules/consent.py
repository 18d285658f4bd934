"""Whether a written consent allows a release to someone other than the patient.

R-REL-2: the elements of 42 CFR 2.31(a), the statements HIPAA 164.508(c) requires and an end
date that California Civil Code 56.11 requires, with the recipient's limits on use (56.11(g))
and, for a doctor, clinic or health plan, the redisclosure statement of 42 CFR 2.31(a)(4)(iii).
R-REL-3: an expired, incomplete, revoked or known-false consent is invalid and nothing may be
released on it. R-REL-4: therapy and SUD counseling notes need a consent of their own.
R-REL-6: a revocation binds from its receipt, but not what was already released.

Printing rules of 56.11 (14-point type, a form used only for this) belong to the consent form
template; `statements_acknowledged` records that the signer was shown and confirmed the printed
statements (right to revoke and how, the reliance exception, that care does not depend on
signing, that shared records may lose their protection, the right to a copy).
"""

import calendar
from dataclasses import dataclass
from datetime import date, datetime

from portal.rules import N_
from portal.rules.deadlines import as_utc, format_date, pacific_date

STATEMENTS_MISSING = (
    "The signer has not confirmed reading the required statements: the right to cancel the "
    "consent in writing and how, that care does not depend on signing, that shared records may "
    "lose their protection, and the right to a copy."
)


#: R-REL-2: who receives the records, in the patient's plain words (never "covered entity").
RECIPIENT_KINDS: tuple[tuple[str, str], ...] = (
    ("doctor", N_("My doctor or clinic")),
    ("health_plan", N_("My health plan, for payment")),
    ("lawyer", N_("A lawyer")),
    ("insurer", N_("A life or disability insurer")),
    ("other", N_("Someone else")),
    ("unsure", N_("I am not sure")),
)
RECIPIENT_KIND_LABELS = dict(RECIPIENT_KINDS)
#: The kinds a clerk may settle an unsure answer to.
SETTLED_RECIPIENT_KINDS = tuple(code for code, _label in RECIPIENT_KINDS if code != "unsure")
#: R-REL-2, 42 CFR 2.31(a)(4)(iii): a covered entity receiving for treatment, payment or
#: health care operations: a doctor or clinic (treatment) or a health plan (payment).
TPO_RECIPIENT_KINDS = frozenset({"doctor", "health_plan"})


def needs_redisclosure_statement(recipient_kind: str | None) -> bool:
    """Whether a consent to this kind of recipient must carry the 2.31(a)(4)(iii) statement."""
    return recipient_kind in TPO_RECIPIENT_KINDS


def recipient_kind_settled(recipient_kind: str | None) -> bool:
    """Whether the kind of recipient is known; "not sure" goes to a clerk before release."""
    return recipient_kind in SETTLED_RECIPIENT_KINDS


def consent_scopes_relied_on(*, other_parts: bool, notes_parts: bool) -> tuple[str, ...]:
    """The consents a release rests on (R-REL-4, R-REL-5): every one travels with the packet.

    `other_parts` is true when anything but therapy or counseling notes is released,
    `notes_parts` when notes are; notes rest on their own separate consent.
    """
    return (("general",) if other_parts else ()) + (("notes",) if notes_parts else ())


@dataclass(frozen=True)
class ConsentTerms:
    """What a signed consent says, as plain values.

    `includes_notes` is true when the consent covers psychotherapy or SUD counseling notes;
    `revoked_at` is when the program received a written revocation; `known_false` is set when
    staff know something material in it is false. `recipient_kind` is the kind of recipient
    as settled (the signer's choice, or a clerk's decision when the signer was not sure);
    `use_limits_stated` and `redisclosure_statement_included` record what the signed form said.
    """

    patient_name: str
    disclosing_program: str
    information_description: str
    recipient_name: str
    recipient_organisation: str
    recipient_address: str
    purpose: str
    expires_on: date | None
    signature_name: str
    signed_at: datetime | None
    includes_notes: bool = False
    revoked_at: datetime | None = None
    known_false: bool = False
    statements_acknowledged: bool = False
    recipient_kind: str | None = None
    use_limits_stated: bool = False
    redisclosure_statement_included: bool = False


USE_LIMITS_MISSING = (
    "The consent does not state what the recipient may use the records for and that they may "
    "not use or disclose them for anything else (California Civil Code 56.11(g)). Ask for a new "
    "consent."
)
RECIPIENT_KIND_UNSETTLED = (
    "Nobody has settled what kind of recipient this is. Record whether they are the patient's "
    "doctor or clinic, a health plan receiving for payment, or someone else: a doctor, clinic or "
    "health plan needs the statement of 42 CFR 2.31(a)(4)(iii) in the consent."
)
REDISCLOSURE_STATEMENT_MISSING = (
    "The recipient is a doctor, clinic or health plan, but the consent does not carry the "
    "statement 42 CFR 2.31(a)(4)(iii) requires for them (that the records may be redisclosed "
    "as the HIPAA regulations permit, except in proceedings against the patient). Ask for a new "
    "consent."
)
REDISCLOSURE_STATEMENT_MISPLACED = (
    "The consent says the records may be redisclosed as the HIPAA regulations permit, a "
    "statement meant only for a doctor, clinic or health plan; this recipient is not one. Ask "
    "for a new consent."
)


def recipient_problems(terms: ConsentTerms) -> list[str]:
    """R-REL-2: the recipient's limits on use (56.11(g)) and the statement their kind needs."""
    problems = []
    if not terms.use_limits_stated:
        problems.append(USE_LIMITS_MISSING)
    if not recipient_kind_settled(terms.recipient_kind):
        problems.append(RECIPIENT_KIND_UNSETTLED)
    elif needs_redisclosure_statement(terms.recipient_kind):
        if not terms.redisclosure_statement_included:
            problems.append(REDISCLOSURE_STATEMENT_MISSING)
    elif terms.redisclosure_statement_included:
        problems.append(REDISCLOSURE_STATEMENT_MISPLACED)
    return problems


def _blank(text: str | None) -> bool:
    return not (text or "").strip()


def _add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def consent_problems(terms: ConsentTerms, today: date, *, max_months: int = 12) -> list[str]:
    """Plain-language reasons the consent is invalid on `today`; an empty list means valid.

    The consent is valid through its whole end date. `max_months` is our policy limit on how
    far after signing the end date may be (one year by default).
    """
    problems = []
    # R-REL-2: the elements of 42 CFR 2.31(a).
    if _blank(terms.patient_name):
        problems.append("The patient's name is missing.")
    if _blank(terms.disclosing_program):
        problems.append("The consent does not name who may share the records (this program).")
    if _blank(terms.information_description):
        problems.append("The consent does not describe which information may be shared.")
    if _blank(terms.recipient_name) and _blank(terms.recipient_organisation):
        problems.append("The consent does not name who will receive the records.")
    if _blank(terms.purpose):
        problems.append("The consent does not say why the records are being shared.")
    if not terms.statements_acknowledged:
        problems.append(STATEMENTS_MISSING)
    problems.extend(recipient_problems(terms))
    if _blank(terms.signature_name):
        problems.append("The consent is not signed.")
    signed_on = None if terms.signed_at is None else pacific_date(terms.signed_at)
    if signed_on is None:
        problems.append("The date the consent was signed is missing.")
    elif signed_on > today:
        problems.append(f"The signing date, {format_date(signed_on)}, is later than today.")

    if terms.expires_on is None:
        # R-REL-2: Civ. Code 56.11 needs a date; an event alone is not enough.
        problems.append(
            "The consent has no end date. It must give a specific date; an event alone is not "
            "enough (California Civil Code 56.11)."
        )
    else:
        problems.extend(_expiry_problems(terms.expires_on, signed_on, today, max_months))

    # R-REL-3: revoked or known to be false.
    if terms.revoked_at is not None:
        revoked_on = format_date(pacific_date(terms.revoked_at))
        problems.append(f"The patient cancelled (revoked) this consent on {revoked_on}.")
    if terms.known_false:
        problems.append("We know that information in the consent is false.")
    return problems


def _expiry_problems(
    expires_on: date, signed_on: date | None, today: date, max_months: int
) -> list[str]:
    problems = []
    if expires_on < today:
        problems.append(f"The consent expired on {format_date(expires_on)}.")
    if signed_on is not None:
        latest = _add_months(signed_on, max_months)
        if expires_on < signed_on:
            problems.append(
                f"The end date, {format_date(expires_on)}, is before the date it was signed, "
                f"{format_date(signed_on)}."
            )
        elif expires_on > latest:
            problems.append(
                f"The end date, {format_date(expires_on)}, is more than {max_months} months "
                f"after signing. The latest end date we accept is {format_date(latest)}."
            )
    return problems


def notes_release_problems(
    general: ConsentTerms | None, notes: ConsentTerms | None, today: date, *, max_months: int = 12
) -> list[str]:
    """Reasons therapy or SUD counseling notes cannot go to a third party (R-REL-4).

    Notes need their own valid consent, separate from the consent for the rest of the record
    (42 CFR 2.31(b), 164.508(a)(2)); a form that combines notes with other records is defective
    (164.508(b)(3)(ii)). `general` is the consent for the rest of the record, if any. Check
    `general` itself with `consent_problems`; this function only judges the notes.
    """
    if notes is None:
        return ["Therapy or counseling notes need their own separate consent; none is on file."]
    problems = []
    if notes is general:
        problems.append(
            "Therapy or counseling notes need a consent of their own, separate from the consent "
            "for the rest of the record."
        )
    elif general is not None and general.includes_notes:
        problems.append(
            "The consent for the rest of the record also covers therapy or counseling notes. "
            "Notes need a consent form of their own."
        )
    if not notes.includes_notes:
        problems.append(
            "The consent given for the notes does not cover therapy or counseling notes."
        )
    problems.extend(
        f"Notes consent: {problem}"
        for problem in consent_problems(notes, today, max_months=max_months)
    )
    return problems


def revocation_applies(revoked_at: datetime | None, released_at: datetime | None) -> bool:
    """Whether a revocation stops a release (R-REL-6).

    A revocation binds from the moment it is received: it stops every release not yet made
    (`released_at` None) or made at or after that moment. A release made before it stands.
    """
    if revoked_at is None:
        return False
    if released_at is None:
        return True
    return as_utc(released_at) >= as_utc(revoked_at)
