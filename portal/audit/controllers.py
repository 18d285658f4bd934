"""Handlers of the auditor's pages: read-only everywhere, every view and export audited.

Filters are GET parameters holding dates, codes and surrogate ids only. The two POST forms
(finding a patient by record number, checking a released PDF) change no data; they are POSTs
so that a record number or a file never lands in a URL or a server log (R-SEC-4).
"""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from portal.accounts.models import StaffUser
from portal.accounts.permissions import (
    EXPORT_IDENTIFIED,
    READ_AUDIT,
    READ_UPLOAD_ORIGINALS,
    staff_required,
)
from portal.accounts.sessions import current_actor
from portal.audit import accounting, exports, operations
from portal.audit.dashboard import dashboard_charts, dashboard_csv, dashboard_numbers
from portal.audit.forms import (
    EXPORT_PURPOSES,
    DashboardForm,
    ExportPurposeForm,
    OriginalForm,
    PacketCheckForm,
    PatientLookupForm,
    PeriodForm,
    RequestLogFilterForm,
    TrailFilterForm,
)
from portal.audit.models import ExportRecord
from portal.audit.request_log import RequestLogTotals, iter_request_log
from portal.core.db import get_session, read_mostly
from portal.core.errors import render_error
from portal.core.ids import arg_int
from portal.core.security import SANDBOX_CSP, file_response
from portal.requests.models import RecordRequest
from portal.roster.models import RosterPatient
from portal.rules.deadlines import today_pacific
from portal.trail.models import AuditEvent
from portal.trail.signing import key_fingerprint, load_private_key, public_key_pem

LOG_PAGE = 100
TRAIL_PAGE = 50


def _query(**changes) -> dict:
    """The current filter parameters with some changed (None removes one)."""
    args = request.args.to_dict()
    args.update(changes)
    return {k: v for k, v in args.items() if v not in (None, "")}


def _soon_days() -> int:
    return int(current_app.config["DUE_SOON_DAYS"])


@staff_required(READ_AUDIT)
def index():
    """The auditor's home: what is here, the signing key, and this auditor's recent exports."""
    session = get_session()
    key = load_private_key(current_app.config["KEY_DIR"])
    recent = session.scalars(
        select(ExportRecord).where(ExportRecord.staff_id == current_user.id)
        .order_by(ExportRecord.id.desc()).limit(5)
    ).all()
    operations.record_view(session, current_actor(), "index")
    return render_template("audit/index.html", public_key=public_key_pem(key),
                           fingerprint=key_fingerprint(key), recent=recent)


@staff_required(READ_AUDIT)
def public_key():
    """The export-signing public key as a PEM file, for verifying manifests elsewhere."""
    key = load_private_key(current_app.config["KEY_DIR"])
    operations.record_view(get_session(), current_actor(), "public_key")
    return Response(public_key_pem(key), content_type="application/x-pem-file",
                    headers={"Content-Disposition":
                             'attachment; filename="export-signing-public-key.pem"'})


# ---------------------------------------------------------------- request log


