"""The storage-full drill (`make drill`): the encrypted file store on a real, small filesystem
that fills up under submissions, then gets room again.

    python benchmarks/drill_storage_full.py [--size-kib 192]

The store (STORAGE_DIR) is a tmpfs of a few hundred KiB mounted for the drill alone; the
database and everything else stay on the ordinary disk. Visitors send the whole wizard, one
photo ID each, until the filesystem refuses writes (ENOSPC from the kernel, not from a test
wrapper). Then the filesystem is given room again and one more visitor must get through.

It fails (exit status 1) if a visitor whose upload was refused was told anything but the
portal's "nothing from this page was saved" page (HTTP 503), if an acknowledged submission is
missing or half-written, if a refused upload left a file or a row behind (`fsck`), if the
filesystem never filled, or if a visitor cannot submit once there is room again. Where this
machine does not allow mounting a filesystem, it says so and stops (the same refusal is
tested in `make test` with an ENOSPC-raising wrapper: tests/failures/test_failures.py).
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT))

from drill import BIN, Process, flask, log  # noqa: E402
from http_wizard import Visitor  # noqa: E402

from tests.ports import free_port, wait_for_port  # noqa: E402

REFUSAL = "nothing from this page was saved"


class WatchedVisitor(Visitor):
    """A visitor that keeps the last page it was answered with, to read the refusal."""

    def _record(self, name, response):
        self.last = response
        return super()._record(name, response)


def mount_small(folder: Path, size_kib: int) -> str | None:
    """Mount a tmpfs of ``size_kib`` on ``folder``; the reason it could not, or None."""
    folder.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k,mode=0700",
                             "tmpfs", str(folder)], capture_output=True, text=True, check=False)
    return None if result.returncode == 0 else (result.stderr.strip() or "mount refused")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-kib", type=int, default=192,
                        help="the size of the file store's filesystem")
    parser.add_argument("--most", type=int, default=200, help="submissions to try at most")
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="portal-full-"))
    store = root / "files"
    refused_mount = mount_small(store, options.size_kib)
    if refused_mount:
        print(f"== storage-full drill: skipped, this machine does not allow mounting a small "
              f"filesystem ({refused_mount}). The refusal is tested in make test with an "
              f"ENOSPC-raising wrapper.")
        shutil.rmtree(root, ignore_errors=True)
        return 0
    port = free_port()
    env = {**os.environ,
           "PORTAL_INSTANCE_PATH": str(root / "instance"), "PORTAL_ENV": "production",
           "PORTAL_SECRET_KEY": secrets.token_hex(32), "PORTAL_STORAGE_DIR": str(store),
           "PORTAL_BASE_URL": f"http://127.0.0.1:{port}", "PORTAL_PROXY_COUNT": "1",
           "PORTAL_CUSTODIAN_ADDRESS": "PO Box 0000\nLos Angeles, CA 90000",
           "PORTAL_CUSTODIAN_PHONE": "(555) 010-0000",
           "PORTAL_CUSTODIAN_EMAIL": "records@example.invalid", "PORTAL_JOBS_MODE": "thread"}
    env.pop("PORTAL_DATABASE_URL", None)
    web = Process("web", [str(BIN / "gunicorn"), "--workers", "1", "--threads", "2",
                          "--bind", f"127.0.0.1:{port}", "wsgi:app"], env, root / "web.log")
    failures: list[str] = []
    try:
        subprocess.run([str(BIN / "python"), "-m", "portal.init_instance"], env=env, cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL)
        upgrade = flask(env, "db", "upgrade")
        if upgrade.returncode:
            raise SystemExit(upgrade.stderr)
        web.start()
        wait_for_port(port)
        log(f"storage-full drill: the file store is a {options.size_kib} KiB tmpfs")
        acknowledged, refused, other = [], 0, []
        for n in range(1, options.most + 1):
            visitor = WatchedVisitor(f"http://127.0.0.1:{port}",
                                     forwarded_for=f"10.9.{n // 250}.{n % 250 + 1}")
            outcome = visitor.submit(n)
            if outcome.acknowledged:
                acknowledged.append(outcome.reference)
                continue
            text = visitor.last.text if getattr(visitor, "last", None) is not None else ""
            if visitor.last.status_code == 503 and REFUSAL in text:
                refused += 1
                if refused >= 3:  # full, and it stays full: refused the same way each time
                    break
            else:
                other.append(outcome.error or "no receipt")
        free_kib = shutil.disk_usage(store).free // 1024
        log(f"full after {len(acknowledged)} submissions ({free_kib} KiB free); remounting "
            "with room")
        subprocess.run(["mount", "-o", "remount,size=16m", str(store)], check=True)
        after = WatchedVisitor(f"http://127.0.0.1:{port}", forwarded_for="10.9.250.1")
        recovered = after.submit(10_000)
        fsck = flask(env, "fsck", "--grace-minutes", "0")
        from sqlalchemy import create_engine, text

        engine = create_engine(f"sqlite:///{root / 'instance' / 'portal.sqlite3'}")
        with engine.connect() as conn:
            stored = set(conn.scalars(text("SELECT reference FROM record_request")))
            half = conn.scalar(text(
                "SELECT count(*) FROM record_request r WHERE NOT EXISTS "
                "(SELECT 1 FROM stored_document d WHERE d.request_id = r.id)"))
        engine.dispose()
    finally:
        web.stop()
        subprocess.run(["umount", str(store)], check=False)
    lost = [ref for ref in acknowledged if ref not in stored]
    clean = ("Files no row points to: 0" in fsck.stdout
             and "Rows whose file is missing: 0" in fsck.stdout and fsck.returncode == 0)
    print(f"== storage-full drill: a {options.size_kib} KiB filesystem for the file store")
    print(f"  submissions acknowledged before it filled: {len(acknowledged)}; refused with the "
          f"portal's 503 page ('{REFUSAL}'): {refused}; other errors: {other or 'none'}")
    print(f"  requests stored: {len(stored)}; acknowledged but not stored: {len(lost)}; "
          f"without their photo ID: {half}")
    print("  fsck: " + " ".join(line for line in fsck.stdout.splitlines()
                                if line.startswith(("Files no row", "Rows whose", "Half"))))
    print(f"  with room again: {'acknowledged' if recovered.acknowledged else 'FAILED'} "
          f"({recovered.reference or recovered.error})")
    if not refused:
        failures.append("the filesystem never filled (raise --most or lower --size-kib)")
    if other:
        failures.append(f"visitors told something else than the storage page: {other[:3]}")
    if lost or half:
        failures.append("acknowledged but lost, or stored without its file")
    if not clean:
        failures.append("fsck found orphans or missing files")
    if not recovered.acknowledged:
        failures.append("no submission got through once there was room again")
    print("  result: " + ("PASS" if not failures else "FAIL: " + "; ".join(failures)))
    if failures:
        print(f"  logs kept in {root}")
    else:
        shutil.rmtree(root, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
