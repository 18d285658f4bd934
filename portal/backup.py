"""Backup and restore: the database, the encrypted files and a signed manifest, together.

A backup directory holds:
- ``database.enc``: the database, encrypted with the file-store key before it touches the disk
  (it holds names, dates of birth and addresses): SQLite's online backup API into memory, or
  ``pg_dump --format=custom`` streamed from its standard output, in the snapshot whose files
  are copied next;
- ``files/<storage key>``: every file a row of that snapshot points to, copied as it is stored
  (already encrypted; never decrypted here);
- ``manifest.json``: what is there, with the SHA-256 of every artifact, the schema revision and
  the audit chain's head, signed with the signing key, its document type in the signed payload
  (R-SEC-5), so that an export manifest can never pass for a backup's. Checking it needs only
  the public key.

The keys are not in the backup: they are backed up apart (README, "Backups"). A restore needs
the file-store key to decrypt the database and refuses to write into an instance that holds any
table or any file.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from portal.core.keys import FILE_KEY_FILE, read_key
from portal.storage.filestore import DecryptingReader, UnknownFile, encrypt_stream
from portal.storage.operations import file_store
from portal.trail.signing import load_private_key, sign_manifest, signature_valid

DOCUMENT_TYPE = "portal-backup-manifest"
FORMAT_VERSION = 1
DATABASE_FILE = "database.enc"
MANIFEST_FILE = "manifest.json"
FILES_DIR = "files"
_CHUNK = 1024 * 1024


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class _Snapshot:
    dialect: str
    storage_keys: list[str]
    audit_head: dict | None
    revision: str | None


def _file_key(app: Flask) -> bytes:
    key = read_key(Path(app.config["KEY_DIR"]), FILE_KEY_FILE)
    if key is None:
        raise BackupError("The file-encryption key is missing from KEY_DIR; a backup is "
                          "encrypted with it. Restore the key directory first.")
    return key


class _HashingWriter(io.RawIOBase):
    def __init__(self, out: BinaryIO) -> None:
        super().__init__()
        self._out, self.sha256, self.size = out, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._out.write(data)
        self.sha256.update(data)
        self.size += len(data)
        return len(data)


def _prepare_target(target: Path) -> None:
    if target.exists() and not target.is_dir():
        raise BackupError(f"{target} is a file, not a directory.")
    if target.exists() and any(target.iterdir()):
        raise BackupError(f"{target} is not empty: a backup goes into a new or empty directory, "
                          "so that an older backup is never mixed into it.")
    try:
        target.mkdir(parents=True, exist_ok=True, mode=0o700)
        probe = target / ".writable"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise BackupError(f"Cannot write to {target}: {exc.strerror}.") from None
    (target / FILES_DIR).mkdir(mode=0o700)


def _read_snapshot(query: Callable[[str], list[tuple]], dialect: str) -> _Snapshot:
    keys = [row[0] for row in query("SELECT storage_key FROM stored_document ORDER BY id")]
    head = query("SELECT id, hash FROM audit_event ORDER BY id DESC LIMIT 1")
    # A database made without Alembic (the test suite's) has no revision to record.
    exists = ("SELECT count(*) FROM sqlite_master WHERE name = 'alembic_version'"
              if dialect == "sqlite" else "SELECT count(*) FROM pg_tables "
              "WHERE tablename = 'alembic_version' AND schemaname = current_schema()")
    revision_rows = (query("SELECT version_num FROM alembic_version")
                     if query(exists)[0][0] else [])
    return _Snapshot(dialect, keys, {"id": head[0][0], "hash": head[0][1]} if head else None,
                     revision_rows[0][0] if revision_rows else None)


def _rollback_journal_header(image: bytes) -> bytes:
    """A copy of a WAL-mode database says so in its header (bytes 18 and 19), and SQLite will
    not open such an image in memory; mark it a rollback-journal database (the portal turns
    WAL on again when it connects)."""
    data = bytearray(image)
    if len(data) >= 20 and data[18:20] == b"\x02\x02":
        data[18:20] = b"\x01\x01"
    return bytes(data)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (Debian: apt-get install postgresql-client, "
                          "the version of the server or newer).")
    return path


def _pg_environment(url) -> dict[str, str]:
    """libpq settings from the database URL (the password never on a command line)."""
    env = dict(os.environ)
    for name, value in (("PGHOST", url.host), ("PGPORT", url.port), ("PGUSER", url.username),
                        ("PGPASSWORD", url.password), ("PGDATABASE", url.database)):
        if value is not None:
            env[name] = str(value)
    return env


def _dump_database(app: Flask, out: BinaryIO, key: bytes) -> _Snapshot:
    engine = app.extensions["db_engine"]
    if engine.dialect.name == "sqlite":
        source = sqlite3.connect(make_url(app.config["DATABASE_URL"]).database)
        memory = sqlite3.connect(":memory:")
        try:
            source.backup(memory)  # a consistent copy while the portal keeps writing
            snapshot = _read_snapshot(lambda sql: memory.execute(sql).fetchall(), "sqlite")
            data = _rollback_journal_header(memory.serialize())
        finally:
            source.close()
            memory.close()
        encrypt_stream(key, io.BytesIO(data), out, None)
        return snapshot
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            exported = conn.scalar(text("SELECT pg_export_snapshot()"))
            snapshot = _read_snapshot(lambda sql: list(conn.execute(text(sql))), "postgresql")
            dump = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
                [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                 f"--snapshot={exported}"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                env=_pg_environment(engine.url))
            try:
                encrypt_stream(key, dump.stdout, out, None)
            finally:
                dump.stdout.close()
                error = dump.stderr.read().decode(errors="replace")
                dump.wait()
    if dump.returncode != 0:
        raise BackupError(f"pg_dump failed: {error.strip()[:500]}")
    return snapshot


def take_backup(app: Flask, target: Path, *, echo: Callable[[str], None] = print) -> dict:
    """Write a backup of this instance into ``target`` (new or empty); return the manifest."""
    target = Path(target)
    _prepare_target(target)
    key = _file_key(app)
    signing_key = load_private_key(app.config["KEY_DIR"])
    with (target / DATABASE_FILE).open("wb") as raw:
        database = _HashingWriter(raw)
        snapshot = _dump_database(app, database, key)
        raw.flush()
        os.fsync(raw.fileno())
    echo(f"Database: {database.size} bytes, encrypted.")
    store = file_store()
    files, gone = [], []
    for storage_key in snapshot.storage_keys:
        try:
            source = store.open_raw(storage_key)
        except UnknownFile:  # deleted since the snapshot (a purge): fsck will name the row
            gone.append(storage_key)
            continue
        with source, (target / FILES_DIR / storage_key).open("wb") as copy:
            writer = _HashingWriter(copy)
            shutil.copyfileobj(source, writer, _CHUNK)
        files.append([storage_key, writer.size, writer.sha256.hexdigest()])
    echo(f"Files: {len(files)} copied as stored (encrypted)"
         + (f"; {len(gone)} deleted since the database was read" if gone else "") + ".")
    manifest = sign_manifest({
        "document_type": DOCUMENT_TYPE, "format": FORMAT_VERSION,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "dialect": snapshot.dialect, "schema_revision": snapshot.revision,
        "audit_head": snapshot.audit_head,
        "database": {"name": DATABASE_FILE, "size": database.size,
                     "sha256": database.sha256.hexdigest()},
        "files": files, "files_gone": gone,
    }, signing_key)
    (target / MANIFEST_FILE).write_text(json.dumps(manifest, indent=1, sort_keys=True))
    echo(f"Manifest signed: {target / MANIFEST_FILE}")
    return manifest


def _sha256_of(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def check_backup(source: Path, public_key) -> dict:
    """The manifest, once its signature, type and every artifact's digest check out."""
    source = Path(source)
    try:
        manifest = json.loads((source / MANIFEST_FILE).read_text())
    except (OSError, ValueError):
        raise BackupError(f"{source} has no readable {MANIFEST_FILE}: not a backup.") from None
    if not signature_valid(manifest, public_key):
        raise BackupError("The manifest's signature does not verify with this public key: the "
                          "backup was changed, or signed by another instance. Nothing restored.")
    if manifest.get("document_type") != DOCUMENT_TYPE:
        raise BackupError("This signed document is not a backup manifest. Nothing restored.")
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"Backup format {manifest.get('format')} is not one this version "
                          "restores.")
    database = manifest["database"]
    artifacts = [(source / database["name"], database["size"], database["sha256"])]
    artifacts += [(source / FILES_DIR / key, size, digest)
                  for key, size, digest in manifest["files"]]
    for path, size, digest in artifacts:
        if not path.is_file() or _sha256_of(path) != (size, digest):
            raise BackupError(f"{path.relative_to(source)} is missing or differs from the "
                              "signed manifest. Nothing restored.")
    return manifest


