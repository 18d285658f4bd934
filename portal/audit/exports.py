"""Streaming, snapshot-bounded exports of the audit trail and the request log (R-SEC-3).

Every export reads one snapshot (portal.trail.snapshot), is bounded by a chain head, streams in
chunks (no list of all rows is ever built), hashes its bytes on the way out and ends with a
manifest signed with the Ed25519 key in the key directory (portal.trail.signing).

Formats
-------
JSON Lines: one JSON object per line. An audit-trail line holds exactly the fields of
``portal.trail.chain.canonical_form`` plus ``prev_hash`` and ``hash``, so anyone can recompute
the chain: drop ``hash`` and ``prev_hash``, serialise the rest with sorted keys, compact
separators and UTF-8, and take SHA-256 of ``prev_hash`` followed by that text.

CSV (for spreadsheets): a header row, then one row per line ending in LF. NULL and empty text
are an empty cell; whole numbers are written as they are. A text cell that begins with
= + - @ ' TAB or CR gets one extra leading apostrophe, so a spreadsheet never runs it as a
formula; strip one leading apostrophe from any cell that starts with one to get the stored
value back. A cell is then wrapped in double
quotes (inner quotes doubled) when it holds a comma, a double quote, CR or LF; the audit
trail's ``summary`` (JSON text, last column) is always quoted.

The audit-trail CSV is the benchmarked path (benchmarks/bench_audit_export.py): the database
builds the text. On PostgreSQL a ``COPY ... TO STDOUT`` in CSV produces it, read in a tight
loop straight from libpq while it holds received rows; on SQLite each batch of rows comes back
as one string from ``group_concat``. Cheap whole-chunk checks (``bytes.translate`` keeps only
the bytes the rule cares about) show that no cell needs quoting or neutralising beyond what
the database wrote; a chunk that fails them is formatted cell by cell in Python
(``csv_cell``), which yields the same bytes the fast path would have.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import selectors
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from flask import Flask
from sqlalchemy import bindparam, func, literal_column, select

from portal.audit.filters import RequestLogFilter, TrailFilter
from portal.audit.request_log import COLUMNS, IDENTIFIED_COLUMNS, RequestLogRow, iter_request_log
from portal.requests.models import RecordRequest
from portal.trail.chain import ChainHead, format_timestamp
from portal.trail.models import AuditEvent
from portal.trail.signing import load_private_key, sign_manifest
from portal.trail.snapshot import Snapshot

MANIFEST_VERSION = 1
KINDS = ("audit", "requests", "requests_identified")
FORMATS = ("csv", "jsonl")
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8; header=present",
               "jsonl": "application/x-ndjson; charset=utf-8"}
FILE_STEMS = {"audit": "audit-trail", "requests": "request-log",
              "requests_identified": "request-log-identified"}

# CSV column order: the long JSON summary goes last. JSON Lines use the canonical field order.
AUDIT_CSV_COLUMNS = ("id", "occurred_at", "actor_type", "actor_id", "action", "object_type",
                     "object_id", "request_id", "client_ip", "prev_hash", "hash", "summary")
AUDIT_JSON_KEYS = ("id", "occurred_at", "actor_type", "actor_id", "action", "object_type",
                   "object_id", "request_id", "client_ip", "summary", "prev_hash", "hash")

RISKY_START = frozenset("=+-@'\t\r")
_NEEDS_QUOTES = re.compile('[,"\r\n]')
SQLITE_BATCH = 5000
CHUNK_BYTES = 1 << 20


# ---------------------------------------------------------------- the CSV cell rule


def csv_cell(value: object, *, always_quote: bool = False) -> str:
    """One CSV cell by the export rule: neutralise a risky first character, quote if needed."""
    if value is None:
        return ""
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, int):
        return str(value)  # a number is never a formula, so never neutralised
    elif isinstance(value, date | datetime):
        text = value.isoformat()
    else:
        text = str(value)
    if text and text[0] in RISKY_START:
        text = "'" + text
    if always_quote or _NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_line(values, *, quote_last: bool = False) -> str:
    """A CSV row (with its LF) from plain values."""
    cells = [csv_cell(v) for v in values]
    if quote_last and values:
        cells[-1] = csv_cell(values[-1], always_quote=True)
    return ",".join(cells) + "\n"


# ---------------------------------------------------------------- plans and tallies


@dataclass(frozen=True)
class ExportPlan:
    """What to export, for whom, bounded by which chain head."""

    export_id: str
    kind: str
    file_format: str
    filters: TrailFilter | RequestLogFilter
    started_at: datetime
    exported_by: dict
    # Audit trail: events after this id were appended after the export began; left out.
    bound_head_id: int | None = None
    today: date | None = None
    soon_days: int = 3
    # The CLI names its own output file.
    output_name: str | None = None

    @property
    def file_name(self) -> str:
        """The download's file name; the manifest is this plus '.manifest.json'."""
        if self.output_name:
            return self.output_name
        stamp = self.started_at.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"{FILE_STEMS[self.kind]}-{stamp}-{self.export_id[:8]}.{self.file_format}"

    @property
    def columns(self) -> tuple[str, ...]:
        """The CSV header, or the JSON keys of each line."""
        if self.kind == "audit":
            return AUDIT_CSV_COLUMNS if self.file_format == "csv" else AUDIT_JSON_KEYS
        return IDENTIFIED_COLUMNS if self.kind == "requests_identified" else COLUMNS

    @property
    def key(self) -> str:
        """The column every row is ordered by, ascending and unique."""
        return "id" if self.kind == "audit" else "request_id"


