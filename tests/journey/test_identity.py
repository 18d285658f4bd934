"""Email confirmation, sign-in by emailed link, sign-out, rate limits and the lost-email path."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from portal.accounts.models import AuthSession, Requester
from portal.identity.models import EmailToken
from portal.requests.models import LostEmailReport, Message, ProofingStep, RecordRequest
from tests.factories import make_request, make_requester
from tests.journey.samples import PATIENT_ANSWERS


def _link(mail) -> str:
    return re.search(r"https?://\S+", mail.get_content()).group(0)


def _path(link: str) -> str:
    return "/" + link.split("/", 3)[3]


@pytest.fixture
def submitted(wizard, outbox):
    """A request sent through the wizard; returns the path of its confirmation link."""
    wizard.submit(PATIENT_ANSWERS)
    return _path(_link(outbox()[-1]))


def test_opening_the_confirmation_link_uses_nothing_up(client, submitted, scope):
    """Mail scanners fetch links: only the button (a POST) confirms."""
    for _ in range(2):
        page = client.get(submitted)
        assert page.status_code == 200 and "Confirm my email address" in page.get_data(True)
    with scope() as session:
        assert session.scalar(select(EmailToken.used_at)) is None
        assert session.scalar(select(RecordRequest.status)) == "submitted"


def test_confirming_starts_work_and_records_the_proofing_step_r_id_2(client, submitted, scope):
    """R-ID-2(a), R-DL-3: confirmed by link; the clocks already ran from submission."""
    response = client.post(submitted)
    assert response.headers["Location"].endswith("/confirmed")
    assert "we have started work" in client.get("/confirmed").get_data(True)
    with scope() as session:
        req = session.scalar(select(RecordRequest))
        assert req.status == "identity_review" and req.email_confirmed_at is not None
        assert session.scalar(select(Requester.email_confirmed_at)) is not None
        steps = [(s.evidence, s.result) for s in session.scalars(select(ProofingStep))]
        assert ("email_confirmed", "accepted") in steps


def test_a_confirmation_link_works_only_once(client, submitted):
    client.post(submitted)
    again = client.post(submitted)
    assert again.status_code == 404 and "This link no longer works" in again.get_data(True)


def test_a_confirmation_link_expires_after_24_hours(client, submitted, scope):
    with scope() as session:
        token = session.scalar(select(EmailToken))
        assert timedelta(hours=23, minutes=59) < token.expires_at - token.created_at \
            <= timedelta(hours=24)
        token.expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert client.post(submitted).status_code == 404


def test_only_the_hash_of_an_emailed_token_is_stored(submitted, scope):
    token = submitted.rsplit("/", 1)[-1]
    with scope() as session:
        assert session.scalar(select(EmailToken.token_hash)) != token


@pytest.fixture
def https_base(app_config):
    app_config["BASE_URL"] = "https://records.example.test"
    return app_config


def test_emailed_links_are_built_from_the_base_url_not_the_host_header(https_base, wizard,
                                                                        outbox):
    wizard.client.environ_base["HTTP_HOST"] = "evil.example"
    wizard.submit(PATIENT_ANSWERS)
    assert _link(outbox()[-1]).startswith("https://records.example.test/confirm/")


def test_link_pages_send_no_referrer(client, submitted):
    assert client.get(submitted).headers["Referrer-Policy"] == "no-referrer"


# ------------------------------------------------------------------------ magic-link sign-in


@pytest.fixture
def known(scope):
    with scope() as session:
        requester = make_requester(session, email="known@example.test")
        make_request(session, requester)
    return requester


def _ask(client, email: str, ip: str = "198.51.100.1"):
    return client.post("/sign-in", data={"email": email}, environ_base={"REMOTE_ADDR": ip})


def test_asking_for_a_link_reads_the_same_for_known_and_unknown_addresses_r_id_5(client, known,
                                                                          outbox):
    """R-ID-5: same status, same page, whether or not the address has requests."""
    first = _ask(client, "known@example.test")
    second = _ask(client, "nobody@example.test")
    assert (first.status_code, first.headers["Location"]) == (second.status_code,
                                                              second.headers["Location"])
    page = client.get(first.headers["Location"]).get_data(True)
    assert "If we have a request under that address" in page
    assert [m["To"] for m in outbox()] == ["known@example.test"]


def test_a_sign_in_link_is_single_use_and_valid_for_15_minutes(client, known, outbox, scope):
    _ask(client, "Known@Example.test ")
    link = _path(_link(outbox()[-1]))
    with scope() as session:
        token = session.scalar(select(EmailToken).where(EmailToken.purpose == "sign_in"))
        assert token.expires_at - token.created_at == timedelta(minutes=15)
    assert client.get(link).status_code == 200
    assert client.get("/my-requests").status_code == 302  # opening the link signs nobody in
    response = client.post(link)
    assert response.headers["Location"].endswith("/my-requests")
    assert client.get("/my-requests").status_code == 200
    assert client.post(link).status_code == 404


def test_an_expired_sign_in_link_is_refused(client, known, outbox, scope):
    _ask(client, "known@example.test")
    link = _path(_link(outbox()[-1]))
    with scope() as session:
        session.scalar(select(EmailToken)).expires_at = datetime.now(UTC) - timedelta(seconds=1)
    assert client.post(link).status_code == 404
    assert client.get("/my-requests").status_code == 302


def test_the_sign_in_email_is_neutral(client, known, outbox):
    _ask(client, "known@example.test")
    mail = outbox()[-1]
    assert mail["Subject"] == "Your sign-in link"
    assert "Canyon" not in mail.get_content() and "Avery" not in mail.get_content()


def test_a_malformed_address_is_explained(client):
    response = client.post("/sign-in", data={"email": "not-an-address"})
    assert response.status_code == 422
    assert "Enter an email address like name@example.com." in response.get_data(True)


def test_signing_out_ends_the_session(client, known, auth, scope):
    auth.requester(known.id)
    assert client.get("/my-requests").status_code == 200
    response = client.post("/sign-out")
    assert response.headers["Location"].endswith("/")
    assert client.get("/my-requests").status_code == 302
    with scope() as session:
        assert session.scalar(select(AuthSession.revoked_reason)) == "signed_out"


def test_an_idle_requester_session_times_out(client, known, auth, scope, app):
    auth.requester(known.id)
    idle = app.config["REQUESTER_IDLE_TIMEOUT_MINUTES"]
    with scope() as session:
        session.scalar(select(AuthSession)).last_seen_at = (
            datetime.now(UTC) - timedelta(minutes=idle + 1))
    response = client.get("/my-requests")
    assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")


# ------------------------------------------------------------------------------ rate limits


@pytest.fixture
def limited(app_config):
    app_config.update(RATELIMIT_ENABLED=True, SIGN_IN_LIMIT_PER_ADDRESS="3 per 15 minutes",
                      SIGN_IN_LIMIT_PER_CLIENT="5 per 15 minutes")
    return app_config


@pytest.fixture
def fresh_limits(limited, app):
    from portal.extensions import limiter

    with app.app_context():
        limiter.reset()
    yield
    with app.app_context():
        limiter.reset()


def test_sign_in_requests_are_limited_per_address_across_clients(fresh_limits, client):
    codes = [_ask(client, "someone@example.test", ip=f"198.51.100.{n}").status_code
             for n in range(1, 6)]
    assert codes == [302, 302, 302, 429, 429]


def test_the_address_limit_answers_the_same_for_unknown_and_known_addresses(fresh_limits,
                                                                            client, known):
    for email in ("known@example.test", "nobody@example.test"):
        codes = [_ask(client, email, ip=f"198.51.100.{n}").status_code for n in range(1, 5)]
        assert codes == [302, 302, 302, 429]


def test_sign_in_requests_are_limited_per_client(fresh_limits, client):
    codes = [_ask(client, f"person{n}@example.test").status_code for n in range(6)]
    assert codes == [302] * 5 + [429]


# ------------------------------------------------------------------------------ lost email


def _report(client, reference: str, email: str):
    return client.post("/sign-in/lost-email", data={
        "reference": reference, "full_name": "Avery Quill", "old_email": email,
        "phone": "(555) 010-7777"})


def test_a_lost_email_report_reaches_the_clerk_on_the_matching_request(client, known, scope):
    with scope() as session:
        req = session.scalar(select(RecordRequest))
    response = _report(client, req.reference.lower(), "known@example.test")
    assert response.status_code == 200
    with scope() as session:
        report = session.scalar(select(LostEmailReport))
        assert report.request_id == req.id and report.phone == "(555) 010-7777"
        note = session.scalar(select(Message).where(Message.request_id == req.id))
        assert note.internal and "losing access to their email" in note.body


def test_a_lost_email_report_reads_the_same_whether_or_not_it_matches_r_id_5(client, known, scope):
    """R-ID-5: the answer never says whether the reference exists."""
    with scope() as session:
        reference = session.scalar(select(RecordRequest.reference))
    matched = _report(client, reference, "known@example.test").get_data(True)
    unmatched = _report(client, "CPP-2026-99999", "known@example.test").get_data(True)
    assert matched == unmatched
    with scope() as session:
        assert [r.request_id is None for r in session.scalars(
            select(LostEmailReport).order_by(LostEmailReport.id))] == [False, True]


def test_a_lost_email_report_needs_a_way_to_reach_the_requester(client):
    response = client.post("/sign-in/lost-email", data={
        "reference": "CPP-2026-00001", "full_name": "Avery Quill",
        "old_email": "old@example.test"})
    assert response.status_code == 422
    assert "Give a new email address or a phone number" in response.get_data(True)


def test_the_sign_in_email_is_sent_by_a_background_job_outside_any_request(app, known, outbox):
    """In production the job runs in a worker after the response, with no request."""
    from portal.core.db import commit
    from portal.identity.operations import request_sign_in_link

    with app.app_context():
        request_sign_in_link("known@example.test")
        commit()
    assert [m["To"] for m in outbox()] == ["known@example.test"]


class RecordingDispatcher:
    """Keeps the ids of committed jobs instead of running them, as a separate worker would."""

    def __init__(self) -> None:
        self.job_ids: list[int] = []

    def notify(self, job_ids: list[int]) -> None:
        self.job_ids.extend(job_ids)

    def start(self) -> None:
        pass


def _web_work(app, client, email: str) -> tuple[list[str], list[str]]:
    """The SQL the sign-in answer runs (parameters apart) and the kinds of job it leaves."""
    from sqlalchemy import event

    from portal.jobs.models import Job

    dispatcher = app.extensions["jobs_dispatcher"] = RecordingDispatcher()
    engine = app.extensions["db_engine"]
    statements: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _many):
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        response = client.post("/sign-in", data={"email": email})
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert response.status_code == 302
    with app.app_context():
        from portal.core.db import get_session

        kinds = [get_session().get(Job, job_id).kind for job_id in dispatcher.job_ids]
    return statements, kinds


def test_the_sign_in_answer_does_the_same_work_for_a_known_and_an_unknown_address(app, known):
    """R-ID-5: the web process neither looks the address up nor sends mail; one job does."""
    known_sql, known_jobs = _web_work(app, app.test_client(), "known@example.test")
    unknown_sql, unknown_jobs = _web_work(app, app.test_client(), "nobody@example.test")
    assert known_jobs == unknown_jobs == ["identity.sign_in_link"]
    assert known_sql == unknown_sql
    assert all("FROM requester" not in s and "JOIN requester" not in s for s in known_sql)
