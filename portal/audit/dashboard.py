"""The numbers at a glance: counts, speed, timeliness, open ages and outcomes.

Everything is computed from the request log reader (portal.audit.request_log), so the
dashboard, the request log and its exports always agree. Months are calendar months in Los
Angeles, by the month a request was received. The median is the usual middle value; the 90th
percentile is the nearest-rank value (the smallest number of days that 90% of releases took
no longer than).
"""

from __future__ import annotations

import io
import math
import statistics
from dataclasses import dataclass, field
from datetime import date

from flask_babel import gettext as _

from portal.audit.charts import Chart, bar_chart
from portal.audit.filters import RequestLogFilter
from portal.audit.request_log import iter_request_log
from portal.rules.outcomes import OUTCOMES, REPORT_LABELS

AGE_BUCKETS = ((0, 5), (6, 15), (16, 30), (31, 60), (61, None))
OUTCOME_ORDER = (*OUTCOMES, None)


def _outcome_label(code: str) -> str:
    if code == "undecided":
        return _("Undecided")
    return _(REPORT_LABELS[code]) if code in REPORT_LABELS else code


def month_start(day: date, back: int = 0) -> date:
    """The first day of the month ``back`` months before ``day``'s month."""
    index = day.year * 12 + day.month - 1 - back
    return date(index // 12, index % 12 + 1, 1)


def nearest_rank(values: list[int], percent: int) -> int | None:
    """The nearest-rank percentile of a list of numbers (None for an empty list)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(percent / 100 * len(ordered)) - 1)]


@dataclass
class MonthNumbers:
    """One receipt month."""

    month: date
    received: int = 0
    release_days: list[int] = field(default_factory=list)
    california_released: int = 0
    california_on_time: int = 0
    hipaa_released: int = 0
    hipaa_on_time: int = 0

    @property
    def label(self) -> str:
        """'2026-03'."""
        return self.month.strftime("%Y-%m")

    @property
    def median_days(self) -> float | None:
        """Median days from receipt to release."""
        return statistics.median(self.release_days) if self.release_days else None

    @property
    def p90_days(self) -> int | None:
        """90th-percentile days from receipt to release (nearest rank)."""
        return nearest_rank(self.release_days, 90)

    @staticmethod
    def _share(on_time: int, total: int) -> float | None:
        return round(100 * on_time / total, 1) if total else None

    @property
    def california_share(self) -> float | None:
        """Percent of releases on time under California's clock (copies only)."""
        return self._share(self.california_on_time, self.california_released)

    @property
    def hipaa_share(self) -> float | None:
        """Percent of releases on time under HIPAA's clock (extension included)."""
        return self._share(self.hipaa_on_time, self.hipaa_released)


@dataclass
class DashboardNumbers:
    """Every figure of the dashboard."""

    start: date
    end: date
    months: list[MonthNumbers]
    open_by_age: list[tuple[str, int]]
    outcomes: list[tuple[str, int]]


def _age_label(low: int, high: int | None) -> str:
    return _("%(low)s–%(high)s days", low=low, high=high) if high is not None else \
        _("over %(low)s days", low=low - 1)


def dashboard_numbers(db, *, today: date, months: int = 12, soon_days: int = 3) -> DashboardNumbers:
    """Compute the dashboard over the last ``months`` receipt months up to today."""
    start = month_start(today, months - 1)
    by_month = {month_start(today, back): MonthNumbers(month_start(today, back))
                for back in range(months - 1, -1, -1)}
    outcome_counts = dict.fromkeys(OUTCOME_ORDER, 0)
    for row in iter_request_log(db, RequestLogFilter(received_from=start, received_to=today),
                                today=today, soon_days=soon_days):
        numbers = by_month[month_start(row.received_on)]
        numbers.received += 1
        for part in row.parts:
            outcome_counts[part.outcome if part.outcome in outcome_counts else None] += 1
        if row.released_on is None:
            continue
        numbers.release_days.append((row.released_on - row.received_on).days)
        if row.california is not None:
            numbers.california_released += 1
            numbers.california_on_time += row.california == "on_time"
        numbers.hipaa_released += 1
        numbers.hipaa_on_time += row.hipaa == "on_time"
    ages = [0] * len(AGE_BUCKETS)
    for row in iter_request_log(db, RequestLogFilter(open_only=True), today=today,
                                soon_days=soon_days):
        age = (today - row.received_on).days
        index = next(i for i, (low, high) in enumerate(AGE_BUCKETS)
                     if high is None or low <= age <= high)
        ages[index] += 1
    return DashboardNumbers(
        start=start, end=today, months=list(by_month.values()),
        open_by_age=[(_age_label(low, high), count)
                     for (low, high), count in zip(AGE_BUCKETS, ages, strict=True)],
        outcomes=[(outcome or "undecided", count) for outcome, count in outcome_counts.items()],
    )


def dashboard_charts(numbers: DashboardNumbers) -> list[Chart]:
    """The five charts, each with a title, a description and its data table."""
    labels = [m.label for m in numbers.months]
    period = _("%(start)s to %(end)s", start=numbers.start.isoformat(),
               end=numbers.end.isoformat())
    return [
        bar_chart("received", _("Requests received per month"),
                  _("Number of requests received in each month, %(period)s.", period=period),
                  labels, [(_("Received"), [m.received for m in numbers.months])]),
        bar_chart("speed", _("Days from receipt to release"),
                  _("Median and 90th-percentile days from receipt to release, by month of "
                    "receipt, %(period)s. No bar: nothing released.", period=period),
                  labels, [(_("Median"), [m.median_days for m in numbers.months]),
                           (_("90th percentile"), [m.p90_days for m in numbers.months])]),
        bar_chart("on-time", _("Share released on time under each clock"),
                  _("Percent of released requests released by the due date under California "
                    "law (15 days) and under HIPAA (30 days, or the extended date), by month "
                    "of receipt, %(period)s.", period=period),
                  labels, [(_("California"), [m.california_share for m in numbers.months]),
                           (_("HIPAA"), [m.hipaa_share for m in numbers.months])],
                  unit="%", top=100),
        bar_chart("open-age", _("Open requests by age"),
                  _("Number of requests still open, by days since receipt, on %(today)s.",
                    today=numbers.end.isoformat()),
                  [label for label, _count in numbers.open_by_age],
                  [(_("Open requests"), [count for _label, count in numbers.open_by_age])]),
        bar_chart("outcomes", _("Outcomes by type"),
                  _("Requested parts by outcome, for requests received %(period)s.",
                    period=period),
                  [_outcome_label(code) for code, _count in numbers.outcomes],
                  [(_("Parts"), [count for _label, count in numbers.outcomes])]),
    ]


def dashboard_csv(numbers: DashboardNumbers) -> str:
    """The dashboard's figures as CSV: metric, category, value."""
    from portal.audit.exports import csv_line

    out = io.StringIO()
    out.write("metric,category,value\n")
    for m in numbers.months:
        for metric, value in (
            ("received", m.received), ("median_days_to_release", m.median_days),
            ("p90_days_to_release", m.p90_days),
            ("california_on_time_percent", m.california_share),
            ("hipaa_on_time_percent", m.hipaa_share),
        ):
            out.write(csv_line((metric, m.label, value)))
    for label, count in numbers.open_by_age:
        out.write(csv_line(("open_by_age", label, count)))
    for outcome, count in numbers.outcomes:
        out.write(csv_line(("outcome", outcome, count)))
    return out.getvalue()
