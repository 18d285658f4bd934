"""The Nu HTML Checker over every page the browser tests were sent (#15 part 6).

The live servers keep the HTML of each distinct page they serve (the visited_html fixture); this
module runs last among the browser tests (pytest takes a folder's files in name order), adds a
few public pages of its own so it is never empty, and fails on any error vnu reports. A false
positive goes in tests/browser/vnu-filter.txt with the reason beside it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VNU_JAR = Path(os.environ.get("PORTAL_VNU_JAR",
                              ROOT / ".venv/vnu/node_modules/vnu-jar/build/dist/vnu.jar"))
FILTER = Path(__file__).with_name("vnu-filter.txt")
OWN_PAGES = ("/", "/request", "/sign-in", "/staff/sign-in", "/no-such-page")


def _vnu(directory: Path) -> list[dict]:
    """vnu's error messages for every .html file under ``directory``."""
    java = shutil.which("java")
    if java is None or not VNU_JAR.exists():
        pytest.fail("The Nu HTML Checker needs Java and vnu.jar: run `make test`, which "
                    f"installs both (looked for {VNU_JAR})")
    filters = [line.split("#", 1)[0].strip() for line in FILTER.read_text().splitlines()]
    pattern = "|".join(f"(?:{f})" for f in filters if f)
    command = [java, "-Xss4m", "-jar", str(VNU_JAR), "--errors-only", "--format", "json",
               "--skip-non-html"]
    if pattern:
        command += ["--filterpattern", pattern]
    done = subprocess.run(command + [str(directory)], capture_output=True, text=True,  # noqa: S603
                          timeout=600, check=False)
    return json.loads(done.stderr or '{"messages": []}')["messages"]


def test_every_page_the_browser_tests_saw_is_valid_html(live_server, page, tmp_path,
                                                        visited_html):
    for path in OWN_PAGES:
        page.goto(live_server.url + path)
    pages = dict(visited_html)
    assert len(pages) >= len(OWN_PAGES) - 1  # the error page may equal another 404
    names = {}
    for number, (path, html) in enumerate(pages.values()):
        name = f"page-{number:04d}.html"
        (tmp_path / name).write_text(html)
        names[name] = path
    errors = [m for m in _vnu(tmp_path) if m.get("type") == "error"]
    found = sorted({f"{names.get(Path(m['url']).name, m['url'])}: line {m.get('lastLine')}: "
                    f"{m['message']}" for m in errors})
    assert not found, f"vnu found {len(found)} error(s) in {len(pages)} pages:\n" + \
        "\n".join(found[:60])
