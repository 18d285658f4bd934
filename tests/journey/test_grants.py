"""Download grants: single-purpose, expiring, count-limited, audited (R-SEC-2, R-AUD-1)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.core.security import SANDBOX_CSP
from portal.release.models import Disclosure, DownloadGrant, Release
from portal.requests.models import Consent
from portal.rules.deadlines import today_pacific
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent
from tests.factories import (
    make_grant,
    make_request,
    make_requester,
    third_party_consent,
)

CODE = "ABCD-2345"


@pytest.fixture
def patient_grant(scope):
    """A patient's own request released for download; returns (requester, request, grant)."""
    with scope() as session:
        requester = make_requester(session)
        req = make_request(session, requester)
        grant, _token = make_grant(session, req)
    return requester, req, grant


@pytest.fixture
def shared(scope):
    """A request for a lawyer by link; returns (request, grant, token)."""
    with scope() as session:
        req = make_request(session, recipient_type="third_party", recipient_name="Morgan Lee",
                           recipient_organisation="Lee & Park LLP",
                           recipient_address="100 Main St\nSpringfield, CA 90000",
                           recipient_email="morgan.lee@example.test",
                           consents=[third_party_consent()])
        grant, token = make_grant(session, req, access_code=CODE)
    return req, grant, token


def _download_url(req, grant) -> str:
    return f"/my-requests/{req.id}/downloads/{grant.id}"


def test_a_grant_expires_after_the_configured_number_of_days(patient_grant, app):
    _requester, _req, grant = patient_grant
    days = app.config["DOWNLOAD_LINK_DAYS"]
    lifetime = grant.expires_at - grant.created_at
    assert timedelta(days=days) - timedelta(seconds=5) < lifetime <= timedelta(days=days)
    assert grant.max_downloads == app.config["DOWNLOAD_MAX_COUNT"]


def test_the_requester_downloads_the_packet_from_their_signed_in_page(client, auth,
                                                                      patient_grant, scope):
    requester, req, grant = patient_grant
    auth.requester(requester.id)
    response = client.get(_download_url(req, grant))
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert "attachment" in response.headers["Content-Disposition"]
    with scope() as session:
        assert session.get(DownloadGrant, grant.id).download_count == 1
        actions = session.scalars(select(AuditEvent.action)).all()
        assert "document.downloaded" in actions
        assert session.scalar(select(Disclosure)) is None  # the patient is not a disclosure


def test_the_download_is_offered_on_the_request_page(client, auth, patient_grant):
    requester, req, grant = patient_grant
    auth.requester(requester.id)
    page = client.get(f"/my-requests/{req.id}").get_data(True)
    assert _download_url(req, grant) in page and "Downloads left: 5" in page


def test_downloads_stop_at_the_configured_limit(client, auth, patient_grant, scope):
    requester, req, grant = patient_grant
    with scope() as session:
        session.get(DownloadGrant, grant.id).max_downloads = 2
    auth.requester(requester.id)
    codes = [client.get(_download_url(req, grant)).status_code for _ in range(3)]
    assert codes == [200, 200, 302]
    page = client.get(f"/my-requests/{req.id}").get_data(True)
    assert "downloaded the most times allowed" in page


def test_an_expired_grant_downloads_nothing(client, auth, patient_grant, scope):
    requester, req, grant = patient_grant
    with scope() as session:
        session.get(DownloadGrant, grant.id).expires_at = datetime.now(UTC) - timedelta(1)
    auth.requester(requester.id)
    response = client.get(_download_url(req, grant))
    assert response.status_code == 302
    assert "has expired" in client.get(response.headers["Location"]).get_data(True)


def test_another_requester_gets_not_found(client, auth, patient_grant, scope):
    _requester, req, grant = patient_grant
    with scope() as session:
        stranger = make_requester(session)
    auth.requester(stranger.id)
    assert client.get(_download_url(req, grant)).status_code == 404


