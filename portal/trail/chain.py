"""Append-only, hash-chained audit events (R-AUD-2) and their verification.

Each event's hash is SHA-256 over the previous event's hash followed by the event's canonical
form: JSON with sorted keys, compact separators, and the timestamp as an ISO-8601 string computed
in Python before the insert, so the chain verifies identically on SQLite and PostgreSQL. Ids are
assigned here (head id + 1) under a lock, so the chain is gap-free and cannot fork.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from json.encoder import encode_basestring as _encode_string

from sqlalchemy import event as sa_event
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.core.db import take_write_lock
from portal.trail.models import AuditEvent

GENESIS_HASH = "0" * 64
# Arbitrary constant naming the PostgreSQL advisory lock that serializes appends.
_PG_AUDIT_LOCK = 7_364_021

_ALLOWED_SCALARS = (str, int, bool, type(None))


@dataclass(frozen=True)
class ChainHead:
    """The last event of the chain: record it outside the portal to detect a full rewrite."""

    id: int
    hash: str


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of walking the chain: ok, how many events, and the first broken link if any."""

    ok: bool
    checked: int
    head: ChainHead | None
    broken_at: int | None = None
    reason: str | None = None


def _check_summary(value: object, path: str = "summary") -> None:
    """Summaries hold ids, codes and flags only: floats would not round-trip identically."""
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise TypeError(f"{path} keys must be strings")
            _check_summary(item, f"{path}.{key}")
    elif isinstance(value, list):
        for item in value:
            _check_summary(item, path)
    elif not isinstance(value, _ALLOWED_SCALARS):
        raise TypeError(f"{path} holds a {type(value).__name__}; use str, int, bool or None")


