"""Obviously fake data for trying the portal in development (`flask --app portal demo-data`).

Every person is fictional ("Demo" surnames, example.test addresses). The command refuses to run
unless ENV is development or testing. Three requests go all the way through the clerk's real
operations (outcomes, attached records, release) so the auditor's dashboard and the accounting
of disclosures show real numbers: one released in full, one denied in part, one mailed to a
third party (a disclosure, R-AUD-1).
"""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta

import pikepdf
from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import Requester, StaffRole, StaffUser
from portal.accounts.permissions import permissions_for
from portal.core.actor import SYSTEM, Actor
from portal.requests.operations import ConsentInput, NewRequest, create_request, transition
from portal.roster.models import Admission, RosterName, RosterPatient
from portal.rules import lifecycle
from portal.rules.deadlines import today_pacific

FIRST = ["Avery", "Jordan", "Rosa", "Miguel", "Dana", "Casey", "Lupe", "Robert", "Elena", "Sam",
         "Priya", "Tomás", "Margaret", "William", "Ana", "Chris"]
LAST = ["Demo-Quill", "Demo-Harbor", "Demo García", "Demo-Lindqvist", "Demo-Okafor",
        "Demo-Nakamura", "Demo-Reyes López", "Demo-Whitfield"]
PROGRAMS = ["detox", "residential", "outpatient"]

# (final status, the actions that reach it from 'submitted')
PATHS = {
    lifecycle.SUBMITTED: [],
    lifecycle.IDENTITY_REVIEW: ["confirm_email"],
    lifecycle.AWAITING_REQUESTER: ["confirm_email", "request_information"],
    lifecycle.REQUESTER_VERIFIED: ["confirm_email", "verify_requester"],
    lifecycle.PATIENT_LOCATED: ["confirm_email", "verify_requester", "locate_patient"],
    lifecycle.IN_FULFILMENT: ["confirm_email", "verify_requester", "locate_patient",
                              "start_fulfilment"],
    lifecycle.COULD_NOT_VERIFY: ["confirm_email", "could_not_verify"],
    lifecycle.WITHDRAWN: ["withdraw"],
    lifecycle.CLOSED: ["confirm_email", "verify_requester", "locate_patient", "close"],
}


class DemoDataPresent(Exception):
    """The database already holds the demo roster: a second run would collide with it."""


def demo_data_present(session: Session) -> bool:
    """Whether an earlier run left its roster (the first demo MRN) in this database."""
    return session.scalar(select(RosterPatient.id).where(RosterPatient.mrn == "DEMO-00001")
                          ) is not None


