"""URL rules of the audit area."""

from flask import Blueprint

bp = Blueprint("audit", __name__)
