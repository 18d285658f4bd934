"""Does the sign-in answer's time tell whether an address is known? (#14 part 6, R-ID-5)

Usage: PYTHONPATH=. .venv/bin/python benchmarks/bench_sign_in_timing.py [tries]

The portal is served over HTTP by werkzeug's threaded server on SQLite, with the embedded
job runner (JOBS_MODE=thread): the sign-in job, which looks the address up and sends the
mail, runs in the same process as the web answers, the least favourable set-up (a separate
worker takes even that away). Requests for a known address, an unknown one, and a second
unknown one are interleaved in random order, ``tries`` each (600 by default, after a warm-up).

Printed: the median answer time of each, the known-minus-unknown median difference with a
two-sided Mann-Whitney U test's p, and as the reference the same figures for the two unknown
addresses against each other (an A/A test, the noise floor of this machine in this run).
A p well above 0.05 means the answer times do not tell the two apart; the ratio compares the
known/unknown difference with the A/A difference. Peak memory (max RSS) is printed too.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import math
import os
import random
import resource
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlencode

from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from portal import create_app  # noqa: E402
from portal.core.db import Base, commit, get_session  # noqa: E402
from portal.core.keys import ensure_keys  # noqa: E402
from tests.conftest import make_test_config  # noqa: E402
from tests.ports import free_port  # noqa: E402

KNOWN, UNKNOWN, UNKNOWN_TOO = "known@example.test", "nobody@example.test", "noone@example.test"


def mann_whitney_p(a: list[float], b: list[float]) -> float:
    """Two-sided p of the Mann-Whitney U test (normal approximation, ties corrected)."""
    pooled = sorted([(v, 0) for v in a] + [(v, 1) for v in b])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        t = j - i + 1
        ties += t ** 3 - t
        i = j + 1
    n1, n2 = len(a), len(b)
    r1 = sum(rank for rank, (_v, group) in zip(ranks, pooled, strict=True) if group == 0)
    u = r1 - n1 * (n1 + 1) / 2
    n = n1 + n2
    sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1))))
    z = (u - n1 * n2 / 2) / sigma if sigma else 0.0
    return math.erfc(abs(z) / math.sqrt(2))


def serve(tmp: Path):
    ensure_keys(tmp / "keys")
    port = free_port()
    app = create_app(make_test_config(f"sqlite:///{tmp / 'bench.sqlite3'}", tmp,
                                      JOBS_MODE="thread", TESTING=False,
                                      BASE_URL=f"http://127.0.0.1:{port}"))
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    import portal.models  # noqa: F401  (every table)
    from portal.accounts.models import Requester

    Base.metadata.create_all(app.extensions["db_engine"])
    with app.app_context():
        get_session().add(Requester(email=KNOWN))
        commit()
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def ask(port: int, email: str) -> float:
    body = urlencode({"email": email})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.perf_counter()
    connection.request("POST", "/sign-in", body=body,
                       headers={"Content-Type": "application/x-www-form-urlencoded"})
    response = connection.getresponse()
    response.read()
    elapsed = time.perf_counter() - started
    connection.close()
    if response.status != 302:
        raise SystemExit(f"sign-in answered {response.status}")
    return elapsed


def main() -> None:
    tries = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    # The development outbox prints every link; not wanted among the figures.
    with tempfile.TemporaryDirectory() as directory, open(os.devnull, "w") as quiet, \
            contextlib.redirect_stdout(quiet):
        server = serve(Path(directory))
        for _ in range(50):  # warm-up: imports, template cache, connection pool
            ask(server.port, UNKNOWN)
        order = [KNOWN, UNKNOWN, UNKNOWN_TOO] * tries
        random.Random(14).shuffle(order)
        times: dict[str, list[float]] = {KNOWN: [], UNKNOWN: [], UNKNOWN_TOO: []}
        for email in order:
            times[email].append(ask(server.port, email))
            time.sleep(0.002)  # let the job thread run between answers, as on a quiet server
        server.shutdown()
    ms = {email: statistics.median(values) * 1000 for email, values in times.items()}
    difference = ms[KNOWN] - ms[UNKNOWN]
    reference = ms[UNKNOWN_TOO] - ms[UNKNOWN]
    p = mann_whitney_p(times[KNOWN], times[UNKNOWN])
    p_reference = mann_whitney_p(times[UNKNOWN_TOO], times[UNKNOWN])
    print(f"{tries} tries each, interleaved, werkzeug threaded server, JOBS_MODE=thread")
    print(f"median answer: known {ms[KNOWN]:.3f} ms, unknown {ms[UNKNOWN]:.3f} ms, "
          f"second unknown {ms[UNKNOWN_TOO]:.3f} ms")
    print(f"known - unknown:          {difference * 1000:+8.1f} µs   Mann-Whitney p = {p:.3f}")
    print(f"reference (A/A) unknowns: {reference * 1000:+8.1f} µs   Mann-Whitney p = "
          f"{p_reference:.3f}")
    ratio = abs(difference) / abs(reference) if reference else float("inf")
    print(f"|difference| / |A/A difference|: {ratio:.2f}   target: p > 0.05 "
          f"({'met' if p > 0.05 else 'MISSED'})")
    print(f"peak memory (max RSS): "
          f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
