"""URL rules of the audit area: the auditor's pages under /audit (read-only)."""

from flask import Blueprint

from portal.audit import controllers as c

bp = Blueprint("audit", __name__, url_prefix="/audit")

_FORMAT = "<any(csv, jsonl):file_format>"

bp.add_url_rule("/", "index", c.index)
bp.add_url_rule("/signing-key.pem", "public_key", c.public_key)
bp.add_url_rule("/requests", "request_log", c.request_log)
bp.add_url_rule(f"/requests/export.{_FORMAT}", "export_request_log", c.export_request_log)
bp.add_url_rule(f"/requests/export-identified.{_FORMAT}", "export_request_log_identified",
                c.export_request_log_identified, methods=["GET", "POST"])
bp.add_url_rule("/trail", "trail", c.trail)
bp.add_url_rule(f"/trail/export.{_FORMAT}", "export_trail", c.export_trail)
bp.add_url_rule("/exports", "exports", c.export_list)
bp.add_url_rule("/exports/<export_id>/manifest", "export_manifest", c.export_manifest)
# POST only finds a patient by record number (kept out of the URL); it changes nothing.
bp.add_url_rule("/accounting", "accounting_index", c.accounting_index, methods=["GET", "POST"])
bp.add_url_rule("/accounting/<int:patient_id>", "accounting", c.accounting_page)
bp.add_url_rule("/accounting/<int:patient_id>.pdf", "accounting_pdf", c.accounting_pdf)
bp.add_url_rule("/accounting/<int:patient_id>.csv", "accounting_csv", c.accounting_csv)
# POST carries a PDF to hash; nothing is stored.
bp.add_url_rule("/packets", "packet_check", c.packet_check, methods=["GET", "POST"])
bp.add_url_rule("/originals", "original", c.original)
bp.add_url_rule("/dashboard", "dashboard", c.dashboard)
bp.add_url_rule("/dashboard.csv", "dashboard_csv", c.dashboard_data)
