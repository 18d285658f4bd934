"""Letters in plain language (#15 part 2): the Flesch-Kincaid grade of every letter's and
form's prose is 8 or below, graded as the requester pages are (tests/journey/
test_reading_level.py: headings, blocks under five words and statements marked `legal`, such
as the 42 CFR 2.32 notice whose wording the law sets, are left out)."""

from __future__ import annotations

import pytest

from portal.release import pdf
from tests.journey.test_reading_level import MAX_GRADE, grade
from tests.release.test_pdf import DOCUMENTS

pytestmark = [pytest.mark.pdf, pytest.mark.once]


@pytest.fixture(scope="module")
def letter_html(letterhead) -> dict[str, str]:
    """The HTML each document is rendered from, captured on its way to the PDF."""
    captured: dict[str, str] = {}
    real = pdf.render_html
    with pytest.MonkeyPatch.context() as patch:
        for name, make in DOCUMENTS.items():
            def keep(template_name, values, _name=name, **context):
                captured[_name] = real(template_name, values, **context)
                return captured[_name]

            patch.setattr(pdf, "render_html", keep)
            make(letterhead)
    return captured


@pytest.mark.parametrize("name", sorted(DOCUMENTS))
def test_each_letter_reads_at_grade_8_or_below(letter_html, name):
    level, words = grade(letter_html[name])
    assert words >= 60, (name, words)  # the check reads the letter's prose, not nothing
    if level is not None:
        assert level <= MAX_GRADE, (name, round(level, 1), words)
