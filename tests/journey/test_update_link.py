"""An update email's link: it lands on the update itself, once, for a day, and opens only the
request the email was about (#15 part 3; R-SEC-4 and R-SEC-6 for the email itself)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.identity.models import EmailToken
from portal.trail.models import AuditEvent
from tests.factories import advance_request, make_request, make_requester
from tests.journey.clerk import ask_for_information, clerk

QUESTION = "Please send a clearer photo of your ID."


def _path(mail) -> str:
    link = re.search(r"https?://\S+", mail.get_content()).group(0)
    return "/" + link.split("/", 3)[3]


@pytest.fixture
def two_requests(scope):
    """One requester with two requests; the clerk asks a question on the second."""
    with scope() as session:
        requester = make_requester(session, "avery@example.test")
        first = make_request(session, requester)
        second = make_request(session, requester)
        staff, actor = clerk(session)
        advance_request(session, second, staff, "identity_review")
        ask_for_information(session, second, actor, QUESTION)
        return first.id, second.id


def test_the_update_email_is_neutral_and_carries_a_link_to_the_update(two_requests, outbox):
    (mail,) = [m for m in outbox() if m["To"] == "avery@example.test"]
    assert mail["Subject"] == "There is an update to your request"
    assert mail["From"].startswith("Records Custodian")
    body = mail.get_content()
    assert "/update/" in _path(mail) and "24 hours" in body
    for secret in ("clearer photo", "Avery", "Quill", "Canyon", "CPP-"):
        assert secret not in body


def test_the_link_lands_on_the_question_at_the_top_of_the_request(client, two_requests,
                                                                  outbox, scope):
    _first, second = two_requests
    path = _path(outbox()[-1])
    page = client.get(path)  # a mail scanner's fetch uses nothing up
    assert page.status_code == 200 and "See the update" in page.get_data(True)
    response = client.post(path)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/my-requests/{second}#update")
    html = client.get(f"/my-requests/{second}").get_data(True)
    update = html.split('<div id="update">', 1)[1].split("</div>\n", 1)[0]
    assert "We need something from you" in update and QUESTION in update
    assert html.index(QUESTION) < html.index("What has happened so far")
    with scope() as session:
        event = session.scalars(select(AuditEvent).where(
            AuditEvent.action == "requester.signed_in")).one()
        assert event.summary == {"via": "update_link", "request": second}


def test_the_link_opens_only_that_request(client, two_requests, outbox):
    first, second = two_requests
    client.post(_path(outbox()[-1]))
    assert client.get(f"/my-requests/{second}").status_code == 200
    assert client.get(f"/my-requests/{first}").status_code == 404
    listing = client.get("/my-requests").get_data(True)
    assert f"/my-requests/{second}" in listing and f"/my-requests/{first}\"" not in listing
    assert "only that request is shown" in listing


def test_the_link_works_once_and_for_24_hours(client, app, two_requests, outbox, scope):
    path = _path(outbox()[-1])
    with scope() as session:
        token = session.scalar(select(EmailToken).where(EmailToken.purpose == "update_link"))
        assert token.expires_at - token.created_at == timedelta(hours=24)
    assert client.post(path).status_code == 302
    assert app.test_client().post(path).status_code == 404
    with scope() as session:
        for token in session.scalars(select(EmailToken)):
            token.used_at = None
            token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert app.test_client().post(path).status_code == 404


def test_a_sign_in_by_email_address_still_opens_every_request(client, two_requests, outbox):
    first, second = two_requests
    client.post("/sign-in", data={"email": "avery@example.test"})
    client.post(_path(outbox()[-1]))
    for request_id in (first, second):
        assert client.get(f"/my-requests/{request_id}").status_code == 200
    assert "only that request is shown" not in client.get("/my-requests").get_data(True)