@dataclass
class Tally:
    """Counted while streaming: rows, bytes, digest, first and last key."""

    rows: int = 0
    bytes: int = 0
    first_key: int | None = None
    last_key: int | None = None
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)

    def keys(self, first: int | None, last: int | None) -> None:
        """Note the keys of a batch (batches arrive in key order)."""
        if self.first_key is None:
            self.first_key = first
        if last is not None:
            self.last_key = last


# ---------------------------------------------------------------- audit trail: SQLite

_SQLITE_TS = "replace(occurred_at, ' ', 'T') || '+00:00'"
# Every audit cell but id, the timestamp and the summary, as SQLite renders it to text.
_SQLITE_MIDDLE = ("actor_type", "actor_id", "action", "object_type", "object_id",
                  "request_id", "client_ip", "prev_hash", "hash")
# One printf per row (a chain of || would copy the growing line once per cell).
_SQLITE_LINE = ("printf('%s,%s+00:00," + ",".join(["%s"] * len(_SQLITE_MIDDLE)) + ",\"%s\"', "
                "id, t, " + ", ".join(_SQLITE_MIDDLE) + ", q)")
_INTEGERS = ("actor_id", "object_id", "request_id")

# The bytes the CSV rule cares about; ``bytes.translate`` drops every other byte in one pass.
_SPECIAL = b",\"\n\r\t+-=@'"
_DROP = bytes(sorted(set(range(256)) - set(_SPECIAL)))
# What a clean line holds of them before its summary: the comma after the id, the two dashes of
# the date, the '+' of '+00:00', ten more commas and the summary's opening quote.
_CLEAN_PREFIX = b",--+" + b"," * 10 + b'"'


def _audit_conditions(plan: ExportPlan) -> list:
    return [AuditEvent.id <= (plan.bound_head_id or 0), *plan.filters.conditions()]


def _clean_batch(data: bytes, summaries: bytes, count: int, least_time: str | None) -> bool:
    """Whether no cell of a batch needs quoting or neutralising (whole-batch checks).

    ``data`` is the batch as the fast path wrote it, ``summaries`` its summaries (quotes
    already doubled) joined by LF. Every summary must start with '{' and hold no line break.
    Reduced to the bytes that matter, each line must then be exactly ``_CLEAN_PREFIX``, its
    summary's such bytes and the closing quote: so no other cell holds a comma, quote, line
    break or risky character, and the timestamp only the two dashes of its date; the least
    timestamp of the batch (text order) shows that none begins with a dash. Anything else sends
    the batch to the careful path.
    """
    marks = summaries.translate(None, _DROP)
    if ((least_time or "")[:1] <= "-" or summaries[:1] != b"{" or marks.count(b"\n") != count - 1
            or summaries.count(b"\n{") != count - 1):
        return False
    expected = _CLEAN_PREFIX + marks.replace(b"\n", b'"\n' + _CLEAN_PREFIX) + b'"'
    return data.translate(None, _DROP) == expected


