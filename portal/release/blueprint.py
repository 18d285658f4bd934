"""URL rules of the release area."""

from flask import Blueprint

bp = Blueprint("release", __name__)
