"""Fixtures for the release documents: a configured letterhead and rendered sample documents."""

from __future__ import annotations

import pytest

from . import samples


@pytest.fixture(scope="session")
def letterhead():
    return samples.letterhead()