def _sqlite_csv_batches(conn, plan: ExportPlan, tally: Tally) -> Iterator[bytes]:
    inner = (
        select(AuditEvent.id.label("id"), literal_column("replace(occurred_at, ' ', 'T')")
               .label("t"), *(literal_column(name) for name in _SQLITE_MIDDLE),
               literal_column("replace(summary, '\"', '\"\"')").label("q"))
        .where(AuditEvent.id > bindparam("after"), *_audit_conditions(plan))
        .order_by(AuditEvent.id).limit(SQLITE_BATCH).subquery()
    )
    # The subquery is ordered and limited, so SQLite feeds the aggregates in id order.
    batch = select(
        func.group_concat(literal_column(_SQLITE_LINE), "\n"),
        func.group_concat(literal_column("q"), "\n"),
        func.count(), func.min(literal_column("id")), func.max(literal_column("id")),
        func.min(literal_column("t")),
    ).select_from(inner)
    after = 0
    while True:
        text, summaries, count, first, last, least_time = conn.execute(
            batch, {"after": after}).one()
        if not count:
            return
        data = text.encode("utf-8")
        if _clean_batch(data, summaries.encode("utf-8"), count, least_time):
            yield data + b"\n"
        else:
            yield _sqlite_csv_careful(conn, plan, after, last)
        tally.rows += count
        tally.keys(first, last)
        after = last


def _sqlite_csv_careful(conn, plan: ExportPlan, after: int, last: int) -> str:
    """Re-read one batch cell by cell and apply the CSV rule in Python (same bytes)."""
    rows = conn.execute(
        select(AuditEvent.id, literal_column("printf('%s+00:00', replace(occurred_at, ' ', 'T'))"),
               *(getattr(AuditEvent, name) if name in _INTEGERS
                 else literal_column(f"printf('%s', {name})") for name in _SQLITE_MIDDLE),
               literal_column("printf('%s', summary)"))  # JSON text, even a bare number
        .where(AuditEvent.id > after, AuditEvent.id <= last, *_audit_conditions(plan))
        .order_by(AuditEvent.id)
    )
    return "".join(csv_line(tuple(row), quote_last=True) for row in rows)


_SQLITE_JSON = (
    "json_object('id', id, 'occurred_at', " + _SQLITE_TS + ", 'actor_type', actor_type, "
    "'actor_id', actor_id, 'action', action, 'object_type', object_type, 'object_id', "
    "object_id, 'request_id', request_id, 'client_ip', client_ip, 'summary', "
    "json(CASE WHEN json_valid(summary) THEN summary ELSE json_quote(summary) END), "
    "'prev_hash', prev_hash, 'hash', hash)"
)


def _sqlite_jsonl_batches(conn, plan: ExportPlan, tally: Tally) -> Iterator[str]:
    inner = (
        select(AuditEvent.id.label("id"), literal_column(_SQLITE_JSON).label("j"))
        .where(AuditEvent.id > bindparam("after"), *_audit_conditions(plan))
        .order_by(AuditEvent.id).limit(SQLITE_BATCH).subquery()
    )
    batch = select(
        func.group_concat(literal_column("j"), "\n"), func.count(),
        func.min(literal_column("id")), func.max(literal_column("id")),
    ).select_from(inner)
    after = 0
    while True:
        text, count, first, last = conn.execute(batch, {"after": after}).one()
        if not count:
            return
        yield text + "\n"
        tally.rows += count
        tally.keys(first, last)
        after = last


# ---------------------------------------------------------------- audit trail: PostgreSQL

# The export's transaction runs with TimeZone UTC (_pg_copy), so no per-row AT TIME ZONE.
_PG_TS = "to_char(occurred_at, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"+00:00\"')"


