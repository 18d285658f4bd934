"""Whether a typed signature is the signer's own name (R-REL-2, #15 part 1).

A typed name adopted with the intent to sign is a valid electronic signature, so a signature
that differs from the name the signer gave (a middle initial, a married name, a nickname) is
asked about once ("type your name as you usually sign it"), may be confirmed, and is flagged
to the clerk. Only a signature in another named party's name (the patient's, signed by a
representative; the recipient's) is refused: that is someone signing for someone else.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.rules.roster_match.names import normalize_name

MATCHES = "matches"
DIFFERS = "differs"
OTHER_PARTY = "other_party"


@dataclass(frozen=True)
class Party:
    """A person the request names, as typed: their first and last name, or one full name."""

    name: str

    @property
    def tokens(self) -> tuple[str, ...]:
        return normalize_name(self.name)


def _is(typed: tuple[str, ...], person: tuple[str, ...]) -> bool:
    """The typed name is this person's: their first and last words, in order, with anything
    between (a middle name or initial) or nothing."""
    if not typed or not person:
        return False
    if len(person) == 1:
        return typed == person
    return typed[0] == person[0] and typed[-1] == person[-1]


def check_signature(typed: str, signer: list[Party], others: list[Party]) -> str:
    """MATCHES, DIFFERS (may be confirmed, then flagged) or OTHER_PARTY (refused)."""
    words = normalize_name(typed)
    if any(_is(words, party.tokens) for party in signer):
        return MATCHES
    if any(_is(words, party.tokens) for party in others):
        return OTHER_PARTY
    return DIFFERS
