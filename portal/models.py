"""Every model, imported once so metadata (and Alembic) sees the whole schema."""

from portal.accounts.models import AuthSession, RecoveryCode, StaffRole, StaffUser
from portal.audit.models import AuditEvent
from portal.identity.models import EmailToken, ProofingStep, RosterMatch
from portal.release.models import Disclosure, DownloadGrant, Release
from portal.requests.models import (
    Consent,
    Message,
    RecordRequest,
    Requester,
    RequestPart,
    WizardDraft,
)
from portal.roster.models import Admission, RosterBlockingKey, RosterName, RosterPatient
from portal.storage.models import StoredDocument

__all__ = [
    "Admission",
    "AuditEvent",
    "AuthSession",
    "Consent",
    "Disclosure",
    "DownloadGrant",
    "EmailToken",
    "Message",
    "ProofingStep",
    "RecordRequest",
    "RecoveryCode",
    "Release",
    "Requester",
    "RequestPart",
    "RosterBlockingKey",
    "RosterMatch",
    "RosterName",
    "RosterPatient",
    "StaffRole",
    "StaffUser",
    "StoredDocument",
    "WizardDraft",
]