def _copy_failed(result) -> Exception:
    import psycopg  # only PostgreSQL exports need it
    from psycopg import pq

    state = (result.error_field(pq.DiagnosticField.SQLSTATE) or b"").decode()
    message = (result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
               or result.error_message or b"").decode("utf-8", "replace").strip()
    try:
        return psycopg.errors.lookup(state)(message)
    except KeyError:
        return psycopg.DatabaseError(message)


def _end_copy(pgconn) -> None:
    """Take every result that follows the end of a COPY's data, leaving the connection idle in
    its transaction (what psycopg does once its own reader meets the end); raise the error the
    server reported, if any, once the connection is ready for the rollback."""
    from psycopg import pq

    failure = None
    with selectors.DefaultSelector() as selector:
        selector.register(pgconn.socket, selectors.EVENT_READ)
        while True:
            while pgconn.is_busy():
                selector.select()
                pgconn.consume_input()
            result = pgconn.get_result()
            if result is None:
                break
            if result.status != pq.ExecStatus.COMMAND_OK and failure is None:
                failure = _copy_failed(result)
    if failure is not None:
        raise failure


class _CopyOut:
    """The data of a running COPY TO STDOUT as (chunk, rows) of about CHUNK_BYTES each.

    psycopg's reader hands out one row per call through a generator and a wait; here every row
    libpq has already received is taken in one tight loop (PGconn.get_copy_data without
    blocking) and copied into the chunk at once, and psycopg's reader is called only when none
    is left, to wait for the next. ``first`` and ``last`` are the first and last rows.
    """

    def __init__(self, copy, pgconn):
        self.copy = copy
        self.pgconn = pgconn
        self.first: bytes | None = None
        self.last: bytes | None = None

    def __iter__(self) -> Iterator[tuple[bytes, int]]:
        get = self.pgconn.get_copy_data
        chunk = bytearray()
        rows = 0
        row = None
        while True:
            nbytes, row_data = get(1)
            if nbytes == 0:  # nothing complete received yet: psycopg waits for the next row
                row_data = self.copy.read()
                if not row_data:  # the end, and psycopg has taken the final result
                    break
            elif nbytes < 0:  # the end arrived with the rows already received
                _end_copy(self.pgconn)
                break
            if row is None:
                self.first = bytes(row_data)
            row = row_data
            chunk += row
            rows += 1
            if len(chunk) >= CHUNK_BYTES:
                yield bytes(chunk), rows
                chunk, rows = bytearray(), 0
        if row is not None:
            self.last = bytes(row)
        if chunk:
            yield bytes(chunk), rows


def _pg_copy(conn, statement, options: str, tally: Tally, key_of: Callable,
             finish: Callable[[bytes, int], bytes] | None = None) -> Iterator[bytes]:
    """Stream a COPY's output, counting its rows; ``finish(chunk, rows)`` may rewrite a chunk."""
    compiled = statement.compile(dialect=conn.dialect)
    sql = f"COPY ({compiled}) TO STDOUT ({options})"
    # Timestamps are written in UTC; SET LOCAL ends with the snapshot's transaction.
    conn.exec_driver_sql("SET LOCAL TimeZone = 'UTC'")
    driver = conn.connection.driver_connection
    # psycopg binds the parameters client-side for COPY; the values are ints, str and UTC times.
    with driver.cursor().copy(sql, compiled.params) as copy:
        out = _CopyOut(copy, driver.pgconn)
        for chunk, rows in out:
            tally.rows += rows
            yield finish(chunk, rows) if finish else chunk
    if out.first is not None:
        tally.keys(key_of(out.first), key_of(out.last))


_AUDIT_INTEGERS = frozenset(("id", *_INTEGERS))
# Every risky first character as '!', for one search in a chunk's marks.
_RISKY_AS_BANG = bytes.maketrans("".join(sorted(RISKY_START)).encode(), b"!" * len(RISKY_START))


