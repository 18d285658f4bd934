"""The deadline calendar, read as the rules R-DL-1 to R-DL-5 of shared/domain.md."""

import inspect
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.rules import deadlines
from portal.rules.deadlines import (
    add_working_days,
    california_state_holidays,
    check_extension,
    clock_state,
    compute_clocks,
    days_left,
    format_date,
    receipt_date,
    timeliness,
)

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once


def utc(year, month, day, hour=12, minute=0):
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def copies_received_on(day: date, extended_hipaa_due=None):
    return compute_clocks("copies", day, extended_hipaa_due)


# R-DL-1: receipt is a date in America/Los_Angeles.


def test_receipt_late_at_night_pacific_counts_on_the_pacific_date_not_the_utc_date_r_dl_1():
    # 23:59 in Los Angeles on 14 July is already 15 July in UTC.
    assert receipt_date(utc(2026, 7, 15, 6, 59)) == date(2026, 7, 14)


def test_receipt_just_after_midnight_pacific_counts_on_the_new_day_r_dl_1():
    assert receipt_date(utc(2026, 7, 15, 7, 0)) == date(2026, 7, 15)


def test_late_night_receipt_starts_the_copy_clock_from_the_pacific_date_r_dl_1():
    clocks = compute_clocks("copies", utc(2026, 7, 15, 6, 59))
    assert clocks.california_due == date(2026, 7, 29)


def test_receipt_after_daylight_saving_ends_uses_pacific_standard_time_r_dl_1():
    # November 2, 2026 07:30 UTC is 23:30 on 1 November in PST (UTC-8), not 00:30 on the 2nd.
    assert receipt_date(utc(2026, 11, 2, 7, 30)) == date(2026, 11, 1)


def test_receipt_after_daylight_saving_starts_uses_pacific_daylight_time_r_dl_1():
    # March 9, 2026 07:30 UTC is 00:30 on 9 March in PDT (UTC-7), not 23:30 on the 8th.
    assert receipt_date(utc(2026, 3, 9, 7, 30)) == date(2026, 3, 9)


def test_receipt_in_the_repeated_hour_when_daylight_saving_ends_is_that_day_r_dl_1():
    # 01:30 happens twice on November 1, 2026; both are 1 November.
    assert receipt_date(utc(2026, 11, 1, 8, 30)) == date(2026, 11, 1)
    assert receipt_date(utc(2026, 11, 1, 9, 30)) == date(2026, 11, 1)


def test_naive_receipt_time_is_treated_as_utc_r_dl_1():
    assert receipt_date(datetime(2026, 7, 15, 6, 59)) == date(2026, 7, 14)


def test_receipt_time_in_another_zone_is_converted_to_pacific_r_dl_1():
    eastern = datetime(2026, 7, 15, 1, 30, tzinfo=ZoneInfo("America/New_York"))
    assert receipt_date(eastern) == date(2026, 7, 14)


def test_date_a_clerk_records_for_mail_is_the_receipt_date_r_dl_1():
    assert compute_clocks("copies", date(2026, 11, 23)).received == date(2026, 11, 23)


# R-DL-1: California's clocks.


def test_california_copy_due_is_15_calendar_days_after_receipt_r_dl_1():
    assert copies_received_on(date(2026, 11, 23)).california_due == date(2026, 12, 8)


def test_california_copy_due_is_not_moved_off_a_weekend_r_dl_1():
    # Received November 20, 2026; day 15 is Saturday 5 December and stays there.
    assert copies_received_on(date(2026, 11, 20)).california_due == date(2026, 12, 5)


def test_california_copy_days_are_configurable_r_dl_1():
    clocks = compute_clocks("copies", date(2026, 11, 23), ca_copy_days=10)
    assert clocks.california_due == date(2026, 12, 3)


def test_working_due_date_for_copies_is_californias_r_dl_1():
    clocks = copies_received_on(date(2026, 11, 23))
    assert clocks.working_due == clocks.california_due


