"""The public information pages: what happened, who can ask, timelines, fees, identity checks,
the mail-in path, privacy and contact (issue item 1)."""

from __future__ import annotations

import pytest

PAGES = {
    "/about": ("Woolsey Fire", "lost or damaged in the fire"),
    "/who-can-ask": ("executor", "parents cannot ask"),
    "/timelines": ("within 15 days", "30 days"),
    "/fees": ("no charge", "appeal about a public benefit"),
    "/identity-checks": ("government photo ID", "never ask you to come in person"),
    "/by-mail": ("print a form", "request-form.pdf"),
    "/privacy": ("encrypted", "six years"),
    "/contact": ("(555) 010-0000", "988"),
}


@pytest.mark.parametrize("path", sorted(PAGES))
def test_information_page_explains_its_subject(client, path):
    response = client.get(path)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for words in PAGES[path]:
        assert words in page, words


def test_the_home_page_links_to_the_information_and_both_actions(client):
    page = client.get("/").get_data(as_text=True)
    for path in ("/about", "/request", "/sign-in", "/by-mail", "/privacy", "/fees"):
        assert f'href="{path}"' in page


def test_the_mail_in_form_is_a_printable_pdf_r_id_1(client):
    """R-ID-1: a mail-in path is always offered."""
    response = client.get("/by-mail/request-form.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")


@pytest.mark.pdf
def test_the_blank_consent_form_can_be_downloaded_on_its_own_r_rel_2(client):
    """A requester asked for a new consent, or a recipient who needs one, prints it alone."""
    from portal.rules import notices
    from tests.release import pdfcheck

    page = client.get("/by-mail").get_data(as_text=True)
    assert 'href="/by-mail/consent-form.pdf"' in page
    response = client.get("/by-mail/consent-form.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    text = " ".join(pdfcheck.text(response.data).split())
    assert "Consent to release records" in text
    assert notices.CONSENT_RECIPIENT_USE_LIMITS in text
    assert "Records request form" not in text


@pytest.fixture
def fee_config(app_config):
    app_config.update(FEE_PATIENT_PAPER_PER_PAGE_CENTS=25, CA_COPY_DAYS=14)
    return app_config


def test_the_pages_show_the_configured_fees_and_days(fee_config, client):
    assert "$0.25" in client.get("/fees").get_data(as_text=True)
    assert "within 14 days" in client.get("/timelines").get_data(as_text=True)
