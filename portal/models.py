"""Every model, imported once so metadata (and Alembic) sees the whole schema."""

from portal.accounts.models import (
    AuthSession,
    RecoveryCode,
    Requester,
    StaffChange,
    StaffRole,
    StaffUser,
    UnknownSignIn,
)
from portal.audit.models import ExportRecord
from portal.identity.models import EmailToken
from portal.jobs.models import Job
from portal.queue.models import RequestSearchToken
from portal.release.models import Disclosure, DownloadGrant, Release
from portal.requests.models import (
    Consent,
    LostEmailReport,
    Message,
    ProofingStep,
    RecordRequest,
    RequestPart,
    RosterMatch,
    RosterMatchRun,
    WizardDraft,
)
from portal.roster.models import Admission, RosterBlockingKey, RosterName, RosterPatient
from portal.storage.models import StoredDocument
from portal.trail.models import AuditEvent

__all__ = [
    "Admission",
    "AuditEvent",
    "AuthSession",
    "Consent",
    "Disclosure",
    "DownloadGrant",
    "EmailToken",
    "ExportRecord",
    "Job",
    "LostEmailReport",
    "Message",
    "ProofingStep",
    "RecordRequest",
    "RecoveryCode",
    "RequestSearchToken",
    "Release",
    "Requester",
    "RequestPart",
    "RosterBlockingKey",
    "RosterMatch",
    "RosterMatchRun",
    "RosterName",
    "RosterPatient",
    "StaffChange",
    "StaffRole",
    "StaffUser",
    "StoredDocument",
    "UnknownSignIn",
    "WizardDraft",
]
