"""The encrypted file store keeps uploaded IDs and released records confidential and intact.

Enforces R-SEC-2 (encrypted at rest) and checks R-SEC-4 (no content in logs).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import random
import secrets
import shutil
import stat
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from portal.storage.filestore import (
    CIPHERTEXT_SEGMENT_SIZE,
    HEADER_SIZE,
    SEGMENT_SIZE,
    FileStore,
    FileTooLarge,
    IntegrityError,
    InvalidStorageKey,
    LocalEncryptedFileStore,
    StoredBlob,
    UnknownFile,
)
from portal.storage.s3 import S3EncryptedFileStore

# The store alone, on a directory and on S3: no database, no clock; run once (the Makefile).
pytestmark = pytest.mark.once

MiB = 1024 * 1024
MEMORY_BUDGET = 32 * MiB
LARGE_FILE_SIZE = 200 * 1000 * 1000


class GeneratedUpload:
    """A readable stream of seeded pseudo-random bytes made on demand, never held whole.

    ``total=None`` makes it endless. Reads may come back short, as from a socket.
    """

    def __init__(self, total: int | None, *, seed: int = 0, piece: int = MiB) -> None:
        self._pieces = self._generate(total, seed, piece)
        self._pending = memoryview(b"")
        self.sha256 = hashlib.sha256()

    @staticmethod
    def _generate(total: int | None, seed: int, piece: int) -> Iterator[bytes]:
        rng = random.Random(seed)
        remaining = total
        while remaining is None or remaining > 0:
            size = piece if remaining is None else min(piece, remaining)
            yield rng.randbytes(size)
            if remaining is not None:
                remaining -= size

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            self._pending = memoryview(next(self._pieces, b""))
            self.sha256.update(self._pending)
        limit = len(self._pending) if size < 0 else size
        data = bytes(self._pending[:limit])
        self._pending = self._pending[len(data) :]
        return data


class FailingUpload(io.RawIOBase):
    """An upload whose connection drops after some bytes."""

    def __init__(self, good_bytes: int) -> None:
        self._left = good_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._left <= 0:
            raise ConnectionResetError("client went away")
        count = min(len(buffer), self._left)
        buffer[:count] = b"x" * count
        self._left -= count
        return count


@pytest.fixture
def directory(tmp_path: Path) -> Path:
    return tmp_path / "files"


class Raw:
    """The ciphertext where a backend keeps it, to look at and to tamper with."""

    def __init__(self, read, write, names, with_key) -> None:
        self.read, self.write, self.names, self.store_with_key = read, write, names, with_key

    def rewrite(self, storage_key: str, change: Callable[[bytes], bytes]) -> None:
        self.write(storage_key, change(self.read(storage_key)))


@pytest.fixture(params=["local", "s3"])
def backend(request, directory: Path) -> tuple[FileStore, Raw]:
    """Each test below runs on the local directory and on S3 (moto's server, a process)."""
    key = secrets.token_bytes(32)
    if request.param == "local":
        return LocalEncryptedFileStore(directory, key), Raw(
            lambda k: stored_path(directory, k).read_bytes(),
            lambda k, data: stored_path(directory, k).write_bytes(data),
            lambda: [p.name for p in files_under(directory)],
            lambda other: LocalEncryptedFileStore(directory, other))
    client, bucket = request.getfixturevalue("s3_bucket")
    prefix = "files/"

    def names() -> list[str]:
        listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
        pending = client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return [o["Key"] for o in listed] + [f"(upload) {u['Key']}" for u in pending]

    return S3EncryptedFileStore(client, bucket, key, prefix=prefix), Raw(
        lambda k: client.get_object(Bucket=bucket, Key=prefix + k)["Body"].read(),
        lambda k, data: client.put_object(Bucket=bucket, Key=prefix + k, Body=data),
        names,
        lambda other: S3EncryptedFileStore(client, bucket, other, prefix=prefix))


@pytest.fixture
def store(backend) -> FileStore:
    return backend[0]


@pytest.fixture
def raw(backend) -> Raw:
    return backend[1]


@pytest.fixture
def local_store(directory: Path) -> LocalEncryptedFileStore:
    return LocalEncryptedFileStore(directory, secrets.token_bytes(32))


def sample(size: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(size)


def put_bytes(store: FileStore, data: bytes) -> StoredBlob:
    return store.put(io.BytesIO(data))


def read_all(store: FileStore, storage_key: str) -> bytes:
    with store.open(storage_key) as reader:
        return reader.read()


def stored_path(directory: Path, storage_key: str) -> Path:
    (path,) = directory.rglob(storage_key)
    return path


def files_under(directory: Path) -> list[Path]:
    return [path for path in directory.rglob("*") if path.is_file()]


def segment_span(index: int) -> slice:
    start = HEADER_SIZE + index * CIPHERTEXT_SEGMENT_SIZE
    return slice(start, start + CIPHERTEXT_SEGMENT_SIZE)


def rewrite(path: Path, change: Callable[[bytes], bytes]) -> None:
    path.write_bytes(change(path.read_bytes()))


def flip_bit_at(position: int) -> Callable[[bytes], bytes]:
    def flip(ciphertext: bytes) -> bytes:
        changed = bytes([ciphertext[position] ^ 1])
        return ciphertext[:position] + changed + ciphertext[position + 1 :]

    return flip


def plaintext_received_before_integrity_error(
    store: FileStore, storage_key: str
) -> bytes:
    """Read chunk by chunk as a download would; return what was handed out before the error."""
    received = bytearray()
    with pytest.raises(IntegrityError), store.open(storage_key) as reader:
        for chunk in reader:
            received += chunk
    return bytes(received)


@contextlib.contextmanager
def peak_memory_growth() -> Iterator[list[int]]:
    """Yield a one-item list that holds the peak traced allocation growth once the block ends."""
    result = [0]
    already_tracing = tracemalloc.is_tracing()
    if not already_tracing:
        tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        baseline = tracemalloc.get_traced_memory()[0]
        yield result
        result[0] = tracemalloc.get_traced_memory()[1] - baseline
    finally:
        if not already_tracing:
            tracemalloc.stop()


THREE_AND_A_BIT_SEGMENTS = 3 * SEGMENT_SIZE + 1234


# --- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(1000, id="small"),
        pytest.param(0, id="empty"),
        pytest.param(SEGMENT_SIZE, id="exactly-one-segment"),
        pytest.param(SEGMENT_SIZE + 1, id="one-segment-and-a-byte"),
        pytest.param(2 * SEGMENT_SIZE, id="exactly-two-segments"),
        pytest.param(THREE_AND_A_BIT_SEGMENTS, id="multi-segment"),
    ],
)
def test_stored_file_reads_back_byte_for_byte(store: FileStore, size: int) -> None:
    data = sample(size)
    blob = put_bytes(store, data)
    assert read_all(store, blob.storage_key) == data


