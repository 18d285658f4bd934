"""Encrypted, integrity-checked storage for uploaded IDs and released records (R-SEC-2).

The app talks to a :class:`FileStore`: ``put`` a stream, get back a random ``storage_key``
(plus the plaintext size and SHA-256), later ``open`` that key for a streaming read, or
``delete`` it. :class:`LocalEncryptedFileStore` keeps the blobs in a local directory; an
S3-compatible backend can implement the same four methods later.

On-disk format (version 1), the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizar,
"Online authenticated-encryption and its nonce-reuse misuse-resistance", CRYPTO 2015) over
AES-256-GCM, in the same shape as Tink's AES-GCM-HKDF streaming AEAD::

    header   = MAGIC "PFS1" (4 bytes) | VERSION 0x01 (1) | salt (32, random) | prefix (8, random)
    segments = segment_0 | segment_1 | ... | segment_n          (n >= 0, always at least one)
    segment_i = AES-256-GCM(subkey, nonce_i, plaintext_i, aad_i) = ciphertext_i | tag (16)

    subkey  = HKDF-SHA256(master_key, salt=salt, info="portal.storage.filestore v1", L=32)
    nonce_i = prefix | uint32_be(i)
    aad_i   = header | uint32_be(i) | final_i        (final_i = 0x01 on the last segment only)

Every segment but the last carries exactly SEGMENT_SIZE (64 KiB) of plaintext; the last
carries 0..SEGMENT_SIZE bytes, so an empty file is one empty, final segment. Because the
index and the final flag are authenticated with each segment, a reader detects every
reordered, duplicated, dropped, tampered or appended segment and every truncation, including
a cut exactly at a segment boundary (the segment now last was sealed as "not final"). The
header is authenticated too (it is part of every aad), and a wrong master key yields a wrong
subkey, so both surface as :class:`IntegrityError` on the first segment.

A segment's plaintext is released only after its tag verifies, so a reader never hands out
bytes from a tampered segment. Both directions use bounded memory: a few segments at a time,
whatever the file size. The per-file subkey means nonces never repeat across files, and a
file may hold up to 2**32 segments (256 TiB).
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import io
import logging
import os
import re
import secrets
import shutil
import struct
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from werkzeug.exceptions import ServiceUnavailable

__all__ = [
    "FileStore",
    "FileStoreError",
    "FileTooLarge",
    "IntegrityError",
    "InvalidStorageKey",
    "LocalEncryptedFileStore",
    "StoredBlob",
    "UnknownFile",
]

log = logging.getLogger("portal.storage")

MAGIC = b"PFS1"
VERSION = 1
SALT_SIZE = 32
NONCE_PREFIX_SIZE = 8
HEADER_SIZE = len(MAGIC) + 1 + SALT_SIZE + NONCE_PREFIX_SIZE
SEGMENT_SIZE = 64 * 1024
TAG_SIZE = 16
CIPHERTEXT_SEGMENT_SIZE = SEGMENT_SIZE + TAG_SIZE
MAX_SEGMENTS = 2**32
MASTER_KEY_SIZE = 32
_HKDF_INFO = b"portal.storage.filestore v1"

# secrets.token_urlsafe(32): 43 characters of the URL-safe alphabet, never a dot or a slash.
_STORAGE_KEY_BYTES = 32
_STORAGE_KEY_PATTERN = re.compile(r"\A[A-Za-z0-9_-]{43}\Z")
_INCOMING_PREFIX = ".incoming-"
QUARANTINE_FOLDER = ".quarantine"
PENDING_FOLDER = ".pending"


class FileStoreError(Exception):
    """Base class of every error the file store raises."""


class IntegrityError(FileStoreError):
    """A stored file is corrupt, truncated, reordered, tampered with, or under another key."""

    def __init__(self, storage_key: str) -> None:
        super().__init__(f"stored file {storage_key} failed its integrity check")
        self.storage_key = storage_key


class FileTooLarge(FileStoreError):
    """The upload exceeded the caller's ``max_bytes``; nothing was stored."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(f"file exceeds the limit of {max_bytes} bytes")
        self.max_bytes = max_bytes


class StorageFull(FileStoreError, ServiceUnavailable):
    """The store has no room (or quota) left: nothing was kept; the visitor sees HTTP 503."""

    user_message = ("We cannot store files just now, so nothing from this page was saved. "
                    "What you saved before is kept. Please try again later.")

    def __init__(self) -> None:
        super().__init__(self.user_message)


