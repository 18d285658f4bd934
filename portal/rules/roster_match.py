"""Roster match: which roster patient, if any, a records request is about (R-ID-2(c)).

The closed program's only patient index is the custodian's roster. A requester types the
patient's legal name, other names used during treatment, date of birth, optionally the last 4
of the SSN, approximate dates of stay and the program. `rank()` scores roster candidates
against that and says which fields matched, so a clerk can pick the patient; the caller stores
the score and the matched fields. This module is plain Python on plain dataclasses: it knows
nothing of Flask or the database, so a match scores the same whatever stores the roster.

Scoring adds points per field (`POINTS`) and clamps the sum to 0..100:

    last name   exact 30, token overlap 26, typo 22, sounds alike 16, different -15
    first name  exact 20, nickname 17, partial 16, typo 15, initial 6, different -25
    dob         exact 35, day-month transposed 27, year off by one / one digit differs /
                adjacent digits swapped 22, different -15
    ssn_last4   match 10, mismatch -50 (only when both sides have it)
    stay        overlaps 7, within the tolerance (default 60 days) 5, no overlap -5
    program     agrees 3, differs 0

A different first name costs more than a different last name because twins and siblings share
a surname and a birthday; for the same reason two known given names are never a typo of each
other (Jose/Josue, Daniel/Daniela), only a misspelling of a known name is. Surnames "sound
alike" when their Soundex codes agree and their spellings are at most two edits apart. An SSN
mismatch alone pushes an otherwise perfect match below 'possible'. Names are compared across
the legal name and every other name on both sides, so a maiden name or a name changed after
treatment still matches.

Blocking keys (stored per patient by the database layer, queried per request; the database
keeps the three name-and-date keys of a pair of initials in one row, `roster_key_rows`, and
answers dob: keys from the patient's own date of birth):

    dob:YYYY-MM-DD               exact date of birth. The query side also asks for its
                                 day-month transposed date and the same day one year either side.
    nym:<g><s>:YYYY-MM           given-name sound initial <g>, surname sound initial <s>, year and
                                 month of birth: survives any error in the day of birth.
    nmd:<g><s>:MM-DD             the same initials with month and day: survives year errors.
    nyd:<g><s>:YYYY:DD           the same initials with year and day: survives month errors.

Initials come from every given-name and surname token of the legal and other names (and the
joined surname, so "de la Cruz" also files under d). The query side adds the initials of every
nickname-equivalent of its given names (Bob finds Robert), so a true match is found unless both
the names' first letters and the date of birth are wrong at once. Sound initials fold letters
that are often confused (C/K/Q, B/V, S/Z, G/J/X, I/Y, PH/F, a silent leading H).
"""

from __future__ import annotations

import contextlib
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

DEFAULT_STAY_TOLERANCE_DAYS = 60
UNSURE_PROGRAMS = frozenset({"", "not sure", "not_sure", "unsure", "unknown"})

# Field labels, stored in matched_fields and shown to the clerk.
EXACT = "exact"
NICKNAME = "nickname"
PARTIAL = "partial"
TOKEN_OVERLAP = "token overlap"
TYPO = "typo"
SOUNDS_ALIKE = "sounds alike"
INITIAL = "initial"
DIFFERENT = "different"
DOB_TRANSPOSED = "day-month transposed"
DOB_YEAR_OFF = "year off by one"
DOB_ONE_DIGIT = "one digit differs"
DOB_DIGITS_SWAPPED = "adjacent digits swapped"
SSN_MATCH = "match"
SSN_MISMATCH = "mismatch"
STAY_OVERLAPS = "overlaps"
STAY_NO_OVERLAP = "no overlap"
PROGRAM_AGREES = "agrees"
PROGRAM_DIFFERS = "differs"

