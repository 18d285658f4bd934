"""URL rules of the public site."""

from flask import Blueprint

from portal.public import controllers

bp = Blueprint("public", __name__)
bp.add_url_rule("/", view_func=controllers.home)
bp.add_url_rule("/who-can-ask", view_func=controllers.who_can_ask)
bp.add_url_rule("/timelines", view_func=controllers.timelines)
bp.add_url_rule("/fees", view_func=controllers.fees)
bp.add_url_rule("/identity-checks", view_func=controllers.identity)
bp.add_url_rule("/by-mail", view_func=controllers.mail_in)
bp.add_url_rule("/by-mail/request-form.pdf", view_func=controllers.mail_in_form)
bp.add_url_rule("/by-mail/consent-form.pdf", view_func=controllers.consent_form)
bp.add_url_rule("/privacy", view_func=controllers.privacy)
bp.add_url_rule("/contact", view_func=controllers.contact)
