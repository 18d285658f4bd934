"""The request log: filters, totals, both clocks judged separately, clear messages on bad input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from portal.audit.filters import RequestLogFilter
from portal.audit.request_log import iter_request_log
from portal.core.db import commit
from portal.rules.deadlines import today_pacific
from portal.trail.models import AuditEvent
from tests.factories import make_request, make_staff


def _answered(db, *, received_days_ago: int, answered_days_ago: int, extended: bool = False,
              **overrides):
    """A request received and released some days ago (set directly: the log only reads)."""
    now = datetime.now(UTC)
    req = make_request(db, received_at=now - timedelta(days=received_days_ago), **overrides)
    if extended:
        req.hipaa_extended_due_on = req.hipaa_due_on + timedelta(days=30)
    req.released_at = req.closed_at = now - timedelta(days=answered_days_ago)
    req.status, req.is_open = "closed", False
    for part in req.parts:
        part.outcome = "released"
    db.flush()
    return req


def _log(db, **filters):
    return list(iter_request_log(db, RequestLogFilter(**filters), today=today_pacific()))


def test_a_release_after_15_days_is_late_for_california_and_on_time_for_hipaa_r_dl_2(db):
    """R-DL-2: an extended or merely slower request is still late under California law."""
    _answered(db, received_days_ago=40, answered_days_ago=20, extended=True)
    [row] = _log(db)
    assert (row.california, row.hipaa) == ("late", "on_time")
    assert row.days_taken == 20
    assert row.extended


def test_an_open_request_past_both_dates_is_overdue_under_each_clock(db):
    make_request(db, received_at=datetime.now(UTC) - timedelta(days=45))
    [row] = _log(db)
    assert (row.california, row.hipaa) == ("overdue", "overdue")
    assert row.days_taken is None


def test_an_accounting_request_has_only_the_hipaa_clock(db):
    make_request(db, kind="accounting", parts=["accounting"])
    [row] = _log(db)
    assert row.california is None
    assert row.hipaa == "open"


def test_the_clock_filters_select_against_each_clock_separately(db):
    late_ca = _answered(db, received_days_ago=40, answered_days_ago=20)
    _answered(db, received_days_ago=40, answered_days_ago=35)
    assert [r.request_id for r in _log(db, california="late", hipaa="on_time")] == [late_ca.id]


def test_the_outcome_filter_finds_requests_with_a_part_so_decided(db):
    denied = make_request(db, parts=["complete", "psychotherapy_notes"])
    denied.parts[1].outcome, denied.parts[1].denial_ground = "denied", "psychotherapy_notes"
    make_request(db)
    db.flush()
    [row] = _log(db, outcome="denied")
    assert row.request_id == denied.id
    assert row.grounds_text == "psychotherapy_notes=psychotherapy_notes"
    assert [r.request_id for r in _log(db, outcome="undecided")] == [denied.id, denied.id + 1]


def test_the_assignee_filter_finds_unassigned_requests(db):
    clerk = make_staff(db, "clerk")
    mine = make_request(db)
    mine.assignee_id = clerk.id
    other = make_request(db)
    db.flush()
    assert [r.request_id for r in _log(db, assignee_id=clerk.id)] == [mine.id]
    assert [r.request_id for r in _log(db, assignee_id=0)] == [other.id]


def test_the_page_shows_totals_over_every_matching_request(client, db, auditor):
    for days in (40, 41, 42):
        _answered(db, received_days_ago=days, answered_days_ago=days - 20)
    make_request(db)
    commit()
    page = client.get("/audit/requests").get_data(as_text=True)
    assert "Requests: <strong>4</strong>" in page
    assert "Open: <strong>1</strong>" in page
    assert "Answered: <strong>3</strong>" in page


def test_the_page_filters_by_receipt_date(client, db, auditor):
    old = _answered(db, received_days_ago=200, answered_days_ago=190)
    new = make_request(db)
    commit()
    since = (today_pacific() - timedelta(days=30)).isoformat()
    page = client.get("/audit/requests", query_string={"date_from": since}).get_data(
        as_text=True)
    assert new.reference in page
    assert old.reference not in page


def test_an_end_date_before_the_start_date_gets_a_clear_message(client, auditor):
    response = client.get("/audit/requests",
                          query_string={"date_from": "2026-06-01", "date_to": "2026-05-01"})
    assert response.status_code == 400
    assert "The end date is before the start date" in response.get_data(as_text=True)


def test_an_unknown_status_gets_a_message_naming_the_allowed_ones(client, auditor):
    response = client.get("/audit/requests", query_string={"status": "lost_in_space"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Unknown status “lost_in_space”" in page
    assert "identity_review" in page


def test_a_range_over_the_limit_gets_a_clear_message(client, auditor):
    response = client.get("/audit/requests",
                          query_string={"date_from": "2010-01-01", "date_to": "2026-01-01"})
    assert response.status_code == 400
    assert "That range is longer than 2557 days" in response.get_data(as_text=True)


def test_an_impossible_date_gets_a_message(client, auditor):
    response = client.get("/audit/requests", query_string={"date_from": "2026-02-30"})
    assert response.status_code == 400
    assert "Not a valid date" in response.get_data(as_text=True)


def test_viewing_the_request_log_is_itself_an_audit_event(client, db, auditor):
    client.get("/audit/requests", query_string={"kind": "copies"})
    db.expunge_all()
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "audit.viewed"))
    assert event.summary == {"page": "request_log", "filter": {"kind": "copies"}, "rows": 0}
    assert event.actor_id == auditor.id


def test_the_request_log_never_shows_names_to_an_auditor(client, db, auditor):
    req = make_request(db, patient_first_name="Zebulon", patient_last_name="Quartermaine")
    commit()
    response = client.get("/audit/requests")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and req.reference in page  # the row is listed ...
    assert "Quartermaine" not in page and "Zebulon" not in page  # ... without the names


def test_a_clerk_cannot_open_the_request_log(client, db, auth):
    clerk = make_staff(db, "clerk")
    commit()
    auth.staff(clerk.id)
    assert client.get("/audit/requests").status_code == 403


def test_received_dates_are_pacific_dates(db):
    # 2026-03-01 06:00 UTC is still 28 February in Los Angeles (R-DL-1).
    make_request(db, received_at=datetime(2026, 3, 1, 6, 0, tzinfo=UTC))
    [row] = _log(db, received_from=date(2026, 2, 28), received_to=date(2026, 2, 28))
    assert row.received_on == date(2026, 2, 28)