POINTS: dict[str, dict[str, float]] = {
    "last_name": {EXACT: 30, TOKEN_OVERLAP: 26, TYPO: 22, SOUNDS_ALIKE: 16, DIFFERENT: -15},
    "first_name": {
        EXACT: 20,
        NICKNAME: 17,
        PARTIAL: 16,
        TYPO: 15,
        INITIAL: 6,
        DIFFERENT: -25,
    },
    "dob": {
        EXACT: 35,
        DOB_TRANSPOSED: 27,
        DOB_YEAR_OFF: 22,
        DOB_ONE_DIGIT: 22,
        DOB_DIGITS_SWAPPED: 22,
        DIFFERENT: -15,
    },
    "ssn_last4": {SSN_MATCH: 10, SSN_MISMATCH: -50},
    "stay": {STAY_OVERLAPS: 7, "within": 5, STAY_NO_OVERLAP: -5},
    "program": {PROGRAM_AGREES: 3, PROGRAM_DIFFERS: 0},
}


@dataclass(frozen=True, slots=True)
class Stay:
    """One admission on the roster; `discharged_on` is None when the chart does not say."""

    admitted_on: date
    discharged_on: date | None
    program: str


@dataclass(frozen=True, slots=True)
class RosterCandidate:
    """A roster patient as the matcher sees it; `other_names` are full names."""

    patient_id: int
    mrn: str
    first_name: str
    last_name: str
    other_names: tuple[str, ...]
    dob: date
    ssn_last4: str | None
    stays: tuple[Stay, ...]


@dataclass(frozen=True, slots=True)
class MatchQuery:
    """What the requester typed about the patient; `other_names` are full names."""

    first_name: str
    last_name: str
    other_names: tuple[str, ...]
    dob: date
    ssn_last4: str | None = None
    stay_from: date | None = None
    stay_to: date | None = None
    program: str | None = None


@dataclass(frozen=True, slots=True)
class MatchThresholds:
    """Score cut-offs for the 'likely' and 'possible' decisions (the app passes config values).

    Defaults from tests/data/roster_match_pairs.csv: no near miss there scores above 50 (twins
    with the same stays reach 50), so 'possible' is 55, which keeps 99% of true matches; 97% of
    true matches with a single variation (a nickname, a typo, a transposed birth date) score
    75 or more, which is 'likely'.
    """

    likely: float = 75.0
    possible: float = 55.0

    def __post_init__(self) -> None:
        if not 0 <= self.possible <= self.likely <= 100:
            raise ValueError("thresholds must satisfy 0 <= possible <= likely <= 100")

    def decision(self, score: float) -> str:
        """Return 'likely', 'possible' or 'unlikely' for a score."""
        if score >= self.likely:
            return "likely"
        if score >= self.possible:
            return "possible"
        return "unlikely"


DEFAULT_THRESHOLDS = MatchThresholds()


@dataclass(frozen=True, slots=True)
class MatchResult:
    """One candidate's score (0..100), the fields that matched and how, and the decision."""

    patient_id: int
    score: float
    matched_fields: dict[str, str]
    decision: str


# --- Names -------------------------------------------------------------------------------

