"""Identity beyond secrets, with real clients: client certificates (mutual TLS) mapped to principals
by the catalog, and JSON Web Tokens from an issuer the catalog trusts, through the ADBC driver and
pyarrow.flight against `lienthong serve --tls-client-ca`."""

from __future__ import annotations

import base64
import datetime
import ipaddress
import json
import subprocess
import time

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow.flight as fl
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.x509.oid import NameOID

from conftest import BINARY, OPEN_TABLES, SCENARIOS, catalog_with_own_audit, normalise, start_server, stop_server

ISSUER = "https://sso.hoankiem.test/realms/egov"
AUDIENCE = "lienthong-demo"
WARD_CN = "ward-officer.hoankiem.test"
ADBC = "adbc.flight.sql."


def pem(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())


def certificate(common_name: str, issuer_key, issuer_name: x509.Name | None = None, ca: bool = False, ip: bool = False):
    """A certificate for `common_name`, signed by `issuer_key` (self-signed without `issuer_name`)."""
    key = issuer_key if issuer_name is None else ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer_name or name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ip:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    return cert, key


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(key, claims: dict) -> str:
    """An ES256 JSON Web Token, signed by hand as an identity provider would."""
    signing_input = b64(json.dumps({"alg": "ES256", "typ": "JWT"}).encode()) + "." + b64(json.dumps(claims).encode())
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return signing_input + "." + b64(r.to_bytes(32, "big") + s.to_bytes(32, "big"))


class Identity:
    def __init__(self, uri, ca_pem, clients, token_key, server):
        self.uri = uri
        self.ca_pem = ca_pem
        self.clients = clients  # name -> (cert PEM, key PEM)
        self.token_key = token_key
        self.server = server

    def token(self, principal: str, lifetime: int = 600) -> str:
        return jwt(self.token_key, {"iss": ISSUER, "aud": AUDIENCE, "sub": principal, "exp": int(time.time()) + lifetime})

    def adbc(self, client: str | None = None, token: str | None = None, purpose: str | None = None):
        kwargs = {ADBC + "client_option.tls_root_certs": self.ca_pem.decode()}
        if client is not None:
            cert, key = self.clients[client]
            kwargs[ADBC + "client_option.mtls_cert_chain"] = cert.decode()
            kwargs[ADBC + "client_option.mtls_private_key"] = key.decode()
        if token is not None:
            kwargs[ADBC + "authorization_header"] = "Bearer " + token
        if purpose is not None:
            kwargs[ADBC + "rpc.call_header.x-lienthong-purpose"] = purpose
        return flightsql.connect(self.uri, db_kwargs=kwargs, autocommit=True)

    def flight(self, client: str | None = None) -> fl.FlightClient:
        if client is None:
            return fl.FlightClient(self.uri, tls_root_certs=self.ca_pem)
        cert, key = self.clients[client]
        return fl.FlightClient(self.uri, tls_root_certs=self.ca_pem, cert_chain=cert, private_key=key)


