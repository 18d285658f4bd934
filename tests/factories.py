"""Factories for test data: realistic, obviously fictional, one call per object."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from portal.accounts.models import Requester, StaffRole, StaffUser
from portal.core.actor import SYSTEM, Actor
from portal.requests.operations import ConsentInput, NewRequest, create_request
from portal.roster.models import Admission, RosterName, RosterPatient
from portal.rules.deadlines import today_pacific

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
        expires_on=today_pacific() + timedelta(days=180),
        signature_name="Avery Quill",
        signed_at=datetime.now(UTC),
        statements_acknowledged=True,
        recipient_kind="lawyer",
        use_limits_stated=True,
        redisclosure_statement_included=False,
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


def make_staff_with_mfa(session: Session, *roles: str,
                        password: str = "correct horse battery staple",  # noqa: S107
                        licensed: bool = False,
                        email: str | None = None) -> tuple[StaffUser, str]:
    """A fully enrolled member of staff (password and TOTP set up): returns (staff, secret).

    Sign in through the real pages with the password and ``totp_now(secret)``. Each code works
    once: a second sign-in within the same 30 seconds needs ``totp_now(secret, step=1)``.
    """
    from portal.accounts import mfa

    staff = make_staff(session, *roles, licensed=licensed, password=password, email=email)
    secret = mfa.new_totp_secret()
    staff.totp_secret_encrypted = mfa.encrypt_secret(staff.id, secret)
    staff.mfa_enrolled_at = datetime.now(UTC)
    session.flush()
    return staff, secret


def totp_code(secret: str, moment: datetime) -> str:
    """The code an authenticator app shows at a moment (pyotp: RFC 6238, 6 digits, 30 s)."""
    import pyotp

    return pyotp.TOTP(secret, digits=6, interval=30).at(moment)


def totp_now(secret: str, step: int = 0) -> str:
    """The current TOTP code of a secret (``step=1``: the next one, also accepted now)."""
    return totp_code(secret, datetime.now(UTC) + timedelta(seconds=30 * step))


def make_recovery_codes(session: Session, staff: StaffUser) -> list[str]:
    """Give an enrolled member of staff ten fresh recovery codes; returns them in clear."""
    from portal.accounts import mfa
    from portal.accounts.models import RecoveryCode

    codes = mfa.new_recovery_codes()
    session.add_all(RecoveryCode(staff_id=staff.id, code_hash=mfa.recovery_code_hash(c))
                    for c in codes)
    session.flush()
    return codes


# --- patient journey: releases and download grants ---------------------------------------

def sample_pdf(pages: int = 1) -> bytes:
    """A small valid PDF with blank pages."""
    import io

    import pikepdf

    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page(page_size=(612, 792))
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def make_release(session: Session, req, staff: StaffUser | None = None, *,
                 recipient_type: str | None = None, method: str = "download"):
    """A Release of ``req`` with a stored packet PDF (no packet building, no lifecycle move).

    Marks every part 'released'. For tests of what happens after a release (downloads,
    grants); the release operation itself has its own tests.
    """
    import io

    from portal.release.models import Release
    from portal.storage.operations import save_document

    staff = staff or make_staff(session, "clerk")
    for part in req.parts:
        part.outcome = "released"
    packet = save_document(session, io.BytesIO(sample_pdf(2)), kind="packet",
                           filename=f"{req.reference}-released-records.pdf",
                           media_type="application/pdf", actor=staff_actor(staff),
                           request_id=req.id, subtype="packet")
    release = Release(request_id=req.id, packet_document_id=packet.id,
                      packet_sha256=packet.sha256, page_count=2,
                      recipient_type=recipient_type or req.recipient_type, method=method,
                      released_by_id=staff.id)
    session.add(release)
    session.flush()
    return release


def make_grant(session: Session, req, *, recipient_type: str | None = None,
               access_code: str | None = None):
    """A release of ``req`` and a download grant for it; returns (grant, token).

    For a third-party grant pass ``access_code``: it is set on the request first (hashed).
    """
    from portal.requester.journey import hash_access_code
    from portal.requests.grants import create_download_grant

    recipient_type = recipient_type or req.recipient_type
    if access_code:
        req.access_code_hash = hash_access_code(access_code)
    release = make_release(session, req, recipient_type=recipient_type)
    return create_download_grant(session, release, recipient_type=recipient_type,
                                 actor=SYSTEM)


# --- staff workspace: requests moved along by the clerk's own operations ------------------

QUEUE_STAGES = ("identity_review", "requester_verified", "patient_located", "in_fulfilment")


def advance_request(session: Session, req, clerk: StaffUser, to: str = "patient_located", *,
                    patient: RosterPatient | None = None):
    """Move a submitted request to ``to`` through the real operations, as ``clerk`` would.

    Stages: identity_review, requester_verified, patient_located (the given patient, or none
    exists), in_fulfilment (every part marked for release, one record attached to each).
    """
    import io

    from portal.requests import actions as operations

    actor = staff_actor(clerk)
    stop = QUEUE_STAGES.index(to)
    operations.accept_without_email(session, req, actor, expected_version=None, reason="mail")
    if stop >= 1:
        evidence = ["photo_id"] + ([] if req.requester_type == "patient" else ["authority_proof"])
        operations.verify_requester(session, req, actor, evidence=evidence, note=None,
                                    expected_version=None)
    if stop >= 2:
        operations.locate_patient(session, req, actor, patient_id=patient.id if patient else None,
                                  note=None, expected_version=None)
    if stop >= 3:
        operations.record_outcome(session, req, actor, part_ids=[p.id for p in req.parts],
                                  outcome="released", expected_version=None)
        for part in req.parts:
            operations.attach_record(session, req, actor, part_id=part.id,
                                     stream=io.BytesIO(sample_pdf(2)),
                                     filename=f"{part.part}.pdf", expected_version=None)
    session.flush()
    return req


def make_roster_patient(session: Session, **overrides) -> RosterPatient:
    """A roster patient (see make_patient) with its blocking keys, so the match finds it."""
    from portal.roster.candidates import refresh_blocking_keys

    patient = make_patient(session, **overrides)
    refresh_blocking_keys(session, [patient.id])
    return patient


def roster_keys(first: str, last: str, other_names: tuple[str, ...], dob: date) -> set[str]:
    """Every blocking key a roster patient is found by: its stored rows and its dob key."""
    from portal.rules.roster_match import roster_key_rows

    rows = roster_key_rows(first, last, other_names, dob)
    return {key for row in rows for key in row} | {f"dob:{dob.isoformat()}"}
