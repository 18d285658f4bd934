"""Throughput and peak memory of the encrypted file store against plain file I/O.

Usage: PYTHONPATH=. .venv/bin/python benchmarks/bench_filestore.py [megabytes]

Then the same on the S3 backend against moto's server (a process of its own), 200 MB by
default, in a subprocess whose peak resident memory growth is reported (target: under 64 MB).

The reference does the same work without encryption (stream to a temp file with fsync and a
SHA-256, then read it back hashing), measured in the same run on the same disk, so the ratio
is what encryption and verification cost on this machine.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from portal.storage.filestore import LocalEncryptedFileStore

MiB = 1024 * 1024


class RepeatingUpload:
    """A stream of ``total`` bytes built from one random MiB, so generation costs little."""

    def __init__(self, total: int) -> None:
        self._block = secrets.token_bytes(MiB)
        self._left = total
        self._offset = 0

    def read(self, size: int = -1) -> bytes:
        size = self._left if size < 0 else min(size, self._left)
        start = self._offset % MiB
        data = self._block[start : start + size]
        self._offset += len(data)
        self._left -= len(data)
        return data


def measure(label: str, total: int, action: Callable[[], object]) -> None:
    """Run ``action`` once; print throughput and peak traced memory growth."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    baseline = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    action()
    elapsed = time.perf_counter() - started
    peak = tracemalloc.get_traced_memory()[1] - baseline
    tracemalloc.stop()
    print(
        f"{label:<34} {elapsed:7.2f} s  {total / MiB / elapsed:8.0f} MiB/s  "
        f"peak +{peak / MiB:6.2f} MiB"
    )


def plain_write(path: Path, total: int) -> None:
    upload, digest = RepeatingUpload(total), hashlib.sha256()
    with path.open("wb") as out:
        while chunk := upload.read(64 * 1024):
            digest.update(chunk)
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


def plain_read(path: Path) -> None:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(64 * 1024):
            digest.update(chunk)


def store_read(store: LocalEncryptedFileStore, storage_key: str) -> None:
    digest = hashlib.sha256()
    with store.open(storage_key) as reader:
        for chunk in reader:
            digest.update(chunk)


def main() -> None:
    total = int(sys.argv[1]) * MiB if len(sys.argv) > 1 else 256 * MiB
    with tempfile.TemporaryDirectory() as work:
        plain_path = Path(work) / "plain"
        store = LocalEncryptedFileStore(Path(work) / "store", secrets.token_bytes(32))
        keys: list[str] = []
        print(f"file size {total / MiB:.0f} MiB")
        measure("reference: plain write + sha256", total, lambda: plain_write(plain_path, total))
        measure(
            "store.put (encrypt + sha256)",
            total,
            lambda: keys.append(store.put(RepeatingUpload(total)).storage_key),  # type: ignore[arg-type]
        )
        measure("reference: plain read + sha256", total, lambda: plain_read(plain_path))
        measure("store.open read (decrypt + sha256)", total, lambda: store_read(store, keys[0]))


def s3_child(endpoint: str, total: int) -> None:
    """In a fresh process: put and read back ``total`` bytes on S3; print time and RSS growth."""
    import resource

    import boto3

    from portal.storage.s3 import S3EncryptedFileStore

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="bench",
                          aws_secret_access_key="bench")  # noqa: S106 - moto accepts any
    client.create_bucket(Bucket="bench")
    store = S3EncryptedFileStore(client, "bench", secrets.token_bytes(32))
    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    key = store.put(RepeatingUpload(total)).storage_key  # type: ignore[arg-type]
    put_seconds = time.perf_counter() - started
    started = time.perf_counter()
    store_read(store, key)  # type: ignore[arg-type]
    read_seconds = time.perf_counter() - started
    growth = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - baseline) / 1024
    print(f"{'S3 store.put (multipart, 8 MiB parts)':<34} {put_seconds:7.2f} s  "
          f"{total / MiB / put_seconds:8.0f} MiB/s")
    print(f"{'S3 store.open read':<34} {read_seconds:7.2f} s  "
          f"{total / MiB / read_seconds:8.0f} MiB/s")
    print(f"S3 process peak memory growth: {growth:.1f} MB (target under 64 MB)")


def s3_bench(megabytes: int) -> None:
    import subprocess

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from tests.ports import free_port, wait_for_port

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                               str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        print(f"S3 (moto's server), file size {megabytes} MiB")
        subprocess.run([sys.executable, __file__, "--s3-child", f"http://127.0.0.1:{port}",
                        str(megabytes)], check=True)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--s3-child":
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        s3_child(sys.argv[2], int(sys.argv[3]) * MiB)
    else:
        main()
        s3_bench(200)
