"""Audit-trail CSV export: HTTP endpoint and CLI against sqlite3 -csv and psql \\copy.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/bench_audit_export.py [--events N] [--quick]
       [--no-postgres] [--pg-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_audit]

Generates N properly chained audit events (default 1,000,000; --quick 100,000) in a dedicated
SQLite file and a dedicated PostgreSQL database (never the test database), then exports the
same twelve columns as CSV four ways, in one run, on the same machine:

  reference   `sqlite3 -csv DB "select ..."`   /   `psql -c "\\copy (select ...) to stdout csv"`
  HTTP        GET /audit/trail/export.csv from the app under gunicorn (one sync worker)
  CLI         `flask --app portal export audit --format csv --out FILE`

then times `flask --app portal audit verify` (the whole chain, against the recorded heads)
next to that CLI export and to `sha256sum` of its file (targets: within 2x of the export,
peak memory under 150 MB).

and prints rows per second, the ratio to the reference (targets: within 3x of sqlite3, within
2x of psql), the server's memory growth over its idle size while streaming, and the CLI's peak
resident memory (target: under 150 MB). The portal's export also neutralises risky cells,
formats timestamps as ISO 8601, hashes the bytes and signs a manifest; the references do none
of that.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pg_database import ensure_pg_database, fresh_schema  # noqa: E402

from portal.trail.chain import GENESIS_HASH, canonical_form, chain_hash  # noqa: E402
from tests.ports import free_port  # noqa: E402

COLUMNS = ("id, occurred_at, actor_type, actor_id, action, object_type, object_id, request_id, "
           "client_ip, prev_hash, hash, summary")
ACTIONS = ("request.viewed", "document.downloaded", "request.verify_requester", "queue.viewed",
           "message.sent", "request.locate_patient")
SECRET = "benchmark-secret-key-that-is-long-enough-0123456789"
MiB = 1024 * 1024


# ---------------------------------------------------------------- data


def events(count: int):
    """Chained events as database rows (the same every run)."""
    prev = GENESIS_HASH
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(1, count + 1):
        moment = start + timedelta(seconds=3 * n, microseconds=n % 999_983)
        summary = {"from": "identity_review", "to": "requester_verified", "part": n % 9}
        fields = {
            "id": n, "occurred_at": moment.isoformat(timespec="microseconds"),
            "actor_type": "staff", "actor_id": n % 17 + 1, "action": ACTIONS[n % len(ACTIONS)],
            "object_type": "request", "object_id": n % 5000 + 1, "request_id": n % 5000 + 1,
            "client_ip": f"10.0.{n % 250}.{n % 200}", "summary": summary,
        }
        digest = chain_hash(prev, canonical_form(fields))
        yield (n, moment, "staff", fields["actor_id"], fields["action"], "request",
               fields["object_id"], fields["request_id"], fields["client_ip"], prev, digest,
               json.dumps(summary))
        prev = digest


def fill_sqlite(path: Path, count: int) -> None:
    import sqlite3

    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("BEGIN")
    connection.executemany(
        f"INSERT INTO audit_event ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        ((r[0], r[1].strftime("%Y-%m-%d %H:%M:%S.%f"), *r[2:]) for r in events(count)))
    connection.execute("COMMIT")
    connection.close()


def fill_postgres(url: str, count: int) -> None:
    import psycopg

    with psycopg.connect(url) as connection, connection.cursor() as cursor:
        with cursor.copy(f"COPY audit_event ({COLUMNS}) FROM STDIN") as copy:
            for row in events(count):
                copy.write_row(row)
        cursor.execute("ANALYZE audit_event")


def prepare(url: str) -> None:
    """A fresh schema in the benchmark's own database."""
    import portal.models  # noqa: F401
    from portal.core.db import make_engine

    engine = make_engine(url)
    fresh_schema(engine)
    engine.dispose()


# ---------------------------------------------------------------- measuring


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def timed_child(command: list[str], *, env: dict, stdout=None) -> tuple[float, int]:
    """Wall time and peak RSS (KiB) of one child process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=stdout or subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, cwd=ROOT)
    _pid, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[0]} failed")
    return elapsed, usage.ru_maxrss


class Server:
    """The portal under gunicorn (one sync worker), as deployed."""

    def __init__(self, env: dict, port: int):
        self.port = port
        self.process = subprocess.Popen(
            [str(ROOT / ".venv/bin/gunicorn"), "--workers", "1", "--timeout", "900",
             "--bind", f"127.0.0.1:{port}", "portal:create_app()"],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    @property
    def worker(self) -> int:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return int(children.read_text().split()[0])

    def get(self, path: str, cookie: str) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=900)
        connection.request("GET", path, headers={"Cookie": cookie})
        return connection.getresponse()

    def wait(self, cookie: str) -> None:
        for _ in range(300):
            try:
                if self.get("/audit/", cookie).status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise SystemExit("the server did not start")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


def sign_in_cookie(app) -> str:
    """An auditor's session cookie, made the way the sign-in pages make one."""
    from portal.accounts.models import StaffRole, StaffUser
    from portal.accounts.sessions import start_session
    from portal.core.db import commit, get_session

    with app.app_context():
        session = get_session()
        staff = StaffUser(email="bench.auditor@example.test", display_name="Bench",
                          roles=[StaffRole(role="auditor")])
        session.add(staff)
        session.flush()
        principal = start_session(session, "staff", staff)
        principal.auth_session.mfa_passed = True
        cookie_id = principal.get_id()
        commit()
    value = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": cookie_id, "_fresh": True})
    return f"{app.config['SESSION_COOKIE_NAME']}={value}"


