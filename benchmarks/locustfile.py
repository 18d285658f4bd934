"""Load test users for benchmarks/bench_load.py (locust). Not run on its own.

PLANS names the users of each run: "mixed" (wizard submitters, requesters following their
requests, clerks reading the queue and request pages), "status" (requesters only), "queue"
(clerks only), "home" (the portal's own home page: the second reference) or "hello" (the bare
Flask reference). LOAD_ACCOUNTS names a JSON
file the benchmark wrote: requesters' single-use sign-in tokens and clerks' credentials.
Every user arrives with an X-Forwarded-For of its own (the portal trusts one proxy), so the
per-client rate limits apply per user as they would in production.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import sys
import threading
from pathlib import Path

import pyotp
from locust import HttpUser, between, constant, task

sys.path.insert(0, str(Path(__file__).resolve().parent))
from http_wizard import walk_wizard  # noqa: E402

ACCOUNTS = json.loads(Path(os.environ["LOAD_ACCOUNTS"]).read_text()) \
    if os.environ.get("LOAD_ACCOUNTS") else {"requesters": [], "clerks": []}
_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_lock = threading.Lock()
_numbers = itertools.count(1)
_requesters = iter(ACCOUNTS["requesters"])
_clerks = iter(ACCOUNTS["clerks"])


def _next(source):
    with _lock:
        return next(source)


class PortalUser(HttpUser):
    abstract = True
    wait_time = between(0.5, 1.5)

    def on_start(self) -> None:
        n = _next(_numbers)
        self.client.headers["X-Forwarded-For"] = f"10.{n // 250 % 250}.{n % 250}.{n % 7 + 1}"
        self.token = None

    def page(self, path: str, name: str):
        response = self.client.get(path, name=name, allow_redirects=False)
        match = _TOKEN.search(response.text or "")
        if match:
            self.token = match.group(1)
        return response

    def send(self, path: str, data: dict, name: str, files=None):
        return self.client.post(path, data={**data, "csrf_token": self.token}, files=files,
                                name=name, allow_redirects=False)


class WizardUser(PortalUser):
    """A new visitor sending the whole wizard, each time as a new person (own address)."""

    weight = 2

    @task
    def submit(self) -> None:
        self.client.cookies.clear()
        n = _next(_numbers)
        self.client.headers["X-Forwarded-For"] = f"10.200.{n // 250 % 250}.{n % 250 + 1}"
        walk_wizard(self.page, self.send, 100000 + n)


class RequesterUser(PortalUser):
    """A requester signed in by their emailed link, following their request."""

    weight = 3

    def on_start(self) -> None:
        super().on_start()
        account = _next(_requesters)
        self.request_id = account["request_id"]
        link = f"/sign-in/link/{account['token']}"
        self.page(link, "sign-in link")
        self.send(link, {}, "sign-in link")

    @task(3)
    def status(self) -> None:
        self.page(f"/my-requests/{self.request_id}", "requester status page")

    @task(1)
    def list_requests(self) -> None:
        self.page("/my-requests", "requester list")


class ClerkUser(PortalUser):
    """A clerk signed in with password and authenticator, working the queue."""

    weight = 2

    def on_start(self) -> None:
        super().on_start()
        account = _next(_clerks)
        self.request_ids = account["request_ids"]
        self.page("/staff/sign-in", "staff sign-in")
        self.send("/staff/sign-in", {"email": account["email"],
                                     "password": account["password"]}, "staff sign-in")
        self.page("/staff/mfa", "staff sign-in")
        self.send("/staff/mfa", {"code": pyotp.TOTP(account["totp"]).now()}, "staff sign-in")
        self.n = 0

    @task(2)
    def queue(self) -> None:
        self.page("/staff/queue", "clerk queue")

    @task(1)
    def request_page(self) -> None:
        self.n += 1
        request_id = self.request_ids[self.n % len(self.request_ids)]
        self.page(f"/staff/requests/{request_id}", "clerk request page")


class HelloUser(HttpUser):
    """The reference: the same load on a bare Flask app answering 'hello' (no pause, so the
    server, not the users' pauses, sets the throughput)."""

    wait_time = constant(0)

    @task
    def hello(self) -> None:
        self.client.get("/", name="hello")


class HomeOnly(PortalUser):
    """The portal's floor: its public home page (the same server, middleware, session,
    security headers and base layout as every page, no database read), without pauses."""

    weight = 1
    wait_time = constant(0)

    @task
    def home(self) -> None:
        self.page("/", "portal home page")


class StatusOnly(RequesterUser):
    """Requesters only, without pauses: the status page's throughput against hello's."""

    weight = 1
    wait_time = constant(0)


class QueueOnly(ClerkUser):
    """Clerks only, without pauses: the queue's throughput against hello's."""

    weight = 1
    wait_time = constant(0)

