"""Shared steps of the auditor tests: signed-in auditors, exports, events with odd values."""

from __future__ import annotations

from sqlalchemy import text

from portal.core.actor import Actor
from portal.core.db import commit
from portal.trail.chain import append_event
from portal.trail.signing import load_private_key, public_key_pem
from tests.factories import make_staff


def sign_in_auditor(db, auth, role: str = "auditor"):
    """A signed-in auditor (MFA passed, freshly re-authenticated); returns the staff row."""
    staff = make_staff(db, role)
    commit()
    auth.staff(staff.id)
    return staff


def add_events(db, count: int, *, action: str = "request.viewed",
               summary: dict | None = None, actor: Actor | None = None) -> None:
    """Append ``count`` ordinary events and commit."""
    for n in range(count):
        append_event(db, action, actor=actor or Actor(kind="system"), object_type="request",
                     object_id=n + 1, request_id=n + 1, summary=summary or {"n": n})
    commit()


def export(client, path: str, form: dict | None = None, **params):
    """Run an export through HTTP (a POST of ``form`` when given: an identified export's
    purpose); returns (body bytes, manifest dict, response)."""
    if form is not None:
        response = client.post(path, query_string=params, data=form)
    else:
        response = client.get(path, query_string=params)
    assert response.status_code == 200, response.status_code
    body = response.get_data()
    export_id = response.headers["X-Export-Id"]
    manifest = client.get(f"/audit/exports/{export_id}/manifest")
    assert manifest.status_code == 200, manifest.status_code
    return body, manifest.get_json(force=True), response


def public_pem(app) -> str:
    """The app's export-signing public key."""
    return public_key_pem(load_private_key(app.config["KEY_DIR"]))


def raw_sql(db, statement: str, **params) -> None:
    """Tamper with the database behind the portal's back, then commit."""
    db.execute(text(statement), params)
    commit()


def rows_of(body: bytes) -> list[bytes]:
    """The lines of an export (without their line ends)."""
    return body.splitlines()

