"""URL rules of the accounts area: staff sign-in, setup links and staff administration."""

from flask import Blueprint

from portal.accounts import controllers

bp = Blueprint("accounts", __name__, url_prefix="/staff")

bp.add_url_rule("/sign-in", "sign_in", controllers.sign_in, methods=["GET", "POST"])
bp.add_url_rule("/mfa", "mfa", controllers.mfa_step, methods=["GET", "POST"])
bp.add_url_rule("/reauthenticate", "reauthenticate", controllers.reauthenticate,
                methods=["GET", "POST"])
bp.add_url_rule("/setup/<token>", "setup", controllers.setup, methods=["GET", "POST"])
bp.add_url_rule("/admin/staff", "staff_list", controllers.staff_list)
bp.add_url_rule("/admin/staff/new", "staff_new", controllers.staff_new, methods=["GET", "POST"])
bp.add_url_rule("/admin/staff/<int:staff_id>", "staff_edit", controllers.staff_edit,
                methods=["GET", "POST"])
bp.add_url_rule("/admin/staff/<int:staff_id>/deactivate", "staff_deactivate",
                controllers.staff_deactivate, methods=["POST"])
bp.add_url_rule("/admin/staff/<int:staff_id>/reactivate", "staff_reactivate",
                controllers.staff_reactivate, methods=["POST"])
bp.add_url_rule("/admin/staff/<int:staff_id>/reset", "staff_reset", controllers.staff_reset,
                methods=["POST"])
bp.add_url_rule("/admin/staff/<int:staff_id>/email", "staff_email", controllers.staff_email,
                methods=["POST"])
bp.add_url_rule("/admin/changes", "changes_page", controllers.changes_page)
bp.add_url_rule("/admin/changes/<int:change_id>/approve", "change_approve",
                controllers.change_approve, methods=["POST"])
bp.add_url_rule("/admin/changes/<int:change_id>/refuse", "change_refuse",
                controllers.change_refuse, methods=["POST"])
bp.add_url_rule("/admin/jobs", "jobs_page", controllers.jobs_page)
bp.add_url_rule("/admin/jobs/<int:job_id>/retry", "job_retry", controllers.job_retry,
                methods=["POST"])
bp.add_url_rule("/keep-alive", "keep_alive", controllers.keep_alive, methods=["POST"])
bp.add_url_rule("/session-check", "session_check", controllers.session_check)
bp.add_url_rule("/sign-out", "sign_out", controllers.sign_out, methods=["POST"])
