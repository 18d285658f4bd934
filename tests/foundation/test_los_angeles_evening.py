"""Days are counted in Los Angeles (R-DL-1), even when the UTC date is already tomorrow.

From 4 pm in Los Angeles (5 pm in summer) until midnight there, the UTC date is one day
ahead. Anything that takes "today" from the UTC date then accepts tomorrow and refuses today.
These tests run at 7:30 pm on 26 November in Los Angeles (03:30 UTC on the 27th), whatever
the time the suite runs.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine

from portal.requests.operations import TransitionRefused
from portal.requests.releases import release_request
from portal.roster.parsing import COLUMNS, parse_roster
from portal.rules.deadlines import pacific_date, today_pacific
from tests.factories import (
    advance_request,
    make_patient,
    make_request,
    make_staff,
    staff_actor,
    third_party_consent,
)

EVENING = datetime(2026, 11, 27, 3, 30, tzinfo=UTC)
LOS_ANGELES_TODAY = date(2026, 11, 26)


@pytest.fixture
def evening():
    with time_machine.travel(EVENING, tick=True):
        yield LOS_ANGELES_TODAY


def test_today_is_the_los_angeles_date(evening):
    assert datetime.now(UTC).date() == evening + timedelta(days=1)
    assert today_pacific() == evening


def test_demo_data_runs_in_the_evening(app, runner, evening):
    result = runner.invoke(args=["demo-data", "--patients", "12"])
    assert result.exit_code == 0, result.output


def _mailed_release(app, db, mailed_on: date, *, consent_ends: date | None = None):
    """Mail a released request; to a third party when ``consent_ends`` is given."""
    clerk = make_staff(db, "clerk")
    if consent_ends is None:
        req = make_request(db, delivery="mail")
    else:
        consent = third_party_consent(expires_on=consent_ends,
                                      signed_at=datetime.now(UTC) - timedelta(days=60))
        req = make_request(db, recipient_type="third_party", delivery="mail",
                           recipient_name="Morgan Lee", recipient_organisation="Lee & Park LLP",
                           recipient_address="100 Main St\nSpringfield", consents=[consent])
    advance_request(db, req, clerk, "in_fulfilment", patient=make_patient(db))
    with app.test_request_context("/"):
        return release_request(db, req, staff_actor(clerk), method="mail", mailed_on=mailed_on,
                               tracking_number="9400 1", expected_version=req.version)


def test_a_packet_mailed_today_in_los_angeles_is_accepted(app, db, evening):
    outcome = _mailed_release(app, db, evening)
    assert pacific_date(outcome.release.mailed_on) == evening  # stored as noon that day


def test_a_mailing_dated_tomorrow_in_los_angeles_is_refused(app, db, evening):
    with pytest.raises(TransitionRefused, match="cannot be in the future"):
        _mailed_release(app, db, evening + timedelta(days=1))


def test_a_consent_that_ends_today_in_los_angeles_still_allows_the_release(app, db, evening):
    # R-REL-3: by the UTC date this consent ended yesterday; in Los Angeles it ends today.
    outcome = _mailed_release(app, db, evening, consent_ends=evening)
    assert outcome.disclosure is not None


def test_a_consent_that_ended_yesterday_in_los_angeles_stops_the_release(app, db, evening):
    with pytest.raises(TransitionRefused, match="consent cannot be relied on"):
        _mailed_release(app, db, evening, consent_ends=evening - timedelta(days=1))


def test_the_roster_refuses_an_admission_dated_tomorrow_in_los_angeles(evening):
    def row(admitted: date) -> str:
        return (f"M-1,Avery,Quill,,1980-04-12,,{admitted.isoformat()},,residential,Box 1,yes")

    def problems(admitted: date) -> list[str]:
        data = "\n".join((",".join(COLUMNS), row(admitted))) + "\n"
        return [text for _line, text in parse_roster(io.BytesIO(data.encode())).errors]

    assert problems(evening) == []
    assert problems(evening + timedelta(days=1)) == ["admitted_on is in the future"]


def test_an_open_audit_range_counts_its_days_to_los_angeles_today(app, evening):
    from werkzeug.datastructures import MultiDict

    from portal.audit.forms import FilterForm

    limit = int(app.config["AUDIT_MAX_RANGE_DAYS"])

    def errors(since: date) -> list[str]:
        with app.test_request_context("/"):
            form = FilterForm(formdata=MultiDict({"date_from": since.isoformat()}))
            form.validate()
            return [str(e) for e in form.date_from.errors]

    assert errors(evening - timedelta(days=limit)) == []
    assert "longer than" in " ".join(errors(evening - timedelta(days=limit + 1)))
