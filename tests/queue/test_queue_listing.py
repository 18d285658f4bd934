"""The queue page: order, counts, filters, keyset pages, search by POST, workload (item 3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core.db import commit
from portal.queue import listing
from portal.rules.deadlines import today_pacific
from portal.trail.models import AuditEvent
from tests.factories import make_request, make_staff, staff_actor


def received_days_ago(days: int) -> datetime:
    return datetime.now(UTC) - timedelta(days=days)


def rows(db, clerk, **filters):
    page = listing.view_queue(db, staff_actor(clerk), listing.QueueFilters(**filters),
                              today=today_pacific(), soon_days=3, limit=50)
    return [r.reference for r in page.rows]


def test_queue_lists_open_requests_by_working_due_date(db, clerk):
    late = make_request(db, received_at=received_days_ago(20))
    fresh = make_request(db, received_at=received_days_ago(1))
    middle = make_request(db, received_at=received_days_ago(10))
    closed = make_request(db, received_at=received_days_ago(30))
    closed.is_open, closed.status = False, "withdrawn"
    assert rows(db, clerk) == [late.reference, middle.reference, fresh.reference]


def test_counts_show_overdue_and_due_soon_requests(db, clerk):
    make_request(db, received_at=received_days_ago(16))  # California due yesterday
    make_request(db, received_at=received_days_ago(13))  # due in 2 days
    make_request(db, received_at=received_days_ago(1))
    page = listing.view_queue(db, staff_actor(clerk), listing.QueueFilters(),
                              today=today_pacific(), soon_days=3)
    assert page.counts == {"overdue": 1, "due_soon": 1}
    assert [r.working_state for r in page.rows] == ["overdue", "due_soon", "open"]


def test_filters_select_mine_unassigned_overdue_due_soon_and_awaiting(db, clerk):
    mine = make_request(db, received_at=received_days_ago(16))
    mine.assignee_id = clerk.id
    soon = make_request(db, received_at=received_days_ago(13))
    waiting = make_request(db, received_at=received_days_ago(2))
    waiting.status = "awaiting_requester"
    assert rows(db, clerk, mine=True) == [mine.reference]
    assert rows(db, clerk, unassigned=True) == [soon.reference, waiting.reference]
    assert rows(db, clerk, overdue=True) == [mine.reference]
    assert rows(db, clerk, due_soon=True) == [soon.reference]
    assert rows(db, clerk, awaiting=True) == [waiting.reference]
    assert rows(db, clerk, status="awaiting_requester") == [waiting.reference]


def test_extension_is_shown_against_the_hipaa_clock(db, clerk):
    req = make_request(db)
    req.hipaa_extended_due_on = req.hipaa_due_on + timedelta(days=30)
    (row,) = listing.view_queue(db, staff_actor(clerk), listing.QueueFilters(),
                                today=today_pacific(), soon_days=3).rows
    assert row.hipaa_final_due_on == req.hipaa_extended_due_on


def test_keyset_pages_continue_after_the_last_row_without_overlap(db, clerk):
    made = [make_request(db, received_at=received_days_ago(n % 4)) for n in range(7)]
    seen, after = [], None
    while True:
        page = listing.view_queue(db, staff_actor(clerk), listing.QueueFilters(),
                                  today=today_pacific(), soon_days=3, after=after, limit=3)
        seen += [r.id for r in page.rows]
        if page.next_cursor is None:
            break
        after = listing.Cursor.decode(page.next_cursor.encode())
    assert sorted(seen) == sorted(r.id for r in made) and len(seen) == len(set(seen))


def test_search_finds_other_names_without_accents_and_email_in_any_case(db, clerk):
    req = make_request(db, patient_other_names="María Núñez-Ortega",
                       contact_email="Avery.Q@Example.test")
    make_request(db, patient_first_name="Blake", patient_last_name="Stone")
    flt = listing.QueueFilters(status="all")

    def search(term):
        return [r.id for r in listing.search_requests(db, staff_actor(clerk), term, flt,
                                                      today=today_pacific(), soon_days=3).rows]

    assert search("nunez") == [req.id]
    assert search("maria ortega") == [req.id]
    assert search("avery.q@example.TEST") == [req.id]
    assert search(req.reference.lower()) == [req.id]
    assert search("qu") == [req.id]  # a prefix of the legal last name
    assert search("nobody") == []


def test_a_broad_name_search_lists_the_same_requests_in_queue_order(db, clerk, monkeypatch):
    """A common surname (more hits than MAX_NAME_HITS) is asked request by request in the
    queue's order: the same requests, in the same order, as the narrow search finds."""
    garcias = [make_request(db, patient_first_name=first, patient_last_name="Garcia",
                            received_at=received_days_ago(n % 4))
               for n, first in enumerate(["Ana", "Luis", "Lucia", "Ana", "Leo", "Lupe"])]
    make_request(db, patient_first_name="Lucia", patient_last_name="Stone")
    make_request(db, patient_first_name="Gary", patient_last_name="Lowe",
                 patient_other_names="Gabriel Lopez")
    commit()
    flt = listing.QueueFilters(status="all")

    def search(term, limit=50):
        return [r.id for r in listing.search_requests(db, staff_actor(clerk), term, flt,
                                                      today=today_pacific(), soon_days=3,
                                                      limit=limit).rows]

    narrow = {term: search(term) for term in ("garcia", "ga lu", "lucia")}
    monkeypatch.setattr(listing, "MAX_NAME_HITS", 2)
    broad = {term: search(term) for term in narrow}
    assert broad == narrow
    queue_order = sorted(garcias, key=lambda r: (r.working_due_on, r.id))
    assert broad["garcia"] == [r.id for r in queue_order]
    assert broad["ga lu"] == [r.id for r in queue_order if r.patient_first_name.startswith("Lu")]
    assert search("garcia", limit=2) == [r.id for r in queue_order[:2]]


