"""Status words: staff read plain staff words; the requester keeps the words written for them."""

from __future__ import annotations

from html import unescape

from portal.core.db import commit
from portal.rules.lifecycle import STAFF_STATUS_LABELS, STATUS_LABELS, SUBMITTED
from tests.factories import make_request, make_requester, make_staff


def test_every_status_has_staff_words():
    assert STAFF_STATUS_LABELS.keys() == STATUS_LABELS.keys()


def test_clerk_queue_shows_staff_status_words(db, client, auth):
    clerk = make_staff(db, "clerk")
    make_request(db)
    commit()
    auth.staff(clerk.id)
    page = unescape(client.get("/staff/queue").get_data(as_text=True))
    assert STAFF_STATUS_LABELS[SUBMITTED] in page
    assert STATUS_LABELS[SUBMITTED] not in page


def test_clerk_request_page_shows_staff_status_words(db, client, auth):
    clerk = make_staff(db, "clerk")
    req = make_request(db)
    commit()
    auth.staff(clerk.id)
    page = unescape(client.get(f"/staff/requests/{req.id}").get_data(as_text=True))
    assert STAFF_STATUS_LABELS[SUBMITTED] in page
    assert STATUS_LABELS[SUBMITTED] not in page


def test_requester_page_keeps_requester_status_words(db, client, auth):
    requester = make_requester(db)
    req = make_request(db, requester)
    commit()
    auth.requester(requester.id)
    page = unescape(client.get(f"/my-requests/{req.id}").get_data(as_text=True))
    assert STATUS_LABELS[SUBMITTED] in page
    assert STAFF_STATUS_LABELS[SUBMITTED] not in page
