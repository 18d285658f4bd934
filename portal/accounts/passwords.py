"""Staff password hashing with Argon2id, a memory-hard function (R-SEC-1)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import current_app, has_app_context

# argon2 is imported on first use: most commands and pages never hash a password.
if TYPE_CHECKING:
    from argon2 import PasswordHasher

MIN_PASSWORD_LENGTH = 12


def _hasher() -> PasswordHasher:
    from argon2 import PasswordHasher

    if not has_app_context():
        return PasswordHasher()
    config = current_app.config
    return PasswordHasher(
        time_cost=int(config["PASSWORD_HASH_TIME_COST"]),
        memory_cost=int(config["PASSWORD_HASH_MEMORY_KIB"]),
        parallelism=int(config["PASSWORD_HASH_PARALLELISM"]),
    )


def hash_password(password: str) -> str:
    """An Argon2id hash with the configured cost (tests use cheap parameters)."""
    return _hasher().hash(password)


def verify_password(stored_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; a missing or malformed hash never matches."""
    if not stored_hash:
        return False
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return _hasher().verify(stored_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(stored_hash: str) -> bool:
    """Whether a hash was made with other parameters than the configured ones."""
    return _hasher().check_needs_rehash(stored_hash)


def password_problems(password: str, email: str | None = None) -> list[str]:
    """Plain-language reasons a new password is refused (length over composition rules)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"Use at least {MIN_PASSWORD_LENGTH} characters.")
    if email and password.casefold() == email.casefold():
        problems.append("Do not use your email address as your password.")
    if len(set(password)) < 5:
        problems.append("Use a less repetitive password.")
    return problems
