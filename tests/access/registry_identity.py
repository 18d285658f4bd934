"""Access rules of sign-in by emailed link, email confirmation, sign-out and lost email."""

from __future__ import annotations

from tests.access.scenario import EVERYONE, Route

REQUESTERS = frozenset({"owner", "stranger"})

CONFIRM_TOKEN = "access-matrix-confirm-email-token"
SIGN_IN_TOKEN = "access-matrix-sign-in-token"
UPDATE_TOKEN = "access-matrix-update-link-token"

ROUTES = {
    "identity.sign_in": Route(EVERYONE),
    "identity.sign_in_sent": Route(EVERYONE),
    # The token is the credential. Only the page is checked: its button would sign the
    # matrix's client in as the owner and change who the later routes are tried as.
    "identity.magic_link": Route(EVERYONE, kwargs=lambda s: {"token": SIGN_IN_TOKEN},
                                 methods=("GET",)),
    "identity.update_link": Route(EVERYONE, kwargs=lambda s: {"token": UPDATE_TOKEN},
                                  methods=("GET",)),
    "identity.confirm_email": Route(EVERYONE, kwargs=lambda s: {"token": CONFIRM_TOKEN}),
    "identity.email_confirmed": Route(EVERYONE),
    "identity.lost_email": Route(EVERYONE),
    # Each requester keeps only their own session alive, so a stranger is no stranger here.
    "identity.keep_alive": Route(REQUESTERS),
    "identity.session_check": Route(REQUESTERS),
    # POST only, harmless for anyone; not posted here, as signing out would end the
    # principal's session for the rest of the walk (GET answers 405, which is not a refusal).
    "identity.sign_out": Route(EVERYONE, methods=("GET",)),
}


def build(db, scenario) -> None:
    """Unused emailed tokens for the owner: to confirm the request, to sign in, to an update."""
    from datetime import timedelta

    from portal.core.db import utcnow
    from portal.core.tokens import token_hash
    from portal.identity.models import EmailToken

    for purpose, token in (("confirm_email", CONFIRM_TOKEN), ("sign_in", SIGN_IN_TOKEN),
                           ("update_link", UPDATE_TOKEN)):
        db.add(EmailToken(purpose=purpose, token_hash=token_hash(token),
                          requester_id=scenario.owner.id, request_id=scenario.request.id,
                          expires_at=utcnow() + timedelta(minutes=10)))
    db.flush()
