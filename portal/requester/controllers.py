"""Handlers of the request wizard, the requester's pages and the third-party download.

Thin: find the draft or the request (a requester only ever finds their own: 404 otherwise),
validate the form, call one operation, respond. No PHI in URLs: the wizard's URLs name steps
only, and everything carrying data is a POST.
"""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.accounts.permissions import public, requester_required, token_required
from portal.accounts.sessions import current_actor, request_limit
from portal.core.dates import due_text, long_date, month_and_year
from portal.core.db import get_session
from portal.core.ids import arg_int
from portal.core.security import file_response, pdf_attachment
from portal.extensions import limiter
from portal.requester import drafts, flow, forms, journey, wizard
from portal.requests import grants, letters
from portal.requests.models import RecordRequest, WizardDraft
from portal.requests.operations import TransitionRefused
from portal.rules import lifecycle, notices
from portal.rules.consent import RECIPIENT_KINDS
from portal.rules.deadlines import pacific_date, today_pacific
from portal.rules.fees import format_cents
from portal.storage.filestore import IntegrityError
from portal.storage.models import GENERATED_KINDS, StoredDocument
from portal.storage.operations import open_document, verify_document
from portal.storage.uploads import UploadRejected, clean_upload


def _submit_limit() -> str:
    return current_app.config["SUBMIT_LIMIT_PER_CLIENT"]


def _token_limit() -> str:
    return current_app.config["TOKEN_LIMIT_PER_CLIENT"]


_submission_limited = limiter.limit(_submit_limit, methods=["POST"],
                                    exempt_when=lambda: request.view_args.get("name") != "sign")
_token_limited = limiter.limit(_token_limit, methods=["POST"])


# ------------------------------------------------------------------------------ the draft


def _browser_token() -> str | None:
    return request.cookies.get(drafts.cookie_name())


def _current_draft() -> tuple[WizardDraft | None, dict | None]:
    """The browser's live draft and its answers, or (None, None)."""
    wiz = flow.RequestWizard.open(get_session(), _browser_token(), current_actor())
    return (wiz.row, wiz.answers) if wiz else (None, None)


def _set_draft_cookie(response: Response, token: str) -> Response:
    days = int(current_app.config["WIZARD_DRAFT_DAYS"])
    response.set_cookie(
        drafts.cookie_name(), token, max_age=int(timedelta(days=days).total_seconds()),
        path=drafts.COOKIE_PATH, httponly=True, samesite="Lax",
        secure=current_app.config["SESSION_COOKIE_SECURE"],
    )
    return response


def _no_draft():
    flash(_("We could not find your answers. They are kept in this browser for %(days)s days; "
            "please start again.", days=current_app.config["WIZARD_DRAFT_DAYS"]), "error")
    return redirect(url_for("requests.start"))


# ------------------------------------------------------------------------------ the wizard


@public
def about():
    """The closure, what records may exist, and what a request involves."""
    return render_template("public/about.html")


@public
def start():
    """What a request involves, what to have ready, and the mail-in alternative (R-ID-1)."""
    row, answers = _current_draft()
    return render_template(
        "requests/wizard/start.html", has_draft=bool(row and answers["steps"]),
        receipt=bool(answers and answers.get("receipt")),
    )


@public
def begin():
    """Start a new draft in this browser, or continue the one it has."""
    session = get_session()
    row, answers = _current_draft()
    if row is not None and request.form.get("action") == "continue" and not answers["receipt"]:
        return redirect(url_for("requests.step", name=wizard.next_step(answers)))
    if row is not None:
        drafts.discard_draft(session, row)
    _row, token = drafts.create_draft(session)
    response = redirect(url_for("requests.step", name=wizard.STEPS[0].name))
    return _set_draft_cookie(response, token)


@public
def discard():
    """Delete this browser's answers and files, once the person confirms on this page."""
    row, answers = _current_draft()
    if request.method == "GET" or request.form.get("confirm") != "yes":
        if row is None:
            return redirect(url_for("requests.start"))
        files = len(drafts.draft_documents(get_session(), row))
        back = url_for("requests.step", name=wizard.next_step(answers))
        return render_template("requests/wizard/discard.html", files=files, back=back), (
            200 if request.method == "GET" else 422)
    if row is not None:
        drafts.discard_draft(get_session(), row)
    flash(_("Your answers and files were deleted."), "success")
    response = redirect(url_for("requests.start"))
    response.delete_cookie(drafts.cookie_name(), path=drafts.COOKIE_PATH,
                           secure=current_app.config["SESSION_COOKIE_SECURE"])
    return response


