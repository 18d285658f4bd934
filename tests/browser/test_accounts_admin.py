"""The staff administration pages in a real browser: an admin adds a clerk; axe-checked."""

from __future__ import annotations

import pytest

from portal.core.db import commit, get_session
from tests.browser.conftest import sign_in_staff
from tests.factories import make_staff_with_mfa

pytestmark = pytest.mark.browser


def test_an_admin_adds_a_clerk_and_a_second_admin_approves(live_server, page, axe_check):
    with live_server.app.app_context():
        _staff, secret = make_staff_with_mfa(get_session(), "admin",
                                             email="browser.admin2@example.test")
        _other, other_secret = make_staff_with_mfa(get_session(), "admin",
                                                   email="browser.admin4@example.test")
        commit()
    sign_in_staff(page, live_server.url, "browser.admin2@example.test", secret)
    page.get_by_role("heading", name="Staff accounts").wait_for()
    axe_check(page, context="staff list")
    page.get_by_role("link", name="Add a member of staff").click()
    axe_check(page, context="new staff form")
    page.get_by_label("Name").fill("Jordan Clerk")
    page.get_by_label("Work email address").fill("jordan.clerk@example.test")
    page.get_by_label("Records clerk").check()
    page.get_by_role("button", name="Create account").click()
    page.get_by_role("heading", name="Waiting for approval").wait_for()
    assert "/staff/setup/" not in page.content()
    assert page.get_by_role("button", name="Withdraw").count() == 1
    axe_check(page, context="staff edit page with a change waiting")
    # The second administrator approves it.
    page.context.clear_cookies()
    sign_in_staff(page, live_server.url, "browser.admin4@example.test", other_secret)
    page.get_by_role("link", name="Approvals").first.click()
    page.get_by_role("heading", name="Changes waiting for approval").wait_for()
    axe_check(page, context="changes waiting for approval")
    page.get_by_role("button", name="Approve and apply").click()
    page.get_by_text("Approved and applied.").wait_for()
    assert "Nothing is waiting." in page.content()
    assert "/staff/setup/" not in page.content()


def test_an_admin_sees_a_failed_job_with_its_reason_and_runs_it_again(live_server, page,
                                                                       axe_check):
    from portal.jobs.models import FAILED
    from portal.jobs.outbox import enqueue

    with live_server.app.app_context():
        session = get_session()
        staff, secret = make_staff_with_mfa(session, "admin", email="browser.admin3@example.test")
        job = enqueue(session, "jobs.cleanup")
        job.status, job.attempts, job.last_error = FAILED, 8, "TimeoutError"
        commit()
        job_id = job.id
    page.set_viewport_size({"width": 320, "height": 800})
    sign_in_staff(page, live_server.url, "browser.admin3@example.test", secret)
    page.get_by_role("heading", name="Staff accounts").wait_for()
    page.goto(live_server.url + "/staff/admin/jobs")
    page.get_by_role("heading", name="Background jobs").wait_for()
    assert "TimeoutError" in page.locator("table").first.inner_text()
    axe_check(page, context="background jobs page at 320 px")
    page.get_by_role("button", name=f"Run job {job_id} again").click()
    page.get_by_text(f"Job {job_id} will run again.").wait_for()
    assert "No job has failed for good." in page.content()