def test_a_tampered_packet_is_never_served_and_uses_no_download(client, auth, patient_grant,
                                                                scope, app):
    from pathlib import Path

    requester, req, grant = patient_grant
    with scope() as session:
        release = session.get(Release, grant.release_id)
        key = session.get(StoredDocument, release.packet_document_id).storage_key
    blob = next(p for p in Path(app.config["STORAGE_DIR"]).rglob(key))
    data = bytearray(blob.read_bytes())
    data[-40] ^= 0xFF
    blob.write_bytes(bytes(data))
    auth.requester(requester.id)
    response = client.get(_download_url(req, grant))
    assert response.status_code == 302
    with scope() as session:
        assert session.get(DownloadGrant, grant.id).download_count == 0


def test_only_the_hash_of_the_link_token_is_stored(shared):
    _req, grant, token = shared
    assert grant.token_hash != token and token not in grant.token_hash


def test_the_third_party_email_holds_the_link_and_nothing_else(shared, outbox):
    (mail,) = [m for m in outbox() if m["To"] == "morgan.lee@example.test"]
    body = mail.get_content()
    assert mail["Subject"] == "A secure link for you"
    assert "/shared/" in body and "access code" in body
    for secret in ("Avery", "Quill", "Canyon", CODE):
        assert secret not in body


def test_the_shared_link_asks_for_the_access_code_first(client, shared):
    _req, _grant, token = shared
    page = client.get(f"/shared/{token}")
    assert page.status_code == 200 and "Access code" in page.get_data(True)


def test_a_wrong_access_code_downloads_nothing(client, shared, scope):
    _req, grant, token = shared
    response = client.post(f"/shared/{token}", data={"access_code": "WXYZ-9999"})
    assert response.status_code == 422
    assert "That access code is not right" in response.get_data(True)
    with scope() as session:
        stored = session.get(DownloadGrant, grant.id)
        assert (stored.download_count, stored.failed_code_attempts) == (0, 1)
        assert session.scalar(select(Disclosure)) is None


def test_the_right_access_code_downloads_and_records_a_disclosure_r_aud_1(client, shared, scope):
    """R-AUD-1: date, recipient, address, what, why."""
    req, grant, token = shared
    response = client.post(f"/shared/{token}", data={"access_code": "abcd 2345"})
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Content-Security-Policy"] == SANDBOX_CSP
    with scope() as session:
        disclosure = session.scalar(select(Disclosure))
        assert disclosure.request_id == req.id and disclosure.release_id == grant.release_id
        assert disclosure.recipient_name == "Morgan Lee, Lee & Park LLP"
        assert disclosure.recipient_address.startswith("100 Main St")
        assert disclosure.purpose == "At the request of the patient"
        assert disclosure.packet_sha256


def test_every_third_party_download_is_a_disclosure(client, shared, count):
    _req, _grant, token = shared
    for _ in range(2):
        client.post(f"/shared/{token}", data={"access_code": CODE})
    assert count(Disclosure) == 2


def test_wrong_codes_lock_the_link_at_the_limit(client, shared, app, scope):
    _req, grant, token = shared
    limit = app.config["DOWNLOAD_CODE_MAX_ATTEMPTS"]
    for _ in range(limit):
        response = client.post(f"/shared/{token}", data={"access_code": "WXYZ-9999"})
    assert response.status_code == 410 and "locked" in response.get_data(True)
    right = client.post(f"/shared/{token}", data={"access_code": CODE})
    assert right.status_code == 410 and not right.data.startswith(b"%PDF")


def test_a_revoked_consent_stops_third_party_downloads_r_rel_6(client, shared, scope):
    """R-REL-6: revocation binds from receipt."""
    _req, grant, token = shared
    with scope() as session:
        session.scalar(select(Consent)).revoked_at = datetime.now(UTC)
    response = client.post(f"/shared/{token}", data={"access_code": CODE})
    assert response.status_code == 410 and "permission to share" in response.get_data(True)


