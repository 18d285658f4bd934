"""Download grants: the single-purpose, expiring, count-limited way a released packet leaves.

R-SEC-2: a requester downloads from their signed-in page; a third party follows an emailed
link that works only with the access code the patient was shown and passed on, so a mistyped
address exposes nothing. Every download is an audit event; a download by anyone but the patient
is also a disclosure for the accounting (R-AUD-1).

The release operation (staff workspace) calls :func:`create_download_grant` once the packet is
stored; the requester pages call :func:`redeem_for_requester`; the third-party page calls
:func:`find_shared_grant` and :func:`redeem_with_access_code`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import BinaryIO

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from portal.accounts.passwords import verify_password
from portal.core.actor import Actor
from portal.core.db import utcnow
from portal.core.links import Subject, external_url, translation_context
from portal.core.tokens import new_token, token_hash
from portal.jobs.mail import send_mail
from portal.release.models import DownloadGrant, Release
from portal.requests import letters
from portal.requests.disclosures import record_disclosure
from portal.requests.models import RecordRequest
from portal.storage.models import StoredDocument
from portal.storage.operations import verify_document
from portal.trail.chain import append_event

PATIENT = "patient"
THIRD_PARTY = "third_party"


class GrantUnavailable(Exception):
    """The grant cannot be used now; ``message`` says why in plain words."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class WrongAccessCode(GrantUnavailable):
    """The access code did not match; ``attempts_left`` more tries before the link locks."""

    def __init__(self, message: str, attempts_left: int):
        super().__init__(message)
        self.attempts_left = attempts_left


def create_download_grant(
    session: Session, release: Release, *, recipient_type: str, actor: Actor, notify: bool = True,
) -> tuple[DownloadGrant, str]:
    """Create a download grant for a release and (by default) email its recipient.

    ``recipient_type`` is 'patient' (the requester downloads from their signed-in page) or
    'third_party' (a link to the request's recipient email, usable only with the access code
    whose hash the request holds). Expiry is DOWNLOAD_LINK_DAYS, the limit DOWNLOAD_MAX_COUNT.
    Returns the grant and the raw token (only its hash is stored). Flushes; never commits.
    """
    if recipient_type not in (PATIENT, THIRD_PARTY):
        raise ValueError(f"unknown recipient type {recipient_type!r}")
    req = session.get(RecordRequest, release.request_id)
    if recipient_type == THIRD_PARTY and not (req.access_code_hash and req.recipient_email):
        raise ValueError("a third-party download needs the request's access code and email")
    config = current_app.config
    token = new_token()
    grant = DownloadGrant(
        release_id=release.id,
        request_id=req.id,
        recipient_type=recipient_type,
        token_hash=token_hash(token),
        access_code_hash=req.access_code_hash if recipient_type == THIRD_PARTY else None,
        expires_at=utcnow() + timedelta(days=int(config["DOWNLOAD_LINK_DAYS"])),
        max_downloads=int(config["DOWNLOAD_MAX_COUNT"]),
    )
    session.add(grant)
    session.flush()
    append_event(
        session, "download.granted", actor=actor, object_type="download_grant",
        object_id=grant.id, request_id=req.id,
        summary={"release_id": release.id, "recipient_type": recipient_type,
                 "max_downloads": grant.max_downloads},
    )
    if notify:
        with translation_context():
            _notify(req, grant, token)
    return grant, token


def _notify(req: RecordRequest, grant: DownloadGrant, token: str) -> None:
    """R-SEC-4: neutral subject and sender, no PHI; the third party gets the link only."""
    days = int(current_app.config["DOWNLOAD_LINK_DAYS"])
    if grant.recipient_type == PATIENT:
        letters.notify_requester(req)
        return
    body = _(
        "Hello,\n\nRecords have been shared with you. To download them, open this link:\n\n"
        "%(link)s\n\nYou will need the access code that the person who asked for the records "
        "gave you. The link works for %(days)s days.\n\nIf you were not expecting this email, "
        "please ignore it: nothing can be opened without the access code.\n\nRecords Custodian",
        link=external_url("requests.shared_download", token=token), days=days,
    )
    send_mail(req.recipient_email, Subject.SHARED_LINK, body, request_id=req.id)


