"""Regenerate tests/data/roster_match_pairs.csv, the labelled set for the roster match.

Usage: PYTHONPATH=. .venv/bin/python tests/data/make_roster_match_pairs.py

Every person is fictional: a seeded random draw of common English and Spanish given names and
surnames, dates of birth and stays, with MRNs that start with TEST-. Each row pairs what a
requester typed with one roster patient, labelled `match` (the same person, typed with one or
two realistic variations) or `nonmatch` (a near miss: another person who shares much of it).
The same seed always writes the same file, so the committed CSV can be checked by rerunning.

The benchmark (benchmarks/bench_roster_match.py) reuses `fictional_person`, `faithful_request`,
`fits` and `vary` to build its 100,000-patient roster and its requests.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from collections.abc import Callable
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

from portal.rules.roster_match import MatchQuery, RosterCandidate, Stay

SEED = 20181110
CSV_PATH = Path(__file__).with_name("roster_match_pairs.csv")
CLOSURE = date(2018, 11, 10)  # the Woolsey Fire: no stay ends after it
FIELDS = (
    "pair_id",
    "variation",
    "label",
    "q_first_name",
    "q_last_name",
    "q_other_names",
    "q_dob",
    "q_ssn_last4",
    "q_stay_from",
    "q_stay_to",
    "q_program",
    "c_patient_id",
    "c_mrn",
    "c_first_name",
    "c_last_name",
    "c_other_names",
    "c_dob",
    "c_ssn_last4",
    "c_stays",
)


def _words(text: str) -> list[str]:
    return text.split()


ENGLISH_GIVEN = {
    "F": _words(
        "Mary Patricia Jennifer Linda Elizabeth Barbara Susan Jessica Sarah Karen Margaret "
        "Katherine Rebecca Deborah Dorothy Amanda Melissa Stephanie Rachel Heather Nicole "
        "Samantha Victoria Abigail Pamela Cynthia Kimberly Megan Laura Emily Ashley Brittany "
        "Courtney Tiffany Crystal Amber Danielle Erin Kelly Lauren Hannah Olivia Allison "
        "Jacqueline Valerie Judith"
    ),
    "M": _words(
        "James Robert John Michael William David Richard Joseph Thomas Charles Christopher "
        "Daniel Matthew Anthony Donald Steven Andrew Kenneth Joshua Timothy Gregory Ronald "
        "Edward Jacob Nicholas Jonathan Samuel Benjamin Patrick Raymond Lawrence Gerald "
        "Douglas Walter Frederick Zachary Tyler Kyle Brandon Justin Travis Dustin Cody Shane "
        "Derek Wesley"
    ),
}
SPANISH_GIVEN = {
    "F": _words(
        "María Guadalupe Consuelo Dolores Rosario Josefina Francisca Graciela Gabriela Mercedes "
        "Teresa Leticia Beatriz Patricia Verónica Adriana Alejandra Yesenia Marisol Araceli "
        "Maricela Esperanza Soledad Concepción Margarita Cecilia Isabel Lucía Ximena Natalia "
        "Daniela Ana Elena Carmen Rocío Inés Raquel Silvia Norma Blanca"
    ),
    "M": _words(
        "José Juan Francisco Jesús Manuel Antonio Alejandro Roberto Ricardo Eduardo Enrique "
        "Guillermo Ignacio Fernando Armando Salvador Rodrigo Federico Rafael Luis Miguel Pedro "
        "Jorge Ramón Sergio Gustavo Rodolfo Adolfo Octavio Alberto Humberto Javier Andrés Raúl "
        "Óscar Héctor Julio Mario Ernesto Joaquín Martín Tomás"
    ),
}
ENGLISH_SURNAMES = _words(
    "Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore "
    "Jackson Martin Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright "
    "Scott Hill Green Adams Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker "
    "Evans Edwards Collins Stewart Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey "
    "Kelly Howard Cox Ward Richardson Watson Brooks Bennett Gray Hughes Price Sanders Myers Long "
    "Ross Foster McDonald MacKenzie O'Brien O'Connor Sullivan Fitzgerald Henderson Coleman "
    "Jenkins Perry Powell Russell Griffin Hayes Wallace Woods Schmidt Meyer Hoffman"
) + ["Van Dyke", "Van Horn"]
SPANISH_SURNAMES = _words(
    "García Rodríguez Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores "
    "Rivera Gómez Díaz Reyes Morales Cruz Ortiz Gutiérrez Chávez Ramos Ruiz Álvarez Mendoza "
    "Castillo Jiménez Moreno Romero Herrera Medina Aguilar Vargas Castro Guzmán Fernández "
    "Juárez Muñoz Salazar Delgado Soto Contreras Vásquez Domínguez Peña Ibáñez Ochoa Cervantes "
    "Espinoza Navarro Velásquez Zamora Cabrera Bautista Villanueva Cortés Núñez Acosta "
    "Valenzuela Sandoval Fuentes Lara Campos Esquivel Quintero Beltrán Rosales Montoya"
) + ["de la Cruz", "de León", "del Río"]

# Names people go by, written from common usage (not copied from the matcher's table).
NICKNAMES = {
    "Robert": ["Bob", "Bobby", "Rob"],
    "William": ["Bill", "Billy", "Will"],
    "Elizabeth": ["Liz", "Beth", "Betty"],
    "Margaret": ["Peggy", "Maggie", "Meg"],
    "James": ["Jim", "Jimmy"],
    "Charles": ["Chuck", "Charlie"],
    "Katherine": ["Kate", "Kathy", "Katie"],
    "Anthony": ["Tony"],
    "Richard": ["Rick", "Dick", "Rich"],
    "Joseph": ["Joe", "Joey"],
    "Michael": ["Mike"],
    "Thomas": ["Tom", "Tommy"],
    "Christopher": ["Chris"],
    "Daniel": ["Dan", "Danny"],
    "Matthew": ["Matt"],
    "Andrew": ["Andy", "Drew"],
    "Kenneth": ["Ken", "Kenny"],
    "Timothy": ["Tim"],
    "Gregory": ["Greg"],
    "Ronald": ["Ron", "Ronnie"],
    "Edward": ["Ed", "Eddie", "Ted"],
    "Jacob": ["Jake"],
    "Nicholas": ["Nick"],
    "Jonathan": ["Jon"],
    "Samuel": ["Sam"],
    "Benjamin": ["Ben"],
    "Patrick": ["Pat"],
    "Raymond": ["Ray"],
    "Lawrence": ["Larry"],
    "Gerald": ["Jerry"],
    "Douglas": ["Doug"],
    "Walter": ["Walt"],
    "Frederick": ["Fred"],
    "Zachary": ["Zach"],
    "Donald": ["Don"],
    "Steven": ["Steve"],
    "David": ["Dave"],
    "Patricia": ["Patty", "Trish"],
    "Jennifer": ["Jenny", "Jen"],
    "Susan": ["Sue"],
    "Jessica": ["Jess"],
    "Rebecca": ["Becky"],
    "Deborah": ["Debbie"],
    "Dorothy": ["Dottie"],
    "Samantha": ["Sam"],
    "Victoria": ["Vicky"],
    "Abigail": ["Abby"],
    "Pamela": ["Pam"],
    "Cynthia": ["Cindy"],
    "Kimberly": ["Kim"],
    "Melissa": ["Missy"],
    "Stephanie": ["Steph"],
    "Valerie": ["Val"],
    "Judith": ["Judy"],
    "Barbara": ["Barb"],
    "Jacqueline": ["Jackie"],
    "Allison": ["Allie"],
    "Mary": ["Molly"],
    "José": ["Pepe", "Chepe"],
    "Guadalupe": ["Lupe", "Lupita"],
    "Francisco": ["Paco", "Pancho"],
    "Consuelo": ["Chelo"],
    "Jesús": ["Chuy"],
    "Dolores": ["Lola"],
    "Rosario": ["Chayo", "Charo"],
    "Ignacio": ["Nacho"],
    "Enrique": ["Kike"],
    "Eduardo": ["Lalo"],
    "Manuel": ["Manolo", "Manny"],
    "Alejandro": ["Alex"],
    "Alejandra": ["Ale"],
    "Roberto": ["Beto"],
    "Alberto": ["Beto"],
    "Humberto": ["Beto"],
    "Guillermo": ["Memo"],
    "Concepción": ["Concha", "Conchita"],
    "Graciela": ["Chela"],
    "Gabriela": ["Gaby"],
    "Isabel": ["Chabela"],
    "Federico": ["Fede"],
    "Rodrigo": ["Rigo"],
    "Mercedes": ["Meche"],
    "Teresa": ["Tere"],
    "Rafael": ["Rafa"],
    "Luis": ["Lucho"],
    "Salvador": ["Chava"],
    "Fernando": ["Nando"],
    "Armando": ["Mando"],
    "Leticia": ["Lety"],
    "Beatriz": ["Bety"],
    "Sergio": ["Checo"],
    "Gustavo": ["Tavo"],
    "Rodolfo": ["Fito"],
    "Adolfo": ["Fito"],
    "Antonio": ["Toño", "Tony"],
    "Josefina": ["Pepa", "Fina"],
    "Francisca": ["Paquita"],
    "Cecilia": ["Ceci"],
    "Soledad": ["Chole"],
    "Esperanza": ["Espe"],
    "Ricardo": ["Ricky"],
    "Miguel": ["Mike"],
}
# Twins' names: a brother and sister, or names one letter apart, never a typo of each other.
TWIN_NAMES = (
    ("Daniel", "Daniela"),
    ("Gabriel", "Gabriela"),
    ("Francisco", "Francisca"),
    ("Mario", "María"),
    ("Julio", "Julia"),
    ("Juan", "Juana"),
    ("Antonio", "Antonia"),
    ("Alejandro", "Alejandra"),
    ("Paul", "Paula"),
    ("Eric", "Erica"),
    ("José", "Josué"),
    ("Ella", "Emma"),
    ("Ian", "Iván"),
    ("Alexander", "Alexandra"),
    ("Mateo", "Marco"),
    ("Lucas", "Lucía"),
    ("Adrián", "Adriana"),
    ("Emilio", "Emilia"),
)
PROGRAMS = ("detox", "residential", "outpatient")
STAY_DAYS = {"detox": (3, 10), "residential": (28, 90), "outpatient": (45, 180)}
KEYBOARD_NEIGHBOURS = {
    "a": "qsz",
    "b": "vn",
    "c": "xv",
    "d": "sf",
    "e": "wr",
    "f": "dg",
    "g": "fh",
    "h": "gj",
    "i": "uo",
    "j": "hk",
    "k": "jl",
    "l": "k",
    "m": "n",
    "n": "bm",
    "o": "ip",
    "p": "o",
    "q": "w",
    "r": "et",
    "s": "ad",
    "t": "ry",
    "u": "yi",
    "v": "cb",
    "w": "qe",
    "x": "zc",
    "y": "tu",
    "z": "x",
}


def strip_accents(text: str) -> str:
    """José -> Jose: what a phone keyboard or a hurried typist often produces."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def random_dob(rng: random.Random, first_year: int = 1950, last_year: int = 1997) -> date:
    start = date(first_year, 1, 1)
    return start + timedelta(days=rng.randrange((date(last_year, 12, 31) - start).days))


