"""Checking an export against its signed manifest, and saying why it fails (R-SEC-3).

``verify_export`` needs no database: the file, the manifest and the public key are enough.
When the digest differs it reads the rows to name the reason: a cut-off file, a manifest of
another export, rows out of order, rows missing or added, or a changed value (for an
audit-trail JSON Lines file, the event whose hash no longer matches).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from portal.trail.chain import canonical_form, chain_hash
from portal.trail.signing import load_public_key, signature_valid

REASONS = ("manifest_unreadable", "signature", "different_export", "truncated", "reordered",
           "missing_rows", "extra_rows", "altered")


@dataclass(frozen=True)
class ExportVerification:
    """The outcome: ok, or a reason code from REASONS and a sentence for people."""

    ok: bool
    reason: str | None
    message: str
    rows: int = 0


@dataclass
class _Scan:
    sha256: str = ""
    bytes: int = 0
    rows: int = 0
    first_key: object = None
    last_key: object = None
    header: list | None = None
    ends_with_newline: bool = True
    last_row_broken: bool = False
    malformed_row: int | None = None
    out_of_order: tuple | None = None
    broken_event: str | None = None


def _fail(reason: str, message: str, rows: int = 0) -> ExportVerification:
    return ExportVerification(False, reason, message, rows)


def _open(file: str | Path | BinaryIO) -> BinaryIO:
    return open(file, "rb") if isinstance(file, str | Path) else file  # noqa: SIM115


def _digest(file: str | Path | BinaryIO) -> tuple[str, int, bool]:
    digest, size, last = hashlib.sha256(), 0, b""
    handle = _open(file)
    try:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
            last = block[-1:]
    finally:
        if handle is not file:
            handle.close()
    return digest.hexdigest(), size, last in (b"\n", b"")


def _rows(handle: BinaryIO, file_format: str) -> Iterator[tuple[int, object, bool]]:
    """(row number, parsed row or None, complete) for each data row; CSV yields its header."""
    text = io.TextIOWrapper(handle, encoding="utf-8", errors="replace", newline="")
    if file_format == "csv":
        reader = csv.reader(text, strict=True)
        number = 0
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error:
                yield number, None, False
                return
            yield number, cells, True
            number += 1
    else:
        for number, line in enumerate(text, start=1):
            try:
                yield number, json.loads(line), line.endswith("\n")
            except ValueError:
                yield number, None, False


def _key_of(row: object, manifest: dict, header: list | None) -> object:
    key = manifest.get("key", "id")
    if isinstance(row, dict):
        return row.get(key)
    position = (header or manifest.get("columns") or [key]).index(key)
    return int(row[position])


def _scan_rows(file: str | Path | BinaryIO, manifest: dict, scan: _Scan) -> None:
    file_format = manifest.get("file_format")
    audit_jsonl = manifest.get("export") == "audit" and file_format == "jsonl"
    handle = _open(file)
    if handle is file:
        handle.seek(0)
    previous_key = previous_hash = None
    try:
        for number, row, complete in _rows(handle, file_format):
            if file_format == "csv" and number == 0:
                scan.header = row
                continue
            scan.rows += 1
            key = None
            if row is not None and (not isinstance(row, list) or len(row) == len(scan.header)):
                try:
                    key = _key_of(row, manifest, scan.header)
                except (ValueError, IndexError, TypeError):
                    key = None
            scan.last_row_broken = key is None or not complete
            if key is None:
                scan.malformed_row = scan.malformed_row or number
                continue
            if scan.first_key is None:
                scan.first_key = key
            if previous_key is not None and key <= previous_key and scan.out_of_order is None:
                scan.out_of_order = (number, key, previous_key)
            if audit_jsonl and scan.broken_event is None:
                scan.broken_event = _event_problem(row, previous_key, previous_hash)
            previous_key, previous_hash = key, row.get("hash") if audit_jsonl else None
            scan.last_key = key
    finally:
        if handle is not file:
            handle.close()


def _event_problem(row: dict, previous_id: object, previous_hash: object) -> str | None:
    """Recompute one audit event's hash from its own fields, as an outsider would."""
    fields = {k: v for k, v in row.items() if k not in ("hash", "prev_hash")}
    if chain_hash(str(row.get("prev_hash")), canonical_form(fields)) != row.get("hash"):
        return f"event {row.get('id')} does not match its hash: a value in it was changed"
    if previous_id is not None and row.get("id") == previous_id + 1 \
            and row.get("prev_hash") != previous_hash:
        return f"event {row.get('id')} does not follow event {previous_id}"
    return None


