"""The clerk's queue page and search at 100,000 requests, next to the same pages at 1,000.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/bench_queue.py [--quick] [--sizes 1000,100000]
       [--pg postgresql+psycopg://postgres@127.0.0.1:5432/bench] [--no-pg] [--no-match]

For each database (a temporary SQLite file; PostgreSQL's `bench` database when it answers, its
tables dropped and recreated, never `test`) and each size, the database is filled with that many
requests (one in twenty open, received over the last 30 days; the rest closed over four
years) and five audit events per request, then the app is served by gunicorn (4 worker
processes, as in production) and real HTTP clients measure, with 1 and 4 concurrent clients:
  - the queue page (GET /staff/queue: open requests by working due date, counts at the top),
  - the search (POST /staff/queue/search for a common surname, across all requests).
Each page view writes its audit event, as in production. Printed: p50 and p95 per page, the
100,000 figure next to the 1,000 one (target: p95 under 100 ms and within 2x), and the
peak RSS of a server worker.
On PostgreSQL, then, the same at 1,000,000 requests (filled with COPY in under 10 minutes;
the disk it needs is printed, and the run skipped when under twice that is free; --no-million).
Then the roster match (run_roster_match: blocking-key lookup, scoring, storing, audit) is
timed against a 100,000-patient roster imported by the roster import (target: p95 under 50 ms).
"""

from __future__ import annotations

import argparse
import http.client
import importlib.util
import json
import logging
import os
import random
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

from pg_database import ensure_pg_database, fresh_schema, refuse_shared

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.ports import free_port  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
SECRET = "benchmark-secret-key-that-is-long-enough-0123456789"
EVENTS_PER_REQUEST = 5
FILL_CHUNK = 50_000
MILLION = 1_000_000


def app_config(url: str, instance: Path) -> dict:
    from portal.core.keys import ensure_keys

    ensure_keys(instance / "keys")
    return {
        "ENV": "testing", "TESTING": False, "SECRET_KEY": SECRET, "DATABASE_URL": url,
        "KEY_DIR": str(instance / "keys"), "STORAGE_DIR": str(instance / "files"),
        "OUTBOX_DIR": str(instance / "outbox"), "BASE_URL": "http://127.0.0.1",
        "TRUSTED_HOSTS": ["127.0.0.1"], "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
        # The pages measured write no job; production's web processes run none (workers do).
        "JOBS_MODE": "inline",
        "CUSTODIAN_ADDRESS": "PO Box 0000\nLos Angeles, CA 90000",
        "CUSTODIAN_PHONE": "(555) 010-0000", "CUSTODIAN_EMAIL": "records@example.invalid",
    }


def load_generator():
    path = ROOT / "tests" / "data" / "make_roster_match_pairs.py"
    spec = importlib.util.spec_from_file_location("make_roster_match_pairs", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- Filling ----------------------------------------------------------------------------


def reset_schema(engine) -> None:
    fresh_schema(engine)


def bulk_insert(engine, table, rows: list[dict]) -> None:
    """COPY on PostgreSQL, executemany on SQLite (the fill is not what is measured)."""
    if not rows:
        return
    columns = list(rows[0])
    if engine.dialect.name == "postgresql":
        raw = engine.raw_connection()
        try:
            with raw.cursor() as cursor, cursor.copy(
                    f"COPY {table.name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row([json.dumps(v) if isinstance(v, dict) else v
                                    for v in row.values()])
            raw.commit()
        finally:
            raw.close()
        return
    with engine.begin() as conn:
        for start in range(0, len(rows), 20_000):
            conn.execute(table.insert(), rows[start:start + 20_000])


