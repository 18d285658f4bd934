"""An auditor in a real browser: sign in with MFA, filter, download both exports with their
manifests, see the dashboard; every page passes axe, and the auditor cannot change anything."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from portal.audit.verify import verify_export
from portal.core.db import commit, get_session
from portal.trail.signing import load_private_key, public_key_pem
from tests.audit.helpers import add_events
from tests.browser.conftest import sign_in_staff
from tests.factories import make_request, make_staff_with_mfa

pytestmark = pytest.mark.browser



@pytest.fixture
def auditor_setup(live_server):
    with live_server.app.app_context():
        session = get_session()
        _staff, secret = make_staff_with_mfa(session, "auditor",
                                             email="browser.auditor@example.test")
        for _ in range(3):
            make_request(session)
        accounting = make_request(session, kind="accounting", parts=["accounting"])
        commit()
        add_events(session, 5)
        return secret, accounting.id


def _sign_in(page, base: str, secret: str) -> None:
    sign_in_staff(page, base, "browser.auditor@example.test", secret)


def _download(page, link_name: str, tmp_path: Path) -> Path:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).first.click()
    download = info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return target


def _check(live_server, file: Path, manifest: Path) -> None:
    key = public_key_pem(load_private_key(live_server.app.config["KEY_DIR"]))
    result = verify_export(file, manifest, key)
    assert result.ok, result.message


def test_an_auditor_filters_downloads_both_exports_and_sees_the_dashboard(
        live_server, page, axe_check, auditor_setup, tmp_path):
    secret, accounting_id = auditor_setup
    base = live_server.url
    _sign_in(page, base, secret)

    page.goto(base + "/audit/")
    page.get_by_role("heading", name="Auditor home").wait_for()
    assert "BEGIN PUBLIC KEY" in page.locator(".key-block").inner_text()
    axe_check(page, context="auditor home")

    page.get_by_role("link", name="Request log").first.click()
    page.get_by_label("Kind").select_option("copies")
    page.get_by_role("button", name="Show requests").click()
    page.wait_for_url(re.compile(r"kind=copies"))
    assert "Requests: 3" in page.locator(".counts").inner_text()
    axe_check(page, context="filtered request log")
    request_log = _download(page, "Download CSV", tmp_path)
    assert len(request_log.read_text().splitlines()) == 4

    page.goto(base + "/audit/trail")
    axe_check(page, context="audit trail")
    trail = _download(page, "Download JSON Lines", tmp_path)
    assert json.loads(trail.read_text().splitlines()[0])["id"] == 1

    page.goto(base + "/audit/exports")
    axe_check(page, context="exports")
    rows = page.locator("tbody tr")
    assert rows.count() == 2
    with page.expect_download() as info:
        rows.nth(0).get_by_role("link", name="Download manifest").click()
    trail_manifest = tmp_path / "trail.manifest.json"
    info.value.save_as(trail_manifest)
    with page.expect_download() as info:
        rows.nth(1).get_by_role("link", name="Download manifest").click()
    log_manifest = tmp_path / "log.manifest.json"
    info.value.save_as(log_manifest)
    _check(live_server, trail, trail_manifest)
    _check(live_server, request_log, log_manifest)

    page.goto(base + "/audit/dashboard")
    assert page.get_by_role("img", name=re.compile("Requests received per month")).is_visible()
    assert page.locator("svg.chart-svg").count() == 5
    axe_check(page, context="dashboard")

    for path in ("/audit/accounting", "/audit/packets"):
        page.goto(base + path)
        axe_check(page, context=path)

    # Read-only: a clerk's action, posted with a valid CSRF token, is refused.
    token = page.locator("input[name=csrf_token]").first.input_value()
    response = page.request.post(f"{base}/staff/requests/{accounting_id}/claim",
                                 form={"csrf_token": token, "version": "1"},
                                 max_redirects=0)
    assert response.status == 403


def test_an_identified_export_says_why_and_the_auditor_list_shows_it(live_server, page,
                                                                     axe_check, tmp_path):
    """R-AUD-4: the purpose is asked first (nothing typed lost on an error), then the file."""
    with live_server.app.app_context():
        session = get_session()
        _staff, secret = make_staff_with_mfa(session, "compliance",
                                             email="browser.compliance@example.test")
        make_request(session, patient_first_name="Zebulon", patient_last_name="Quartermaine")
        commit()
    base = live_server.url
    sign_in_staff(page, base, "browser.compliance@example.test", secret)
    page.goto(base + "/audit/requests")
    page.get_by_role("link", name=re.compile("^Identified CSV")).click()
    axe_check(page, context="identified export purpose")
    page.get_by_label("Why you are exporting names and addresses").select_option("legal")
    page.get_by_role("button", name="Export (CSV)").click()
    assert "Write a sentence about what the export is for." in page.content()
    axe_check(page, context="identified export purpose, refused")
    assert page.get_by_label("Why you are exporting names and addresses").input_value() \
        == "legal"
    page.get_by_label("In a sentence: who asked, or what it is for").fill(
        "Subpoena in the Quill estate matter.")
    with page.expect_download() as info:
        page.get_by_role("button", name="Export (CSV)").click()
    target = tmp_path / "identified.csv"
    info.value.save_as(target)
    assert "Quartermaine" in target.read_text()
    page.goto(base + "/audit/exports")
    axe_check(page, context="exports with identified ones")
    listed = page.locator("#identified ~ .table-wrap").inner_text()
    assert "Subpoena in the Quill estate matter." in listed