def test_reported_size_and_sha256_describe_the_plaintext(store: FileStore) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)
    assert (blob.size, blob.sha256) == (len(data), hashlib.sha256(data).hexdigest())


def test_reading_in_odd_sized_pieces_returns_the_same_bytes(
    store: FileStore,
) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)
    pieces = []
    with store.open(blob.storage_key) as reader:
        while piece := reader.read(9999):
            pieces.append(piece)
    assert b"".join(pieces) == data
    assert all(len(piece) == 9999 for piece in pieces[:-1])


def test_iterating_a_reader_yields_chunks_of_at_most_one_segment(
    store: FileStore,
) -> None:
    blob = put_bytes(store, sample(THREE_AND_A_BIT_SEGMENTS))
    with store.open(blob.storage_key) as reader:
        sizes = [len(chunk) for chunk in reader]
    assert sizes == [SEGMENT_SIZE, SEGMENT_SIZE, SEGMENT_SIZE, 1234]


def test_readinto_fills_a_caller_buffer(store: FileStore) -> None:
    data = sample(SEGMENT_SIZE + 10)
    blob = put_bytes(store, data)
    buffer = bytearray(SEGMENT_SIZE + 100)
    with store.open(blob.storage_key) as reader:
        count = reader.readinto(buffer)
    assert buffer[:count] == data


