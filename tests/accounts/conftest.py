"""Fixtures of the accounts tests: an enrolled clerk and an administrator."""

from __future__ import annotations

import pytest

from portal.core.db import commit
from tests.factories import make_staff_with_mfa


@pytest.fixture
def clerk(db):
    """An enrolled clerk: (staff, totp secret)."""
    staff, secret = make_staff_with_mfa(db, "clerk", email="casey.clerk@example.test")
    commit()
    return staff, secret


@pytest.fixture
def admin(db):
    """An enrolled administrator without a working role: (staff, totp secret)."""
    staff, secret = make_staff_with_mfa(db, "admin", email="ada.admin@example.test")
    commit()
    return staff, secret


@pytest.fixture
def second_admin(db):
    """Another enrolled administrator, to approve what the first asks for."""
    staff, secret = make_staff_with_mfa(db, "admin", email="bo.admin@example.test")
    commit()
    return staff, secret

