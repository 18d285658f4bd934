"""Handlers of the clerk's workspace: the queue, the request page and its actions.

Thin: load the request (any member of staff who works requests may see any request; a missing
one is a 404), validate the form, call one operation, respond. Searches are POSTs so names and
emails never appear in a URL (R-SEC-4). A refused action re-renders the request page with the
reasons and everything typed; a stale form (someone else acted first) gets the 409 page, which
shows what the clerk typed so nothing is lost.
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from sqlalchemy import select
from sqlalchemy.orm.exc import StaleDataError
from wtforms import FileField, HiddenField, IntegerField

from portal.accounts.permissions import (
    ASSIGN_REQUESTS,
    RELEASE_RECORDS,
    REVIEW_CLINICAL,
    VIEW_WORKLOAD,
    WORK_REQUESTS,
    staff_required,
)
from portal.accounts.sessions import current_actor
from portal.core.db import get_session, read_mostly, rollback
from portal.core.errors import Conflict
from portal.core.ids import arg_int
from portal.core.security import SANDBOX_CSP, file_response
from portal.identity.previews import PreviewUnavailable, render_preview
from portal.queue import forms, listing, page
from portal.requests import actions as operations
from portal.requests import letters
from portal.requests.location import latest_match_run, schedule_roster_match, view_match_run
from portal.requests.models import LostEmailReport, RecordRequest
from portal.requests.operations import TransitionRefused
from portal.requests.releases import release_request
from portal.roster.models import RosterPatient
from portal.rules import lifecycle
from portal.rules.deadlines import today_pacific
from portal.storage.filestore import IntegrityError
from portal.storage.models import GENERATED_KINDS, StoredDocument
from portal.storage.operations import open_document, verify_document
from portal.storage.uploads import UploadRejected, clean_upload

FILTER_FLAGS = ("mine", "unassigned", "overdue", "due_soon", "awaiting")


def _settings() -> tuple[int, int]:
    config = current_app.config
    return int(config["DUE_SOON_DAYS"]), int(config["QUEUE_PAGE_SIZE"])


def _filters(values, default_status: str = "open") -> listing.QueueFilters:
    status = values.get("status") or default_status
    if status not in listing.SCOPES and status not in lifecycle.STAFF_STATUS_LABELS:
        status = default_status
    return listing.QueueFilters(status=status,
                                **{flag: values.get(flag) == "1" for flag in FILTER_FLAGS})


def _filter_args(filters: listing.QueueFilters) -> dict[str, str]:
    """The filters as query-string arguments for the next-page link (codes only, no PHI)."""
    args = {flag: "1" for flag in FILTER_FLAGS if getattr(filters, flag)}
    if filters.status != "open":
        args["status"] = filters.status
    return args


def _names_in_queue() -> bool:
    """Whether this person's queue lists patients' names (QUEUE_NAMES_FOR_ROLES)."""
    roles = set(current_app.config["QUEUE_NAMES_FOR_ROLES"])
    return bool(roles & current_user.user.role_names)


def _queue_page(result, filters, search, searching: bool, soon_days: int, status: int = 200,
                after: listing.Cursor | None = None):
    assign = None
    if not searching and current_actor().can(ASSIGN_REQUESTS):
        assign = forms.BulkAssignForm(formdata=None,
                                      staff=operations.assignable_staff(get_session()))
    html = render_template(
        "queue/index.html", page=result, filters=filters, search=search, searching=searching,
        assign=assign, here=("?" + request.query_string.decode()) if request.query_string else "",
        soon_days=soon_days, status_choices=forms.STATUS_FILTERS,
        filter_args=_filter_args(filters),
        lost_email_open=operations.count_open_lost_email_reports(get_session()),
    )
    if result is not None:
        listing.record_view(get_session(), current_actor(), filters, result, after=after)
    return html, status


# --- The queue --------------------------------------------------------------------------


@staff_required(WORK_REQUESTS)
def index():
    """The queue: open requests by working due date, filters, counts, keyset pages."""
    soon_days, size = _settings()
    filters = _filters(request.args)
    after = listing.Cursor.decode(request.args.get("after"))
    before = listing.Cursor.decode(request.args.get("before"))
    result = listing.view_queue(get_session(), current_actor(), filters, today=today_pacific(),
                                soon_days=soon_days, after=after, limit=size,
                                with_names=_names_in_queue(), before=before)
    return _queue_page(result, filters, forms.SearchForm(formdata=None), False, soon_days,
                       after=after)


@read_mostly
@staff_required(WORK_REQUESTS)
def search():
    """Search by reference, patient name (other names too) or email, posted (R-SEC-4)."""
    soon_days, size = _settings()
    form = forms.SearchForm()
    filters = _filters(request.form, default_status="all")
    if not form.validate():
        return _queue_page(None, filters, form, True, soon_days, 422)
    after = listing.Cursor.decode(form.after.data)
    before = listing.Cursor.decode(form.before.data)
    result = listing.search_requests(
        get_session(), current_actor(), form.q.data, filters, today=today_pacific(),
        soon_days=soon_days, after=after, limit=size, before=before,
    )
    return _queue_page(result, filters, form, True, soon_days, after=after)


@staff_required(ASSIGN_REQUESTS)
def bulk_assign():
    """A supervisor assigns the requests ticked on a queue page, all or none (one
    transaction; a request changed meanwhile stops the lot and is named)."""
    session = get_session()
    form = forms.BulkAssignForm(staff=operations.assignable_staff(session))
    back = request.form.get("back") or ""
    target = url_for("queue.index") + (back if back.startswith("?") else "")
    if not form.validate():
        for message in [m for field in form for m in field.errors]:
            flash(message, "error")
        return redirect(target)
    staff_id = int(form.staff_id.data) if form.staff_id.data else None
    try:
        done = operations.assign_requests(session, current_actor(), staff_id, form.pairs())
    except Conflict as exc:
        rollback()
        flash(_("Nothing was assigned: %(refs)s changed since the page was shown. The queue "
                "now shows them as they are.", refs=exc.description), "error")
        return redirect(target)
    except TransitionRefused as exc:
        rollback()
        flash(_("Nothing was assigned: %(why)s", why=" ".join(exc.problems)), "error")
        return redirect(target)
    flash(ngettext("%(num)s request was assigned.", "%(num)s requests were assigned.",
                   len(done)), "success")
    return redirect(target)


@staff_required(VIEW_WORKLOAD)
def workload():
    """A supervisor's view: open, due-soon and overdue requests per clerk."""
    soon_days, _size = _settings()
    rows = listing.view_workload(get_session(), current_actor(), today=today_pacific(),
                                 soon_days=soon_days)
    return render_template("queue/workload.html", rows=rows, soon_days=soon_days)


