"""Ids and numbers beyond the database's range, negative or not numbers at all: never a 5xx.

Walks every URL rule with an integer part, as a member of staff holding every role and as a
requester, with values a driver would overflow on (2^63 and 2^64), a negative one, zero and
text; every GET page also gets out-of-range paging arguments (issue 14, part 3).
"""

from __future__ import annotations

import re

import pytest

from tests.factories import make_request, make_requester, make_staff

BAD_VALUES = ("9223372036854775808", "18446744073709551616", "-1", "0", "abc")
HUGE = "99999999999999999999999"


@pytest.fixture
def signed_in(db, auth, client):
    from portal.core.db import commit

    staff = make_staff(db, "clerk", "supervisor", "compliance", "admin", licensed=True)
    requester = make_requester(db)
    make_request(db, requester)
    commit()
    return {"staff": staff.id, "requester": requester.id}


def _int_rules(app):
    for rule in app.url_map.iter_rules():
        if "<int:" in rule.rule:
            yield rule


def _call(client, rule, path):
    if "GET" in (rule.methods or ()):
        return client.get(path)
    return client.post(path, data={"version": HUGE, "part_id": HUGE, "document_id": HUGE})


@pytest.mark.parametrize("who", ["staff", "requester"])
def test_no_route_answers_5xx_to_an_id_outside_the_database_s_range(app, client, auth,
                                                                    signed_in, who):
    getattr(auth, who)(signed_in[who])
    rules = list(_int_rules(app))
    assert len(rules) > 20  # the walk reaches the request, staff, audit and roster pages
    failures = []
    for rule in rules:
        for value in BAD_VALUES:
            path = re.sub(r"<int:[^>]+>", value, rule.rule)
            path = re.sub(r"<(?:string:)?[^>]+>", "x" * 43, path)
            status = _call(client, rule, path).status_code
            if status >= 500:
                failures.append((rule.endpoint, value, status))
    assert failures == []


def test_paging_arguments_outside_the_range_are_a_400_not_a_500(app, client, auth, signed_in):
    auth.staff(signed_in["staff"])
    failures = []
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or ()) or "<" in rule.rule or rule.endpoint == "static":
            continue
        for query in (f"page={HUGE}", f"before={HUGE}", "page=-5", "before=abc"):
            status = client.get(f"{rule.rule}?{query}").status_code
            if status >= 500:
                failures.append((rule.endpoint, query, status))
    assert failures == []
    assert client.get(f"/audit/trail?before={HUGE}").status_code in (400, 404)


def test_a_forged_version_number_beyond_the_range_is_refused_without_a_5xx(app, client, auth,
                                                                           signed_in, db):
    from sqlalchemy import select

    from portal.requests.models import RecordRequest

    auth.staff(signed_in["staff"])
    request_id = db.scalar(select(RecordRequest.id))
    response = client.post(f"/staff/requests/{request_id}/assign",
                           data={"version": HUGE, "assignee_id": str(signed_in["staff"])})
    assert response.status_code < 500