def test_inspection_due_is_5_working_days_skipping_a_weekend_r_dl_1():
    # Thursday January 8, 2026: Fri 9, Mon 12, Tue 13, Wed 14, Thu 15.
    assert copies_received_on(date(2026, 1, 8)).california_inspection_due == date(2026, 1, 15)


def test_inspection_due_skips_thanksgiving_and_the_day_after_r_dl_1():
    # Wednesday November 25, 2026: Thu 26 and Fri 27 are state holidays, then Mon 30 to Fri 4.
    assert copies_received_on(date(2026, 11, 25)).california_inspection_due == date(2026, 12, 4)


def test_inspection_received_on_a_saturday_counts_from_monday_r_dl_1():
    assert copies_received_on(date(2026, 1, 10)).california_inspection_due == date(2026, 1, 16)


def test_inspection_skips_new_years_day_across_the_year_end_r_dl_1():
    # Wednesday December 30, 2026: Thu 31, (Fri 1 January), Mon 4, Tue 5, Wed 6, Thu 7.
    assert copies_received_on(date(2026, 12, 30)).california_inspection_due == date(2027, 1, 7)


def test_inspection_holiday_list_can_be_replaced_r_dl_1():
    clocks = compute_clocks("copies", date(2026, 11, 25), holidays=set())
    assert clocks.california_inspection_due == date(2026, 12, 2)


def test_inspection_skips_a_day_added_to_the_holiday_list_r_dl_1():
    closures = california_state_holidays(2026) | {date(2026, 12, 4)}
    clocks = compute_clocks("copies", date(2026, 11, 25), holidays=closures)
    assert clocks.california_inspection_due == date(2026, 12, 7)


def test_add_working_days_counts_from_the_day_after_start_r_dl_1():
    assert add_working_days(date(2026, 1, 12), 1) == date(2026, 1, 13)


# California state holidays (Gov. Code 19853), computed by rule.


def test_state_holidays_2026():
    assert california_state_holidays(2026) == {
        date(2026, 1, 1),  # New Year's Day
        date(2026, 1, 19),  # Martin Luther King Jr. Day, third Monday
        date(2026, 2, 16),  # Presidents' Day, third Monday
        date(2026, 3, 31),  # Cesar Chavez Day
        date(2026, 5, 25),  # Memorial Day, last Monday
        date(2026, 7, 4),  # Independence Day, a Saturday
        date(2026, 9, 7),  # Labor Day, first Monday
        date(2026, 11, 11),  # Veterans Day
        date(2026, 11, 26),  # Thanksgiving
        date(2026, 11, 27),  # Day after Thanksgiving
        date(2026, 12, 25),  # Christmas Day
    }


def test_holiday_on_a_sunday_is_observed_the_following_monday():
    holidays = california_state_holidays(2023)
    assert date(2023, 1, 2) in holidays
    assert date(2023, 1, 1) not in holidays


def test_veterans_day_on_a_saturday_is_observed_the_friday_before():
    assert date(2023, 11, 10) in california_state_holidays(2023)


def test_other_holiday_on_a_saturday_closes_no_weekday():
    # July 4, 2026 is a Saturday: state staff get holiday credit, offices open Friday 3 July.
    assert date(2026, 7, 3) not in california_state_holidays(2026)


def test_memorial_day_is_the_last_monday_when_may_has_five():
    assert date(2027, 5, 31) in california_state_holidays(2027)


def test_thanksgiving_is_the_fourth_thursday_when_november_has_five():
    holidays = california_state_holidays(2029)
    assert {date(2029, 11, 22), date(2029, 11, 23)} <= holidays
    assert date(2029, 11, 29) not in holidays


# R-DL-1 and R-DL-5: HIPAA's clock.


def test_hipaa_due_is_30_days_after_receipt_r_dl_1():
    assert copies_received_on(date(2026, 11, 23)).hipaa_due == date(2026, 12, 23)