def _render_step(wiz: flow.RequestWizard, name: str):
    step, answers = wizard.STEP_BY_NAME[name], wiz.answers
    order = wiz.steps
    form = wiz.form(name)
    part, parts, part_title = wizard.section_of(step.name)
    context = {
        "step": step, "form": form, "answers": answers,
        "part_number": part, "part_count": parts, "part_title": part_title,
        "consent_part_needed": "consent" in order,
        "previous": wizard.previous_step(answers, step.name),
        "third_party": wizard.to_third_party(answers), "copies": wizard.is_copies(answers),
        "requester_type": wizard.requester_type(answers),
        "upload_errors": wiz.upload_errors(name),
        **_step_context(step, answers, wiz),
    }
    return render_template(step.template, **context)


def _step_context(step: wizard.Step, answers: dict, wiz: flow.RequestWizard) -> dict:
    """What a step's page shows besides its form."""
    extra: dict = {}
    if step.name in ("consent", "notes_consent"):
        extra["consent_scope"] = wizard.consent_scope(answers, step.name)
        extra["consent_recipient"] = wizard.recipient_line(answers)
        extra["consent_recipient_address"] = wizard.value(answers, "recipient",
                                                          "recipient_address")
        extra["consent_purpose"] = wizard.consent_purpose(answers)
        extra["patient_name"] = " ".join((wizard.value(answers, "patient", "first_name"),
                                          wizard.value(answers, "patient", "last_name")))
        extra["consent_statements"] = [
            text for text in notices.CONSENT_STATEMENTS
            if not (step.name == "notes_consent" and text == notices.CONSENT_PSYCHOTHERAPY_NOTES)
        ]
        extra["notices"] = notices
        extra["redisclosure_statement"] = wizard.carries_redisclosure_statement(answers)
        extra["recipient_unsure"] = wizard.recipient_kind(answers) == "unsure"
    if step.name == "documents":
        extra["uploaded"] = wiz.uploaded
        extra["slots"] = wizard.required_uploads(answers)
        extra["max_size"] = f"{int(current_app.config['ID_UPLOAD_MAX_BYTES']) // (1024 * 1024)} MB"
    if step.name in ("review", "sign"):
        fee = wizard.fee_for(answers)
        extra["fee"] = fee
        extra["fee_total"] = format_cents(fee.amount_cents)
        extra["uploaded"] = wiz.uploaded
        extra["parts"] = wizard.requested_parts(answers)
        extra["address"] = wizard.address_lines(answers)
        extra["steps"] = wizard.applicable_steps(answers)
        extra["v"] = lambda step_name, field: wizard.value(answers, step_name, field)
        extra["dv"] = lambda step_name, field: _shown_date(answers, step_name, field)
        extra["labels"] = ANSWER_LABELS
    return extra


def _shown_date(answers: dict, step_name: str, field: str) -> str:
    """A date answer as people read it: 'April 12, 1980', or 'March 2016' for a month."""
    answer = wizard.date_field(answers, step_name, field)
    return long_date(answer.data) if "day" in answer.keys else month_and_year(answer.data)


ANSWER_LABELS = {
    "kind": dict(forms.KINDS),
    "requester_type": dict(forms.REQUESTER_TYPES),
    "program": dict(forms.PROGRAMS),
    "parts": forms.PART_CHOICE_LABELS,
    "purpose": forms.PURPOSE_LABELS,
    "delivery": dict(forms.DELIVERIES),
    "recipient_kind": {code: _l(label) for code, label in RECIPIENT_KINDS},
}


