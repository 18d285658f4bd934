"""The import's faster blocking keys are exactly the keys the roster match always stored.

`original_keys` is the implementation before the import was optimised, kept here verbatim so
any drift (a key the matcher stops finding) fails a test rather than a patient going missing.
"""

from __future__ import annotations

import csv
import importlib.util
import random
from datetime import date
from pathlib import Path

import pytest

from portal.rules import roster_match
from portal.rules.roster_match import names
from tests.factories import roster_keys

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once

DATA = Path(__file__).parents[1] / "data"


def original_keys(first: str, last: str, other_names: tuple[str, ...], dob: date) -> set[str]:
    options = names._name_options(first, last, other_names)
    given: set[str] = set()
    for tokens, _source in options.given:
        for token in tokens:
            given.add(names._sound_initial(token))
    surnames: set[str] = set()
    for tokens, joined, _source in options.surnames:
        surnames.update(names._sound_initial(token) for token in tokens)
        if joined:
            surnames.add(names._sound_initial(joined))
    keys = set()
    for g in given:
        for s in surnames:
            keys.add(f"nym:{g}{s}:{dob:%Y-%m}")
            keys.add(f"nmd:{g}{s}:{dob:%m-%d}")
            keys.add(f"nyd:{g}{s}:{dob:%Y}:{dob:%d}")
    return {f"dob:{dob.isoformat()}"} | keys


def labelled_people() -> list[tuple[str, str, tuple[str, ...], date]]:
    """Both sides of every labelled pair, read as roster patients (typos, accents, particles)."""
    people = []
    with (DATA / "roster_match_pairs.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            for side in ("c", "q"):
                people.append((
                    row[f"{side}_first_name"], row[f"{side}_last_name"],
                    tuple(n for n in row[f"{side}_other_names"].split(";") if n),
                    date.fromisoformat(row[f"{side}_dob"]),
                ))
    return people


def generated_people(count: int = 2000) -> list[tuple[str, str, tuple[str, ...], date]]:
    spec = importlib.util.spec_from_file_location("make_pairs", DATA / "make_roster_match_pairs.py")
    generator = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generator)
    rng = random.Random(7)
    return [
        (p.first_name, p.last_name, p.other_names, p.dob)
        for p in (generator.fictional_person(rng, number) for number in range(1, count + 1))
    ]


EDGE_CASES = [
    ("Ana", "", (), date(1980, 1, 2)),
    ("", "Cruz", (), date(1980, 1, 2)),
    ("P", "H Ayala", ("Ph Ilipa", "H Ugo Lopez"), date(1975, 12, 31)),
    ("José Luis", "de la Cruz", ("Pepe",), date(1960, 2, 29)),
    ("Mary-Jo", "Mc Donald Jr.", ("Mary Jo O'Brien Smith-Jones",), date(1999, 7, 4)),
    ("Ximena", "Hernández", (), date(999, 3, 4)),
]


@pytest.mark.parametrize("source", ["labelled set", "generated people", "edge cases"])
def test_import_blocking_keys_equal_the_original_keys(source):
    people = {"labelled set": labelled_people, "generated people": generated_people,
              "edge cases": lambda: EDGE_CASES}[source]()
    for first, last, other_names, dob in people:
        assert roster_keys(first, last, other_names, dob) == original_keys(
            first, last, other_names, dob), (first, last, other_names, dob)


def test_ascii_names_split_into_the_same_words_as_any_other_text():
    rng = random.Random(11)
    alphabet = [chr(code) for code in range(128)]
    samples = ["O'Brien-Smith", "de la Cruz, Jr.", "MC DONALD", "a`b.c;d_e9f", "\t\n", ""]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))
                for _ in range(5000)]
    for text in samples:
        assert names._ascii_words(text) == names._words(text), repr(text)


def test_key_rows_hold_each_key_once_and_one_row_per_pair_of_initials():
    for first, last, other_names, dob in labelled_people() + EDGE_CASES:
        rows = roster_match.roster_key_rows(first, last, other_names, dob)
        keys = [key for row in rows for key in row]
        assert len(keys) == len(set(keys)) == 3 * len(rows)
        assert [row[0][:4] + row[1][:4] + row[2][:4] for row in rows] == ["nym:nmd:nyd:"] * len(
            rows)
        assert len({row[0] for row in rows}) == len(rows)  # the table's primary key