class UnknownFile(FileStoreError):
    """No stored file has this storage key."""


class InvalidStorageKey(UnknownFile):
    """The storage key is not one this store could have issued, so it names no file."""


@dataclass(frozen=True)
class StoredBlob:
    """What ``put`` stored: the key to fetch it by and facts about the plaintext."""

    storage_key: str
    size: int
    sha256: str


class FileStore(Protocol):
    """The narrow storage interface the portal uses; backends may be local or S3-compatible."""

    def put(self, stream: BinaryIO, *, max_bytes: int | None = None,
            pending: bool = False) -> StoredBlob:
        """Store everything read from ``stream`` under a new random key; raise FileTooLarge
        as soon as more than ``max_bytes`` have been read, leaving nothing behind.

        With ``pending`` a marker is written first, and stays until ``clear_pending``: a
        process killed before its unit of work commits leaves a marked file, which the sweep
        removes, instead of a file nobody knows about. (Every backend shares this method and
        writes with its own ``_put`` and ``_mark_pending``.)"""
        if max_bytes is not None and max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        storage_key = secrets.token_urlsafe(_STORAGE_KEY_BYTES)
        if pending:
            self._mark_pending(storage_key)
        try:
            return self._put(stream, storage_key, max_bytes)
        except BaseException:
            if pending:
                self.clear_pending(storage_key)
            raise

    def _put(self, stream: BinaryIO, storage_key: str, max_bytes: int | None) -> StoredBlob:
        """Encrypt ``stream`` under ``storage_key``; leave nothing if it fails."""
        ...

    def _mark_pending(self, storage_key: str) -> None:
        """Record, durably, that the file under ``storage_key`` is not committed yet."""
        ...

    def clear_pending(self, storage_key: str) -> None:
        """The unit of work that wrote the file committed: it is no longer pending."""
        ...

    def pending_keys(self) -> Iterator[tuple[str, datetime]]:
        """Files still marked pending, with when they were marked."""
        ...

    def open(self, storage_key: str) -> BinaryIO:
        """Return a streaming, verifying reader of the plaintext stored under the key."""
        ...

    def delete(self, storage_key: str) -> None:
        """Remove the stored file; raise UnknownFile if there is none."""
        ...

    def exists(self, storage_key: str) -> bool:
        """Tell whether a file is stored under the key."""
        ...

    def iter_keys(self) -> Iterator[tuple[str, datetime]]:
        """Every stored file's key and when it was written."""
        ...

    def quarantine(self, storage_key: str) -> None:
        """Move a file aside (out of the store, kept encrypted) for someone to look at."""
        ...

    def open_raw(self, storage_key: str) -> BinaryIO:
        """The stored ciphertext as it is (backups copy files without decrypting them)."""
        ...

    def put_raw(self, storage_key: str, stream: BinaryIO) -> None:
        """Store ciphertext under a given key (a restore puts files back as they were)."""
        ...