def _target_is_empty(app: Flask) -> None:
    tables = inspect(app.extensions["db_engine"]).get_table_names()
    if tables:
        raise BackupError("The database already holds tables: a restore goes into an empty "
                          "database only, so nothing is overwritten. Create a new one.")
    if next(iter(file_store().iter_keys()), None) is not None:
        raise BackupError("The file store already holds files: restore into an empty one.")


def _decrypted(path: Path, key: bytes) -> DecryptingReader:
    return DecryptingReader(path.open("rb"), key, "backup-database")


def _restore_database(app: Flask, path: Path, key: bytes, dialect: str) -> None:
    engine = app.extensions["db_engine"]
    if engine.dialect.name != dialect:
        raise BackupError(f"This backup is of a {dialect} database; the instance uses "
                          f"{engine.dialect.name}.")
    engine.dispose()
    if dialect == "sqlite":
        with _decrypted(path, key) as reader:
            data = reader.read()
        memory = sqlite3.connect(":memory:")
        target = sqlite3.connect(make_url(app.config["DATABASE_URL"]).database)
        try:
            memory.deserialize(_rollback_journal_header(data))
            memory.backup(target)
        finally:
            memory.close()
            target.close()
        return
    restore = subprocess.Popen(  # noqa: S603 - fixed arguments, no shell
        [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
         f"--dbname={engine.url.database}"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        env=_pg_environment(engine.url))
    try:
        with _decrypted(path, key) as reader:
            for chunk in reader:
                restore.stdin.write(chunk)
    finally:
        restore.stdin.close()
        error = restore.stderr.read().decode(errors="replace")
        restore.wait()
    if restore.returncode != 0:
        raise BackupError(f"pg_restore failed: {error.strip()[:500]}")


def restore_backup(app: Flask, source: Path, public_key, *,
                   echo: Callable[[str], None] = print) -> dict:
    """Check a backup, then restore it into this (empty) instance; return the manifest."""
    manifest = check_backup(source, public_key)
    _target_is_empty(app)
    key = _file_key(app)
    _restore_database(app, Path(source) / manifest["database"]["name"], key,
                      manifest["dialect"])
    echo(f"Database restored ({manifest['dialect']}, revision "
         f"{manifest['schema_revision'] or 'unknown'}).")
    store = file_store()
    for storage_key, _size, _digest in manifest["files"]:
        with (Path(source) / FILES_DIR / storage_key).open("rb") as handle:
            store.put_raw(storage_key, handle)
    echo(f"Files restored: {len(manifest['files'])}.")
    return manifest
