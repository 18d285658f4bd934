"""The encrypted file store on an S3-compatible object store (several app servers share it).

The same format and integrity checks as the local store (portal/storage/filestore.py): files
are encrypted here, segment by segment, before any byte leaves the process; the object store
only ever holds ciphertext under a random key that names nothing. Writing streams through a
multipart upload (parts of PART_SIZE or a little more, never under S3's 5 MiB minimum but the
last), so a 200 MB packet needs about two parts in memory, not the file; reading streams the
object's body through the same verifying reader.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, cast

from portal.storage.filestore import (
    _STORAGE_KEY_PATTERN,
    MASTER_KEY_SIZE,
    DecryptingReader,
    FileStore,
    InvalidStorageKey,
    StorageFull,
    StoredBlob,
    UnknownFile,
    encrypt_stream,
)

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

#: Bytes per uploaded part. S3 refuses parts under 5 MiB except the last.
PART_SIZE = 8 * 1024 * 1024
MIN_PART_SIZE = 5 * 1024 * 1024


class _MultipartWriter(io.RawIOBase):
    """A write-only stream that uploads itself in parts; at most one part is held in memory."""

    def __init__(self, client: S3Client, bucket: str, key: str, part_size: int) -> None:
        super().__init__()
        if part_size < MIN_PART_SIZE:
            raise ValueError("S3 parts must be at least 5 MiB")
        self._client, self._bucket, self._key = client, bucket, key
        self._part_size = part_size
        self._chunks: list[bytes] = []
        self._buffered = 0
        self._upload_id: str | None = None
        self._parts: list[dict] = []

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self._chunks.append(bytes(data))
        self._buffered += len(data)
        if self._buffered >= self._part_size:
            self._send(self._take())
        return len(data)

    def _take(self) -> bytes:
        """Everything buffered, as one part (the chunks are freed as it is made)."""
        part = b"".join(self._chunks)
        self._chunks.clear()
        self._buffered = 0
        return part

    def _send(self, chunk: bytes) -> None:
        if self._upload_id is None:
            self._upload_id = self._client.create_multipart_upload(
                Bucket=self._bucket, Key=self._key)["UploadId"]
        number = len(self._parts) + 1
        answer = self._client.upload_part(Bucket=self._bucket, Key=self._key, PartNumber=number,
                                          UploadId=self._upload_id, Body=chunk)
        self._parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    def finish(self) -> None:
        """Upload what is left; a file smaller than one part is a single plain upload."""
        if self._upload_id is None:
            self._client.put_object(Bucket=self._bucket, Key=self._key, Body=self._take())
            return
        if self._buffered:
            self._send(self._take())
        self._client.complete_multipart_upload(
            Bucket=self._bucket, Key=self._key, UploadId=self._upload_id,
            MultipartUpload={"Parts": self._parts})

    def abort(self) -> None:
        """Leave nothing behind: parts already uploaded are discarded."""
        self._chunks.clear()
        if self._upload_id is not None:
            self._client.abort_multipart_upload(Bucket=self._bucket, Key=self._key,
                                                UploadId=self._upload_id)


class S3EncryptedFileStore(FileStore):
    """Files encrypted as in the local store, kept as objects under ``prefix`` in ``bucket``."""

    def __init__(self, client: S3Client, bucket: str, key: bytes, *, prefix: str = "files/",
                 part_size: int = PART_SIZE) -> None:
        if not isinstance(key, bytes) or len(key) != MASTER_KEY_SIZE:
            raise ValueError(f"the master key must be {MASTER_KEY_SIZE} bytes")
        self._client, self._bucket, self._prefix = client, bucket, prefix
        self._master_key = key
        self._part_size = part_size

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._bucket!r}, {self._prefix!r})"

    def _object_key(self, storage_key: str) -> str:
        if not isinstance(storage_key, str) or not _STORAGE_KEY_PATTERN.match(storage_key):
            raise InvalidStorageKey("storage key is malformed")
        return self._prefix + storage_key

    def _marker(self, storage_key: str) -> str:
        return f"pending/{self._object_key(storage_key)}"

    def clear_pending(self, storage_key: str) -> None:
        self._client.delete_object(Bucket=self._bucket, Key=self._marker(storage_key))

    def pending_keys(self) -> Iterator[tuple[str, datetime]]:
        prefix = f"pending/{self._prefix}"
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(prefix):]
                if _STORAGE_KEY_PATTERN.match(name):
                    yield name, item["LastModified"]

    def _mark_pending(self, storage_key: str) -> None:
        self._client.put_object(Bucket=self._bucket, Key=self._marker(storage_key), Body=b"")

    def _put(self, stream: BinaryIO, storage_key: str, max_bytes: int | None) -> StoredBlob:
        writer = _MultipartWriter(self._client, self._bucket, self._object_key(storage_key),
                                  self._part_size)
        try:
            size, digest = encrypt_stream(self._master_key, stream, writer, max_bytes)
            writer.finish()
        except BaseException as exc:
            writer.abort()
            if _is_quota_error(exc):
                raise StorageFull() from None
            raise
        return StoredBlob(storage_key=storage_key, size=size, sha256=digest)

    def open(self, storage_key: str) -> BinaryIO:
        """A reader that downloads, decrypts and verifies the object as it is read."""
        from botocore.exceptions import ClientError

        try:
            body = self._client.get_object(Bucket=self._bucket,
                                           Key=self._object_key(storage_key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise UnknownFile(storage_key) from None
            raise
        reader = DecryptingReader(cast(BinaryIO, body), self._master_key, storage_key)
        try:
            reader.check_first_segment()
        except BaseException:
            reader.close()
            body.close()
            raise
        return cast(BinaryIO, reader)

    def delete(self, storage_key: str) -> None:
        if not self.exists(storage_key):
            raise UnknownFile(storage_key)
        self._client.delete_object(Bucket=self._bucket, Key=self._object_key(storage_key))

    def exists(self, storage_key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self._client.head_object(Bucket=self._bucket, Key=self._object_key(storage_key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return False
            raise
        return True

    def open_raw(self, storage_key: str) -> BinaryIO:
        from botocore.exceptions import ClientError

        try:
            return self._client.get_object(Bucket=self._bucket,
                                           Key=self._object_key(storage_key))["Body"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise UnknownFile(storage_key) from None
            raise

    def put_raw(self, storage_key: str, stream: BinaryIO) -> None:
        writer = _MultipartWriter(self._client, self._bucket, self._object_key(storage_key),
                                  self._part_size)
        try:
            while chunk := stream.read(1024 * 1024):
                writer.write(chunk)
            writer.finish()
        except BaseException:
            writer.abort()
            raise

    def quarantine(self, storage_key: str) -> None:
        """Copy the object under ``quarantine/`` beside the prefix, then delete it."""
        source = self._object_key(storage_key)
        if not self.exists(storage_key):
            raise UnknownFile(storage_key)
        self._client.copy_object(Bucket=self._bucket, Key=f"quarantine/{source}",
                                 CopySource={"Bucket": self._bucket, "Key": source})
        self._client.delete_object(Bucket=self._bucket, Key=source)

    def stale_incoming(self, older_than: datetime) -> list:
        """Multipart uploads never completed nor aborted (a process killed mid-upload)."""
        uploads = self._client.list_multipart_uploads(Bucket=self._bucket,
                                                      Prefix=self._prefix).get("Uploads", [])
        return [u for u in uploads if u["Initiated"] < older_than]

    def discard_incoming(self, upload: dict) -> None:
        self._client.abort_multipart_upload(Bucket=self._bucket, Key=upload["Key"],
                                            UploadId=upload["UploadId"])

    def iter_keys(self) -> Iterator[tuple[str, datetime]]:
        pages = self._client.get_paginator("list_objects_v2").paginate(
            Bucket=self._bucket, Prefix=self._prefix)
        for page in pages:
            for item in page.get("Contents", []):
                name = item["Key"][len(self._prefix):]
                if _STORAGE_KEY_PATTERN.match(name):
                    yield name, item["LastModified"]


def _is_quota_error(exc: BaseException) -> bool:
    from botocore.exceptions import ClientError

    if not isinstance(exc, ClientError):
        return False
    return exc.response.get("Error", {}).get("Code") in (
        "QuotaExceeded", "XMinioStorageFull", "EntityTooLarge", "InsufficientStorage")


def make_client(config) -> S3Client:
    """A boto3 client from the STORAGE_S3_* settings (credentials may come from the
    environment or the instance role as boto3 finds them)."""
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=config.get("STORAGE_S3_ENDPOINT_URL") or None,
        region_name=config.get("STORAGE_S3_REGION") or "us-east-1",
        aws_access_key_id=config.get("STORAGE_S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("STORAGE_S3_SECRET_ACCESS_KEY") or None,
        config=Config(retries={"max_attempts": 5, "mode": "standard"},
                      connect_timeout=5, read_timeout=60),
    )
