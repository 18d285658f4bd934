"""Links sent by email: always built from the configured BASE_URL, never the request's Host."""

from __future__ import annotations

from contextlib import contextmanager

from flask import current_app, has_request_context
from flask_babel import gettext as _


def external_url(endpoint: str, **values) -> str:
    """The absolute address of an endpoint under BASE_URL (works outside a request, too)."""
    adapter = current_app.url_map.bind("localhost")
    path = adapter.build(endpoint, values)
    return current_app.config["BASE_URL"].rstrip("/") + path


@contextmanager
def translation_context():
    """A request context for translating an email when there is none (a background job).

    The locale selector reads the visitor's request; a job running after the response has
    none, so it gets a bare one (default language) rather than failing to send the email.
    """
    if has_request_context():
        yield
        return
    with current_app.test_request_context("/"):
        yield


def neutral_subject() -> str:
    """R-SEC-4: every email's subject, the same whatever it is about."""
    return _("Update from the Records Custodian")
