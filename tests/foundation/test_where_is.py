"""The README's "where is" table names real functions: a move that forgets it fails here."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once

README = Path(__file__).resolve().parents[2] / "README.md"


def _where_is() -> list[tuple[str, str]]:
    text = README.read_text()
    table = text.split("Where things are", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"\| `(portal[\w.]*):(\w+)` \|", table)


def test_the_table_answers_at_least_ten_questions():
    assert len(_where_is()) >= 10


@pytest.mark.parametrize(("module", "name"), _where_is())
def test_each_place_named_in_the_readme_exists(module, name):
    assert callable(getattr(importlib.import_module(module), name))
