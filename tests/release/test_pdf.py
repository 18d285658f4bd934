"""What every document shares: safe fetching, escaping, fonts, metadata, tags, page furniture."""

from __future__ import annotations

import re

import jinja2
import pytest
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError

from portal.release import documents as d
from portal.release.pdf import (
    DocumentResourceFetcher,
    drop_whitespace_between_blocks,
    isolate,
    render_html,
    render_pdf,
)

from . import pdfcheck, samples

pytestmark = pytest.mark.pdf

# Every document the portal sends, rendered from sample values.
DOCUMENTS = {
    "acknowledgement": lambda lh: d.acknowledgement_pdf(samples.acknowledgement(), lh),
    "consent": lambda lh: d.consent_form_pdf(samples.consent(), lh),
    "blank consent": lambda lh: d.blank_consent_form_pdf(lh, generated_on=samples.TODAY),
    "mail-in form": lambda lh: d.mail_in_request_form_pdf(lh, generated_on=samples.TODAY),
    "cover letter": lambda lh: d.cover_letter_pdf(samples.cover_letter(), lh),
    "third-party cover letter": lambda lh: d.cover_letter_pdf(
        samples.cover_letter(third_party=True), lh
    ),
    "extension notice": lambda lh: d.extension_notice_pdf(samples.extension_notice(), lh),
    "denial": lambda lh: d.denial_letter_pdf(samples.denial(), lh),
    "partial denial": lambda lh: d.denial_letter_pdf(
        samples.denial("endanger_life", partial=True), lh
    ),
    "review decision": lambda lh: d.review_decision_pdf(samples.review_decision(), lh),
    "could not verify": lambda lh: d.could_not_verify_pdf(samples.could_not_verify(), lh),
    "no records": lambda lh: d.outcome_letter_pdf(samples.outcome("no_records"), lh),
    "destroyed in the fire": lambda lh: d.outcome_letter_pdf(samples.outcome("destroyed_fire"), lh),
    "destroyed under retention": lambda lh: d.outcome_letter_pdf(
        samples.outcome("destroyed_retention"), lh
    ),
    "accounting of disclosures": lambda lh: d.accounting_of_disclosures_pdf(
        samples.accounting(), lh
    ),
}
FORMS = {"consent", "blank consent", "mail-in form"}
LETTERS = sorted(set(DOCUMENTS) - FORMS)

# 2in from the top and 1in from the left: the window of a #10 envelope (points, 72/in).
WINDOW = (68, 140, 280, 80)
# Everything above the fold line of a tri-folded letter, which an envelope may reveal.
TOP_PANEL = (0, 0, 612, 264)


@pytest.fixture(scope="module")
def rendered(letterhead) -> dict[str, bytes]:
    return {name: make(letterhead) for name, make in DOCUMENTS.items()}


# --------------------------------------------------------------------------- fetching


def test_fetcher_serves_the_shipped_fonts():
    response = DocumentResourceFetcher().fetch("portal-doc:fonts/LiberationSans-Regular.ttf")
    assert response.read()[:4] == b"\x00\x01\x00\x00"  # a TrueType font


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "http://example.com/logo.png",
        "https://fonts.googleapis.com/css?family=Roboto",
        "data:text/css,body{color:red}",
        "portal-doc:../../../etc/passwd",
        "portal-doc:fonts/../pdf.py",
        "ftp://example.com/file",
    ],
)
def test_fetcher_refuses_every_url_but_its_own_resources(url):
    with pytest.raises(PermissionError):
        DocumentResourceFetcher().fetch(url)


def test_outside_url_in_a_document_stops_the_render():
    html = HTML(
        string='<img src="http://example.com/x.png">', url_fetcher=DocumentResourceFetcher()
    )
    with pytest.raises(FatalURLFetchingError):
        html.write_pdf()


def test_render_without_a_generation_date_is_refused(letterhead):
    with pytest.raises(ValueError, match="generated_on"):
        render_pdf(
            "packet_strip.html",
            {"reference": "R-1", "recipient": "X"},
            title="t",
            subject="s",
            letterhead=letterhead,
        )


def test_missing_template_value_stops_the_render_instead_of_printing_a_blank(letterhead):
    with pytest.raises(jinja2.UndefinedError):
        render_pdf(
            "acknowledgement.html",
            {"generated_on": samples.TODAY, "reference": "R-1"},
            title="t",
            subject="s",
            letterhead=letterhead,
        )


# --------------------------------------------------------------------------- escaping