def test_upload_arriving_in_short_reads_is_stored_intact(store: FileStore) -> None:
    upload = GeneratedUpload(THREE_AND_A_BIT_SEGMENTS, piece=1000)
    blob = store.put(upload)  # type: ignore[arg-type]
    with store.open(blob.storage_key) as reader:
        assert hashlib.sha256(reader.read()).hexdigest() == upload.sha256.hexdigest()


# --- confidentiality and layout (R-SEC-2) ---------------------------------------------------


def test_ciphertext_does_not_contain_the_plaintext(
    store: FileStore, raw: Raw
) -> None:
    data = b"Patient: Jane Example, DOB 1980-01-01, MRN 12345. " * 4000
    blob = put_bytes(store, data)
    ciphertext = raw.read(blob.storage_key)
    assert b"Jane Example" not in ciphertext
    assert data[:16] not in ciphertext


def test_same_content_stored_twice_gets_different_keys_and_ciphertext(
    store: FileStore, raw: Raw
) -> None:
    data = sample(5000)
    first, second = put_bytes(store, data), put_bytes(store, data)
    assert first.storage_key != second.storage_key
    assert raw.read(first.storage_key) != raw.read(second.storage_key)


def test_storage_keys_carry_256_bits_of_url_safe_randomness(
    store: FileStore,
) -> None:
    key = put_bytes(store, b"x").storage_key
    assert len(key) == 43
    assert set(key) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_files_sit_in_two_level_fan_out_folders(
    local_store: LocalEncryptedFileStore, directory: Path
) -> None:
    key = put_bytes(local_store, b"x").storage_key
    assert stored_path(directory, key) == directory / key[:2] / key[2:4] / key


def test_stored_files_and_folders_are_private_to_the_owner(
    local_store: LocalEncryptedFileStore, directory: Path
) -> None:
    key = put_bytes(local_store, b"x").storage_key
    path = stored_path(directory, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    for folder in (directory, path.parent, path.parent.parent):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_master_key_must_be_32_bytes(directory: Path) -> None:
    with pytest.raises(ValueError):
        LocalEncryptedFileStore(directory, b"too short")


def test_store_repr_does_not_reveal_the_master_key(directory: Path) -> None:
    key = secrets.token_bytes(32)
    assert key.hex() not in repr(LocalEncryptedFileStore(directory, key))
    assert repr(key) not in repr(LocalEncryptedFileStore(directory, key))


# --- integrity ------------------------------------------------------------------------------


def test_wrong_master_key_is_an_integrity_error(
    store: FileStore, raw: Raw
) -> None:
    blob = put_bytes(store, sample(1000))
    other = raw.store_with_key(secrets.token_bytes(32))
    with pytest.raises(IntegrityError):
        read_all(other, blob.storage_key)


@pytest.mark.parametrize("segment", [0, 1, 2, 3])
def test_flipped_byte_in_a_segment_fails_before_that_segment_is_returned(
    store: FileStore, raw: Raw, segment: int
) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)
    position = HEADER_SIZE + segment * CIPHERTEXT_SEGMENT_SIZE + 100

    raw.rewrite(blob.storage_key, flip_bit_at(position))
    received = plaintext_received_before_integrity_error(store, blob.storage_key)
    assert received == data[: segment * SEGMENT_SIZE]


@pytest.mark.parametrize(
    "position",
    [
        pytest.param(0, id="magic"),
        pytest.param(4, id="version"),
        pytest.param(10, id="salt"),
        pytest.param(HEADER_SIZE - 1, id="nonce-prefix"),
    ],
)
def test_altered_header_is_an_integrity_error(
    store: FileStore, raw: Raw, position: int
) -> None:
    blob = put_bytes(store, sample(1000))

    raw.rewrite(blob.storage_key, flip_bit_at(position))
    assert plaintext_received_before_integrity_error(store, blob.storage_key) == b""


