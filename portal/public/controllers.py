"""Public pages: the home page and the information a visitor needs before asking.

None of them reveals anything about any patient (R-ID-5); figures such as the number of days
and the fees come from configuration, so the pages say what the portal actually does.
"""

from __future__ import annotations

from flask import current_app, render_template

from portal.accounts.permissions import public
from portal.core.security import pdf_attachment
from portal.rules.fees import format_cents


@public
def home():
    """The closure, and the two things a visitor can do."""
    return render_template("public/home.html")


@public
def who_can_ask():
    """The patient, a personal representative (R-ID-3), or someone the patient authorizes."""
    return render_template("public/who_can_ask.html")


@public
def timelines():
    """Both clocks, from the day the request arrives (R-DL-1..4)."""
    return render_template("public/timelines.html")


@public
def fees():
    """The configured fee schedule, free by default for a patient's own copy (R-FEE-1..5)."""
    config = current_app.config
    rates = {key: format_cents(int(config[key])) for key in config if key.startswith("FEE_")}
    charges = any(int(config[key]) for key in config if key.startswith("FEE_"))
    return render_template("public/fees.html", rates=rates, charges=charges)


@public
def identity():
    """How identity is checked and why (R-ID-1, R-ID-2)."""
    return render_template("public/identity.html",
                           max_mb=int(current_app.config["ID_UPLOAD_MAX_BYTES"]) // (1024 * 1024))


@public
def mail_in():
    """The paper path for anyone who cannot or will not use the web (R-ID-1)."""
    return render_template("public/mail_in.html")


@public
def mail_in_form():
    """The printable request form, with a blank consent (PDF)."""
    from portal.release.documents import mail_in_request_form_pdf
    from portal.release.letterhead import letterhead_from_config
    from portal.rules.deadlines import today_pacific

    return pdf_attachment(mail_in_request_form_pdf(letterhead_from_config(current_app.config),
                                                  generated_on=today_pacific()),
                         "records-request-form.pdf")


@public
def consent_form():
    """The blank consent alone (PDF): for a request already sent that needs a new consent."""
    from portal.release.documents import blank_consent_form_pdf
    from portal.release.letterhead import letterhead_from_config
    from portal.rules.deadlines import today_pacific

    return pdf_attachment(blank_consent_form_pdf(letterhead_from_config(current_app.config),
                                                generated_on=today_pacific()),
                         "consent-to-release-form.pdf")


@public
def privacy():
    """What the portal keeps, why, for how long, and who sees it."""
    return render_template("public/privacy.html")


@public
def contact():
    """How to reach the records custodian."""
    return render_template("public/contact.html")
