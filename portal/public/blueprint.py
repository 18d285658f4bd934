"""URL rules of the public site."""

from flask import Blueprint

from portal.public import controllers

bp = Blueprint("public", __name__)
bp.add_url_rule("/", view_func=controllers.home)
