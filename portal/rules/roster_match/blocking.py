"""Blocking keys: which roster patients are candidates for a request (see the package docstring).

`roster_key_rows` is the one entry point of the roster side (the import stores its rows);
`blocking_keys_for_query` is the request side. tests/roster/test_blocking_keys_unchanged.py
pins both to the keys the match always used.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from datetime import date
from functools import lru_cache

from portal.rules.roster_match.names import (
    _NICKNAME_GROUPS,
    _NICKNAME_MEMBERS,
    _joined,
    _name_options,
    _NameOptions,
    _sound_initial,
    normalize_name,
)
from portal.rules.roster_match.values import (
    MatchQuery,
)


def _initials(options: _NameOptions, *, with_nicknames: bool) -> tuple[set[str], set[str]]:
    given: set[str] = set()
    for tokens, _source in options.given:
        for token in tokens:
            given.add(_sound_initial(token))
            if with_nicknames:
                for number in _NICKNAME_GROUPS.get(token, ()):
                    given.update(_sound_initial(name) for name in _NICKNAME_MEMBERS[number])
    surnames: set[str] = set()
    for tokens, joined, _source in options.surnames:
        surnames.update(_sound_initial(token) for token in tokens)
        if joined:
            surnames.add(_sound_initial(joined))
    return given, surnames


def _date_parts(dob: date) -> tuple[str, str, str, str]:
    """Year, year-month, month-day and day of a date of birth as the keys write them."""
    if dob.year < 1000:
        # strftime's %Y does not zero-pad years below 1000; keep those keys as they always were.
        year = f"{dob:%Y}"
        return year, f"{year}-{dob:%m}", f"{dob:%m-%d}", f"{dob:%d}"
    # Slicing the ISO date is several times cheaper than strftime (the roster import).
    iso = dob.isoformat()
    return iso[:4], iso[:7], iso[5:], iso[8:]


def _pair_keys(pairs: Iterable[str], dob: date) -> list[tuple[str, str, str]]:
    """The (year-month, month-day, year-day) keys of each pair of name initials."""
    year, year_month, month_day, day = _date_parts(dob)
    return [(f"nym:{pair}:{year_month}", f"nmd:{pair}:{month_day}", f"nyd:{pair}:{year}:{day}")
            for pair in pairs]


def _pairs(given: Iterable[str], surnames: Iterable[str]) -> tuple[str, ...]:
    """Every given-name initial followed by every surname initial."""
    surnames = tuple(surnames)
    return tuple([g + s for g in given for s in surnames])


def _name_date_keys(given: Iterable[str], surnames: Iterable[str], dob: date) -> set[str]:
    """The keys of `_pair_keys` for every pair of these initials, as one set."""
    return {key for row in _pair_keys(_pairs(given, surnames), dob) for key in row}


@lru_cache(maxsize=16384)
def _given_initials(first: str) -> frozenset[str]:
    """Sound initials of a legal given name alone (cached: a roster repeats given names)."""
    return frozenset(_sound_initial(token) for token in normalize_name(first))


@lru_cache(maxsize=16384)
def _surname_initials(last: str) -> frozenset[str]:
    """Sound initials of a legal surname alone: every token and the joined surname."""
    tokens = normalize_name(last)
    if not tokens:
        return frozenset()
    initials = {_sound_initial(token) for token in tokens}
    joined = _joined(last)
    if joined:
        initials.add(_sound_initial(joined))
    return frozenset(initials)


# `_pairs` of a legal name's initials, cached: few sets of initials recur across a roster.
_initial_pairs = lru_cache(maxsize=4096)(_pairs)


def roster_key_rows(
    first_name: str, last_name: str, other_names: tuple[str, ...], dob: date
) -> list[tuple[str, str, str]]:
    """A roster patient's name-and-date keys, grouped as the database stores them.

    One (``nym:``, ``nmd:``, ``nyd:``) triple per pair of given-name and surname sound
    initials: each initial is one character, so a pair is two and no two pairs share a key.
    With the ``dob:`` key (the date of birth itself, which the roster already indexes) these
    are every key a roster patient is found by: the one entry point for the roster side.
    """
    return _pair_keys(_roster_pairs(first_name, last_name, other_names), dob)


def _roster_pairs(
    first_name: str, last_name: str, other_names: tuple[str, ...]
) -> Iterable[str]:
    """A roster patient's pairs of given-name and surname sound initials."""
    if other_names:
        return _pairs(*_initials(_name_options(first_name, last_name, other_names),
                                 with_nicknames=False))
    # Most patients have no other names: the legal names' initials alone, cached per name,
    # are exactly what _initials(_name_options(...)) gives then.
    return _initial_pairs(_given_initials(first_name), _surname_initials(last_name))


def _dob_variants(dob: date) -> set[date]:
    variants = {dob}
    if dob.day <= 12 and dob.day != dob.month:
        variants.add(date(dob.year, dob.day, dob.month))
    for year in (dob.year - 1, dob.year + 1):
        with contextlib.suppress(ValueError):  # 29 February has no twin in a common year
            variants.add(dob.replace(year=year))
    return variants


def blocking_keys_for_query(query: MatchQuery) -> set[str]:
    """Keys to look up for a request: any shared key makes a roster patient a candidate."""
    options = _name_options(query.first_name, query.last_name, query.other_names)
    given, surnames = _initials(options, with_nicknames=True)
    keys = {f"dob:{variant.isoformat()}" for variant in _dob_variants(query.dob)}
    return keys | _name_date_keys(given, surnames, query.dob)
