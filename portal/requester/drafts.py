"""Wizard drafts: answers kept server-side, encrypted, tied to one browser, deleted after N days.

The browser holds only a random token in an HttpOnly cookie; the database holds the token's
hash and the answers encrypted with the field key (AES-GCM, bound to that hash). Files already
uploaded hang off the draft (StoredDocument.draft_id), so nobody is asked for them twice.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.core.actor import SYSTEM
from portal.core.db import utcnow
from portal.core.keys import app_field_cipher as field_cipher
from portal.core.tokens import new_token, token_hash
from portal.jobs.outbox import JobContext, handler
from portal.requests.models import WizardDraft
from portal.storage.models import StoredDocument
from portal.storage.operations import delete_document
from portal.trail.chain import append_event

COOKIE_NAME = "portal_wizard"


def cookie_name() -> str:
    """The draft cookie's name: __Host- prefixed over https (see create_app)."""
    from flask import current_app

    return current_app.config.get("COOKIE_PREFIX", "") + COOKIE_NAME
COOKIE_PATH = "/"
# Guards against a draft being used to store arbitrary amounts of data: enough to keep (and
# show back) a 10,000-character answer, not enough to abuse.
MAX_VALUE_CHARS = 20_000
MAX_STEP_CHARS = 30_000
MAX_VALUES_PER_FIELD = 12
MAX_DRAFT_BYTES = 1024 * 1024


def _context(row: WizardDraft) -> bytes:
    return b"wizard_draft:" + row.browser_token_hash.encode()


def empty_answers() -> dict:
    """A new draft's answers: no step saved yet."""
    return {"steps": {}, "done": [], "signed_over": {}, "receipt": None, "invalid": [],
            "upload_errors": {}}


def draft_lifetime() -> timedelta:
    """How long an untouched draft is kept (WIZARD_DRAFT_DAYS)."""
    return timedelta(days=int(current_app.config["WIZARD_DRAFT_DAYS"]))


def find_draft(session: Session, browser_token: str | None,
               now: datetime | None = None) -> WizardDraft | None:
    """The live draft the browser's cookie names, or None (expired drafts count as none)."""
    if not browser_token or len(browser_token) > 100:
        return None
    row = session.scalar(
        select(WizardDraft).where(WizardDraft.browser_token_hash == token_hash(browser_token))
    )
    if row is None or row.expires_at <= (now or utcnow()):
        return None
    return row


def create_draft(session: Session) -> tuple[WizardDraft, str]:
    """A new, empty draft and the browser token for its cookie."""
    token = new_token()
    row = WizardDraft(browser_token_hash=token_hash(token), data_encrypted=b"",
                      expires_at=utcnow() + draft_lifetime(), meta={})
    _write(row, empty_answers())
    session.add(row)
    session.flush()
    return row, token


def read_answers(row: WizardDraft) -> dict:
    """Decrypt a draft's answers (a tampered value raises cryptography's InvalidTag)."""
    answers = json.loads(field_cipher().decrypt(row.data_encrypted, _context(row)))
    base = empty_answers()
    base.update(answers)
    return base


def _write(row: WizardDraft, answers: dict) -> None:
    plaintext = json.dumps(answers, separators=(",", ":"), sort_keys=True).encode()
    if len(plaintext) > MAX_DRAFT_BYTES:
        raise ValueError("draft too large")
    row.data_encrypted = field_cipher().encrypt(plaintext, _context(row))


def save_answers(session: Session, row: WizardDraft, answers: dict,
                 lifetime: timedelta | None = None) -> None:
    """Encrypt and store the answers; each save keeps the draft another WIZARD_DRAFT_DAYS."""
    _write(row, answers)
    row.updated_at = utcnow()
    row.expires_at = row.updated_at + (lifetime or draft_lifetime())
    session.flush()


def clip_values(values: dict[str, list[str]]) -> dict[str, list[str]]:
    """Typed values as saved for one step, capped so that a draft stays small."""
    budget = MAX_STEP_CHARS
    clipped: dict[str, list[str]] = {}
    for name, items in values.items():
        kept = []
        for item in items[:MAX_VALUES_PER_FIELD]:
            item = item[:min(MAX_VALUE_CHARS, budget)]
            budget -= len(item)
            kept.append(item)
        clipped[name] = kept
    return clipped


def draft_documents(session: Session, row: WizardDraft) -> list[StoredDocument]:
    """Files uploaded to this draft, oldest first."""
    return list(session.scalars(
        select(StoredDocument).where(StoredDocument.draft_id == row.id).order_by(StoredDocument.id)
    ))


def discard_draft(session: Session, row: WizardDraft) -> int:
    """Delete a draft and its files; returns how many files went with it."""
    documents = draft_documents(session, row)
    for document in documents:
        delete_document(session, document)
    session.delete(row)
    session.flush()
    return len(documents)


def purge_expired(session: Session, now: datetime | None = None) -> tuple[int, int]:
    """Delete every expired draft and its files; returns (drafts, files) deleted."""
    now = now or utcnow()
    expired = session.scalars(select(WizardDraft).where(WizardDraft.expires_at <= now)).all()
    files = sum(discard_draft(session, row) for row in expired)
    if expired:
        append_event(session, "draft.purged", actor=SYSTEM, object_type="wizard_draft",
                     summary={"drafts": len(expired), "files": files})
    return len(expired), files


@handler("requester.purge_drafts")
def purge_drafts_job(session: Session, _payload: dict, _context: JobContext) -> None:
    """The daily purge of expired drafts (portal/jobs/dispatch.py SCHEDULE)."""
    purge_expired(session)