def random_stays(rng: random.Random, dob: date) -> tuple[Stay, ...]:
    """One to three stays between the patient's 18th birthday (or 2004) and the closure."""
    earliest = max(date(dob.year + 18, 1, 1), date(2004, 1, 1))
    stays = []
    start = earliest + timedelta(days=rng.randrange(max(1, (CLOSURE - earliest).days - 200)))
    for _ in range(rng.choice((1, 1, 1, 2, 2, 3))):
        if start >= CLOSURE - timedelta(days=3):
            break
        program = rng.choice(PROGRAMS)
        low, high = STAY_DAYS[program]
        end = min(start + timedelta(days=rng.randint(low, high)), CLOSURE - timedelta(days=1))
        discharged = None if rng.random() < 0.05 else end  # some charts lost the discharge
        stays.append(Stay(start, discharged, program))
        start = end + timedelta(days=rng.randint(20, 900))
    return tuple(stays)


def fictional_person(
    rng: random.Random,
    patient_id: int,
    *,
    spanish: bool | None = None,
    sex: str | None = None,
    first_name: str | None = None,
    double_surname: bool | None = None,
) -> RosterCandidate:
    """A made-up roster patient; about half have Spanish names, a third of those two surnames."""
    spanish = rng.random() < 0.5 if spanish is None else spanish
    sex = rng.choice("FM") if sex is None else sex
    given = (SPANISH_GIVEN if spanish else ENGLISH_GIVEN)[sex]
    surnames = SPANISH_SURNAMES if spanish else ENGLISH_SURNAMES
    first = first_name or rng.choice(given)
    if rng.random() < 0.15:
        first = f"{first} {rng.choice(given)}"  # a middle name on the roster
    if double_surname is None:
        double_surname = spanish and rng.random() < 0.35
    last = rng.choice(surnames)
    if double_surname:
        last = f"{last} {rng.choice([s for s in surnames if s != last])}"
    dob = random_dob(rng)
    other_names: tuple[str, ...] = ()
    if sex == "F" and rng.random() < 0.2:
        other_names = (f"{first.split()[0]} {rng.choice(surnames)}",)  # a maiden name
    return RosterCandidate(
        patient_id=patient_id,
        mrn=f"TEST-{patient_id:06d}",
        first_name=first,
        last_name=last,
        other_names=other_names,
        dob=dob,
        ssn_last4=f"{rng.randrange(10000):04d}" if rng.random() < 0.6 else None,
        stays=random_stays(rng, dob),
    )