def make_demo_data(session: Session, *, patients: int = 40, seed: int = 2018) -> dict[str, int]:
    """Create a fake roster and requests in many states; returns counts.

    Raises DemoDataPresent, before writing anything, when an earlier run's data is there.
    """
    if demo_data_present(session):
        raise DemoDataPresent
    rng = random.Random(seed)
    roster = []
    for n in range(patients):
        admitted = date(2012, 1, 1) + timedelta(days=rng.randrange(0, 6 * 365))
        patient = RosterPatient(
            mrn=f"DEMO-{n + 1:05d}",
            legal_first_name=rng.choice(FIRST),
            legal_last_name=rng.choice(LAST),
            dob=date(1955, 1, 1) + timedelta(days=rng.randrange(0, 40 * 365)),
            ssn_last4=f"{rng.randrange(0, 10000):04d}" if rng.random() < 0.6 else None,
            chart_location=f"Demo box {rng.randrange(1, 60)}",
            chart_survived=rng.choice(["yes", "yes", "partial", "no"]),
            other_names=[RosterName(full_name=f"{rng.choice(FIRST)} Demo-Alias")]
            if rng.random() < 0.3 else [],
            admissions=[Admission(admitted_on=admitted,
                                  discharged_on=admitted + timedelta(days=rng.randrange(5, 90)),
                                  program=rng.choice(PROGRAMS))],
        )
        session.add(patient)
        roster.append(patient)
    session.flush()
    _refresh_blocking_keys(session, roster)

    made = 0
    now = datetime.now(UTC)
    for index, (_status, actions) in enumerate(sorted(PATHS.items()) * 3):
        patient = roster[index % len(roster)]
        requester = Requester(email=f"demo.requester{index + 1}@example.test",
                              email_confirmed_at=now)
        session.add(requester)
        session.flush()
        third_party = index % 4 == 3
        received = now - timedelta(days=rng.randrange(0, 40), hours=rng.randrange(0, 24))
        data = NewRequest(
            kind="accounting" if index % 9 == 8 else "copies",
            requester_type="patient",
            patient_first_name=patient.legal_first_name,
            patient_last_name=patient.legal_last_name,
            patient_dob=patient.dob,
            contact_email=requester.email,
            recipient_type="third_party" if third_party else "patient",
            delivery="download",
            parts=["complete"] if index % 2 else ["discharge_summary", "medications"],
            program=patient.admissions[0].program,
            stay_from=patient.admissions[0].admitted_on,
            stay_to=patient.admissions[0].discharged_on,
            recipient_name="Demo Law Office" if third_party else None,
            recipient_address="1 Example Way\nNowhere, CA 90000" if third_party else None,
            signature_name=f"{patient.legal_first_name} {patient.legal_last_name}",
            signed_at=received,
            consents=[ConsentInput(
                scope="general", information_description="Complete record",
                recipient_name="Demo Law Office", recipient_organisation=None,
                recipient_address="1 Example Way\nNowhere, CA 90000",
                purpose="At the request of the patient",
                expires_on=(received + timedelta(days=180)).date(),
                signature_name=f"{patient.legal_first_name} {patient.legal_last_name}",
                signed_at=received, **DEMO_CONSENT_TO_A_LAWYER)] if third_party else [],
        )
        req = create_request(session, data, requester_id=requester.id, actor=SYSTEM,
                             received_at=received)
        for action in actions:
            if action == "locate_patient":
                req.patient_id = patient.id
            if action == "close":
                for part in req.parts:
                    part.outcome = "destroyed_fire"
            transition(session, req, action, SYSTEM)
            if action == "verify_requester":
                req.verified_at = now
            if action == "locate_patient":
                req.located_at = now
        made += 1
    made += _released_examples(session, roster, now)
    return {"patients": len(roster), "requests": made}


#: The demo consents go to a law office: limits on use stated, no 2.31(a)(4)(iii) statement.
DEMO_CONSENT_TO_A_LAWYER = {"recipient_kind": "lawyer", "use_limits_stated": True,
                            "redisclosure_statement_included": False}
# (parts requested, outcome per part (ground for a denial), recipient, delivery)
RELEASED_EXAMPLES = [
    (["discharge_summary", "medications"], {}, "patient", "download"),
    # R-DEN-1: psychotherapy notes may be withheld from the patient without review.
    (["discharge_summary", "psychotherapy_notes"], {"psychotherapy_notes": "psychotherapy_notes"},
     "patient", "download"),
    (["discharge_summary", "labs"], {}, "third_party", "mail"),
]


