"""Who the documents come from: the custodian's neutral name, address and contacts.

Read once from the app configuration (plain mapping), checked, and handed to every document.
A missing setting stops generation with a message naming the environment variable, so no
letter ever goes out with a blank where the phone number should be.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["Letterhead", "MissingSetting", "UnsafeSetting", "letterhead_from_config"]

ENV_PREFIX = "PORTAL_"
DEFAULT_CUSTODIAN_NAME = "Records Custodian"

# R-SEC-4: words that would tell a mail carrier or a housemate what kind of program wrote.
_REVEALING_WORDS = re.compile(
    r"\b(treatment|rehab\w*|detox\w*|addiction|substance|recovery)\b", re.IGNORECASE
)


class MissingSetting(RuntimeError):
    """A setting the documents need is not configured."""

    def __init__(self, setting: str):
        self.setting = setting
        self.env_var = ENV_PREFIX + setting
        super().__init__(
            f"Cannot produce documents: the setting {setting} is not configured. "
            f"Set the environment variable {self.env_var} (or {setting} in instance/config.py)."
        )


class UnsafeSetting(RuntimeError):
    """A setting printed on envelopes would reveal the program (R-SEC-4)."""

    def __init__(self, setting: str, reason: str):
        self.setting = setting
        self.env_var = ENV_PREFIX + setting
        super().__init__(
            f"Cannot produce documents: {self.env_var} {reason}. The return address and sender "
            "name must stay neutral because they show on the envelope."
        )


@dataclass(frozen=True)
class Letterhead:
    """The sender block of every document; everything but program_name is envelope-safe."""

    custodian_name: str
    return_address_lines: tuple[str, ...]
    phone: str
    email: str
    program_name: str
    complaint_contact_title: str


def _required(config: Mapping[str, object], key: str, default: str | None = None) -> str:
    value = config.get(key, default)
    if value is None or not str(value).strip():
        raise MissingSetting(key)
    return str(value).strip()


def _check_neutral(setting: str, text: str, program_name: str) -> None:
    """R-SEC-4: the program's name and revealing words never appear on the envelope."""
    lowered = text.casefold()
    names = {program_name.casefold(), program_name.casefold().removeprefix("the ").strip()}
    if any(name and name in lowered for name in names):
        raise UnsafeSetting(setting, "contains the program's name")
    if match := _REVEALING_WORDS.search(text):
        raise UnsafeSetting(setting, f"contains the word {match.group(0)!r}")


def letterhead_from_config(config: Mapping[str, object]) -> Letterhead:
    """Build the letterhead from configuration keys, refusing blanks and revealing text."""
    program_name = _required(config, "PROGRAM_NAME")
    custodian_name = _required(config, "CUSTODIAN_NAME", DEFAULT_CUSTODIAN_NAME)
    address = _required(config, "CUSTODIAN_ADDRESS")
    lines = tuple(line.strip() for line in address.splitlines() if line.strip())
    letterhead = Letterhead(
        custodian_name=custodian_name,
        return_address_lines=lines,
        phone=_required(config, "CUSTODIAN_PHONE"),
        email=_required(config, "CUSTODIAN_EMAIL"),
        program_name=program_name,
        complaint_contact_title=_required(config, "COMPLAINT_CONTACT_TITLE"),
    )
    _check_neutral("CUSTODIAN_NAME", custodian_name, program_name)
    _check_neutral("CUSTODIAN_ADDRESS", address, program_name)
    _check_neutral("CUSTODIAN_EMAIL", letterhead.email, program_name)
    return letterhead