def test_search_is_audited_without_the_term(db, clerk):
    make_request(db)
    flt = listing.QueueFilters(status="all")
    page = listing.search_requests(db, staff_actor(clerk), "Quill", flt, today=today_pacific(),
                                   soon_days=3)
    listing.record_view(db, staff_actor(clerk), flt, page, after=None)
    db.commit()  # a page view's event is written with its commit (trail.chain, deferred)
    event = db.scalar(select(AuditEvent).where(AuditEvent.action == "queue.searched"))
    assert event.summary["kind"] == "name" and event.summary["rows"] == 1
    assert "quill" not in str(event.summary).lower()


def test_search_is_a_post_and_the_term_never_appears_in_a_url(app, client, auth, db, clerk):
    for _ in range(3):
        make_request(db)
    commit()
    app.config["QUEUE_PAGE_SIZE"] = 2
    auth.staff(clerk.id)
    assert client.get("/staff/queue/search?q=Quill").status_code == 405
    response = client.post("/staff/queue/search", data={"q": "Quill"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and "Next page" in body
    assert "q=Quill" not in body and "Quill&" not in body
    assert 'name="q" value="Quill"' in body  # the next page is posted again


def test_queue_page_shows_counts_and_writes_its_audit_event(client, auth, db, clerk):
    make_request(db, received_at=received_days_ago(16))
    commit()
    auth.staff(clerk.id)
    body = client.get("/staff/queue").get_data(as_text=True)
    assert "1</strong> overdue" in body
    assert db.scalar(select(AuditEvent).where(AuditEvent.action == "queue.viewed"))


def test_workload_counts_open_due_soon_and_overdue_per_clerk(db, clerk):
    supervisor = make_staff(db, "supervisor")
    for days in (16, 13, 1):
        make_request(db, received_at=received_days_ago(days)).assignee_id = clerk.id
    make_request(db)
    result = listing.view_workload(db, staff_actor(supervisor), today=today_pacific(),
                                   soon_days=3)
    by_id = {r.staff_id: r for r in result}
    assert (by_id[clerk.id].open, by_id[clerk.id].due_soon, by_id[clerk.id].overdue) == (3, 1, 1)
    assert by_id[None].open == 1 and by_id[supervisor.id].open == 0


def test_a_clerk_cannot_see_the_workload(client, auth, db, clerk):
    commit()
    auth.staff(clerk.id)
    assert client.get("/staff/workload").status_code == 403


def test_queue_queries_are_served_by_indexes(app, db, clerk):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    make_request(db, patient_last_name="Quill")
    make_request(db, patient_last_name="Quinn")
    commit()
    captured = []
    from sqlalchemy import event

    engine = db.get_bind()

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM record_request" in statement and "audit_event" not in statement:
            captured.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", capture)
    try:
        flt = listing.QueueFilters()
        listing.view_queue(db, staff_actor(clerk), flt, today=today_pacific(), soon_days=3,
                           after=listing.Cursor(today_pacific(), 1))
        listing.search_requests(db, staff_actor(clerk), "quill", flt, today=today_pacific(),
                                soon_days=3)
        with pytest.MonkeyPatch.context() as patch:  # a broad search, across every status
            patch.setattr(listing, "MAX_NAME_HITS", 0)
            listing.search_requests(db, staff_actor(clerk), "quill",
                                    listing.QueueFilters(status="all"), today=today_pacific(),
                                    soon_days=3)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    raw = db.connection().connection.driver_connection
    assert captured
    for statement, parameters in captured:
        plan = " ".join(row[-1] for row in raw.execute("EXPLAIN QUERY PLAN " + statement,
                                                       parameters).fetchall())
        if "EXISTS" in statement:  # broad: walk the requests in the queue's order, then stop
            assert "SCAN record_request USING INDEX ix_record_request_due" in plan, plan
            assert "USING COVERING INDEX ix_request_search_token_request_token" in plan, plan
        else:
            assert "SCAN record_request" not in plan, plan
        # A narrow search sorts its few hits; a broad one must walk the queue's order.
        narrow = "EXISTS" not in statement and ("token" in statement
                                                or "record_request.id IN" in statement)
        assert "USE TEMP B-TREE FOR ORDER BY" not in plan or narrow, plan
    assert any("EXISTS" in statement for statement, _ in captured)