def _released_examples(session: Session, roster: list[RosterPatient], now: datetime) -> int:
    """Take requests through outcomes, attached records and release, as a clerk would."""
    from portal.requests import actions as queue
    from portal.requests.releases import release_request

    clerk = _demo_clerk(session)
    actor = Actor(kind="staff", id=clerk.id,
                  permissions=permissions_for(clerk.role_names, clerk.is_licensed_reviewer),
                  is_licensed_reviewer=clerk.is_licensed_reviewer)
    # Letters and notices build links with url_for, which needs a request context.
    with current_app.test_request_context():
        for index, (parts, denied, recipient, method) in enumerate(RELEASED_EXAMPLES):
            patient = roster[-(index + 1)]
            received = now - timedelta(days=12 - index * 3)
            req = _demo_request(session, patient, index, parts, recipient, method, received)
            transition(session, req, "confirm_email", SYSTEM)
            queue.verify_requester(session, req, actor, evidence=["photo_id"], note=None,
                                   expected_version=None)
            queue.locate_patient(session, req, actor, patient_id=patient.id, note=None,
                                 expected_version=None)
            for part in req.parts:
                if part.part in denied:
                    queue.record_outcome(session, req, actor, part_ids=[part.id],
                                         outcome="denied", ground=denied[part.part],
                                         expected_version=None)
                    continue
                queue.record_outcome(session, req, actor, part_ids=[part.id],
                                     outcome="released", expected_version=None)
                queue.attach_record(session, req, actor, part_id=part.id,
                                    stream=io.BytesIO(demo_record_pdf(part.part)),
                                    filename=f"demo-{part.part}.pdf", expected_version=None)
            release_request(session, req, actor, method=method,
                            mailed_on=today_pacific() if method == "mail" else None,
                            tracking_number="DEMO-TRACK-0001" if method == "mail" else None,
                            expected_version=None)
    return len(RELEASED_EXAMPLES)


def _demo_request(session: Session, patient: RosterPatient, index: int, parts: list[str],
                  recipient: str, method: str, received: datetime):
    requester = Requester(email=f"demo.released{index + 1}@example.test",
                          email_confirmed_at=received)
    session.add(requester)
    session.flush()
    name = f"{patient.legal_first_name} {patient.legal_last_name}"
    third_party = recipient == "third_party"
    address = "1 Example Way\nNowhere, CA 90000"
    data = NewRequest(
        kind="copies", requester_type="patient",
        patient_first_name=patient.legal_first_name, patient_last_name=patient.legal_last_name,
        patient_dob=patient.dob, contact_email=requester.email, recipient_type=recipient,
        delivery=method, parts=parts, program=patient.admissions[0].program,
        stay_from=patient.admissions[0].admitted_on,
        stay_to=patient.admissions[0].discharged_on,
        recipient_name="Demo Law Office" if third_party else None,
        recipient_address=address if third_party or method == "mail" else None,
        signature_name=name, signed_at=received,
        consents=[ConsentInput(
            scope="general", information_description="Discharge summary and lab results",
            recipient_name="Demo Law Office", recipient_organisation=None,
            recipient_address=address, purpose="At the request of the patient",
            expires_on=(received + timedelta(days=180)).date(), signature_name=name,
            signed_at=received, **DEMO_CONSENT_TO_A_LAWYER)] if third_party else [],
    )
    return create_request(session, data, requester_id=requester.id, actor=SYSTEM,
                          received_at=received)


def _demo_clerk(session: Session) -> StaffUser:
    """The fictional clerk who released the demo records; no password, so no one signs in."""
    email = "demo.clerk@example.test"
    clerk = session.scalar(select(StaffUser).where(StaffUser.email == email))
    if clerk is None:
        clerk = StaffUser(email=email, display_name="Demo Clerk",
                          roles=[StaffRole(role="clerk")])
        session.add(clerk)
        session.flush()
    return clerk


def demo_record_pdf(part: str, pages: int = 2) -> bytes:
    """A small, obviously fake scanned-record PDF for one requested part."""
    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    for number in range(1, pages + 1):
        text = f"DEMO RECORD (fictional): {part.replace('_', ' ')}, page {number} of {pages}"
        content = f"BT /F1 16 Tf 72 700 Td ({text}) Tj ET".encode("latin-1")
        page = pikepdf.Page(pikepdf.Dictionary(
            Type=pikepdf.Name.Page, MediaBox=[0, 0, 612, 792],
            Resources=pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)),
            Contents=pdf.make_stream(content)))
        pdf.pages.append(page)
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def _refresh_blocking_keys(session: Session, patients: list[RosterPatient]) -> None:
    """Use the roster area's own key builder when it is available."""
    try:
        from portal.roster.candidates import refresh_blocking_keys
    except ImportError:
        return
    refresh_blocking_keys(session, patients)
