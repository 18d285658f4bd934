"""The trail cannot be shortened unseen (#14 part 2, R-AUD-2, R-SEC-5).

Deleting the newest events leaves a chain whose every link holds. `audit verify`, with no
option, checks the chain against every head the portal recorded: the head file the hourly job
appends to (outside the database) and the chain head of every signed export manifest.
"""

from __future__ import annotations

import json
import os
import stat

import pytest

from portal.audit.heads import record_head
from portal.core.db import commit
from portal.core.keys import HEAD_KEY_FILE
from portal.trail.chain import ChainHead, current_head, verify_chain
from portal.trail.heads import append_head, signed_head
from portal.trail.signing import load_private_key
from tests.audit.helpers import add_events, export, raw_sql, sign_in_auditor


def _verify(runner):
    return runner.invoke(args=["audit", "verify"])


def _head_lines(app) -> list[dict]:
    with open(app.config["AUDIT_HEAD_FILE"], encoding="utf-8") as handle:
        return [json.loads(line) for line in handle]


def test_the_periodic_job_appends_a_signed_head_to_a_private_file(app, db):
    from portal.jobs.outbox import enqueue

    add_events(db, 3)
    enqueue(db, "audit.record_head", {"slot": "test"})
    commit()  # inline jobs: it runs now
    add_events(db, 2)
    enqueue(db, "audit.record_head", {"slot": "test-2"})
    commit()
    lines = _head_lines(app)
    assert [(line["type"], line["id"]) for line in lines] == [("audit_chain_head", 3),
                                                               ("audit_chain_head", 5)]
    assert lines[1]["hash"] == current_head(db).hash
    assert stat.S_IMODE(os.stat(app.config["AUDIT_HEAD_FILE"]).st_mode) == 0o600


def test_deleting_the_newest_events_fails_verify_against_the_head_file(app, db, runner):
    add_events(db, 6)
    record_head(db, app.config)
    raw_sql(db, "DELETE FROM audit_event WHERE id >= 5")
    result = _verify(runner)
    assert result.exit_code == 1
    assert "the head in audit-heads.jsonl line 1" in result.output
    assert "(event 6) is not in the chain, which ends at event 4" in result.output


def test_deleting_events_below_an_export_manifests_head_fails_verify(app, client, db, auth,
                                                                     runner):
    sign_in_auditor(db, auth)
    add_events(db, 5)
    app.config["AUDIT_HEAD_FILE"] = "off"  # only the manifest holds a head
    _body, manifest, _response = export(client, "/audit/trail/export.csv")
    exported_head = manifest["chain_head"]["id"]
    raw_sql(db, "DELETE FROM audit_event WHERE id >= :first", first=exported_head - 1)
    result = _verify(runner)
    assert result.exit_code == 1
    assert f"export {manifest['export_id']}'s signed manifest" in result.output
    assert "events were deleted" in result.output


def test_a_rewritten_chain_differs_from_the_head_file(app, db, runner):
    add_events(db, 4)
    record_head(db, app.config)
    # Someone rewrites event 4 and recomputes its hash: the chain holds, the head does not.
    from portal.trail.chain import canonical_form, chain_hash
    from portal.trail.models import AuditEvent

    event = db.get(AuditEvent, 4)
    event.summary = {"n": 999}
    event.hash = chain_hash(event.prev_hash, canonical_form(event))
    commit()
    result = _verify(runner)
    assert result.exit_code == 1
    assert "event 4 differs from the head in audit-heads.jsonl line 1" in result.output


def test_an_edited_head_line_is_reported_untrusted(app, db, runner):
    add_events(db, 3)
    record_head(db, app.config)
    path = app.config["AUDIT_HEAD_FILE"]
    line = _head_lines(app)[0]
    line["id"] = 2  # moved back, as if the chain had always ended earlier
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    result = _verify(runner)
    assert result.exit_code == 1
    assert "UNTRUSTED: audit-heads.jsonl line 1: its signature does not verify" in result.output


def test_a_head_signed_with_the_export_key_is_not_taken_for_a_head(app, db, runner):
    """R-SEC-5: one key per kind of signed document."""
    add_events(db, 3)
    export_key = load_private_key(app.config["KEY_DIR"])
    append_head(app.config["AUDIT_HEAD_FILE"], signed_head(current_head(db), export_key))
    result = _verify(runner)
    assert result.exit_code == 1 and "UNTRUSTED" in result.output


def test_an_intact_chain_passes_against_all_its_heads(app, db, runner):
    add_events(db, 3)
    record_head(db, app.config)
    add_events(db, 3)
    record_head(db, app.config)
    add_events(db, 1)
    result = _verify(runner)
    assert result.exit_code == 0, result.output
    assert "OK: 7 event(s) verified, against 2 recorded head(s)" in result.output


def test_the_head_key_is_its_own(app):
    head_key = load_private_key(app.config["KEY_DIR"], HEAD_KEY_FILE)
    export_key = load_private_key(app.config["KEY_DIR"])
    assert head_key.public_key().public_bytes_raw() != export_key.public_key().public_bytes_raw()


ODD_VALUES = [
    {"note": "quote \" backslash \\ slash / tab \t newline \n nul-ish \u0001"},
    {"z": 1, "a": [3, 2, 1], "m": {"y": None, "b": True, "é": "ünïcödé"}},
    {"emoji": "\U0001f525 fire", "rtl": "\u05e9\u05dc\u05d5\u05dd", "line": "\u2028\u2029"},
    {"big": 2 ** 62, "negative": -5, "empty": "", "list": []},
    {},
]


@pytest.mark.parametrize("summary", ODD_VALUES)
def test_the_fast_walk_accepts_odd_values_and_catches_one_changed_byte(db, summary):
    """The walk builds each event's canonical text its own quick way; it must agree with
    canonical_form for every value the trail can hold, on both databases."""
    from portal.core.actor import Actor
    from portal.trail.chain import append_event

    actor = Actor(kind="staff", id=7, client_ip="2001:db8::1")
    append_event(db, "request.viewed", actor=actor, object_type="request", object_id=2 ** 40,
                 request_id=None, summary=summary)
    append_event(db, "odd \"action\" é", actor=actor, summary=summary)
    commit()
    db.expunge_all()
    assert verify_chain(db).ok
    raw_sql(db, "UPDATE audit_event SET client_ip = '2001:db8::2' WHERE id = 2")
    db.expunge_all()
    assert verify_chain(db).broken_at == 2


def test_a_head_given_by_hand_still_counts(db):
    add_events(db, 2)
    db.expunge_all()
    result = verify_chain(db, ChainHead(3, "0" * 64))
    assert not result.ok and "the recorded head (event 3) is not in the chain" in result.reason
