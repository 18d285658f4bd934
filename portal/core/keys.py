"""Key material kept in its own directory (never in the database), each file mode 0600."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from flask import Flask

SECRET_KEY_FILE = "secret_key"
FILE_KEY_FILE = "file_store.key"
FIELD_KEY_FILE = "field.key"
SIGNING_KEY_FILE = "export_signing.key"
#: Signs the audit-chain heads recorded outside the database (R-SEC-5: a key per kind).
HEAD_KEY_FILE = "audit_head.key"

_Built = TypeVar("_Built")


def _write_private(path: Path, data: bytes) -> None:
    """Create a file readable by the owner only, refusing to overwrite an existing key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def read_key(key_dir: Path, name: str) -> bytes | None:
    """Return the raw bytes of a key file, or None if it does not exist."""
    path = Path(key_dir) / name
    return path.read_bytes() if path.exists() else None


def keyed_app_object(extension: str, key_file: str, what: str,
                     build: Callable[[Flask, bytes], _Built]) -> _Built:
    """One object per app, built on first use from a key in KEY_DIR that must exist.

    ``build(app, key)`` makes it; a missing key raises RuntimeError naming ``what`` and saying
    how to create it.
    """
    from flask import current_app

    app = current_app._get_current_object()
    built = app.extensions.get(extension)
    if built is None:
        key = read_key(Path(app.config["KEY_DIR"]), key_file)
        if key is None:
            raise RuntimeError(f"The {what} is missing: run `flask --app portal init-instance`.")
        built = app.extensions[extension] = build(app, key)
    return built


def _new_signing_key() -> bytes:
    """An Ed25519 private key (PKCS#8 PEM): export manifests (R-SEC-3), audit heads."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    return Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def ensure_keys(key_dir: Path) -> list[str]:
    """Generate any missing key (secret, file store, field, export and head signing); return
    those made."""
    key_dir = Path(key_dir)
    created = []
    wanted = {
        SECRET_KEY_FILE: lambda: secrets.token_hex(32).encode(),
        FILE_KEY_FILE: lambda: secrets.token_bytes(32),
        FIELD_KEY_FILE: lambda: secrets.token_bytes(32),
        SIGNING_KEY_FILE: _new_signing_key,
        HEAD_KEY_FILE: _new_signing_key,
    }
    for name, make in wanted.items():
        if not (key_dir / name).exists():
            _write_private(key_dir / name, make())
            created.append(name)
    return created


class FieldCipher:
    """AES-256-GCM for small values kept in the database (wizard drafts, TOTP secrets)."""

    def __init__(self, key: bytes):
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes, context: bytes = b"") -> bytes:
        """Encrypt with a random nonce; context binds the value to its purpose and owner."""
        nonce = secrets.token_bytes(12)
        return nonce + self._aead.encrypt(nonce, plaintext, context)

    def decrypt(self, blob: bytes, context: bytes = b"") -> bytes:
        """Decrypt and authenticate; raises cryptography's InvalidTag on tampering."""
        return self._aead.decrypt(blob[:12], blob[12:], context)


def app_field_cipher() -> FieldCipher:
    """The current app's cipher for small database values (one per app, key from KEY_DIR)."""
    return keyed_app_object("field_cipher", FIELD_KEY_FILE, "field key",
                            lambda app, key: FieldCipher(key))
