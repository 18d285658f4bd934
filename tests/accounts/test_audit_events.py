"""R-AUD-2 / R-SEC-4: every account event is audited, with surrogate ids and codes, no email."""

from __future__ import annotations

import json

from sqlalchemy import select

from portal.core.db import commit
from portal.trail.chain import verify_chain
from portal.trail.models import AuditEvent
from tests.accounts.steps import audit_actions, audit_events, enter_code, sign_in
from tests.factories import make_recovery_codes, totp_now


def test_sign_in_failure_lockout_and_sign_out_are_audited(app, client, db, clerk):
    app.config["LOGIN_SLOWDOWN_SECONDS"] = 0
    staff, secret = clerk
    sign_in(client, staff.email, "not my password")
    sign_in(client, staff.email)
    enter_code(client, "000000")
    enter_code(client, totp_now(secret))
    client.post("/staff/sign-out")
    for _ in range(app.config["LOGIN_LOCK_AFTER_FAILURES"]):
        sign_in(client, staff.email, "not my password")
    actions = audit_actions(db)
    for action in ("staff.sign_in_failed", "staff.mfa_failed", "staff.signed_in",
                   "staff.signed_out", "staff.locked_out"):
        assert action in actions
    [signed_in] = audit_events(db, "staff.signed_in")
    assert signed_in.actor_type == "staff" and signed_in.actor_id == staff.id
    assert signed_in.summary["method"] == "totp"


def test_recovery_code_use_is_audited_with_the_codes_left(client, db, clerk):
    staff, _ = clerk
    codes = make_recovery_codes(db, staff)
    commit()
    sign_in(client, staff.email)
    enter_code(client, codes[3])
    [event] = audit_events(db, "staff.recovery_code_used")
    assert event.object_id == staff.id and event.summary["remaining"] == 9


def test_staff_administration_is_audited_and_revocations_name_their_reason(runner, db, clerk):
    runner.invoke(args=["staff", "create", "new.person@example.test", "--role", "clerk"])
    runner.invoke(args=["staff", "reset", clerk[0].email])
    runner.invoke(args=["staff", "deactivate", clerk[0].email])
    actions = audit_actions(db)
    for action in ("staff.created", "staff.setup_link_issued", "staff.password_reset",
                   "staff.sessions_revoked", "staff.deactivated"):
        assert action in actions
    reasons = [e.summary["reason"] for e in audit_events(db, "staff.sessions_revoked")]
    assert reasons == ["password_reset", "deactivated"]


def test_no_account_audit_event_holds_an_email_address(app, client, db, clerk, runner):
    app.config["LOGIN_SLOWDOWN_SECONDS"] = 0
    staff, secret = clerk
    sign_in(client, "nobody@example.test", "whatever it is")
    sign_in(client, staff.email, "not my password")
    sign_in(client, staff.email)
    enter_code(client, totp_now(secret))
    runner.invoke(args=["staff", "create", "new.person@example.test", "--role", "clerk"])
    events = audit_events(db, "staff.sign_in_failed") + audit_events(db, "staff.created")
    assert len(events) == 3
    for event in db.scalars(select(AuditEvent)):
        text = json.dumps(event.summary)
        assert "@" not in text and "nobody" not in text and "example" not in text


def test_account_events_keep_the_audit_chain_intact(client, db, clerk):
    staff, secret = clerk
    sign_in(client, staff.email)
    enter_code(client, totp_now(secret))
    client.post("/staff/sign-out")
    db.expire_all()
    assert audit_events(db, "staff.signed_in") and audit_events(db, "staff.signed_out")
    result = verify_chain(db)
    assert result.ok and result.checked >= 2