def faithful_request(rng: random.Random, person: RosterCandidate) -> MatchQuery:
    """What a requester who remembers well types: names, DOB, month-rounded dates of a stay."""
    stay = rng.choice(person.stays) if person.stays else None
    stay_from = stay_to = None
    if stay is not None and rng.random() < 0.85:
        stay_from = stay.admitted_on.replace(day=1)
        ended = stay.discharged_on or stay.admitted_on
        stay_to = ended.replace(day=28) if rng.random() < 0.7 else None
    program = None
    if stay is not None:
        program = rng.choices([stay.program, "not sure", rng.choice(PROGRAMS)], weights=[6, 3, 1])[
            0
        ]
    ssn = person.ssn_last4 if person.ssn_last4 and rng.random() < 0.5 else None
    return MatchQuery(
        first_name=person.first_name.split()[0] if rng.random() < 0.7 else person.first_name,
        last_name=person.last_name,
        other_names=(),
        dob=person.dob,
        ssn_last4=ssn,
        stay_from=stay_from,
        stay_to=stay_to,
        program=program,
    )


def typo(rng: random.Random, word: str) -> str:
    """One slip after the first letter: a neighbouring key, a dropped, doubled or swapped letter."""
    letters = strip_accents(word)
    while True:
        at = rng.randrange(1, len(letters))
        kind = rng.choice(("neighbour", "drop", "double", "swap"))
        ch = letters[at].lower()
        if kind == "neighbour" and ch in KEYBOARD_NEIGHBOURS:
            slipped = letters[:at] + rng.choice(KEYBOARD_NEIGHBOURS[ch]) + letters[at + 1 :]
        elif kind == "drop" and len(letters) > 3 and letters[at].isalpha():
            slipped = letters[:at] + letters[at + 1 :]
        elif kind == "double" and letters[at].isalpha():
            slipped = letters[:at] + letters[at] + letters[at:]
        elif kind == "swap" and at + 1 < len(letters) and letters[at] != letters[at + 1]:
            slipped = letters[:at] + letters[at + 1] + letters[at] + letters[at + 2 :]
        else:
            continue
        if slipped.lower() != letters.lower() and " " not in slipped.strip():
            return slipped


