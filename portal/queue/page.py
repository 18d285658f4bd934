"""The request page and the release page: gather what a clerk needs to see, build the forms.

Read side only (plus the view's audit event): the handlers in controllers.py call ``render``
after loading a request, and again with the submitted form when an action was refused, so the
clerk sees the reasons next to everything they typed. Every form is prefixed with its section
name, so the many forms of one page never share a field id.
"""

from __future__ import annotations

import dataclasses

from flask import current_app, render_template
from flask_babel import gettext as _
from sqlalchemy import select
from werkzeug.datastructures import CombinedMultiDict

from portal.accounts.models import StaffUser
from portal.accounts.sessions import current_actor
from portal.core.dates import due_text
from portal.core.db import get_session
from portal.core.forms import options
from portal.core.tokens import new_token
from portal.jobs import outbox
from portal.queue import forms, listing
from portal.release.models import DownloadGrant, Release
from portal.requests import actions as operations
from portal.requests import letters
from portal.requests.grants import locked_shared_grant
from portal.requests.location import match_runs
from portal.requests.models import Message, ProofingStep, RecordRequest, RosterMatch
from portal.requests.operations import (
    NOTES_PARTS,
    PART_LABELS,
    ConsentInput,
    NewRequest,
    consent_terms,
    gather_facts,
)
from portal.roster.models import RosterPatient
from portal.rules import lifecycle, outcomes
from portal.rules.consent import (
    consent_problems,
    notes_release_problems,
    recipient_kind_settled,
)
from portal.rules.deadlines import PROGRAM_TIME_ZONE, clock_state, today_pacific
from portal.rules.notices import DENIAL_GROUNDS
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent

SECTION_FORMS = {
    "claim": forms.ClaimForm,
    "assign": forms.AssignForm,
    "accept": forms.AcceptForm,
    "verify": forms.VerifyForm,
    "could_not_verify": forms.CouldNotVerifyForm,
    "roster": forms.RematchForm,
    "locate": forms.LocateForm,
    "information": forms.InformationForm,
    "answer": forms.AnswerForm,
    "messages": forms.MessageForm,
    "notes": forms.NoteForm,
    "extension": forms.ExtendForm,
    "recipient_kind": forms.RecipientKindForm,
    "reissue_link": forms.ReissueLinkForm,
    "outcomes": forms.OutcomeForm,
    "review_route": forms.RouteReviewForm,
    "review": forms.ReviewForm,
    "records": forms.AttachForm,
    "remove_record": forms.RemoveRecordForm,
    "close": forms.CloseForm,
    "reopen": forms.ReopenForm,
}
# Sections whose forms are drawn once per item in the template, without the field macros.
ITEM_SECTIONS = frozenset({"claim", "close", "roster", "review_route", "review",
                           "remove_record"})
EVIDENCE_KINDS = ("photo_id", "authority_proof", "mail_in_form", "attachment")
# Audit actions worth showing on the timeline (views are for the auditor, not the clerk).
HIDDEN_TIMELINE_ACTIONS = frozenset({"request.viewed", "document.previewed", "document.stored",
                                     "queue.viewed", "queue.searched", "roster.matched"})
TIMELINE_LABELS = {
    "request.submitted": "Request received",
    "request.confirm_email": "Email address confirmed",
    "request.accept_without_email": "Identity review started without the email check",
    "request.request_information": "More information asked for",
    "request.requester_answered": "Requester answered",
    "request.verify_requester": "Requester verified",
    "request.could_not_verify": "Closed: identity could not be verified",
    "request.locate_patient": "Patient located",
    "request.start_fulfilment": "Fulfilment started",
    "request.mark_ready": "Ready for release",
    "request.release": "Released",
    "request.close": "Closed",
    "request.reopen": "Reopened for review",
    "request.withdraw": "Withdrawn by the requester",
    "request.revoke_consent": "Consent revoked",
    "request.abandon": "Closed: no reply",
    "request.resume_fulfilment": "Fulfilment resumed after a review",
    "request.extended": "HIPAA due date extended",
    "consent.recipient_kind_settled": "Kind of recipient settled",
    "request.assigned": "Assigned",
    "request.outcome_recorded": "Outcome recorded",
    "request.review_routed": "Denial sent for review",
    "request.review_decided": "Review decided",
    "request.records_attached": "Records attached",
    "request.record_removed": "Record removed",
    "request.action_refused": "Action refused",
    "release.created": "Packet built",
    "disclosure.recorded": "Disclosure recorded",
    "download.granted": "Download link issued",
    "document.downloaded": "Document downloaded",
    "message.sent": "Message",
}


