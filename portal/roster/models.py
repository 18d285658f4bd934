"""The program's patient roster: the only patient index of the closed program."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.db import Base, UTCDateTime, utcnow


class RosterPatient(Base):
    """A former patient as the custodian's roster knows them."""

    __tablename__ = "roster_patient"

    id: Mapped[int] = mapped_column(primary_key=True)
    mrn: Mapped[str] = mapped_column(String(40), unique=True)
    legal_first_name: Mapped[str] = mapped_column(String(120))
    legal_last_name: Mapped[str] = mapped_column(String(120))
    dob: Mapped[date] = mapped_column(Date, index=True)
    ssn_last4: Mapped[str | None] = mapped_column(String(4))
    chart_location: Mapped[str | None] = mapped_column(String(200))
    # "yes" | "partial" | "no" | "unknown": whether the chart survived the 2018 fire.
    chart_survived: Mapped[str] = mapped_column(String(10), default="unknown")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    other_names: Mapped[list[RosterName]] = relationship(
        back_populates="patient", cascade="all, delete-orphan", lazy="selectin"
    )
    admissions: Mapped[list[Admission]] = relationship(
        back_populates="patient",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="Admission.admitted_on",
    )


class RosterName(Base):
    """Another name a patient was known by (maiden name, alias, name used in treatment)."""

    __tablename__ = "roster_name"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("roster_patient.id", ondelete="CASCADE"), index=True
    )
    full_name: Mapped[str] = mapped_column(String(240))

    patient: Mapped[RosterPatient] = relationship(back_populates="other_names")


class Admission(Base):
    """One stay: admission and discharge dates and the program."""

    __tablename__ = "admission"

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("roster_patient.id", ondelete="CASCADE"), index=True
    )
    admitted_on: Mapped[date] = mapped_column(Date)
    discharged_on: Mapped[date | None] = mapped_column(Date)
    program: Mapped[str] = mapped_column(String(40))

    patient: Mapped[RosterPatient] = relationship(back_populates="admissions")


class RosterBlockingKey(Base):
    """A blocking key of a patient, so a roster match scores only a few candidates."""

    __tablename__ = "roster_blocking_key"
    __table_args__ = (Index("ix_roster_blocking_key_key_patient", "key", "patient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("roster_patient.id", ondelete="CASCADE"), index=True
    )
    key: Mapped[str] = mapped_column(String(80))

