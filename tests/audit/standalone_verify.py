"""Check a portal export without the portal: Python's standard library plus `cryptography`.

    python3 standalone_verify.py EXPORT_FILE MANIFEST.json PUBLIC_KEY.pem

Prints OK and exits 0 when the file is exactly the one the manifest describes and the manifest
is signed by the key; prints FAILED with the reason and exits 1 otherwise. For an audit-trail
JSON Lines export it also recomputes every event's hash and the links between consecutive
events, as the portal computes them:

    hash = SHA-256( prev_hash + canonical )   (hex; the text is UTF-8)
    canonical = the event without "hash" and "prev_hash", as JSON with sorted keys,
                separators "," and ":", non-ASCII characters kept as they are.

The manifest's signature is Ed25519 over the manifest without its "signature" field, as JSON
with sorted keys, separators "," and ":", UTF-8.
"""

import base64
import csv
import hashlib
import io
import json
import sys

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.serialization import load_pem_public_key


def canonical_json(value) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def check_signature(manifest: dict, public_key_pem: bytes) -> None:
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    signature = base64.b64decode(manifest["signature"])
    try:
        load_pem_public_key(public_key_pem).verify(signature, canonical_json(unsigned))
    except InvalidSignature:
        raise SystemExit("FAILED: the manifest is not signed by this key (or was edited)") from None


def check_digest(path: str, manifest: dict) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read()
    if len(data) != manifest["bytes"] or hashlib.sha256(data).hexdigest() != manifest["sha256"]:
        raise SystemExit(f"FAILED: the file is not the one the manifest describes "
                         f"({len(data)} bytes, SHA-256 {hashlib.sha256(data).hexdigest()}; "
                         f"expected {manifest['bytes']} bytes, SHA-256 {manifest['sha256']})")
    return data


def count_rows(data: bytes, manifest: dict) -> int:
    text = data.decode("utf-8")
    if manifest["file_format"] == "csv":
        return len(list(csv.reader(io.StringIO(text, newline="")))) - 1  # minus the header
    return len(text.splitlines())


def recompute_chain(data: bytes, manifest: dict) -> int:
    previous = None
    count = 0
    for line in data.decode("utf-8").splitlines():
        event = json.loads(line)
        fields = {k: v for k, v in event.items() if k not in ("hash", "prev_hash")}
        digest = hashlib.sha256(event["prev_hash"].encode("utf-8") + canonical_json(fields))
        if digest.hexdigest() != event["hash"]:
            raise SystemExit(f"FAILED: event {event['id']} does not match its hash")
        if previous and event["id"] == previous["id"] + 1 \
                and event["prev_hash"] != previous["hash"]:
            raise SystemExit(f"FAILED: event {event['id']} does not follow event {previous['id']}")
        previous = event
        count += 1
    head = manifest.get("chain_head")
    if previous and head and previous["id"] == head["id"] and previous["hash"] != head["hash"]:
        raise SystemExit("FAILED: the last event differs from the manifest's chain head")
    return count


def main(export_path: str, manifest_path: str, key_path: str) -> None:
    with open(manifest_path, encoding="utf-8") as handle:
        manifest = json.load(handle)
    with open(key_path, "rb") as handle:
        check_signature(manifest, handle.read())
    data = check_digest(export_path, manifest)
    rows = count_rows(data, manifest)
    if rows != manifest["rows"]:
        raise SystemExit(f"FAILED: {rows} rows, the manifest says {manifest['rows']}")
    note = ""
    if manifest["export"] == "audit" and manifest["file_format"] == "jsonl":
        note = f"; chain recomputed over {recompute_chain(data, manifest)} events"
    print(f"OK: {rows} rows, SHA-256 {manifest['sha256']}, signed by key "
          f"{manifest.get('public_key_sha256', '?')}{note}")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    main(*sys.argv[1:])
