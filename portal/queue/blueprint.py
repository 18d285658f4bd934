"""URL rules of the queue area: the clerk's workspace under /staff."""

from flask import Blueprint
from flask_babel import gettext as _

from portal.queue import controllers as c
from portal.rules import lifecycle

bp = Blueprint("queue", __name__, url_prefix="/staff")


@bp.app_template_filter("staff_status")
def staff_status(code: str) -> str:
    """A request status in staff words, translated (every staff page: queue, roster, audit)."""
    return _(lifecycle.STAFF_STATUS_LABELS.get(code, code))


bp.add_url_rule("/queue", "index", c.index)
bp.add_url_rule("/queue/search", "search", c.search, methods=["POST"])
bp.add_url_rule("/queue/assign", "bulk_assign", c.bulk_assign, methods=["POST"])
bp.add_url_rule("/workload", "workload", c.workload)
bp.add_url_rule("/requests/paper", "paper_request", c.paper_request, methods=["GET", "POST"])
bp.add_url_rule("/requests/<int:request_id>", "request_page", c.request_page)
bp.add_url_rule("/lost-email", "lost_email_reports", c.lost_email_reports)
bp.add_url_rule("/lost-email/<int:report_id>/handled", "lost_email_handled",
                c.lost_email_handled, methods=["POST"])

# Actions on one request: all POSTs carrying the version the clerk saw.
_ACTIONS = {
    "claim": c.claim,
    "assign": c.assign,
    "accept": c.accept,
    "verify": c.verify,
    "could-not-verify": c.could_not_verify,
    "roster-match": c.rematch,
    "locate": c.locate,
    "request-information": c.request_information,
    "answer": c.record_answer,
    "messages": c.send_message,
    "notes": c.add_note,
    "extend": c.extend,
    "recipient-kind": c.settle_recipient_kind,
    "reissue-link": c.reissue_link,
    "outcome": c.record_outcome,
    "review-route": c.route_review,
    "review": c.decide_review,
    "records": c.attach_record,
    "records/remove": c.remove_record,
    "close": c.close,
    "reopen": c.reopen,
}
for _path, _view in _ACTIONS.items():
    bp.add_url_rule(f"/requests/<int:request_id>/{_path}", _view.__name__, _view,
                    methods=["POST"])

bp.add_url_rule("/requests/<int:request_id>/release", "release", c.release,
                methods=["GET", "POST"])
bp.add_url_rule("/requests/<int:request_id>/roster-runs/<int:run_id>", "match_run",
                c.match_run)
bp.add_url_rule("/requests/<int:request_id>/documents/<int:document_id>/preview",
                "document_preview", c.document_preview)
bp.add_url_rule("/requests/<int:request_id>/documents/<int:document_id>/zoom",
                "document_zoom", c.document_zoom)
bp.add_url_rule("/requests/<int:request_id>/documents/<int:document_id>/download",
                "document_download", c.document_download)
