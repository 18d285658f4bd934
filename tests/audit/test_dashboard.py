"""The numbers at a glance: server-drawn SVG charts with text alternatives, and the same CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from portal.audit.dashboard import dashboard_numbers, month_start, nearest_rank
from portal.core.db import commit
from portal.rules.deadlines import today_pacific
from tests.audit.helpers import sign_in_auditor
from tests.factories import make_request


def _released_after(db, days: int, *, received_days_ago: int = 45):
    now = datetime.now(UTC)
    received = now - timedelta(days=received_days_ago)
    req = make_request(db, received_at=received)
    req.released_at = req.closed_at = received + timedelta(days=days)
    req.status, req.is_open = "closed", False
    for part in req.parts:
        part.outcome = "released"
    return req


@pytest.fixture
def released(db):
    # Ten requests received the same day, released after 1..10, 20 and 40 days.
    for days in (*range(1, 11), 20, 40):
        _released_after(db, days)
    make_request(db, received_at=datetime.now(UTC) - timedelta(days=3))
    make_request(db, received_at=datetime.now(UTC) - timedelta(days=70))
    db.flush()


def _month(numbers, day):
    return next(m for m in numbers.months if m.month == month_start(day))


def test_nearest_rank_percentile():
    assert nearest_rank(list(range(1, 11)), 90) == 9
    assert nearest_rank([5], 90) == 5
    assert nearest_rank([], 90) is None


def test_median_and_90th_percentile_days_to_release(db, released):
    today = today_pacific()
    numbers = dashboard_numbers(db, today=today)
    month = _month(numbers, today - timedelta(days=45))
    assert month.median_days == 6.5
    assert month.p90_days == 20


def test_share_released_on_time_under_each_clock(db, released):
    today = today_pacific()
    month = _month(dashboard_numbers(db, today=today), today - timedelta(days=45))
    # California: within 15 days for 10 of 12; HIPAA: within 30 days for 11 of 12.
    assert month.california_share == round(100 * 10 / 12, 1)
    assert month.hipaa_share == round(100 * 11 / 12, 1)


def test_open_requests_by_age(db, released):
    numbers = dashboard_numbers(db, today=today_pacific())
    ages = dict(numbers.open_by_age)
    assert ages["0–5 days"] == 1
    assert ages["over 60 days"] == 1
    assert sum(ages.values()) == 2


def test_outcomes_by_type_count_each_part(db, released):
    outcomes = dict(dashboard_numbers(db, today=today_pacific(), months=6).outcomes)
    assert outcomes["released"] == 12
    assert outcomes["undecided"] == 2


def test_each_chart_is_an_svg_with_a_title_a_description_and_its_table(client, db, auth,
                                                                        released):
    sign_in_auditor(db, auth)
    commit()
    page = client.get("/audit/dashboard").get_data(as_text=True)
    svgs = re.findall(r"<svg[^>]*role=\"img\"[^>]*>.*?</svg>", page, re.S)
    assert len(svgs) == 5
    for svg in svgs:
        assert "<title id=" in svg and "<desc id=" in svg
    assert page.count("The numbers behind this chart") == 5
    assert "<script>" not in page and "style=" not in page
    for title in ("Requests received per month", "Days from receipt to release",
                  "Share released on time under each clock", "Open requests by age",
                  "Outcomes by type"):
        assert title in page


def test_the_csv_holds_the_same_numbers(client, db, auth, released):
    sign_in_auditor(db, auth)
    commit()
    rows = list(csv.reader(io.StringIO(client.get("/audit/dashboard.csv").get_data(
        as_text=True))))
    month = month_start(today_pacific() - timedelta(days=45)).strftime("%Y-%m")
    values = {(metric, category): value for metric, category, value in rows[1:]}
    assert values[("median_days_to_release", month)] == "6.5"
    assert values[("p90_days_to_release", month)] == "20"
    assert values[("outcome", "released")] == "12"


def test_an_unknown_number_of_months_gets_a_message(client, db, auth):
    sign_in_auditor(db, auth)
    response = client.get("/audit/dashboard", query_string={"months": "1000"})
    assert response.status_code == 400
    assert "Unknown months “1000”" in response.get_data(as_text=True)
