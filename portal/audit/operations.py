"""What the auditor does, each step written to the audit trail (R-AUD-2).

The auditor only reads; the one thing written is the record of that reading: an audit event
per page view, export, manifest download and check, and the export's own record. Summaries
hold codes, dates of filters and surrogate ids only (R-SEC-4). Operations flush, never commit.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.exports import ExportPlan
from portal.audit.filters import RequestLogFilter, TrailFilter
from portal.audit.models import ExportRecord
from portal.core.actor import Actor
from portal.core.db import utcnow
from portal.release.models import Disclosure, Release
from portal.requests.models import RecordRequest
from portal.roster.models import RosterPatient
from portal.storage.models import StoredDocument
from portal.trail.chain import append_event, current_head


def record_view(session: Session, actor: Actor, page: str, *, filters: dict | None = None,
                object_type: str | None = None, object_id: int | None = None,
                **counts: int | bool | None) -> None:
    """Audit one auditor page view ('audit.viewed': the page, its filter codes and counts)."""
    summary: dict = {"page": page, **{k: v for k, v in counts.items() if v is not None}}
    if filters:
        summary["filter"] = filters
    append_event(session, "audit.viewed", actor=actor, object_type=object_type, deferred=True,
                 object_id=object_id, summary=summary)


def _exported_by(actor: Actor) -> dict:
    return {"type": actor.kind, "id": actor.id} if actor.id is not None else {"type": actor.kind}


def begin_export(
    session: Session, actor: Actor, kind: str, file_format: str,
    filters: TrailFilter | RequestLogFilter, *, today: date, soon_days: int,
    purpose: str | None = None, purpose_detail: str | None = None,
) -> ExportPlan:
    """Record an export before its first byte leaves: its ExportRecord and 'audit.exported'.

    An identified export carries its purpose (R-AUD-4): the code goes in the audit event too,
    the typed sentence only on the record.

    An audit-trail export is bounded by the chain head now: events appended after this moment
    (this export's own event included) are not in it.
    """
    head = current_head(session) if kind == "audit" else None
    record = ExportRecord(
        export_id=secrets.token_hex(16), kind=kind, file_format=file_format,
        filter=filters.as_dict(), actor_type=actor.kind,
        staff_id=actor.id if actor.kind == "staff" else None, started_at=utcnow(),
        bound_head_id=(head.id if head else 0) if kind == "audit" else None,
        purpose=purpose, purpose_detail=purpose_detail,
    )
    session.add(record)
    session.flush()
    append_event(session, "audit.exported", actor=actor, object_type="export",
                 object_id=record.id,
                 summary={"export": kind, "format": file_format,
                          "bound_head_id": record.bound_head_id, "filter": record.filter,
                          **({"purpose": purpose} if purpose else {})})
    return ExportPlan(
        export_id=record.export_id, kind=kind, file_format=file_format, filters=filters,
        started_at=record.started_at, exported_by=_exported_by(actor),
        bound_head_id=record.bound_head_id, today=today, soon_days=soon_days,
    )


def complete_export(session: Session, actor: Actor, manifest: dict) -> ExportRecord:
    """Store a finished export's signed manifest; its digest goes into the chain too."""
    record = session.scalar(
        select(ExportRecord).where(ExportRecord.export_id == manifest["export_id"])
    )
    record.completed_at = utcnow()
    record.row_count = manifest["rows"]
    record.byte_count = manifest["bytes"]
    record.sha256 = manifest["sha256"]
    record.manifest = json.dumps(manifest, sort_keys=True, ensure_ascii=False)
    session.flush()
    append_event(session, "audit.export_completed", actor=actor, object_type="export",
                 object_id=record.id,
                 summary={"rows": record.row_count, "bytes": record.byte_count,
                          "sha256": record.sha256})
    return record


def manifest_for_download(session: Session, actor: Actor, export_id: str) -> dict | None:
    """The signed manifest of a finished export (None while unfinished); audited."""
    record = session.scalar(select(ExportRecord).where(ExportRecord.export_id == export_id))
    if record is None or record.manifest is None:
        return None
    append_event(session, "audit.manifest_downloaded", actor=actor, object_type="export",
                 object_id=record.id, summary={})
    return json.loads(record.manifest)


@dataclass(frozen=True)
class PacketRelease:
    """One release (and, for a third party, its disclosure) of a packet with a given digest."""

    request_id: int
    reference: str
    released_at: object
    method: str
    recipient_type: str
    recipient_name: str | None
    release_id: int | None


def check_packet(session: Session, actor: Actor, stream: BinaryIO) -> tuple[str, list]:
    """SHA-256 of an uploaded PDF and every release of exactly that file (R-SEC-3); audited."""
    digest = hashlib.sha256()
    for block in iter(lambda: stream.read(1 << 20), b""):
        digest.update(block)
    sha256 = digest.hexdigest()
    found: list[PacketRelease] = []
    releases = session.execute(
        select(Release, RecordRequest.reference)
        .join(RecordRequest, RecordRequest.id == Release.request_id)
        .where(Release.packet_sha256 == sha256).order_by(Release.released_at)
    ).all()
    seen_releases = set()
    for release, reference in releases:
        seen_releases.add(release.id)
        disclosure = session.scalar(select(Disclosure).where(Disclosure.release_id == release.id)
                                    .order_by(Disclosure.id).limit(1))
        found.append(PacketRelease(
            request_id=release.request_id, reference=reference, released_at=release.released_at,
            method=release.method, recipient_type=release.recipient_type,
            recipient_name=disclosure.recipient_name if disclosure else None,
            release_id=release.id,
        ))
    for disclosure, reference in session.execute(
        select(Disclosure, RecordRequest.reference)
        .join(RecordRequest, RecordRequest.id == Disclosure.request_id)
        .where(Disclosure.packet_sha256 == sha256).order_by(Disclosure.disclosed_at)
    ):
        if disclosure.release_id in seen_releases:
            continue
        found.append(PacketRelease(
            request_id=disclosure.request_id, reference=reference,
            released_at=disclosure.disclosed_at, method="disclosure",
            recipient_type="third_party", recipient_name=disclosure.recipient_name,
            release_id=disclosure.release_id,
        ))
    append_event(session, "audit.packet_checked", actor=actor, object_type="release",
                 object_id=found[0].release_id if found else None,
                 summary={"found": bool(found), "releases": len(found)})
    return sha256, found


def find_patient(session: Session, actor: Actor, mrn: str) -> RosterPatient | None:
    """The roster patient with this record number, or None; the lookup is audited."""
    patient = session.scalar(select(RosterPatient).where(RosterPatient.mrn == mrn.strip()))
    append_event(session, "audit.patient_looked_up", actor=actor, object_type="patient",
                 object_id=patient.id if patient else None,
                 summary={"found": patient is not None})
    return patient


def open_original(session: Session, actor: Actor, document_id: int
                  ) -> tuple[StoredDocument, StoredDocument] | None:
    """The upload ``document_id`` and the original kept beside it, or None; the opening is
    audited (R-AUD-2). Only compliance's route calls this: an original is never served
    elsewhere."""
    copy = session.get(StoredDocument, document_id)
    if copy is None:
        return None
    original = session.scalar(select(StoredDocument).where(
        StoredDocument.original_of_id == copy.id, StoredDocument.kind == "original"))
    if original is None:
        return None
    append_event(session, "document.original_opened", actor=actor, object_type="document",
                 object_id=original.id, request_id=copy.request_id, summary={"copy": copy.id})
    return copy, original
