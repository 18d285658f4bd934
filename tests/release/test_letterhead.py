"""The letterhead comes from configuration, is never blank, and never reveals the program."""

from __future__ import annotations

import pytest

from portal.release.letterhead import MissingSetting, UnsafeSetting, letterhead_from_config

from . import samples


@pytest.mark.parametrize(
    "setting",
    [
        "CUSTODIAN_ADDRESS",
        "CUSTODIAN_PHONE",
        "CUSTODIAN_EMAIL",
        "PROGRAM_NAME",
        "COMPLAINT_CONTACT_TITLE",
    ],
)
def test_missing_setting_stops_generation_naming_the_environment_variable(setting):
    config = {key: value for key, value in samples.CONFIG.items() if key != setting}
    with pytest.raises(MissingSetting) as raised:
        letterhead_from_config(config)
    assert raised.value.setting == setting
    assert f"PORTAL_{setting}" in str(raised.value)


def test_blank_phone_is_as_missing_as_no_phone():
    with pytest.raises(MissingSetting, match="PORTAL_CUSTODIAN_PHONE"):
        letterhead_from_config({**samples.CONFIG, "CUSTODIAN_PHONE": "   "})


def test_custodian_name_defaults_to_records_custodian():
    config = {key: value for key, value in samples.CONFIG.items() if key != "CUSTODIAN_NAME"}
    assert letterhead_from_config(config).custodian_name == "Records Custodian"


def test_address_lines_come_from_the_multi_line_setting():
    assert samples.letterhead().return_address_lines == ("PO Box 4821", "Malibu, CA 90265")


def test_return_address_naming_the_program_is_refused_r_sec_4():
    address = "Canyon at Peace Park Records\nPO Box 4821\nMalibu, CA 90265"
    with pytest.raises(UnsafeSetting, match="PORTAL_CUSTODIAN_ADDRESS"):
        letterhead_from_config({**samples.CONFIG, "CUSTODIAN_ADDRESS": address})


def test_return_address_with_the_word_treatment_is_refused_r_sec_4():
    address = "Treatment Records Office\nPO Box 4821\nMalibu, CA 90265"
    with pytest.raises(UnsafeSetting, match="(?i)treatment"):
        letterhead_from_config({**samples.CONFIG, "CUSTODIAN_ADDRESS": address})


def test_sender_name_with_the_program_name_is_refused_r_sec_4():
    with pytest.raises(UnsafeSetting, match="PORTAL_CUSTODIAN_NAME"):
        letterhead_from_config({**samples.CONFIG, "CUSTODIAN_NAME": "The Canyon at Peace Park"})
