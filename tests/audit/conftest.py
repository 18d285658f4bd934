"""Fixtures of the auditor's tests."""

from __future__ import annotations

import pytest

from tests.audit.helpers import sign_in_auditor


@pytest.fixture
def auditor(db, auth):
    """An auditor, signed in on the test client."""
    return sign_in_auditor(db, auth)
