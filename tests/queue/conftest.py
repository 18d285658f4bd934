"""Fixtures of the clerk's workspace tests: a clerk, and that clerk signed in."""

from __future__ import annotations

import pytest

from portal.core.db import commit
from tests.factories import make_staff


@pytest.fixture
def clerk(db):
    return make_staff(db, "clerk")


@pytest.fixture
def signed_in(auth, clerk):
    """The clerk, committed and signed in on the test client."""
    commit()
    auth.staff(clerk.id)
    return clerk
