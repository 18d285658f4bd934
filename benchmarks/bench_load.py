"""Load: gunicorn on PostgreSQL with Redis (rate limits, jobs) under locust, next to a bare
Flask app measured the same way in the same run.

Runs, 20 s each after a 5 s ramp:
- hello: the reference, a Flask app answering "hello" on the same gunicorn settings;
- home: the second reference, the portal's own public home page on the same server: what any
  page of the portal costs before its own work (middleware, session, security headers, CSRF
  token, base layout), so the ratio to it measures the page and not the framework;
- status: requesters only, on their request's status page;
- queue: clerks only, on the queue page and request pages;
  these three without pauses between requests, so the server sets the throughput;
- mixed at 16 and at 50 users, pausing 0.5-1.5 s as people do: wizard submitters (2),
  requesters (3), clerks (2).
gunicorn is pinned to CPU 0 and locust to CPU 1 (taskset) when the machine has two; the CPU
each used is read from /proc. The wait for the audit trail's append lock is sampled from
pg_stat_activity (backends waiting on the advisory lock) ten times a second. PDF pages are
not in the load: every PDF the portal makes is rendered by a clerk's action or a download,
measured apart in bench_documents.py.

Targets (issue 13): at 50 users no 5xx or connection errors and at most 1% refused by rate
limits; the status page and the queue at least a third of hello's throughput; p95 under
200 ms at 16 users for every page. The third of hello is printed, and so is the ratio to the
home page, proposed as the fairer reference (the README's "Load" section says why).
"""

from __future__ import annotations

import csv
import json
import os
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from load_plans import PLANS  # noqa: E402

from tests.ports import free_port, wait_for_port  # noqa: E402

BIN = Path(sys.executable).parent
PG_URL = os.environ.get("PORTAL_BENCH_PG_URL",
                        "postgresql+psycopg://postgres@127.0.0.1:5432/portal_bench_load")
SECONDS = int(os.environ.get("LOAD_SECONDS", "20"))
HELLO_APP = '''
from flask import Flask
app = Flask(__name__)

@app.get("/")
def hello():
    return "hello"
'''


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / tick
        except (OSError, IndexError):
            continue
    return total


def tree(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True,
                         check=False).stdout.split()
    return [pid, *[int(p) for p in out]]


def pin(cpu: int) -> list[str]:
    return ["taskset", "-c", str(cpu)] if shutil.which("taskset") and os.cpu_count() >= 2 else []