def grant_problem(grant: DownloadGrant, now: datetime | None = None) -> str | None:
    """Why the grant cannot be used now, in plain words, or None when it can."""
    now = now or utcnow()
    if grant.revoked_at is not None:
        return _("This download is no longer available. Please contact the records custodian.")
    if now >= grant.expires_at:
        return _("This download link has expired. Please contact the records custodian for a "
                 "new one.")
    if grant.download_count >= grant.max_downloads:
        return _("This file has been downloaded the most times allowed (%(count)s). Please "
                 "contact the records custodian if you need it again.",
                 count=grant.max_downloads)
    return None


def requester_grants(session: Session, req: RecordRequest) -> list[DownloadGrant]:
    """The grants of a request, newest first (the requester page lists them)."""
    return list(session.scalars(
        select(DownloadGrant).where(DownloadGrant.request_id == req.id)
        .order_by(DownloadGrant.id.desc())
    ))


def redeem_for_requester(
    session: Session, req: RecordRequest, grant_id: int, actor: Actor
) -> tuple[DownloadGrant, StoredDocument]:
    """Use one download of a patient grant of ``req`` (already checked to be the actor's).

    Raises LookupError for a grant that is not this request's patient grant (show 404),
    GrantUnavailable when expired, used up or revoked, IntegrityError for a damaged packet.
    """
    grant = session.get(DownloadGrant, grant_id)
    if grant is None or grant.request_id != req.id or grant.recipient_type != PATIENT:
        raise LookupError(grant_id)
    return _consume(session, grant, actor)


def find_shared_grant(session: Session, token: str) -> DownloadGrant | None:
    """The third-party grant a link token names, or None."""
    grant = session.scalar(
        select(DownloadGrant).where(DownloadGrant.token_hash == token_hash(token))
    )
    if grant is None or grant.recipient_type != THIRD_PARTY:
        return None
    return grant


def redeem_with_access_code(
    session: Session, grant: DownloadGrant, access_code: str, actor: Actor
) -> tuple[DownloadGrant, StoredDocument]:
    """Use one download of a third-party grant if the access code matches.

    A wrong code counts against DOWNLOAD_CODE_MAX_ATTEMPTS; at the limit the grant is revoked.
    Raises WrongAccessCode, GrantUnavailable or IntegrityError.
    """
    problem = grant_problem(grant)
    if problem:
        raise GrantUnavailable(problem)
    if not verify_password(grant.access_code_hash, normalize_access_code(access_code)):
        grant.failed_code_attempts += 1
        locked = _out_of_tries(grant)
        if locked:
            grant.revoked_at = utcnow()
        session.flush()
        append_event(
            session, "download.code_refused", actor=actor, object_type="download_grant",
            object_id=grant.id, request_id=grant.request_id,
            summary={"attempts": grant.failed_code_attempts, "locked": locked},
        )
        if locked:
            raise GrantUnavailable(_(
                "The access code was wrong too many times, so this link is now locked. Please "
                "ask the person who sent you the records to contact the records custodian."))
        left = int(current_app.config["DOWNLOAD_CODE_MAX_ATTEMPTS"]) - grant.failed_code_attempts
        raise WrongAccessCode(
            _("That access code is not right. Check it with the person who gave it to you. "
              "Tries left: %(left)s.", left=left), left)
    req = session.get(RecordRequest, grant.request_id)
    consent_issue = _consent_stops_disclosure(session, req)
    if consent_issue:
        raise GrantUnavailable(consent_issue)
    return _consume(session, grant, actor)


def _out_of_tries(grant: DownloadGrant) -> bool:
    """Whether wrong access codes have used up DOWNLOAD_CODE_MAX_ATTEMPTS (the link locks)."""
    return grant.failed_code_attempts >= int(current_app.config["DOWNLOAD_CODE_MAX_ATTEMPTS"])


def normalize_access_code(code: str) -> str:
    """Access codes are shown as XXXX-XXXX; case, spaces and dashes do not matter."""
    return "".join(c for c in (code or "").upper() if c.isalnum())


