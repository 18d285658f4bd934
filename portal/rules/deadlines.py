"""The deadline calendar for records requests (R-DL-1 to R-DL-5).

Two clocks run from receipt and both are tracked (R-DL-1): California's (Health & Safety Code
123110: copies 15 calendar days, inspection 5 working days) and HIPAA's (45 CFR 164.524(b)(2):
30 days, one extension of at most 30 more, R-DL-2). A request for an accounting of disclosures
has one clock: 60 days with one 30-day extension (164.528(c), R-DL-4). There is no 15-day HIPAA
clock (R-DL-5): that was a 2021 proposal, never law.

The clock never pauses (R-DL-3). Every due date here follows from the receipt date and the
settings alone: no function takes a pause, hold or restart, so waiting for identity
verification or for the requester cannot move a deadline. Why a request waited is recorded by
the request workflow for the auditor, not here.

Receipt is a calendar date in America/Los_Angeles and day 1 is the day after it. Due dates are
not moved off weekends or holidays: the statutes count calendar days, and a date shown early is
never a violation.
"""

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

PROGRAM_TIME_ZONE = ZoneInfo("America/Los_Angeles")
#: R-DL-2, R-DL-4: the one extension HIPAA allows, at most this many days past its due date.
EXTENSION_DAYS = 30
REQUEST_KINDS = ("copies", "accounting")
CLOCK_STATES = ("on_time", "late", "overdue", "due_soon", "open")

_MONDAY, _THURSDAY, _SATURDAY, _SUNDAY = 0, 3, 5, 6
_MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def as_utc(moment: datetime) -> datetime:
    """Return `moment` as an aware UTC datetime; a naive value is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def pacific_date(moment: datetime) -> date:
    """The calendar date in America/Los_Angeles at `moment` (naive values are read as UTC)."""
    return as_utc(moment).astimezone(PROGRAM_TIME_ZONE).date()


def today_pacific() -> date:
    """Today's date in Los Angeles: the calendar every deadline is counted in (R-DL-1)."""
    return pacific_date(datetime.now(UTC))


def pacific_time(moment: datetime) -> datetime:
    """`moment` on the clock in Los Angeles (naive values are read as UTC)."""
    return as_utc(moment).astimezone(PROGRAM_TIME_ZONE)


def pacific_moment(day: date, at: time) -> datetime:
    """The UTC moment of `at` o'clock in Los Angeles on `day` (e.g. noon on a mailing date)."""
    return datetime.combine(day, at, tzinfo=PROGRAM_TIME_ZONE).astimezone(UTC)


def receipt_date(received_at: datetime | date) -> date:
    """The date a request counts as received, as a date in Los Angeles (R-DL-1).

    A web submission passes its arrival time; a plain date (what a clerk records for a letter
    that came by mail) is already the receipt date and is returned unchanged.
    """
    if isinstance(received_at, datetime):
        return pacific_date(received_at)
    return received_at


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    first = date(year, month, 1)
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> date:
    last = _nth_weekday(year, month, weekday, 5)
    return last if last.month == month else last - timedelta(days=7)


def _observed(holiday: date) -> date:
    if holiday.weekday() == _SUNDAY:
        return holiday + timedelta(days=1)
    if holiday.weekday() == _SATURDAY and (holiday.month, holiday.day) == (11, 11):
        return holiday - timedelta(days=1)
    return holiday