# --- Lost-email reports -----------------------------------------------------------------


def _lost_email_page(submitted: forms.LostEmailHandledForm | None = None,
                     submitted_id: int | None = None, status: int = 200):
    session = get_session()
    reports = operations.open_lost_email_reports(session, current_actor())
    matched = {r.request_id for r in reports if r.request_id is not None}
    references = dict(session.execute(
        select(RecordRequest.id, RecordRequest.reference).where(RecordRequest.id.in_(matched))
    ).all()) if matched else {}
    # One form per report, prefixed so field ids stay unique on the page.
    report_forms = {r.id: forms.LostEmailHandledForm(formdata=None, prefix=f"report-{r.id}")
                    for r in reports}
    if submitted is not None and submitted_id in report_forms:
        report_forms[submitted_id] = submitted
    return render_template("queue/lost_email.html", reports=reports, references=references,
                           report_forms=report_forms, submitted=submitted), status


@staff_required(WORK_REQUESTS)
def lost_email_reports():
    """Requesters who lost access to their email and asked for a new way in, newest first."""
    return _lost_email_page()


@staff_required(WORK_REQUESTS)
def lost_email_handled(report_id: int):
    """Mark a report handled, saying what was done (verified by phone, new address...)."""
    report = get_session().get(LostEmailReport, report_id)
    if report is None:
        abort(404)
    form = forms.LostEmailHandledForm(prefix=f"report-{report_id}")
    if not form.validate():
        return _lost_email_page(form, report_id, 422)
    try:
        operations.mark_lost_email_handled(get_session(), report, current_actor(),
                                           note=form.note.data)
    except TransitionRefused as exc:
        flash(" ".join(exc.problems), "error")
        return redirect(url_for("queue.lost_email_reports"))
    flash(_("The report is marked handled."), "success")
    return redirect(url_for("queue.lost_email_reports"))


# --- The request page -------------------------------------------------------------------