# Each line is one name and its nicknames or other-language forms; names sharing a line match.
_NICKNAME_LINES = """
robert bob bobby rob robbie bert
robert roberto
roberto beto tito
alberto beto
humberto beto
gilberto beto
albert al bert bertie
alfred al alf fred freddie
alfredo fredo
william bill billy will willie liam
william guillermo
guillermo memo willy
elizabeth liz lizzie beth betty betsy eliza libby lisa
elizabeth isabel
margaret peggy maggie meg marge margie greta
margarita margie magui rita
james jim jimmy jamie
james jaime
santiago santi chago
charles chuck charlie chas carlos
carlos charly
katherine kathryn catherine kate katie kathy cathy kat kay
catalina cata
alexander alex al lex xander sandy
alexandra alex lexi sandy sandra
alejandro alex ale jando
alejandra alex ale
anthony tony
antonio tono tony nino
richard rick ricky rich richie dick
ricardo ricky rick richie
john jack johnny jon
john juan
juan juanito juancho
juana juanita
jonathan jon jonny
joseph joe joey jose
jose pepe chepe cheo
josefa josefina pepa chepa fina josie
guadalupe lupe lupita pita
francisco paco pancho cisco frank
francisca paca pancha paquita
francis frank frankie fran
frances fran frannie
consuelo chelo
jesus chuy chucho jesse
maria mari mary
mary molly polly mae
dolores lola loli
rosario chayo charo
ignacio nacho
enrique kike quique henry
henry hank harry hal
harold harry hal
eduardo lalo eddie
edward ed eddie ted ned
manuel manolo manny meme
manuela manola
concepcion concha conchita chita
graciela chela
gabriela gaby gabi gabby
gabriel gabe gabi
isabel isabella izzy bella isa chabela chavela
federico fede kiko
rodrigo rigo
mercedes meche merche
teresa theresa tere teresita terry tess tessa
rafael rafa rafi
luis lucho wicho louis
michael mike mikey mick mickey miguel
miguel mike
peter pete pedro
pedro perico
jorge coco george
socorro coco
refugio cuca cuco
ramon moncho
salvador chava chavo salva sal
fernando nando fer
armando mando
benjamin ben benny benji benja
leticia lety leti
patricia pat patty trish tricia paty pati
patrick pat paddy
beatriz bety bea beatrice
daniel dan danny dani
david dave davey davy
stephen steven steve stevie esteban
thomas tom tommy tomas
christopher chris kit cristobal
christina christine cristina chris tina chrissy
jennifer jen jenny
jessica jess jessie
rebecca becky becca
deborah debra deb debbie
susan sue susie suzy
barbara barb babs
dorothy dot dottie
samuel sam sammy
samantha sam sammie
nicholas nick nicky nico
matthew matt mateo
andrew andy drew andres
timothy tim timmy
gregory greg
kenneth ken kenny
ronald ron ronnie
donald don donnie
raymond ray ramon
lawrence larry
gerald jerry gerardo
douglas doug
frederick fred freddie fritz
walter walt wally
victoria vicky tori
virginia ginny
abigail abby
pamela pam
cynthia cindy
sandra sandy
judith judy
kimberly kim
melissa missy mel
stephanie steph
valerie val
zachary zach zack
joshua josh
nathaniel nathan nate nat
jacob jake
philip phillip phil
leonard leo len lenny
eugene gene
vincent vince vinny
sarah sara sally sadie
helen elena
eleanor ellie nell nellie
ellen ellie nell
allison alison ali allie
jacqueline jackie
ann anne anna annie nancy nan ana
ana anita
louise lou lulu luisa
sergio checo
adolfo fito
rodolfo fito rudy
gustavo tavo gus
octavio tavo
soledad sole chole
trinidad trini
natividad nati
eusebio chevo
anastasio tacho
esperanza espe
cecilia ceci checha
theodore ted teddy theo
maxwell max
maximilian max
maximiliano max maxi
evelyn evie
madeline maddie
olivia liv livvy
josephine jo josie
joanna joan johanna jo
dominic dom
mitchell mitch
randall randy
jeffrey geoffrey jeff
bradley brad
stanley stan
russell russ
marvin marv
"""

# More given names, so two real names one letter apart (Jose/Josue, Ella/Emma) read as two
# people rather than a typo. Names in the nickname lines above count as known too.
_MORE_GIVEN_NAMES = """
aaron adam adrian adriana aidan aiden alan alicia alma amanda amber amy andrea angel angela
angelica antonia april araceli arturo ashley audrey ava beatrice bianca blanca brandon brenda
brian brianna brittany bruce caleb camila carla carmen carol caroline carolina cesar chad
chelsea cheryl chloe christian cindy claire claudia cody colin connor courtney craig crystal
cristian dana daniela darlene darren dean denise derek diana diane diego dina dustin dylan
edgar edith edwin elisa ella elsa emilia emilio emily emma erica erik eric erin ernesto esther
ethan eva evan felipe fidel gary gilbert gina gloria grace hannah heather hector hilda hugo
ian ines irene iris ivan jada jade jaden jana jane janet janice jared jason javier jean
jeanette jesse jill joan joanne joaquin joel jordan josue joy joyce julia julian julie julio
june justin karen karina karla katia keith kelly kevin kyle lance laura lauren leah lena
leon leslie lillian linda lisa lorena lorenzo lucas lucia lucy luna lydia lynn mara marco
marcos maria mariana maribel maricela marie mario marisol marissa mark marsha martin martina
mateo maya megan melanie mia micah miriam mirna monica morgan nadia natalia natalie nathan
nicole noah noel noemi nora norma omar oscar pablo paola paul paula paulina pearl perla
priscilla rachel ramona randy raquel raul rebeca regina rene renee rey reyna rita roberta
rocio roman rosa rosalinda ruben ruby ruth ryan sabrina sandy sara sean selena seth shane
shannon sharon shawn sheila shirley silvia sofia sonia stacy sylvia tamara tanya tara tina
todd tracy travis tyler ulises valeria vanessa vera veronica vicente wanda wayne wendy
wesley ximena yadira yesenia yolanda yvette yvonne zoe
"""