def one_digit_slip(rng: random.Random, dob: date) -> date:
    """A date of birth with one digit of YYYYMMDD changed, still a real date."""
    digits = dob.strftime("%Y%m%d")
    while True:
        at = rng.randrange(2, 8)
        changed = digits[:at] + rng.choice("0123456789".replace(digits[at], "")) + digits[at + 1 :]
        try:
            slipped = date(int(changed[:4]), int(changed[4:6]), int(changed[6:]))
        except ValueError:
            continue
        if 1940 <= slipped.year <= 2000:
            return slipped


def shift_dates(rng: random.Random, query: MatchQuery) -> MatchQuery:
    """Remembered stay dates off by two to eight weeks, both ends the same way."""
    shift = timedelta(weeks=rng.randint(2, 8) * rng.choice((-1, 1)))
    stay_from = query.stay_from
    stay_to = query.stay_to
    return replace(
        query,
        stay_from=stay_from + shift if stay_from else None,
        stay_to=stay_to + shift if stay_to else None,
    )


# --- Variations: each takes (rng, person, query) and returns (person, query) ------------------

Pair = tuple[RosterCandidate, MatchQuery]
Variation = Callable[[random.Random, RosterCandidate, MatchQuery], Pair]


def nickname(rng, person, query):
    formal = person.first_name.split()[0]
    return person, replace(query, first_name=rng.choice(NICKNAMES[formal]))