def _load(request_id: int) -> RecordRequest:
    req = get_session().get(RecordRequest, request_id)
    if req is None:
        abort(404)
    return req


@staff_required(WORK_REQUESTS)
def request_page(request_id: int):
    """Everything about one request, with the actions its state allows."""
    req = _load(request_id)
    return page.render(req)


def _typed_values(form) -> list[tuple[str, str]]:
    """What the clerk typed, to show back on the conflict page (text only, never files)."""
    typed = []
    for field in form:
        if isinstance(field, FileField | HiddenField | IntegerField) or field.name in (
                "csrf_token", "version"):
            continue
        value = field.data
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        if value not in (None, "", False):
            typed.append((str(field.label.text), str(value)))
    return typed


def _conflict(request_id: int, form) -> tuple[str, int]:
    rollback()
    req = get_session().get(RecordRequest, request_id)
    return render_template("queue/conflict.html", req=req, typed=_typed_values(form)), 409


def _act(request_id: int, section: str, perform, success: str):
    """Validate the section's form, perform the operation, and answer refusals and conflicts."""
    req = _load(request_id)
    form = page.build_form(section, req, request.form, request.files)
    if not form.validate():
        # Forms drawn per item (a part, a record) show their problems in the page summary.
        problems = ([m for field in form for m in field.errors]
                    if section in page.ITEM_SECTIONS else None)
        return page.render(req, submitted={section: form}, problems=problems,
                           problem_section=section, status=422)
    try:
        perform(get_session(), req, current_actor(), form)
    except TransitionRefused as exc:
        rollback()
        req = _load(request_id)
        operations.record_refusal(get_session(), req, current_actor(), section)
        return page.render(req, submitted={section: form}, problems=exc.problems,
                           problem_section=section, status=422)
    except (Conflict, StaleDataError):
        return _conflict(request_id, form)
    flash(success, "success")
    return _onwards(request_id, section)


def _onwards(request_id: int, section: str | None = None):
    """After an action: back to the request, or on to the next one in the queue's order when
    the clerk pressed "… and go to the next request"."""
    if request.form.get("then") == "next":
        following = listing.next_request_id(get_session(), _load(request_id))
        if following is not None:
            return redirect(url_for("queue.request_page", request_id=following))
        flash(_("No other request is open."), "success")
        return redirect(url_for("queue.index"))
    return redirect(url_for("queue.request_page", request_id=request_id, _anchor=section))


def _version(form) -> int:
    return form.version.data


@staff_required(WORK_REQUESTS)
def claim(request_id: int):
    """Take the request."""
    return _act(request_id, "claim", lambda s, r, a, f: operations.claim_request(
        s, r, a, expected_version=_version(f)), _("The request is now yours."))


@staff_required(ASSIGN_REQUESTS)
def assign(request_id: int):
    """A supervisor assigns the request."""
    def perform(s, r, a, f):
        staff_id = int(f.staff_id.data) if f.staff_id.data else None
        operations.assign_request(s, r, a, staff_id, expected_version=_version(f))

    return _act(request_id, "assign", perform, _("The request was assigned."))


@staff_required(WORK_REQUESTS)
def accept(request_id: int):
    """Start identity review without the email check (paper, phone)."""
    return _act(request_id, "accept", lambda s, r, a, f: operations.accept_without_email(
        s, r, a, expected_version=_version(f), reason=f.reason.data),
        _("Identity review has started."))


@staff_required(WORK_REQUESTS)
def verify(request_id: int):
    """The requester is who they say (R-ID-2)."""
    return _act(request_id, "verify", lambda s, r, a, f: operations.verify_requester(
        s, r, a, evidence=f.evidence.data, note=f.note.data, expected_version=_version(f)),
        _("The requester's identity is verified."))


@staff_required(WORK_REQUESTS)
def could_not_verify(request_id: int):
    """Close with the neutral could-not-verify letter (R-ID-2, R-ID-5)."""
    return _act(request_id, "could_not_verify", lambda s, r, a, f: operations.could_not_verify(
        s, r, a, reason=f.reason.data, expected_version=_version(f)),
        _("The request is closed and the could-not-verify letter is ready."))


@staff_required(WORK_REQUESTS)
def rematch(request_id: int):
    """Run the roster match again (after a roster import or a corrected request)."""
    return _act(request_id, "roster", lambda s, r, a, f: operations.rematch(
        s, r, a, expected_version=_version(f)), _("The roster match was run again."))