def _clean_copy_chunk(chunk: bytes, rows: int) -> bool:
    """Whether PostgreSQL's CSV of whole audit rows already follows the portal's CSV rule.

    COPY quotes exactly the cells the rule quotes, but writes an empty text as "" and never
    neutralises. Reduced to the bytes that matter (``_DROP``), every line must start with
    ``_CLEAN_PREFIX``: then no cell before the summary was quoted or holds a risky character
    (the timestamp's two dashes and '+' are the database's own format). The chunk must hold no
    line break but the rows' own, and no summary may begin with a risky character (a quote
    followed by one is found nowhere else: inside the summary quotes come doubled).
    """
    marks = chunk.translate(None, _DROP)
    return (marks.count(b"\n") == rows and marks.startswith(_CLEAN_PREFIX)
            and marks.count(b"\n" + _CLEAN_PREFIX) == rows - 1
            and b',"!' not in marks.translate(_RISKY_AS_BANG))


def _pg_csv_careful(chunk: bytes) -> bytes:
    """Apply the CSV rule in Python to rows COPY wrote (same bytes as the fast path gives)."""
    lines = []
    for row in csv.reader(io.StringIO(chunk.decode("utf-8"), newline="")):
        cells = [value if name in _AUDIT_INTEGERS or name == "occurred_at" else csv_cell(value)
                 for name, value in zip(AUDIT_CSV_COLUMNS[:-1], row, strict=False)]
        cells.append(csv_cell(row[-1], always_quote=True))
        lines.append(",".join(cells) + "\n")
    return "".join(lines).encode("utf-8")


def _pg_csv_chunks(conn, plan: ExportPlan, tally: Tally) -> Iterator[bytes]:
    cells = []
    for name in AUDIT_CSV_COLUMNS:
        if name == "occurred_at":
            cells.append(literal_column(_PG_TS).label(name))
        elif name == "summary":
            cells.append(literal_column("summary::text").label(name))
        else:
            cells.append(getattr(AuditEvent, name))
    statement = select(*cells).where(*_audit_conditions(plan)).order_by(AuditEvent.id)
    # COPY writes the cells as stored; each chunk is checked whole, and one that needs the
    # rule's quoting or apostrophes (an edited database) is rewritten in Python.
    return _pg_copy(conn, statement, "FORMAT csv, FORCE_QUOTE (summary)", tally,
                    lambda row: int(row.split(b",", 1)[0]),
                    finish=lambda chunk, rows: (chunk if _clean_copy_chunk(chunk, rows)
                                                else _pg_csv_careful(chunk)))


def _pg_jsonl_chunks(conn, plan: ExportPlan, tally: Tally) -> Iterator[bytes]:
    fields = []
    for name in AUDIT_JSON_KEYS:
        if name == "occurred_at":
            fields.append(literal_column(_PG_TS).label(name))
        elif name == "summary":
            # jsonb text never holds raw line breaks, whatever whitespace was stored.
            fields.append(literal_column("summary::jsonb").label(name))
        else:
            fields.append(getattr(AuditEvent, name))
    event = select(*fields).where(*_audit_conditions(plan)).subquery("e")
    statement = select(literal_column("row_to_json(e)")).select_from(event).order_by(event.c.id)
    # JSON text never holds raw control characters, so CSV mode with control characters as
    # delimiter and quote passes each line through untouched (text mode would escape '\').
    return _pg_copy(conn, statement, "FORMAT csv, DELIMITER E'\\x01', QUOTE E'\\x02'", tally,
                    lambda row: json.loads(row)["id"])


# ---------------------------------------------------------------- request log


def _request_log_cells(row: RequestLogRow, columns: tuple[str, ...]) -> list:
    values = row.values()
    values["outcomes"] = row.outcomes_text
    values["denial_grounds"] = row.grounds_text
    return [values[name] for name in columns]


def _json_default(value: object) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)


def _request_log_chunks(conn, plan: ExportPlan, tally: Tally) -> Iterator[str]:
    identified = plan.kind == "requests_identified"
    pending: list[str] = []
    size = 0
    for row in iter_request_log(conn, plan.filters, today=plan.today, soon_days=plan.soon_days,
                                identified=identified):
        if plan.file_format == "csv":
            line = csv_line(_request_log_cells(row, plan.columns))
        else:
            line = json.dumps(row.values(), ensure_ascii=False, separators=(",", ":"),
                              default=_json_default) + "\n"
        pending.append(line)
        size += len(line)
        tally.rows += 1
        tally.keys(row.request_id, row.request_id)
        if size >= CHUNK_BYTES // 4:
            yield "".join(pending)
            pending, size = [], 0
    if pending:
        yield "".join(pending)


