"""The program's patient roster: the only patient index of the closed program."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String
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


# Blocking keys are only ever compared for equality: PostgreSQL's "C" collation compares bytes,
# where the database's locale collation would cost a library call per comparison (indexing).
BLOCKING_KEY = String(80).with_variant(String(80, collation="C"), "postgresql")


class RosterBlockingKey(Base):
    """The blocking keys of one pair of a patient's name initials (portal.rules.roster_match).

    One row per pair of given-name and surname sound initials, holding that pair's three keys
    (with the year and month, the month and day, and the year and day of birth), each indexed
    on its own; the fourth kind, the exact date of birth, is the patient's indexed ``dob``.
    A few dense rows per patient keep the roster import's writes small. Clustered by patient
    (WITHOUT ROWID on SQLite), so the rows of a patient sit together and an import appends.
    """

    __tablename__ = "roster_blocking_key"
    __table_args__ = {"sqlite_with_rowid": False}

    patient_id: Mapped[int] = mapped_column(
        ForeignKey("roster_patient.id", ondelete="CASCADE"), primary_key=True
    )
    year_month_key: Mapped[str] = mapped_column(BLOCKING_KEY, primary_key=True, index=True)
    month_day_key: Mapped[str] = mapped_column(BLOCKING_KEY, index=True)
    year_day_key: Mapped[str] = mapped_column(BLOCKING_KEY, index=True)
