"""Access rules of the accounts area: staff sign-in steps, setup links, staff administration."""

from tests.access.scenario import EVERYONE, STAFF_ROLES, Route

STAFF = frozenset({*STAFF_ROLES, "licensed_clerk"})
ADMIN = frozenset({"admin"})


def build(db, scenario) -> None:
    """A member of staff to administer, and a live setup link."""
    from portal.accounts.operations import create_staff
    from portal.core.actor import SYSTEM

    target, link = create_staff(db, email="admin.target@example.test", display_name="Target",
                                roles=["clerk"], licensed=False, actor=SYSTEM)
    scenario.extra["staff_target"] = target
    scenario.extra["setup_token"] = link.url.rsplit("/", 1)[-1]
    scenario.extra["failed_job"] = _failed_job(db)
    scenario.extra["staff_change"] = _pending_change(db, target)


def _pending_change(db, target) -> int:
    """A change asked for by another administrator, waiting for approval."""
    from portal.accounts.approvals import RESET_PASSWORD
    from portal.accounts.models import StaffChange

    change = StaffChange(kind=RESET_PASSWORD, subject_id=target.id, details={},
                         status="pending")
    db.add(change)
    db.flush()
    return change.id


def _failed_job(db) -> int:
    """A job that failed for good, for the admin's retry button."""
    from portal.jobs.models import FAILED
    from portal.jobs.outbox import enqueue

    job = enqueue(db, "jobs.cleanup")
    job.status = FAILED
    db.flush()
    return job.id


def _target(s) -> dict:
    return {"staff_id": s.extra["staff_target"].id}


ROUTES = {
    # Public steps: anyone may see the sign-in form and press "sign out".
    "accounts.sign_in": Route(EVERYONE),
    "accounts.sign_out": Route(EVERYONE),
    # The second step needs a staff session; a visitor without one is sent to sign in.
    "accounts.mfa": Route(STAFF),
    "accounts.reauthenticate": Route(STAFF),
    # The single-use link is the credential, whoever holds it.
    "accounts.setup": Route(EVERYONE, kwargs=lambda s: {"token": s.extra["setup_token"]}),
    # Any fully signed-in member of staff may keep their own session alive (WCAG 2.2.1).
    "accounts.keep_alive": Route(STAFF),
    "accounts.session_check": Route(STAFF),
    "accounts.staff_list": Route(ADMIN),
    "accounts.staff_new": Route(ADMIN),
    "accounts.staff_edit": Route(ADMIN, kwargs=_target),
    "accounts.staff_deactivate": Route(ADMIN, kwargs=_target),
    "accounts.staff_reactivate": Route(ADMIN, kwargs=_target),
    "accounts.staff_reset": Route(ADMIN, kwargs=_target),
    "accounts.staff_email": Route(ADMIN, kwargs=_target),
    # Two-person control: any administrator may see and decide another's request.
    "accounts.changes_page": Route(ADMIN),
    "accounts.change_approve": Route(ADMIN, kwargs=lambda s: {"change_id":
                                                              s.extra["staff_change"]}),
    "accounts.change_refuse": Route(ADMIN, kwargs=lambda s: {"change_id":
                                                             s.extra["staff_change"]}),
    # Background jobs hold no personal data on the page; operators are admins.
    "accounts.jobs_page": Route(ADMIN),
    "accounts.job_retry": Route(ADMIN, kwargs=lambda s: {"job_id": s.extra["failed_job"]}),
}