def _acknowledgement_html(letter, letterhead) -> str:
    return render_html(
        "acknowledgement.html",
        {"letter": letter, "generated_on": samples.TODAY, "reference": letter.reference},
        letterhead=letterhead,
        title="t",
        subject="s",
        author="a",
    )


def test_requester_named_script_renders_as_text(letterhead):
    name = "<script>alert(1)</script>"
    letter = samples.acknowledgement(to=d.MailingAddress(name=name, lines=("1 Main St", "LA")))
    html = _acknowledgement_html(letter, letterhead)
    assert "<script>" not in html
    assert f"Dear {name}," in pdfcheck.text(d.acknowledgement_pdf(letter, letterhead))


def test_right_to_left_name_is_isolated_and_keeps_the_line_in_order(letterhead):
    name = "שרה כהן"
    letter = samples.acknowledgement(to=d.MailingAddress(name=name, lines=("1 Main St", "LA")))
    html = _acknowledgement_html(letter, letterhead)
    assert f'Dear <bdi dir="auto">{name}</bdi>,' in html
    assert f"Dear {name}, Thank you" in pdfcheck.text(d.acknowledgement_pdf(letter, letterhead))


@pytest.mark.parametrize(
    "value",
    ["שרה כהן", "José Núñez", "Maria\u202eLopez", "Maria\u2067Lopez", "\u0645\u0631\u064a\u0645"],
)
def test_any_text_beyond_plain_ascii_is_isolated(value):
    assert isolate(value) == f'<bdi dir="auto">{value}</bdi>'


def test_plain_ascii_is_only_escaped_and_line_breaks_become_spaces():
    assert isolate("Maria <b>Lopez</b>") == "Maria &lt;b&gt;Lopez&lt;/b&gt;"
    assert isolate("1 Main St\r\nApt 2\u2028B") == "1 Main St  Apt 2 B"
    assert isolate("שרה\nכהן") == '<bdi dir="auto">שרה כהן</bdi>'


def test_only_whitespace_between_block_tags_is_dropped():
    html = (
        "<main>\n  <h2>Asked for</h2>\n  <ul>\n"
        "    <li>\u2022 <bdi>A</bdi> <strong>B</strong></li>\n"
        '  </ul>\n  <p class="sender">One&#10;Two <span>three</span></p>\n</main>'
    )
    assert drop_whitespace_between_blocks(html) == (
        "<main><h2>Asked for</h2><ul><li>\u2022 <bdi>A</bdi> <strong>B</strong></li></ul>"
        '<p class="sender">One&#10;Two <span>three</span></p></main>'
    )
    # Text that is more than whitespace, and whitespace beside an inline tag, stay.
    assert drop_whitespace_between_blocks("<p>a</p> b <p>c</p>") == "<p>a</p> b <p>c</p>"
    assert drop_whitespace_between_blocks("<td> <b>1</b> </td>") == "<td> <b>1</b> </td>"


def _layout_lines(data: bytes, crop: tuple[int, int, int, int]) -> list[str]:
    text = pdfcheck.pdftotext(data, first=1, last=1, crop=crop, layout=True)
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def test_sender_block_and_window_address_print_one_value_a_line(letterhead):
    pdf = d.acknowledgement_pdf(samples.acknowledgement(), letterhead)
    assert _layout_lines(pdf, (68, 30, 260, 90)) == [
        "Records Custodian",
        "PO Box 4821",
        "Malibu, CA 90265",
        "Phone (310) 555-0142",
        "records@custodian.example",
    ]
    assert _layout_lines(pdf, WINDOW) == [
        "Maria Lopez",
        "1420 Ocean Park Blvd Apt 3",
        "Santa Monica, CA 90405",
    ]


def test_a_line_break_typed_in_an_address_cannot_push_it_out_of_the_window(letterhead):
    to = d.MailingAddress(name="Ann\nLee", lines=("1 Main St\n\nApt 2", "Los Angeles,\rCA 90001"))
    pdf = d.acknowledgement_pdf(samples.acknowledgement(to=to), letterhead)
    assert _layout_lines(pdf, WINDOW) == ["Ann Lee", "1 Main St Apt 2", "Los Angeles, CA 90001"]


# --------------------------------------------------------------------------- every document


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_font_is_embedded(rendered, name):
    assert pdfcheck.font_count(rendered[name]) > 0
    assert pdfcheck.unembedded_fonts(rendered[name]) == []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_metadata_has_title_subject_and_the_neutral_author(rendered, name):
    info = pdfcheck.metadata(rendered[name])
    assert info["/Author"] == "Records Custodian"
    assert info["/Title"] and info["/Subject"]


