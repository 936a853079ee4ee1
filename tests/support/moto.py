"""A real moto server on 127.0.0.1 for one AWS account, started and stopped by the tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class MotoServer:
    """Where the server listens, and the environment that points AWS clients and terraform at it."""

    endpoint: str
    account_id: str
    region: str

    def env(self) -> dict[str, str]:
        """Environment for boto3, the AWS provider and the S3 backend (credentials are moto's dummies)."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def client(self, service: str, region: str | None = None):  # type: ignore[no-untyped-def]
        """A boto3 client talking to this server."""
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=region or self.region,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


@contextmanager
def moto_server(account_id: str, region: str, log: Path) -> Iterator[MotoServer]:
    """Start ``moto_server`` for ``account_id`` on a free loopback port; stop it afterwards."""
    port = free_port()
    # AWS managed policies (e.g. AWSBackupServiceRolePolicyForBackup) exist in every real account.
    env = {**os.environ, "MOTO_ACCOUNT_ID": account_id, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        endpoint = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"moto server did not start; see {log}") from None
                    time.sleep(0.2)
            yield MotoServer(endpoint, account_id, region)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