def _nickname_groups() -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for number, line in enumerate(_NICKNAME_LINES.split("\n")):
        for name in line.split():
            groups.setdefault(name, set()).add(number)
    return {name: frozenset(numbers) for name, numbers in groups.items()}


_NICKNAME_GROUPS = _nickname_groups()
_KNOWN_GIVEN_NAMES = frozenset(_NICKNAME_GROUPS) | frozenset(_MORE_GIVEN_NAMES.split())
_NICKNAME_MEMBERS: dict[int, tuple[str, ...]] = {}
for _name, _numbers in _NICKNAME_GROUPS.items():
    for _number in _numbers:
        _NICKNAME_MEMBERS[_number] = (*_NICKNAME_MEMBERS.get(_number, ()), _name)

# Particles attach to the next word ("de la Cruz"); dropped as tokens, kept in the joined form.
_ROMANCE_PARTICLES = {"de", "del", "la", "las", "los", "y", "da", "das", "dos", "di", "du"}
_PARTICLES = frozenset(_ROMANCE_PARTICLES | {"van", "von", "der", "den", "ten", "ter"})
_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
_JOINED_PREFIXES = frozenset(("mc", "mac"))
_APOSTROPHES = "'\u2019\u2018`\u00b4\u02bc."
_LETTERS_WITHOUT_DECOMPOSITION = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i"}
)


# What _words does to ASCII text, as one table: apostrophes and periods go, other non-letters
# separate words (ASCII has nothing to decompose, and its case folding is lower()).
_ASCII_WORD_BREAKS = str.maketrans({
    chr(code): "" if chr(code) in _APOSTROPHES else " "
    for code in range(128) if not chr(code).isalpha()
})


def _words(text: str) -> list[str]:
    """Case-folded words without accents or punctuation, in any script."""
    decomposed = unicodedata.normalize("NFKD", text)
    folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()
    folded = folded.translate(_LETTERS_WITHOUT_DECOMPOSITION)
    # O'Brien stays one word; hyphens, commas and slashes separate words.
    folded = "".join("" if ch in _APOSTROPHES else ch for ch in folded)
    return "".join(ch if ch.isalpha() else " " for ch in folded).split()


def _ascii_words(text: str) -> list[str]:
    """`_words` of ASCII text, several times faster (most names; the roster import)."""
    return text.lower().translate(_ASCII_WORD_BREAKS).split()


@lru_cache(maxsize=65536)
def _raw_tokens(text: str) -> tuple[str, ...]:
    words = _ascii_words(text) if text.isascii() else _words(text)
    joined: list[str] = []
    for word in words:
        if joined and joined[-1] in _JOINED_PREFIXES:
            joined[-1] += word
        else:
            joined.append(word)
    return tuple(joined)


@lru_cache(maxsize=65536)
def normalize_name(text: str) -> tuple[str, ...]:
    """Return the comparable tokens of a name.

    Case-folds, strips accents, drops punctuation (O'Brien -> obrien), splits hyphenated and
    double surnames into tokens (Smith-Jones -> smith, jones), joins a detached Mc/Mac
    (Mc Donald -> mcdonald), drops particles before a word (de la Cruz -> cruz; a trailing
    "La" or a lone "Van" is a name and stays) and generational suffixes (Jr., III).
    """
    tokens = list(_raw_tokens(text))
    while len(tokens) > 1 and tokens[-1] in _SUFFIXES:
        tokens.pop()
    kept = [t for i, t in enumerate(tokens) if not (t in _PARTICLES and i < len(tokens) - 1)]
    return tuple(kept)


