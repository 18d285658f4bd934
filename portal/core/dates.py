"""Dates and times for people: one style everywhere, in the reader's language (Babel).

English reads "December 2, 2026" and "1:02 p.m. PST"; Spanish "2 de diciembre de 2026" and
"1:02 p. m.". Times are shown on the program's clock (Los Angeles, R-DL-1). Exports and
machine-read values keep ISO 8601; nothing here is for them. Day counts go through the
translation layer's plural forms ("1 day left", "2 days left").
"""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date as babel_date
from babel.dates import format_skeleton as babel_format_skeleton
from babel.dates import format_time as babel_time
from flask import has_request_context
from flask_babel import get_locale, gettext, ngettext

from portal.rules.deadlines import days_left, pacific_time


def _locale():
    return (get_locale() if has_request_context() else None) or "en_US"


def long_date(day: date | None) -> str:
    """'December 2, 2026' ('' for no date)."""
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = pacific_time(day).date()
    return babel_date(day, "long", locale=_locale())


def month_and_year(day: date | None) -> str:
    """'March 2016' (a date given as a month and year only)."""
    if day is None:
        return ""
    return babel_format_skeleton("yMMMM", day, locale=_locale())


def clock_time(moment: datetime | None) -> str:
    """'1:02 p.m. PST': the time on the program's clock, with its zone."""
    if moment is None:
        return ""
    local = pacific_time(moment)
    locale = _locale()
    text = babel_time(local.time(), "h:mm a", locale=locale)
    if str(locale).startswith("en"):
        text = text.replace("AM", "a.m.").replace("PM", "p.m.")
    return f"{text} {local.strftime('%Z')}"


def date_and_time(moment: datetime | None) -> str:
    """'December 2, 2026, 1:02 p.m. PST'."""
    if moment is None:
        return ""
    return f"{long_date(moment)}, {clock_time(moment)}"


def due_text(due: date, today: date) -> str:
    """A due date with how far off it is: 'December 8, 2026 (1 day left)'."""
    remaining = days_left(due, today)
    if remaining == 0:
        distance = gettext("due today")
    elif remaining > 0:
        distance = ngettext("%(num)d day left", "%(num)d days left", remaining)
    else:
        distance = ngettext("%(num)d day overdue", "%(num)d days overdue", -remaining)
    return f"{long_date(due)} ({distance})"
