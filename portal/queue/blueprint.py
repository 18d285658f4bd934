"""URL rules of the queue area."""

from flask import Blueprint

bp = Blueprint("queue", __name__)
