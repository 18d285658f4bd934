"""Names: normalising, nicknames (the data files beside this module), sound initials, and
comparing a typed name with a roster name."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from portal.rules.roster_match.values import (
    DIFFERENT,
    EXACT,
    INITIAL,
    NICKNAME,
    PARTIAL,
    PARTICLE_ONLY,
    POINTS,
    SOUNDS_ALIKE,
    TOKEN_OVERLAP,
    TYPO,
)

_DATA = Path(__file__).resolve().parent


def _read_names(filename: str) -> list[str]:
    """The lines of a name list shipped beside this module, without comments."""
    text = (_DATA / filename).read_text(encoding="utf-8")
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def _library_lines() -> list[str]:
    """The English nickname table of the `nicknames` package (Carlton Northern, Nick Crews;
    Apache-2.0; first mined from a genealogy page of the TNGenWeb project, curated since): one
    line per name, with its nicknames."""
    import csv
    from importlib.resources import files

    grouped: dict[str, list[str]] = {}
    with files("nicknames").joinpath("names.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["relationship"] == "has_nickname":
                grouped.setdefault(row["name1"], []).append(row["name2"])
    return [" ".join([name, *nicknames]) for name, nicknames in sorted(grouped.items())]


# Each line is one name and its nicknames; names sharing a line match. nicknames.txt (the
# project's own: Spanish forms and diminutives, and English ones the library lacks) first,
# then the library's table.
_NICKNAME_LINES = _read_names("nicknames.txt") + _library_lines()
# given_names.txt: more known given names (a misspelling of one is a typo, two are two people).
_MORE_GIVEN_NAMES = [name for line in _read_names("given_names.txt") for name in line.split()]





def _nickname_groups() -> dict[str, frozenset[int]]:
    groups: dict[str, set[int]] = {}
    for number, line in enumerate(_NICKNAME_LINES):
        for name in line.split():
            groups.setdefault(name, set()).add(number)
    return {name: frozenset(numbers) for name, numbers in groups.items()}


_NICKNAME_GROUPS = _nickname_groups()
_KNOWN_GIVEN_NAMES = frozenset(_NICKNAME_GROUPS) | frozenset(_MORE_GIVEN_NAMES)
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


def _short_surname_slip(a: str, b: str) -> bool:
    """A three-letter surname with one letter dropped, the first kept: Kim/Km, Lee/Le."""
    short, full = (a, b) if len(a) < len(b) else (b, a)
    return (len(full) == 3 and len(short) == 2 and short[0] == full[0]
            and any(full[:i] + full[i + 1:] == short for i in range(1, 3)))


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
    if _is_typo(a, b) or _short_surname_slip(a, b):
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
    # "De" for "De la Cruz", "Van" for "Van der Berg": the roster's surname begins with that
    # particle, which its comparable tokens dropped.
    if (len(query) == 1 and query[0] in _PARTICLES and roster_joined.startswith(query[0])
            and len("".join(roster)) < len(roster_joined)):
        return PARTICLE_ONLY
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