def _joined(text: str) -> str:
    """The whole surname as one word, particles included ("De La Cruz" == "DeLaCruz")."""
    tokens = list(_raw_tokens(text))
    while len(tokens) > 1 and tokens[-1] in _SUFFIXES:
        tokens.pop()
    return "".join(tokens)


def _fold_mc(token: str) -> str:
    return "mc" + token[3:] if token.startswith("mac") else token


def _within_one_edit(a: str, b: str) -> bool:
    """True when a and b differ by one insertion, deletion, substitution or adjacent swap."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        return sum(x != y for x, y in zip(a, b, strict=True)) == 1 or _is_transposition(a, b)
    shorter, longer = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(shorter) and shorter[i] == longer[i]:
        i += 1
    return shorter[i:] == longer[i + 1 :]


def _is_transposition(a: str, b: str) -> bool:
    if len(a) != len(b):
        return False
    diffs = [i for i in range(len(a)) if a[i] != b[i]]
    return (
        len(diffs) == 2
        and diffs[1] == diffs[0] + 1
        and a[diffs[0]] == b[diffs[1]]
        and a[diffs[1]] == b[diffs[0]]
    )


def _osa_distance(a: str, b: str) -> int:
    """Optimal string alignment distance (Damerau-Levenshtein without repeated edits)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def _is_typo(a: str, b: str) -> bool:
    """One edit (insertion, deletion, substitution, adjacent swap); two from 9 letters on.

    Below 3 letters only an adjacent swap counts: changing one letter of Jo or Ng makes
    another real name.
    """
    shortest = min(len(a), len(b))
    if shortest < 3:
        return _is_transposition(a, b)
    if shortest < 9:
        return _within_one_edit(a, b)
    return abs(len(a) - len(b)) <= 2 and _osa_distance(a, b) <= 2


def _is_gender_pair(a: str, b: str) -> bool:
    """Daniel/Daniela, Mario/Maria, Juan/Juana: siblings' names, not spelling slips."""
    if len(a) == len(b) and a[:-1] == b[:-1] and {a[-1], b[-1]} == {"a", "o"}:
        return True
    shorter, longer = (a, b) if len(a) < len(b) else (b, a)
    return len(longer) == len(shorter) + 1 and longer.startswith(shorter) and longer[-1] in "ae"


_SOUND_INITIAL = dict(zip("cqkvbzsgjxyi", "kkkbbssjjjii", strict=True))
_VOWELS = frozenset("aeiou")


def _sound_initial(token: str) -> str:
    """First letter with commonly confused spellings folded (Catherine/Kathryn, Jimena/Ximena)."""
    if token.startswith("ph"):
        return "f"
    if len(token) > 1 and token[0] == "h" and token[1] in _VOWELS:
        token = token[1:]
    return _SOUND_INITIAL.get(token[0], token[0])


_SOUNDEX_CODES = {
    letter: digit
    for letters, digit in (("bfpv", "1"), ("cgjkqsxz", "2"), ("dt", "3"), ("l", "4"), ("mn", "5"))
    for letter in letters
} | {"r": "6"}


@lru_cache(maxsize=65536)
def _soundex(token: str) -> str:
    """American Soundex, with the first letter folded by `_sound_initial`."""
    code = _sound_initial(token)
    last = _SOUNDEX_CODES.get(token[0], "")
    for ch in token[1:]:
        digit = _SOUNDEX_CODES.get(ch, "")
        if digit and digit != last:
            code += digit
            if len(code) == 4:
                break
        if ch not in "hw":
            last = digit
    return code.ljust(4, "0")