# ---------------------------------------------------------------- the stream and its manifest


def _producer(snapshot: Snapshot, plan: ExportPlan, tally: Tally) -> Iterator[str | bytes]:
    conn = snapshot.connection
    if plan.file_format == "csv":
        yield ",".join(plan.columns) + "\n"
    if plan.kind != "audit":
        yield from _request_log_chunks(conn, plan, tally)
    elif snapshot.dialect == "postgresql":
        csv_mode = plan.file_format == "csv"
        yield from (_pg_csv_chunks if csv_mode else _pg_jsonl_chunks)(conn, plan, tally)
    else:
        csv_mode = plan.file_format == "csv"
        yield from (_sqlite_csv_batches if csv_mode else _sqlite_jsonl_batches)(conn, plan, tally)


def build_manifest(plan: ExportPlan, tally: Tally, head: ChainHead | None,
                   completed_at: datetime) -> dict:
    """The manifest of a finished export (unsigned)."""
    return {
        "manifest_version": MANIFEST_VERSION,
        "export_id": plan.export_id,
        "export": plan.kind,
        "file_name": plan.file_name,
        "file_format": plan.file_format,
        "columns": list(plan.columns),
        "key": plan.key,
        "rows": tally.rows,
        "bytes": tally.bytes,
        "sha256": tally.digest.hexdigest(),
        "first_key": tally.first_key,
        "last_key": tally.last_key,
        "filter": plan.filters.as_dict(),
        "exported_at": format_timestamp(plan.started_at),
        "completed_at": format_timestamp(completed_at),
        "exported_by": plan.exported_by,
        "chain_head": {"id": head.id, "hash": head.hash} if head else None,
    }


def stream_export(
    app: Flask, plan: ExportPlan, *, on_manifest: Callable[[dict], None],
    progress: Callable[[int], None] | None = None,
) -> Iterator[bytes]:
    """Return an iterator of the export's bytes from one snapshot; at its end the manifest is
    signed and handed to ``on_manifest``.

    The signing key is loaded now, so a missing key fails before any response starts. Nothing
    is read before the first ``next()``, so a response that is never sent holds no connection.
    ``progress`` receives the number of rows written so far after each chunk.
    """
    key = load_private_key(app.config["KEY_DIR"])

    def chunks() -> Iterator[bytes]:
        tally = Tally()
        snapshot = Snapshot(app)
        try:
            if plan.kind == "audit":
                bound = plan.bound_head_id or 0
                stored = snapshot.event_hash(bound) if bound else None
                head = ChainHead(bound, stored) if stored else None
            else:
                head = snapshot.head
            for chunk in _producer(snapshot, plan, tally):
                data = chunk.encode("utf-8") if isinstance(chunk, str) else chunk
                tally.bytes += len(data)
                tally.digest.update(data)
                if progress:
                    progress(tally.rows)
                yield data
        finally:
            snapshot.close()
        manifest = build_manifest(plan, tally, head, datetime.now(UTC))
        on_manifest(sign_manifest(manifest, key))

    return chunks()


def count_rows(app: Flask, plan: ExportPlan) -> int:
    """About how many rows an export will hold, for a progress bar (the request log's clock
    filters, applied later, can only lower it)."""
    if plan.kind == "audit" and not plan.filters.conditions():
        return plan.bound_head_id or 0  # ids run from 1 without gaps: no need to count
    if plan.kind == "audit":
        query = select(func.count()).select_from(AuditEvent).where(*_audit_conditions(plan))
    else:
        query = select(func.count()).select_from(RecordRequest).where(*plan.filters.conditions())
    with Snapshot(app) as snapshot:
        return snapshot.connection.scalar(query) or 0


def manifest_text(manifest: dict) -> str:
    """The manifest as the file an auditor downloads (indented JSON, trailing newline)."""
    return json.dumps(manifest, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
