"""Identity operations: email confirmation, magic-link sign-in, proofing steps.

R-ID-2(a): control of the email address is confirmed by a single-use link valid 24 hours; a
magic sign-in link is single-use and valid 15 minutes. Only token hashes are stored, and
links open a page whose button completes the action (POST), so mail scanners that fetch
links use nothing up. R-ID-5: the sign-in answer and its timing never depend on whether an
address is known: every sign-in request writes exactly one job, and the lookup and the email
happen in that job, after the response.
"""

from __future__ import annotations

from datetime import date, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.accounts.models import Requester
from portal.core.actor import Actor
from portal.core.dates import long_date
from portal.core.db import get_session, utcnow
from portal.core.links import Subject, external_url, translation_context
from portal.core.tokens import new_token, token_hash
from portal.identity.models import EmailToken
from portal.jobs.mail import send_mail
from portal.jobs.outbox import JobContext, enqueue, handler
from portal.requests import letters
from portal.requests.models import ProofingStep, RecordRequest
from portal.rules import lifecycle
from portal.trail.chain import append_event

CONFIRM_EMAIL = "confirm_email"
SIGN_IN = "sign_in"
UPDATE_LINK = "update_link"


def requester_actor(requester: Requester, client_ip: str | None) -> Actor:
    """The actor of a requester who proved control of their email (link or session)."""
    return Actor(kind="requester", id=requester.id, client_ip=client_ip)


def _issue_token(session: Session, purpose: str, requester: Requester, lifetime: timedelta,
                 request_id: int | None = None) -> str:
    token = new_token()
    now = utcnow()
    session.add(EmailToken(
        purpose=purpose, token_hash=token_hash(token), requester_id=requester.id,
        request_id=request_id, created_at=now, expires_at=now + lifetime,
    ))
    session.flush()
    return token


def issue_email_confirmation(session: Session, requester: Requester, req: RecordRequest) -> str:
    """Create a 24-hour confirmation token for a request and email its link (after commit)."""
    hours = int(current_app.config["EMAIL_CONFIRM_HOURS"])
    token = _issue_token(session, CONFIRM_EMAIL, requester, timedelta(hours=hours), req.id)
    body = _(
        "Hello,\n\nWe received a request that gave this email address. Please confirm the "
        "address by opening this link within %(hours)s hours and pressing the button on the "
        "page:\n\n%(link)s\n\nWe start working on the request once the address is confirmed. "
        "For your privacy this email does not include any details.\n\nIf you did not ask us for "
        "anything, you can ignore this email.\n\nRecords Custodian",
        hours=hours, link=external_url("identity.confirm_email", token=token),
    )
    send_mail(requester.email, Subject.CONFIRM_EMAIL, body, request_id=req.id)
    return token


def find_token(session: Session, token: str, purpose: str) -> EmailToken | None:
    """The unused, unexpired token of this purpose, or None (expired and used look the same)."""
    if not token or len(token) > 100:
        return None
    row = session.scalar(select(EmailToken).where(EmailToken.token_hash == token_hash(token)))
    if row is None or row.purpose != purpose or row.used_at is not None:
        return None
    if row.expires_at <= utcnow():
        return None
    return row


def _use(row: EmailToken) -> None:
    row.used_at = utcnow()


def confirm_email(session: Session, row: EmailToken, actor_ip: str | None,
                  note: str | None = None) -> RecordRequest:
    """Use a confirmation token: the address is confirmed and work on the request may start."""
    _use(row)
    requester = session.get(Requester, row.requester_id)
    req = session.get(RecordRequest, row.request_id)
    mark_email_confirmed(session, requester, req, requester_actor(requester, actor_ip),
                         note=note)
    return req


def mark_email_confirmed(session: Session, requester: Requester, req: RecordRequest,
                         actor: Actor, *, note: str | None = None) -> None:
    """Record R-ID-2(a) for a request and move it on from 'submitted' (R-DL-3: clocks ran)."""
    from portal.requests.operations import transition

    now = utcnow()
    if requester.email_confirmed_at is None:
        requester.email_confirmed_at = now
    if req.email_confirmed_at is None:
        req.email_confirmed_at = now
        session.add(ProofingStep(request_id=req.id, question="requester",
                                 evidence="email_confirmed", result="accepted", note=note))
    session.flush()
    if req.status == lifecycle.SUBMITTED:
        transition(session, req, "confirm_email", actor)
    else:  # a clerk already let the request go ahead (mail-in); only the fact is recorded
        append_event(session, "identity.email_confirmed", actor=actor, object_type="request",
                     object_id=req.id, request_id=req.id, summary={})


SIGNED_WHERE = {"request": "the request", "consent": "the consent",
                "notes_consent": "the consent for therapy notes"}