def _matches(session, req: RecordRequest) -> list[RosterMatch]:
    return list(session.scalars(select(RosterMatch).where(RosterMatch.request_id == req.id)
                                .order_by(RosterMatch.rank)))


def _choices(section: str, form, req: RecordRequest, matches: list[RosterMatch],
             staff: list | None) -> None:
    session = get_session()
    if section == "assign":
        form.staff_id.choices = options([("", _("Nobody (back to the pool)"))] + [
            (str(s.id), s.display_name)
            for s in (staff if staff is not None else operations.assignable_staff(session))])
    elif section == "locate":
        form.patient.choices = options([(str(m.patient_id), str(m.patient_id)) for m in matches]
                                       + [("none", _("No roster patient matches this request"))])
    elif section == "outcomes":
        form.parts.choices = options([(str(p.id), PART_LABELS.get(p.part, p.part))
                                      for p in req.parts if p.outcome in (None, "released")])
    elif section == "review_route":
        form.reviewer_id.choices = options(
            (str(s.id), s.display_name)
            for s in operations.licensed_reviewers(session, excluding=None, among=staff))
    elif section == "records":
        form.part_id.choices = options([(str(p.id), PART_LABELS.get(p.part, p.part))
                                        for p in req.parts if p.outcome in (None, "released")])


def build_form(section: str, req: RecordRequest, formdata=None, files=None, matches=None,
               staff=None):
    """The form of one section, filled from a submission or (formdata None) fresh; ``staff``
    is the assignable staff when the caller has already read them."""
    cls = SECTION_FORMS[section]
    if formdata is not None:
        data = CombinedMultiDict([formdata, files]) if files else formdata
        form = cls(formdata=data, prefix=section)
    else:
        form = cls(formdata=None, prefix=section, data={"version": req.version})
    if matches is None and section == "locate":
        matches = _matches(get_session(), req)
    _choices(section, form, req, matches or [], staff)
    return form


def _ensure_matches(session, req: RecordRequest, actor) -> list[RosterMatch]:
    """The stored candidates; the match runs here only if it never ran for this request."""
    from portal.requests.location import has_match_run, run_roster_match

    matches = _matches(session, req)
    if not matches and req.is_open and req.patient_id is None and not has_match_run(session,
                                                                                   req.id):
        matches = run_roster_match(session, req.id, actor)
    return matches


def proofing_steps(session, req: RecordRequest) -> list[ProofingStep]:
    """The request's identity-proofing steps, oldest first (R-ID-2)."""
    return list(session.scalars(select(ProofingStep).where(ProofingStep.request_id == req.id)
                                .order_by(ProofingStep.id)))


def staff_names(session, ids) -> dict[int, str]:
    ids = {i for i in ids if i is not None}
    if not ids:
        return {}
    return dict(session.execute(select(StaffUser.id, StaffUser.display_name)
                                .where(StaffUser.id.in_(ids))).all())


def clocks(req: RecordRequest, today) -> list[dict]:
    """Both clocks (R-DL-1), with the extension shown (R-DL-2), for the page."""
    soon = int(current_app.config["DUE_SOON_DAYS"])
    done = req.closed_at or req.released_at
    done_on = done.astimezone(PROGRAM_TIME_ZONE).date() if done else None
    rows = []
    if req.california_due_on:
        rows.append({"name": "California (working due date)", "due": req.california_due_on,
                     "text": due_text(req.california_due_on, today),
                     "state": clock_state(req.california_due_on, today, done_on, soon)})
    hipaa = req.hipaa_extended_due_on or req.hipaa_due_on
    rows.append({"name": "HIPAA" + (" (extended)" if req.hipaa_extended_due_on else ""),
                 "due": hipaa, "text": due_text(hipaa, today),
                 "state": clock_state(hipaa, today, done_on, soon),
                 "original": req.hipaa_due_on if req.hipaa_extended_due_on else None})
    return rows


def _allowed(req: RecordRequest) -> set[str]:
    allowed = set(lifecycle.allowed_actions(req.status))
    allowed |= {name for name, rule in lifecycle.IN_PLACE_ACTIONS.items()
                if req.status in rule.sources}
    return allowed


