"""URL rules of the identity area."""

from flask import Blueprint

bp = Blueprint("identity", __name__)
