"""US addresses: the state as its USPS code, the ZIP as 5 digits or ZIP+4 (#15 part 1)."""

import pytest

from portal.rules.postal import state_code, zip_code

pytestmark = pytest.mark.once


@pytest.mark.parametrize(("typed", "code"), [
    ("CA", "CA"), ("ca", "CA"), ("California", "CA"), ("  new   york ", "NY"),
    ("District of Columbia", "DC"), ("PR", "PR"), ("Guam", "GU"),
    ("AE", "AE"), ("AP", "AP"), ("AA", "AA"), ("U.S. Virgin Islands", "VI"),
])
def test_a_state_territory_or_military_code_or_name_is_its_usps_code(typed, code):
    assert state_code(typed) == code


@pytest.mark.parametrize("typed", ["Cali", "XX", "", "C A", "Ontario"])
def test_anything_else_is_not_a_state(typed):
    assert state_code(typed) is None


@pytest.mark.parametrize(("typed", "code"), [
    ("93001", "93001"), ("93001-1234", "93001-1234"), ("930011234", "93001-1234"),
    (" 93001 1234 ", "93001-1234"), ("00501", "00501"),
])
def test_a_zip_code_is_five_digits_or_zip_plus_four(typed, code):
    assert zip_code(typed) == code


@pytest.mark.parametrize("typed", ["9026", "930012", "93001-12", "ABCDE", "93001-12345", ""])
def test_anything_else_is_not_a_zip_code(typed):
    assert zip_code(typed) is None


def test_an_envelope_s_lines_us_abroad_and_through_an_institution():
    from portal.rules.postal import mailing_lines

    assert mailing_lines(line1="12 Canyon Road", line2=None, city="Ojai", state="CA",
                         postal_code="93023") == ("12 Canyon Road", "Ojai, CA 93023")
    assert mailing_lines(care_of="California State Prison, CDCR #AB1234",
                         line1="PO Box 290066", line2="", city="Represa", state="CA",
                         postal_code="95671-0066") == (
        "California State Prison, CDCR #AB1234", "PO Box 290066", "Represa, CA 95671-0066")
    assert mailing_lines(line1="Calle Mayor 12", line2=None, city="Madrid", state=None,
                         postal_code="28013", country="Spain") == (
        "Calle Mayor 12", "Madrid 28013", "SPAIN")
    assert mailing_lines(line1=None, line2=None, city=None, state=None,
                         postal_code=None) == ()
