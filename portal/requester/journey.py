"""The requester's side of a request: submit it, follow it, answer the clerk, withdraw, revoke.

Operations flush, never commit, and each writes its audit event (through the lifecycle's
``transition`` where a status changes). Handlers pass the requester's Actor.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import Requester
from portal.accounts.passwords import hash_password
from portal.core.actor import Actor
from portal.core.db import utcnow
from portal.identity import operations as identity
from portal.release.models import DownloadGrant
from portal.requester import forms, wizard
from portal.requests.grants import revoke_grants
from portal.requests.location import schedule_roster_match
from portal.requests.models import Message, RecordRequest
from portal.requests.operations import PART_LABELS, create_request, transition
from portal.rules import lifecycle
from portal.rules.contact import normalize_email
from portal.rules.signatures import DIFFERS
from portal.storage.models import StoredDocument
from portal.storage.operations import delete_document, save_document
from portal.storage.uploads import CleanUpload
from portal.trail.chain import append_event
from portal.trail.models import AuditEvent

# Unambiguous characters only: no 0/O, 1/I/L, so a code read aloud survives.
_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class Submission:
    """A submitted request and, for a third-party link, the access code shown once."""

    request: RecordRequest
    access_code: str | None


@dataclass(frozen=True)
class TimelineEntry:
    """One line of the requester's status timeline."""

    at: datetime
    status: str


def new_access_code() -> str:
    """An 8-character access code shown as XXXX-XXXX (about 40 bits, hashed with Argon2)."""
    code = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


def hash_access_code(code: str) -> str:
    """The stored form of an access code (compared case- and dash-insensitively)."""
    from portal.requests.grants import normalize_access_code

    return hash_password(normalize_access_code(code))


def find_or_create_requester(session: Session, email: str) -> Requester:
    """The requester for an address (one per address); created unconfirmed if new."""
    email = normalize_email(email)
    requester = session.scalar(select(Requester).where(Requester.email == email))
    if requester is None:
        requester = Requester(email=email)
        session.add(requester)
        session.flush()
    return requester


def submit_request(
    session: Session, answers: dict, documents: list[StoredDocument], *, signature_name: str,
    client_ip: str | None, user_agent: str | None,
) -> Submission:
    """Record a signed wizard submission in one transaction (R-REL-1, R-DL-1, R-DL-3).

    Creates the request through create_request, moves the draft's files onto it, records the
    uploaded evidence, emails the confirmation link and schedules the roster match to run
    after the commit (R-ID-5).
    """
    requester = find_or_create_requester(session, wizard.value(answers, "contact", "email"))
    actor = identity.requester_actor(requester, client_ip)
    access_code = None
    if wizard.to_third_party(answers) and wizard.value(answers, "method",
                                                       "delivery") == "download":
        access_code = new_access_code()
    data = wizard.build_new_request(
        answers, signature_name=signature_name, signed_at=utcnow(), signed_ip=client_ip,
        signed_user_agent=(user_agent or "")[:400] or None,
        access_code_hash=hash_access_code(access_code) if access_code else None,
    )
    req = create_request(session, data, requester_id=requester.id, actor=actor)
    for document in documents:
        document.request_id = req.id
        document.draft_id = None
        document.uploaded_by_requester_id = requester.id
    session.flush()
    identity.record_uploaded_evidence(session, req, [d.kind for d in documents])
    _flag_signatures(session, req, answers, signature_name)
    identity.issue_email_confirmation(session, requester, req)
    schedule_roster_match(req.id)
    return Submission(request=req, access_code=access_code)


def _flag_signatures(session: Session, req: RecordRequest, answers: dict,
                     signature_name: str) -> None:
    """R-REL-2: a signature the signer confirmed although it differs from the name they gave
    is valid, and shown to the clerk as a proofing step to weigh with the identity evidence."""
    typed = [("request", signature_name)] + [
        (step, wizard.value(answers, step, "consent_name"))
        for step in ("consent", "notes_consent") if step in wizard.applicable_steps(answers)]
    differing = [where for where, name in typed
                 if forms.signature_outcome(answers, name) == DIFFERS]
    if differing:
        identity.record_signature_differs(session, req, differing)


