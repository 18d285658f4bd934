"""Over https every cookie is __Host- prefixed (Secure, Path=/, no Domain), so no sibling
host can set or shadow it (#14 part 5)."""

from __future__ import annotations

import pytest

from portal import create_app


@pytest.fixture
def https_app(app_config):
    app = create_app({**app_config, "BASE_URL": "https://records.example.test"})
    yield app
    app.extensions["db_engine"].dispose()


def _cookies(response) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def test_the_session_and_draft_cookies_are_host_prefixed_over_https(https_app):
    client = https_app.test_client()
    begin = client.post("/request/begin", data={"action": "new"},
                        base_url="https://records.example.test")
    cookies = _cookies(begin)
    assert cookies, "the wizard sets its draft cookie"
    for cookie in cookies:
        name = cookie.split("=", 1)[0]
        assert name.startswith("__Host-"), cookie
        assert "Secure" in cookie and "Path=/" in cookie and "Domain=" not in cookie
    # The draft is found again by its prefixed cookie.
    assert client.get(begin.headers["Location"],
                      base_url="https://records.example.test").status_code == 200


def test_plain_http_development_keeps_unprefixed_names(app):
    assert app.config["SESSION_COOKIE_NAME"] == "portal_session"
    assert app.config["COOKIE_PREFIX"] == ""
