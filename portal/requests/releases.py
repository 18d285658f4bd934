"""Release: build the packet from the attached records and send it by download or by mail.

The release transition runs first, so every guard rail of the lifecycle is checked before any
work is done (R-REL-3: a consent still valid and unrevoked today; R-REL-4: notes only with their
own consent; identity verified and patient located; records attached). Then the packet is built
by portal.release.packet from the encrypted store, stored encrypted itself, and recorded as a
Release with its SHA-256 (R-SEC-3). A mailed release to anyone but the patient is a disclosure
at once (R-AUD-1); a download grant records its disclosure when the recipient downloads.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.release.models import Disclosure, Release
from portal.release.packet import RecordSource, release_packet
from portal.requests import letters
from portal.requests.actions import received_moment
from portal.requests.disclosures import record_disclosure
from portal.requests.grants import create_download_grant
from portal.requests.models import RecordRequest
from portal.requests.operations import PART_LABELS, TransitionRefused, check_version, transition
from portal.rules import lifecycle, outcomes
from portal.rules.deadlines import today_pacific
from portal.storage.models import StoredDocument
from portal.storage.operations import open_document, save_document
from portal.trail.chain import append_event

METHODS = ("download", "mail")


@dataclass(frozen=True)
class ReleaseOutcome:
    """What a release produced: the Release row, and the disclosure when one was recorded."""

    release: Release
    disclosure: Disclosure | None
    closed: bool


def _delivery_problems(req: RecordRequest, method: str, mailed_on: date | None,
                       tracking_number: str | None) -> list[str]:
    if method not in METHODS:
        return ["Choose how the records are sent: secure download or mail."]
    if method == "mail":
        problems = []
        if mailed_on is None:
            problems.append("Enter the date the packet was mailed.")
        elif mailed_on > today_pacific():
            problems.append("The mailing date cannot be in the future.")
        elif mailed_on < req.received_on:
            problems.append("The mailing date is before the request was received.")
        if not (tracking_number or "").strip():
            problems.append("Enter the tracking number of the mailing.")
        return problems
    if req.recipient_type == "third_party":
        if not (req.recipient_email and req.access_code_hash):
            return ["A download for a third party needs their email address and the access "
                    "code the patient chose; neither is on this request. Send it by mail."]
    elif not letters.has_email(req):
        return ["The requester has no email address, so they cannot download. Send it by "
                "mail."]
    return []


def _record_sources(session: Session, req: RecordRequest) -> list[RecordSource]:
    order = {part.id: index for index, part in enumerate(req.parts)}
    released = {p.id for p in req.parts if p.outcome == "released"}
    documents = session.scalars(
        select(StoredDocument).where(StoredDocument.request_id == req.id,
                                     StoredDocument.kind == "record")
        .order_by(StoredDocument.id)
    ).all()
    documents = sorted((doc for doc in documents if doc.part_id in released),
                       key=lambda doc: (order[doc.part_id], doc.id))
    return [
        RecordSource(
            label=f"{PART_LABELS.get(doc.subtype, doc.subtype)}: {doc.filename}",
            sha256=doc.sha256,
            open=lambda doc=doc: open_document(doc),
        )
        for doc in documents
    ]


def _recipient(req: RecordRequest) -> str:
    if req.recipient_type == "third_party":
        return ", ".join(x for x in (req.recipient_name, req.recipient_organisation) if x)
    return letters.requester_display_name(req)


def release_request(
    session: Session, req: RecordRequest, actor: Actor, *, method: str,
    mailed_on: date | None = None, tracking_number: str | None = None,
    expected_version: int | None,
) -> ReleaseOutcome:
    """Release the parts marked 'released': packet, Release row, delivery, disclosure.

    Raises TransitionRefused (plain-language problems) when a guard rail stops it, Conflict
    when the request changed since the clerk loaded it. Closes the request when every part has
    its outcome. Flushes, never commits.
    """
    check_version(req, expected_version)
    problems = _delivery_problems(req, method, mailed_on, tracking_number)
    if problems:
        raise TransitionRefused(problems)
    if req.status == lifecycle.IN_FULFILMENT:
        transition(session, req, "mark_ready", actor)
    transition(session, req, "release", actor, summary={"method": method})

    released_parts = [p for p in req.parts if p.outcome == "released"]
    with tempfile.TemporaryFile(prefix="packet-") as spool:
        result = release_packet(
            spool,
            cover_pdf=letters.cover_letter_pdf(req, released_parts),
            consent_pdfs=letters.consent_copies(req, released_parts),
            records=_record_sources(session, req),
            reference=req.reference,
            recipient=_recipient(req),
            generated_on=today_pacific(),
        )
        spool.seek(0)
        packet = save_document(
            session, spool, kind="packet", filename=f"{req.reference}-released-records.pdf",
            media_type="application/pdf", actor=actor, request_id=req.id, subtype="packet",
        )
    if packet.sha256 != result.sha256:
        raise RuntimeError("the stored packet does not match the packet built")
    packet.page_count = result.page_count
    release = Release(
        request_id=req.id, packet_document_id=packet.id, packet_sha256=result.sha256,
        page_count=result.page_count, recipient_type=req.recipient_type, method=method,
        mailed_on=received_moment(mailed_on) if method == "mail" else None,
        tracking_number=(tracking_number or "").strip() or None if method == "mail" else None,
        released_by_id=actor.id,
    )
    session.add(release)
    session.flush()
    append_event(session, "release.created", actor=actor, object_type="release",
                 object_id=release.id, request_id=req.id,
                 summary={"method": method, "pages": result.page_count,
                          "recipient_type": req.recipient_type,
                          "parts": sorted(p.id for p in released_parts)})

    disclosure = None
    # R-AUD-1: anyone but the patient (a personal representative stands in the patient's
    # place, R-ID-3). A download records its disclosure when the recipient downloads.
    if req.recipient_type == "third_party" and method == "mail":
        disclosure = record_disclosure(session, req, release, actor, via="mail",
                                       disclosed_at=release.mailed_on or release.released_at)
    if method == "download":
        create_download_grant(session, release, recipient_type=req.recipient_type, actor=actor)
    if method == "mail" or req.recipient_type == "third_party":
        letters.notify_requester(req)

    closed = False
    if outcomes.every_part_decided(p.outcome for p in req.parts):
        transition(session, req, "close", actor, summary={"after": "release"})
        closed = True
    return ReleaseOutcome(release=release, disclosure=disclosure, closed=closed)
