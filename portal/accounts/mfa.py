"""TOTP second factor and one-time recovery codes for staff (R-SEC-1).

The TOTP secret is kept encrypted with the field key (never in the clear in the database); each
code is accepted once: the counter of the last accepted code is stored and older or equal
counters are refused. Recovery codes have 80 bits of entropy, so a SHA-256 digest is a safe
stored form (like the other high-entropy tokens).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime

import pyotp

from portal.core.keys import app_field_cipher

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
# Codes from one step before or after now are accepted, for clocks that drift a little.
TOTP_WINDOW = 1
RECOVERY_CODE_COUNT = 10
# Without 0/1/o/l/i: easy to read back from paper.
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16
_TOTP_PATTERN = re.compile(r"^\d{6}$")


def new_totp_secret() -> str:
    """A fresh base32 TOTP secret (160 bits)."""
    return pyotp.random_base32(length=32)


def _context(staff_id: int) -> bytes:
    # Binds the ciphertext to its owner: a secret copied to another row does not decrypt.
    return f"totp:{staff_id}".encode()


def encrypt_secret(staff_id: int, secret: str) -> bytes:
    """The stored form of a TOTP secret, bound to its owner."""
    return app_field_cipher().encrypt(secret.encode("ascii"), _context(staff_id))


def decrypt_secret(staff_id: int, blob: bytes) -> str:
    """The TOTP secret of a member of staff (raises InvalidTag if the value was tampered with)."""
    return app_field_cipher().decrypt(blob, _context(staff_id)).decode("ascii")


def provisioning_uri(secret: str, account_name: str, issuer: str) -> str:
    """The otpauth:// URI an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=account_name, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code of a URI as an SVG data: URI, rendered on the server (no script needed)."""
    import segno  # on first use: only MFA enrolment draws a QR code

    return segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000", light="#fff")


def grouped_secret(secret: str) -> str:
    """The secret in groups of four characters, easier to type into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def counter_at(moment: datetime) -> int:
    """The TOTP time step that contains a moment."""
    return int(moment.timestamp()) // TOTP_STEP_SECONDS


def looks_like_totp(code: str) -> bool:
    """Whether a typed code has the shape of a TOTP code (six digits) once spaces are removed."""
    return bool(_TOTP_PATTERN.match(normalize_code(code)))


def normalize_code(code: str) -> str:
    """Drop spaces and dashes people type or paste, and lower-case letters."""
    return re.sub(r"[\s-]", "", code or "").lower()


def matching_counter(secret: str, code: str, last_counter: int | None,
                     now: datetime) -> int | None:
    """The time step a TOTP code belongs to, if it is valid now and newer than the last one used.

    Returns None for a wrong code and for a replay (a step at or before ``last_counter``).
    """
    code = normalize_code(code)
    if not _TOTP_PATTERN.match(code):
        return None
    totp = pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)
    current = counter_at(now)
    for counter in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if last_counter is not None and counter <= last_counter:
            continue
        if hmac.compare_digest(totp.generate_otp(counter), code):
            return counter
    return None


def new_recovery_codes(count: int = RECOVERY_CODE_COUNT) -> list[str]:
    """Fresh recovery codes shaped like ``abcd-efgh-jkmn-pqrs`` (80 bits each)."""
    codes = []
    for _ in range(count):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i:i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def recovery_code_hash(code: str) -> str:
    """The stored form of a recovery code, insensitive to case, spaces and dashes."""
    return hashlib.sha256(normalize_code(code).encode("ascii", "replace")).hexdigest()