def _request_log_page(form: RequestLogFilterForm, status: int = 200):
    session = get_session()
    rows, totals = [], RequestLogTotals()
    page = max(1, arg_int("page", 1) or 1)
    if not form.errors:
        first = (page - 1) * LOG_PAGE
        for index_, row in enumerate(iter_request_log(
                session, form.to_filter(), today=today_pacific(), soon_days=_soon_days())):
            totals.add(row)
            if first <= index_ < first + LOG_PAGE:
                rows.append(row)
        operations.record_view(session, current_actor(), "request_log",
                               filters=form.to_filter().as_dict(), rows=totals.requests)
    return render_template(
        "audit/request_log.html", form=form, rows=rows, totals=totals, page=page,
        pages=max(1, -(-totals.requests // LOG_PAGE)), query=_query,
        may_identify=EXPORT_IDENTIFIED in current_user.permissions,
    ), status


@staff_required(READ_AUDIT)
def request_log():
    """The filterable request log with totals."""
    form = RequestLogFilterForm(formdata=request.args)
    if request.args and not form.validate():
        return _request_log_page(form, 400)
    return _request_log_page(form)


def _stream(plan: exports.ExportPlan) -> Response:
    app = current_app._get_current_object()
    actor = current_actor()
    sessions = app.extensions["db_sessionmaker"]

    def store_manifest(manifest: dict) -> None:
        # The request's own transaction (the ExportRecord and 'audit.exported') was committed
        # by after_request before the first byte left; the manifest exists only after the
        # last byte, so it is stored, with its own audit event, in a short transaction here.
        with sessions() as session:
            operations.complete_export(session, actor, manifest)
            session.commit()

    # A plain generator, not stream_with_context: it reads through its own snapshot and
    # stores the manifest with its own session, so it needs no request context, and a
    # response that is dropped unread never started it and holds nothing open.
    body = exports.stream_export(app, plan, on_manifest=store_manifest)
    response = Response(body, content_type=exports.MEDIA_TYPES[plan.file_format])
    response.headers["Content-Disposition"] = f'attachment; filename="{plan.file_name}"'
    response.headers["X-Export-Id"] = plan.export_id
    return response


def _export_request_log(file_format: str, kind: str, purpose=None):
    form = RequestLogFilterForm(formdata=request.args)
    if request.args and not form.validate():
        return _request_log_page(form, 400)
    plan = operations.begin_export(
        get_session(), current_actor(), kind, file_format, form.to_filter(),
        today=today_pacific(), soon_days=_soon_days(),
        purpose=purpose.purpose.data if purpose else None,
        purpose_detail=purpose.purpose_detail.data if purpose else None)
    return _stream(plan)


@staff_required(READ_AUDIT)
def export_request_log(file_format: str):
    """The request log as CSV or JSON Lines, minimum-necessary columns, streamed."""
    return _export_request_log(file_format, "requests")


@staff_required(READ_AUDIT, EXPORT_IDENTIFIED, reauth=True)
def export_request_log_identified(file_format: str):
    """The request log with names, birth dates and addresses: re-authenticated, its purpose
    asked first (R-AUD-4), then streamed and audited."""
    purpose = ExportPurposeForm(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET" or not purpose.validate():
        return render_template("audit/identified_export.html", form=purpose,
                               file_format=file_format, query=request.query_string.decode()), (
            200 if request.method == "GET" else 422)
    return _export_request_log(file_format, "requests_identified", purpose)


# ---------------------------------------------------------------- audit trail


@staff_required(READ_AUDIT)
def trail():
    """The audit trail, newest first, with each event's hash and previous hash."""
    form = TrailFilterForm(formdata=request.args)
    if request.args and not form.validate():
        return render_template("audit/trail.html", form=form, events=[], query=_query,
                               before=None, next_before=None), 400
    session = get_session()
    before = arg_int("before")
    query = select(AuditEvent).where(*form.to_filter().conditions())
    if before:
        query = query.where(AuditEvent.id < before)
    events = session.scalars(query.order_by(AuditEvent.id.desc()).limit(TRAIL_PAGE + 1)).all()
    next_before = events[TRAIL_PAGE - 1].id if len(events) > TRAIL_PAGE else None
    events = events[:TRAIL_PAGE]
    operations.record_view(session, current_actor(), "trail",
                           filters=form.to_filter().as_dict(), rows=len(events))
    return render_template("audit/trail.html", form=form, events=events, query=_query,
                           before=before, next_before=next_before)


@staff_required(READ_AUDIT)
def export_trail(file_format: str):
    """The hash-chained events as JSON Lines (recomputable) or CSV, bounded by the head now."""
    form = TrailFilterForm(formdata=request.args)
    if request.args and not form.validate():
        return render_template("audit/trail.html", form=form, events=[], query=_query,
                               before=None, next_before=None), 400
    plan = operations.begin_export(get_session(), current_actor(), "audit", file_format,
                                   form.to_filter(), today=today_pacific(),
                                   soon_days=_soon_days())
    return _stream(plan)


@staff_required(READ_AUDIT)
def export_list():
    """This auditor's exports, each with its signed manifest once the file is complete; and
    every export of identified data by anyone: who, when, why and what (R-AUD-4)."""
    session = get_session()
    records = session.scalars(
        select(ExportRecord).where(ExportRecord.staff_id == current_user.id)
        .order_by(ExportRecord.id.desc()).limit(50)
    ).all()
    identified = session.scalars(
        select(ExportRecord).where(ExportRecord.kind == "requests_identified")
        .order_by(ExportRecord.id.desc()).limit(200)
    ).all()
    names = {person.id: person.display_name for person in session.scalars(
        select(StaffUser).where(StaffUser.id.in_({r.staff_id for r in identified if r.staff_id})))}
    operations.record_view(session, current_actor(), "exports",
                           rows=len(records) + len(identified))
    return render_template("audit/exports.html", records=records, identified=identified,
                           names=names, purposes=EXPORT_PURPOSES)


@staff_required(READ_AUDIT)
def export_manifest(export_id: str):
    """The signed manifest of a finished export (holds no PHI: any auditor may check one)."""
    session = get_session()
    record = session.scalar(select(ExportRecord).where(ExportRecord.export_id == export_id))
    if record is None:
        abort(404)
    manifest = operations.manifest_for_download(session, current_actor(), export_id)
    if manifest is None:
        return render_template("audit/manifest_pending.html", record=record), 404
    return Response(exports.manifest_text(manifest), content_type="application/json",
                    headers={"Content-Disposition": 'attachment; filename="'
                             + manifest["file_name"] + '.manifest.json"'})


# ---------------------------------------------------------------- accounting of disclosures


@staff_required(READ_AUDIT)
def accounting_index():
    """Accounting requests to answer, and a lookup of a patient by record number."""
    session = get_session()
    form = PatientLookupForm()
    status = 200
    if request.method == "POST":
        if form.validate():
            patient = operations.find_patient(session, current_actor(), form.mrn.data)
            if patient is not None:
                return redirect(url_for("audit.accounting", patient_id=patient.id))
            form.mrn.errors.append(_("No patient on the roster has that record number."))
        status = 422
    requests_ = accounting.accounting_requests(session)
    operations.record_view(session, current_actor(), "accounting_index", rows=len(requests_))
    return render_template("audit/accounting_index.html", form=form,
                           requests=requests_), status


def _accounting_context(patient_id: int):
    """The patient, the validated period form, the period and the request being answered."""
    session = get_session()
    patient = session.get(RosterPatient, patient_id)
    if patient is None:
        abort(404)
    form = PeriodForm(formdata=request.args)
    valid = form.validate() if request.args else True
    answering = None
    if valid and form.request_id.data:
        answering = session.get(RecordRequest, form.request_id.data)
        if answering is None or answering.kind != "accounting" \
                or answering.patient_id != patient.id:
            form.request_id.errors.append(_(
                "Request %(number)s is not an accounting request about this patient.",
                number=form.request_id.data))
            valid, answering = False, None
    start, end = form.period(accounting.default_period(today_pacific()))
    return session, patient, form, valid, start, end, answering


def _render_accounting(session, patient, form, valid, start, end, answering):
    entries = []
    if valid:
        entries = accounting.view_accounting(session, current_actor(), patient, start, end,
                                             as_format="html")
    return render_template(
        "audit/accounting.html", patient=patient, name=accounting.patient_name(patient),
        form=form, entries=entries, start=start, end=end, answering=answering, query=_query,
        requests=accounting.accounting_requests(session, patient.id),
    ), (200 if valid else 400)


@staff_required(READ_AUDIT)
def accounting_page(patient_id: int):
    """Every disclosure of one patient's records to others in the period, on screen."""
    return _render_accounting(*_accounting_context(patient_id))


@staff_required(READ_AUDIT)
def accounting_pdf(patient_id: int):
    """The accounting as the release-documents PDF (164.528(b) elements)."""
    from portal.release.documents import accounting_of_disclosures_pdf
    from portal.release.letterhead import MissingSetting, UnsafeSetting, letterhead_from_config

    context = _accounting_context(patient_id)
    session, patient, form, valid, start, end, answering = context
    if not valid:
        return _render_accounting(*context)
    try:
        letterhead = letterhead_from_config(current_app.config)
    except (MissingSetting, UnsafeSetting) as exc:
        return render_error(500, str(exc))
    entries = accounting.view_accounting(session, current_actor(), patient, start, end,
                                         as_format="pdf")
    letter = accounting.accounting_letter(patient, entries, start, end, today=today_pacific(),
                                          answering=answering, letterhead=letterhead)
    response = Response(accounting_of_disclosures_pdf(letter, letterhead),
                        content_type="application/pdf")
    response.headers["Content-Disposition"] = (
        f'attachment; filename="accounting-{letter.reference}.pdf"')
    response.headers["Content-Security-Policy"] = SANDBOX_CSP
    return response


@staff_required(READ_AUDIT)
def accounting_csv(patient_id: int):
    """The accounting as CSV."""
    context = _accounting_context(patient_id)
    session, patient, _form, valid, start, end, _answering = context
    if not valid:
        return _render_accounting(*context)
    entries = accounting.view_accounting(session, current_actor(), patient, start, end,
                                         as_format="csv")
    return Response(accounting.accounting_csv(entries), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="accounting-P{patient.id}.csv"'})


# ---------------------------------------------------------------- released-packet digests


@read_mostly
@staff_required(READ_AUDIT)
def packet_check():
    """Upload a PDF: was exactly this file released, when, and to whom (R-SEC-3)."""
    form = PacketCheckForm()
    session = get_session()
    if request.method == "POST":
        if not form.validate():
            return render_template("audit/packet.html", form=form, checked=False), 422
        sha256, found = operations.check_packet(session, current_actor(),
                                                form.packet.data.stream)
        return render_template("audit/packet.html", form=PacketCheckForm(formdata=None),
                               checked=True, sha256=sha256, found=found)
    operations.record_view(session, current_actor(), "packet_check")
    return render_template("audit/packet.html", form=form, checked=False)


# ---------------------------------------------------------------- dashboard


def _dashboard_numbers():
    form = DashboardForm(formdata=request.args)
    if request.args and not form.validate():
        return form, None
    months = int(form.months.data or 12)
    return form, dashboard_numbers(get_session(), today=today_pacific(), months=months,
                                   soon_days=_soon_days())


@staff_required(READ_AUDIT)
def dashboard():
    """The numbers at a glance as server-drawn SVG charts, each with its data table."""
    form, numbers = _dashboard_numbers()
    if numbers is None:
        return render_template("audit/dashboard.html", form=form, charts=[]), 400
    operations.record_view(get_session(), current_actor(), "dashboard",
                           months=len(numbers.months))
    return render_template("audit/dashboard.html", form=form, charts=dashboard_charts(numbers),
                           numbers=numbers)


@staff_required(READ_AUDIT)
def dashboard_data():
    """The dashboard's numbers as CSV."""
    form, numbers = _dashboard_numbers()
    if numbers is None:
        return render_template("audit/dashboard.html", form=form, charts=[]), 400
    operations.record_view(get_session(), current_actor(), "dashboard_csv",
                           months=len(numbers.months))
    return Response(dashboard_csv(numbers), content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": 'attachment; filename="dashboard.csv"'})


# ---------------------------------------------------------------- originals of uploads


@staff_required(READ_AUDIT, READ_UPLOAD_ORIGINALS, reauth=True)
def original():
    """An upload's bytes as received (kept as evidence; the portal serves only its inert
    copy): compliance only, re-authenticated, audited, always as a download of bytes."""
    form = OriginalForm(formdata=request.args if request.args else None)
    if not request.args:
        return render_template("audit/original.html", form=form)
    if not form.validate():
        return render_template("audit/original.html", form=form), 400
    from portal.storage.operations import open_document

    session = get_session()
    found = operations.open_original(session, current_actor(), form.document.data)
    if found is None:
        form.document.errors = [_("No original is kept for document %(number)s: it was not "
                                  "an upload, or it was stored before originals were kept.",
                                  number=form.document.data)]
        return render_template("audit/original.html", form=form), 404
    _copy, kept = found
    reader = open_document(kept)
    response = file_response(iter(lambda: reader.read(256 * 1024), b""),
                             filename=f"original-{form.document.data}-{kept.filename}",
                             media_type="application/octet-stream", length=kept.size,
                             generated=False)
    response.call_on_close(reader.close)
    return response