def render(req: RecordRequest, *, submitted: dict | None = None, problems: list[str] | None = None,
           problem_section: str | None = None, status: int = 200):
    """Render the request page (audited as request.viewed)."""
    session = get_session()
    actor = current_actor()
    operations.view_request(session, req, actor)
    today = today_pacific()
    max_months = int(current_app.config["CONSENT_MAX_MONTHS"])
    matches = _ensure_matches(session, req, actor)
    patients = {p.id: p for p in session.scalars(
        select(RosterPatient).where(RosterPatient.id.in_(
            [m.patient_id for m in matches] + ([req.patient_id] if req.patient_id else []))))}
    staff = operations.assignable_staff(session)
    built = {name: build_form(name, req, matches=matches, staff=staff) for name in SECTION_FORMS}
    built.update(submitted or {})

    documents = list(session.scalars(select(StoredDocument).where(
        StoredDocument.request_id == req.id).order_by(StoredDocument.id)))
    steps = proofing_steps(session, req)
    messages = list(session.scalars(select(Message).where(Message.request_id == req.id)
                                    .order_by(Message.created_at, Message.id)))
    events = list(session.scalars(select(AuditEvent).where(
        AuditEvent.request_id == req.id, AuditEvent.action.not_in(sorted(HIDDEN_TIMELINE_ACTIONS)))
        .order_by(AuditEvent.id)))
    releases = list(session.scalars(select(Release).where(Release.request_id == req.id)
                                    .order_by(Release.id)))
    grants = list(session.scalars(select(DownloadGrant).where(DownloadGrant.request_id == req.id)
                                  .order_by(DownloadGrant.id)))
    names = staff_names(session, [req.assignee_id, req.verified_by_id, req.located_by_id]
                         + [s.decided_by_id for s in steps] + [m.staff_id for m in messages]
                         + [p.decided_by_id for p in req.parts] + [p.reviewer_id for p in req.parts]
                         + [e.actor_id for e in events if e.actor_type == "staff"]
                         + [r.released_by_id for r in releases])
    general = req.consent_for("general")
    notes = req.consent_for("notes")
    consents = [{"consent": c, "problems": consent_problems(consent_terms(c), today,
                                                           max_months=max_months)}
                for c in req.consents]
    notes_problems = []
    if req.recipient_type == "third_party" and any(p.part in NOTES_PARTS for p in req.parts):
        notes_problems = notes_release_problems(
            consent_terms(general) if general else None, consent_terms(notes) if notes else None,
            today, max_months=max_months)
    undeliverable = outbox.undeliverable_mail(session, req.id)
    context = {
        "undeliverable": undeliverable,
        "req": req, "forms": built, "problems": problems or [],
        "problem_section": problem_section, "today": today, "clocks": clocks(req, today),
        "status_label": _(lifecycle.STAFF_STATUS_LABELS.get(req.status, req.status)),
        "allowed": _allowed(req), "matches": matches, "patients": patients,
        "evidence_documents": [d for d in documents if d.kind in EVIDENCE_KINDS],
        "letters": [d for d in documents if d.kind == "letter"],
        "records": [d for d in documents if d.kind == "record"],
        "packets": {d.id: d for d in documents if d.kind == "packet"},
        "steps": steps, "messages": messages, "events": events, "releases": releases,
        "grants": grants, "names": names, "consents": consents,
        "locked_link": locked_shared_grant(session, req),
        "recipient_kind_labels": dict(forms.STAFF_RECIPIENT_KINDS)
        | {"unsure": _("Not sure")},
        "settle_recipient_kind": any(not recipient_kind_settled(c.effective_recipient_kind)
                                     for c in req.consents),
        "notes_problems": notes_problems, "part_labels": PART_LABELS,
        "outcome_labels": outcomes.CHOICE_LABELS, "ground_labels": forms.GROUND_LABELS,
        "grounds": DENIAL_GROUNDS, "evidence_labels": operations.EVIDENCE_LABELS,
        "letter_titles": letters.LETTER_TITLES,
        "mailing_lines": letters.request_mailing_lines(req),
        "match_runs": match_runs(session, req.id),
        "information_reasons": operations.INFORMATION_REASONS,
        "reviewers": operations.licensed_reviewers(session, excluding=None, among=staff),
        "actor": actor, "timeline_labels": TIMELINE_LABELS,
        "next_request_id": listing.next_request_id(session, req),
    }
    return render_template("queue/request.html", **context), status