@lru_cache(maxsize=131072)
def _given_token_level(a: str, b: str) -> str:
    if a == b:
        return EXACT
    if len(a) == 1 or len(b) == 1:
        return INITIAL if a[0] == b[0] else DIFFERENT
    groups_a, groups_b = _NICKNAME_GROUPS.get(a), _NICKNAME_GROUPS.get(b)
    if groups_a and groups_b:
        # Two names the table knows are either the same name or two names (Alexander/Alexandra).
        return NICKNAME if groups_a & groups_b else DIFFERENT
    if a in _KNOWN_GIVEN_NAMES and b in _KNOWN_GIVEN_NAMES:
        return DIFFERENT  # two real names, however close, are two people (twins Jose and Josue)
    if _is_gender_pair(a, b):
        return DIFFERENT
    return TYPO if _is_typo(a, b) else DIFFERENT


@lru_cache(maxsize=131072)
def _surname_token_level(a: str, b: str) -> str:
    if a == b or _fold_mc(a) == _fold_mc(b):
        return EXACT
    if _is_typo(a, b):
        return TYPO
    # Soundex alone joins Myers and Morris; a close spelling as well keeps Gonsales/Gonzalez.
    if min(len(a), len(b)) >= 5 and _soundex(a) == _soundex(b) and _osa_distance(a, b) <= 2:
        return SOUNDS_ALIKE
    return DIFFERENT


def _compare_given(query: tuple[str, ...], roster: tuple[str, ...]) -> str:
    """Compare two given names token by token.

    A side with fewer names must have each of them matched on the other side (Jose Luis vs
    Luis is 'partial'); a name on each side that matches nothing means a different person
    (Maria Jose vs Maria Fernanda).
    """
    if query == roster:
        return EXACT
    # Initials say little once full names are there ("Maria D" vs "Maria Dolores").
    query = tuple(t for t in query if len(t) > 1) or query
    roster = tuple(t for t in roster if len(t) > 1) or roster
    if len(query) == 1 and len(roster) == 1:
        return _given_token_level(query[0], roster[0])
    shorter, longer = (query, roster) if len(query) <= len(roster) else (roster, query)
    points = POINTS["first_name"]
    used: set[int] = set()
    worst = EXACT
    for token in shorter:
        best, best_index = DIFFERENT, -1
        for index, other in enumerate(longer):
            if index in used:
                continue
            level = _given_token_level(token, other)
            if points[level] > points[best]:
                best, best_index = level, index
        if best == DIFFERENT:
            return DIFFERENT
        used.add(best_index)
        if points[best] < points[worst]:
            worst = best
    if len(shorter) < len(longer) and points[PARTIAL] < points[worst]:
        return PARTIAL
    return worst


def _compare_surname(
    query: tuple[str, ...], query_joined: str, roster: tuple[str, ...], roster_joined: str
) -> str:
    """Compare surnames; one shared token of a double or hyphenated surname is an overlap."""
    folded_query = {_fold_mc(t) for t in query}
    folded_roster = {_fold_mc(t) for t in roster}
    if query_joined == roster_joined or folded_query == folded_roster:
        return EXACT
    if folded_query & folded_roster:
        return TOKEN_OVERLAP
    points = POINTS["last_name"]
    best = DIFFERENT
    for a in query:
        for b in roster:
            level = _surname_token_level(a, b)
            if points[level] > points[best]:
                best = level
    # Catches a slip that splits or merges words, e.g. "Vanderberg" vs "Van der Berg".
    if best != TYPO and len(query) + len(roster) > 2 and _is_typo(query_joined, roster_joined):
        best = TYPO
    return best


LEGAL = "legal"
OTHER = "other"
_SOURCE_NOTES = {
    (OTHER, LEGAL): "other name on request",
    (LEGAL, OTHER): "other name on roster",
    (OTHER, OTHER): "other names on both",
}


@dataclass(frozen=True, slots=True)
class _NameOptions:
    """Every way one side's names can be read: (tokens, source) and (tokens, joined, source)."""

    given: tuple[tuple[tuple[str, ...], str], ...]
    surnames: tuple[tuple[tuple[str, ...], str, str], ...]


