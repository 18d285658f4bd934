"""Factories for test data: realistic, obviously fictional, one call per object."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from portal.accounts.models import StaffRole, StaffUser
from portal.core.actor import SYSTEM, Actor
from portal.requests.models import Requester
from portal.requests.operations import ConsentInput, NewRequest, create_request
from portal.roster.models import Admission, RosterName, RosterPatient

_seq = itertools.count(1)


def make_staff(session: Session, *roles: str, licensed: bool = False, email: str | None = None,
               password: str | None = None, active: bool = True) -> StaffUser:
    """A member of staff with the given roles (default: clerk)."""
    n = next(_seq)
    staff = StaffUser(
        email=email or f"staff{n}@example.test",
        display_name=f"Staff Member {n}",
        is_active=active,
        is_licensed_reviewer=licensed,
        roles=[StaffRole(role=r) for r in (roles or ("clerk",))],
    )
    if password:
        from portal.accounts.passwords import hash_password

        staff.password_hash = hash_password(password)
    session.add(staff)
    session.flush()
    return staff


def staff_actor(staff: StaffUser, ip: str = "127.0.0.1") -> Actor:
    """The Actor for a member of staff, with the permissions their roles give."""
    from portal.accounts.permissions import permissions_for

    return Actor(kind="staff", id=staff.id,
                 permissions=permissions_for(staff.role_names, staff.is_licensed_reviewer),
                 is_licensed_reviewer=staff.is_licensed_reviewer, client_ip=ip)


def make_requester(session: Session, email: str | None = None, confirmed: bool = True) -> Requester:
    """A requester whose email address is (by default) confirmed."""
    n = next(_seq)
    requester = Requester(
        email=email or f"requester{n}@example.test",
        email_confirmed_at=datetime.now(UTC) if confirmed else None,
    )
    session.add(requester)
    session.flush()
    return requester


def make_patient(session: Session, *, mrn: str | None = None, first: str = "Avery",
                 last: str = "Quill", dob: date = date(1980, 4, 12),
                 other_names: tuple[str, ...] = (), ssn_last4: str | None = None,
                 stays: tuple[tuple[date, date | None, str], ...] | None = None,
                 survived: str = "yes") -> RosterPatient:
    """A roster patient with one residential stay by default."""
    n = next(_seq)
    patient = RosterPatient(
        mrn=mrn or f"TEST-{n:06d}",
        legal_first_name=first,
        legal_last_name=last,
        dob=dob,
        ssn_last4=ssn_last4,
        chart_location="Box 12, shelf B (scanned)",
        chart_survived=survived,
        other_names=[RosterName(full_name=name) for name in other_names],
        admissions=[
            Admission(admitted_on=a, discharged_on=d, program=p)
            for a, d, p in (stays or ((date(2016, 3, 1), date(2016, 4, 2), "residential"),))
        ],
    )
    session.add(patient)
    session.flush()
    return patient


def new_request_data(**overrides) -> NewRequest:
    """The submission of a patient asking for their own complete record by download."""
    values = dict(
        kind="copies",
        requester_type="patient",
        patient_first_name="Avery",
        patient_last_name="Quill",
        patient_dob=date(1980, 4, 12),
        contact_email="avery.quill@example.test",
        recipient_type="patient",
        delivery="download",
        parts=["complete"],
        stay_from=date(2016, 3, 1),
        stay_to=date(2016, 4, 1),
        program="residential",
        signature_name="Avery Quill",
        signed_at=datetime.now(UTC),
    )
    values.update(overrides)
    return NewRequest(**values)


def third_party_consent(**overrides) -> ConsentInput:
    """A valid general consent to release to a lawyer, expiring in six months."""
    values = dict(
        scope="general",
        information_description="Complete record excluding psychotherapy and counseling notes",
        recipient_name="Morgan Lee",
        recipient_organisation="Lee & Park LLP",
        recipient_address="100 Main St\nSpringfield, CA 90000",
        purpose="At the request of the patient",
        expires_on=date.today() + timedelta(days=180),
        signature_name="Avery Quill",
        signed_at=datetime.now(UTC),
        statements_acknowledged=True,
    )
    values.update(overrides)
    return ConsentInput(**values)


def make_request(session: Session, requester: Requester | None = None, *,
                 received_at: datetime | None = None, actor: Actor = SYSTEM, **overrides):
    """A submitted request (status 'submitted'); pass NewRequest fields as keyword overrides."""
    requester = requester or make_requester(session)
    overrides.setdefault("contact_email", requester.email)
    data = new_request_data(**overrides)
    return create_request(session, data, requester_id=requester.id, actor=actor,
                          received_at=received_at)