def release_problems(req: RecordRequest) -> list[str]:
    """What would stop a release now, in plain words (shown before the clerk confirms)."""
    facts = gather_facts(get_session(), req, today_pacific())
    actor = current_actor()
    if req.status == lifecycle.IN_FULFILMENT:
        problems = lifecycle.transition_problems("mark_ready", facts, actor.kind,
                                                 actor.permissions)
        facts = dataclasses.replace(facts, status=lifecycle.READY_FOR_RELEASE)
        problems += [p for p in lifecycle.transition_problems("release", facts, actor.kind,
                                                              actor.permissions)
                     if p not in problems]
        return problems
    return lifecycle.transition_problems("release", facts, actor.kind, actor.permissions)


def render_release(req: RecordRequest, form, *, problems: list[str] | None = None,
                   status: int = 200):
    """The release page: what goes out, to whom, how, and anything that stops it."""
    session = get_session()
    records = list(session.scalars(select(StoredDocument).where(
        StoredDocument.request_id == req.id, StoredDocument.kind == "record")
        .order_by(StoredDocument.id)))
    context = {
        "req": req, "form": form, "problems": problems or [],
        "blocking": release_problems(req) if not problems else [],
        "released_parts": [p for p in req.parts if p.outcome == "released"],
        "other_parts": [p for p in req.parts if p.outcome != "released"],
        "records": records, "part_labels": PART_LABELS,
        "outcome_labels": outcomes.CHOICE_LABELS,
        "has_email": letters.has_email(req), "today": today_pacific(),
    }
    return render_template("queue/release.html", **context), status


def paper_request_data(form) -> tuple[NewRequest, list[ConsentInput]]:
    """The typed-in paper request as the submission and consents the operations take."""
    from portal.requests.actions import received_moment

    email = form.email.data or f"paper-{new_token()[:16].lower()}@{letters.NO_EMAIL_DOMAIN}"
    signed_at = received_moment(form.received_on.data)
    kind = form.kind.data
    third_party = form.recipient_type.data == "third_party"
    data = NewRequest(
        kind=kind, requester_type=form.requester_type.data,
        patient_first_name=form.first_name.data, patient_last_name=form.last_name.data,
        patient_dob=form.dob.data, contact_email=email,
        recipient_type=form.recipient_type.data, delivery=form.delivery.data,
        parts=["accounting"] if kind == "accounting" else list(form.parts.data),
        received_via=form.received_via.data,
        requester_name=form.requester_name.data or None,
        authority_description=form.authority_description.data or None,
        patient_other_names=form.other_names.data or None,
        patient_ssn_last4=form.ssn_last4.data or None,
        contact_phone=form.phone.data or None,
        address_line1=form.address_line1.data, address_line2=form.address_line2.data or None,
        address_city=form.address_city.data, address_state=form.address_state.data,
        address_postal_code=form.address_postal_code.data,
        stay_from=form.stay_from.data, stay_to=form.stay_to.data,
        program=form.program.data or None,
        recipient_name=form.recipient_name.data or None if third_party else None,
        recipient_organisation=(form.recipient_organisation.data or None) if third_party
        else None,
        recipient_address=(form.recipient_address.data or None) if third_party else None,
        signature_name=form.signature_name.data, signed_at=signed_at,
    )
    consents: list[ConsentInput] = []
    if third_party:
        consent_signed = received_moment(form.consent_signed_on.data)
        base = dict(
            information_description=form.consent_information.data,
            recipient_name=form.recipient_name.data,
            recipient_organisation=form.recipient_organisation.data or None,
            recipient_address=form.recipient_address.data or None,
            purpose=form.consent_purpose.data, expires_on=form.consent_expires_on.data,
            signature_name=form.signature_name.data, signed_at=consent_signed,
            statements_acknowledged=bool(form.consent_statements.data),
            recipient_kind=form.consent_recipient_kind.data or None,
            use_limits_stated=bool(form.consent_use_limits.data),
            redisclosure_statement_included=bool(form.consent_redisclosure_statement.data),
        )
        consents.append(ConsentInput(scope="general", **base))
        if form.consent_covers_notes.data:
            consents.append(ConsentInput(scope="notes", **base))
    return data, consents

