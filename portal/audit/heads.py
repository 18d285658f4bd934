"""Every chain head the portal recorded, and the job that records one each hour (R-AUD-2).

``recorded_heads`` gathers the heads ``audit verify`` checks the chain against: the head file
(AUDIT_HEAD_FILE, outside the database; portal.trail.heads) and the chain head in every
signed export manifest. A manifest or head line whose signature fails is reported, never
trusted. The ``audit.record_head`` job appends the current head to the head file.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import ExportRecord
from portal.core.keys import HEAD_KEY_FILE
from portal.jobs.outbox import JobContext, handler
from portal.trail.chain import ChainHead, RecordedHead, current_head
from portal.trail.heads import HeadReading, append_head, read_head_file, signed_head
from portal.trail.signing import load_private_key, signature_valid

log = logging.getLogger("portal.audit")
RECORD_HEAD_JOB = "audit.record_head"


def head_file(config) -> Path | None:
    """Where heads are appended (AUDIT_HEAD_FILE); None when it is switched off ("off")."""
    value = str(config.get("AUDIT_HEAD_FILE") or "")
    return Path(value) if value and value != "off" else None


def manifest_heads(session: Session, key_dir: str) -> HeadReading:
    """The chain head of each finished export whose manifest's signature verifies."""
    public_key = load_private_key(key_dir).public_key()
    reading = HeadReading([], [])
    rows = session.execute(select(ExportRecord.export_id, ExportRecord.manifest)
                           .where(ExportRecord.manifest.is_not(None))
                           .order_by(ExportRecord.id))
    for export_id, text in rows:
        try:
            manifest = json.loads(text)
        except ValueError:
            reading.problems.append(f"the manifest of export {export_id} is unreadable")
            continue
        if not signature_valid(manifest, public_key):
            reading.problems.append(f"the manifest of export {export_id} does not verify with "
                                    "the export-signing key")
            continue
        head = manifest.get("chain_head")
        if head:
            reading.heads.append(RecordedHead(
                ChainHead(int(head["id"]), str(head["hash"])), str(manifest.get("exported_at")),
                f"the head in export {export_id}'s signed manifest"))
    return reading


def recorded_heads(session: Session, config) -> HeadReading:
    """Every head recorded by the portal: the head file's, then the export manifests'."""
    path = head_file(config)
    if path is not None:
        reading = read_head_file(path, load_private_key(config["KEY_DIR"], HEAD_KEY_FILE)
                                 .public_key())
    else:
        reading = HeadReading([], [])
    manifests = manifest_heads(session, config["KEY_DIR"])
    return HeadReading(reading.heads + manifests.heads, reading.problems + manifests.problems)


def record_head(session: Session, config) -> ChainHead | None:
    """Append the current head, signed with the head key, to the head file."""
    path = head_file(config)
    head = current_head(session)
    if path is None or head is None:
        return None
    append_head(path, signed_head(head, load_private_key(config["KEY_DIR"], HEAD_KEY_FILE)))
    return head


@handler(RECORD_HEAD_JOB)
def _record_head_job(session: Session, _payload: dict, _context: JobContext) -> None:
    head = record_head(session, current_app.config)
    if head is not None:
        log.info("audit chain head %s recorded", head.id)
