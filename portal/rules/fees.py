"""The fee schedule and fee estimates for copies of records (R-FEE-1 to R-FEE-5).

All amounts are integer cents. The default schedule charges nothing (R-FEE-3).

R-FEE-1: a patient's own copy may cost only copying labour, supplies and postage. The schedule
has no field for search, retrieval, identity verification or system costs, so no setting can
charge for them.

R-FEE-3, for the release step: show the requester this estimate before fulfilling, and never
withhold or delay records because a bill is unpaid (H&S 123110(g); OCR guidance). Nothing in
this module can block a release.
"""

from dataclasses import dataclass, field, fields

from portal.rules import N_

ELECTRONIC_FLAT_FEE_CAP_CENTS = 650  # R-FEE-2: HHS FAQ 2029, flat fee option for electronic copies

RECIPIENTS = ("patient", "third_party")
DELIVERIES = ("download", "mail")

# Ordered as the request wizard asks them; codes are stored, labels are shown.
PURPOSES = (
    ("continuing_care", N_("Care from a new doctor or other health care provider")),
    ("public_benefit_appeal", N_("An appeal about a public benefit, such as disability")),
    ("legal", N_("A legal matter")),
    ("insurance", N_("Insurance")),
    ("personal", N_("To keep for myself")),
    ("other", N_("Something else")),
)
PURPOSE_CODES = tuple(code for code, _label in PURPOSES)

PUBLIC_BENEFIT_WAIVER = (
    "No charge: copies to support an appeal about a public benefit, such as disability, are "
    "free (California Health and Safety Code 123110(d))."
)


@dataclass(frozen=True)
class CopyRates:
    """What one kind of request is charged for copies, in cents; zero means free."""

    electronic_flat_cents: int = 0
    electronic_per_page_cents: int = 0
    paper_per_page_cents: int = 0
    postage_cents: int = 0


@dataclass(frozen=True)
class FeeSchedule:
    """Rates for the patient's own copy and for copies sent to a third party.

    Requests directed to a third party are not bound by the patient limits (R-FEE-4, Ciox v.
    Azar), so they have their own rates, also free by default. `paper_per_page_cap_cents` is the
    California per-page limit for a patient's paper copies (R-FEE-2: 123110, older text,
    unverified), kept as a setting until someone checks the current statute.
    """

    patient: CopyRates = field(default_factory=CopyRates)
    third_party: CopyRates = field(default_factory=CopyRates)
    paper_per_page_cap_cents: int = 25


@dataclass(frozen=True)
class FeeLine:
    """One charge in an estimate, labelled for the requester."""

    label: str
    amount_cents: int


@dataclass(frozen=True)
class FeeEstimate:
    """The fee to tell the requester before fulfilling (R-FEE-3).

    `amount_cents` is the total of `lines`. `pages_pending` is true when a per-page charge
    applies but the pages are not counted yet: its line then shows the rate, not an amount.
    """

    amount_cents: int
    lines: tuple[FeeLine, ...] = ()
    waived: bool = False
    waiver_reason: str | None = None
    pages_pending: bool = False


def format_cents(cents: int) -> str:
    """An amount of cents as dollars for people: 650 -> '$6.50'."""
    return f"${cents // 100:,}.{cents % 100:02d}"


def validate_schedule(schedule: FeeSchedule) -> list[str]:
    """Plain-language reasons a fee schedule breaks the fee rules; an empty list means valid."""
    problems = []
    for who, rates in (("patient", schedule.patient), ("third_party", schedule.third_party)):
        for rate in fields(rates):
            if getattr(rates, rate.name) < 0:
                problems.append(f"Fees cannot be negative ({who} {rate.name}).")
    if schedule.paper_per_page_cap_cents < 0:
        problems.append("The paper per-page limit cannot be negative.")
    patient = schedule.patient
    if patient.electronic_per_page_cents > 0:  # R-FEE-2
        problems.append(
            "Patients cannot be charged per page for an electronic copy. Use a flat fee of at "
            f"most {format_cents(ELECTRONIC_FLAT_FEE_CAP_CENTS)} instead."
        )
    if patient.electronic_flat_cents > ELECTRONIC_FLAT_FEE_CAP_CENTS:  # R-FEE-2
        problems.append(
            f"The flat fee for a patient's electronic copy is "
            f"{format_cents(patient.electronic_flat_cents)}; it can be at most "
            f"{format_cents(ELECTRONIC_FLAT_FEE_CAP_CENTS)}."
        )
    if patient.paper_per_page_cents > schedule.paper_per_page_cap_cents:  # R-FEE-2
        problems.append(
            f"The paper copy fee for patients is {format_cents(patient.paper_per_page_cents)} "
            f"a page; it can be at most {format_cents(schedule.paper_per_page_cap_cents)} a page."
        )
    return problems


def estimate_fee(
    schedule: FeeSchedule,
    *,
    recipient: str,
    delivery: str,
    pages: int | None = None,
    purpose: str | None = None,
) -> FeeEstimate:
    """The estimated fee for one request.

    `recipient` is 'patient' (the patient's own copy) or 'third_party' (directed elsewhere);
    `delivery` is 'download' (electronic) or 'mail' (paper); `pages` may be None before the
    records are counted; `purpose` is a code from PURPOSES, or None if not asked yet.
    Raises ValueError for an unknown value or a schedule that `validate_schedule` refuses.
    """
    if recipient not in RECIPIENTS:
        raise ValueError(f"Unknown recipient {recipient!r}; expected one of {RECIPIENTS}.")
    if delivery not in DELIVERIES:
        raise ValueError(f"Unknown delivery {delivery!r}; expected one of {DELIVERIES}.")
    if purpose is not None and purpose not in PURPOSE_CODES:
        raise ValueError(f"Unknown purpose {purpose!r}; expected one of {PURPOSE_CODES}.")
    if pages is not None and pages < 0:
        raise ValueError("The number of pages cannot be negative.")
    problems = validate_schedule(schedule)
    if problems:
        raise ValueError("Invalid fee schedule: " + " ".join(problems))

    if purpose == "public_benefit_appeal":  # R-FEE-5
        return FeeEstimate(amount_cents=0, waived=True, waiver_reason=PUBLIC_BENEFIT_WAIVER)

    rates = schedule.patient if recipient == "patient" else schedule.third_party
    lines = []
    if delivery == "download":
        if rates.electronic_flat_cents:
            lines.append(FeeLine("Electronic copy (flat fee)", rates.electronic_flat_cents))
        kind, per_page = "Electronic copy", rates.electronic_per_page_cents
    else:
        kind, per_page = "Paper copies", rates.paper_per_page_cents
    pages_pending = per_page > 0 and pages is None
    if pages_pending:
        label = f"{kind}: {format_cents(per_page)} a page (the pages are not counted yet)"
        lines.append(FeeLine(label, 0))
    elif per_page > 0 and pages:
        page_word = "page" if pages == 1 else "pages"
        label = f"{kind}: {pages} {page_word} at {format_cents(per_page)} a page"
        lines.append(FeeLine(label, pages * per_page))
    if delivery == "mail" and rates.postage_cents:
        lines.append(FeeLine("Postage", rates.postage_cents))
    return FeeEstimate(
        amount_cents=sum(line.amount_cents for line in lines),
        lines=tuple(lines),
        pages_pending=pages_pending,
    )