def california_state_holidays(year: int) -> set[date]:
    """The days California state offices close for a holiday in `year` (Gov. Code 19853).

    New Year's Day, Martin Luther King Jr. Day, Presidents' Day, Cesar Chavez Day, Memorial
    Day, Independence Day, Labor Day, Veterans Day, Thanksgiving and the day after, Christmas.
    Observed days (19853(b)): a holiday on a Sunday closes the following Monday; Veterans Day on
    a Saturday closes the Friday before; any other holiday on a Saturday stays on the Saturday
    (state staff get holiday credit instead), so it closes no weekday.
    Not included: Gov. Code 6700 days that state offices stay open for (Lincoln Day, Admission
    Day, Native American Day, Columbus Day, the Good Friday afternoon), Juneteenth, and days a
    Governor proclaims; pass a full list as `holidays=` to the deadline functions to change it.
    """
    thanksgiving = _nth_weekday(year, 11, _THURSDAY, 4)
    fixed = (
        date(year, 1, 1),
        date(year, 3, 31),
        date(year, 7, 4),
        date(year, 11, 11),
        date(year, 12, 25),
    )
    return {_observed(day) for day in fixed} | {
        _nth_weekday(year, 1, _MONDAY, 3),
        _nth_weekday(year, 2, _MONDAY, 3),
        _last_weekday(year, 5, _MONDAY),
        _nth_weekday(year, 9, _MONDAY, 1),
        thanksgiving,
        thanksgiving + timedelta(days=1),
    }


@lru_cache(maxsize=32)
def _state_holidays(year: int) -> frozenset[date]:
    # Queue pages compute clocks for every row; the holidays of a year never change.
    return frozenset(california_state_holidays(year))


def is_working_day(day: date, holidays: Collection[date] | None = None) -> bool:
    """Whether `day` is a weekday and not a holiday (California state holidays by default)."""
    if day.weekday() >= _SATURDAY:
        return False
    closed = _state_holidays(day.year) if holidays is None else holidays
    return day not in closed


def add_working_days(start: date, count: int, holidays: Collection[date] | None = None) -> date:
    """The `count`-th working day after `start`; the first working day after `start` is day 1."""
    day = start
    while count > 0:
        day += timedelta(days=1)
        if is_working_day(day, holidays):
            count -= 1
    return day


@dataclass(frozen=True)
class Clocks:
    """The due dates of one request, all counted from its receipt date.

    `california_due` and `california_inspection_due` are None for an accounting request, which
    only has the HIPAA clock (R-DL-4). For an accounting request `hipaa_due` is its 60-day date.
    `working_due` is the date staff work to (R-DL-1).
    """

    kind: str
    received: date
    california_due: date | None
    california_inspection_due: date | None
    hipaa_due: date
    hipaa_extended_due: date | None
    working_due: date

    @property
    def hipaa_final_due(self) -> date:
        """The HIPAA date that counts: the extended one where an extension was granted."""
        return self.hipaa_extended_due or self.hipaa_due


def compute_clocks(
    kind: str,
    received_at: datetime | date,
    extended_hipaa_due: date | None = None,
    *,
    ca_copy_days: int = 15,
    ca_inspection_working_days: int = 5,
    hipaa_days: int = 30,
    accounting_days: int = 60,
    extension_days: int = EXTENSION_DAYS,
    holidays: Collection[date] | None = None,
) -> Clocks:
    """Every due date for a request of `kind` ('copies' or 'accounting') received at `received_at`.

    `extended_hipaa_due` is the new date of a granted extension (see `check_extension`); a date
    outside the allowed window raises ValueError, since it can only come from corrupt data.
    `holidays` replaces the California state holidays for the inspection clock.
    """
    if kind not in REQUEST_KINDS:
        raise ValueError(f"Unknown request kind {kind!r}; expected one of {REQUEST_KINDS}.")
    received = receipt_date(received_at)
    clock_days = hipaa_days if kind == "copies" else accounting_days  # R-DL-4
    hipaa_due = received + timedelta(days=clock_days)
    if extended_hipaa_due is not None and not (
        hipaa_due < extended_hipaa_due <= hipaa_due + timedelta(days=extension_days)
    ):
        raise ValueError(
            f"Extended due date {extended_hipaa_due} is outside the allowed window after "
            f"{hipaa_due} ({extension_days} days at most)."
        )
    if kind == "accounting":
        return Clocks(
            kind=kind,
            received=received,
            california_due=None,
            california_inspection_due=None,
            hipaa_due=hipaa_due,
            hipaa_extended_due=extended_hipaa_due,
            working_due=extended_hipaa_due or hipaa_due,
        )
    california_due = received + timedelta(days=ca_copy_days)
    return Clocks(
        kind=kind,
        received=received,
        california_due=california_due,
        california_inspection_due=add_working_days(received, ca_inspection_working_days, holidays),
        hipaa_due=hipaa_due,
        hipaa_extended_due=extended_hipaa_due,
        # R-DL-1: staff work to California's date, which an extension never moves (R-DL-2).
        working_due=california_due,
    )


