"""`flask staff create|reset|deactivate`: one-time setup links built from BASE_URL."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from portal.accounts.models import AuthSession, StaffUser
from portal.core.db import utcnow
from portal.core.tokens import token_hash
from portal.rules.deadlines import PROGRAM_TIME_ZONE
from tests.accounts.steps import signed_in
from tests.conftest import AuthActions


def _link(output: str) -> str:
    return next(word for word in output.split() if "/staff/setup/" in word)


def _staff(db, email: str) -> StaffUser | None:
    db.expire_all()
    return db.scalar(select(StaffUser).where(StaffUser.email == email))


def test_staff_create_prints_a_setup_link_from_base_url_and_its_expiry(app, runner, db):
    app.config["BASE_URL"] = "https://records.example.org/"
    result = runner.invoke(args=["staff", "create", "New.Clerk@example.test", "--role", "clerk",
                                 "--role", "supervisor", "--name", "New Clerk",
                                 "--licensed-reviewer"])
    assert result.exit_code == 0, result.output
    link = _link(result.output)
    assert link.startswith("https://records.example.org/staff/setup/")
    staff = _staff(db, "new.clerk@example.test")
    # The expiry in Los Angeles time, named PST or PDT by the season.
    expires = staff.setup_token_expires_at.astimezone(PROGRAM_TIME_ZONE)
    clock = f"{expires:%-I:%M} {'a.m.' if expires.hour < 12 else 'p.m.'} {expires:%Z}"
    assert f"It stops working at {expires:%B} {expires.day}, {expires.year}, {clock}." \
        in result.output
    assert staff.role_names == {"clerk", "supervisor"} and staff.is_licensed_reviewer
    # Only the token's hash is stored; the link lasts 72 hours by default.
    assert staff.setup_token_hash == token_hash(link.rsplit("/", 1)[1])
    left = staff.setup_token_expires_at - utcnow()
    assert timedelta(hours=71, minutes=59) < left <= timedelta(hours=72)


def test_staff_create_refuses_an_unknown_role(runner, db):
    result = runner.invoke(args=["staff", "create", "x@example.test", "--role", "superuser"])
    assert result.exit_code == 1
    assert "Unknown role: superuser" in result.output
    assert _staff(db, "x@example.test") is None


def test_staff_create_refuses_a_duplicate_email(runner, clerk):
    result = runner.invoke(args=["staff", "create", clerk[0].email.upper(), "--role", "clerk"])
    assert result.exit_code == 1
    assert "already exists" in result.output


def test_staff_create_requires_a_role(runner):
    result = runner.invoke(args=["staff", "create", "x@example.test"])
    assert result.exit_code == 2
    assert "--role" in result.output


def test_staff_reset_issues_a_new_link_and_ends_sessions(app, runner, db, clerk):
    client = app.test_client()
    AuthActions(app, client).staff(clerk[0].id)
    result = runner.invoke(args=["staff", "reset", clerk[0].email])
    assert result.exit_code == 0, result.output
    assert _link(result.output).startswith("http://localhost/staff/setup/")
    staff = _staff(db, clerk[0].email)
    assert staff.password_hash is None
    assert staff.mfa_enrolled_at is not None, "MFA stays unless --reset-mfa"
    assert not signed_in(client)
    reasons = db.scalars(select(AuthSession.revoked_reason)
                         .where(AuthSession.staff_id == staff.id)).all()
    assert reasons == ["password_reset"]


def test_staff_reset_with_reset_mfa_forgets_the_authenticator(runner, db, clerk):
    result = runner.invoke(args=["staff", "reset", clerk[0].email, "--reset-mfa"])
    assert result.exit_code == 0, result.output
    staff = _staff(db, clerk[0].email)
    assert staff.mfa_enrolled_at is None and staff.totp_secret_encrypted is None


def test_staff_reset_of_an_unknown_email_says_so(runner):
    result = runner.invoke(args=["staff", "reset", "nobody@example.test"])
    assert result.exit_code == 1
    assert "no staff account with that email" in result.output


def test_staff_deactivate_stops_sign_in_and_ends_sessions(app, runner, db, clerk):
    client = app.test_client()
    AuthActions(app, client).staff(clerk[0].id)
    result = runner.invoke(args=["staff", "deactivate", clerk[0].email])
    assert result.exit_code == 0, result.output
    assert not _staff(db, clerk[0].email).is_active
    assert not signed_in(client)
