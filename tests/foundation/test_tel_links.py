"""Phone numbers become links a phone can call (#15 part 3)."""

import pytest

from portal.core.templating import tel_href

pytestmark = pytest.mark.once


@pytest.mark.parametrize(("written", "href"), [
    ("(555) 010-0000", "tel:+15550100000"),
    ("+1 805-555-0100", "tel:+18055550100"),
    ("805.555.0100", "tel:+18055550100"),
    ("988", "tel:988"),
    ("911", "tel:911"),
])
def test_a_phone_number_as_people_write_it_becomes_a_tel_link(written, href):
    assert tel_href(written) == href
