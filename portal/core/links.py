"""Links sent by email: always built from the configured BASE_URL, never the request's Host."""

from __future__ import annotations

from contextlib import contextmanager
from enum import Enum

from flask import current_app, has_request_context
from flask_babel import gettext as _

from portal.rules import N_


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


class Subject(Enum):
    """R-SEC-6: the fixed list of email subjects; `send_mail` takes nothing else.

    None depends on an outcome or on whether records exist, none names the program (R-SEC-4):
    a released request, a denial and "no records found" all send UPDATE.
    """

    CONFIRM_EMAIL = N_("Confirm your email address")
    SIGN_IN = N_("Your sign-in link")
    UPDATE = N_("There is an update to your request")
    SHARED_LINK = N_("A secure link for you")
    ACCOUNT = N_("A change to your staff account")
    STAFF_NOTICE = N_("A notice for staff")

    def line(self) -> str:
        """The subject in the current language."""
        return _(self.value)
