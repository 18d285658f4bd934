"""The staff pages a clerk uses most, at 320 px: axe-clean and without sideways page scrolling.

Wide tables scroll inside their own focusable, labelled region (WCAG 1.4.10 reflow,
scrollable-region-focusable), never the whole page.
"""

from __future__ import annotations

import pytest

from tests.browser.test_queue_clerk import Clerk, new_request_with_photo_id, work
from tests.factories import make_staff_with_mfa

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("path", ["/staff/queue", "/staff/workload", "/staff/roster"])
def test_staff_pages_work_at_320_px(live_server, page, axe_check, narrow, path):
    with work(live_server) as session:
        _staff, secret = make_staff_with_mfa(session, "clerk", "supervisor",
                                             email="narrow.clerk@example.test")
    new_request_with_photo_id(live_server)
    clerk = Clerk(page, axe_check, live_server.url)
    clerk.sign_in("narrow.clerk@example.test", secret)
    page.goto(live_server.url + path)
    narrow()
    axe_check(page, context=f"{path} at 320 px")
