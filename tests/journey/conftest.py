"""Fixtures of the patient-journey tests: row counts and a wizard driver (``scope`` is in
tests/conftest.py)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.journey.samples import Wizard


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