@staff_required(WORK_REQUESTS)
def locate(request_id: int):
    """Choose the roster patient, or record that none exists (R-ID-2(c))."""
    def perform(s, r, a, f):
        patient_id = None
        if f.mrn.data:
            patient_id = s.scalar(select(RosterPatient.id).where(RosterPatient.mrn == f.mrn.data))
            if patient_id is None:
                raise TransitionRefused([_("No roster patient has that MRN.")])
        elif f.patient.data != "none":
            patient_id = int(f.patient.data)
        operations.locate_patient(s, r, a, patient_id=patient_id, note=f.note.data,
                                  expected_version=_version(f))

    return _act(request_id, "locate", perform, _("The patient location is recorded."))


@staff_required(WORK_REQUESTS)
def request_information(request_id: int):
    """Ask the requester for more; the clocks keep running (R-DL-3)."""
    return _act(request_id, "information", lambda s, r, a, f: operations.request_information(
        s, r, a, reason=f.reason.data, message=f.message.data, expected_version=_version(f)),
        _("The message was sent and the request is waiting for the requester."))


@staff_required(WORK_REQUESTS)
def record_answer(request_id: int):
    """Record an answer received by phone or post."""
    return _act(request_id, "answer", lambda s, r, a, f: operations.record_answer(
        s, r, a, note=f.note.data, expected_version=_version(f)),
        _("The answer is recorded and the request is back in work."))


@staff_required(WORK_REQUESTS)
def send_message(request_id: int):
    """Write to the requester."""
    return _act(request_id, "messages", lambda s, r, a, f: operations.send_message(
        s, r, a, body=f.body.data), _("The message was sent."))


@staff_required(WORK_REQUESTS)
def add_note(request_id: int):
    """An internal note."""
    return _act(request_id, "notes", lambda s, r, a, f: operations.add_note(
        s, r, a, body=f.body.data), _("The note was added."))


@staff_required(WORK_REQUESTS)
def extend(request_id: int):
    """HIPAA's one extension with its notice (R-DL-2)."""
    return _act(request_id, "extension", lambda s, r, a, f: operations.extend_deadline(
        s, r, a, new_due_on=f.new_due_on.data, reason=f.reason.data,
        expected_version=_version(f)), _("The extension is recorded and the notice is ready."))


@staff_required(WORK_REQUESTS)
def settle_recipient_kind(request_id: int):
    """Record the kind of recipient when the requester was not sure (R-REL-2)."""
    return _act(request_id, "recipient_kind", lambda s, r, a, f: operations.settle_recipient_kind(
        s, r, a, kind=f.kind.data, expected_version=_version(f)),
        _("The kind of recipient is recorded."))


@staff_required(RELEASE_RECORDS)
def reissue_link(request_id: int):
    """Send the third party a new download link after theirs locked on wrong codes."""
    return _act(request_id, "reissue_link", lambda s, r, a, f: operations.reissue_shared_link(
        s, r, a, expected_version=_version(f)),
        _("A new link was sent to the recipient. It works with the access code the requester "
          "holds."))


@staff_required(WORK_REQUESTS)
def record_outcome(request_id: int):
    """Decide requested parts (R-DEN-1, R-DEN-4); a release may bring its scanned record.

    The outcome and the attachment stay two operations with an audit event each, in the one
    transaction of this request.
    """
    upload = request.files.get("outcomes-record")
    attaching = upload is not None and bool(upload.filename)

    def perform(s, r, a, f):
        operations.record_outcome(
            s, r, a, part_ids=[int(p) for p in f.parts.data], outcome=f.outcome.data,
            ground=f.ground.data or None, note=f.note.data,
            other_custodian=f.other_custodian.data, expected_version=_version(f))
        if attaching:
            operations.attach_record(s, r, a, part_id=int(f.parts.data[0]),
                                     stream=upload.stream,
                                     filename=operations.display_filename(upload.filename),
                                     expected_version=None)

    return _act(request_id, "outcomes", perform,
                _("The outcome is recorded and the record attached.") if attaching
                else _("The outcome is recorded."))


