"""The admin-issued single-use link to set a password: hashed, expiring, used up by its POST."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import StaffUser
from portal.accounts.operations import create_staff
from portal.core.actor import SYSTEM
from portal.core.db import commit, utcnow
from tests.accounts.steps import PASSWORD, sign_in

NEW_PASSWORD = "maple lantern orbit quiet"


@pytest.fixture
def setup_path(db):
    staff, link = create_staff(db, email="sam.new@example.test", display_name="Sam New",
                               roles=["clerk"], licensed=False, actor=SYSTEM)
    commit()
    return link.url.removeprefix("http://localhost")


def _set(client, path, password=NEW_PASSWORD, confirm=None):
    return client.post(path, data={"password": password, "confirm": confirm or password})


def test_opening_the_link_changes_nothing(client, setup_path):
    assert client.get(setup_path).status_code == 200
    assert client.get(setup_path).status_code == 200


def test_setting_a_password_signs_in_to_the_mfa_step_and_uses_the_link_up(client, db,
                                                                          setup_path):
    response = _set(client, setup_path)
    assert response.status_code == 302 and response.headers["Location"] == "/staff/mfa"
    assert "Set up two-step verification" in client.get("/staff/mfa").get_data(as_text=True)
    assert client.get(setup_path).status_code == 404
    assert _set(client, setup_path).status_code == 404


def test_the_new_password_works_at_sign_in(client, setup_path):
    _set(client, setup_path)
    client.post("/staff/sign-out")
    assert sign_in(client, "sam.new@example.test", NEW_PASSWORD).status_code == 302


def test_an_expired_link_is_refused_with_an_explanation(client, db, setup_path):
    staff = db.scalars(select(StaffUser).where(StaffUser.email == "sam.new@example.test")).one()
    staff.setup_token_expires_at = utcnow() - timedelta(seconds=1)
    commit()
    response = client.get(setup_path)
    assert response.status_code == 404
    assert "This link no longer works" in response.get_data(as_text=True)


def test_a_short_password_is_refused_with_the_reason(client, setup_path):
    response = _set(client, setup_path, password="short")
    assert response.status_code == 400
    assert "Use at least 12 characters." in response.get_data(as_text=True)


def test_mismatched_passwords_are_refused(client, setup_path):
    response = _set(client, setup_path, confirm=PASSWORD)
    assert response.status_code == 400
    assert "The two passwords are not the same." in response.get_data(as_text=True)


def test_a_reset_link_replaces_the_earlier_one(client, db, setup_path):
    from portal.accounts.operations import reset_staff_password

    staff = db.scalars(select(StaffUser).where(StaffUser.email == "sam.new@example.test")).one()
    reset_staff_password(db, staff, actor=SYSTEM)
    commit()
    assert client.get(setup_path).status_code == 404
