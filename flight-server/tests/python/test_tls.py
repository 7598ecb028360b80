"""`lienthong serve --tls-cert --tls-key`: clients that trust the certificate connect over TLS;
plaintext clients and clients that do not trust it are refused."""

from __future__ import annotations

import datetime
import ipaddress

import pyarrow.flight as fl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import OPEN_TABLES, catalog_with_own_audit, start_server, stop_server


def self_signed(directory):
    """A certificate for 127.0.0.1 and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "lienthong test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_pem = cert.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "cert.pem").write_bytes(cert_pem)
    (directory / "key.pem").write_bytes(key_pem)
    return directory / "cert.pem", directory / "key.pem", cert_pem


@pytest.fixture(scope="module")
def tls_server(demo_data, tmp_path_factory):
    cert, key, cert_pem = self_signed(tmp_path_factory.mktemp("tls"))
    catalog = catalog_with_own_audit(demo_data / "catalog.yaml", "tls")
    process, uri, _ = start_server(catalog, "--tls-cert", str(cert), "--tls-key", str(key))
    yield uri, cert_pem
    stop_server(process)


def test_a_client_that_trusts_the_certificate_connects(tls_server):
    uri, cert_pem = tls_server
    assert uri.startswith("grpc+tls://")
    client = fl.FlightClient(uri, tls_root_certs=cert_pem)
    paths = {".".join(p.decode() for p in f.descriptor.path) for f in client.list_flights()}
    assert paths == OPEN_TABLES


def test_plaintext_and_untrusting_clients_are_refused(tls_server):
    uri, _ = tls_server
    plaintext = fl.FlightClient(uri.replace("grpc+tls://", "grpc://"))
    with pytest.raises(fl.FlightError):
        list(plaintext.list_flights(options=fl.FlightCallOptions(timeout=5)))
    untrusting = fl.FlightClient(uri)
    with pytest.raises(fl.FlightError):
        list(untrusting.list_flights(options=fl.FlightCallOptions(timeout=5)))