class LocalEncryptedFileStore(FileStore):
    """Stores files encrypted (STREAM over AES-256-GCM) under a directory on local disk."""

    def __init__(self, directory: Path, key: bytes) -> None:
        """Use ``directory`` (created 0700 if missing) and the 32-byte master ``key``."""
        if not isinstance(key, bytes) or len(key) != MASTER_KEY_SIZE:
            raise ValueError(f"the master key must be {MASTER_KEY_SIZE} bytes")
        self._directory = Path(directory)
        self._master_key = key
        self._directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def __repr__(self) -> str:
        # Never let the master key reach a log line or a traceback.
        return f"{type(self).__name__}({str(self._directory)!r})"

    def _pending_dir(self) -> Path:
        return self._directory / PENDING_FOLDER

    def _mark_pending(self, storage_key: str) -> None:
        folder = self._pending_dir()
        folder.mkdir(mode=0o700, exist_ok=True)
        try:
            (folder / storage_key).touch(mode=0o600)
            _fsync_directory(folder)
        except OSError as exc:
            (folder / storage_key).unlink(missing_ok=True)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from None
            raise

    def clear_pending(self, storage_key: str) -> None:
        (self._pending_dir() / storage_key).unlink(missing_ok=True)

    def pending_keys(self) -> Iterator[tuple[str, datetime]]:
        folder = self._pending_dir()
        if not folder.is_dir():
            return
        for marker in folder.iterdir():
            if _STORAGE_KEY_PATTERN.match(marker.name):
                yield marker.name, datetime.fromtimestamp(marker.stat().st_mtime, UTC)

    def _put(self, stream: BinaryIO, storage_key: str, max_bytes: int | None) -> StoredBlob:
        # Written beside the fan-out folders (same filesystem, so the rename is atomic) and
        # only moved into them when complete, so a failed put leaves no file and no folder.
        fd, temp_name = tempfile.mkstemp(prefix=_INCOMING_PREFIX, dir=self._directory)
        try:
            with os.fdopen(fd, "wb") as out:
                size, digest = self._encrypt(stream, out, max_bytes)
                out.flush()
                os.fsync(out.fileno())
            final_path = self._path_for(storage_key)
            self._make_private_dirs(final_path.parent)
            os.replace(temp_name, final_path)
        except OSError as exc:
            _remove_quietly(temp_name)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                raise StorageFull() from None
            raise
        except BaseException:
            _remove_quietly(temp_name)
            raise
        _fsync_directory(final_path.parent)
        return StoredBlob(storage_key=storage_key, size=size, sha256=digest)

    def open(self, storage_key: str) -> BinaryIO:
        """Return a reader that decrypts and verifies the file segment by segment.

        The header and first segment are checked before this returns, so a wrong key or a
        corrupt header raises IntegrityError here; damage further in raises it from read().
        """
        path = self._path_for(storage_key)
        try:
            raw = path.open("rb")
        except FileNotFoundError:
            raise UnknownFile(storage_key) from None
        reader = DecryptingReader(raw, self._master_key, storage_key)
        try:
            reader.check_first_segment()
        except BaseException:
            reader.close()
            raise
        return cast(BinaryIO, reader)

    def delete(self, storage_key: str) -> None:
        """Unlink the stored file; raise UnknownFile if there is none."""
        path = self._path_for(storage_key)
        try:
            path.unlink()
        except FileNotFoundError:
            raise UnknownFile(storage_key) from None

    def exists(self, storage_key: str) -> bool:
        """Tell whether a file is stored under ``storage_key``."""
        return self._path_for(storage_key).is_file()

    def _path_for(self, storage_key: str) -> Path:
        """Map a validated key to directory/ab/cd/<key>; refuse anything else."""
        if not isinstance(storage_key, str) or not _STORAGE_KEY_PATTERN.match(storage_key):
            raise InvalidStorageKey("storage key is malformed")
        return self._directory / storage_key[0:2] / storage_key[2:4] / storage_key

    def _make_private_dirs(self, directory: Path) -> None:
        """Create the fan-out folders owner-only (0700) whatever the process umask."""
        for folder in (directory.parent, directory):
            try:
                folder.mkdir(mode=0o700)
            except FileExistsError:
                continue
            os.chmod(folder, 0o700)

    def _encrypt(self, stream: BinaryIO, out: BinaryIO, max_bytes: int | None) -> tuple[int, str]:
        return encrypt_stream(self._master_key, stream, out, max_bytes)

    def open_raw(self, storage_key: str) -> BinaryIO:
        try:
            return self._path_for(storage_key).open("rb")
        except FileNotFoundError:
            raise UnknownFile(storage_key) from None

    def put_raw(self, storage_key: str, stream: BinaryIO) -> None:
        final_path = self._path_for(storage_key)
        fd, temp_name = tempfile.mkstemp(prefix=_INCOMING_PREFIX, dir=self._directory)
        try:
            with os.fdopen(fd, "wb") as out:
                shutil.copyfileobj(stream, out, SEGMENT_SIZE * 16)
                out.flush()
                os.fsync(out.fileno())
            self._make_private_dirs(final_path.parent)
            os.replace(temp_name, final_path)
        except BaseException:
            _remove_quietly(temp_name)
            raise
        _fsync_directory(final_path.parent)

    def quarantine(self, storage_key: str) -> None:
        """Move the file into the store's ``.quarantine`` folder (same disk: one rename)."""
        path = self._path_for(storage_key)
        aside = self._directory / QUARANTINE_FOLDER
        aside.mkdir(mode=0o700, exist_ok=True)
        try:
            os.replace(path, aside / storage_key)
        except FileNotFoundError:
            raise UnknownFile(storage_key) from None

    def stale_incoming(self, older_than: datetime) -> list[Path]:
        """Half-written uploads left by a process killed mid-write."""
        return [p for p in self._directory.glob(_INCOMING_PREFIX + "*")
                if datetime.fromtimestamp(p.stat().st_mtime, UTC) < older_than]

    def discard_incoming(self, item: Path) -> None:
        item.unlink(missing_ok=True)

    def iter_keys(self) -> Iterator[tuple[str, datetime]]:
        """Every stored file's key and when it was written (for `fsck`)."""
        for path in self._directory.glob("??/??/*"):
            if path.is_file() and _STORAGE_KEY_PATTERN.match(path.name):
                yield path.name, datetime.fromtimestamp(path.stat().st_mtime, UTC)


