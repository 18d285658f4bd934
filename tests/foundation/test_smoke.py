"""The app starts, serves the home page with its security headers, and commits per request."""

from tests.factories import make_request, make_staff


def test_home_page_names_the_closure_and_uses_a_neutral_site_name(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "Woolsey Fire" in body
    assert "Records Custodian" in body


def test_every_page_sends_a_strict_csp_and_no_referrer(client):
    response = client.get("/")
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"


def test_factories_create_a_request_with_both_clocks(db):
    staff = make_staff(db, "clerk")
    req = make_request(db)
    assert staff.id and req.reference.startswith("CPP-")
    assert req.california_due_on < req.hipaa_due_on
