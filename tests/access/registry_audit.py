"""Access rules of the audit area: auditors only, identified exports for compliance only.

The auditor is read-only: the only POSTs here find a patient by record number and hash an
uploaded PDF, and neither changes data. Every other area's POSTs refuse both auditor roles.
"""

from tests.access.scenario import AUDITORS, Route

COMPLIANCE = frozenset({"compliance"})


def build(db, scenario) -> None:
    """A finished export with its signed manifest."""
    import json
    import secrets

    from portal.audit.models import ExportRecord
    from portal.core.db import utcnow

    export_id = secrets.token_hex(16)
    db.add(ExportRecord(export_id=export_id, kind="audit", file_format="csv", filter={},
                        actor_type="system", started_at=utcnow(), bound_head_id=0,
                        completed_at=utcnow(), row_count=0, byte_count=0, sha256="0" * 64,
                        manifest=json.dumps({"export_id": export_id, "file_name": "x.csv"})))
    scenario.extra["audit_export_id"] = export_id


def _patient(s) -> dict:
    return {"patient_id": s.patient.id}


def _csv(_s) -> dict:
    return {"file_format": "csv"}


ROUTES = {
    "audit.index": Route(AUDITORS),
    "audit.public_key": Route(AUDITORS),
    "audit.request_log": Route(AUDITORS),
    "audit.export_request_log": Route(AUDITORS, kwargs=_csv),
    "audit.export_request_log_identified": Route(COMPLIANCE, kwargs=_csv),
    "audit.trail": Route(AUDITORS),
    "audit.export_trail": Route(AUDITORS, kwargs=_csv),
    "audit.exports": Route(AUDITORS),
    "audit.export_manifest": Route(
        AUDITORS, kwargs=lambda s: {"export_id": s.extra["audit_export_id"]}),
    "audit.accounting_index": Route(AUDITORS),
    "audit.accounting": Route(AUDITORS, kwargs=_patient),
    "audit.accounting_pdf": Route(AUDITORS, kwargs=_patient),
    "audit.accounting_csv": Route(AUDITORS, kwargs=_patient),
    "audit.packet_check": Route(AUDITORS),
    # The bytes of an upload as received (R-SEC-2): compliance only.
    "audit.original": Route(COMPLIANCE),
    "audit.dashboard": Route(AUDITORS),
    "audit.dashboard_csv": Route(AUDITORS),
}