def record_signature_differs(session: Session, req: RecordRequest, places: list[str]) -> None:
    """R-REL-2: signatures the signer confirmed although they differ from the name given; the
    clerk weighs them with the identity evidence (a proofing step each, no names in it)."""
    for where in places:
        session.add(ProofingStep(
            request_id=req.id, question="requester", evidence="signature_differs",
            result="recorded",
            note=f"The signature on {SIGNED_WHERE[where]} differs from the name given for the "
                 "signer; the signer confirmed it is how they sign."))
    session.flush()


def record_uploaded_evidence(session: Session, req: RecordRequest, kinds: list[str]) -> None:
    """A proofing step per uploaded document type, for the clerk to judge (R-ID-2(b), R-ID-3)."""
    for kind in sorted(set(kinds)):
        session.add(ProofingStep(request_id=req.id, question="requester", evidence=kind,
                                 result="recorded", note="Uploaded with the request"))
    session.flush()


SIGN_IN_JOB = "identity.sign_in_link"


def request_sign_in_link(email: str) -> None:
    """Write the one sign-in job; the visitor's answer is the same whatever happens (R-ID-5)."""
    enqueue(get_session(), SIGN_IN_JOB, {"email": email, "token": new_token()})


@handler(SIGN_IN_JOB)
def _send_sign_in_link(session: Session, payload: dict, _context: JobContext) -> None:
    """If the address belongs to a requester, store the token's hash and email the link."""
    email, token = payload["email"], payload["token"]
    requester = session.scalar(select(Requester).where(Requester.email == email))
    if requester is None:
        return
    if session.scalar(select(EmailToken.id).where(EmailToken.token_hash == token_hash(token))):
        return  # an earlier attempt already stored it and queued the email
    minutes = int(current_app.config["MAGIC_LINK_MINUTES"])
    now = utcnow()
    session.add(EmailToken(purpose=SIGN_IN, token_hash=token_hash(token),
                           requester_id=requester.id, created_at=now,
                           expires_at=now + timedelta(minutes=minutes)))
    session.flush()
    with translation_context():
        body = _(
            "Hello,\n\nHere is your link to sign in and see your requests. It works once, for "
            "%(minutes)s minutes:\n\n%(link)s\n\nIf you did not ask to sign in, you can "
            "ignore this email.\n\nRecords Custodian",
            minutes=minutes, link=external_url("identity.magic_link", token=token),
        )
    send_mail(requester.email, Subject.SIGN_IN, body)


def redeem_sign_in(session: Session, row: EmailToken, actor_ip: str | None) -> Requester:
    """Use a magic-link or update-link token; following it also proves control of the address."""
    _use(row)
    requester = session.get(Requester, row.requester_id)
    if requester.email_confirmed_at is None:
        requester.email_confirmed_at = utcnow()
    via = "update_link" if row.purpose == UPDATE_LINK else "email_link"
    summary = {"via": via, **({"request": row.request_id} if row.request_id else {})}
    append_event(session, "requester.signed_in", actor=requester_actor(requester, actor_ip),
                 object_type="requester", object_id=requester.id, summary=summary)
    return requester


@handler(letters.UPDATE_EMAIL_JOB)
def _send_update_email(session: Session, payload: dict, _context: JobContext) -> None:
    """"There is an update": a link that signs in to this one request, once, for a day.

    The token is made here, in the job's transaction with the mail it goes out in, so a retry
    makes a new one and no raw token waits in the job table. The link opens the requester's
    own page only: a third party's download still needs its access code (R-REL-5).
    """
    req = session.get(RecordRequest, payload["request_id"])
    if req is None or not letters.has_email(req):
        return
    hours = int(current_app.config["UPDATE_LINK_HOURS"])
    requester = session.get(Requester, req.requester_id)
    token = _issue_token(session, UPDATE_LINK, requester, timedelta(hours=hours), req.id)
    link = external_url("identity.update_link", token=token)
    with translation_context():
        if payload.get("reply_by"):
            first = _("We are waiting for your answer about a request you made. Please reply by "
                      "%(date)s. After that date the request is closed, and you would need to "
                      "ask again.",
                      date=long_date(date.fromisoformat(payload["reply_by"])))
        else:
            first = _("There is an update on your request.")
        body = _(
            "Hello,\n\n%(first)s\n\nTo see it, open this link and press the button on the "
            "page. The link works once, for %(hours)s hours:\n\n%(link)s\n\nAfter that, you "
            "can ask for a new sign-in link here: %(sign_in)s\n\nFor your privacy this email "
            "does not include any details.\n\nRecords Custodian",
            first=first, hours=hours, link=link, sign_in=external_url("identity.sign_in"),
        )
    send_mail(req.contact_email, Subject.UPDATE, body, request_id=req.id)