def encrypt_stream(master_key: bytes, stream: BinaryIO, out: BinaryIO,
                   max_bytes: int | None) -> tuple[int, str]:
    """Write the header and segments of ``stream`` to ``out``; return plaintext size and hex
    SHA-256. Raises FileTooLarge as soon as more than ``max_bytes`` have been read."""
    salt = secrets.token_bytes(SALT_SIZE)
    prefix = secrets.token_bytes(NONCE_PREFIX_SIZE)
    header = MAGIC + bytes([VERSION]) + salt + prefix
    aead = AESGCM(_derive_subkey(master_key, salt))
    out.write(header)
    digest = hashlib.sha256()
    size = 0
    index = 0
    # One segment of lookahead tells whether the current segment is the last.
    current = _read_exactly(stream, SEGMENT_SIZE)
    while True:
        size += len(current)
        if max_bytes is not None and size > max_bytes:
            raise FileTooLarge(max_bytes)
        digest.update(current)
        following = _read_exactly(stream, SEGMENT_SIZE) if len(current) == SEGMENT_SIZE else b""
        final = not following
        if index >= MAX_SEGMENTS:
            raise FileTooLarge(SEGMENT_SIZE * MAX_SEGMENTS)
        nonce, aad = _segment_nonce_and_aad(header, prefix, index, final)
        out.write(aead.encrypt(nonce, current, aad))
        if final:
            return size, digest.hexdigest()
        current = following
        index += 1