def test_truncation_mid_segment_is_detected(
    store: FileStore, raw: Raw
) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)
    cut = HEADER_SIZE + CIPHERTEXT_SEGMENT_SIZE + 500
    raw.rewrite(blob.storage_key, lambda ciphertext: ciphertext[:cut])
    received = plaintext_received_before_integrity_error(store, blob.storage_key)
    assert received == data[:SEGMENT_SIZE]


@pytest.mark.parametrize("kept_segments", [0, 1, 2, 3])
def test_truncation_at_a_segment_boundary_is_detected(
    store: FileStore, raw: Raw, kept_segments: int
) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)
    cut = HEADER_SIZE + kept_segments * CIPHERTEXT_SEGMENT_SIZE
    raw.rewrite(blob.storage_key, lambda ciphertext: ciphertext[:cut])
    received = plaintext_received_before_integrity_error(store, blob.storage_key)
    assert data.startswith(received) and len(received) < len(data)


def test_losing_the_only_segment_of_an_empty_file_is_detected(
    store: FileStore, raw: Raw
) -> None:
    blob = put_bytes(store, b"")
    raw.rewrite(blob.storage_key, lambda ciphertext: ciphertext[:HEADER_SIZE])
    assert plaintext_received_before_integrity_error(store, blob.storage_key) == b""


def test_swapped_segments_are_detected(store: FileStore, raw: Raw) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)

    def swap_second_and_third(c: bytes) -> bytes:
        first, second, third = segment_span(0), segment_span(1), segment_span(2)
        return c[: first.stop] + c[third] + c[second] + c[third.stop :]

    raw.rewrite(blob.storage_key, swap_second_and_third)
    received = plaintext_received_before_integrity_error(store, blob.storage_key)
    assert received == data[:SEGMENT_SIZE]


def test_duplicated_segment_is_detected(store: FileStore, raw: Raw) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)

    def repeat_first(c: bytes) -> bytes:
        first = segment_span(0)
        return c[: first.stop] + c[first] + c[first.stop :]

    raw.rewrite(blob.storage_key, repeat_first)
    received = plaintext_received_before_integrity_error(store, blob.storage_key)
    assert received == data[:SEGMENT_SIZE]


def test_dropped_middle_segment_is_detected(
    store: FileStore, raw: Raw
) -> None:
    data = sample(THREE_AND_A_BIT_SEGMENTS)
    blob = put_bytes(store, data)

    def drop_second(c: bytes) -> bytes:
        second = segment_span(1)
        return c[: second.start] + c[second.stop :]

    raw.rewrite(blob.storage_key, drop_second)
    received = plaintext_received_before_integrity_error(store, blob.storage_key)
    assert received == data[:SEGMENT_SIZE]


@pytest.mark.parametrize(
    "size",
    [
        pytest.param(THREE_AND_A_BIT_SEGMENTS, id="after-short-final-segment"),
        pytest.param(2 * SEGMENT_SIZE, id="after-full-final-segment"),
        pytest.param(0, id="after-empty-file"),
    ],
)
def test_appended_garbage_is_detected(
    store: FileStore, raw: Raw, size: int
) -> None:
    data = sample(size)
    blob = put_bytes(store, data)
    raw.rewrite(blob.storage_key, lambda c: c + b"garbage")
    received = plaintext_received_before_integrity_error(store, blob.storage_key)
    assert data.startswith(received) and len(received) < max(len(data), 1)


def test_integrity_failure_is_logged_naming_only_the_storage_key(
    store: FileStore, raw: Raw, caplog: pytest.LogCaptureFixture
) -> None:
    data = b"Patient: Jane Example. " * 5000
    blob = put_bytes(store, data)
    raw.rewrite(blob.storage_key, lambda c: c[:-1])
    with caplog.at_level(logging.ERROR, logger="portal.storage"):
        plaintext_received_before_integrity_error(store, blob.storage_key)
    (record,) = [r for r in caplog.records if r.name == "portal.storage"]
    assert record.levelno == logging.ERROR
    assert blob.storage_key in record.getMessage()
    assert "Jane" not in caplog.text