def double_surname(rng, person, query):
    parts = person.last_name.split()
    return person, replace(query, last_name=rng.choice((parts[0], parts[-1])))


def hyphenated_surname(rng, person, query):
    """Smith-Jones on one side; Smith, Jones or "Smith Jones" on the other."""
    other = rng.choice([s for s in ENGLISH_SURNAMES if s != person.last_name and " " not in s])
    pair = [person.last_name, other]
    rng.shuffle(pair)
    hyphenated = "-".join(pair)
    typed = rng.choice((pair[0], pair[1], " ".join(pair)))
    if rng.random() < 0.3:  # hyphenated after a marriage, after the stay
        return replace(person, last_name=typed), replace(query, last_name=hyphenated)
    return replace(person, last_name=hyphenated), replace(query, last_name=typed)


def accent_dropped(rng, person, query):
    upper = rng.random() < 0.3
    first, last = strip_accents(query.first_name), strip_accents(query.last_name)
    if upper:
        first, last = first.upper(), last.upper()
    else:
        first, last = first.lower(), last.lower()
    return person, replace(query, first_name=first, last_name=last)


def maiden_name(rng, person, query):
    """The roster holds her married name, with her maiden name as an other name; she types it."""
    maiden = rng.choice([s for s in SPANISH_SURNAMES + ENGLISH_SURNAMES if s != person.last_name])
    roster = replace(person, other_names=(f"{person.first_name.split()[0]} {maiden}",))
    return roster, replace(query, last_name=maiden)


def legal_name_changed(rng, person, query):
    """Her legal name changed after treatment; she gives the old one as a name used then."""
    new_last = rng.choice([s for s in SPANISH_SURNAMES + ENGLISH_SURNAMES if s != person.last_name])
    old_name = f"{person.first_name.split()[0]} {person.last_name}"
    return person, replace(query, last_name=new_last, other_names=(old_name,))


def typo_first(rng, person, query):
    return person, replace(query, first_name=typo(rng, query.first_name.split()[0]))


def typo_last(rng, person, query):
    parts = query.last_name.split()
    parts[-1] = typo(rng, parts[-1])
    return person, replace(query, last_name=" ".join(parts))


def dob_transposed(rng, person, query):
    dob = query.dob
    return person, replace(query, dob=date(dob.year, dob.day, dob.month))


def dob_one_digit(rng, person, query):
    return person, replace(query, dob=one_digit_slip(rng, query.dob))


def dob_year_off_by_one(rng, person, query):
    return person, replace(query, dob=query.dob.replace(year=query.dob.year + rng.choice((-1, 1))))


def stay_dates_approximate(rng, person, query):
    if query.stay_from is None:
        stay = person.stays[0]
        query = replace(query, stay_from=stay.admitted_on, stay_to=stay.discharged_on)
    return person, shift_dates(rng, query)


# name: (variations in the order applied, what the person must be like)
MATCH_VARIATIONS: dict[str, tuple[tuple[Variation, ...], frozenset[str]]] = {
    "exact": ((), frozenset()),
    "nickname": ((nickname,), frozenset({"nickname"})),
    "double_surname": ((double_surname,), frozenset({"spanish", "double_surname"})),
    "hyphenated_surname": ((hyphenated_surname,), frozenset({"english"})),
    "accent_dropped": ((accent_dropped,), frozenset({"spanish", "accented"})),
    "maiden_name": ((maiden_name,), frozenset({"female"})),
    "legal_name_changed": ((legal_name_changed,), frozenset()),
    "typo_first_name": ((typo_first,), frozenset()),
    "typo_last_name": ((typo_last,), frozenset()),
    "dob_day_month_transposed": ((dob_transposed,), frozenset({"transposable"})),
    "dob_one_digit": ((dob_one_digit,), frozenset()),
    "dob_year_off_by_one": ((dob_year_off_by_one,), frozenset()),
    "stay_dates_approximate": ((stay_dates_approximate,), frozenset()),
    "nickname+dob_day_month_transposed": (
        (nickname, dob_transposed),
        frozenset({"nickname", "transposable"}),
    ),
    "maiden_name+nickname": ((maiden_name, nickname), frozenset({"female", "nickname"})),
    "double_surname+typo_first_name": (
        (double_surname, typo_first),
        frozenset({"spanish", "double_surname"}),
    ),
    "typo_last_name+stay_dates_approximate": ((typo_last, stay_dates_approximate), frozenset()),
    "accent_dropped+dob_one_digit": (
        (accent_dropped, dob_one_digit),
        frozenset({"spanish", "accented"}),
    ),
    "hyphenated_surname+dob_year_off_by_one": (
        (hyphenated_surname, dob_year_off_by_one),
        frozenset({"english"}),
    ),
    "legal_name_changed+typo_first_name": ((legal_name_changed, typo_first), frozenset()),
    "nickname+typo_last_name": ((nickname, typo_last), frozenset({"nickname"})),
}
SINGLE_COUNT, COMBO_COUNT, NEAR_MISS_COUNT = 14, 9, 15


