"""Access rules of the clerk's workspace: staff who work requests; supervisors assign and see
the workload; only a licensed reviewer records a review; requesters and other roles never."""

from __future__ import annotations

import io

from tests.access.scenario import WORKERS, Route

SUPERVISORS = frozenset({"supervisor"})
REVIEWERS = frozenset({"licensed_clerk"})


def _request(s) -> dict:
    return {"request_id": s.request.id}


def _document(s) -> dict:
    return {"request_id": s.request.id, "document_id": s.extra["queue_document"].id}


def build(db, scenario) -> None:
    """A stored photo ID on the scenario's request, for the preview and download routes."""
    from PIL import Image

    from portal.core.actor import SYSTEM
    from portal.requests.location import latest_match_run
    from portal.requests.lost_email import LostEmail, report_lost_email
    from portal.storage.operations import save_document

    image = io.BytesIO()
    Image.new("RGB", (40, 30), "gray").save(image, "JPEG")
    image.seek(0)
    scenario.extra["queue_document"] = save_document(
        db, image, kind="photo_id", filename="id.jpg", media_type="image/jpeg", actor=SYSTEM,
        request_id=scenario.request.id)
    from portal.requests.location import run_roster_match

    run_roster_match(db, scenario.request.id)
    scenario.extra["match_run"] = latest_match_run(db, scenario.request.id)
    scenario.extra["lost_email_report"] = report_lost_email(db, LostEmail(
        reference="CPP-2026-99999", full_name="Sam Example", date_of_birth=None,
        old_email="old@example.test", new_email=None, phone=None, note=None), SYSTEM)


_ACTIONS = ("claim", "accept", "verify", "could_not_verify", "rematch", "locate",
            "request_information", "record_answer", "send_message", "add_note", "extend",
            "settle_recipient_kind", "reissue_link",
            "record_outcome", "route_review", "attach_record", "remove_record", "close",
            "release")

ROUTES = {
    "queue.index": Route(WORKERS),
    "queue.search": Route(WORKERS),
    "queue.workload": Route(SUPERVISORS),
    "queue.paper_request": Route(WORKERS),
    "queue.request_page": Route(WORKERS, kwargs=_request),
    "queue.lost_email_reports": Route(WORKERS),
    "queue.lost_email_handled": Route(
        WORKERS, kwargs=lambda s: {"report_id": s.extra["lost_email_report"].id}),
    "queue.assign": Route(SUPERVISORS, kwargs=_request),
    "queue.bulk_assign": Route(SUPERVISORS),
    "queue.reopen": Route(SUPERVISORS, kwargs=_request),
    "queue.decide_review": Route(REVIEWERS, kwargs=_request),
    "queue.document_preview": Route(WORKERS, kwargs=_document),
    "queue.document_download": Route(WORKERS, kwargs=_document),
    "queue.document_zoom": Route(WORKERS, kwargs=_document),
    "queue.match_run": Route(WORKERS, kwargs=lambda s: {"request_id": s.request.id,
                                                        "run_id": s.extra["match_run"].id}),
    **{f"queue.{name}": Route(WORKERS, kwargs=_request) for name in _ACTIONS},
}