@lru_cache(maxsize=131072)
def _name_options(first: str, last: str, other_names: tuple[str, ...]) -> _NameOptions:
    given: dict[tuple[str, ...], str] = {}
    surnames: dict[tuple[str, ...], tuple[str, str]] = {}
    legal_given, legal_surname = normalize_name(first), normalize_name(last)
    if legal_given:
        given[legal_given] = LEGAL
    if legal_surname:
        surnames[legal_surname] = (_joined(last), LEGAL)
    for full_name in other_names:
        tokens = normalize_name(full_name)
        if len(tokens) == 1:
            # A lone other name may be a given name ("Chuy") or a surname ("Lopez").
            given.setdefault(tokens, OTHER)
            surnames.setdefault(tokens, (tokens[0], OTHER))
        # Without knowing where the given names end, try every split of the full name.
        for split in range(1, len(tokens)):
            given.setdefault(tokens[:split], OTHER)
            surname = tokens[split:]
            surnames.setdefault(surname, ("".join(surname), OTHER))
    return _NameOptions(
        given=tuple(given.items()),
        surnames=tuple((tokens, joined, source) for tokens, (joined, source) in surnames.items()),
    )


def _best_name(
    pairs: Iterable[tuple[str, str, str]], field: str
) -> tuple[str, tuple[str, str]] | None:
    """The best (level, sources) among compared pairs, preferring legal names on ties."""
    points = POINTS[field]
    best: tuple[str, tuple[str, str]] | None = None
    for level, query_source, roster_source in pairs:
        if best is None or points[level] > points[best[0]]:
            best = (level, (query_source, roster_source))
    return best


# --- Dates -------------------------------------------------------------------------------


def _compare_dob(query: date, roster: date) -> str:
    if query == roster:
        return EXACT
    if query.year == roster.year and query.month == roster.day and query.day == roster.month:
        return DOB_TRANSPOSED
    same_birthday = (query.month, query.day) == (roster.month, roster.day)
    if same_birthday and abs(query.year - roster.year) == 1:
        return DOB_YEAR_OFF
    a, b = query.strftime("%Y%m%d"), roster.strftime("%Y%m%d")
    if _is_transposition(a, b):
        return DOB_DIGITS_SWAPPED
    if sum(x != y for x, y in zip(a, b, strict=True)) == 1:
        return DOB_ONE_DIGIT
    return DIFFERENT


def _digits(ssn_last4: str | None) -> str | None:
    if not ssn_last4:
        return None
    digits = "".join(ch for ch in ssn_last4 if ch.isdigit())
    return digits if len(digits) == 4 else None


def _compare_stays(
    query: MatchQuery, stays: tuple[Stay, ...], tolerance_days: int
) -> tuple[str | None, list[Stay]]:
    """Return the stay label and the stays it refers to (None when there is nothing to compare).

    The requester's dates are approximate, so a stay within the tolerance still counts.
    """
    start = query.stay_from or query.stay_to
    end = query.stay_to or query.stay_from
    if start is None or end is None or not stays:
        return None, []
    if end < start:
        start, end = end, start
    tolerance = timedelta(days=tolerance_days)
    overlapping, near = [], []
    for stay in stays:
        stay_end = stay.discharged_on or stay.admitted_on
        if stay.admitted_on <= end and start <= stay_end:
            overlapping.append(stay)
        elif stay.admitted_on <= end + tolerance and start - tolerance <= stay_end:
            near.append(stay)
    if overlapping:
        return STAY_OVERLAPS, overlapping
    if near:
        return f"within {tolerance_days} days", near
    return STAY_NO_OVERLAP, []


def _program_code(program: str | None) -> str | None:
    code = (program or "").strip().casefold()
    return None if code in UNSURE_PROGRAMS else code


# --- Scoring -----------------------------------------------------------------------------