def fits(person: RosterCandidate, needs: frozenset[str]) -> bool:
    """Whether a person can carry a variation (a nickname to use, a birth day to transpose)."""
    names = person.first_name + person.last_name
    dob = person.dob
    return (
        bool(person.stays)
        and (dob.month, dob.day) != (2, 29)  # keeps year-off-by-one variations real dates
        and ("nickname" not in needs or person.first_name.split()[0] in NICKNAMES)
        and ("accented" not in needs or strip_accents(names) != names)
        and ("transposable" not in needs or (dob.day <= 12 and dob.day != dob.month))
    )


def person_for(
    rng: random.Random, patient_id: int, needs: frozenset[str], first_name: str | None = None
) -> RosterCandidate:
    """Draw fictional people until one has what a variation needs (a nickname, an accent...)."""
    spanish = True if "spanish" in needs else False if "english" in needs else None
    while True:
        person = fictional_person(
            rng,
            patient_id,
            spanish=spanish,
            sex="F" if "female" in needs else None,
            first_name=first_name,
            double_surname="double_surname" in needs or (False if spanish is False else None),
        )
        if fits(person, needs):
            return person


def vary(
    rng: random.Random, person: RosterCandidate, names: str
) -> tuple[RosterCandidate, MatchQuery]:
    """Apply the named variations ("nickname+typo_last_name") to a faithful request."""
    variations, _needs = MATCH_VARIATIONS[names]
    query = faithful_request(rng, person)
    for variation in variations:
        person, query = variation(rng, person, query)
    return person, query


# --- Near misses: another person who shares much of what was typed ------------------------------


def same_name_different_dob(rng, person, next_id):
    """Same name; born in another year and another month."""
    other = fictional_person(rng, next_id)
    while other.dob.year == person.dob.year or other.dob.month == person.dob.month:
        other = replace(other, dob=random_dob(rng))
    return replace(other, first_name=person.first_name, last_name=person.last_name)


def another_first_name(rng: random.Random, first: str) -> str:
    """A different given name from the same language (a cross-language twin is the same name)."""
    spanish = first in SPANISH_GIVEN["F"] + SPANISH_GIVEN["M"]
    given = (SPANISH_GIVEN if spanish else ENGLISH_GIVEN)[rng.choice("FM")]
    return rng.choice([name for name in given if strip_accents(name) != strip_accents(first)])


def twin(rng, person, next_id):
    """A twin: same surname, birthday and often the same stays; a sibling's first name."""
    first = person.first_name.split()[0]
    pairs = [pair for pair in TWIN_NAMES if first in pair]
    if pairs:
        sibling = next(name for name in pairs[0] if name != first)
    else:
        sibling = another_first_name(rng, first)
    other = fictional_person(rng, next_id)
    stays = person.stays if rng.random() < 0.5 else other.stays
    return replace(
        other,
        first_name=sibling,
        last_name=person.last_name,
        dob=person.dob,
        stays=stays,
        other_names=(),
    )


def sibling(rng, person, next_id):
    """A brother or sister a few years apart, sometimes admitted in the same years."""
    other = fictional_person(rng, next_id)
    name = another_first_name(rng, person.first_name.split()[0])
    years = rng.choice((-6, -4, -3, -2, 2, 3, 5))
    dob = person.dob.replace(year=person.dob.year + years, day=min(person.dob.day, 28))
    dob += timedelta(days=rng.randint(20, 200))
    return replace(other, first_name=name, last_name=person.last_name, dob=dob)


def same_name_other_person(rng, person, next_id):
    """A common name shared by a stranger treated in the same years; no address to tell them by."""
    other = fictional_person(rng, next_id)
    while other.dob.year == person.dob.year:
        other = replace(other, dob=random_dob(rng))
    return replace(
        other, first_name=person.first_name, last_name=person.last_name, stays=person.stays
    )


