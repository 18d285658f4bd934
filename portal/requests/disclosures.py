"""The accounting of disclosures' one writer (R-AUD-1): both delivery paths record through it.

A mailed release to anyone but the patient is a disclosure when it is mailed; a download
grant to a third party records its disclosure when the recipient downloads the packet.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from portal.core.actor import Actor
from portal.release.models import Disclosure, Release
from portal.requests.models import RecordRequest
from portal.requests.operations import PART_LABELS
from portal.rules import outcomes
from portal.trail.chain import append_event


def record_disclosure(session: Session, req: RecordRequest, release: Release, actor: Actor, *,
                      via: str, disclosed_at: datetime) -> Disclosure:
    """The accounting entry: date, recipient and address, what was released, why (R-AUD-1).

    `via` is "mail" or "download"; `disclosed_at` is when it left (the mailing date, or the
    moment of the download).
    """
    general = req.consent_for("general")
    recipient = ", ".join(x for x in (req.recipient_name, req.recipient_organisation) if x)
    released = [PART_LABELS.get(p.part, p.part) for p in req.parts
                if p.outcome == outcomes.RELEASED]
    disclosure = Disclosure(
        request_id=req.id, release_id=release.id, patient_id=req.patient_id,
        disclosed_at=disclosed_at,
        recipient_name=recipient or (req.recipient_email or ""),
        recipient_address=req.recipient_address,
        description="; ".join(released) or (general.information_description if general else ""),
        purpose=(general.purpose if general else None) or req.purpose or "",
        packet_sha256=release.packet_sha256,
    )
    session.add(disclosure)
    session.flush()
    append_event(session, "disclosure.recorded", actor=actor, object_type="disclosure",
                 object_id=disclosure.id, request_id=req.id,
                 summary={"release_id": release.id, "via": via})
    return disclosure