def score(
    query: MatchQuery,
    candidate: RosterCandidate,
    thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
    *,
    stay_tolerance_days: int = DEFAULT_STAY_TOLERANCE_DAYS,
) -> MatchResult:
    """Score one roster candidate against a request (R-ID-2(c)): 0..100, fields, decision."""
    fields: dict[str, str] = {}
    total = 0.0
    asked = _name_options(query.first_name, query.last_name, query.other_names)
    known = _name_options(candidate.first_name, candidate.last_name, candidate.other_names)

    first = _best_name(
        (
            (_compare_given(q_tokens, c_tokens), q_source, c_source)
            for q_tokens, q_source in asked.given
            for c_tokens, c_source in known.given
        ),
        "first_name",
    )
    last = _best_name(
        (
            (_compare_surname(q_tokens, q_joined, c_tokens, c_joined), q_source, c_source)
            for q_tokens, q_joined, q_source in asked.surnames
            for c_tokens, c_joined, c_source in known.surnames
        ),
        "last_name",
    )
    for field, best in (("last_name", last), ("first_name", first)):
        if best is None:
            continue
        level, sources = best
        fields[field] = level
        total += POINTS[field][level]
        if level != DIFFERENT and sources in _SOURCE_NOTES:
            fields[f"{field}_source"] = _SOURCE_NOTES[sources]

    dob_level = _compare_dob(query.dob, candidate.dob)
    fields["dob"] = dob_level
    total += POINTS["dob"][dob_level]

    asked_ssn, known_ssn = _digits(query.ssn_last4), _digits(candidate.ssn_last4)
    if asked_ssn and known_ssn:
        # A mismatch is strong evidence of another person (R-ID-2(c)), so it outweighs a stay.
        ssn_level = SSN_MATCH if asked_ssn == known_ssn else SSN_MISMATCH
        fields["ssn_last4"] = ssn_level
        total += POINTS["ssn_last4"][ssn_level]

    stay_level, stays = _compare_stays(query, candidate.stays, stay_tolerance_days)
    if stay_level is not None:
        fields["stay"] = stay_level
        total += POINTS["stay"]["within" if stay_level.startswith("within") else stay_level]

    program = _program_code(query.program)
    if program is not None and candidate.stays:
        # Program is weak evidence: a detox stay is often followed by residential treatment.
        programs = {_program_code(s.program) for s in (stays or candidate.stays)}
        program_level = PROGRAM_AGREES if program in programs else PROGRAM_DIFFERS
        fields["program"] = program_level
        total += POINTS["program"][program_level]

    clamped = round(min(100.0, max(0.0, total)), 1)
    return MatchResult(
        patient_id=candidate.patient_id,
        score=clamped,
        matched_fields=fields,
        decision=thresholds.decision(clamped),
    )


def rank(
    query: MatchQuery,
    candidates: Iterable[RosterCandidate],
    thresholds: MatchThresholds = DEFAULT_THRESHOLDS,
    limit: int = 10,
    *,
    stay_tolerance_days: int = DEFAULT_STAY_TOLERANCE_DAYS,
) -> list[MatchResult]:
    """Score candidates and return the best `limit`, highest score first, ties by patient_id.

    Unlikely candidates are kept (their decision says so) so the clerk can see what was near;
    a candidate listed twice (found by several blocking keys) is scored once.
    """
    seen: set[int] = set()
    results = []
    for candidate in candidates:
        if candidate.patient_id in seen:
            continue
        seen.add(candidate.patient_id)
        results.append(score(query, candidate, thresholds, stay_tolerance_days=stay_tolerance_days))
    results.sort(key=lambda result: (-result.score, result.patient_id))
    return results[:limit]


# --- Blocking ----------------------------------------------------------------------------


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
    are exactly `roster_blocking_keys`.
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


def roster_blocking_keys(
    first_name: str, last_name: str, other_names: tuple[str, ...], dob: date
) -> set[str]:
    """Keys to store for a roster patient with these names and date of birth.

    The same keys as `blocking_keys_for_candidate`, for callers that have the fields at hand
    and need no RosterCandidate built for each patient.
    """
    keys = {key for row in roster_key_rows(first_name, last_name, other_names, dob)
            for key in row}
    keys.add(f"dob:{dob.isoformat()}")
    return keys


def blocking_keys_for_candidate(candidate: RosterCandidate) -> set[str]:
    """Keys to store for a roster patient (see the module docstring); each under 80 chars."""
    return roster_blocking_keys(candidate.first_name, candidate.last_name,
                                candidate.other_names, candidate.dob)


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
