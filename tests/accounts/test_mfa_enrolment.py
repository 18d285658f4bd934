"""R-SEC-1 MFA enrolment: QR code and typed key, secret encrypted at rest, recovery codes once."""

from __future__ import annotations

import re

import pytest
from cryptography.exceptions import InvalidTag
from sqlalchemy import select

from portal.accounts import mfa
from portal.accounts.models import RecoveryCode, StaffUser
from portal.core.db import commit, utcnow
from tests.accounts.steps import PASSWORD, enter_code, sign_in, signed_in
from tests.factories import make_staff, totp_code

RECOVERY = re.compile(r"\b[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}\b")


def _new_clerk(db) -> StaffUser:
    staff = make_staff(db, "clerk", password=PASSWORD)
    commit()
    return staff


def _secret(db, staff) -> str:
    db.expire_all()
    row = db.get(StaffUser, staff.id)
    return mfa.decrypt_secret(row.id, row.totp_secret_encrypted)


def test_first_sign_in_shows_a_server_rendered_qr_code_and_the_typed_key(client, db):
    staff = _new_clerk(db)
    sign_in(client, staff.email)
    page = client.get("/staff/mfa").get_data(as_text=True)
    secret = _secret(db, staff)
    assert 'src="data:image/svg+xml' in page
    assert mfa.grouped_secret(secret) in page
    assert "<script" not in page.split("</head>")[1], "no inline script on the enrolment page"


def test_the_enrolment_key_stays_the_same_when_the_page_is_reloaded(client, db):
    staff = _new_clerk(db)
    sign_in(client, staff.email)
    client.get("/staff/mfa")
    first = _secret(db, staff)
    client.get("/staff/mfa")
    assert _secret(db, staff) == first


def test_the_totp_secret_is_stored_encrypted_and_bound_to_its_owner(client, db):
    staff = _new_clerk(db)
    other = _new_clerk(db)
    sign_in(client, staff.email)
    client.get("/staff/mfa")
    secret = _secret(db, staff)
    blob = db.get(StaffUser, staff.id).totp_secret_encrypted
    assert secret.encode() not in blob
    with pytest.raises(InvalidTag):
        mfa.decrypt_secret(other.id, blob)


def test_confirming_enrolment_shows_ten_recovery_codes_once_and_signs_in(client, db):
    staff = _new_clerk(db)
    sign_in(client, staff.email)
    client.get("/staff/mfa")
    response = enter_code(client, totp_code(_secret(db, staff), utcnow()))
    assert response.status_code == 200
    codes = set(RECOVERY.findall(response.get_data(as_text=True)))
    assert len(codes) == 10
    assert signed_in(client)
    # Stored hashed only, and never shown again.
    stored = db.scalars(select(RecoveryCode.code_hash)
                        .where(RecoveryCode.staff_id == staff.id)).all()
    assert len(stored) == 10 and not codes & set(stored)
    assert not RECOVERY.search(client.get("/staff/mfa", follow_redirects=True)
                               .get_data(as_text=True))


def test_a_wrong_enrolment_code_keeps_the_person_on_the_enrolment_page(client, db):
    staff = _new_clerk(db)
    sign_in(client, staff.email)
    client.get("/staff/mfa")
    response = enter_code(client, "000000")
    assert response.status_code == 400
    assert "That code is not right" in response.get_data(as_text=True)
    assert db.get(StaffUser, staff.id).mfa_enrolled_at is None
    assert not signed_in(client)


def test_the_mfa_page_without_a_password_step_sends_to_sign_in(client):
    response = client.get("/staff/mfa")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/sign-in")
