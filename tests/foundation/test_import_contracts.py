"""The import contracts of setup.cfg: present, complete, and able to fail (README "Layout").

`make test` runs `lint-imports` over the real tree. These tests make sure nobody goes green by
deleting or narrowing a contract, and that a package breaking the contracts makes lint-imports
fail with a message naming the import.
"""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

#: Every contract the layout rests on, by id, with its type.
CONTRACTS = {
    "rules-pure": "forbidden",
    "core-kernel": "forbidden",
    "trail-kernel": "forbidden",
    "jobs-kernel": "forbidden",
    "pdf-plain-values": "forbidden",
    "area-layers": "layers",
    "domain-below-web": "forbidden",
    "no-cycles": "acyclic_siblings",
}


def _config() -> configparser.ConfigParser:
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return config


def _lines(value: str) -> set[str]:
    return {line.strip() for line in value.splitlines() if line.strip()}


def _portal_children() -> set[str]:
    """Every package and module directly under portal/, as dotted names."""
    children = set()
    for path in (ROOT / "portal").iterdir():
        if path.name.startswith(("_", ".")) or path.name in ("static",):
            continue
        if path.is_dir() and (path / "__init__.py").exists():
            children.add(f"portal.{path.name}")
        elif path.suffix == ".py":
            children.add(f"portal.{path.stem}")
    return children


def test_every_named_contract_is_defined_with_its_type():
    config = _config()
    assert config.get("importlinter", "root_package") == "portal"
    assert config.getboolean("importlinter", "include_external_packages")
    for contract, kind in CONTRACTS.items():
        section = f"importlinter:contract:{contract}"
        assert config.has_section(section), f"contract {contract} is missing from setup.cfg"
        assert config.get(section, "type") == kind


def test_the_no_cycle_contract_covers_every_package_of_portal():
    section = _config()["importlinter:contract:no-cycles"]
    assert _lines(section["ancestors"]) == {"portal"} and section["depth"] == "1"


def test_the_rules_may_import_nothing_else_of_portal_nor_flask_or_sqlalchemy():
    forbidden = _lines(_config().get("importlinter:contract:rules-pure", "forbidden_modules"))
    assert _portal_children() - {"portal.rules"} <= forbidden
    assert {"flask", "sqlalchemy", "werkzeug", "wtforms", "jinja2"} <= forbidden


@pytest.mark.parametrize(("contract", "allowed"), [
    ("core-kernel", {"portal.core", "portal.rules", "portal.config", "portal.init_instance"}),
    ("trail-kernel", {"portal.trail", "portal.core", "portal.rules", "portal.config",
                      "portal.init_instance"}),
    ("jobs-kernel", {"portal.jobs", "portal.trail", "portal.core", "portal.rules",
                     "portal.config", "portal.init_instance"}),
])
def test_each_kernel_is_forbidden_every_area(contract, allowed):
    section = f"importlinter:contract:{contract}"
    forbidden = _lines(_config().get(section, "forbidden_modules"))
    assert _portal_children() - allowed <= forbidden


def _lint(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True,
                          text=True, timeout=120, check=False)


@pytest.fixture
def tree_copy(tmp_path) -> Path:
    """A copy of portal/ and setup.cfg to break on purpose."""
    shutil.copytree(ROOT / "portal", tmp_path / "portal",
                    ignore=shutil.ignore_patterns("__pycache__", "static", "fonts"))
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    return tmp_path


def test_the_real_tree_keeps_every_contract(tree_copy):
    result = _lint(tree_copy)
    assert result.returncode == 0, result.stdout
    assert f"Contracts: {len(CONTRACTS)} kept, 0 broken." in result.stdout


@pytest.mark.parametrize(("module", "code", "message"), [
    ("portal/rules/_violation.py", "import flask\n",
     "portal.rules._violation -> flask"),
    ("portal/rules/_violation.py", "from portal.requests import models\n",
     "portal.rules is not allowed to import portal.requests"),
    ("portal/trail/_violation.py", "from portal.requests import operations\n",
     "portal.trail is not allowed to import portal.requests"),
    ("portal/core/_violation.py", "from portal.queue import page\n",
     "portal.core is not allowed to import portal.queue"),
    ("portal/release/pdf.py", "\nfrom portal.requests.models import RecordRequest\n",
     "portal.release.pdf -> portal.requests.models"),
    ("portal/requests/actions.py", "\nfrom portal.queue import controllers\n",
     "portal.requests is not allowed to import portal.queue"),
    ("portal/requests/models.py", "\nfrom portal.requests import operations\n",
     "portal.requests.models is not allowed to import portal.requests.operations"),
    ("portal/storage/operations.py", "\nfrom portal.identity import previews\n",
     "- .storage -> .identity (1 import)"),
])
def test_a_package_breaking_a_contract_fails_lint_imports_naming_the_import(
        tree_copy, module, code, message):
    path = tree_copy / module
    path.write_text((path.read_text() if path.exists() else "") + code)
    result = _lint(tree_copy)
    assert result.returncode == 1
    assert message in result.stdout, result.stdout