@pytest.mark.parametrize("name", DOCUMENTS)
def test_metadata_never_names_the_program_or_treatment_r_sec_4(rendered, name):
    info = pdfcheck.metadata(rendered[name])
    for value in (info["/Title"], info["/Subject"], info["/Author"]):
        assert samples.PROGRAM_NAME.lower() not in value.lower()
        assert "treatment" not in value.lower()


@pytest.mark.parametrize("name", DOCUMENTS)
def test_document_is_tagged_for_screen_readers_as_pdf_ua_1(rendered, name):
    assert pdfcheck.pdf_ua_marking(rendered[name]) == (True, True, "1")


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_list_is_tagged_as_list_items_with_a_body(rendered, name):
    for items in pdfcheck.list_items(rendered[name]):
        assert items
        assert all(item in {("/LBody",), ("/Lbl", "/LBody")} for item in items), items


def test_acknowledgement_lists_print_their_bullets_and_numbers_as_tagged_lists(rendered):
    pdf = rendered["acknowledgement"]
    asked_for, next_steps = pdfcheck.list_items(pdf)
    assert len(next_steps) == 3
    lines = [line.strip() for line in pdfcheck.pdftotext(pdf).splitlines()]
    assert sum(line.startswith("\u2022 ") for line in lines) == len(asked_for) >= 2
    for number in (1, 2, 3):
        assert sum(line.startswith(f"{number}. We ") for line in lines) == 1


# The cover letter is only ever a part of the released packet, whose strip numbers each page
# ("Packet page n of N", tests/release/test_packet.py): one counter per page (#15 part 5).
IN_PACKET_ONLY = {"cover letter", "third-party cover letter"}


@pytest.mark.parametrize("name", [n for n in DOCUMENTS if n not in IN_PACKET_ONLY])
def test_every_page_is_numbered_page_n_of_total(rendered, name):
    pages = pdfcheck.page_texts(rendered[name])
    for number, page in enumerate(pages, start=1):
        assert f"Page {number} of {len(pages)}" in page


@pytest.mark.parametrize("name", sorted(IN_PACKET_ONLY))
def test_a_part_made_for_the_packet_has_no_counter_of_its_own(rendered, name):
    for page in pdfcheck.page_texts(rendered[name]):
        assert not re.search(r"Page \d+ of \d+", page)


@pytest.mark.parametrize("name", LETTERS)
def test_footer_carries_the_reference_and_the_generation_date(rendered, name):
    for page in pdfcheck.page_texts(rendered[name]):
        assert "Reference R-2026-00042 • Generated November 26, 2026" in page


@pytest.mark.parametrize("name", LETTERS)
def test_mailing_address_sits_in_the_envelope_window(rendered, name):
    window = pdfcheck.text(rendered[name], first=1, last=1, crop=WINDOW)
    assert "1420 Ocean Park Blvd Apt 3 Santa Monica, CA 90405" in window


@pytest.mark.parametrize("name", LETTERS)
def test_what_an_envelope_can_show_never_names_the_program_or_treatment_r_sec_4(rendered, name):
    top = pdfcheck.text(rendered[name], first=1, last=1, crop=TOP_PANEL)
    assert "Records Custodian PO Box 4821 Malibu, CA 90265" in top
    assert "canyon" not in top.lower()
    assert "peace park" not in top.lower()
    assert "treatment" not in top.lower()


@pytest.mark.parametrize("name", LETTERS)
def test_letters_give_the_custodian_phone_and_email(rendered, name):
    body = pdfcheck.text(rendered[name])
    assert "(310) 555-0142" in body
    assert "records@custodian.example" in body


def test_a_process_that_rendered_a_letter_leaves_no_font_folder_behind(tmp_path):
    # WeasyPrint copies the embedded fonts into a temporary folder that it removes only when
    # its font configuration is collected. The portal keeps one per thread for speed, so it
    # must let the main thread's go at exit, while the interpreter can still remove folders
    # (otherwise every worker restart leaks one). The exit handlers run here by hand, so what
    # they left behind can be looked at before the interpreter ends.
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    script = (
        "import atexit, gc, os, tempfile\n"
        "from tests.release import samples\n"
        "from portal.release import documents\n"
        "documents.acknowledgement_pdf(samples.acknowledgement(), samples.letterhead())\n"
        "assert os.listdir(tempfile.gettempdir()), 'the fonts were not copied'\n"
        "atexit._run_exitfuncs()\n"
        "gc.collect()\n"
        "print(sorted(os.listdir(tempfile.gettempdir())))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=root, capture_output=True,
                          text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
