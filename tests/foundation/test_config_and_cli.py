"""Configuration layering, the production safety checks, error pages, and the core CLI."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal import create_app
from portal.requests.models import RecordRequest
from portal.rules import lifecycle


def test_production_refuses_to_start_without_a_secret_key(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="secret key"):
        create_app({"ENV": "production", "KEY_DIR": str(tmp_path / "no-keys")})


def test_environment_overrides_instance_settings(app_config, monkeypatch):
    monkeypatch.setenv("PORTAL_BASE_URL", "https://records.example.org")
    monkeypatch.setenv("PORTAL_STAFF_IDLE_TIMEOUT_MINUTES", "10")
    app_config.pop("BASE_URL")
    app = create_app(app_config)
    assert app.config["BASE_URL"] == "https://records.example.org"
    assert app.config["STAFF_IDLE_TIMEOUT_MINUTES"] == 10
    assert app.config["SESSION_COOKIE_SECURE"] is True
    app.extensions["db_engine"].dispose()


def test_a_foreign_host_header_is_refused(app_config):
    app_config.update(TESTING=False, ENV="development", TRUSTED_HOSTS=None)
    app = create_app(app_config)
    response = app.test_client().get("/", headers={"Host": "evil.example"})
    assert response.status_code == 400
    app.extensions["db_engine"].dispose()


def test_unknown_page_gets_the_custom_404_that_names_nothing(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert "Page not found" in response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"


def test_demo_data_fills_requests_in_many_states(runner, app):
    result = runner.invoke(args=["demo-data", "--patients", "12"])
    assert result.exit_code == 0, result.output
    from portal.core.db import get_session

    with app.app_context():
        statuses = set(get_session().scalars(select(RecordRequest.status)))
        count = get_session().scalar(select(func.count()).select_from(RecordRequest))
    assert {lifecycle.SUBMITTED, lifecycle.AWAITING_REQUESTER, lifecycle.CLOSED} <= statuses
    assert count >= 20


def test_demo_data_releases_records_with_a_denial_and_a_disclosure(runner, app):
    from portal.core.db import get_session
    from portal.release.models import Disclosure, Release
    from portal.requests.models import RequestPart
    from portal.storage.models import StoredDocument

    result = runner.invoke(args=["demo-data", "--patients", "12"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        session = get_session()
        packet_pages = session.scalars(select(StoredDocument.page_count).join(
            Release, Release.packet_document_id == StoredDocument.id)).all()
        denied = session.scalar(select(func.count()).select_from(RequestPart)
                                .where(RequestPart.outcome == "denied"))
        recipients = session.scalars(select(Disclosure.recipient_name)).all()
    assert len(packet_pages) == 3 and all(pages >= 2 for pages in packet_pages)
    assert denied >= 1
    assert recipients == ["Demo Law Office"]


def test_demo_data_run_twice_says_it_is_already_there(runner, app):
    from portal.core.db import get_session

    assert runner.invoke(args=["demo-data", "--patients", "12"]).exit_code == 0
    with app.app_context():
        before = get_session().scalar(select(func.count()).select_from(RecordRequest))
    again = runner.invoke(args=["demo-data", "--patients", "12"])
    assert again.exit_code == 0, again.output
    assert "already there" in again.output and "Traceback" not in again.output
    with app.app_context():
        assert get_session().scalar(select(func.count()).select_from(RecordRequest)) == before


def test_demo_data_refuses_to_run_in_production(app_config):
    app_config.update(ENV="production", TESTING=False)
    app = create_app(app_config)
    result = app.test_cli_runner().invoke(args=["demo-data"])
    assert result.exit_code != 0
    assert "never in production" in result.output
    app.extensions["db_engine"].dispose()


def test_init_instance_creates_private_keys(runner, app, tmp_path):
    app.config["KEY_DIR"] = str(tmp_path / "fresh-keys")
    result = runner.invoke(args=["init-instance"])
    assert result.exit_code == 0, result.output
    for key in (tmp_path / "fresh-keys").iterdir():
        assert key.stat().st_mode & 0o777 == 0o600


def test_a_fresh_instance_is_prepared_before_the_app_can_start(tmp_path, monkeypatch):
    from portal import init_instance

    for name in ("PORTAL_ENV", "PORTAL_SECRET_KEY", "PORTAL_KEY_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("PORTAL_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    with pytest.raises(RuntimeError, match="init_instance"):
        create_app()
    init_instance.main(["--development", "--port", "5123"])
    app = create_app()
    assert app.config["ENV"] == "development"
    assert app.config["BASE_URL"] == "http://127.0.0.1:5123"
    assert len(app.config["SECRET_KEY"]) >= 32
    assert {p.name for p in (tmp_path / "keys").iterdir()} >= {"secret_key", "file_store.key"}
    app.extensions["db_engine"].dispose()