def requested_labels(req: RecordRequest) -> list[str]:
    """What was asked for, in plain words."""
    return [PART_LABELS.get(part.part, part.part) for part in req.parts]


def timeline(session: Session, req: RecordRequest) -> list[TimelineEntry]:
    """The request's status changes, oldest first, from its audit trail."""
    events = session.execute(
        select(AuditEvent.action, AuditEvent.occurred_at, AuditEvent.summary)
        .where(AuditEvent.request_id == req.id, AuditEvent.action.in_(_STATUS_EVENTS))
        .order_by(AuditEvent.id)
    )
    entries: list[TimelineEntry] = []
    for action, occurred_at, summary in events:
        status = lifecycle.SUBMITTED if action == "request.submitted" else (summary or {}).get("to")
        if status not in lifecycle.STATUS_LABELS:
            continue
        if entries and entries[-1].status == status:
            continue
        entries.append(TimelineEntry(at=occurred_at, status=status))
    return entries


# The events that change a request's status: its submission and each lifecycle transition.
# Reading only these keeps the page's cost independent of how often it was viewed.
_STATUS_EVENTS = ("request.submitted", *(f"request.{name}" for name in lifecycle.TRANSITIONS))


def visible_messages(session: Session, req: RecordRequest) -> list[Message]:
    """Messages the requester may read (never the clerk's internal notes), oldest first."""
    return list(session.scalars(
        select(Message).where(Message.request_id == req.id, Message.internal.is_(False))
        .order_by(Message.created_at, Message.id)
    ))


def attachments_by_message(session: Session, messages: list[Message]) -> dict[int, list]:
    """The files attached to each message."""
    ids = [m.id for m in messages]
    found: dict[int, list[StoredDocument]] = {i: [] for i in ids}
    if ids:
        for document in session.scalars(
            select(StoredDocument).where(StoredDocument.message_id.in_(ids))
            .order_by(StoredDocument.id)
        ):
            found[document.message_id].append(document)
    return found


def mark_messages_read(session: Session, messages: list[Message]) -> None:
    """The requester has now seen the clerk's messages."""
    now = utcnow()
    for message in messages:
        if message.author_type == "staff" and message.read_at is None:
            message.read_at = now
    session.flush()


def record_consent_copy(session: Session, req: RecordRequest, consent, actor: Actor) -> None:
    """R-AUD-2: the signer downloaded their copy of a consent."""
    append_event(session, "consent.copy_downloaded", actor=actor, object_type="consent",
                 object_id=consent.id, request_id=req.id, summary={"scope": consent.scope})


def record_view(session: Session, req: RecordRequest, actor: Actor) -> None:
    """R-AUD-2: a requester opening their request is a view of PHI."""
    append_event(session, "request.viewed", actor=actor, object_type="request", deferred=True,
                 object_id=req.id, request_id=req.id, summary={"by": "requester"})


def record_attachment_download(session: Session, req: RecordRequest, document: StoredDocument,
                               actor: Actor) -> None:
    """R-AUD-2: a requester downloading a file attached to a message is audited."""
    append_event(session, "document.downloaded", actor=actor, object_type="document",
                 object_id=document.id, request_id=req.id, summary={"kind": document.kind})


#: A file the requester attached to a reply that was not sent (another field failed): kept
#: with the request, unseen by the clerk, until the reply is sent or the file removed.
HELD_REPLY_FILE = "held_reply"


def held_reply_files(session: Session, req: RecordRequest) -> list[StoredDocument]:
    """The files kept for the requester's next reply, oldest first."""
    return list(session.scalars(
        select(StoredDocument).where(StoredDocument.request_id == req.id,
                                     StoredDocument.kind == HELD_REPLY_FILE)
        .order_by(StoredDocument.id)))


def hold_reply_files(session: Session, req: RecordRequest, uploads: list[CleanUpload],
                     actor: Actor) -> list[StoredDocument]:
    """Keep files that passed their checks when the reply itself could not be sent, so the
    requester is never asked to choose them again."""
    return [save_document(session, upload.stream(), kind=HELD_REPLY_FILE,
                          filename=upload.filename, media_type=upload.media_type, actor=actor,
                          request_id=req.id, original=upload.original)
            for upload in uploads]


