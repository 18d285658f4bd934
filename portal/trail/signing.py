"""Ed25519 signatures on export manifests (R-SEC-3).

The private key lives in the key directory (``export_signing.key``, created by
``portal.core.keys.ensure_keys``), never in the database, so someone who can rewrite the
database cannot forge a manifest. The public key is shown on the auditor's page and printed by
``flask --app portal audit public-key`` for recording outside the portal.

What is signed: the manifest without its ``signature`` field, as JSON with sorted keys, compact
separators and UTF-8 (``manifest_body``). Anyone holding the public key can check it with the
``cryptography`` package alone.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from portal.core.keys import SIGNING_KEY_FILE, read_key

SIGNATURE_FIELD = "signature"


class SigningKeyMissing(RuntimeError):
    """The export-signing key has not been generated in the key directory."""

    def __init__(self, key_dir: Path):
        super().__init__(
            f"A signing key is missing from {key_dir}. Run `flask --app portal init-instance` to "
            "create the missing keys."
        )


def load_private_key(key_dir: Path | str, name: str = SIGNING_KEY_FILE) -> Ed25519PrivateKey:
    """A signing key from the key directory: the manifests' (default) or ``name``."""
    raw = read_key(Path(key_dir), name)
    if raw is None:
        raise SigningKeyMissing(Path(key_dir))
    key = serialization.load_pem_private_key(raw, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise TypeError(f"{name} is not an Ed25519 private key")
    return key


def load_public_key(pem: bytes | str) -> Ed25519PublicKey:
    """An Ed25519 public key from its PEM text (what the auditor recorded)."""
    key = serialization.load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    if not isinstance(key, Ed25519PublicKey):
        raise TypeError("not an Ed25519 public key")
    return key


def public_key_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The PEM text of the public half of a key."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


def key_fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """SHA-256 of the raw 32-byte public key, in hex: short enough to read out on the phone."""
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def manifest_body(manifest: dict) -> bytes:
    """The exact bytes that are signed: every field but the signature, canonical JSON."""
    unsigned = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
    return json.dumps(
        unsigned, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def sign_manifest(manifest: dict, key: Ed25519PrivateKey) -> dict:
    """Return the manifest with its key fingerprint and base64 Ed25519 signature added."""
    signed = {k: v for k, v in manifest.items() if k != SIGNATURE_FIELD}
    signed["public_key_sha256"] = key_fingerprint(key)
    signed[SIGNATURE_FIELD] = base64.b64encode(key.sign(manifest_body(signed))).decode("ascii")
    return signed


def signature_valid(manifest: dict, public_key: Ed25519PublicKey) -> bool:
    """Whether the manifest's signature verifies with this public key."""
    try:
        signature = base64.b64decode(str(manifest.get(SIGNATURE_FIELD, "")), validate=True)
        public_key.verify(signature, manifest_body(manifest))
    except (InvalidSignature, ValueError):
        return False
    return True