def http_export(server: Server, cookie: str, out: Path) -> tuple[float, int, int]:
    """Seconds, rows and the worker's RSS growth (KiB) over its idle size."""
    worker = server.worker
    idle = rss_kib(worker)
    peak = [idle]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_kib(worker))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    response = server.get("/audit/trail/export.csv", cookie)
    first_byte = None
    with out.open("wb") as handle:
        while chunk := response.read(MiB):
            first_byte = first_byte or time.perf_counter() - started
            handle.write(chunk)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    export_id = response.getheader("X-Export-Id")
    manifest = json.loads(server.get(f"/audit/exports/{export_id}/manifest", cookie).read())
    print(f"    (first byte after {first_byte * 1000:.0f} ms)")
    return elapsed, manifest["rows"], peak[0] - idle


def row(label: str, seconds: float, rows: int, reference: float | None, memory: str) -> None:
    ratio = f"{seconds / reference:5.2f}x" if reference else "   1x "
    print(f"  {label:<40} {seconds:7.2f} s {rows / seconds:11,.0f} rows/s  {ratio}  {memory}")


# ---------------------------------------------------------------- the run


def run(database: str, url: str, count: int, reference_command: list[str], target: float,
        work: Path) -> None:
    from portal import create_app

    os.environ["PORTAL_INSTANCE_PATH"] = str(work / "instance")
    env = dict(os.environ, PORTAL_DATABASE_URL=url, PORTAL_SECRET_KEY=SECRET,
               PORTAL_KEY_DIR=str(work / "keys"), PORTAL_INSTANCE_PATH=str(work / "instance"),
               PORTAL_AUDIT_HEAD_FILE=str(work / f"heads-{database}.jsonl"),
               PYTHONPATH=str(ROOT))
    port = free_port()
    env["PORTAL_BASE_URL"] = f"http://127.0.0.1:{port}"
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": SECRET, "KEY_DIR": str(work / "keys"),
                      "BASE_URL": env["PORTAL_BASE_URL"]})
    cookie = sign_in_cookie(app)
    app.extensions["db_engine"].dispose()

    print(f"\n{database}: {count:,} audit events, CSV of the same 12 columns")
    with (work / "reference.csv").open("wb") as out:
        seconds, _ = timed_child(reference_command, env=env, stdout=out)
    with (work / "reference.csv").open("rb") as written:
        lines = sum(chunk.count(b"\n") for chunk in iter(lambda: written.read(MiB), b""))
    row(f"reference {reference_command[0]}", seconds, count, None, f"({lines:,} lines)")
    reference = seconds

    server = Server(env, port)
    try:
        server.wait(cookie)
        seconds, rows, growth = http_export(server, cookie, work / "http.csv")
    finally:
        server.stop()
    row("HTTP /audit/trail/export.csv (gunicorn)", seconds, rows, reference,
        f"server +{growth / 1024:.1f} MB over idle")

    flask = [str(ROOT / ".venv/bin/flask"), "--app", "portal"]
    startup, startup_peak = timed_child([*flask, "audit", "--help"], env=env)
    seconds, peak = timed_child([*flask, "export", "audit", "--format", "csv", "--out",
                                 str(work / "cli.csv")], env=env)
    rows = json.loads((work / "cli.csv.manifest.json").read_text())["rows"]
    row("CLI flask export audit", seconds, rows, reference,
        f"peak {peak / 1024:.0f} MB (app alone {startup_peak / 1024:.0f} MB)")
    row("  the same without app start-up", seconds - startup, rows, reference,
        f"(start-up {startup:.2f} s)")
    print(f"  target: within {target:g}x of the reference, memory under 150 MB")
    export_seconds = seconds

    # audit verify walks the whole chain (and checks the export's head): next to the export.
    hashing, _ = timed_child(["sha256sum", str(work / "cli.csv")], env=env)
    row("sha256sum of the CLI export", hashing, rows, export_seconds, "(bytes only)")
    seconds, peak = timed_child([*flask, "audit", "verify"], env=env)
    row("CLI flask audit verify", seconds, count, export_seconds,
        f"peak {peak / 1024:.0f} MB")
    print(f"  target: audit verify within 2x of the CLI export "
          f"({'met' if seconds <= 2 * export_seconds else 'MISSED'}), memory under 150 MB "
          f"({'met' if peak / 1024 < 150 else 'MISSED'}); ratios in this block are to the "
          f"CLI export")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="100,000 events")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                                             "bench_audit")
    args = parser.parse_args()
    count = 100_000 if args.quick else args.events
    work = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        from portal.core.keys import ensure_keys

        ensure_keys(work / "keys")
        select = f"select {COLUMNS} from audit_event order by id"
        sqlite_path = work / "bench.sqlite3"
        url = f"sqlite:///{sqlite_path}"
        prepare(url)
        started = time.perf_counter()
        fill_sqlite(sqlite_path, count)
        print(f"generated {count:,} chained events into SQLite in "
              f"{time.perf_counter() - started:.1f} s")
        run("SQLite", url, count, ["sqlite3", "-csv", str(sqlite_path), select], 3, work)
        if args.no_postgres:
            return
        if not (shutil.which("psql") and ensure_pg_database(args.pg_url)):
            print(f"\nPostgreSQL: {args.pg_url} does not answer (or psql is missing); skipped")
        else:
            prepare(args.pg_url)
            plain = args.pg_url.replace("+psycopg", "")
            started = time.perf_counter()
            fill_postgres(plain, count)
            print(f"\ngenerated {count:,} chained events into PostgreSQL in "
                  f"{time.perf_counter() - started:.1f} s")
            run("PostgreSQL", args.pg_url, count,
                ["psql", plain, "-c", f"\\copy ({select}) to stdout csv"], 2, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