@public
@_submission_limited
def step(name: str):
    """One question group: shown from the draft; a POST is saved, then redirected (PRG)."""
    if name not in wizard.STEP_BY_NAME:
        abort(404)
    posting = request.method == "POST"
    wiz = flow.RequestWizard.open(get_session(), _browser_token(), current_actor(), lock=posting)
    if wiz is None:
        return _no_draft()
    outcome = wiz.gate(name, posting=posting)
    if outcome is None and not posting:
        return _render_step(wiz, name)
    if outcome is None:
        signer = flow.Signer(request.remote_addr, request.headers.get("User-Agent"))
        outcome = wiz.post(name, request.form, request.files, signer)
    return _follow(outcome)


def _follow(outcome: flow.Next) -> Response:
    """Answer an action: a redirect to where it leads (or 204 for an autosave)."""
    if outcome.to is None:
        return Response(status=204)
    if outcome.message:
        flash(outcome.message, outcome.category)
    if outcome.to == "sent":
        return redirect(url_for("requests.sent"))
    if outcome.to == "start":
        return redirect(url_for("requests.start"))
    return _set_draft_cookie(redirect(url_for("requests.step", name=outcome.to)),
                             _browser_token())


def _receipt_request() -> tuple[RecordRequest | None, str | None]:
    row, answers = _current_draft()
    if row is None or not answers.get("receipt"):
        return None, None
    receipt = answers["receipt"]
    return get_session().get(RecordRequest, receipt["request_id"]), receipt.get("access_code")


@public
def sent():
    """The acknowledgement page: reference, both due dates, next steps (R-DL-1)."""
    req, access_code = _receipt_request()
    if req is None:
        return redirect(url_for("requests.start"))
    today = today_pacific()
    return render_template(
        "requests/sent.html", req=req, access_code=access_code,
        received=long_date(req.received_on),
        california_due=due_text(req.california_due_on, today) if req.california_due_on
        else None,
        hipaa_due=due_text(req.hipaa_due_on, today),
        requested=_part_labels(req),
        confirm_hours=current_app.config["EMAIL_CONFIRM_HOURS"],
    )


def _part_labels(req: RecordRequest) -> list:
    """What was asked for, in the visitor's language."""
    return [forms.PART_CHOICE_LABELS.get(part.part, part.part) for part in req.parts]


@public
def sent_pdf():
    """The acknowledgement as a PDF receipt, for the browser that sent the request."""
    req, _code = _receipt_request()
    if req is None:
        abort(404)
    return pdf_attachment(letters.acknowledgement_pdf(req), f"{req.reference}-receipt.pdf")


# -------------------------------------------------------------------- the requester's pages


def _own_request(request_id: int) -> RecordRequest:
    """A request of the signed-in requester; anyone else's is 'not found' (never 403).

    A sign-in by an update email's link reaches only the request that email was about.
    """
    req = get_session().get(RecordRequest, request_id)
    if req is None or req.requester_id != current_user.user.id:
        abort(404)
    if request_limit() not in (None, req.id):
        abort(404)
    return req


@requester_required
def my_requests():
    """Every request of the signed-in requester, with where it stands."""
    only = request_limit()
    requests_ = sorted((r for r in current_user.user.requests if only in (None, r.id)),
                       key=lambda r: r.id, reverse=True)
    return render_template("requests/my_requests.html", requests=requests_, limited=only,
                           today=today_pacific(), labels=lifecycle.STATUS_LABELS,
                           format_due=due_text)


def _detail(req: RecordRequest, *, reply_form=None, upload_error: str | None = None,
            status: int = 200, new_code: str | None = None):
    session = get_session()
    messages = journey.visible_messages(session, req)
    today = today_pacific()
    # A request that has ended (or whose records were sent) shows when and how, no countdown.
    finished_at = req.closed_at if not req.is_open else (
        req.released_at if req.status == lifecycle.RELEASED else None)
    page = render_template(
        "requests/detail.html", req=req, timeline=journey.timeline(session, req),
        labels=lifecycle.STATUS_LABELS, messages=messages,
        attachments=journey.attachments_by_message(session, messages),
        reply_form=reply_form or forms.ReplyForm(formdata=None), upload_error=upload_error,
        held_files=journey.held_reply_files(session, req),
        california_due=due_text(req.california_due_on, today)
        if req.california_due_on and finished_at is None else None,
        hipaa_due=None if finished_at is not None
        else due_text(req.hipaa_extended_due_on or req.hipaa_due_on, today),
        finished_on=long_date(pacific_date(finished_at)) if finished_at else None,
        extension=journey.extension_notice(req), format_date=long_date,
        grants=grants.requester_grants(session, req), grant_problem=grants.grant_problem,
        latest=next((m for m in reversed(messages) if m.author_type == "staff"), None),
        requested=_part_labels(req), can_revoke=journey.can_revoke_consent(req),
        can_withdraw=req.status in lifecycle.TRANSITIONS["withdraw"].sources,
        awaiting=req.status == lifecycle.AWAITING_REQUESTER,
        unconfirmed=req.status == lifecycle.SUBMITTED, new_code=new_code,
        recipient_locked=grants.locked_shared_grant(session, req) is not None,
    )
    journey.mark_messages_read(session, [m for m in messages if m.author_type == "staff"])
    return page, status