def _consent_stops_disclosure(session: Session, req: RecordRequest) -> str | None:
    """R-REL-3, R-REL-6: no further disclosure on an expired or revoked consent."""
    from portal.requests.operations import consent_terms
    from portal.rules.consent import consent_problems
    from portal.rules.deadlines import today_pacific

    general = req.consent_for("general")
    if general is None:
        return _("This download is no longer available. Please contact the records custodian.")
    months = int(current_app.config["CONSENT_MAX_MONTHS"])
    if consent_problems(consent_terms(general), today_pacific(), max_months=months):
        return _("The permission to share these records has ended, so they can no longer be "
                 "downloaded. Please contact the records custodian.")
    return None


def _consume(
    session: Session, grant: DownloadGrant, actor: Actor
) -> tuple[DownloadGrant, StoredDocument]:
    problem = grant_problem(grant)
    if problem:
        raise GrantUnavailable(problem)
    release = session.get(Release, grant.release_id)
    document = session.get(StoredDocument, release.packet_document_id)
    verify_document(document)  # a damaged packet never leaves, and never uses up a download
    # One UPDATE decides: two downloads at once cannot both take the last one.
    result = session.execute(
        update(DownloadGrant)
        .where(DownloadGrant.id == grant.id, DownloadGrant.revoked_at.is_(None),
               DownloadGrant.download_count < DownloadGrant.max_downloads)
        .values(download_count=DownloadGrant.download_count + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise GrantUnavailable(grant_problem(grant, utcnow()) or _(
            "This file has been downloaded the most times allowed. Please contact the records "
            "custodian if you need it again."))
    session.refresh(grant)
    append_event(
        session, "document.downloaded", actor=actor, object_type="document",
        object_id=document.id, request_id=grant.request_id,
        summary={"grant_id": grant.id, "release_id": release.id,
                 "recipient_type": grant.recipient_type, "count": grant.download_count},
    )
    if grant.recipient_type == THIRD_PARTY:
        record_disclosure(session, session.get(RecordRequest, release.request_id), release,
                          actor, via="download", disclosed_at=utcnow())
    return grant, document


def stream_chunks(reader: BinaryIO, chunk_size: int = 256 * 1024):
    """Yield an opened stored document's bytes for a streamed response (verify it first)."""
    yield from iter(lambda: reader.read(chunk_size), b"")


def revoke_grants(session: Session, req: RecordRequest, *, recipient_type: str, actor: Actor,
                  reason: str) -> int:
    """Stop every unused grant of a request for one kind of recipient (R-REL-6)."""
    grants = session.scalars(
        select(DownloadGrant).where(
            DownloadGrant.request_id == req.id, DownloadGrant.recipient_type == recipient_type,
            DownloadGrant.revoked_at.is_(None),
        )
    ).all()
    now = utcnow()
    for grant in grants:
        grant.revoked_at = now
        append_event(
            session, "download.revoked", actor=actor, object_type="download_grant",
            object_id=grant.id, request_id=req.id, summary={"reason": reason},
        )
    session.flush()
    return len(grants)


def locked_shared_grant(session: Session, req: RecordRequest) -> DownloadGrant | None:
    """The third party's newest link if it locked after wrong access codes (and no live link
    replaced it), else None."""
    newest = session.scalar(select(DownloadGrant).where(
        DownloadGrant.request_id == req.id, DownloadGrant.recipient_type == THIRD_PARTY)
        .order_by(DownloadGrant.id.desc()).limit(1))
    if newest is None or newest.revoked_at is None or not _out_of_tries(newest):
        return None
    return newest


def reissue_shared_link(session: Session, req: RecordRequest, actor: Actor) -> DownloadGrant:
    """A new link to the locked link's release, emailed to the recipient; the access code is
    the request's current one (the requester may make a new one on their page first).

    Raises GrantUnavailable when nothing is locked or the consent no longer allows it.
    """
    locked = locked_shared_grant(session, req)
    if locked is None:
        raise GrantUnavailable(_("The recipient's link is not locked."))
    problem = _consent_stops_disclosure(session, req)
    if problem:
        raise GrantUnavailable(problem)
    release = session.get(Release, locked.release_id)
    grant, _token = create_download_grant(session, release, recipient_type=THIRD_PARTY,
                                          actor=actor)
    append_event(session, "download.link_reissued", actor=actor, object_type="download_grant",
                 object_id=grant.id, request_id=req.id, summary={"locked_grant": locked.id})
    return grant
