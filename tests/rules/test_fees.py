"""The fee schedule, read as the rules R-FEE-1 to R-FEE-5 of shared/domain.md."""

from dataclasses import fields

import pytest

from portal.rules.fees import (
    PURPOSES,
    CopyRates,
    FeeEstimate,
    FeeLine,
    FeeSchedule,
    estimate_fee,
    format_cents,
    validate_schedule,
)

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once


def patient_rates(**rates):
    return FeeSchedule(patient=CopyRates(**rates))


# R-FEE-3: the default schedule is free.


@pytest.mark.parametrize("delivery", ["download", "mail"])
def test_patient_own_copy_is_free_by_default_r_fee_3(delivery):
    estimate = estimate_fee(FeeSchedule(), recipient="patient", delivery=delivery, pages=400)
    assert estimate == FeeEstimate(amount_cents=0)


@pytest.mark.parametrize("delivery", ["download", "mail"])
def test_third_party_copy_is_free_by_default_r_fee_3(delivery):
    estimate = estimate_fee(FeeSchedule(), recipient="third_party", delivery=delivery, pages=400)
    assert estimate.amount_cents == 0


def test_default_schedule_is_valid_r_fee_3():
    assert validate_schedule(FeeSchedule()) == []


# R-FEE-1: nothing for search, retrieval, verification or systems.


def test_schedule_has_no_field_for_search_retrieval_verification_or_systems_r_fee_1():
    names = [f.name for cls in (FeeSchedule, CopyRates) for f in fields(cls)]
    forbidden = ("search", "retriev", "verif", "system", "handling", "admin")
    assert [name for name in names if any(word in name for word in forbidden)] == []


def test_schedule_refuses_a_search_fee_setting_r_fee_1():
    with pytest.raises(TypeError):
        CopyRates(search_cents=500)


# R-FEE-2: electronic copies: a flat fee of at most $6.50, never per page.


def test_patient_electronic_flat_fee_is_charged_once_whatever_the_pages_r_fee_2():
    estimate = estimate_fee(
        patient_rates(electronic_flat_cents=650),
        recipient="patient",
        delivery="download",
        pages=300,
    )
    assert estimate.amount_cents == 650
    assert estimate.lines == (FeeLine("Electronic copy (flat fee)", 650),)


def test_patient_electronic_flat_fee_of_650_is_allowed_r_fee_2():
    assert validate_schedule(patient_rates(electronic_flat_cents=650)) == []


def test_patient_electronic_flat_fee_above_650_is_refused_r_fee_2():
    assert validate_schedule(patient_rates(electronic_flat_cents=651)) == [
        "The flat fee for a patient's electronic copy is $6.51; it can be at most $6.50."
    ]


def test_estimate_refuses_a_schedule_above_the_electronic_cap_r_fee_2():
    with pytest.raises(ValueError, match=r"at most \$6\.50"):
        estimate_fee(
            patient_rates(electronic_flat_cents=1000), recipient="patient", delivery="download"
        )


def test_patient_per_page_electronic_fee_is_refused_r_fee_2():
    problems = validate_schedule(patient_rates(electronic_per_page_cents=10))
    assert problems == [
        "Patients cannot be charged per page for an electronic copy. Use a flat fee of at most "
        "$6.50 instead."
    ]


# R-FEE-2: paper copies: at most $0.25 a page (unverified, so configurable) plus postage.


def test_patient_paper_copies_are_charged_per_page_plus_postage_r_fee_2():
    estimate = estimate_fee(
        patient_rates(paper_per_page_cents=25, postage_cents=150),
        recipient="patient",
        delivery="mail",
        pages=40,
    )
    assert estimate.amount_cents == 1150
    assert estimate.lines == (
        FeeLine("Paper copies: 40 pages at $0.25 a page", 1000),
        FeeLine("Postage", 150),
    )


def test_patient_paper_fee_above_25_cents_a_page_is_refused_r_fee_2():
    assert validate_schedule(patient_rates(paper_per_page_cents=30)) == [
        "The paper copy fee for patients is $0.30 a page; it can be at most $0.25 a page."
    ]


def test_paper_per_page_limit_is_configurable_r_fee_2():
    schedule = FeeSchedule(patient=CopyRates(paper_per_page_cents=30), paper_per_page_cap_cents=30)
    assert validate_schedule(schedule) == []


def test_postage_is_not_charged_for_a_download_r_fee_2():
    estimate = estimate_fee(
        patient_rates(postage_cents=150), recipient="patient", delivery="download"
    )
    assert estimate.amount_cents == 0