@requester_required
def detail(request_id: int):
    """One request: status timeline, due dates, messages, downloads and actions."""
    req = _own_request(request_id)
    journey.record_view(get_session(), req, current_actor())
    return _detail(req)


@requester_required
def reply(request_id: int):
    """Answer the clerk, with attachments; an awaited answer moves the request on.

    Files that pass their checks are kept even when the reply cannot be sent yet (no text,
    or another file refused): the page lists them and nobody chooses them twice."""
    req = _own_request(request_id)
    session, actor = get_session(), current_actor()
    form = forms.ReplyForm()
    action = request.form.get("action", "send")
    if action.startswith("remove:"):
        document_id = action.partition(":")[2]
        if document_id.isdigit():
            journey.remove_held_file(session, req, int(document_id), actor)
        return _detail(req, reply_form=form)  # the typed text stays, unchecked
    files = [f for f in request.files.getlist("attachments") if f and f.filename]
    limit = int(current_app.config["ID_UPLOAD_MAX_BYTES"])
    most = int(current_app.config["MESSAGE_MAX_ATTACHMENTS"])
    valid = form.validate()
    held = journey.held_reply_files(session, req)
    if len(files) + len(held) > most:
        return _detail(req, reply_form=form, status=422, upload_error=_(
            "You can attach at most %(count)s files to one reply.", count=most))
    cleaned, refused = [], None
    for incoming in files:
        try:
            cleaned.append(clean_upload(incoming.stream, incoming.filename, max_bytes=limit))
        except UploadRejected as exc:
            refused = refused or exc.message
    if refused or not valid:
        journey.hold_reply_files(session, req, cleaned, actor)
        return _detail(req, reply_form=form, status=422, upload_error=refused)
    journey.post_reply(session, req, form.body.data, cleaned, actor)
    flash(_("Your reply was sent."), "success")
    return redirect(url_for("requests.detail", request_id=req.id) + "#messages")


def _confirmed_action(req: RecordRequest, template: str, perform, done_message: str):
    form = forms.ConfirmActionForm()
    if request.method == "GET" or not form.validate():
        status = 422 if request.method == "POST" else 200
        return render_template(template, req=req, form=form), status
    try:
        perform(get_session(), req, current_actor(), arg_int("version", form=True))
    except TransitionRefused as exc:
        for problem in exc.problems:
            flash(problem, "error")
        return redirect(url_for("requests.detail", request_id=req.id))
    flash(done_message, "success")
    return redirect(url_for("requests.detail", request_id=req.id))


@requester_required
def withdraw(request_id: int):
    """Withdraw a request (asks for confirmation first)."""
    req = _own_request(request_id)
    return _confirmed_action(req, "requests/withdraw.html", journey.withdraw_request,
                             _("Your request was withdrawn."))


@requester_required
def revoke_consent(request_id: int):
    """R-REL-6: cancel the consent to share; binds from now, not for what was already sent."""
    req = _own_request(request_id)
    if not journey.can_revoke_consent(req):
        abort(404)
    return _confirmed_action(req, "requests/revoke_consent.html", journey.revoke_consent,
                             _("Your consent was cancelled. Nothing more will be sent under "
                               "it."))


@requester_required
def confirm_here(request_id: int):
    """Confirm the email for a request while signed in by an emailed link (R-ID-2(a))."""
    req = _own_request(request_id)
    if req.status == lifecycle.SUBMITTED:
        journey.confirm_while_signed_in(get_session(), req, current_user.user, current_actor())
        flash(_("Thank you: your email address is confirmed."), "success")
    return redirect(url_for("requests.detail", request_id=req.id))


