"""Every route, as every role, as an anonymous visitor, and as a stranger to the object.

A route missing from the registries (tests/access/registry_*.py) fails the test, so a route
added later cannot escape the access check. Allowed means the response is not a refusal;
refused means 403, 404 (a stranger must not learn the object exists) or a redirect to sign-in.
"""

from __future__ import annotations

import importlib
import pkgutil
from urllib.parse import urlsplit

import pytest
from flask import url_for

import tests.access as access_pkg
from tests.access.scenario import PRINCIPALS, STAFF_ROLES, Route, Scenario
from tests.factories import make_patient, make_request, make_requester, make_staff

SIGN_IN_PATHS = ("/staff/sign-in", "/staff/mfa", "/staff/reauthenticate", "/sign-in")


def load_registry() -> dict[str, Route]:
    """Merge every registry_<area>.py module's ROUTES."""
    routes: dict[str, Route] = {}
    for info in pkgutil.iter_modules(access_pkg.__path__):
        if info.name.startswith("registry_"):
            module = importlib.import_module(f"tests.access.{info.name}")
            overlap = routes.keys() & module.ROUTES.keys()
            assert not overlap, f"endpoints registered twice: {sorted(overlap)}"
            routes.update(module.ROUTES)
    return routes


def load_hooks():
    """Area hooks that add objects to the scenario (e.g. a release and a download grant)."""
    hooks = []
    for info in pkgutil.iter_modules(access_pkg.__path__):
        if info.name.startswith("registry_"):
            module = importlib.import_module(f"tests.access.{info.name}")
            if hasattr(module, "build"):
                hooks.append(module.build)
    return hooks


@pytest.fixture
def scenario(db) -> Scenario:
    from portal.core.db import commit

    staff = {role: make_staff(db, role) for role in STAFF_ROLES}
    staff["licensed_clerk"] = make_staff(db, "clerk", licensed=True)
    owner = make_requester(db)
    stranger = make_requester(db)
    patient = make_patient(db)
    scenario = Scenario(
        staff=staff, owner=owner, stranger=stranger,
        request=make_request(db, owner), stranger_request=make_request(db, stranger),
        patient=patient,
    )
    for hook in load_hooks():
        hook(db, scenario)
    commit()
    return scenario


def test_every_route_is_registered(app):
    registry = load_registry()
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    missing = sorted(endpoints - registry.keys())
    assert not missing, f"add these endpoints to a tests/access/registry_*.py: {missing}"
    stale = sorted(registry.keys() - endpoints)
    assert not stale, f"registered endpoints that no longer exist: {stale}"


def test_every_view_declares_its_access_policy(app):
    for endpoint, view in app.view_functions.items():
        if endpoint == "static":
            continue
        assert hasattr(view, "access_policy"), f"{endpoint} has no access decorator"


def _refused(response) -> bool:
    if response.status_code in (401, 403, 404):
        return True
    if response.status_code in (301, 302, 303, 307, 308):
        return urlsplit(response.headers["Location"]).path in SIGN_IN_PATHS
    return False


def _sign_in(auth, scenario: Scenario, principal: str) -> None:
    if principal == "anonymous":
        return
    if principal in scenario.staff:
        auth.staff(scenario.staff[principal].id)
    else:
        auth.requester((scenario.owner if principal == "owner" else scenario.stranger).id)


@pytest.mark.parametrize("principal", PRINCIPALS)
def test_each_route_admits_exactly_the_allowed_principals(app, client, auth, scenario, principal):
    registry = load_registry()
    _sign_in(auth, scenario, principal)
    failures = []
    # Signing out ends the session the rest of the walk depends on: check those routes last.
    rules = sorted(app.url_map.iter_rules(), key=lambda r: r.endpoint.endswith("sign_out"))
    for rule in rules:
        route = registry.get(rule.endpoint)
        if route is None:
            continue  # reported by test_every_route_is_registered
        methods = route.methods or tuple(sorted(rule.methods - {"HEAD", "OPTIONS"}))
        with app.test_request_context():
            url = url_for(rule.endpoint, **route.kwargs(scenario))
        for method in methods:
            data = route.data(scenario) if route.data else {}
            response = client.open(url, method=method, data=data)
            refused = _refused(response)
            should_allow = principal in route.allowed
            if should_allow == refused:
                expected = "allowed" if should_allow else "refused"
                failures.append(f"{method} {rule.endpoint} as {principal}: expected {expected}, "
                                f"got {response.status_code}")
    assert not failures, "\n".join(failures)


def test_every_post_route_refuses_a_missing_or_forged_csrf_token(app, client, auth, scenario):
    """CSRF on every form: each route that takes a POST, as a principal it admits, answers 400
    to a POST without a token and to one with a forged token, and changes nothing."""
    from portal.trail.models import AuditEvent

    registry = load_registry()
    app.config["WTF_CSRF_ENABLED"] = True
    failures = []
    posts = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]
    assert posts
    for rule in posts:
        route = registry[rule.endpoint]
        if not route.allowed:
            continue
        # Staff roles first: a requester or visitor route is then tried as the owner/anonymous.
        principal = sorted(route.allowed, key=lambda p: (p not in scenario.staff, p))[0]
        client.delete_cookie("portal_session")
        _sign_in(auth, scenario, principal)
        with app.test_request_context():
            url = url_for(rule.endpoint, **route.kwargs(scenario))
        for token in (None, "forged-token"):
            data = route.data(scenario) if route.data else {}
            if token:
                data = {**data, "csrf_token": token}
            with app.app_context():
                from portal.core.db import get_session

                before = get_session().query(AuditEvent).count()
            response = client.post(url, data=data)
            with app.app_context():
                from portal.core.db import get_session

                after = get_session().query(AuditEvent).count()
            if response.status_code != 400 or after != before:
                failures.append(f"POST {rule.endpoint} as {principal} with token {token!r}: "
                                f"{response.status_code}, {after - before} event(s) written")
    assert not failures, "\n".join(failures)
