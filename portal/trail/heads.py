"""Chain heads recorded outside the database, so the trail cannot be shortened unseen (R-AUD-2).

Deleting the newest events leaves a chain that verifies: every remaining link is intact. What
catches it is a head (id and hash of the newest event) written down earlier somewhere the
database cannot reach. A periodic job (``audit.record_head``, hourly by default) appends the
current head, signed with a key of its own (``audit_head.key``; R-SEC-5: a head can never
pass for an export manifest or the reverse, and its signed payload names its type), to the
head file, ``AUDIT_HEAD_FILE``: one JSON object per line, opened for appending only.

The README says how to keep that file out of the database host's reach (another machine's
mount, ``chattr +a``, or a log shipper forwarding each line) and what remains exposed: the
events written since the last recorded head (an hour by default).

``audit verify`` checks the chain against every head here and in the signed export manifests,
and fails when the chain ends before one of them or differs from it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal.trail.chain import ChainHead, RecordedHead
from portal.trail.signing import key_fingerprint, sign_manifest, signature_valid

#: The signed payload's type: a head record, never an export manifest (R-SEC-5).
DOCUMENT_TYPE = "audit_chain_head"


@dataclass
class HeadReading:
    """The heads read from one place, and anything in it that could not be trusted."""

    heads: list[RecordedHead]
    problems: list[str]


def signed_head(head: ChainHead, key: Ed25519PrivateKey,
                recorded_at: datetime | None = None) -> dict:
    """The record appended for ``head``: type, id, hash, time, fingerprint and signature."""
    moment = (recorded_at or datetime.now(UTC)).astimezone(UTC)
    return sign_manifest({"type": DOCUMENT_TYPE, "id": head.id, "hash": head.hash,
                          "recorded_at": moment.isoformat(timespec="seconds")}, key)


def append_head(path: Path | str, record: dict) -> None:
    """Append one line to the head file (created 0600), never rewriting what is there."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read_head_file(path: Path | str, public_key: Ed25519PublicKey) -> HeadReading:
    """Every head in the file; a line that is not a correctly signed head is a problem."""
    path = Path(path)
    reading = HeadReading([], [])
    if not path.exists():
        return reading
    fingerprint = key_fingerprint(public_key)
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            where = f"the head in {path.name} line {number}"
            try:
                record = json.loads(raw)
            except ValueError:
                reading.problems.append(f"{path.name} line {number} is not a head record "
                                        "(unreadable)")
                continue
            if not isinstance(record, dict) or record.get("type") != DOCUMENT_TYPE:
                reading.problems.append(f"{path.name} line {number} is not a head record")
            elif record.get("public_key_sha256") != fingerprint \
                    or not signature_valid(record, public_key):
                reading.problems.append(f"{path.name} line {number}: its signature does not "
                                        "verify with the head key (edited, or signed with "
                                        "another key)")
            else:
                reading.heads.append(RecordedHead(
                    ChainHead(int(record["id"]), str(record["hash"])),
                    str(record.get("recorded_at")), where))
    return reading
