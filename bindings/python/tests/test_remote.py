"""The remote session: `lienthong.connect` to a `lienthong serve` started by the test, with the
same answers as a local session, the same refusals, and the server's audit."""

from __future__ import annotations

import socket
import subprocess

import pyarrow.flight as paflight
import pytest

import lienthong
from conftest import BINARY, OPEN_TABLES, SCENARIOS, flight, normalise


@pytest.fixture(scope="module")
def server(demo_data, secrets):
    """`lienthong serve` on a free port, with an audit log of its own, verified at the end."""
    catalog = flight.catalog_with_own_audit(demo_data / "catalog.yaml", "python-remote")
    process, uri, _ = flight.start_server(catalog)
    yield uri
    flight.stop_server(process)
    audit = demo_data / "audit" / "python-remote.jsonl"
    verified = subprocess.run([str(BINARY), "audit", "verify", str(audit)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def login(uri: str, principal: str, purpose: str | None, secrets) -> lienthong.RemoteSession:
    if principal == "public":
        return lienthong.connect(uri)
    return lienthong.connect(uri, principal=principal, credential=secrets[principal], purpose=purpose)


@pytest.mark.parametrize("principal,purpose,sql", SCENARIOS, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(SCENARIOS)])
def test_remote_answers_are_the_local_answers(server, open_as, secrets, principal, purpose, sql):
    remote = login(server, principal, purpose, secrets).sql(sql).to_arrow()
    local = open_as(principal, purpose).sql(sql).to_arrow()
    assert remote.num_rows > 0
    assert normalise(remote.to_pylist()) == normalise(local.to_pylist())


def test_remote_tables_are_the_callers_own(server, open_as, secrets):
    assert set(lienthong.connect(server).tables()) == OPEN_TABLES
    officer = login(server, "ward-officer", "tthc", secrets)
    assert officer.tables() == sorted(open_as("ward-officer", "tthc").tables())
    assert "PolicyBarrier" in officer.explain("SELECT full_name FROM population.citizens")


def test_remote_parameters_go_through_a_prepared_statement(server, secrets):
    officer = login(server, "ward-officer", "tthc", secrets)
    sql = "SELECT citizen_id FROM population.citizens WHERE sex = $1 ORDER BY citizen_id LIMIT 5"
    assert officer.sql(sql, ["female"]).to_arrow().to_pylist() == officer.sql(sql.replace("$1", "'female'")).to_arrow().to_pylist()
    assert officer.sql(sql, ["x' OR '1'='1"]).to_arrow().num_rows == 0


def test_a_bearer_token_from_the_handshake_works(server, secrets):
    client = paflight.FlightClient(server)
    header, value = client.authenticate_basic_token("inspector", secrets["inspector"])
    assert header == b"authorization" and value.startswith(b"Bearer ")
    session = lienthong.connect(server, token=value.decode()[len("Bearer ") :], purpose="inspection")
    rows = session.sql("SELECT count(*) AS n FROM civil_servants.personnel").to_arrow()
    assert rows.column(0)[0].as_py() > 0


def test_remote_refusals_are_policy_denied(server, secrets):
    with pytest.raises(lienthong.PolicyDenied):
        lienthong.connect(server, principal="ward-officer", credential="wrong", purpose="tthc")
    with pytest.raises(lienthong.PolicyDenied):
        lienthong.connect(server, token="not-a-token", purpose="tthc").sql("SELECT 1").to_arrow()
    officer = login(server, "ward-officer", "tthc", secrets)
    with pytest.raises(lienthong.PolicyDenied):
        officer.sql("DROP TABLE population.citizens")
    with pytest.raises(lienthong.QueryError):
        officer.sql("SELECT * FROM civil_servants.personnel")
    statistician = login(server, "statistician", "statistics", secrets)
    with pytest.raises(lienthong.PolicyDenied):
        statistician.sql("SELECT date_of_birth FROM population.citizens").to_arrow()


def test_an_unreachable_server_is_a_source_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(lienthong.SourceError):
        lienthong.connect(f"grpc://127.0.0.1:{port}")
    with pytest.raises(ValueError, match="grpc://"):
        lienthong.connect(f"http://127.0.0.1:{port}")