def test_an_expired_consent_stops_third_party_downloads_r_rel_3(client, shared, scope):
    """R-REL-3: no further disclosure after the consent's end date."""
    _req, _grant, token = shared
    with scope() as session:
        session.scalar(select(Consent)).expires_on = today_pacific() - timedelta(1)
    response = client.post(f"/shared/{token}", data={"access_code": CODE})
    assert response.status_code == 410 and "permission to share" in response.get_data(True)
    assert not response.data.startswith(b"%PDF")
    with scope() as session:
        # Nothing left: no download counted, no disclosure recorded (R-AUD-1).
        assert session.get(DownloadGrant, _grant.id).download_count == 0
        assert session.scalars(select(Disclosure)).all() == []


def test_an_unknown_link_is_not_found(client):
    assert client.get("/shared/not-a-real-token").status_code == 404


def test_a_new_access_code_replaces_the_old_one(client, auth, shared, scope):
    req, _grant, token = shared
    auth.requester(req.requester_id)
    page = client.post(f"/my-requests/{req.id}/access-code").get_data(True)
    new_code = re.search(r'class="code">([A-Z0-9]{4}-[A-Z0-9]{4})<', page).group(1)
    old = client.post(f"/shared/{token}", data={"access_code": CODE})
    assert old.status_code == 422
    new = client.post(f"/shared/{token}", data={"access_code": new_code})
    assert new.status_code == 200


def _lock(client, app, token) -> None:
    for _ in range(app.config["DOWNLOAD_CODE_MAX_ATTEMPTS"]):
        client.post(f"/shared/{token}", data={"access_code": "WXYZ-9999"})


def test_a_locked_link_is_explained_to_the_requester_and_the_clerk_sends_a_new_one(
        app, client, auth, shared, scope, outbox):
    """#14 part 7: the requester asks through the clerk; the new link works with the code."""
    from tests.factories import make_staff

    req, _grant, token = shared
    with scope() as session:
        session.get(type(req), req.id).status = "released"
        clerk = make_staff(session, "clerk")
    _lock(client, app, token)
    auth.requester(req.requester_id)
    mine = client.get(f"/my-requests/{req.id}").get_data(True)
    assert "The recipient’s link is locked" in mine and "ask the records custodian" in mine
    auth.staff(clerk.id)
    page = client.get(f"/staff/requests/{req.id}").get_data(True)
    assert "The recipient’s download link is locked" in page
    with scope() as session:
        version = session.get(type(req), req.id).version
    sent_before = len(outbox())
    response = client.post(f"/staff/requests/{req.id}/reissue-link",
                           data={"reissue_link-version": version})
    assert response.status_code == 302, response.get_data(True)[:500]
    [mail] = outbox()[sent_before:]
    assert mail["To"] == "morgan.lee@example.test"
    new_path = "/" + re.search(r"https?://\S+", mail.get_content()).group(0).split("/", 3)[3]
    assert new_path != f"/shared/{token}"
    assert client.post(new_path, data={"access_code": CODE}).data.startswith(b"%PDF-")
    assert client.post(f"/shared/{token}", data={"access_code": CODE}).status_code == 410
    with scope() as session:
        assert session.scalar(select(AuditEvent).where(
            AuditEvent.action == "download.link_reissued"))


def test_a_link_that_is_not_locked_is_not_reissued(app, client, auth, shared, scope):
    from tests.factories import make_staff

    req, _grant, _token = shared
    with scope() as session:
        session.get(type(req), req.id).status = "released"
        clerk = make_staff(session, "clerk")
        version = session.get(type(req), req.id).version
    auth.staff(clerk.id)
    assert "download link is locked" not in client.get(f"/staff/requests/{req.id}").get_data(True)
    response = client.post(f"/staff/requests/{req.id}/reissue-link",
                           data={"reissue_link-version": version})
    assert response.status_code == 422
    assert "The recipient&#39;s link is not locked." in response.get_data(True) or \
        "The recipient's link is not locked." in response.get_data(True)
