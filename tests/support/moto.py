"""A real moto server on 127.0.0.1 for one AWS account, started and stopped by the tests.

It is moto's own server with the tests' extension (tests/support/emulator.py: ``Bool`` on
``aws:SecureTransport`` in bucket policies), served over HTTPS with a certificate the tests make
(tests/support/tls.py), so the generated TLS-only bucket policies apply as generated.
"""

from __future__ import annotations

import os
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.support.emulator import BACKUP_SWITCH
from tests.support.tls import tls_files

# The monorepo, so that ``python -m tests.support.emulator`` imports from any working directory.
ROOT = Path(__file__).resolve().parents[2]


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
    # PEM bundle trusting the server's certificate (the test CA + the system's CAs); None over plain HTTP.
    ca_bundle: Path | None = None

    def env(self) -> dict[str, str]:
        """Environment for boto3, the AWS provider and the S3 backend (credentials are moto's dummies).

        AWS_CA_BUNDLE is read by botocore, the AWS CLI, terraform's AWS provider and its S3 backend;
        SSL_CERT_FILE by Go and Python's ssl defaults; REQUESTS_CA_BUNDLE by requests (pip included).
        """
        trust = (
            {}
            if self.ca_bundle is None
            else {name: str(self.ca_bundle) for name in ("AWS_CA_BUNDLE", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
        )
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "AWS_EC2_METADATA_DISABLED": "true",
            **trust,
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
            verify=str(self.ca_bundle) if self.ca_bundle else None,
        )


@contextmanager
def moto_server(
    account_id: str, region: str, log: Path, *, tls: bool = True, backup: bool = False, accounts: bool = False
) -> Iterator[MotoServer]:
    """Start the emulator for ``account_id`` on a free loopback port (HTTPS unless ``tls=False``); stop it after.

    ``backup`` adds the AWS Backup calls moto lacks (tests/support/emulator_backup.py). By default every
    request acts in ``account_id`` (moto's MOTO_ACCOUNT_ID); with ``accounts`` a request acts in the
    account of the role its keys came from (AssumeRole, AssumeRoleWithWebIdentity), as in AWS, and only
    moto's dummy keys act in moto's default account 123456789012.
    """
    port = free_port()
    files = tls_files() if tls else None
    tls_args = [] if files is None else ["--ssl-cert", str(files.cert), "--ssl-key", str(files.key)]
    context = ssl.create_default_context(cafile=str(files.ca)) if files else None
    # AWS managed policies (e.g. AWSBackupServiceRolePolicyForBackup) exist in every real account.
    env = {**os.environ, "MOTO_ACCOUNT_ID": account_id, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}
    env[BACKUP_SWITCH] = "1" if backup else "0"
    if accounts:
        del env["MOTO_ACCOUNT_ID"]
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.emulator", "-H", "127.0.0.1", "-p", str(port), *tls_args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
        endpoint = f"{'https' if files else 'http'}://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1, context=context)
                    break
                except OSError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"moto server did not start; see {log}") from None
                    time.sleep(0.2)
            yield MotoServer(endpoint, account_id, region, files.bundle if files else None)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