def test_there_is_no_15_day_hipaa_clock_r_dl_1():
    clocks = copies_received_on(date(2026, 11, 23))
    assert clocks.hipaa_due - clocks.received == timedelta(days=30)


# R-DL-3: the clock never pauses.


def test_no_deadline_function_can_pause_a_clock_r_dl_3():
    public = [
        obj
        for name, obj in vars(deadlines).items()
        if inspect.isfunction(obj) and not name.startswith("_")
    ]
    parameters = {p for function in public for p in inspect.signature(function).parameters}
    assert not {p for p in parameters if any(w in p for w in ("pause", "hold", "verified"))}


# R-DL-2: one HIPAA extension, noticed in time, at most 30 days.


def test_extension_within_30_days_noticed_before_the_due_date_is_allowed_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    assert check_extension(clocks, date(2027, 1, 10), notice_date=date(2026, 12, 10)) == []


def test_extension_notice_dated_on_the_hipaa_due_date_is_allowed_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    assert check_extension(clocks, date(2027, 1, 10), notice_date=clocks.hipaa_due) == []


def test_extension_after_the_hipaa_due_date_is_refused_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    problems = check_extension(clocks, date(2027, 1, 10), notice_date=date(2026, 12, 24))
    assert problems == [
        "The notice must be sent no later than the HIPAA due date, December 23, 2026. "
        "It is dated December 24, 2026, too late to extend."
    ]


def test_extension_cannot_be_granted_twice_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    problems = check_extension(
        clocks, date(2027, 1, 10), notice_date=date(2026, 12, 10), already_extended=True
    )
    assert problems == [
        "This request has already been extended once. Only one extension is allowed."
    ]


def test_extension_cannot_be_granted_again_on_clocks_that_show_one_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23), extended_hipaa_due=date(2027, 1, 5))
    problems = check_extension(clocks, date(2027, 1, 10), notice_date=date(2026, 12, 10))
    assert any("already been extended" in problem for problem in problems)


def test_extension_beyond_30_days_is_refused_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    problems = check_extension(clocks, date(2027, 1, 23), notice_date=date(2026, 12, 10))
    assert problems == [
        "The new due date can be at most 30 days after the HIPAA due date: no later than "
        "January 22, 2027."
    ]


def test_extension_of_exactly_30_days_is_allowed_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    assert check_extension(clocks, date(2027, 1, 22), notice_date=date(2026, 12, 10)) == []


def test_extension_to_a_date_not_after_the_hipaa_due_date_is_refused_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    problems = check_extension(clocks, clocks.hipaa_due, notice_date=date(2026, 12, 10))
    assert problems == [
        "The new due date must be after the current HIPAA due date, December 23, 2026."
    ]


def test_extension_notice_dated_before_receipt_is_refused_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23))
    problems = check_extension(clocks, date(2027, 1, 10), notice_date=date(2026, 11, 20))
    assert len(problems) == 1
    assert "before the request was received" in problems[0]


def test_extension_moves_only_the_hipaa_date_r_dl_2():
    plain = copies_received_on(date(2026, 11, 23))
    extended = copies_received_on(date(2026, 11, 23), extended_hipaa_due=date(2027, 1, 22))
    assert extended.hipaa_final_due == date(2027, 1, 22)
    assert extended.hipaa_due == plain.hipaa_due
    assert extended.california_due == plain.california_due
    assert extended.working_due == plain.working_due


def test_extended_request_past_15_days_is_still_late_under_california_r_dl_2():
    clocks = copies_received_on(date(2026, 11, 23), extended_hipaa_due=date(2027, 1, 22))
    report = timeliness(clocks, completed_on=date(2027, 1, 15), today=date(2027, 1, 20))
    assert report == {"california": "late", "hipaa": "on_time"}


