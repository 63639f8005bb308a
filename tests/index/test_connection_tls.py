"""TLS with a CA file (ES_CA_CERTS): a local HTTPS server with a certificate from a test CA."""

from __future__ import annotations

import ipaddress
import json
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pytest_httpserver import HTTPServer

from pipeline.index.connection import EsConnectionError, connect

PRODUCT = {"X-Elastic-Product": "Elasticsearch", "Content-Type": "application/json"}


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write_pki(directory: Path) -> tuple[Path, Path, Path]:
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(_name("newsflow test CA")).issuer_name(_name("newsflow test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name("127.0.0.1")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    ca_path, cert_path, key_path = directory / "ca.crt", directory / "server.crt", directory / "server.key"
    ca_path.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return ca_path, cert_path, key_path


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[HTTPServer, Path]]:
    ca, cert, key = _write_pki(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/").respond_with_data(
        json.dumps({"name": "n", "cluster_name": "c", "version": {"number": "9.1.0"}}), headers=PRODUCT)
    server.start()
    try:
        yield server, ca
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def test_tls_with_the_ca_file(tls_server: tuple[HTTPServer, Path]) -> None:
    server, ca = tls_server
    url = server.url_for("/")
    assert url.startswith("https://")
    es = connect(url, environ={"ES_CA_CERTS": str(ca), "ES_USERNAME": "elastic", "ES_PASSWORD": "pw"})
    assert es.info()["version"]["number"] == "9.1.0"


def test_tls_without_the_ca_file_is_a_clear_error(tls_server: tuple[HTTPServer, Path]) -> None:
    server, _ = tls_server
    with pytest.raises(EsConnectionError) as info:
        connect(server.url_for("/"), environ={})
    message = str(info.value)
    assert "unreachable" in message and "CERTIFICATE_VERIFY_FAILED" in message and "ES_CA_CERTS" in message
