"""URL rules of the roster area, under /staff/roster."""

from flask import Blueprint

from portal.queue import roster_pages as c

bp = Blueprint("roster", __name__, url_prefix="/staff/roster")

bp.add_url_rule("", "index", c.index, methods=["GET", "POST"])
bp.add_url_rule("/patients/<int:patient_id>", "patient", c.patient)
bp.add_url_rule("/import", "import_csv", c.import_csv, methods=["GET", "POST"])
