"""R-SEC-1 TOTP rules: ±1 time step accepted, older codes and replays refused; recovery codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from portal.accounts import mfa
from tests.factories import totp_code

# Pure checks of code or rules: they run once, in the SQLite pass (see the Makefile).
pytestmark = pytest.mark.once

SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
NOW = datetime(2026, 11, 26, 18, 0, 15, tzinfo=UTC)
STEP = timedelta(seconds=30)


def test_the_current_code_is_accepted_and_names_its_time_step():
    code = totp_code(SECRET, NOW)
    assert mfa.matching_counter(SECRET, code, None, NOW) == mfa.counter_at(NOW)


def test_a_code_one_step_old_or_early_is_accepted_for_clock_drift():
    for moment in (NOW - STEP, NOW + STEP):
        assert mfa.matching_counter(SECRET, totp_code(SECRET, moment), None, NOW) is not None


def test_a_code_two_steps_old_is_refused():
    assert mfa.matching_counter(SECRET, totp_code(SECRET, NOW - 2 * STEP), None, NOW) is None


def test_a_code_whose_step_was_already_used_is_refused():
    code = totp_code(SECRET, NOW)
    used = mfa.matching_counter(SECRET, code, None, NOW)
    assert mfa.matching_counter(SECRET, code, used, NOW + STEP) is None


def test_after_a_used_code_an_older_one_is_refused_too():
    newer = mfa.matching_counter(SECRET, totp_code(SECRET, NOW), None, NOW)
    older = totp_code(SECRET, NOW - STEP)
    assert mfa.matching_counter(SECRET, older, newer, NOW) is None


def test_codes_with_spaces_are_read_as_typed():
    code = totp_code(SECRET, NOW)
    assert mfa.matching_counter(SECRET, f"{code[:3]} {code[3:]}", None, NOW) is not None


def test_recovery_codes_are_ten_distinct_codes_of_80_bits():
    codes = mfa.new_recovery_codes()
    assert len(set(codes)) == 10
    assert all(len(c.replace("-", "")) == 16 for c in codes)


def test_a_recovery_code_matches_however_it_is_typed():
    code = mfa.new_recovery_codes(1)[0]
    assert mfa.recovery_code_hash(code) == mfa.recovery_code_hash(code.upper().replace("-", " "))
