"""The audit trail is tamper-evident (R-AUD-2): raw SQL edits of any kind are caught.

Each test tampers with the table behind the portal's back (UPDATE, DELETE, INSERT, swapped
ids) and checks that `verify_chain` and `flask --app portal audit verify` name the first
broken event; a chain rewritten from scratch is caught against a head recorded earlier.
"""

from __future__ import annotations

from sqlalchemy import select

from portal.core.db import commit
from portal.trail.chain import ChainHead, canonical_form, chain_hash, current_head, verify_chain
from portal.trail.models import AuditEvent
from tests.audit.helpers import add_events, raw_sql


def _verify(db, head: ChainHead | None = None):
    db.expunge_all()
    return verify_chain(db, head)


def test_an_untouched_chain_verifies(db):
    add_events(db, 6)
    result = _verify(db)
    assert result.ok and result.checked == 6


def test_changing_a_stored_value_is_detected_at_that_event(db):
    add_events(db, 6)
    raw_sql(db, "UPDATE audit_event SET summary = '{\"n\": 99}' WHERE id = 3")
    result = _verify(db)
    assert not result.ok
    assert result.broken_at == 3
    assert "altered" in result.reason


def test_changing_an_events_time_is_detected(db):
    add_events(db, 4)
    event = db.get(AuditEvent, 2)
    raw_sql(db, "UPDATE audit_event SET occurred_at = :t WHERE id = 2",
            t=event.occurred_at.replace(year=2020))
    assert _verify(db).broken_at == 2


def test_deleting_an_event_is_detected_at_the_gap(db):
    add_events(db, 6)
    raw_sql(db, "DELETE FROM audit_event WHERE id = 3")
    result = _verify(db)
    assert not result.ok
    assert result.broken_at == 4
    assert "event 3 is missing" in result.reason


def test_inserting_an_event_in_the_middle_is_detected(db):
    add_events(db, 5)
    raw_sql(db, "UPDATE audit_event SET id = id + 1000 WHERE id >= 3")
    raw_sql(db, "UPDATE audit_event SET id = id - 999 WHERE id >= 1000")
    second = db.get(AuditEvent, 2)
    forged = {"id": 3, "occurred_at": second.occurred_at, "actor_type": "system",
              "actor_id": None, "action": "request.viewed", "object_type": None,
              "object_id": None, "request_id": None, "client_ip": None, "summary": {}}
    raw_sql(db, "INSERT INTO audit_event (id, occurred_at, actor_type, action, summary, "
                "prev_hash, hash) VALUES (3, :t, 'system', 'request.viewed', '{}', :p, :h)",
            t=second.occurred_at, p=second.hash,
            h=chain_hash(second.hash, canonical_form(forged)))
    result = _verify(db)
    assert not result.ok
    assert result.broken_at == 4
    assert "does not follow" in result.reason


def test_appending_a_forged_event_is_detected(db):
    add_events(db, 3)
    raw_sql(db, "INSERT INTO audit_event (id, occurred_at, actor_type, action, summary, "
                "prev_hash, hash) VALUES (4, :t, 'system', 'request.viewed', '{}', :p, :h)",
            t=db.get(AuditEvent, 3).occurred_at, p="0" * 64, h="f" * 64)
    assert _verify(db).broken_at == 4


def test_swapping_two_events_is_detected(db):
    add_events(db, 6)
    raw_sql(db, "UPDATE audit_event SET id = -1 WHERE id = 3")
    raw_sql(db, "UPDATE audit_event SET id = 3 WHERE id = 4")
    raw_sql(db, "UPDATE audit_event SET id = 4 WHERE id = -1")
    result = _verify(db)
    assert not result.ok
    assert result.broken_at == 3


def test_deleting_the_newest_events_is_caught_only_against_a_recorded_head(db):
    add_events(db, 6)
    recorded = current_head(db)
    raw_sql(db, "DELETE FROM audit_event WHERE id >= 5")
    assert _verify(db).ok  # a shortened chain is still a valid chain...
    result = _verify(db, recorded)
    assert not result.ok  # ...but the head recorded outside the portal is gone
    assert "recorded head (event 6) is not in the chain" in result.reason


def _rewrite_from(db, first_id: int) -> None:
    """Someone with database access edits an event and recomputes every hash after it."""
    events = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    prev_hash = events[first_id - 2].hash if first_id > 1 else "0" * 64
    for event in events[first_id - 1:]:
        if event.id == first_id:
            event.summary = {"n": 12345}
        event.prev_hash = prev_hash
        event.hash = chain_hash(prev_hash, canonical_form(event))
        prev_hash = event.hash
    db.flush()
    commit()


def test_a_chain_rewritten_from_scratch_fails_against_a_recorded_head(db):
    add_events(db, 8)
    recorded = current_head(db)
    _rewrite_from(db, 2)
    assert _verify(db).ok  # internally consistent again
    result = _verify(db, recorded)
    assert not result.ok
    assert result.broken_at == 8
    assert "differs from the recorded head" in result.reason


def test_cli_verify_names_the_first_broken_link_and_exits_non_zero(db, runner):
    add_events(db, 5)
    raw_sql(db, "UPDATE audit_event SET action = 'request.edited' WHERE id = 2")
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "BROKEN at event 2" in result.output


def test_cli_verify_passes_an_intact_chain(db, runner):
    add_events(db, 5)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "OK: 5 event(s) verified" in result.output


def test_cli_head_prints_what_verify_accepts_later(db, runner):
    add_events(db, 4)
    printed = runner.invoke(args=["audit", "head"]).output.strip()
    assert printed == f"4:{db.get(AuditEvent, 4).hash}"
    result = runner.invoke(args=["audit", "verify", "--head", printed])
    assert result.exit_code == 0, result.output
    assert "4 event(s) verified, against 1 recorded head(s)" in result.output


def test_cli_verify_with_a_recorded_head_catches_a_rewrite(db, runner):
    add_events(db, 6)
    printed = runner.invoke(args=["audit", "head"]).output.strip()
    _rewrite_from(db, 3)
    assert runner.invoke(args=["audit", "verify"]).exit_code == 0
    result = runner.invoke(args=["audit", "verify", "--head", printed])
    assert result.exit_code == 1
    assert "differs from the recorded head" in result.output


def test_cli_verify_refuses_a_malformed_head(runner):
    result = runner.invoke(args=["audit", "verify", "--head", "12:not-a-hash"])
    assert result.exit_code == 2
    assert "ID:HASH" in result.output
