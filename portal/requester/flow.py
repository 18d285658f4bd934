"""The request wizard as an object: one browser's server-side draft, and what each action does.

`RequestWizard.open` finds the draft the browser's cookie names. Every action the pages take
goes through one method, and every POST answers with a redirect (post, redirect, get): what was
typed, the steps whose check failed and the upload problems are kept in the encrypted draft,
so the page a redirect lands on shows them, and the browser's Back button never asks to send a
form again. The steps that apply are computed from the answers so far (portal.requester.wizard),
so the progress count follows the answers and never jumps on its own.

Answers kept in the draft besides each step's typed values (portal.requester.drafts):
``invalid`` lists the steps whose last check failed; ``upload_errors`` maps an upload slot to
the reason its file was refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import Session
from werkzeug.datastructures import MultiDict

from portal.core.actor import Actor
from portal.requester import drafts, journey, wizard
from portal.requests.models import WizardDraft
from portal.storage.models import StoredDocument
from portal.storage.operations import delete_document, save_document
from portal.storage.uploads import UploadRejected, clean_upload

MISSING_UPLOAD = {
    "photo_id": lambda: _("Choose a photo or scan of your government photo ID."),
    "authority_proof": lambda: _("Choose a photo or scan of the document that gives you "
                                 "authority."),
    "death_certificate": lambda: _("Choose a photo or scan of the death certificate."),
}


@dataclass(frozen=True)
class Next:
    """Where the page goes after an action: a step, "start", "sent" (the receipt), or nowhere.

    ``to`` None means nothing to show (an autosave: HTTP 204); ``message`` is flashed.
    """

    to: str | None
    message: str | None = None
    category: str = "error"


@dataclass(frozen=True)
class Signer:
    """Who pressed "Sign and send", as the request records it (R-REL-1)."""

    client_ip: str | None
    user_agent: str | None


class RequestWizard:
    """One draft of the request wizard, with the small API its pages use."""

    def __init__(self, session: Session, row: WizardDraft, answers: dict, actor: Actor):
        self.session, self.row, self.answers, self.actor = session, row, answers, actor
        self.answers.setdefault("invalid", [])
        self.answers.setdefault("upload_errors", {})
        wizard.carry_moved_answers(self.answers)
        self._uploaded: dict[str, StoredDocument] | None = None

    @classmethod
    def open(cls, session: Session, browser_token: str | None, actor: Actor, *,
             lock: bool = False) -> RequestWizard | None:
        """The browser's live draft, or None. ``lock``: two sends at once queue here."""
        row = drafts.find_draft(session, browser_token)
        if row is None:
            return None
        if lock:
            session.refresh(row, with_for_update=True)
        try:
            return cls(session, row, drafts.read_answers(row), actor)
        except (InvalidTag, ValueError):
            return None

    # ------------------------------------------------------------------ reading

    @property
    def uploaded(self) -> dict[str, StoredDocument]:
        """The files uploaded to this draft, by slot."""
        if self._uploaded is None:
            self._uploaded = {wizard.slot_of(d): d
                              for d in drafts.draft_documents(self.session, self.row)
                              if wizard.slot_of(d)}
        return self._uploaded

    @property
    def steps(self) -> list[str]:
        """The steps that apply to the answers so far, in order."""
        return wizard.applicable_steps(self.answers)

    def gate(self, name: str, *, posting: bool) -> Next | None:
        """Where to go instead of step ``name``, or None when it may be shown or sent."""
        if self.answers["receipt"]:
            return Next("sent", _("Your request was already sent. It was not sent a second "
                                  "time.") if posting else None, "success")
        wizard.refresh_done(self.answers, set(self.uploaded))
        if not wizard.may_open(self.answers, name):
            return Next(wizard.next_step(self.answers))
        return None

    def form(self, name: str) -> wizard.forms.WizardForm:
        """The step's form from the draft; a step whose last check failed shows why again."""
        form = wizard.make_form(wizard.STEP_BY_NAME[name], self.answers)
        if name in self.answers["invalid"]:
            form.validate()
        return form

    def upload_errors(self, name: str) -> dict[str, str]:
        """Why files sent to this step were refused (the documents step only)."""
        return dict(self.answers["upload_errors"]) if name == "documents" else {}

    # ------------------------------------------------------------------ actions

    def post(self, name: str, formdata: MultiDict, files: MultiDict, signer: Signer) -> Next:
        """One POST of step ``name``: save what was typed, then check, upload or send."""
        action = formdata.get("action", "next")
        if name == "documents":
            return self._documents(files, action)
        return self.save_answer(name, formdata, action, signer)

    def save_answer(self, name: str, formdata: MultiDict, action: str = "next",
                    signer: Signer | None = None) -> Next:
        """Keep what was typed; "back" and "save" keep it unchecked, "next" checks it first."""
        step = wizard.STEP_BY_NAME[name]
        self.answers["steps"][name] = drafts.clip_values(wizard.typed_answers(step, formdata))
        if action in ("save", "back"):
            self._mark(name, invalid=False)  # leaving a page never loses what was typed on it
            self._save()
            if action == "save":
                return Next(None)
            return Next(wizard.previous_step(self.answers, name) or "start")
        form = wizard.make_form(step, self.answers, formdata)
        if not form.validate():
            self._mark(name, invalid=True)
            self.answers["done"] = [s for s in self.answers["done"] if s != name]
            self._save()
            return Next(name)
        self._mark(name, invalid=False)
        if name == "sign":
            return self.submit(form.signature_name.data, signer)
        if name not in self.answers["done"]:
            self.answers["done"].append(name)
        if name in ("consent", "notes_consent"):
            self.answers["signed_over"][name] = wizard.consent_signed_over(self.answers, name)
        wizard.refresh_done(self.answers, set(self.uploaded))
        self._save()
        return Next(wizard.next_step(self.answers))

    def replace_upload(self, slot: str, stream, filename: str) -> str | None:
        """Check a file by its content and keep it for ``slot``; the reason it was refused."""
        limit = int(current_app.config["ID_UPLOAD_MAX_BYTES"])
        try:
            clean = clean_upload(stream, filename, max_bytes=limit)
        except UploadRejected as exc:
            return exc.message
        kind, subtype = wizard.UPLOAD_SLOTS[slot]
        if slot in self.uploaded:
            delete_document(self.session, self.uploaded.pop(slot))
        self.uploaded[slot] = save_document(
            self.session, clean.stream(), kind=kind, subtype=subtype, filename=clean.filename,
            media_type=clean.media_type, actor=self.actor, max_bytes=limit,
            draft_id=self.row.id, page_count=clean.page_count, original=clean.original,
        )
        return None

    def remove_upload(self, slot: str) -> None:
        """Delete the file kept for ``slot`` (and its encrypted bytes once committed)."""
        if slot in self.uploaded:
            delete_document(self.session, self.uploaded.pop(slot))
        self.answers["upload_errors"].pop(slot, None)

    def submit(self, signature_name: str, signer: Signer | None) -> Next:
        """Sign and send: check every step again, then record the request (one transaction)."""
        failing = wizard.validate_all(self.answers, set(self.uploaded))
        if failing is not None:
            self._mark(failing, invalid=True)
            self._save()
            return Next(failing, _("Please check this page before sending: something here "
                                   "needs your attention."))
        needed = [self.uploaded[slot] for slot in wizard.required_uploads(self.answers)]
        submission = journey.submit_request(
            self.session, self.answers, needed, signature_name=signature_name,
            client_ip=signer.client_ip if signer else None,
            user_agent=signer.user_agent if signer else None,
        )
        receipt = drafts.empty_answers()
        receipt["receipt"] = {"request_id": submission.request.id,
                              "access_code": submission.access_code}
        hours = int(current_app.config["WIZARD_RECEIPT_HOURS"])
        drafts.save_answers(self.session, self.row, receipt, lifetime=timedelta(hours=hours))
        return Next("sent")

    # ------------------------------------------------------------------ internals

    def _documents(self, files: MultiDict, action: str) -> Next:
        """Uploads: each file checked by content; a file already sent is never asked again."""
        if action.startswith("remove:"):
            self.remove_upload(action.partition(":")[2])
            self._save()
            return Next("documents")
        errors: dict[str, str] = {}
        for slot in wizard.required_uploads(self.answers):
            incoming = files.get(slot)
            if incoming is not None and incoming.filename:
                refused = self.replace_upload(slot, incoming.stream, incoming.filename)
                if refused:
                    errors[slot] = refused
        for slot in wizard.required_uploads(self.answers):
            if slot not in self.uploaded and slot not in errors:
                errors[slot] = MISSING_UPLOAD[slot]()
        self.answers["upload_errors"] = errors
        if errors:
            self.answers["done"] = [s for s in self.answers["done"] if s != "documents"]
            self._save()
            return Next("documents")
        if "documents" not in self.answers["done"]:
            self.answers["done"].append("documents")
        self._save()
        return Next(wizard.next_step(self.answers))

    def _mark(self, name: str, *, invalid: bool) -> None:
        marked = [s for s in self.answers["invalid"] if s != name]
        self.answers["invalid"] = [*marked, name] if invalid else marked

    def _save(self) -> None:
        drafts.save_answers(self.session, self.row, self.answers)
