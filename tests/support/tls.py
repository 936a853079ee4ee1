"""A throwaway certificate authority and a server certificate for 127.0.0.1, made once per process.

The tests' moto server speaks HTTPS so that a bucket policy's TLS-only Deny (``aws:SecureTransport``)
can be applied as generated. Clients trust the CA through ``AWS_CA_BUNDLE`` / ``SSL_CERT_FILE``, given a
bundle that also holds the system's CAs, so that nothing else a test runs (pip, git) loses its trust.
"""

from __future__ import annotations

import atexit
import functools
import ipaddress
import shutil
import ssl
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the server's certificate and key, the test CA alone, and the CA + system CAs bundle."""

    cert: Path
    key: Path
    ca: Path
    bundle: Path


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def _certificates() -> tuple[bytes, bytes, bytes]:
    """(CA certificate, server certificate, server key), PEM; valid from a minute ago for two days."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bbws-gen tests: moto CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    server = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return ca.public_bytes(serialization.Encoding.PEM), server.public_bytes(serialization.Encoding.PEM), key_pem


def _system_cas() -> bytes:
    """The CAs this machine trusts by default (empty when it names no CA file)."""
    cafile = ssl.get_default_verify_paths().cafile
    return Path(cafile).read_bytes() if cafile and Path(cafile).is_file() else b""


@functools.cache
def tls_files() -> TlsFiles:
    """This process's test CA and server certificate, in a temporary folder removed at exit."""
    folder = Path(tempfile.mkdtemp(prefix="bbws-moto-tls-"))
    atexit.register(shutil.rmtree, folder, True)
    ca, cert, key = _certificates()
    files = TlsFiles(folder / "server.pem", folder / "server-key.pem", folder / "ca.pem", folder / "bundle.pem")
    files.cert.write_bytes(cert)
    files.key.touch(mode=0o600)
    files.key.write_bytes(key)
    files.ca.write_bytes(ca)
    files.bundle.write_bytes(ca + b"\n" + _system_cas())
    return files
