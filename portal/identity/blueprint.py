"""URL rules of the identity area: sign-in by emailed link, email confirmation, lost email."""

from flask import Blueprint

from portal.identity import controllers as c

bp = Blueprint("identity", __name__)
bp.add_url_rule("/sign-in", "sign_in", c.sign_in, methods=["GET", "POST"])
bp.add_url_rule("/sign-in/check-your-email", "sign_in_sent", c.sign_in_sent)
bp.add_url_rule("/sign-in/link/<token>", "magic_link", c.magic_link, methods=["GET", "POST"])
bp.add_url_rule("/update/<token>", "update_link", c.update_link, methods=["GET", "POST"])
bp.add_url_rule("/sign-in/lost-email", "lost_email", c.lost_email, methods=["GET", "POST"])
bp.add_url_rule("/keep-alive", "keep_alive", c.keep_alive, methods=["POST"])
bp.add_url_rule("/session-check", "session_check", c.session_check)
bp.add_url_rule("/sign-out", "sign_out", c.sign_out, methods=["POST"])
bp.add_url_rule("/confirm/<token>", "confirm_email", c.confirm_email, methods=["GET", "POST"])
bp.add_url_rule("/confirmed", "email_confirmed", c.email_confirmed)