def remove_held_file(session: Session, req: RecordRequest, document_id: int,
                     actor: Actor) -> bool:
    """Drop one kept file (the requester changed their mind); False if there is none."""
    document = next((d for d in held_reply_files(session, req) if d.id == document_id), None)
    if document is None:
        return False
    append_event(session, "document.removed", actor=actor, object_type="document",
                 object_id=document.id, request_id=req.id, summary={"kind": document.kind})
    delete_document(session, document)
    return True


def post_reply(
    session: Session, req: RecordRequest, body: str, uploads: list[CleanUpload], actor: Actor,
) -> Message:
    """The requester answers the clerk, with files (those kept from a reply that failed
    first); an awaited answer resumes the request."""
    message = Message(request_id=req.id, author_type="requester", body=body, internal=False)
    session.add(message)
    session.flush()
    held = held_reply_files(session, req)
    for document in held:
        document.kind, document.message_id = "attachment", message.id
    for upload in uploads:
        save_document(session, upload.stream(), kind="attachment", filename=upload.filename,
                      media_type=upload.media_type, actor=actor, request_id=req.id,
                      message_id=message.id, original=upload.original)
    append_event(session, "message.sent", actor=actor, object_type="message",
                 object_id=message.id, request_id=req.id,
                 summary={"author": "requester", "attachments": len(held) + len(uploads)})
    if req.status == lifecycle.AWAITING_REQUESTER:
        transition(session, req, "requester_answered", actor)
    return message


def withdraw_request(session: Session, req: RecordRequest, actor: Actor,
                     expected_version: int | None) -> None:
    """The requester withdraws the request (lifecycle 'withdraw')."""
    transition(session, req, "withdraw", actor, expected_version=expected_version)


def can_revoke_consent(req: RecordRequest) -> bool:
    """A consent on file that is not revoked yet (R-REL-6)."""
    return req.recipient_type == "third_party" and any(c.revoked_at is None for c in req.consents)


def revoke_consent(session: Session, req: RecordRequest, actor: Actor,
                   expected_version: int | None) -> None:
    """R-REL-6: revocation binds from now: no release not yet made, no further downloads.

    Before release the request stops ('revoke_consent'); after a release, what was already
    sent stands, and any third-party download not yet used is cancelled.
    """
    from portal.requests.operations import check_version

    check_version(req, expected_version)
    now = utcnow()
    revoked = [c for c in req.consents if c.revoked_at is None]
    for consent in revoked:
        consent.revoked_at = now
        consent.revocation_note = "Revoked by the requester through the portal"
    session.flush()
    append_event(session, "consent.revoked", actor=actor, object_type="request", object_id=req.id,
                 request_id=req.id, summary={"consents": [c.id for c in revoked]})
    revoke_grants(session, req, recipient_type="third_party", actor=actor,
                  reason="consent_revoked")
    if req.status in lifecycle.TRANSITIONS["revoke_consent"].sources:
        transition(session, req, "revoke_consent", actor)


def reset_access_code(session: Session, req: RecordRequest, actor: Actor) -> str:
    """A new access code for the third party; the old one stops working at once."""
    code = new_access_code()
    req.access_code_hash = hash_access_code(code)
    for grant in session.scalars(select(DownloadGrant).where(
            DownloadGrant.request_id == req.id, DownloadGrant.recipient_type == "third_party",
            DownloadGrant.revoked_at.is_(None))):
        grant.access_code_hash = req.access_code_hash
        grant.failed_code_attempts = 0
    session.flush()
    append_event(session, "access_code.reset", actor=actor, object_type="request",
                 object_id=req.id, request_id=req.id, summary={})
    return code


def confirm_while_signed_in(session: Session, req: RecordRequest, requester: Requester,
                            actor: Actor) -> None:
    """A requester signed in by emailed link has just proved control of the address."""
    identity.mark_email_confirmed(session, requester, req, actor,
                                  note="Confirmed while signed in by an emailed link")


def extension_notice(req: RecordRequest) -> dict | None:
    """The extension the requester must be told about (R-DL-2), or None."""
    if not req.hipaa_extended_due_on:
        return None
    return {"new_due_on": req.hipaa_extended_due_on, "reason": req.extension_reason}
