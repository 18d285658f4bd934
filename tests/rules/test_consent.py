"""Consent validity, read as R-REL-2, R-REL-3, R-REL-4 and R-REL-6 of shared/domain.md."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from portal.rules.consent import (
    RECIPIENT_KIND_UNSETTLED,
    REDISCLOSURE_STATEMENT_MISPLACED,
    REDISCLOSURE_STATEMENT_MISSING,
    SETTLED_RECIPIENT_KINDS,
    STATEMENTS_MISSING,
    USE_LIMITS_MISSING,
    ConsentTerms,
    consent_problems,
    consent_scopes_relied_on,
    needs_redisclosure_statement,
    notes_release_problems,
    revocation_applies,
)

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once

TODAY = date(2026, 6, 1)


def consent(**changes) -> ConsentTerms:
    """A complete consent signed on March 1, 2026 (Pacific), ending March 1, 2027."""
    terms = ConsentTerms(
        patient_name="Ana Example",
        disclosing_program="The Canyon at Peace Park",
        information_description="Discharge summary and medication list, 2017 admission",
        recipient_name="Dr. Lee Example",
        recipient_organisation="Example Family Clinic",
        recipient_address="1 Example Street, Oxnard, CA 93030",
        purpose="At the request of the patient",
        expires_on=date(2027, 3, 1),
        signature_name="Ana Example",
        signed_at=datetime(2026, 3, 1, 18, 0, tzinfo=UTC),
        statements_acknowledged=True,
        recipient_kind="doctor",
        use_limits_stated=True,
        redisclosure_statement_included=True,
    )
    return replace(terms, **changes)


def notes_consent(**changes) -> ConsentTerms:
    return consent(
        information_description="Counseling notes, 2017 admission", includes_notes=True, **changes
    )


def test_complete_consent_is_valid():
    assert consent_problems(consent(), TODAY) == []


# R-REL-2: every element of 42 CFR 2.31(a) is named when missing.


@pytest.mark.parametrize(
    ("element", "problem"),
    [
        ("patient_name", "The patient's name is missing."),
        (
            "disclosing_program",
            "The consent does not name who may share the records (this program).",
        ),
        (
            "information_description",
            "The consent does not describe which information may be shared.",
        ),
        ("purpose", "The consent does not say why the records are being shared."),
        ("signature_name", "The consent is not signed."),
    ],
)
def test_each_missing_element_is_named_r_rel_2(element, problem):
    assert consent_problems(consent(**{element: ""}), TODAY) == [problem]


def test_consent_without_any_recipient_is_refused_r_rel_2():
    terms = consent(recipient_name="", recipient_organisation="")
    assert consent_problems(terms, TODAY) == [
        "The consent does not name who will receive the records."
    ]


def test_recipient_organisation_alone_is_enough_r_rel_2():
    assert consent_problems(consent(recipient_name=""), TODAY) == []


def test_recipient_address_is_not_a_consent_element_r_rel_2():
    assert consent_problems(consent(recipient_address=""), TODAY) == []


def test_element_of_only_spaces_counts_as_missing_r_rel_2():
    problems = consent_problems(consent(patient_name="   "), TODAY)
    assert problems == ["The patient's name is missing."]


def test_consent_without_signing_date_is_refused_r_rel_2():
    assert consent_problems(consent(signed_at=None), TODAY) == [
        "The date the consent was signed is missing."
    ]


def test_consent_signed_in_the_future_is_refused_r_rel_2():
    terms = consent(signed_at=datetime(2026, 6, 2, 18, 0, tzinfo=UTC))
    assert consent_problems(terms, TODAY) == [
        "The signing date, June 2, 2026, is later than today."
    ]


def test_consent_without_the_required_statements_acknowledged_is_refused_r_rel_2():
    assert consent_problems(consent(statements_acknowledged=False), TODAY) == [STATEMENTS_MISSING]


def test_consent_without_an_end_date_is_refused_even_if_it_names_an_event_r_rel_2():
    terms = consent(expires_on=None, purpose="Until my disability appeal is decided")
    problems = consent_problems(terms, TODAY)
    assert len(problems) == 1
    assert "Civil Code 56.11" in problems[0]


# R-REL-2, Civ. Code 56.11(g) and 42 CFR 2.31(a)(4)(iii): the recipient's limits on use, and the
# redisclosure statement exactly when the recipient is a doctor, clinic or health plan.


def test_consent_without_the_recipients_limits_on_use_is_refused_r_rel_2_56_11_g():
    assert consent_problems(consent(use_limits_stated=False), TODAY) == [USE_LIMITS_MISSING]


@pytest.mark.parametrize("kind", ["doctor", "health_plan"])
def test_doctor_clinic_or_health_plan_needs_the_2_31_a_4_iii_statement_r_rel_2(kind):
    assert needs_redisclosure_statement(kind)
    terms = consent(recipient_kind=kind, redisclosure_statement_included=False)
    assert consent_problems(terms, TODAY) == [REDISCLOSURE_STATEMENT_MISSING]
    assert consent_problems(consent(recipient_kind=kind), TODAY) == []


@pytest.mark.parametrize("kind", ["lawyer", "insurer", "other"])
def test_other_recipients_get_no_2_31_a_4_iii_statement_r_rel_2(kind):
    assert not needs_redisclosure_statement(kind)
    terms = consent(recipient_kind=kind, redisclosure_statement_included=False)
    assert consent_problems(terms, TODAY) == []
    assert consent_problems(consent(recipient_kind=kind), TODAY) == [
        REDISCLOSURE_STATEMENT_MISPLACED
    ]


@pytest.mark.parametrize("kind", ["unsure", None])
def test_unsettled_recipient_kind_stops_the_release_until_a_clerk_settles_it_r_rel_2(kind):
    terms = consent(recipient_kind=kind, redisclosure_statement_included=False)
    assert consent_problems(terms, TODAY) == [RECIPIENT_KIND_UNSETTLED]


def test_a_clerk_may_settle_to_every_kind_but_unsure():
    assert "unsure" not in SETTLED_RECIPIENT_KINDS
    assert set(SETTLED_RECIPIENT_KINDS) == {"doctor", "health_plan", "lawyer", "insurer", "other"}


# R-REL-5, 2.32(b): every consent a released part rests on travels with it.


def test_a_release_of_notes_and_other_parts_rests_on_both_consents_r_rel_5():
    assert consent_scopes_relied_on(other_parts=True, notes_parts=True) == ("general", "notes")


def test_a_release_of_notes_alone_rests_on_the_notes_consent_r_rel_5():
    assert consent_scopes_relied_on(other_parts=False, notes_parts=True) == ("notes",)


def test_a_release_without_notes_rests_on_the_general_consent_r_rel_5():
    assert consent_scopes_relied_on(other_parts=True, notes_parts=False) == ("general",)


# R-REL-3: expired, revoked or known-false consents are invalid.


def test_expired_consent_is_refused_r_rel_3():
    assert consent_problems(consent(), date(2027, 3, 2)) == [
        "The consent expired on March 1, 2027."
    ]


def test_consent_is_valid_through_its_end_date_r_rel_3():
    assert consent_problems(consent(), date(2027, 3, 1)) == []


def test_end_date_before_signing_is_refused_r_rel_3():
    problems = consent_problems(consent(expires_on=date(2026, 2, 1)), TODAY)
    assert (
        "The end date, February 1, 2026, is before the date it was signed, "
        "March 1, 2026."
    ) in problems


def test_end_date_more_than_a_year_after_signing_is_refused_r_rel_3():
    assert consent_problems(consent(expires_on=date(2027, 3, 2)), TODAY) == [
        "The end date, March 2, 2027, is more than 12 months after signing. "
        "The latest end date we accept is March 1, 2027."
    ]


def test_longest_validity_is_configurable_r_rel_3():
    terms = consent(expires_on=date(2028, 3, 1))
    assert consent_problems(terms, TODAY, max_months=24) == []


def test_year_limit_from_a_leap_day_ends_on_28_february_r_rel_3():
    signed_leap_day = datetime(2028, 2, 29, 18, 0, tzinfo=UTC)
    today = date(2028, 3, 1)
    assert (
        consent_problems(consent(signed_at=signed_leap_day, expires_on=date(2029, 2, 28)), today)
        == []
    )
    assert (
        len(
            consent_problems(consent(signed_at=signed_leap_day, expires_on=date(2029, 3, 1)), today)
        )
        == 1
    )


def test_signing_date_is_the_los_angeles_date_r_rel_3():
    # 05:00 UTC on 2 March is the evening of 1 March in Los Angeles.
    terms = consent(signed_at=datetime(2026, 3, 2, 5, 0, tzinfo=UTC), expires_on=date(2026, 3, 1))
    assert consent_problems(terms, date(2026, 3, 1)) == []


def test_revoked_consent_is_refused_r_rel_3():
    terms = consent(revoked_at=datetime(2026, 5, 1, 17, 0, tzinfo=UTC))
    assert consent_problems(terms, TODAY) == [
        "The patient cancelled (revoked) this consent on May 1, 2026."
    ]


def test_consent_known_to_be_false_is_refused_r_rel_3():
    assert consent_problems(consent(known_false=True), TODAY) == [
        "We know that information in the consent is false."
    ]


def test_every_problem_is_reported_at_once_r_rel_3():
    terms = consent(patient_name="", expires_on=None, known_false=True)
    assert len(consent_problems(terms, TODAY)) == 3


# R-REL-4: therapy and counseling notes need their own consent.


def test_notes_to_a_third_party_need_their_own_consent_r_rel_4():
    assert notes_release_problems(consent(), None, TODAY) == [
        "Therapy or counseling notes need their own separate consent; none is on file."
    ]


def test_notes_cannot_be_released_on_the_general_consent_r_rel_4():
    general = consent(includes_notes=True)
    problems = notes_release_problems(general, general, TODAY)
    assert problems == [
        "Therapy or counseling notes need a consent of their own, separate from the consent for "
        "the rest of the record."
    ]


def test_general_consent_that_also_covers_notes_is_refused_for_notes_r_rel_4():
    problems = notes_release_problems(consent(includes_notes=True), notes_consent(), TODAY)
    assert problems == [
        "The consent for the rest of the record also covers therapy or counseling notes. "
        "Notes need a consent form of their own."
    ]


def test_separate_valid_notes_consent_allows_the_notes_r_rel_4():
    assert notes_release_problems(consent(), notes_consent(), TODAY) == []


def test_notes_alone_can_be_released_on_a_notes_consent_r_rel_4():
    assert notes_release_problems(None, notes_consent(), TODAY) == []


def test_notes_consent_must_cover_notes_r_rel_4():
    assert notes_release_problems(consent(), consent(), TODAY) == [
        "The consent given for the notes does not cover therapy or counseling notes."
    ]


def test_expired_notes_consent_is_refused_r_rel_4():
    problems = notes_release_problems(
        consent(expires_on=date(2027, 3, 1)), notes_consent(expires_on=date(2026, 5, 1)), TODAY
    )
    assert problems == ["Notes consent: The consent expired on May 1, 2026."]


# R-REL-6: revocation binds from receipt, not backwards.


REVOKED_AT = datetime(2026, 5, 1, 17, 0, tzinfo=UTC)


def test_release_made_before_the_revocation_was_received_stands_r_rel_6():
    assert not revocation_applies(REVOKED_AT, datetime(2026, 5, 1, 16, 59, tzinfo=UTC))


def test_release_after_the_revocation_was_received_is_stopped_r_rel_6():
    assert revocation_applies(REVOKED_AT, datetime(2026, 5, 1, 17, 1, tzinfo=UTC))


def test_release_at_the_moment_of_receipt_is_stopped_r_rel_6():
    assert revocation_applies(REVOKED_AT, REVOKED_AT)


def test_release_not_yet_made_is_stopped_r_rel_6():
    assert revocation_applies(REVOKED_AT, None)


def test_without_a_revocation_nothing_is_stopped_r_rel_6():
    assert not revocation_applies(None, datetime(2026, 5, 1, 17, 1, tzinfo=UTC))


def test_naive_times_are_compared_as_utc_r_rel_6():
    assert not revocation_applies(REVOKED_AT, datetime(2026, 5, 1, 16, 59))
