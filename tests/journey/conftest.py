"""Fixtures of the patient-journey tests: short database scopes and a wizard driver."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import func, select

from tests.journey.samples import Wizard


@pytest.fixture
def scope(app):
    """Open a short unit of work (own app context, committed on exit) for setup or checks.

    Each scope has its own session, so what the client's requests did is read fresh and no
    transaction stays open while the client runs. A bare request context lets operations that
    compose emails pick a language, as they would inside a clerk's request.
    """
    from portal.core.db import commit, get_session

    @contextmanager
    def unit():
        with app.test_request_context():
            yield get_session()
            commit()

    return unit


@pytest.fixture
def count(scope):
    """How many rows a model has now (optionally filtered)."""

    def counter(model, *where) -> int:
        with scope() as session:
            return session.scalar(select(func.count()).select_from(model).where(*where))

    return counter


@pytest.fixture
def wizard(client) -> Wizard:
    return Wizard(client)


@pytest.fixture
def stored_files(app):
    """The encrypted blobs in the file store (to prove nothing was stored)."""
    from pathlib import Path

    def files() -> list:
        root = Path(app.config["STORAGE_DIR"])
        return [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(".")]

    return files