def father_or_son(rng, person, next_id):
    """Father and son with the same name, 25 years apart; the son may add Jr."""
    other = fictional_person(rng, next_id)
    years = rng.choice((-27, -25, -24, 24, 25, 26))
    near = person.dob + timedelta(days=rng.randint(-150, 150))
    dob = near.replace(year=near.year + years, day=min(near.day, 28))
    last = person.last_name + (" Jr." if years > 0 and rng.random() < 0.5 else "")
    return replace(other, first_name=person.first_name, last_name=last, dob=dob)


def same_dob_and_surname(rng, person, next_id):
    """Born the same day with the same surname (a cousin, a stranger), another first name."""
    other = fictional_person(rng, next_id)
    first = another_first_name(rng, person.first_name.split()[0])
    return replace(
        other, first_name=first, last_name=person.last_name, dob=person.dob, other_names=()
    )


def ssn_mismatch(rng, person, next_id):
    """Everything the requester typed agrees except the last 4 of the SSN."""
    return replace(person, patient_id=next_id, mrn=f"TEST-{next_id:06d}")


NEAR_MISSES = {
    "same_name_different_dob": same_name_different_dob,
    "twin": twin,
    "sibling": sibling,
    "same_name_other_person": same_name_other_person,
    "father_son_same_name": father_or_son,
    "same_dob_and_surname_other_first_name": same_dob_and_surname,
    "ssn_last4_mismatch": ssn_mismatch,
}


def build_pairs(seed: int = SEED) -> list[dict[str, str]]:
    """All labelled rows, in a fixed order; the same seed gives the same rows."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    next_id = 1000

    def add(variation: str, label: str, query: MatchQuery, candidate: RosterCandidate) -> None:
        rows.append(row(len(rows) + 1, variation, label, query, candidate))

    for name, (variations, needs) in MATCH_VARIATIONS.items():
        count = COMBO_COUNT if len(variations) > 1 else SINGLE_COUNT
        for _ in range(count):
            next_id += 1
            person, query = vary(rng, person_for(rng, next_id, needs), name)
            add(name, "match", query, person)
    for name, make_near_miss in NEAR_MISSES.items():
        for _ in range(NEAR_MISS_COUNT):
            next_id += 2
            first_name = None
            if name == "twin" and rng.random() < 0.7:
                first_name = rng.choice(rng.choice(TWIN_NAMES))
            person = person_for(rng, next_id, frozenset(), first_name)
            query = faithful_request(rng, person)
            other = make_near_miss(rng, person, next_id + 1)
            if name == "ssn_last4_mismatch":
                asked = person.ssn_last4 or f"{rng.randrange(10000):04d}"
                known = f"{(int(asked) + rng.randint(1, 9998)) % 10000:04d}"
                query = replace(query, ssn_last4=asked)
                other = replace(other, ssn_last4=known)
            add(name, "nonmatch", query, other)
    return rows


def _day(value: date | None) -> str:
    return value.isoformat() if value else ""


def row(
    pair_id: int, variation: str, label: str, query: MatchQuery, candidate: RosterCandidate
) -> dict[str, str]:
    """One CSV row; lists are joined with ';', a stay is admitted/discharged/program."""
    return {
        "pair_id": str(pair_id),
        "variation": variation,
        "label": label,
        "q_first_name": query.first_name,
        "q_last_name": query.last_name,
        "q_other_names": ";".join(query.other_names),
        "q_dob": _day(query.dob),
        "q_ssn_last4": query.ssn_last4 or "",
        "q_stay_from": _day(query.stay_from),
        "q_stay_to": _day(query.stay_to),
        "q_program": query.program or "",
        "c_patient_id": str(candidate.patient_id),
        "c_mrn": candidate.mrn,
        "c_first_name": candidate.first_name,
        "c_last_name": candidate.last_name,
        "c_other_names": ";".join(candidate.other_names),
        "c_dob": _day(candidate.dob),
        "c_ssn_last4": candidate.ssn_last4 or "",
        "c_stays": ";".join(
            f"{_day(s.admitted_on)}/{_day(s.discharged_on)}/{s.program}" for s in candidate.stays
        ),
    }


def main() -> None:
    rows = build_pairs()
    with CSV_PATH.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {CSV_PATH}")


if __name__ == "__main__":
    main()