def check_extension(
    clocks: Clocks,
    requested_new_date: date,
    notice_date: date,
    already_extended: bool = False,
    *,
    extension_days: int = EXTENSION_DAYS,
) -> list[str]:
    """Plain-language reasons a HIPAA extension cannot be granted; an empty list allows it (R-DL-2).

    164.524(b)(2)(ii) (and 164.528(c)(1)(ii) for accountings) requires the written notice
    "within the time limit": we read the due date itself as inside the limit, so a notice dated
    on the HIPAA due date is accepted and one dated the day after is refused. The extension
    moves only the HIPAA date; California's due date never moves. The form that records the
    notice must also require its reasons.
    """
    problems = []
    if already_extended or clocks.hipaa_extended_due is not None:
        problems.append(
            "This request has already been extended once. Only one extension is allowed."
        )
    if notice_date < clocks.received:
        problems.append(
            f"The notice is dated {format_date(notice_date)}, before the request was received "
            f"on {format_date(clocks.received)}."
        )
    problems.extend(extension_window_problems(clocks.hipaa_due, requested_new_date, notice_date,
                                              extension_days=extension_days))
    return problems


def extension_window_problems(
    original_due: date, requested_new_date: date, notice_date: date, *,
    extension_days: int = EXTENSION_DAYS,
) -> list[str]:
    """The window of the one extension (R-DL-2): notice by the due date, new date within it.

    Both the clerk's action and the written notice ask this one rule.
    """
    problems = []
    latest_new_date = original_due + timedelta(days=extension_days)
    if notice_date > original_due:
        problems.append(
            f"The notice must be sent no later than the HIPAA due date, "
            f"{format_date(original_due)}. It is dated {format_date(notice_date)}, too late to "
            "extend."
        )
    if requested_new_date <= original_due:
        problems.append(
            f"The new due date must be after the current HIPAA due date, "
            f"{format_date(original_due)}."
        )
    elif requested_new_date > latest_new_date:
        problems.append(
            f"The new due date can be at most {extension_days} days after the HIPAA due date: "
            f"no later than {format_date(latest_new_date)}."
        )
    return problems


def days_left(due: date, today: date) -> int:
    """Days from `today` until `due`: 0 on the due date, negative once it has passed."""
    return (due - today).days


def clock_state(due: date, today: date, completed_on: date | None, soon_days: int = 3) -> str:
    """Where a request stands against one due date; one of CLOCK_STATES.

    A completed request is 'on_time' (on or before the due date) or 'late'. An open one is
    'overdue' after the due date, 'due_soon' within `soon_days` of it (the due date included),
    otherwise 'open'.
    """
    if completed_on is not None:
        return "on_time" if completed_on <= due else "late"
    remaining = days_left(due, today)
    if remaining < 0:
        return "overdue"
    if remaining <= soon_days:
        return "due_soon"
    return "open"


def timeliness(
    clocks: Clocks, completed_on: date | None, today: date, soon_days: int = 3
) -> dict[str, str | None]:
    """The request's standing against each clock, for reports (R-DL-2).

    Returns {'california': state or None, 'hipaa': state}, each a `clock_state` value. California
    is judged against its own due date, so a request finished within a HIPAA extension but
    after California's 15 days is still 'late' there; HIPAA uses the extended date where
    granted. California is None for an accounting request, which has no California clock.
    """
    california = None
    if clocks.california_due is not None:
        california = clock_state(clocks.california_due, today, completed_on, soon_days)
    return {
        "california": california,
        "hipaa": clock_state(clocks.hipaa_final_due, today, completed_on, soon_days),
    }


def format_date(day: date) -> str:
    """A date in American English for rule messages, whatever the server's locale:
    'December 8, 2026' (pages and emails use portal.core.dates, in the reader's language)."""
    return f"{_MONTH_NAMES[day.month - 1]} {day.day}, {day.year}"