class DecryptingReader(io.BufferedIOBase):
    """Read-only, forward-only plaintext view of one stored file.

    ``read(n)`` returns up to ``n`` bytes (fewer only at the end); iterating yields the
    plaintext in chunks of at most one segment (64 KiB), not lines. A segment's bytes are
    returned only after its tag verifies; any failure raises IntegrityError, is logged once
    under 'portal.storage' with the storage key only, and makes every later read fail too.
    """

    def __init__(self, raw: BinaryIO, master_key: bytes, storage_key: str) -> None:
        super().__init__()
        self._raw = raw
        self._master_key = master_key
        self._storage_key = storage_key
        self._aead: AESGCM | None = None
        self._header = b""
        self._prefix = b""
        self._index = 0
        self._lookahead = b""
        self._plaintext = memoryview(b"")
        self._finished = False
        self._failed = False

    def readable(self) -> bool:
        """A stored file can be read."""
        return True

    def check_first_segment(self) -> None:
        """Verify the header and decrypt the first segment, raising IntegrityError if bad."""
        if self._aead is None and not self._failed:
            self._fill()

    def read(self, size: int | None = -1) -> bytes:
        """Return up to ``size`` plaintext bytes (all remaining if negative or None)."""
        self._check_open()
        if size is None or size < 0:
            return b"".join(iter(self._next_chunk, b""))
        parts: list[bytes] = []
        wanted = size
        while wanted > 0:
            chunk = self._take(wanted)
            if not chunk:
                break
            parts.append(chunk)
            wanted -= len(chunk)
        return b"".join(parts)

    def read1(self, size: int = -1) -> bytes:
        """Return up to ``size`` bytes from at most one segment."""
        self._check_open()
        return self._take(SEGMENT_SIZE if size is None or size < 0 else size)

    def readinto(self, buffer: bytearray | memoryview) -> int:
        """Fill ``buffer`` with plaintext; return how many bytes were written."""
        self._check_open()
        target = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(target):
            chunk = self._take(len(target) - filled)
            if not chunk:
                break
            target[filled : filled + len(chunk)] = chunk
            filled += len(chunk)
        return filled

    def __iter__(self) -> DecryptingReader:
        return self

    def __next__(self) -> bytes:
        self._check_open()
        chunk = self._next_chunk()
        if not chunk:
            raise StopIteration
        return chunk

    def close(self) -> None:
        """Close the underlying file."""
        if not self.closed:
            self._raw.close()
            self._plaintext = memoryview(b"")
        super().close()

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def _next_chunk(self) -> bytes:
        """Return the rest of the current segment, decrypting the next one if needed."""
        return self._take(SEGMENT_SIZE)

    def _take(self, limit: int) -> bytes:
        """Return up to ``limit`` bytes of already-verified plaintext; b'' at the end."""
        if not self._plaintext and not self._finished:
            self._fill()
        chunk = bytes(self._plaintext[:limit])
        self._plaintext = self._plaintext[len(chunk) :]
        return chunk

    def _fill(self) -> None:
        """Decrypt and verify the next segment into the plaintext buffer."""
        if self._failed:
            raise IntegrityError(self._storage_key)
        try:
            while not self._plaintext and not self._finished:
                self._decrypt_next_segment()
        except IntegrityError:
            self._fail()
            raise

    def _decrypt_next_segment(self) -> None:
        if self._aead is None:
            self._read_header()
        assert self._aead is not None
        sealed = self._lookahead + _read_exactly(
            self._raw, CIPHERTEXT_SEGMENT_SIZE - len(self._lookahead)
        )
        # A full segment is the last one only if nothing at all follows it.
        self._lookahead = (
            _read_exactly(self._raw, 1) if len(sealed) == CIPHERTEXT_SEGMENT_SIZE else b""
        )
        final = not self._lookahead
        if len(sealed) < TAG_SIZE or self._index >= MAX_SEGMENTS:
            raise IntegrityError(self._storage_key)
        nonce, aad = _segment_nonce_and_aad(self._header, self._prefix, self._index, final)
        try:
            plaintext = self._aead.decrypt(nonce, sealed, aad)
        except InvalidTag:
            raise IntegrityError(self._storage_key) from None
        self._plaintext = memoryview(plaintext)
        self._index += 1
        self._finished = final

    def _read_header(self) -> None:
        header = _read_exactly(self._raw, HEADER_SIZE)
        if len(header) != HEADER_SIZE or header[: len(MAGIC)] != MAGIC:
            raise IntegrityError(self._storage_key)
        if header[len(MAGIC)] != VERSION:
            raise IntegrityError(self._storage_key)
        salt_start = len(MAGIC) + 1
        salt = header[salt_start : salt_start + SALT_SIZE]
        self._prefix = header[salt_start + SALT_SIZE :]
        self._header = header
        self._aead = AESGCM(_derive_subkey(self._master_key, salt))

    def _fail(self) -> None:
        """Poison the reader and log the failure once, naming only the storage key."""
        if not self._failed:
            self._failed = True
            self._plaintext = memoryview(b"")
            log.error(
                "stored file %s failed its integrity check at segment %d",
                self._storage_key,
                self._index,
            )


def _derive_subkey(master_key: bytes, salt: bytes) -> bytes:
    """Derive the per-file AES-256 key from the master key and the file's random salt."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=_HKDF_INFO)
    return hkdf.derive(master_key)


def _segment_nonce_and_aad(
    header: bytes, prefix: bytes, index: int, final: bool
) -> tuple[bytes, bytes]:
    """Bind a segment to its position and to whether it ends the file (STREAM)."""
    position = struct.pack(">I", index)
    return prefix + position, header + position + (b"\x01" if final else b"\x00")


def _read_exactly(stream: BinaryIO, size: int) -> bytes:
    """Read ``size`` bytes, looping over short reads; fewer only at end of stream."""
    first = stream.read(size)
    if not first or len(first) == size:
        return first or b""
    parts = [first]
    remaining = size - len(first)
    while remaining:
        more = stream.read(remaining)
        if not more:
            break
        parts.append(more)
        remaining -= len(more)
    return b"".join(parts)


def _fsync_directory(directory: Path) -> None:
    """Make a rename into ``directory`` durable across a crash."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
