"""Storing and reading documents: the encrypted store plus the StoredDocument row."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.core.keys import FILE_KEY_FILE, keyed_app_object
from portal.storage.filestore import FileStore, LocalEncryptedFileStore
from portal.storage.models import StoredDocument
from portal.trail.chain import append_event


def file_store() -> FileStore:
    """The app's file store (one per app, created on first use)."""
    return keyed_app_object(
        "file_store", FILE_KEY_FILE, "file-encryption key",
        lambda app, key: LocalEncryptedFileStore(Path(app.config["STORAGE_DIR"]), key),
    )


def save_document(
    session: Session,
    stream: BinaryIO,
    *,
    kind: str,
    filename: str,
    media_type: str,
    actor: Actor,
    max_bytes: int | None = None,
    audit: bool = True,
    **links,
) -> StoredDocument:
    """Encrypt a stream into the store and record it; ``links`` set request_id, part_id, etc."""
    blob = file_store().put(stream, max_bytes=max_bytes)
    document = StoredDocument(
        storage_key=blob.storage_key,
        kind=kind,
        filename=filename[:255],
        media_type=media_type,
        size=blob.size,
        sha256=blob.sha256,
        uploaded_by_staff_id=actor.id if actor.kind == "staff" else None,
        uploaded_by_requester_id=actor.id if actor.kind == "requester" else None,
        **links,
    )
    session.add(document)
    session.flush()
    if audit:
        append_event(
            session, "document.stored", actor=actor, object_type="document",
            object_id=document.id, request_id=document.request_id,
            summary={"kind": kind, "size": blob.size},
        )
    return document


def open_document(document: StoredDocument) -> BinaryIO:
    """A decrypting, verifying stream of a stored document (callers audit the access)."""
    return file_store().open(document.storage_key)