def fill(engine, size: int) -> dict:
    """Staff, requesters, `size` requests with search tokens, and their audit events."""
    from portal.accounts.models import Requester, StaffRole, StaffUser
    from portal.queue.models import RequestSearchToken, search_tokens
    from portal.requests.models import RecordRequest
    from portal.requests.operations import normalize_for_search
    from portal.rules.deadlines import compute_clocks, pacific_date
    from portal.trail.chain import GENESIS_HASH, canonical_form, chain_hash
    from portal.trail.models import AuditEvent

    generator = load_generator()
    rng = random.Random(size)
    now = datetime.now(UTC)
    staff = [{"id": n, "email": f"clerk{n}@bench.test", "display_name": f"Clerk {n}",
              "is_active": True, "is_licensed_reviewer": False, "failed_sign_ins": 0,
              "created_at": now} for n in range(1, 7)]
    bulk_insert(engine, StaffUser.__table__, staff)
    bulk_insert(engine, StaffRole.__table__, [
        {"staff_id": n, "role": "supervisor" if n == 1 else "clerk"} for n in range(1, 7)])
    requesters, requests, tokens, events = [], [], [], []
    sample: list[dict] = []  # the first requests, to pick a common surname from
    statuses = ("identity_review", "awaiting_requester", "requester_verified",
                "patient_located", "in_fulfilment")
    prev = GENESIS_HASH
    actions = ("request.submitted", "request.confirm_email", "request.verify_requester",
               "request.locate_patient", "request.viewed")
    event_id = token_id = 0
    for number in range(1, size + 1):
        person = generator.fictional_person(rng, number)
        open_request = number % 20 == 0
        age = rng.uniform(0, 30) if open_request else rng.uniform(30, 1460)
        received_at = now - timedelta(days=age)
        clocks = compute_clocks("copies", received_at)
        names = normalize_for_search(person.first_name, person.last_name, *person.other_names)
        email = f"requester{number}@bench.test"
        requesters.append({"id": number, "email": email, "created_at": received_at})
        request = {
            "id": number, "reference": f"CPP-{clocks.received.year}-{number:05d}",
            "kind": "copies", "status": rng.choice(statuses) if open_request else "closed",
            "is_open": open_request, "version": 1, "requester_id": number,
            "requester_type": "patient", "patient_first_name": person.first_name,
            "patient_last_name": person.last_name, "patient_dob": person.dob,
            "search_names": names, "contact_email": email, "recipient_type": "patient",
            "delivery": "download", "received_via": "web", "received_at": received_at,
            "received_on": pacific_date(received_at),
            "california_due_on": clocks.california_due, "hipaa_due_on": clocks.hipaa_due,
            "working_due_on": clocks.working_due, "fee_estimate_cents": 0,
            "fee_waived": False, "assignee_id": rng.choice((None, 2, 3, 4, 5, 6)),
            "created_at": received_at, "updated_at": received_at,
        }
        requests.append(request)
        if len(sample) < 2000:
            sample.append(request)
        for token in search_tokens(names):
            token_id += 1
            tokens.append({"id": token_id, "request_id": number, "token": token})
        for offset, action in enumerate(actions[:EVENTS_PER_REQUEST]):
            event_id += 1
            event = {
                "id": event_id, "occurred_at": received_at + timedelta(hours=offset),
                "actor_type": "staff", "actor_id": 2, "action": action,
                "object_type": "request", "object_id": number,
                "request_id": number, "client_ip": None, "summary": {"n": offset},
            }
            event["prev_hash"] = prev
            event["hash"] = prev = chain_hash(prev, canonical_form(event))
            events.append(event)
        if len(requests) >= FILL_CHUNK or number == size:  # the filler's memory stays bounded
            bulk_insert(engine, Requester.__table__, requesters)
            bulk_insert(engine, RecordRequest.__table__, requests)
            bulk_insert(engine, RequestSearchToken.__table__, tokens)
            bulk_insert(engine, AuditEvent.__table__, events)
            requesters, requests, tokens, events = [], [], [], []
    if engine.dialect.name == "postgresql":
        from sqlalchemy import text

        with engine.begin() as conn:
            for table in ("staff_user", "requester", "record_request", "request_search_token"):
                conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                  f"(SELECT max(id) FROM {table}))"))
        # A settled database, as autovacuum keeps it; not a fill still being vacuumed.
        raw = engine.raw_connection()
        try:
            raw.driver_connection.autocommit = True
            raw.driver_connection.execute("VACUUM ANALYZE")
        finally:
            raw.driver_connection.autocommit = False
            raw.close()
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    surnames = [r["patient_last_name"].split()[0] for r in sample]
    surname = max(surnames, key=surnames.count)
    return {"surname": surname, "events": event_id, "open": size // 20}


def session_cookie(app, engine) -> str:
    """A signed-in supervisor who passed MFA: the cookie a browser would hold."""
    from sqlalchemy.orm import Session

    from portal.accounts.models import AuthSession
    from portal.core.tokens import new_token, token_hash

    token = new_token()
    with Session(engine) as session:
        session.add(AuthSession(token_hash=token_hash(token), kind="staff", staff_id=1,
                                mfa_passed=True))
        session.commit()
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer.dumps({"_user_id": f"staff:{token}", "_fresh": True})


# --- Serving and measuring --------------------------------------------------------------


def bench_app():
    """The app gunicorn serves (its settings come from the benchmark's environment)."""
    logging.disable(logging.INFO)
    from portal import create_app

    return create_app(app_config(os.environ["BENCH_DB_URL"], Path(os.environ["BENCH_INSTANCE"])))


def start_server(url: str, port: int, instance: Path) -> subprocess.Popen:
    """gunicorn as production runs it: 4 worker processes, one request at a time each."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "BENCH_DB_URL": url,
           "BENCH_INSTANCE": str(instance)}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("gunicorn")), "-w", "4", "--threads", "1",
         "-b", f"127.0.0.1:{port}", "--chdir", str(ROOT / "benchmarks"), "--log-level",
         "warning", "bench_queue:bench_app()"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise RuntimeError("the benchmark server did not start")


def measure(port: int, cookie: str, make_request, clients: int, per_client: int) -> list[float]:
    """Latencies (ms) of `per_client` requests from each of `clients` concurrent clients."""
    durations: list[float] = []
    lock = threading.Lock()
    failures: list[str] = []

    def client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine = []
        for _ in range(per_client):
            method, path, body = make_request()
            headers = {"Cookie": f"portal_session={cookie}"}
            if body is not None:
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            started = time.perf_counter()
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - started) * 1000)
            if response.status != 200:
                failures.append(f"{method} {path}: {response.status}")
        conn.close()
        with lock:
            durations.extend(mine)

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{len(failures)} failed requests, e.g. {failures[0]}")
    return durations


def p50_p95(values: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return statistics.median(values), cuts[94]


def run_pages(url: str, size: int, workdir: Path, per_client: int) -> tuple[dict, float]:
    from portal import create_app
    from portal.core.db import make_engine

    engine = make_engine(url)
    reset_schema(engine)
    started = time.perf_counter()
    info = fill(engine, size)
    fill_seconds = time.perf_counter() - started
    app = create_app(app_config(url, workdir))
    cookie = session_cookie(app, engine)
    engine.dispose()
    app.extensions["db_engine"].dispose()
    port = free_port()
    server = start_server(url, port, workdir)
    try:
        pages = {
            "queue page": lambda: ("GET", "/staff/queue", None),
            "search": lambda: ("POST", "/staff/queue/search",
                               urlencode({"q": info["surname"], "status": "all"})),
        }
        results = {}
        for name, make in pages.items():
            measure(port, cookie, make, 1, 10)  # warm up caches and connections
            for clients in (1, 4):
                results[(name, clients)] = p50_p95(
                    measure(port, cookie, make, clients, per_client // clients))
        rss = _child_rss(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"  {size:>7,} requests ({info['open']:,} open), {info['events']:,} audit events, "
          f"filled in {fill_seconds:.0f} s"
          + (f" ({'OK' if fill_seconds < 600 else 'OVER'}: under 10 min)" if size >= MILLION
             else "") + f"; server worker peak RSS {rss:.0f} MB")
    return results, rss


def _child_rss(pid: int) -> float:
    """The largest peak RSS among the server's worker processes (MB)."""
    peaks = []
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            for line in Path(f"/proc/{child}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peaks.append(int(line.split()[1]) / 1024)
    except OSError:
        pass
    return max(peaks, default=float("nan"))


def run_match(url: str, patients: int, workdir: Path, queries: int) -> tuple[float, float]:
    """p50/p95 of run_roster_match against an imported roster of `patients`."""
    import bench_roster_import
    from sqlalchemy.orm import Session

    from portal import create_app
    from portal.accounts.models import Requester
    from portal.core.actor import SYSTEM
    from portal.core.db import get_session, make_engine
    from portal.requests.location import run_roster_match
    from portal.requests.models import RecordRequest
    from portal.roster.bulk import write_roster
    from portal.roster.candidates import load_candidates
    from portal.roster.parsing import parse_roster
    from portal.rules.deadlines import compute_clocks, pacific_date

    engine = make_engine(url)
    reset_schema(engine)
    csv_path = workdir / "roster.csv"
    bench_roster_import.write_csv(csv_path, patients)
    with Session(engine) as session, csv_path.open("rb") as stream:
        write_roster(session, parse_roster(stream), actor=SYSTEM)
        session.commit()
    generator = load_generator()
    rng = random.Random(7)
    with Session(engine) as session:
        # Requests about people on the roster, as they were imported (four in five).
        roster = load_candidates(session, rng.sample(range(1, patients + 1), queries))
    now = datetime.now(UTC)
    rows, requesters = [], []
    for number in range(1, queries + 1):
        if number % 5 == 0:
            query = generator.faithful_request(rng, generator.fictional_person(rng, 0))
        else:
            query = generator.faithful_request(rng, rng.choice(roster))
        clocks = compute_clocks("copies", now)
        requesters.append({"id": number, "email": f"m{number}@bench.test", "created_at": now})
        rows.append({
            "id": number, "reference": f"CPP-2026-M{number:05d}", "kind": "copies",
            "status": "identity_review", "is_open": True, "version": 1, "requester_id": number,
            "requester_type": "patient", "patient_first_name": query.first_name,
            "patient_last_name": query.last_name,
            "patient_other_names": "\n".join(query.other_names) or None,
            "patient_dob": query.dob, "patient_ssn_last4": query.ssn_last4,
            "stay_from": query.stay_from, "stay_to": query.stay_to, "program": query.program,
            "search_names": "", "contact_email": f"m{number}@bench.test",
            "recipient_type": "patient", "delivery": "download", "received_via": "web",
            "received_at": now, "received_on": pacific_date(now),
            "california_due_on": clocks.california_due, "hipaa_due_on": clocks.hipaa_due,
            "working_due_on": clocks.working_due, "fee_estimate_cents": 0, "fee_waived": False,
            "created_at": now, "updated_at": now,
        })
    bulk_insert(engine, Requester.__table__, requesters)
    bulk_insert(engine, RecordRequest.__table__, rows)
    with engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
    engine.dispose()
    app = create_app(app_config(url, workdir))
    durations = []
    with app.app_context():
        from portal.core.db import commit

        for number in range(1, queries + 1):
            started = time.perf_counter()
            run_roster_match(get_session(), number)
            commit()
            durations.append((time.perf_counter() - started) * 1000)
    app.extensions["db_engine"].dispose()
    return p50_p95(durations[5:])


def report_pages(label: str, sizes: list[int], results: dict) -> None:
    small, large = sizes[0], sizes[-1]
    for page in ("queue page", "search"):
        for clients in (1, 4):
            s50, s95 = results[small][(page, clients)]
            l50, l95 = results[large][(page, clients)]
            ratio = l95 / s95
            verdict = "OK" if l95 < 100 and ratio <= 2 else "OVER"
            print(f"{label:<10} {page:<10} {clients} client{'s' if clients > 1 else ' '} | "
                  f"{small:>7,}: p50 {s50:6.1f} p95 {s95:6.1f} ms | {large:>7,}: p50 {l50:6.1f} "
                  f"p95 {l95:6.1f} ms | {ratio:4.1f}x {verdict} (p95 < 100 ms, <= 2x)")


def million(url: str, filled: int, workdir: Path, per_client: int) -> None:
    """PostgreSQL at 1,000,000 requests (and 5,000,000 events), filled with COPY: the disk it
    needs is extrapolated from the database as the last size left it; skipped with a message
    when the free space is under twice that."""
    import shutil

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        used = conn.scalar(text("SELECT pg_database_size(current_database())"))
        data_dir = conn.scalar(text("SHOW data_directory"))
    engine.dispose()
    needed = used * MILLION // filled
    try:
        free = shutil.disk_usage(data_dir).free
    except OSError:
        free = shutil.disk_usage("/").free
    print(f"PostgreSQL at {MILLION:,} requests needs about {needed / 1e9:.1f} GB "
          f"({used / 1e9:.2f} GB at {filled:,}); {free / 1e9:.0f} GB free")
    if free < 2 * needed:
        print(f"  skipped: less than twice that is free ({free / 1e9:.1f} GB)")
        return
    started = time.perf_counter()
    results, _rss = run_pages(url, MILLION, workdir, per_client)
    total = time.perf_counter() - started
    for page in ("queue page", "search"):
        p50, p95 = results[(page, 4)]
        print(f"PostgreSQL {page:<10} 4 clients | {MILLION:,}: p50 {p50:6.1f} p95 {p95:6.1f} ms "
              f"{'OK' if p95 < 100 else 'OVER'} (p95 < 100 ms)")
    print(f"  the million-request run took {total / 60:.1f} min in all")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000")
    parser.add_argument("--quick", action="store_true", help="1,000 vs 10,000; fewer requests")
    parser.add_argument("--pg", default=os.environ.get("BENCH_PG_URL", DEFAULT_PG))
    parser.add_argument("--no-pg", action="store_true")
    parser.add_argument("--no-match", action="store_true")
    parser.add_argument("--no-million", action="store_true",
                        help="skip the 1,000,000-request fill on PostgreSQL")
    args = parser.parse_args()
    logging.disable(logging.INFO)
    refuse_shared(args.pg)
    sizes = [1000, 10_000] if args.quick else [int(s) for s in args.sizes.split(",")]
    per_client = 40 if args.quick else 200
    patients, queries = (10_000, 100) if args.quick else (100_000, 300)
    sys.path.insert(0, str(ROOT / "benchmarks"))
    databases = [("SQLite", None)]
    if not args.no_pg and ensure_pg_database(args.pg):
        databases.append(("PostgreSQL", args.pg))
    elif not args.no_pg:
        print(f"PostgreSQL: {args.pg} does not answer; skipped")
    for label, url in databases:
        with tempfile.TemporaryDirectory(prefix="bench-queue-") as tmp:
            workdir = Path(tmp)
            db_url = url or f"sqlite:///{workdir / 'bench.sqlite3'}"
            print(f"{label}:")
            results = {}
            for size in sizes:
                if url is None:
                    Path(workdir / "bench.sqlite3").unlink(missing_ok=True)
                results[size], _rss = run_pages(db_url, size, workdir, per_client)
            report_pages(label, sizes, results)
            if url is not None and not args.no_million and not args.quick:
                million(url, sizes[-1], workdir, per_client)
            if not args.no_match:
                if url is None:
                    db_url = f"sqlite:///{workdir / 'match.sqlite3'}"
                p50, p95 = run_match(db_url, patients, workdir, queries)
                print(f"{label:<10} roster match, {patients:,} patients, {queries} requests: "
                      f"p50 {p50:5.1f} ms p95 {p95:5.1f} ms "
                      f"{'OK' if p95 < 50 else 'OVER'} (target p95 < 50 ms)")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"benchmark process peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
