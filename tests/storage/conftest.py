"""A local S3 server for the file-store tests: moto's server mode, in a process of its own."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from tests.ports import free_port, wait_for_port


@pytest.fixture(scope="session")
def s3_endpoint():
    """http://127.0.0.1:<port> of a moto S3 server started for this test session."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
    except RuntimeError:
        server.kill()
        pytest.fail("moto's S3 server did not start")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(10)


@pytest.fixture
def s3_bucket(s3_endpoint):
    """A boto3 client and a new empty bucket on the local S3 server."""
    import boto3

    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
    bucket = f"portal-test-{secrets.token_hex(6)}"
    client.create_bucket(Bucket=bucket)
    return client, bucket