@pytest.fixture(scope="module")
def identity(server, tmp_path_factory):
    """A CA, client certificates, a token issuer's key, and `lienthong serve` trusting them, with
    client certificates optional (token holders connect without one)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca, _ = certificate("lienthong test CA", ca_key, ca=True)
    server_cert, server_key = certificate("127.0.0.1", ca_key, ca.subject, ip=True)
    clients = {}
    for name, cn in [("ward", WARD_CN), ("inspector", "inspector.test"), ("stranger", "somebody.test")]:
        cert, key = certificate(cn, ca_key, ca.subject)
        clients[name] = (cert.public_bytes(serialization.Encoding.PEM), pem(key))
    rogue_ca_key = ec.generate_private_key(ec.SECP256R1())
    rogue_ca, _ = certificate("lienthong test CA", rogue_ca_key, ca=True)
    cert, key = certificate(WARD_CN, rogue_ca_key, rogue_ca.subject)
    clients["rogue"] = (cert.public_bytes(serialization.Encoding.PEM), pem(key))
    inspector_fingerprint = x509.load_pem_x509_certificate(clients["inspector"][0]).fingerprint(hashes.SHA256()).hex()

    token_key = ec.generate_private_key(ec.SECP256R1())
    data = server.catalog.parent
    (data / "identity-sso.pem").write_bytes(
        token_key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )

    def certificates(text: str) -> str:
        for principal, line in [
            ("ward-officer", f"certificates: [{{ common_name: {WARD_CN} }}]"),
            ("inspector", f'certificates: [{{ sha256: "{inspector_fingerprint}" }}]'),
        ]:
            entry = f"\n  {principal}:\n"
            assert text.count(entry) == 1, principal
            text = text.replace(entry, f"{entry}    {line}\n")
        return text

    issuer = (
        f"token_issuers:\n  hoankiem-sso:\n    issuer: {ISSUER}\n    audience: {AUDIENCE}\n"
        "    keys: [identity-sso.pem]\n    principals: [ward-officer, land-officer]\n"
    )
    catalog = catalog_with_own_audit(server.catalog, "identity", issuer, certificates)

    files = tmp_path_factory.mktemp("pki")
    for name, content in [
        ("ca.pem", ca.public_bytes(serialization.Encoding.PEM)),
        ("server.pem", server_cert.public_bytes(serialization.Encoding.PEM)),
        ("server-key.pem", pem(server_key)),
    ]:
        (files / name).write_bytes(content)
    process, uri, _ = start_server(
        catalog,
        *("--tls-cert", str(files / "server.pem"), "--tls-key", str(files / "server-key.pem")),
        *("--tls-client-ca", str(files / "ca.pem"), "--tls-client-optional"),
    )
    yield Identity(uri, ca.public_bytes(serialization.Encoding.PEM), clients, token_key, server)
    stop_server(process)
    audit = data / "audit" / "identity.jsonl"
    verified = subprocess.run([str(BINARY), "audit", "verify", str(audit)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    principals = {json.loads(line).get("principal") for line in audit.read_text().splitlines() if line.strip()}
    assert {"ward-officer", "inspector"} <= principals and "land-officer" not in principals


def scenario(principal: str):
    return next((purpose, sql) for p, purpose, sql in SCENARIOS if p == principal)


def answer(conn, sql: str) -> list[dict]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return normalise(cur.fetch_arrow_table().to_pylist())


@pytest.mark.parametrize("client,principal", [("ward", "ward-officer"), ("inspector", "inspector")])
def test_adbc_with_a_client_certificate_queries_as_its_principal(identity, client, principal):
    purpose, sql = scenario(principal)
    with identity.adbc(client=client, purpose=purpose) as conn:
        assert answer(conn, sql) == identity.server.expected[sql]


def test_adbc_with_a_jwt_queries_as_its_principal(identity):
    purpose, sql = scenario("ward-officer")
    with identity.adbc(token=identity.token("ward-officer"), purpose=purpose) as conn:
        assert answer(conn, sql) == identity.server.expected[sql]


@pytest.mark.parametrize(
    "what",
    ["expired", "other principal", "other key", "tampered"],
)
def test_adbc_refuses_tokens_an_attacker_would_bring(identity, what):
    purpose, sql = scenario("ward-officer")
    token = identity.token("ward-officer")
    if what == "expired":
        token = identity.token("ward-officer", lifetime=-600)
    elif what == "other principal":
        token = identity.token("inspector")  # the issuer may not vouch for the inspector
    elif what == "other key":
        token = jwt(ec.generate_private_key(ec.SECP256R1()), {"iss": ISSUER, "aud": AUDIENCE, "sub": "ward-officer", "exp": int(time.time()) + 600})
    elif what == "tampered":
        header, _, signature = token.split(".")
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "land-officer", "exp": int(time.time()) + 600}
        token = f"{header}.{b64(json.dumps(claims).encode())}.{signature}"
    with pytest.raises(adbc_driver_manager.Error) as refused:
        with identity.adbc(token=token, purpose=purpose) as conn:
            answer(conn, sql)
    assert "invalid or expired token" in str(refused.value)


def test_a_certificate_with_another_principals_token_is_refused(identity):
    purpose, sql = scenario("ward-officer")
    with pytest.raises(adbc_driver_manager.Error) as refused:
        with identity.adbc(client="inspector", token=identity.token("ward-officer"), purpose=purpose) as conn:
            answer(conn, sql)
    assert "invalid or expired token" in str(refused.value)


def test_pyarrow_flight_with_a_client_certificate(identity):
    options = fl.FlightCallOptions(headers=[(b"x-lienthong-purpose", b"tthc")], timeout=30)
    officer = {".".join(p.decode() for p in f.descriptor.path) for f in identity.flight("ward").list_flights(options=options)}
    assert "population.citizens" in officer and OPEN_TABLES <= officer
    # A certificate the catalog does not map, or none: `public`, open tables only.
    for client in ["stranger", None]:
        flights = identity.flight(client).list_flights(options=fl.FlightCallOptions(timeout=30))
        assert {".".join(p.decode() for p in f.descriptor.path) for f in flights} == OPEN_TABLES
    # A certificate from another CA, even with the right name, gets no connection.
    with pytest.raises(fl.FlightError):
        list(identity.flight("rogue").list_flights(options=fl.FlightCallOptions(timeout=10)))
    # The handshake with the certificate alone hands out a token for its principal.
    token = identity.flight("ward").authenticate_basic_token("", "", options=fl.FlightCallOptions(timeout=30))
    assert token[0] == b"authorization" and token[1].startswith(b"Bearer ")
