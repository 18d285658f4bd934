"""A requester going through the request wizard over real HTTP, as a browser would (CSRF
tokens included): shared by the fault drill and the load test.

Each instance is one visitor with their own cookies; ``forwarded_for`` lets many simulated
visitors arrive through the proxy the portal trusts (PROXY_COUNT=1), each with an address of
their own, so per-client rate limits apply per visitor as in production.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, timedelta

import requests
from PIL import Image

_TOKEN = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
_REFERENCE = re.compile(r"CPP-\d{4}-\d{5,}")


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 140, 160)).save(buffer, "JPEG")
    return buffer.getvalue()


JPEG = _jpeg()


def answers(n: int) -> dict[str, dict]:
    """A patient asking for their own record; ``n`` makes the email address unique."""
    email = f"drill.patient{n}@example.test"
    return {
        "kind": {"kind": "copies"},
        "who": {"requester_type": "patient"},
        "patient": {"first_name": "Avery", "last_name": f"Drill{n}", "other_names": "",
                    "dob": "1980-04-12", "ssn_last4": ""},
        "contact": {"email": email, "email_confirm": email, "phone": "(555) 010-1234",
                    "address_line1": "12 Canyon Road", "address_line2": "",
                    "address_city": "Springfield", "address_state": "CA",
                    "address_postal_code": "90000"},
        "stay": {"stay_from": "2016-03-01", "stay_to": "2016-04-01"},
        "program": {"program": "residential"},
        "records": {"scope": "complete"},
        "record_dates": {},
        "delivery": {"recipient_type": "patient"},
        "method": {"delivery": "download"},
        "purpose": {"purpose": "personal"},
        "consent": {"expires_on": (date.today() + timedelta(days=180)).isoformat(),
                    "consent_name": f"Avery Drill{n}", "agree": "y"},
    }


@dataclass
class Outcome:
    """How a submission ended for the visitor."""

    acknowledged: bool  # the visitor saw the receipt with the reference
    reference: str | None
    email: str
    error: str | None = None


class Visitor:
    def __init__(self, base_url: str, *, forwarded_for: str | None = None,
                 timeout: float = 30) -> None:
        self.base = base_url.rstrip("/")
        self.http = requests.Session()
        self.timeout = timeout
        if forwarded_for:
            self.http.headers["X-Forwarded-For"] = forwarded_for
        self.token: str | None = None
        self.statuses: list[tuple[str, int, float]] = []  # (page, status, seconds)

    def _record(self, name: str, response: requests.Response) -> requests.Response:
        self.statuses.append((name, response.status_code, response.elapsed.total_seconds()))
        return response

    def get(self, path: str, name: str | None = None) -> requests.Response:
        response = self.http.get(self.base + path, timeout=self.timeout, allow_redirects=False)
        match = _TOKEN.search(response.text)
        if match:
            self.token = match.group(1)
        return self._record(name or path, response)

    def post(self, path: str, data: dict, name: str | None = None,
             files: dict | None = None) -> requests.Response:
        if self.token is None:
            self.get("/request")
        form = {**data, "csrf_token": self.token}
        response = self.http.post(self.base + path, data=form, files=files,
                                  timeout=self.timeout, allow_redirects=False)
        return self._record(name or path, response)

    def submit(self, n: int) -> Outcome:
        """The whole wizard, then the receipt page; every step as the browser sends it."""
        return walk_wizard(self.get, self.post, n)


def walk_wizard(get, post, n: int) -> Outcome:
    """Answer every step the wizard asks, in its order, then open the receipt.

    ``get(path, name)`` and ``post(path, data, name, files=None)`` send one request (with the
    visitor's CSRF token) and return a response with ``status_code``, ``headers`` and
    ``text``; ``name`` labels it for the figures. Shared by the drill and the load test."""
    wanted = answers(n)
    email = wanted["contact"]["email"]
    get("/request", "wizard page")
    response = post("/request/begin", {"action": "new"}, "wizard step")
    for _ in range(30):
        if response.status_code != 302:
            return Outcome(False, None, email, f"HTTP {response.status_code}")
        step = response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
        if step == "sent":
            page = get("/request/sent", "receipt")
            found = _REFERENCE.search(page.text or "")
            return Outcome(page.status_code == 200 and bool(found),
                           found.group(0) if found else None, email)
        path = f"/request/step/{step}"
        get(path, "wizard page")
        if step == "documents":
            response = post(path, {"action": "next"}, "wizard upload",
                            files={"photo_id": ("id.jpg", JPEG, "image/jpeg")})
        elif step == "review":
            response = post(path, {"action": "next"}, "wizard step")
        elif step == "sign":
            response = post(path, {"signature_name": f"Avery Drill{n}", "attest": "y",
                                   "action": "next"}, "wizard submit")
        else:
            response = post(path, {**wanted[step], "action": "next"}, "wizard step")
    return Outcome(False, None, email, "the wizard did not end")
