"""The README's layout table is the contract: it names every package, in the order they import.

Each row may import only the rows below it (or itself), as read from the code by grimp, the
graph import-linter is built on.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp
import pytest

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]


def _rows() -> list[set[str]]:
    text = (ROOT / "README.md").read_text()
    table = text.split("| Package | What it holds |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.splitlines()[2:]:
        first_cell = line.split("|")[1]
        names = re.findall(r"`([\w.]+?)(?:/|\.py)?`", first_cell)
        rows.append({f"portal.{name}" for name in names if name != "__init__"})
    return rows


def _children() -> set[str]:
    children = set()
    for path in (ROOT / "portal").iterdir():
        if path.is_dir() and (path / "__init__.py").exists():
            children.add(f"portal.{path.name}")
        elif path.suffix == ".py" and path.stem != "__init__":
            children.add(f"portal.{path.stem}")
    return children


def test_the_layout_table_names_every_package_and_module_of_portal():
    named = set().union(*_rows())
    assert named == _children()


def test_each_row_imports_only_the_rows_below_it():
    graph = grimp.build_graph("portal", exclude_type_checking_imports=True)
    rank = {name: index for index, row in enumerate(_rows()) for name in row}
    upward = []
    for importer in sorted(rank):
        for module in {importer, *graph.find_descendants(importer)}:
            for imported in graph.find_modules_directly_imported_by(module):
                parts = imported.split(".")
                if len(parts) < 2 or parts[0] != "portal":
                    continue
                target = ".".join(parts[:2])
                if target in rank and rank[target] < rank[importer]:
                    upward.append(f"{module} -> {imported}")
    assert upward == []
