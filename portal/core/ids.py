"""Integers that reach the database stay in its range (a BIGINT): anything larger is refused
before a query is built, so a forged id is a 404 or a 400, never a 500 from the driver."""

from __future__ import annotations

import builtins

from flask import abort, request
from werkzeug.routing import IntegerConverter
from wtforms.validators import NumberRange

#: The largest value of a PostgreSQL BIGINT (and of SQLite's INTEGER).
MAX_DB_INT = 2**63 - 1


class BoundedIntegerConverter(IntegerConverter):
    """The ``int`` converter of every URL rule: an id beyond the database's range is no
    page at all (404)."""

    def __init__(self, url_map, fixed_digits: int = 0, min: int | None = None,  # noqa: A002
                 max: int | None = None, signed: bool = False) -> None:  # noqa: A002
        # ``min`` and ``max`` are the rule's own arguments (werkzeug's names), so the builtin
        # is reached through ``builtins``.
        super().__init__(url_map, fixed_digits=fixed_digits, min=min,
                         max=MAX_DB_INT if max is None else builtins.min(max, MAX_DB_INT),
                         signed=signed)


def arg_int(name: str, default: int | None = None, *, form: bool = False) -> int | None:
    """An integer query argument (or, with ``form``, a posted field): ``default`` when absent,
    400 when it is not a number in the database's range."""
    raw = (request.form if form else request.args).get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400)
    if not -MAX_DB_INT <= value <= MAX_DB_INT:
        abort(400)
    return value


#: Add to every IntegerField: a number the database cannot hold fails the form's check.
IN_DATABASE_RANGE = NumberRange(min=-MAX_DB_INT, max=MAX_DB_INT,
                                message="That number is too large.")