def test_paper_fee_before_pages_are_counted_shows_the_rate_and_is_pending_r_fee_2():
    estimate = estimate_fee(
        patient_rates(paper_per_page_cents=25, postage_cents=150),
        recipient="patient",
        delivery="mail",
        pages=None,
    )
    assert estimate.pages_pending
    assert estimate.amount_cents == 150
    assert estimate.lines[0] == FeeLine(
        "Paper copies: $0.25 a page (the pages are not counted yet)", 0
    )


def test_one_page_is_singular_r_fee_2():
    estimate = estimate_fee(
        patient_rates(paper_per_page_cents=25), recipient="patient", delivery="mail", pages=1
    )
    assert estimate.lines == (FeeLine("Paper copies: 1 page at $0.25 a page", 25),)


def test_negative_fee_is_refused_r_fee_2():
    problems = validate_schedule(FeeSchedule(third_party=CopyRates(postage_cents=-1)))
    assert problems == ["Fees cannot be negative (third_party postage_cents)."]


# R-FEE-4: third-party directed requests have their own schedule.


def test_third_party_rates_are_not_bound_by_patient_limits_r_fee_4():
    schedule = FeeSchedule(
        third_party=CopyRates(electronic_flat_cents=2500, electronic_per_page_cents=10)
    )
    assert validate_schedule(schedule) == []


def test_third_party_copy_is_charged_its_own_rates_r_fee_4():
    schedule = FeeSchedule(
        third_party=CopyRates(electronic_flat_cents=2500, electronic_per_page_cents=10)
    )
    estimate = estimate_fee(schedule, recipient="third_party", delivery="download", pages=100)
    assert estimate.amount_cents == 3500
    assert estimate.lines == (
        FeeLine("Electronic copy (flat fee)", 2500),
        FeeLine("Electronic copy: 100 pages at $0.10 a page", 1000),
    )


def test_third_party_rates_do_not_apply_to_the_patients_own_copy_r_fee_4():
    schedule = FeeSchedule(third_party=CopyRates(electronic_flat_cents=2500))
    assert estimate_fee(schedule, recipient="patient", delivery="download").amount_cents == 0


# R-FEE-5: copies for a public benefit appeal are free.


def test_fee_waived_for_public_benefit_appeal_r_fee_5():
    schedule = patient_rates(paper_per_page_cents=25, postage_cents=150)
    estimate = estimate_fee(
        schedule, recipient="patient", delivery="mail", pages=40, purpose="public_benefit_appeal"
    )
    assert estimate.amount_cents == 0
    assert estimate.lines == ()
    assert estimate.waived
    assert "123110(d)" in estimate.waiver_reason


def test_fee_waived_for_public_benefit_appeal_sent_to_a_third_party_r_fee_5():
    schedule = FeeSchedule(third_party=CopyRates(electronic_flat_cents=2500))
    estimate = estimate_fee(
        schedule, recipient="third_party", delivery="download", purpose="public_benefit_appeal"
    )
    assert (estimate.amount_cents, estimate.waived) == (0, True)


def test_other_purposes_are_not_waived_r_fee_5():
    estimate = estimate_fee(
        patient_rates(electronic_flat_cents=650),
        recipient="patient",
        delivery="download",
        purpose="legal",
    )
    assert (estimate.amount_cents, estimate.waived, estimate.waiver_reason) == (650, False, None)


def test_purposes_are_offered_in_order_with_plain_labels_r_fee_5():
    assert [code for code, _label in PURPOSES] == [
        "continuing_care",
        "public_benefit_appeal",
        "legal",
        "insurance",
        "personal",
        "other",
    ]
    assert dict(PURPOSES)["public_benefit_appeal"] == (
        "An appeal about a public benefit, such as disability"
    )


# Inputs the estimate refuses.


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"recipient": "lawyer", "delivery": "mail"}, "Unknown recipient"),
        ({"recipient": "patient", "delivery": "fax"}, "Unknown delivery"),
        ({"recipient": "patient", "delivery": "mail", "purpose": "curiosity"}, "Unknown purpose"),
        ({"recipient": "patient", "delivery": "mail", "pages": -1}, "cannot be negative"),
    ],
)
def test_estimate_refuses_unknown_or_impossible_values(arguments, message):
    with pytest.raises(ValueError, match=message):
        estimate_fee(FeeSchedule(), **arguments)


def test_amounts_are_shown_in_dollars():
    shown = [format_cents(cents) for cents in (0, 5, 650, 123456)]
    assert shown == ["$0.00", "$0.05", "$6.50", "$1,234.56"]
