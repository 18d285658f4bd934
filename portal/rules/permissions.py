"""Roles and the permissions that follow from them: one definition, read by the lifecycle's
transitions (portal.rules.lifecycle) and by the access checks (portal.accounts.permissions).

R-SEC-1 (unique users, roles), R-DEN-3 (only a licensed professional decides and reviews a
clinical denial).
"""

from __future__ import annotations

WORK_REQUESTS = "work_requests"
RELEASE_RECORDS = "release_records"
ASSIGN_REQUESTS = "assign_requests"
VIEW_WORKLOAD = "view_workload"
MANAGE_ROSTER = "manage_roster"
DECIDE_CLINICAL = "decide_clinical_denials"
REVIEW_CLINICAL = "review_clinical_denials"
READ_AUDIT = "read_audit"
EXPORT_IDENTIFIED = "export_identified"
ADMINISTER_STAFF = "administer_staff"
#: Open the bytes of an upload as received (kept as evidence beside its inert copy, R-SEC-2).
READ_UPLOAD_ORIGINALS = "read_upload_originals"

ROLES = ("clerk", "supervisor", "auditor", "compliance", "admin")
ROLE_LABELS = {
    "clerk": "Records clerk",
    "supervisor": "Supervisor",
    "auditor": "Auditor (read-only)",
    "compliance": "Compliance officer (auditor with identified exports)",
    "admin": "Administrator (staff accounts; no access to records)",
}
ROLE_PERMISSIONS: dict[str, frozenset[str]] = {
    "clerk": frozenset({WORK_REQUESTS, RELEASE_RECORDS}),
    "supervisor": frozenset(
        {WORK_REQUESTS, RELEASE_RECORDS, ASSIGN_REQUESTS, VIEW_WORKLOAD, MANAGE_ROSTER}
    ),
    "auditor": frozenset({READ_AUDIT}),
    "compliance": frozenset({READ_AUDIT, EXPORT_IDENTIFIED, READ_UPLOAD_ORIGINALS}),
    "admin": frozenset({ADMINISTER_STAFF}),
}


def permissions_for(roles: set[str] | frozenset[str], is_licensed_reviewer: bool) -> frozenset[str]:
    """The permissions that follow from a set of roles and the licence flag (R-DEN-3)."""
    granted: set[str] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS.get(role, frozenset())
    # The licence only matters to someone who works requests.
    if is_licensed_reviewer and WORK_REQUESTS in granted:
        granted |= {DECIDE_CLINICAL, REVIEW_CLINICAL}
    return frozenset(granted)
