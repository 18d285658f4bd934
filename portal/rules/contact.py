"""Email addresses as the portal compares and stores them (pure: no Flask, no database)."""

from __future__ import annotations

import re

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s.]{2,}$")


def is_email(value: str) -> bool:
    """A plausible email address (the confirmation link proves it works)."""
    return bool(_EMAIL.match(value)) and ".." not in value


def normalize_email(value: str | None) -> str:
    """Addresses are compared and stored lower-case without surrounding spaces."""
    return (value or "").strip().lower()
