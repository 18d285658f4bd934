"""The request lifecycle: states, allowed transitions, who may make them, and preconditions.

One table, one place (style: domain rules live in one place). The operation that performs a
transition (portal.requests.operations.transition) asks this module whether it is allowed and
writes the audit event; nothing else changes a request's status.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from portal.rules import N_
from portal.rules.permissions import (
    ASSIGN_REQUESTS,
    RELEASE_RECORDS,
    REVIEW_CLINICAL,
    WORK_REQUESTS,
)

SUBMITTED = "submitted"
IDENTITY_REVIEW = "identity_review"
AWAITING_REQUESTER = "awaiting_requester"
REQUESTER_VERIFIED = "requester_verified"
PATIENT_LOCATED = "patient_located"
IN_FULFILMENT = "in_fulfilment"
READY_FOR_RELEASE = "ready_for_release"
RELEASED = "released"
CLOSED = "closed"
COULD_NOT_VERIFY = "could_not_verify"
WITHDRAWN = "withdrawn"
CONSENT_REVOKED = "consent_revoked"
ABANDONED = "abandoned"

# Plain words for the requester (the requester never sees roster details).
STATUS_LABELS = {
    SUBMITTED: N_("Received: waiting for you to confirm your email address"),
    IDENTITY_REVIEW: N_("Checking identity"),
    AWAITING_REQUESTER: N_("Waiting for information from you"),
    REQUESTER_VERIFIED: N_("Identity confirmed"),
    PATIENT_LOCATED: N_("Searching the records"),
    IN_FULFILMENT: N_("Preparing the records"),
    READY_FOR_RELEASE: N_("Ready to send"),
    RELEASED: N_("Sent"),
    CLOSED: N_("Completed"),
    COULD_NOT_VERIFY: N_("Closed: identity could not be confirmed"),
    WITHDRAWN: N_("Withdrawn"),
    CONSENT_REVOKED: N_("Stopped: permission withdrawn"),
    ABANDONED: N_("Closed: no reply received"),
}

# Plain words for staff (queue, request page, roster, audit log): the requester's labels
# address "you" and read wrong to a clerk. Both are translated where shown.
STAFF_STATUS_LABELS = {
    SUBMITTED: N_("New: email not confirmed yet"),
    IDENTITY_REVIEW: N_("Identity review"),
    AWAITING_REQUESTER: N_("Waiting for the requester"),
    REQUESTER_VERIFIED: N_("Requester verified"),
    PATIENT_LOCATED: N_("Patient located"),
    IN_FULFILMENT: N_("In fulfilment"),
    READY_FOR_RELEASE: N_("Ready for release"),
    RELEASED: N_("Released"),
    CLOSED: N_("Closed"),
    COULD_NOT_VERIFY: N_("Could not verify"),
    WITHDRAWN: N_("Withdrawn"),
    CONSENT_REVOKED: N_("Consent revoked"),
    ABANDONED: N_("Abandoned (no reply)"),
}
assert STAFF_STATUS_LABELS.keys() == STATUS_LABELS.keys()

TERMINAL = frozenset({CLOSED, COULD_NOT_VERIFY, WITHDRAWN, CONSENT_REVOKED, ABANDONED})
# States in which a clerk may ask the requester for more information.
ASKABLE = frozenset({IDENTITY_REVIEW, REQUESTER_VERIFIED, PATIENT_LOCATED, IN_FULFILMENT})
BEFORE_RELEASE = frozenset(
    {SUBMITTED, IDENTITY_REVIEW, AWAITING_REQUESTER, REQUESTER_VERIFIED, PATIENT_LOCATED,
     IN_FULFILMENT, READY_FOR_RELEASE}
)

RESUME = "<resume>"  # target placeholder: back to the state the request waited in
REOPEN = "<reopen>"  # target placeholder: the furthest step of the work already done
# Ended requests a supervisor may reopen for review. Not one the requester withdrew or whose
# consent they revoked (R-REL-6): that was their decision, and a new request starts afresh.
REOPENABLE = frozenset({CLOSED, COULD_NOT_VERIFY, ABANDONED})


@dataclass(frozen=True)
class Transition:
    """An allowed move: from which states, to which state, by whom, with which permission."""

    action: str
    sources: frozenset[str]
    target: str
    actor_kinds: frozenset[str]
    permission: str | None = None
    preconditions: tuple[str, ...] = ()


def _t(action, sources, target, actors, permission=None, pre=()):
    return Transition(action, frozenset(sources), target, frozenset(actors), permission, tuple(pre))


TRANSITIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # R-DL-3: the clocks started at receipt; confirming the email only lets work begin.
        _t("confirm_email", {SUBMITTED}, IDENTITY_REVIEW, {"requester", "system"}),
        _t("accept_without_email", {SUBMITTED}, IDENTITY_REVIEW, {"staff"}, WORK_REQUESTS),
        _t("request_information", ASKABLE, AWAITING_REQUESTER, {"staff"}, WORK_REQUESTS),
        _t("requester_answered", {AWAITING_REQUESTER}, RESUME, {"requester", "staff"}),
        _t("verify_requester", {IDENTITY_REVIEW}, REQUESTER_VERIFIED, {"staff"}, WORK_REQUESTS),
        _t("could_not_verify", {IDENTITY_REVIEW, AWAITING_REQUESTER}, COULD_NOT_VERIFY,
           {"staff"}, WORK_REQUESTS),
        _t("locate_patient", {REQUESTER_VERIFIED}, PATIENT_LOCATED, {"staff"}, WORK_REQUESTS,
           ("requester_verified",)),
        _t("start_fulfilment", {PATIENT_LOCATED}, IN_FULFILMENT, {"staff"}, WORK_REQUESTS,
           ("requester_verified", "patient_located")),
        _t("mark_ready", {IN_FULFILMENT}, READY_FOR_RELEASE, {"staff"}, WORK_REQUESTS,
           ("requester_verified", "patient_located", "consent_valid", "records_attached")),
        _t("release", {READY_FOR_RELEASE}, RELEASED, {"staff"}, RELEASE_RECORDS,
           ("requester_verified", "patient_located", "consent_valid", "notes_consent_valid",
            "records_attached")),
        _t("close", {PATIENT_LOCATED, IN_FULFILMENT, RELEASED}, CLOSED, {"staff", "system"},
           WORK_REQUESTS, ("every_part_decided",)),
        _t("withdraw", BEFORE_RELEASE, WITHDRAWN, {"requester", "staff"}),
        # R-REL-6: revocation binds from receipt; a release already made stands.
        _t("revoke_consent", BEFORE_RELEASE, CONSENT_REVOKED, {"requester", "staff"}),
        _t("abandon", {AWAITING_REQUESTER}, ABANDONED, {"system"}),
        # R-DEN-3: a denial reversed on review after the rest went out needs a second release.
        _t("resume_fulfilment", {RELEASED}, IN_FULFILMENT, {"staff"}, WORK_REQUESTS),
        # A closed request looked at again (a complaint, a part missed, a mistake): back to
        # the furthest step already done, with a reason; its due dates do not move.
        _t("reopen", REOPENABLE, REOPEN, {"staff"}, ASSIGN_REQUESTS),
    )
}

# Actions that change a request's data but not its status: the same checks (who, from which
# state, preconditions) apply, and the caller writes the audit event and bumps the version.
IN_PLACE_ACTIONS: dict[str, Transition] = {
    t.action: t
    for t in (
        # R-DL-2: the HIPAA extension is decided before release; California's date never moves.
        _t("extend", BEFORE_RELEASE, "", {"staff"}, WORK_REQUESTS),
        # R-REL-2: a requester "not sure" who receives the records; settled before release.
        _t("settle_recipient_kind", BEFORE_RELEASE, "", {"staff"}, WORK_REQUESTS),
        _t("record_outcome", {PATIENT_LOCATED, IN_FULFILMENT}, "", {"staff"}, WORK_REQUESTS,
           ("requester_verified", "patient_located")),
        _t("attach_records", {PATIENT_LOCATED, IN_FULFILMENT, READY_FOR_RELEASE}, "", {"staff"},
           WORK_REQUESTS, ("requester_verified", "patient_located")),
        # R-DEN-3: routing a clinical denial to another licensed reviewer, and the review.
        _t("route_review", {PATIENT_LOCATED, IN_FULFILMENT, READY_FOR_RELEASE, RELEASED}, "",
           {"staff"}, WORK_REQUESTS),
        _t("decide_review", {PATIENT_LOCATED, IN_FULFILMENT, READY_FOR_RELEASE, RELEASED}, "",
           {"staff"}, REVIEW_CLINICAL),
        # A third party's link locked after wrong access codes: a new link to the same
        # release (R-SEC-2), when the requester asks the clerk for one.
        _t("reissue_shared_link", {RELEASED, CLOSED}, "", {"staff"}, RELEASE_RECORDS),
    )
}


@dataclass(frozen=True)
class RequestFacts:
    """What the preconditions look at, gathered by the operation from the database."""

    status: str
    requester_verified: bool
    patient_located: bool
    recipient_is_third_party: bool
    consent_problems: tuple[str, ...] = ()
    notes_requested: bool = False
    notes_consent_problems: tuple[str, ...] = ()
    parts_to_release: int = 0
    parts_with_records: int = 0
    undecided_parts: int = 0
    extra: dict = field(default_factory=dict)


PRECONDITION_MESSAGES = {
    "requester_verified": "The requester's identity has not been verified yet.",
    "patient_located": "The patient has not been located in the roster yet.",
    "records_attached": "Every part marked for release needs its records attached first.",
    "every_part_decided": "Every requested part needs an outcome before the request can close.",
}


def precondition_problems(name: str, facts: RequestFacts) -> list[str]:
    """Plain-language reasons a precondition fails (empty when it holds)."""
    if name == "requester_verified":
        ok = facts.requester_verified
    elif name == "patient_located":
        ok = facts.patient_located
    elif name == "consent_valid":  # R-REL-3: no release to a third party on a bad consent
        if facts.recipient_is_third_party and facts.consent_problems:
            return [f"The consent cannot be relied on: {p}" for p in facts.consent_problems]
        return []
    elif name == "notes_consent_valid":  # R-REL-4: notes need their own consent
        third_party_notes = facts.recipient_is_third_party and facts.notes_requested
        if third_party_notes and facts.notes_consent_problems:
            return [
                "Psychotherapy or counseling notes need their own separate consent: " + p
                for p in facts.notes_consent_problems
            ]
        return []
    elif name == "records_attached":
        ok = facts.parts_with_records >= facts.parts_to_release and facts.parts_to_release > 0
    elif name == "every_part_decided":
        ok = facts.undecided_parts == 0
    else:
        raise KeyError(name)
    return [] if ok else [PRECONDITION_MESSAGES[name]]


def transition_problems(
    action: str, facts: RequestFacts, actor_kind: str, actor_permissions: frozenset[str]
) -> list[str]:
    """Everything that stops ``action`` now, in plain words; empty means it may proceed."""
    transition = TRANSITIONS.get(action) or IN_PLACE_ACTIONS.get(action)
    if transition is None:
        return [f"Unknown action: {action}."]
    if actor_kind not in transition.actor_kinds and actor_kind != "system":
        return ["You cannot take this action."]
    if (
        transition.permission
        and actor_kind == "staff"
        and transition.permission not in actor_permissions
    ):
        return ["Your role does not allow this action."]
    if facts.status not in transition.sources:
        labels = STAFF_STATUS_LABELS if actor_kind == "staff" else STATUS_LABELS
        label = labels.get(facts.status, facts.status)
        return [f"This cannot be done while the request is '{label}'."]
    problems: list[str] = []
    for name in transition.preconditions:
        problems.extend(precondition_problems(name, facts))
    return problems


def allowed_actions(status: str) -> list[str]:
    """The actions whose source states include ``status`` (for showing buttons)."""
    return [name for name, t in TRANSITIONS.items() if status in t.sources]
