"""URL rules of the roster area."""

from flask import Blueprint

bp = Blueprint("roster", __name__)