def prepare(env: dict, root: Path) -> dict:
    """A fresh database with demo data, requesters with sign-in tokens, clerks with MFA."""
    from pg_database import ensure_pg_database
    from sqlalchemy import create_engine, text

    if not ensure_pg_database(PG_URL):
        raise SystemExit("PostgreSQL is not answering: skipped the load benchmark.")
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    subprocess.run([str(BIN / "python"), "-m", "portal.init_instance"], env=env, cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    subprocess.run([str(BIN / "flask"), "--app", "portal", "db", "upgrade"], env=env, cwd=ROOT,
                   check=True, capture_output=True)
    for name, value in env.items():
        if name.startswith("PORTAL_"):
            os.environ[name] = value
    from portal import create_app
    from portal.core.db import commit, get_session
    from portal.core.tokens import new_token, token_hash
    from portal.demo import make_demo_data
    from portal.identity.models import EmailToken
    from portal.requests.models import RecordRequest
    from tests.factories import make_staff_with_mfa

    app = create_app({"ENV": "development"})
    accounts = {"requesters": [], "clerks": []}
    with app.test_request_context():
        session = get_session()
        make_demo_data(session, patients=300)
        requests = list(session.query(RecordRequest).order_by(RecordRequest.id))
        expires = datetime.now(UTC) + timedelta(hours=2)
        for n in range(300):
            req = requests[n % len(requests)]
            token = new_token()
            session.add(EmailToken(purpose="sign_in", token_hash=token_hash(token),
                                   requester_id=req.requester_id, created_at=datetime.now(UTC),
                                   expires_at=expires))
            accounts["requesters"].append({"token": token, "request_id": req.id})
        for n in range(200):
            password = secrets.token_urlsafe(12)
            staff, secret = make_staff_with_mfa(session, "clerk", password=password,
                                                email=f"load.clerk{n}@example.test")
            accounts["clerks"].append({"email": staff.email, "password": password,
                                       "totp": secret,
                                       "request_ids": [r.id for r in requests[:60]]})
        commit()
    app.extensions["db_engine"].dispose()
    path = root / "accounts.json"
    path.write_text(json.dumps(accounts))
    return {"accounts": str(path), "requests": len(requests)}


class LockSampler(threading.Thread):
    """How often backends wait for the audit append's advisory lock."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.samples = self.waiting = self.waiters = 0
        self.stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(PG_URL.replace("+psycopg", ""), autocommit=True) as conn:
            while not self.stop.wait(0.1):
                count = conn.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                    "AND wait_event = 'advisory'").fetchone()[0]
                self.samples += 1
                self.waiters += count
                self.waiting += count > 0


_used: dict = {}


def run_locust(plan: str, users: int, host: str, server_pids: list[int], accounts: str,
               root: Path) -> dict:
    prefix = root / f"{plan}-{users}"
    # Each run signs in with accounts no earlier run used: a sign-in link works once, and an
    # authenticator code once per 30 s.
    every = json.loads(Path(accounts).read_text())
    used = _used.setdefault("n", {"requesters": 0, "clerks": 0})
    mine = {kind: every[kind][used[kind]:used[kind] + users] for kind in used}
    for kind in used:
        used[kind] += users
    accounts = str(prefix) + "-accounts.json"
    Path(accounts).write_text(json.dumps(mine))
    sampler = LockSampler()
    sampler.start()
    server_before = cpu_seconds(server_pids)
    started = time.monotonic()
    locust = subprocess.run(
        [*pin(1), str(BIN / "locust"), "-f", str(ROOT / "benchmarks" / "locustfile.py"),
         "--headless", "-u", str(users), "-r", str(max(users // 5, 1)), "-t", f"{SECONDS + 5}s",
         "--host", host, "--csv", str(prefix), "--only-summary", "--loglevel", "ERROR",
         *PLANS[plan]],
        env={**os.environ, "LOAD_ACCOUNTS": accounts}, cwd=ROOT,
        capture_output=True, text=True, check=False)
    wall = time.monotonic() - started
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust failed: {locust.stderr[-2000:]}")
    sampler.stop.set()
    sampler.join()
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    pages = {}
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            pages[row["Name"]] = {
                "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]), "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0), "p99": float(row["99%"] or 0)}
    errors = {}
    if Path(f"{prefix}_failures.csv").exists():
        with open(f"{prefix}_failures.csv") as handle:
            for row in csv.DictReader(handle):
                errors[f"{row['Name']}: {row['Error'][:80]}"] = int(row["Occurrences"])
    return {"pages": pages, "errors": errors, "wall": wall, "rc": locust.returncode,
            "server_cpu": cpu_seconds(server_pids) - server_before,
            "locust_cpu": children.ru_utime + children.ru_stime,
            "lock_waiting": sampler.waiting / max(sampler.samples, 1),
            "lock_waiters": sampler.waiters / max(sampler.samples, 1)}


def report(label: str, result: dict, reference_rps: float | None = None) -> None:
    print(f"-- {label}: server CPU {result['server_cpu']:.1f} s, audit lock waited in "
          f"{100 * result['lock_waiting']:.1f}% of samples "
          f"(mean {result['lock_waiters']:.2f} backends)")
    print(f"   {'page':28} {'req':>6} {'fail':>5} {'req/s':>7} {'p50':>6} {'p95':>6} {'p99':>6}"
          + ("  vs hello" if reference_rps else ""))
    for name, row in sorted(result["pages"].items()):
        ratio = f"  {row['rps'] / reference_rps:.2f}x" if reference_rps and name != "Aggregated" \
            else ""
        print(f"   {name[:28]:28} {row['requests']:6d} {row['failures']:5d} {row['rps']:7.1f} "
              f"{row['p50']:6.0f} {row['p95']:6.0f} {row['p99']:6.0f}{ratio}")
    for error, count in result["errors"].items():
        print(f"   error x{count}: {error}")


def main() -> int:
    root = Path(tempfile.mkdtemp(prefix="portal-load-"))
    env = {**os.environ, "PORTAL_INSTANCE_PATH": str(root / "instance"),
           "PORTAL_ENV": "production", "PORTAL_SECRET_KEY": secrets.token_hex(32),
           "PORTAL_DATABASE_URL": PG_URL, "PORTAL_PROXY_COUNT": "1",
           "PORTAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/11",
           "PORTAL_JOBS_MODE": "huey", "PORTAL_JOBS_REDIS_URL": "redis://127.0.0.1:6379/11",
           "PORTAL_JOBS_QUEUE_NAME": f"load-{secrets.token_hex(4)}",
           "PORTAL_CUSTODIAN_ADDRESS": "PO Box 0000\nLos Angeles, CA 90000",
           "PORTAL_CUSTODIAN_PHONE": "(555) 010-0000",
           "PORTAL_CUSTODIAN_EMAIL": "records@example.invalid",
           "PORTAL_PASSWORD_HASH_TIME_COST": "1", "PORTAL_PASSWORD_HASH_MEMORY_KIB": "8192"}
    port, hello_port = free_port(), free_port()
    env["PORTAL_BASE_URL"] = f"http://127.0.0.1:{port}"
    print(f"Preparing PostgreSQL ({PG_URL.rsplit('/', 1)[-1]}) with demo data and accounts ...")
    prepared = prepare(env, root)
    (root / "hello_app.py").write_text(HELLO_APP)
    gunicorn = [str(BIN / "gunicorn"), "--workers", "2", "--threads", "4"]
    server = subprocess.Popen([*pin(0), *gunicorn, "--bind", f"127.0.0.1:{port}", "wsgi:app"],
                              env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    worker = subprocess.Popen([str(BIN / "flask"), "--app", "portal", "worker"], env=env,
                              cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    hello = subprocess.Popen([*pin(0), *gunicorn, "--bind", f"127.0.0.1:{hello_port}",
                              "hello_app:app"], cwd=root, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(port)
        wait_for_port(hello_port)
        time.sleep(1)
        pids = tree(server.pid)
        print(f"gunicorn 2 workers x 4 threads{' on CPU 0, locust on CPU 1' if pin(0) else ''}; "
              f"{prepared['requests']} requests in the database; {SECONDS} s per run")
        hello_result = run_locust("hello", 50, f"http://127.0.0.1:{hello_port}",
                                  tree(hello.pid), prepared["accounts"], root)
        reference = hello_result["pages"]["hello"]["rps"]
        report("reference: bare Flask 'hello', 50 users", hello_result)
        home = run_locust("home", 50, f"http://127.0.0.1:{port}", pids, prepared["accounts"],
                          root)
        report("second reference: the portal's home page, 50 users", home, reference)
        floor = home["pages"]["portal home page"]["rps"]
        status = run_locust("status", 50, f"http://127.0.0.1:{port}", pids,
                            prepared["accounts"], root)
        report("requesters only, 50 users", status, reference)
        queue = run_locust("queue", 50, f"http://127.0.0.1:{port}", pids,
                           prepared["accounts"], root)
        report("clerks only, 50 users", queue, reference)
        mixed16 = run_locust("mixed", 16, f"http://127.0.0.1:{port}", pids,
                             prepared["accounts"], root)
        report("mixed, 16 users", mixed16, reference)
        mixed50 = run_locust("mixed", 50, f"http://127.0.0.1:{port}", pids,
                             prepared["accounts"], root)
        report("mixed, 50 users", mixed50, reference)
    finally:
        for process in (server, worker, hello):
            os.killpg(process.pid, signal.SIGTERM)
        for process in (server, worker, hello):
            process.wait(20)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory: this script {peak:.0f} MB")
    status_rps = status["pages"]["requester status page"]["rps"]
    queue_rps = queue["pages"]["clerk queue"]["rps"]
    total50 = mixed50["pages"]["Aggregated"]
    server_errors = sum(count for error, count in mixed50["errors"].items()
                        if "50" in error.split(":", 1)[1][:12] or "Connection" in error)
    refused = sum(count for error, count in mixed50["errors"].items() if "429" in error)
    slow16 = {name: row["p95"] for name, row in mixed16["pages"].items()
              if name != "Aggregated" and row["p95"] >= 200}
    print("targets:")
    print(f"  status page {status_rps:.1f} req/s = {status_rps / reference:.2f}x hello "
          f"(target >= 0.33x); queue {queue_rps:.1f} req/s = {queue_rps / reference:.2f}x")
    print(f"  against the portal's home page ({floor:.1f} req/s = {floor / reference:.2f}x "
          f"hello): status page {status_rps / floor:.2f}x, queue {queue_rps / floor:.2f}x "
          f"(proposed target >= 0.33x)")
    print(f"  mixed at 50 users: {total50['rps']:.1f} req/s, p50 {total50['p50']:.0f} ms; "
          f"5xx/connection errors {server_errors} (target 0); refused by rate limits "
          f"{refused} = {100 * refused / max(total50['requests'], 1):.2f}% (target <= 1%)")
    print("  p95 at 16 users under 200 ms: "
          + ("every page" if not slow16 else f"not for {slow16}"))
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
