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

from portal.rules.roster_match.blocking import blocking_keys_for_query, roster_key_rows
from portal.rules.roster_match.names import normalize_name
from portal.rules.roster_match.scoring import rank, score
from portal.rules.roster_match.values import (
    DEFAULT_THRESHOLDS,
    MatchQuery,
    MatchResult,
    MatchThresholds,
    RosterCandidate,
    Stay,
)

__all__ = [
    "DEFAULT_THRESHOLDS",
    "MatchQuery",
    "MatchResult",
    "MatchThresholds",
    "RosterCandidate",
    "Stay",
    "blocking_keys_for_query",
    "normalize_name",
    "rank",
    "roster_key_rows",
    "score",
]
