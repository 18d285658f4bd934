"""URL rules of the requests area."""

from flask import Blueprint

bp = Blueprint("requests", __name__)
