"""One date style and one time style for people, in the reader's language (#15 part 2)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest

from portal.core.dates import clock_time, date_and_time, due_text, long_date

pytestmark = pytest.mark.once

WINTER = datetime(2026, 12, 2, 21, 2, tzinfo=UTC)  # 1:02 p.m. in Los Angeles
SUMMER = datetime(2026, 7, 4, 7, 5, tzinfo=UTC)  # 12:05 a.m. in Los Angeles


def test_english_dates_and_times_in_the_american_order(app):
    with app.test_request_context("/"):
        assert long_date(date(2026, 12, 2)) == "December 2, 2026"
        assert clock_time(WINTER) == "1:02 p.m. PST"
        assert clock_time(SUMMER) == "12:05 a.m. PDT"
        assert date_and_time(WINTER) == "December 2, 2026, 1:02 p.m. PST"
        # A moment is dated on the program's clock: 12:05 a.m. on July 4 is still July 4 there,
        # 7:05 on July 4 in UTC, and 11:30 p.m. on New Year's Eve is not yet the new year.
        assert long_date(SUMMER) == "July 4, 2026"
        assert long_date(datetime(2027, 1, 1, 7, 30, tzinfo=UTC)) == "December 31, 2026"


def test_day_counts_use_plural_forms(app):
    with app.test_request_context("/"):
        due = date(2026, 12, 8)
        assert due_text(due, date(2026, 11, 26)) == "December 8, 2026 (12 days left)"
        assert due_text(due, date(2026, 12, 7)) == "December 8, 2026 (1 day left)"
        assert due_text(due, due) == "December 8, 2026 (due today)"
        assert due_text(due, date(2026, 12, 9)) == "December 8, 2026 (1 day overdue)"
        assert due_text(due, date(2026, 12, 11)) == "December 8, 2026 (3 days overdue)"


def test_spanish_readers_get_their_own_order(app):
    with app.test_request_context("/", headers={"Accept-Language": "es"}):
        from flask_babel import get_locale

        if str(get_locale()) != "es":
            pytest.skip("Spanish is not offered yet")
        assert long_date(date(2026, 12, 2)) == "2 de diciembre de 2026"


# Every way a date or a time was once written for people, any of which would be a second style.
OTHER_STYLES = re.compile(
    r"\b\d{4}-\d\d-\d\d\b"  # ISO
    r"|\b\d{1,2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]* \d{4}\b"  # 2 Dec 2026
    r"|\b(Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday), "  # weekday first
    r"|\b([01]?\d|2[0-3]):[0-5]\d (?!a\.m\.|p\.m\.)"  # 24-hour clock
)


def test_the_other_styles_pattern_catches_each_old_style():
    for old in ("2026-12-02", "02 Dec 2026", "2 December 2026", "Wednesday, 2 December 2026",
                "13:02 PST"):
        assert OTHER_STYLES.search(old), old
    assert not OTHER_STYLES.search("December 2, 2026, 1:02 p.m. PST")
