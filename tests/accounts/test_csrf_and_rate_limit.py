"""Every account form needs its CSRF token; the sign-in POST is rate-limited per client."""

from __future__ import annotations

import re

import pytest

from tests.accounts.steps import PASSWORD, sign_in


@pytest.fixture
def app_config(app_config):
    app_config.update(WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=True,
                      SIGN_IN_RATE_LIMIT="3 per minute", LOGIN_SLOWDOWN_SECONDS=0)
    return app_config


def _token(client) -> str:
    page = client.get("/staff/sign-in").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_sign_in_without_a_csrf_token_is_refused(client, clerk):
    response = sign_in(client, clerk[0].email)
    assert response.status_code == 400
    assert "This form had expired" in response.get_data(as_text=True)
    # No half-signed session was started: the code step still sends to sign in.
    assert client.get("/staff/mfa").headers["Location"].startswith("/staff/sign-in")


def test_sign_in_with_its_csrf_token_goes_on_to_the_code(client, clerk):
    response = client.post("/staff/sign-in", data={
        "email": clerk[0].email, "password": PASSWORD, "csrf_token": _token(client)})
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/staff/mfa")


def test_sign_out_without_a_csrf_token_is_refused(client, auth, clerk):
    auth.staff(clerk[0].id)
    assert client.post("/staff/sign-out").status_code == 400
    assert client.get("/staff/reauthenticate").status_code == 200


def test_too_many_sign_in_attempts_from_one_client_get_429(client, clerk):
    token = _token(client)
    for _ in range(3):
        client.post("/staff/sign-in", data={"email": "x@example.test", "password": "wrong one!",
                                            "csrf_token": token})
    response = client.post("/staff/sign-in", data={
        "email": clerk[0].email, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 429
    assert "Too many attempts" in response.get_data(as_text=True)
