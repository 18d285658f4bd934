"""Who can sign in: staff accounts (roles, MFA recovery codes) and requesters, and their
revocable sign-in sessions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # the relationship is resolved by name; accounts never imports requests
    from portal.requests.models import RecordRequest


class Requester(Base):
    """Whoever asks: identified by an email address whose control they confirm (R-ID-2(a))."""

    __tablename__ = "requester"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    requests: Mapped[list[RecordRequest]] = relationship(back_populates="requester")


class StaffUser(Base):
    """A member of staff: unique id, memory-hard password hash, TOTP MFA (R-SEC-1)."""

    __tablename__ = "staff_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str | None] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # R-DEN-3: who holds a licence to decide and review clinical (a)(3) denials.
    is_licensed_reviewer: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret_encrypted: Mapped[bytes | None] = mapped_column(LargeBinary)
    totp_last_counter: Mapped[int | None] = mapped_column(Integer)
    mfa_enrolled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Failures older than LOGIN_FAILURE_WINDOW_MINUTES no longer count towards a lockout.
    last_failed_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Single-use, admin-issued link to set a password (stored hashed).
    setup_token_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    setup_token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    roles: Mapped[list[StaffRole]] = relationship(
        back_populates="staff", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> set[str]:
        """The names of this person's roles."""
        return {role.role for role in self.roles}


class StaffRole(Base):
    """One role held by a member of staff (clerk, supervisor, auditor, admin)."""

    __tablename__ = "staff_role"
    __table_args__ = (UniqueConstraint("staff_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(20))

    staff: Mapped[StaffUser] = relationship(back_populates="roles")


class RecoveryCode(Base):
    """A one-time MFA recovery code, stored hashed."""

    __tablename__ = "recovery_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_id: Mapped[int] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[str] = mapped_column(String(255))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuthSession(Base):
    """A sign-in session of staff or of a requester; revocable, with idle and absolute limits.

    The browser holds only a random token; its SHA-256 is stored. The kind column keeps the two
    kinds of user apart: a staff session can never load a requester, nor the reverse.
    """

    __tablename__ = "auth_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(10))  # "staff" | "requester"
    staff_id: Mapped[int | None] = mapped_column(
        ForeignKey("staff_user.id", ondelete="CASCADE"), index=True
    )
    requester_id: Mapped[int | None] = mapped_column(
        ForeignKey("requester.id", ondelete="CASCADE"), index=True
    )
    mfa_passed: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_reason: Mapped[str | None] = mapped_column(String(40))


class UnknownSignIn(Base):
    """Failed sign-ins for an email that has no staff account, counted like a real account's.

    Unknown emails slow down and lock exactly as real ones do, so the sign-in page never reveals
    whether an account exists. Only a keyed digest of the typed email is kept.
    """

    __tablename__ = "unknown_sign_in"

    id: Mapped[int] = mapped_column(primary_key=True)
    email_digest: Mapped[str] = mapped_column(String(64), unique=True)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_failed_sign_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class StaffChange(Base):
    """A change to a staff account that waits for a second administrator (two-person control).

    Granting access (a role, the licence flag), changing a working account's email address,
    resetting its password or MFA, and reactivating it are asked for by one administrator and
    applied only when another approves; the person concerned can do neither. ``details`` holds
    what is asked for (roles and licence after, the new address, whether MFA is reset).
    """

    __tablename__ = "staff_change"
    __table_args__ = (Index("ix_staff_change_status_subject", "status", "subject_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # grant_access | change_email | reset_password | reactivate
    kind: Mapped[str] = mapped_column(String(20))
    subject_id: Mapped[int] = mapped_column(ForeignKey("staff_user.id", ondelete="CASCADE"))
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    details: Mapped[dict] = mapped_column(JSON)
    # pending | approved | refused | withdrawn
    status: Mapped[str] = mapped_column(String(10), default="pending")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("staff_user.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    subject: Mapped[StaffUser] = relationship(foreign_keys=[subject_id], lazy="joined")
    requested_by: Mapped[StaffUser | None] = relationship(foreign_keys=[requested_by_id],
                                                           lazy="joined")