def test_stored_extension_outside_the_30_day_window_is_rejected_r_dl_2():
    with pytest.raises(ValueError, match="outside the allowed window"):
        copies_received_on(date(2026, 11, 23), extended_hipaa_due=date(2027, 1, 23))


# R-DL-4: accounting of disclosures, 60 days plus one 30-day extension.


def test_accounting_request_is_due_60_days_after_receipt_r_dl_4():
    clocks = compute_clocks("accounting", date(2026, 11, 23))
    assert clocks.hipaa_due == date(2027, 1, 22)
    assert clocks.working_due == date(2027, 1, 22)


def test_accounting_request_has_no_california_clock_r_dl_4():
    clocks = compute_clocks("accounting", date(2026, 11, 23))
    assert clocks.california_due is None
    assert clocks.california_inspection_due is None


def test_accounting_extension_of_30_days_is_allowed_r_dl_4():
    clocks = compute_clocks("accounting", date(2026, 11, 23))
    assert check_extension(clocks, date(2027, 2, 21), notice_date=date(2027, 1, 20)) == []


def test_accounting_extension_beyond_30_days_is_refused_r_dl_4():
    clocks = compute_clocks("accounting", date(2026, 11, 23))
    problems = check_extension(clocks, date(2027, 2, 22), notice_date=date(2027, 1, 20))
    assert len(problems) == 1
    assert "at most 30 days" in problems[0]


def test_extended_accounting_request_works_to_the_extended_date_r_dl_4():
    clocks = compute_clocks("accounting", date(2026, 11, 23), date(2027, 2, 21))
    assert clocks.working_due == date(2027, 2, 21)


def test_accounting_timeliness_has_no_california_verdict_r_dl_4():
    clocks = compute_clocks("accounting", date(2026, 11, 23))
    report = timeliness(clocks, completed_on=date(2027, 1, 22), today=date(2027, 1, 25))
    assert report == {"california": None, "hipaa": "on_time"}


def test_unknown_request_kind_is_refused_r_dl_4():
    with pytest.raises(ValueError, match="Unknown request kind"):
        compute_clocks("inspection", date(2026, 11, 23))


# Where a request stands against a due date.


def test_completed_on_the_due_date_is_on_time():
    assert clock_state(date(2026, 12, 8), date(2026, 12, 20), date(2026, 12, 8)) == "on_time"


def test_completed_the_day_after_the_due_date_is_late():
    assert clock_state(date(2026, 12, 8), date(2026, 12, 20), date(2026, 12, 9)) == "late"


def test_open_request_past_its_due_date_is_overdue():
    assert clock_state(date(2026, 12, 8), date(2026, 12, 9), None) == "overdue"


def test_open_request_on_its_due_date_is_due_soon():
    assert clock_state(date(2026, 12, 8), date(2026, 12, 8), None) == "due_soon"


def test_open_request_due_within_3_days_is_due_soon():
    assert clock_state(date(2026, 12, 8), date(2026, 12, 5), None) == "due_soon"


def test_open_request_due_in_4_days_is_open():
    assert clock_state(date(2026, 12, 8), date(2026, 12, 4), None) == "open"


def test_due_soon_window_is_configurable():
    assert clock_state(date(2026, 12, 8), date(2026, 12, 4), None, soon_days=5) == "due_soon"


def test_open_request_timeliness_reports_both_clocks():
    clocks = copies_received_on(date(2026, 11, 23))
    report = timeliness(clocks, completed_on=None, today=date(2026, 12, 10))
    assert report == {"california": "overdue", "hipaa": "open"}


def test_days_left_counts_down_to_zero_on_the_due_date_then_negative():
    due = date(2026, 12, 8)
    assert [days_left(due, today) for today in (date(2026, 12, 5), due, date(2026, 12, 10))] == [
        3,
        0,
        -2,
    ]


def test_rule_messages_write_dates_in_the_american_order():
    assert format_date(date(2026, 12, 8)) == "December 8, 2026"
