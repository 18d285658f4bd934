"""The fault drill (`make drill`): submissions under kill -9, an SMTP outage and a database
restart, then a count of what was acknowledged, stored, mailed, retried and orphaned.

    python benchmarks/drill.py --database postgresql   # gunicorn workers + huey workers
    python benchmarks/drill.py --database sqlite       # the embedded default, one process

PostgreSQL runs on a throwaway cluster of the drill's own (initdb in a temporary directory, on
a free port), never the shared server the test suite uses. Redis is the machine's (a database
number and queue name of the drill's own). The SMTP server is aiosmtpd writing a Maildir.

It fails (exit status 1) if an acknowledged submission is missing, a stored request is
half-written, a confirmation email owed was never delivered, a roster match never ran, a job
failed for good, more duplicate emails were sent than job workers were killed, or `fsck` finds
an orphaned file.
"""

from __future__ import annotations

import argparse
import contextlib
import glob
import mailbox
import os
import random
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from http_wizard import Visitor  # noqa: E402

from tests.ports import free_port, wait_for_port  # noqa: E402

BIN = Path(sys.executable).parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


class Cluster:
    """A PostgreSQL cluster of the drill's own."""

    def __init__(self, root: Path) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise SystemExit("PostgreSQL's server binaries are not installed (initdb)")
        self.bin = Path(found[-1]).parent
        self.data = root / "pgdata"
        self.socket_dir = root / "pgsocket"
        self.port = free_port()
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        for folder in (self.data, self.socket_dir):
            folder.mkdir()
            if self.as_user:
                shutil.chown(folder, "postgres", "postgres")
        if self.as_user:
            shutil.chown(root, "postgres", "postgres")
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "portal")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/portal"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.data.parent / "pg.log"), "-w",
                  "-o", f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1",
                  "start")

    def restart(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "restart")

    def stop(self) -> None:
        subprocess.run([*self.as_user, str(self.bin / "pg_ctl"), "-D", str(self.data), "-m",
                        "immediate", "stop"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)


class Process:
    """A child process the drill can kill -9 and start again."""

    def __init__(self, name: str, command: list[str], env: dict, logfile: Path) -> None:
        self.name, self.command, self.env, self.logfile = name, command, env, logfile
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        handle = self.logfile.open("ab")
        self.proc = subprocess.Popen(self.command, env=self.env, cwd=ROOT, stdout=handle,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def gunicorn_workers(master: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True,
                         check=False).stdout
    return [int(pid) for pid in out.split()]


def flask(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "flask"), "--app", "portal", *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, check=False)


def restore_drill(env: dict, root: Path, backup: dict, backup_dir: Path,
                  cluster: Cluster | None) -> str:
    """Restore the backup taken under load into a new empty instance; it must pass restore's
    own checks (manifest, digests, audit trail to the recorded head, every file), then
    `audit verify` and `fsck` run on their own."""
    taken = backup.get("result")
    if taken is None or taken.returncode:
        return "FAILED to back up: " + (taken.stderr[-300:] if taken else "did not run")
    target = root / "restored"
    target.mkdir()
    shutil.copytree(root / "instance" / "keys", target / "keys")
    restored_env = {**env, "PORTAL_INSTANCE_PATH": str(target),
                    "PORTAL_STORAGE_DIR": str(target / "files")}
    if cluster:
        cluster._run("createdb", "-h", "127.0.0.1", "-p", str(cluster.port), "-U", "postgres",
                     "restored")
        restored_env["PORTAL_DATABASE_URL"] = cluster.url.rsplit("/", 1)[0] + "/restored"
    else:
        restored_env.pop("PORTAL_DATABASE_URL", None)
    steps = [("restore", str(backup_dir)), ("audit", "verify"), ("fsck", "--grace-minutes", "0")]
    for step in steps:
        result = flask(restored_env, *step)
        if result.returncode:
            return f"FAILED at {' '.join(step[:1])}: {(result.stdout + result.stderr)[-300:]}"
    files = next((line for line in flask(restored_env, "fsck", "--quick").stdout.splitlines()
                  if line.startswith("Documents:")), "")
    return f"OK (restore, audit verify and fsck pass; {files})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql")
    parser.add_argument("--seconds", type=int, default=50, help="how long the load runs")
    parser.add_argument("--users", type=int, default=6, help="visitors submitting at once")
    options = parser.parse_args()
    pg = options.database == "postgresql"
    root = Path(tempfile.mkdtemp(prefix="portal-drill-"))
    os.chmod(root, 0o755)  # noqa: S103 - the cluster's own user must reach its folders
    cluster = Cluster(root) if pg else None
    instance = root / "instance"
    maildir = root / "maildir"
    smtp_port, web_port = free_port(), free_port()
    env = {**os.environ,
           "PORTAL_INSTANCE_PATH": str(instance), "PORTAL_ENV": "production",
           "PORTAL_SECRET_KEY": secrets.token_hex(32),
           "PORTAL_BASE_URL": f"http://127.0.0.1:{web_port}", "PORTAL_PROXY_COUNT": "1",
           "PORTAL_CUSTODIAN_ADDRESS": "PO Box 0000\nLos Angeles, CA 90000",
           "PORTAL_CUSTODIAN_PHONE": "(555) 010-0000",
           "PORTAL_CUSTODIAN_EMAIL": "records@example.invalid",
           "PORTAL_MAIL_BACKEND": "smtp", "PORTAL_MAIL_SMTP_HOST": "127.0.0.1",
           "PORTAL_MAIL_SMTP_PORT": str(smtp_port), "PORTAL_MAIL_SMTP_STARTTLS": "false",
           "PORTAL_MAIL_SMTP_TIMEOUT_SECONDS": "5", "PORTAL_JOBS_LEASE_SECONDS": "15"}
    if pg:
        env.update(PORTAL_DATABASE_URL=cluster.url, PORTAL_JOBS_MODE="huey",
                   PORTAL_JOBS_REDIS_URL="redis://127.0.0.1:6379/12",
                   PORTAL_JOBS_QUEUE_NAME=f"drill-{secrets.token_hex(4)}",
                   PORTAL_RATELIMIT_STORAGE_URI="redis://127.0.0.1:6379/12")
    else:
        env.update(PORTAL_JOBS_MODE="thread")
    subprocess.run([str(BIN / "python"), "-m", "portal.init_instance"], env=env, cwd=ROOT,
                   check=True, stdout=subprocess.DEVNULL)
    upgrade = flask(env, "db", "upgrade")
    if upgrade.returncode:
        raise SystemExit(upgrade.stderr)

    smtp = Process("smtp", [str(BIN / "python"), "-m", "aiosmtpd", "-n", "-l",
                            f"127.0.0.1:{smtp_port}", "-c", "aiosmtpd.handlers.Mailbox",
                            str(maildir)], env, root / "smtp.log")
    workers = 3 if pg else 1
    web = Process("web", [str(BIN / "gunicorn"), "--workers", str(workers), "--threads", "4",
                          "--bind", f"127.0.0.1:{web_port}", "--graceful-timeout", "5",
                          "wsgi:app"], env, root / "web.log")
    job_worker = Process("worker", [str(BIN / "flask"), "--app", "portal", "worker",
                                    "--threads", "2"], env, root / "worker.log")
    smtp.start()
    wait_for_port(smtp_port)
    web.start()
    wait_for_port(web_port)
    if pg:
        job_worker.start()
    log(f"{options.database}: web on :{web_port} ({workers} worker(s)), SMTP on :{smtp_port}"
        + (f", PostgreSQL on :{cluster.port}" if pg else ""))

    outcomes = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    stop = threading.Event()
    counter = iter(range(1, 10**9))

    def visitor_loop(slot: int) -> None:
        while not stop.is_set():
            with lock:
                n = next(counter)
            visitor = Visitor(f"http://127.0.0.1:{web_port}",
                              forwarded_for=f"10.{slot}.{n // 250 % 250}.{n % 250 + 1}")
            try:
                outcome = visitor.submit(n)
            except Exception as exc:  # a reset connection: the visitor is told nothing
                with lock:
                    errors[type(exc).__name__] += 1
                time.sleep(0.5)  # and tries again a moment later, as a person would
                continue
            with lock:
                outcomes.append(outcome)
                if outcome.error:
                    errors[outcome.error] += 1

    threads = [threading.Thread(target=visitor_loop, args=(i,), daemon=True)
               for i in range(options.users)]
    for thread in threads:
        thread.start()
    kills = Counter()
    started = time.monotonic()
    rng = random.Random(13)
    smtp_down_at, smtp_up_at = options.seconds * 0.35, options.seconds * 0.6
    db_restart_at = options.seconds * 0.7
    worker_kill_at = options.seconds * 0.25
    smtp_is_down = False
    restarted_db = worker_killed = False
    backup_dir = root / "backup"
    backup_at = options.seconds * 0.45
    backup: dict = {}

    def take_backup() -> None:
        backup["result"] = flask(env, "backup", str(backup_dir))

    backup_thread = threading.Thread(target=take_backup, daemon=True)
    while (elapsed := time.monotonic() - started) < options.seconds:
        time.sleep(rng.uniform(1.5, 3.0))
        if pg:
            pids = gunicorn_workers(web.proc)
            if pids:
                os.kill(rng.choice(pids), signal.SIGKILL)
                kills["web worker"] += 1
        elif 0.3 * options.seconds < elapsed and not kills["whole server"]:
            web.kill()  # SQLite's one process, its job thread with it
            kills["whole server"] += 1
            time.sleep(1)
            web.start()
            wait_for_port(web_port)
        if pg and elapsed > worker_kill_at and not worker_killed:
            job_worker.kill()
            kills["job worker"] += 1
            worker_killed = True
            time.sleep(2)
            job_worker.start()
        if elapsed > backup_at and backup_thread.ident is None:
            log("backup started under load")
            backup_thread.start()
        if elapsed > smtp_down_at and not smtp_is_down and elapsed < smtp_up_at:
            smtp.kill()
            smtp_is_down = True
            log("SMTP server down")
        if smtp_is_down and elapsed > smtp_up_at:
            smtp.start()
            smtp_is_down = False
            log("SMTP server back")
        if pg and elapsed > db_restart_at and not restarted_db:
            log("PostgreSQL restarting")
            cluster.restart()
            restarted_db = True
    stop.set()
    for thread in threads:
        thread.join(60)
    backup_thread.join(120)
    if smtp_is_down:
        smtp.start()
    log(f"load stopped after {time.monotonic() - started:.0f} s; waiting for the jobs owed")

    from sqlalchemy import create_engine, func, select, text

    from portal.jobs.models import Job

    url = cluster.url if pg else f"sqlite:///{instance / 'portal.sqlite3'}"
    engine = create_engine(url)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            left = conn.scalar(select(func.count()).select_from(Job).where(
                Job.status.in_(("pending", "running"))))
        if not left:
            break
        if not pg:  # the embedded dispatcher runs on a request's first arrival
            with contextlib.suppress(Exception):  # the server may still be starting
                Visitor(f"http://127.0.0.1:{web_port}").get("/")
        time.sleep(2)

    with engine.connect() as conn:
        stored = dict(conn.execute(text(
            "SELECT reference, contact_email FROM record_request")).all())
        half = conn.scalar(text(
            "SELECT count(*) FROM record_request r WHERE NOT EXISTS "
            "(SELECT 1 FROM request_part p WHERE p.request_id = r.id) OR NOT EXISTS "
            "(SELECT 1 FROM stored_document d WHERE d.request_id = r.id) OR NOT EXISTS "
            "(SELECT 1 FROM email_token t WHERE t.request_id = r.id)"))
        unmatched = conn.scalar(text(
            "SELECT count(*) FROM record_request r WHERE NOT EXISTS "
            "(SELECT 1 FROM roster_match_run m WHERE m.request_id = r.id)"))
        jobs = dict(conn.execute(text("SELECT status, count(*) FROM job GROUP BY status")).all())
        retried = conn.scalar(text("SELECT coalesce(sum(attempts - 1), 0) FROM job "
                                   "WHERE attempts > 1")) or 0
    engine.dispose()
    messages = list(mailbox.Maildir(str(maildir), create=False)) if maildir.exists() else []
    ids = Counter(m["Message-ID"] for m in messages)
    duplicates = sum(c - 1 for c in ids.values())
    mailed = {m["To"] for m in messages}
    acknowledged = [o for o in outcomes if o.acknowledged]
    lost = [o.reference for o in acknowledged if o.reference not in stored]
    unmailed = [email for email in stored.values() if email not in mailed]
    # The sweep removes files of requests killed before their commit (they are marked
    # pending); any file left unaccounted for after it is an orphan.
    fsck = flask(env, "fsck", "--repair", "--grace-minutes", "0")
    orphans = " ".join(line for line in fsck.stdout.splitlines()
                       if line.startswith(("Files no row", "Files of a unit"))) or fsck.stdout
    restore_line = restore_drill(env, root, backup, backup_dir, cluster)
    for process in (job_worker, web, smtp):
        process.stop()
    if cluster:
        cluster.stop()

    print(f"== drill on {options.database}: {options.users} visitors, {options.seconds} s")
    print(f"  faults: {dict(kills)}; SMTP down {smtp_up_at - smtp_down_at:.0f} s"
          + ("; PostgreSQL restarted once" if pg else ""))
    print(f"  submissions acknowledged: {len(acknowledged)}; wizards broken off by an error "
          f"or a dropped connection: {sum(errors.values())} ({dict(errors)})")
    print(f"  requests stored: {len(stored)} ({len(stored) - len(acknowledged)} stored but not "
          f"acknowledged); acknowledged but not stored: {len(lost)}; half-written: {half}; "
          f"roster match never ran: {unmatched}")
    print(f"  mails delivered: {len(messages)} ({duplicates} duplicate(s) by Message-ID); "
          f"requests whose confirmation never arrived: {len(unmailed)}")
    print(f"  jobs: {jobs}; retries: {retried}")
    print(f"  fsck: {orphans}")
    print(f"  backup under load, restored into an empty instance: {restore_line}")
    failures = []
    if lost:
        failures.append(f"acknowledged but lost: {lost[:5]}")
    if half:
        failures.append("half-written requests")
    if unmailed:
        failures.append(f"confirmation never delivered: {len(unmailed)}")
    if unmatched:
        failures.append("roster match never ran")
    if jobs.get("failed") or jobs.get("pending") or jobs.get("running"):
        failures.append("jobs left failed or undone")
    if duplicates > kills["job worker"] + kills["whole server"]:
        failures.append("more duplicate mails than job workers killed")
    if "Files no row points to: 0 " not in orphans:
        failures.append("orphaned files")
    if not restore_line.startswith("OK"):
        failures.append("the backup taken under load did not restore cleanly")
    if not acknowledged:
        failures.append("no submission was acknowledged at all")
    print("  result: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    if not failures:
        shutil.rmtree(root, ignore_errors=True)
    else:
        print(f"  logs kept in {root}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
