"""Obviously fake data for trying the portal in development (`flask --app portal demo-data`).

Every person is fictional ("Demo" surnames, example.test addresses). The command refuses to run
unless ENV is development or testing.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.orm import Session

from portal.core.actor import SYSTEM
from portal.requests.models import Requester
from portal.requests.operations import ConsentInput, NewRequest, create_request, transition
from portal.roster.models import Admission, RosterName, RosterPatient
from portal.rules import lifecycle

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


def make_demo_data(session: Session, *, patients: int = 40, seed: int = 2018) -> dict[str, int]:
    """Create a fake roster and requests in many states; returns counts."""
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
                signed_at=received)] if third_party else [],
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
    return {"patients": len(roster), "requests": made}


def _refresh_blocking_keys(session: Session, patients: list[RosterPatient]) -> None:
    """Use the roster area's own key builder when it is available."""
    try:
        from portal.roster.operations import refresh_blocking_keys
    except ImportError:
        return
    refresh_blocking_keys(session, patients)