@staff_required(WORK_REQUESTS)
def route_review(request_id: int):
    """Send a clinical denial to a different licensed reviewer (R-DEN-3)."""
    return _act(request_id, "review_route", lambda s, r, a, f: operations.route_review(
        s, r, a, part_id=f.part_id.data, reviewer_id=int(f.reviewer_id.data),
        expected_version=_version(f)), _("The denial was sent for review."))


@staff_required(REVIEW_CLINICAL)
def decide_review(request_id: int):
    """The reviewer's decision (R-DEN-3)."""
    return _act(request_id, "review", lambda s, r, a, f: operations.decide_review(
        s, r, a, part_id=f.part_id.data, result=f.result.data, release_by=f.release_by.data,
        expected_version=_version(f)), _("The review decision is recorded."))


@staff_required(WORK_REQUESTS)
def attach_record(request_id: int):
    """Upload a scanned record PDF for a part."""
    def perform(s, r, a, f):
        upload = f.record.data
        operations.attach_record(s, r, a, part_id=int(f.part_id.data), stream=upload.stream,
                                 filename=operations.display_filename(upload.filename),
                                 expected_version=_version(f))

    return _act(request_id, "records", perform, _("The record was attached."))


@staff_required(WORK_REQUESTS)
def remove_record(request_id: int):
    """Take a wrongly attached record off."""
    return _act(request_id, "remove_record", lambda s, r, a, f: operations.remove_record(
        s, r, a, document_id=f.document_id.data, expected_version=_version(f)),
        _("The record was removed from the request."))


@staff_required(WORK_REQUESTS)
def close(request_id: int):
    """Close once every part has its outcome."""
    return _act(request_id, "close", lambda s, r, a, f: operations.close_request(
        s, r, a, expected_version=_version(f)), _("The request is closed."))


@staff_required(ASSIGN_REQUESTS)
def reopen(request_id: int):
    """A supervisor reopens an ended request for review, with a reason."""
    return _act(request_id, "reopen", lambda s, r, a, f: operations.reopen_request(
        s, r, a, reason=f.reason.data, note=f.note.data, expected_version=_version(f)),
        _("The request is open again, for review."))


@staff_required(RELEASE_RECORDS, reauth=True)
def release(request_id: int):
    """Release the records: the checks first, then the packet, by download or mail."""
    req = _load(request_id)
    session = get_session()
    form = forms.ReleaseForm(formdata=request.form if request.method == "POST" else None,
                             data={"version": req.version})
    if request.method == "GET":
        operations.view_request(session, req, current_actor(), section="release")
        return page.render_release(req, form)
    if not form.validate():
        return page.render_release(req, form, status=422)
    try:
        outcome = release_request(
            session, req, current_actor(), method=form.method.data,
            mailed_on=form.mailed_on.data, tracking_number=form.tracking_number.data,
            expected_version=form.version.data,
        )
    except TransitionRefused as exc:
        rollback()
        req = _load(request_id)
        operations.record_refusal(session, req, current_actor(), "release")
        return page.render_release(req, form, problems=exc.problems, status=422)
    except (Conflict, StaleDataError):
        return _conflict(request_id, form)
    except IntegrityError:
        rollback()
        return page.render_release(req, form, status=500, problems=[_(
            "A stored record failed its integrity check, so nothing was released. The file "
            "must be attached again.")])
    flash(_("The records were released (%(pages)s pages).", pages=outcome.release.page_count)
          + (" " + _("The request is closed.") if outcome.closed else ""), "success")
    return _onwards(request_id)


# --- Documents (R-SEC-2) ----------------------------------------------------------------


def _document(req: RecordRequest, document_id: int) -> StoredDocument:
    document = get_session().get(StoredDocument, document_id)
    if document is None or document.request_id != req.id:
        abort(404)
    return document


@staff_required(WORK_REQUESTS)
def document_preview(request_id: int, document_id: int):
    """A document page as a clean PNG, sandboxed and audited; the original never opens."""
    req = _load(request_id)
    document = _document(req, document_id)
    page_number = arg_int("page", 1) or 1
    size = _zoom_size()
    try:
        preview = render_preview(document, page_number, max_pixels=size)
    except IntegrityError:
        g.rollback_only = True
        current_app.logger.error("integrity check failed for document %s", document.id)
        abort(500)
    except PreviewUnavailable as exc:
        preview = None
        message = exc.message
    operations.record_document_access(get_session(), req, document, current_actor(),
                                      "document.previewed", page=page_number, size=size)
    if preview is None:
        response = Response(message, mimetype="text/plain", status=422)
        response.headers["Content-Security-Policy"] = SANDBOX_CSP
        return response
    # The PNG is the portal's own rendering (pixels re-encoded), so it may show inline.
    response = file_response(preview.png, filename=f"page-{page_number}.png",
                             media_type="image/png", generated=True, inline=True)
    response.headers["X-Page-Count"] = str(preview.page_count)
    return response


