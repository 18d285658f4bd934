"""US postal addresses as the portal checks them (pure: no Flask, no database).

A state is its USPS code; the full name is accepted and stored as the code ("California" is
"CA"). The territories and the military "states" (AA, AE, AP, used with APO/FPO/DPO as the
city) are allowed. A ZIP code is five digits, or ZIP+4 (a space or no dash is accepted and
written with a dash).
"""

from __future__ import annotations

import re

US_STATES = {
    "AL": "Alabama", "AK": "Alaska", "AZ": "Arizona", "AR": "Arkansas", "CA": "California",
    "CO": "Colorado", "CT": "Connecticut", "DE": "Delaware", "DC": "District of Columbia",
    "FL": "Florida", "GA": "Georgia", "HI": "Hawaii", "ID": "Idaho", "IL": "Illinois",
    "IN": "Indiana", "IA": "Iowa", "KS": "Kansas", "KY": "Kentucky", "LA": "Louisiana",
    "ME": "Maine", "MD": "Maryland", "MA": "Massachusetts", "MI": "Michigan",
    "MN": "Minnesota", "MS": "Mississippi", "MO": "Missouri", "MT": "Montana",
    "NE": "Nebraska", "NV": "Nevada", "NH": "New Hampshire", "NJ": "New Jersey",
    "NM": "New Mexico", "NY": "New York", "NC": "North Carolina", "ND": "North Dakota",
    "OH": "Ohio", "OK": "Oklahoma", "OR": "Oregon", "PA": "Pennsylvania", "RI": "Rhode Island",
    "SC": "South Carolina", "SD": "South Dakota", "TN": "Tennessee", "TX": "Texas",
    "UT": "Utah", "VT": "Vermont", "VA": "Virginia", "WA": "Washington",
    "WV": "West Virginia", "WI": "Wisconsin", "WY": "Wyoming",
    # Territories and freely associated states served by USPS.
    "AS": "American Samoa", "GU": "Guam", "MP": "Northern Mariana Islands",
    "PR": "Puerto Rico", "VI": "U.S. Virgin Islands", "FM": "Micronesia",
    "MH": "Marshall Islands", "PW": "Palau",
    # Military mail: APO/FPO/DPO addresses.
    "AA": "Armed Forces Americas", "AE": "Armed Forces Europe", "AP": "Armed Forces Pacific",
}
_BY_NAME = {name.lower().replace(".", ""): code for code, name in US_STATES.items()}
_ZIP = re.compile(r"^(\d{5})(?:[-\s]?(\d{4}))?$")


def state_code(value: str) -> str | None:
    """The USPS code of a state written as its code or its name, or None."""
    text = " ".join((value or "").replace(".", "").split())
    if text.upper() in US_STATES:
        return text.upper()
    return _BY_NAME.get(text.lower())


def zip_code(value: str) -> str | None:
    """A ZIP code as 'NNNNN' or 'NNNNN-NNNN', or None when it is not one."""
    match = _ZIP.match((value or "").strip())
    if not match:
        return None
    return match.group(1) + (f"-{match.group(2)}" if match.group(2) else "")


def mailing_lines(*, care_of: str | None = None, line1: str | None, line2: str | None,
                  city: str | None, state: str | None, postal_code: str | None,
                  country: str | None = None) -> tuple[str, ...]:
    """An address as it is printed on an envelope, one line each, empty parts left out.

    An institution or "care of" line (a facility and an inmate number) comes first, as USPS
    asks; a US address ends "City, ST 12345"; an address abroad ends with its country in
    capitals, as the Universal Postal Union asks, after its region and postal code.
    """
    us_comma = city and not country and (state or postal_code)
    last = " ".join(x for x in (f"{city}," if us_comma else city, state, postal_code) if x)
    lines = [care_of, line1, line2, last, country.upper() if country else None]
    return tuple(line.strip() for line in lines if line and line.strip())