def test_reader_refuses_to_continue_after_an_integrity_error(
    store: FileStore, raw: Raw
) -> None:
    blob = put_bytes(store, sample(THREE_AND_A_BIT_SEGMENTS))
    raw.rewrite(blob.storage_key, lambda c: c[:-1])
    with store.open(blob.storage_key) as reader:
        with pytest.raises(IntegrityError):
            reader.read()
        with pytest.raises(IntegrityError):
            reader.read(10)


# --- keys and lifecycle ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "storage_key",
    [
        "../" + "a" * 40,
        "ab/cd/" + "a" * 37,
        "a" * 21 + "/" + "a" * 21,
        "/etc/passwd",
        "..",
        "a" * 42 + ".",
        "",
        "a" * 43 + "\n",
        "a" * 44,
    ],
)
@pytest.mark.parametrize("operation", ["open", "exists", "delete"])
def test_malformed_storage_key_is_refused(
    store: FileStore, storage_key: str, operation: str
) -> None:
    with pytest.raises(InvalidStorageKey):
        getattr(store, operation)(storage_key)


def test_delete_cannot_reach_outside_the_store(
    local_store: FileStore, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.write_bytes(b"keep me")
    with pytest.raises(InvalidStorageKey):
        local_store.delete("../outside")
    assert outside.exists()


def test_unknown_storage_key_is_reported_as_unknown_file(
    store: FileStore,
) -> None:
    with pytest.raises(UnknownFile):
        store.open(secrets.token_urlsafe(32))


def test_deleted_file_no_longer_exists(store: FileStore, raw: Raw) -> None:
    key = put_bytes(store, b"x").storage_key
    assert store.exists(key)
    store.delete(key)
    assert not store.exists(key)
    assert raw.names() == []


def test_deleting_an_unknown_file_is_reported(store: FileStore) -> None:
    with pytest.raises(UnknownFile):
        store.delete(secrets.token_urlsafe(32))


# --- size limit and failed uploads ----------------------------------------------------------


def test_upload_over_max_bytes_is_refused_and_leaves_no_file(
    store: FileStore, raw: Raw
) -> None:
    with pytest.raises(FileTooLarge):
        store.put(io.BytesIO(sample(SEGMENT_SIZE * 2 + 1)), max_bytes=SEGMENT_SIZE * 2)
    assert raw.names() == []


def test_upload_of_exactly_max_bytes_is_accepted(store: FileStore) -> None:
    blob = store.put(io.BytesIO(sample(SEGMENT_SIZE * 2)), max_bytes=SEGMENT_SIZE * 2)
    assert blob.size == SEGMENT_SIZE * 2


def test_endless_upload_is_cut_off_at_max_bytes(store: FileStore) -> None:
    with pytest.raises(FileTooLarge):
        store.put(GeneratedUpload(None), max_bytes=5 * MiB)  # type: ignore[arg-type]


def test_upload_that_breaks_off_leaves_no_file(
    store: FileStore, raw: Raw
) -> None:
    with pytest.raises(ConnectionResetError):
        store.put(FailingUpload(3 * SEGMENT_SIZE + 7))  # type: ignore[arg-type]
    assert raw.names() == []


# --- 200 MB in bounded memory ---------------------------------------------------------------


@pytest.fixture(scope="module")
def large_upload(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Store 200 MB streamed from a generator once, measuring put's peak memory growth."""
    directory = tmp_path_factory.mktemp("large") / "files"
    store = LocalEncryptedFileStore(directory, secrets.token_bytes(32))
    upload = GeneratedUpload(LARGE_FILE_SIZE, seed=200)
    with peak_memory_growth() as put_peak:
        blob = store.put(upload)  # type: ignore[arg-type]
    yield {
        "store": store,
        "directory": directory,
        "blob": blob,
        "expected_sha256": upload.sha256.hexdigest(),
        "put_peak": put_peak[0],
    }
    shutil.rmtree(directory.parent)


def test_200_mb_upload_is_encrypted_in_bounded_memory(large_upload: dict) -> None:
    blob = large_upload["blob"]
    assert (blob.size, blob.sha256) == (LARGE_FILE_SIZE, large_upload["expected_sha256"])
    assert large_upload["put_peak"] < MEMORY_BUDGET


def test_200_mb_file_reads_back_identical_in_bounded_memory(large_upload: dict) -> None:
    digest = hashlib.sha256()
    store, storage_key = large_upload["store"], large_upload["blob"].storage_key
    with peak_memory_growth() as read_peak, store.open(storage_key) as reader:
        for chunk in reader:
            digest.update(chunk)
    assert digest.hexdigest() == large_upload["expected_sha256"]
    assert read_peak[0] < MEMORY_BUDGET


def test_truncated_copy_of_200_mb_file_is_rejected(large_upload: dict) -> None:
    store, directory = large_upload["store"], large_upload["directory"]
    source = stored_path(directory, large_upload["blob"].storage_key)
    copy_key = put_bytes(store, b"placeholder").storage_key
    cut = HEADER_SIZE + 1500 * CIPHERTEXT_SEGMENT_SIZE  # a clean segment boundary mid-file
    with source.open("rb") as original, stored_path(directory, copy_key).open("wb") as copy:
        while copy.tell() < cut:
            copy.write(original.read(min(MiB, cut - copy.tell())))
    received = 0
    with pytest.raises(IntegrityError), store.open(copy_key) as reader:
        for chunk in reader:
            received += len(chunk)
    assert received < 1500 * SEGMENT_SIZE


# --- S3: multipart in bounded memory ----------------------------------------------------------


def test_20_mb_round_trip_on_s3_uploads_parts_of_at_least_5_mib_in_bounded_memory(s3_bucket):
    """Parts of at least 5 MiB but the last; one part in memory at a time, not the file."""
    from portal.storage.s3 import MIN_PART_SIZE

    client, bucket = s3_bucket
    parts: list[int] = []
    real_upload_part = client.upload_part

    def upload_part(**kwargs):
        parts.append(len(kwargs["Body"]))
        return real_upload_part(**kwargs)

    client.upload_part = upload_part
    store = S3EncryptedFileStore(client, bucket, secrets.token_bytes(32), part_size=MIN_PART_SIZE)
    upload = GeneratedUpload(20 * 1000 * 1000, seed=20)
    with peak_memory_growth() as put_peak:
        blob = store.put(upload)  # type: ignore[arg-type]
    assert len(parts) == 4
    assert all(MIN_PART_SIZE <= size < MIN_PART_SIZE + 2 * SEGMENT_SIZE for size in parts[:-1])
    assert blob.sha256 == upload.sha256.hexdigest()
    [stored] = client.list_objects_v2(Bucket=bucket)["Contents"]
    assert stored["Key"] == f"files/{blob.storage_key}"  # random, never a name
    digest = hashlib.sha256()
    with peak_memory_growth() as read_peak, store.open(blob.storage_key) as reader:
        for chunk in reader:
            digest.update(chunk)
    assert digest.hexdigest() == upload.sha256.hexdigest()
    # Less than the file: about two parts (the one being sent and the next being filled).
    assert put_peak[0] < 3 * MIN_PART_SIZE < blob.size and read_peak[0] < MEMORY_BUDGET


def test_an_s3_upload_that_breaks_off_leaves_no_object_and_no_open_upload(s3_bucket):
    client, bucket = s3_bucket
    store = S3EncryptedFileStore(client, bucket, secrets.token_bytes(32))
    with pytest.raises(ConnectionResetError):
        store.put(FailingUpload(12 * MiB))  # type: ignore[arg-type]
    assert client.list_objects_v2(Bucket=bucket).get("Contents", []) == []
    assert client.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