#: The sizes a preview is rendered at (its longest side in pixels), smallest first.
ZOOM_SIZES = (1600, 2400, 3200)


def _zoom_size() -> int:
    """The preview size asked for (``size``), one of ZOOM_SIZES; the configured one else."""
    asked = arg_int("size", 0)
    return asked if asked in ZOOM_SIZES else int(current_app.config["PREVIEW_MAX_PIXELS"])


@staff_required(WORK_REQUESTS)
def document_zoom(request_id: int, document_id: int):
    """An uploaded document large, beside the details typed in the request, to compare them
    (R-ID-2). The image itself is the preview route's, rendered at the size chosen."""
    req = _load(request_id)
    document = _document(req, document_id)
    size = _zoom_size()
    operations.view_request(get_session(), req, current_actor(), section="zoom")
    return render_template("queue/zoom.html", req=req, document=document, size=size,
                           sizes=ZOOM_SIZES, page_number=arg_int("page", 1) or 1,
                           mailing_lines=letters.request_mailing_lines(req))


@staff_required(WORK_REQUESTS)
def match_run(request_id: int, run_id: int):
    """An earlier (or the latest) roster-match run of this request: its ranking as it was
    (R-ID-2(c)), and which proofing step relied on it."""
    req = _load(request_id)
    session = get_session()
    found = view_match_run(session, req, run_id, current_actor())
    if found is None:
        abort(404)
    run, patients = found
    relied = [step for step in page.proofing_steps(session, req) if step.match_run_id == run.id]
    return render_template("queue/match_run.html", req=req, run=run, patients=patients,
                           relied=relied, latest=latest_match_run(session, req.id),
                           names=page.staff_names(session, [run.actor_id if run.actor_type
                                                            == "staff" else None]
                                                  + [s.decided_by_id for s in relied]))


@staff_required(WORK_REQUESTS)
def document_download(request_id: int, document_id: int):
    """The original file, as an attachment, with its own audit event."""
    req = _load(request_id)
    document = _document(req, document_id)
    try:
        verify_document(document)
    except IntegrityError:
        g.rollback_only = True
        current_app.logger.error("integrity check failed for document %s", document.id)
        abort(500)
    operations.record_document_access(get_session(), req, document, current_actor(),
                                      "document.downloaded")

    def chunks():
        with open_document(document) as reader:
            yield from iter(lambda: reader.read(256 * 1024), b"")

    # The portal's own PDFs (letters, packets) say what they are; an upload stays bytes.
    generated = document.kind in GENERATED_KINDS
    return file_response(stream_with_context(chunks()),
                         filename=operations.display_filename(document.filename),
                         media_type=document.media_type if generated
                         else "application/octet-stream", length=document.size,
                         generated=generated)


# --- Paper and phone requests -----------------------------------------------------------


@staff_required(WORK_REQUESTS)
def paper_request():
    """Type in a request received by mail or phone, with the date it arrived (R-ID-1)."""
    form = forms.PaperRequestForm()
    if request.method == "GET":
        return render_template("queue/paper_request.html", form=form)
    if not form.validate():
        return render_template("queue/paper_request.html", form=form), 422
    upload = form.scan.data
    try:
        clean = clean_upload(upload.stream, upload.filename, from_outside=False,
                             max_bytes=int(current_app.config["PAPER_FORM_MAX_BYTES"]))
    except UploadRejected as exc:
        form.scan.errors = [exc.message]
        return render_template("queue/paper_request.html", form=form), 422
    data, consents = page.paper_request_data(form)
    req = operations.enter_paper_request(
        get_session(), data, current_actor(), received_on=form.received_on.data,
        scan=operations.PaperScan(clean.stream(), clean.filename, clean.media_type,
                                  clean.original),
        consents=consents,
    )
    schedule_roster_match(req.id)
    flash(_("Request %(ref)s was entered.", ref=req.reference), "success")
    return redirect(url_for("queue.request_page", request_id=req.id))

