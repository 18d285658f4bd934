"""The clerk's side, performed through the staff workspace's operations (not its pages), so
the journey tests do not depend on the staff UI."""

from __future__ import annotations

import io

from sqlalchemy.orm import Session

from portal.requests.models import RecordRequest
from tests.factories import make_patient, make_staff, sample_pdf, staff_actor


def clerk(session: Session):
    """A clerk and their Actor."""
    staff = make_staff(session, "clerk")
    return staff, staff_actor(staff)


def verify_and_locate(session: Session, req: RecordRequest, actor) -> None:
    """Identity verified from the uploaded ID, patient located on the roster (R-ID-2)."""
    from portal.requests import actions as queue

    evidence = ["photo_id"] + (["authority_proof"] if req.requester_type != "patient" else [])
    if req.status == "submitted":
        queue.accept_without_email(session, req, actor, expected_version=None,
                                   reason="test: mail-in")
    queue.verify_requester(session, req, actor, evidence=evidence, note=None,
                           expected_version=None)
    patient = make_patient(session)
    queue.locate_patient(session, req, actor, patient_id=patient.id, note=None,
                         expected_version=None)


def ask_for_information(session: Session, req: RecordRequest, actor, text: str) -> None:
    """The clerk needs more information: the request waits for the requester."""
    from portal.requests import actions as queue

    queue.request_information(session, req, actor, reason="id_unreadable", message=text,
                              expected_version=None)


def release_all(session: Session, req: RecordRequest, actor, method: str = "download"):
    """Release every part with a one-page record attached; returns the ReleaseOutcome."""
    from portal.requests import actions as queue
    from portal.requests.releases import release_request

    part_ids = [p.id for p in req.parts]
    queue.record_outcome(session, req, actor, part_ids=part_ids, outcome="released",
                         expected_version=None)
    for part_id in part_ids:
        queue.attach_record(session, req, actor, part_id=part_id,
                            stream=io.BytesIO(sample_pdf()), filename="chart.pdf",
                            expected_version=None)
    return release_request(session, req, actor, method=method, expected_version=None)


__all__ = ["ask_for_information", "clerk", "release_all", "verify_and_locate"]