def load_manifest(manifest: dict | str | Path | bytes) -> dict:
    """A manifest from a dict, a path, or its JSON bytes."""
    if isinstance(manifest, dict):
        return manifest
    raw = Path(manifest).read_bytes() if isinstance(manifest, str | Path) else manifest
    loaded = json.loads(raw)
    if not isinstance(loaded, dict):
        raise ValueError("a manifest is a JSON object")
    return loaded


def verify_export(
    file: str | Path | BinaryIO, manifest: dict | str | Path | bytes,
    public_key: Ed25519PublicKey | str | bytes,
) -> ExportVerification:
    """Check an export file against its signed manifest; fail with the reason if it differs."""
    try:
        manifest = load_manifest(manifest)
    except (OSError, ValueError) as exc:
        return _fail("manifest_unreadable", f"The manifest cannot be read: {exc}.")
    if not isinstance(public_key, Ed25519PublicKey):
        public_key = load_public_key(public_key)
    if not signature_valid(manifest, public_key):
        return _fail("signature", "The manifest's signature does not verify with this public "
                                  "key: it was signed with another key, or it was edited.")
    sha256, size, ends_with_newline = _digest(file)
    if sha256 == manifest.get("sha256") and size == manifest.get("bytes"):
        return ExportVerification(True, None, f"The file matches its signed manifest: "
                                              f"{manifest.get('rows')} rows, SHA-256 {sha256}.",
                                  manifest.get("rows") or 0)
    scan = _Scan(sha256=sha256, bytes=size, ends_with_newline=ends_with_newline)
    _scan_rows(file, manifest, scan)
    return _diagnose(manifest, scan)


def _diagnose(manifest: dict, scan: _Scan) -> ExportVerification:
    rows, expected_rows = scan.rows, manifest.get("rows")
    if manifest.get("file_format") == "csv" and scan.header != manifest.get("columns"):
        return _fail("different_export", "The file's columns are not the manifest's: this "
                                         "manifest belongs to another export.", rows)
    if not scan.ends_with_newline or scan.last_row_broken:
        return _fail("truncated", f"The file ends in the middle of row {rows}: it was cut short "
                                  f"({scan.bytes} of {manifest.get('bytes')} bytes).", rows)
    if rows and scan.first_key != manifest.get("first_key") \
            and scan.last_key != manifest.get("last_key"):
        return _fail(
            "different_export",
            f"This manifest belongs to another export: it describes {expected_rows} rows from "
            f"{manifest.get('key')} {manifest.get('first_key')} to {manifest.get('last_key')}; "
            f"this file holds {rows} rows from {scan.first_key} to {scan.last_key}.", rows)
    if scan.out_of_order:
        number, key, previous = scan.out_of_order
        return _fail("reordered", f"Rows are out of order: row {number} "
                                  f"({manifest.get('key')} {key}) comes after {previous}.", rows)
    if expected_rows is not None and rows < expected_rows:
        return _fail("missing_rows", f"{expected_rows - rows} row(s) are missing: the file holds "
                                     f"{rows} rows, the manifest {expected_rows}.", rows)
    if expected_rows is not None and rows > expected_rows:
        return _fail("extra_rows", f"The file holds {rows - expected_rows} row(s) more than the "
                                   f"manifest's {expected_rows}.", rows)
    detail = scan.broken_event or (
        f"row {scan.malformed_row} is malformed" if scan.malformed_row else
        "a value was changed although every row is present and in order")
    return _fail("altered", f"The file's content differs from the manifest (SHA-256 "
                            f"{scan.sha256}, expected {manifest.get('sha256')}): {detail}.", rows)
