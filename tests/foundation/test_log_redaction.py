"""Logs carry no tokens (#14 part 4, R-SEC-4, R-SEC-5): every route with a token in its path
is requested through the development server and through gunicorn with the README's config
file, and the logs they wrote are searched for the token and for a search term."""

from __future__ import annotations

import http.client
import logging
import os
import secrets
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from portal.core.logredact import is_token_argument, redact
from tests.ports import free_port, wait_for_port

pytestmark = pytest.mark.once

ROOT = Path(__file__).resolve().parents[2]
SEARCH = "Garcia-Lindqvist"


def tokened_paths(app) -> dict[str, str]:
    """Each URL rule with a token argument, filled with a fresh token: {path: token}."""
    paths = {}
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            names = [n for n in rule.arguments if is_token_argument(n)]
            if not names:
                continue
            token = secrets.token_urlsafe(32)
            values = {n: (token if is_token_argument(n) else 1) for n in rule.arguments}
            paths[url_for(rule.endpoint, **values)] = token
    return paths


def test_the_portal_has_tokened_routes_and_each_is_redacted(app):
    paths = tokened_paths(app)
    # Sign-in link, email confirmation, staff setup link, shared download (at least).
    assert len(paths) >= 4
    for path, token in paths.items():
        line = f'127.0.0.1 - - "GET {path}?q={SEARCH}&page=2 HTTP/1.1" 200 -'
        cleaned = redact(line)
        assert token not in cleaned and SEARCH not in cleaned, cleaned
        assert "[token]" in cleaned and "page=[…]" in cleaned


def test_paths_without_tokens_stay_readable(app):
    assert redact("GET /staff/requests/12/documents/3/download HTTP/1.1") == (
        "GET /staff/requests/12/documents/3/download HTTP/1.1")


def test_the_development_server_log_has_no_tokens(app, caplog):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    paths = tokened_paths(app)
    try:
        with caplog.at_level(logging.INFO, logger="werkzeug"):
            for path in paths:
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
                connection.request("GET", f"{path}?q={SEARCH}")
                connection.getresponse().read()
                connection.close()
    finally:
        server.shutdown()
        thread.join(timeout=10)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert logged.count("[token]") >= len(paths)
    assert SEARCH not in logged
    for token in paths.values():
        assert token not in logged


def test_gunicorns_access_and_error_logs_have_no_tokens(app, app_config, tmp_path):
    port = free_port()
    access, errors = tmp_path / "access.log", tmp_path / "error.log"
    env = {**os.environ, "PORTAL_ENV": "testing",
           "PORTAL_DATABASE_URL": app_config["DATABASE_URL"],
           "PORTAL_SECRET_KEY": app_config["SECRET_KEY"],
           "PORTAL_KEY_DIR": app_config["KEY_DIR"],
           "PORTAL_STORAGE_DIR": app_config["STORAGE_DIR"],
           "PORTAL_OUTBOX_DIR": app_config["OUTBOX_DIR"],
           "PORTAL_INSTANCE_PATH": str(tmp_path),
           "PORTAL_BASE_URL": f"http://127.0.0.1:{port}", "PORTAL_JOBS_MODE": "inline"}
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "-c", "gunicorn.conf.py", "--workers", "1",
         "--bind", f"127.0.0.1:{port}", "--access-logfile", str(access),
         "--error-logfile", str(errors), "--log-level", "debug", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    paths = tokened_paths(app)
    try:
        wait_for_port(port, 60)
        for path in paths:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", f"{path}?q={SEARCH}",
                               headers={"Referer": f"http://127.0.0.1:{port}{path}"})
            connection.getresponse().read()
            connection.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    logged = access.read_text() + errors.read_text()
    assert access.read_text().count("[token]") >= len(paths), access.read_text()
    assert SEARCH not in logged
    for token in paths.values():
        assert token not in logged