@requester_required
def new_access_code(request_id: int):
    """Make a new access code for the third party; the old one stops working."""
    req = _own_request(request_id)
    if not (req.recipient_type == "third_party" and req.access_code_hash):
        abort(404)
    code = journey.reset_access_code(get_session(), req, current_actor())
    return _detail(req, new_code=code)


@requester_required
def acknowledgement(request_id: int):
    """The acknowledgement PDF of one of the requester's requests."""
    req = _own_request(request_id)
    return pdf_attachment(letters.acknowledgement_pdf(req), f"{req.reference}-receipt.pdf")


@requester_required
def consent_copy(request_id: int, consent_id: int):
    """The signer's copy of a consent they signed, as signed (Civ. Code 56.11(i), 164.508(c)(4));
    a paper copy by post only if they ask for it in a message."""
    req = _own_request(request_id)
    consent = next((c for c in req.consents if c.id == consent_id), None)
    if consent is None:
        abort(404)
    journey.record_consent_copy(get_session(), req, consent, current_actor())
    return pdf_attachment(letters.consent_copy_pdf(req, consent, in_packet=False),
                          f"{req.reference}-consent-{consent.scope}.pdf")


def _stream_document(document: StoredDocument, filename: str) -> Response:
    # The file is opened here, in the request; the body then streams without needing it.
    reader = open_document(document)
    response = file_response(grants.stream_chunks(reader), filename=filename,
                             media_type=document.media_type, length=document.size,
                             generated=document.kind in GENERATED_KINDS)
    response.call_on_close(reader.close)
    return response


@requester_required
def download(request_id: int, grant_id: int):
    """R-SEC-2: download the released packet; counted, expiring, audited."""
    req = _own_request(request_id)
    try:
        _grant, document = grants.redeem_for_requester(get_session(), req, grant_id,
                                                       current_actor())
    except LookupError:
        abort(404)
    except grants.GrantUnavailable as exc:
        flash(exc.message, "error")
        return redirect(url_for("requests.detail", request_id=req.id))
    except IntegrityError:
        g.rollback_only = True
        flash(_("We could not check this file, so it was not sent. The records custodian has "
                "been told; please try again later."), "error")
        return redirect(url_for("requests.detail", request_id=req.id))
    return _stream_document(document, f"{req.reference}-records.pdf")


@requester_required
def attachment(request_id: int, document_id: int):
    """A file attached to a message of this request (clerk's or the requester's own)."""
    req = _own_request(request_id)
    session = get_session()
    document = session.get(StoredDocument, document_id)
    messages = {m.id for m in journey.visible_messages(session, req)}
    if document is None or document.request_id != req.id or document.message_id not in messages:
        abort(404)
    try:
        verify_document(document)
    except IntegrityError:
        abort(500)
    journey.record_attachment_download(session, req, document, current_actor())
    return _stream_document(document, document.filename)


# ------------------------------------------------------------------ third-party download


@token_required
@_token_limited
def shared_download(token: str):
    """A third party's link: the packet is sent only with the right access code (R-SEC-2)."""
    session = get_session()
    grant = grants.find_shared_grant(session, token)
    if grant is None:
        abort(404)
    form = forms.AccessCodeForm()
    problem = grants.grant_problem(grant)
    if request.method == "GET" or problem:
        return render_template("requests/shared_download.html", form=form, problem=problem,
                               token=token), (410 if problem else 200)
    if not form.validate():
        return render_template("requests/shared_download.html", form=form, token=token), 422
    try:
        _grant, document = grants.redeem_with_access_code(session, grant, form.access_code.data,
                                                          current_actor())
    except grants.WrongAccessCode as exc:
        form.access_code.errors.append(exc.message)
        return render_template("requests/shared_download.html", form=form, token=token), 422
    except grants.GrantUnavailable as exc:
        return render_template("requests/shared_download.html", form=form, problem=exc.message,
                               token=token), 410
    except IntegrityError:
        g.rollback_only = True
        abort(500)
    req = session.get(RecordRequest, grant.request_id)
    return _stream_document(document, f"{req.reference}-records.pdf")
