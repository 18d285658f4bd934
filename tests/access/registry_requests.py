"""Access rules of the patient journey: public information pages, the wizard, the requester's
pages (the owner only: anyone else gets 404) and the third-party download link."""

from __future__ import annotations

import io

from tests.access.scenario import EVERYONE, Route

OWNER = frozenset({"owner"})
REQUESTERS = frozenset({"owner", "stranger"})
NOBODY: frozenset[str] = frozenset()
SHARED_TOKEN = "access-matrix-shared-download-token"


def _request(s) -> dict:
    return {"request_id": s.request.id}


def _third_party(s) -> dict:
    return {"request_id": s.extra["third_party_request"].id}


ROUTES = {
    # Public information (issue item 1); public.home is in registry_core.
    "public.who_can_ask": Route(EVERYONE),
    "public.timelines": Route(EVERYONE),
    "public.fees": Route(EVERYONE),
    "public.identity": Route(EVERYONE),
    "public.mail_in": Route(EVERYONE),
    "public.mail_in_form": Route(EVERYONE),
    "public.consent_form": Route(EVERYONE),
    "public.privacy": Route(EVERYONE),
    "public.contact": Route(EVERYONE),
    # The wizard: open to anyone; a draft belongs to the browser holding its cookie.
    "requests.about": Route(EVERYONE),
    "requests.start": Route(EVERYONE),
    "requests.begin": Route(EVERYONE),
    "requests.discard": Route(EVERYONE),
    "requests.step": Route(EVERYONE, kwargs=lambda s: {"name": "kind"}),
    "requests.sent": Route(EVERYONE),
    # The receipt is only for the browser that just sent a request: nobody else has one.
    "requests.sent_pdf": Route(NOBODY),
    # The signed-in requester, on their own requests only.
    "requests.my_requests": Route(REQUESTERS),
    "requests.detail": Route(OWNER, kwargs=_request),
    "requests.reply": Route(OWNER, kwargs=_request),
    "requests.withdraw": Route(OWNER, kwargs=_request),
    "requests.revoke_consent": Route(OWNER, kwargs=_third_party),
    "requests.confirm_here": Route(OWNER, kwargs=_request),
    "requests.new_access_code": Route(OWNER, kwargs=_third_party),
    "requests.acknowledgement": Route(OWNER, kwargs=_request),
    "requests.consent_copy": Route(OWNER, kwargs=lambda s: {
        "request_id": s.extra["third_party_request"].id,
        "consent_id": s.extra["third_party_request"].consents[0].id}),
    "requests.download": Route(OWNER, kwargs=lambda s: {
        "request_id": s.request.id, "grant_id": s.extra["patient_grant"].id}),
    "requests.attachment": Route(OWNER, kwargs=lambda s: {
        "request_id": s.request.id, "document_id": s.extra["message_attachment"].id}),
    # The link is the credential; the access code is checked after (a wrong one is a 422).
    "requests.shared_download": Route(EVERYONE, kwargs=lambda s: {
        "token": s.extra["shared_token"]}),
}


def build(db, scenario) -> None:
    """A download for the owner, a third-party request with a link, a message attachment."""
    from portal.core.actor import SYSTEM
    from portal.requests.models import Message
    from portal.storage.operations import save_document
    from tests.factories import make_grant, make_request, sample_pdf, third_party_consent

    grant, _token = make_grant(db, scenario.request)
    scenario.extra["patient_grant"] = grant
    third = make_request(db, scenario.owner, recipient_type="third_party",
                         recipient_name="Morgan Lee", recipient_email="lee@example.test",
                         recipient_address="100 Main St", consents=[third_party_consent()])
    _grant, token = make_grant(db, third, access_code="ABCD-2345")
    scenario.extra["third_party_request"] = third
    scenario.extra["shared_token"] = token
    message = Message(request_id=scenario.request.id, author_type="staff", body="See attached.")
    db.add(message)
    db.flush()
    scenario.extra["message_attachment"] = save_document(
        db, io.BytesIO(sample_pdf()), kind="attachment", filename="form.pdf",
        media_type="application/pdf", actor=SYSTEM, request_id=scenario.request.id,
        message_id=message.id)