def format_timestamp(moment: datetime) -> str:
    """The canonical timestamp: UTC, microseconds, explicit offset."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_form(event: AuditEvent | dict) -> str:
    """The exact text that is hashed for an event (also used by exports and outside checks)."""
    get = event.get if isinstance(event, dict) else lambda name: getattr(event, name)
    occurred = get("occurred_at")
    payload = {
        "id": get("id"),
        "occurred_at": occurred if isinstance(occurred, str) else format_timestamp(occurred),
        "actor_type": get("actor_type"),
        "actor_id": get("actor_id"),
        "action": get("action"),
        "object_type": get("object_type"),
        "object_id": get("object_id"),
        "request_id": get("request_id"),
        "client_ip": get("client_ip"),
        "summary": get("summary"),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def chain_hash(prev_hash: str, canonical: str) -> str:
    """SHA-256 of the previous hash followed by the canonical form."""
    return hashlib.sha256((prev_hash + canonical).encode("utf-8")).hexdigest()


def _lock_chain(session: Session) -> None:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_AUDIT_LOCK})
    else:
        # SQLite: the database's single write lock serializes appends; a page that started as a
        # read snapshot takes it now, before the head is read (portal.core.db).
        take_write_lock(session)


def current_head(session: Session) -> ChainHead | None:
    """The newest event, or None for an empty chain."""
    row = session.execute(
        select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)
    ).first()
    return ChainHead(id=row.id, hash=row.hash) if row else None


def append_event(
    session: Session,
    action: str,
    *,
    actor: Actor,
    object_type: str | None = None,
    object_id: int | None = None,
    request_id: int | None = None,
    summary: dict | None = None,
    occurred_at: datetime | None = None,
    deferred: bool = False,
) -> AuditEvent | None:
    """Append one event to the chain inside the caller's transaction (flushes, never commits).

    Appends are serialized (one chain, no forks), so the lock is held from the append to the
    commit. ``deferred`` (for events that only record what a page showed) writes the event
    just before the commit instead, so a page view holds the lock for its insert only, not
    while the page renders; it is then written or rolled back with the rest, and None is
    returned.
    """
    summary = dict(summary or {})
    _check_summary(summary)
    fields = {
        "occurred_at": (occurred_at or datetime.now(UTC)).astimezone(UTC),
        "actor_type": actor.kind, "actor_id": actor.id, "action": action,
        "object_type": object_type, "object_id": object_id, "request_id": request_id,
        "client_ip": actor.client_ip, "summary": summary,
    }
    if deferred:
        session.info.setdefault(_PENDING, []).append(fields)
        return None
    return _write(session, fields)


_PENDING = "portal_pending_audit_events"


def _write(session: Session, fields: dict) -> AuditEvent:
    _lock_chain(session)
    head = current_head(session)
    prev_hash = head.hash if head else GENESIS_HASH
    event = AuditEvent(id=(head.id + 1) if head else 1, prev_hash=prev_hash, **fields)
    event.hash = chain_hash(prev_hash, canonical_form(event))
    session.add(event)
    session.flush()
    return event


@sa_event.listens_for(Session, "before_commit")
def _write_deferred(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for fields in session.info.pop(_PENDING, []):
        _write(session, fields)


@sa_event.listens_for(Session, "after_rollback")
def _drop_deferred(session: Session) -> None:
    if not session.in_nested_transaction():
        session.info.pop(_PENDING, None)


def iter_events(session: Session, batch: int = 2000) -> Iterator[AuditEvent]:
    """Every event in chain order, read in batches so memory stays flat."""
    last_id = 0
    while True:
        # populate_existing: an event already in the session is re-read, never trusted.
        rows = session.scalars(
            select(AuditEvent).where(AuditEvent.id > last_id).order_by(AuditEvent.id).limit(batch)
            .execution_options(populate_existing=True)
        ).all()
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id
        session.expunge_all()


@dataclass(frozen=True)
class RecordedHead:
    """A head recorded outside the chain (a signed export manifest, the head file); ``source``
    names it in a failure message ("the head in audit-heads.jsonl line 3")."""

    head: ChainHead
    recorded_at: str
    source: str


# --- verification -----------------------------------------------------------------------
#
# The walk reads plain rows, not ORM objects, and builds each event's canonical form with one
# f-string: the same text canonical_form makes with json.dumps (keys in sorted order, compact,
# ensure_ascii=False), about ten times faster. Should the two ever differ for some value, a
# row whose fast hash does not match is checked again the exact way before it is reported.

_VERIFY_BATCH = 10_000  # rows per read (the LIMIT in _FAST_SQL)
#: Summaries repeat (most are {} or a from/to pair); their canonical text is kept, bounded.
_SUMMARY_CACHE_SIZE = 50_000


# Plain statements for the driver's cursor (LIMIT is _VERIFY_BATCH).
_FAST_SQL = {
    "postgresql": (
        "SELECT id, to_char(occurred_at AT TIME ZONE 'UTC', "
        "'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"'), actor_type, actor_id, action, "
        "object_type, object_id, request_id, client_ip, summary::text, prev_hash, hash "
        "FROM audit_event WHERE id > %s ORDER BY id LIMIT 10000"),
    # SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC): the ISO form is one replace away.
    "sqlite": (
        "SELECT id, replace(occurred_at, ' ', 'T') || '+00:00', actor_type, actor_id, action, "
        "object_type, object_id, request_id, client_ip, summary, prev_hash, hash "
        "FROM audit_event WHERE id > ? ORDER BY id LIMIT 10000"),
}


def _fast_batches(session: Session):
    """Lists of rows (id, occurred_at text, actor_type, actor_id, action, object_type,
    object_id, request_id, client_ip, summary JSON text, prev_hash, hash) in id order.

    Read through the driver's own cursor, in the session's transaction: a million rows as
    SQLAlchemy Row objects would cost more than checking them.
    """
    statement = _FAST_SQL[session.get_bind().dialect.name]
    cursor = session.connection().connection.cursor()
    try:
        after = 0
        while True:
            cursor.execute(statement, (after,))
            rows = cursor.fetchall()
            if not rows:
                return
            yield rows
            after = rows[-1][0]
    finally:
        cursor.close()


def _exact_hash_matches(session: Session, event_id: int) -> bool:
    event = session.scalars(select(AuditEvent).where(AuditEvent.id == event_id)
                            .execution_options(populate_existing=True)).one()
    matches = chain_hash(event.prev_hash, canonical_form(event)) == event.hash
    session.expunge(event)
    return matches


def verify_chain(session: Session, expected_head: ChainHead | None = None, *,
                 recorded: tuple[RecordedHead, ...] | list[RecordedHead] = ()) -> VerifyResult:
    """Walk the chain and name the first broken link; check it against recorded heads.

    ``expected_head`` (given by hand) and every head in ``recorded`` must be in the chain with
    the same hash: a chain that ends before a recorded head was shortened, and one whose event
    differs from it was rewritten.
    """
    heads: dict[int, list[RecordedHead]] = {}
    for item in recorded:
        heads.setdefault(item.head.id, []).append(item)
    if expected_head is not None:
        heads.setdefault(expected_head.id, []).append(
            RecordedHead(expected_head, "", "the recorded head"))
    summaries: dict[str, str] = {}
    prev_hash = GENESIS_HASH
    expected_id = 1
    loads, dumps, sha256, enc = json.loads, json.dumps, hashlib.sha256, _encode_string
    for rows in _fast_batches(session):
        for (event_id, occurred, actor_type, actor_id, action, object_type, object_id,
             request_id, client_ip, summary_text, stored_prev, stored_hash) in rows:
            checked = expected_id - 1
            if event_id != expected_id:
                return VerifyResult(False, checked, _head(checked, prev_hash), event_id,
                                    f"event {expected_id} is missing (next found: {event_id})")
            if stored_prev != prev_hash:
                return VerifyResult(False, checked, _head(checked, prev_hash), event_id,
                                    f"event {event_id} does not follow event {event_id - 1}")
            summary = summaries.get(summary_text)
            if summary is None:
                summary = dumps(loads(summary_text), sort_keys=True, separators=(",", ":"),
                                ensure_ascii=False)
                if len(summaries) < _SUMMARY_CACHE_SIZE:
                    summaries[summary_text] = summary
            # Inline, not a function per value (a million rows): None is null, text quoted.
            canonical = (
                f'{{"action":{"null" if action is None else enc(action)},'
                f'"actor_id":{"null" if actor_id is None else int(actor_id)},'
                f'"actor_type":{"null" if actor_type is None else enc(actor_type)},'
                f'"client_ip":{"null" if client_ip is None else enc(client_ip)},'
                f'"id":{event_id},"object_id":{"null" if object_id is None else int(object_id)},'
                f'"object_type":{"null" if object_type is None else enc(object_type)},'
                f'"occurred_at":"{occurred}",'
                f'"request_id":{"null" if request_id is None else int(request_id)},'
                f'"summary":{summary}}}')
            if sha256((prev_hash + canonical).encode("utf-8")).hexdigest() != stored_hash \
                    and not _exact_hash_matches(session, event_id):
                return VerifyResult(False, checked, _head(checked, prev_hash), event_id,
                                    f"event {event_id} was altered (its hash does not match)")
            for item in heads.get(event_id, ()):
                if item.head.hash != stored_hash:
                    return VerifyResult(False, checked, _head(checked, prev_hash), event_id,
                                        f"event {event_id} differs from {_described(item)}: "
                                        f"the chain was rewritten")
            prev_hash = stored_hash
            expected_id += 1
    checked = expected_id - 1
    beyond = [item for head_id, items in heads.items() if head_id > checked for item in items]
    if beyond:
        item = max(beyond, key=lambda i: i.head.id)
        return VerifyResult(False, checked, _head(checked, prev_hash), item.head.id,
                            f"{_described(item)} (event {item.head.id}) is not in the chain, "
                            f"which ends at event {checked}: events were deleted")
    return VerifyResult(True, checked, _head(checked, prev_hash))


def _head(checked: int, last_hash: str) -> ChainHead | None:
    """The last verified event as a head (None before the first)."""
    return ChainHead(checked, last_hash) if checked else None


def _described(item: RecordedHead) -> str:
    return item.source + (f" (recorded {item.recorded_at})" if item.recorded_at else "")
