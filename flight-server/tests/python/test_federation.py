"""The ADBC Flight SQL driver against the Hà Nội LGSP node of `lienthong demo --federated`: three
real `lienthong serve` processes, the owners answering the LGSP under their own policies. The
answers must be the single-node answers (the CLI's, on the single demo catalog)."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql
import pytest

from conftest import BINARY, ENV, SCENARIOS, normalise


class Lgsp:
    def __init__(self, uri: str, nodes: Path, secrets: dict[str, str], expected: dict):
        self.uri = uri
        self.nodes = nodes
        self.secrets = secrets
        self.expected = expected

    def audit(self, node: str) -> list[dict]:
        log = self.nodes / node / "audit" / "audit.jsonl"
        return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def lgsp(server, demo_data: Path):
    process = subprocess.Popen(
        [str(BINARY), "--quiet", "demo", "--federated", "--dir", str(demo_data)],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        env=ENV,
    )
    assert process.stdout is not None
    uri = None
    deadline = time.monotonic() + 120
    while uri is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if m := re.search(r"Connect to the LGSP at (grpc://\S+)", line):
            uri = m.group(1)
    if uri is None:
        process.kill()
        pytest.fail("lienthong demo --federated did not start its nodes")
    yield Lgsp(uri, demo_data / "nodes", server.secrets, server.expected)
    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=30) == 0


def connect(lgsp: Lgsp, principal: str | None, purpose: str | None):
    kwargs: dict[str, str] = {}
    if principal is not None:
        kwargs["username"] = principal
        kwargs["password"] = lgsp.secrets[principal]
    if purpose is not None:
        kwargs["adbc.flight.sql.rpc.call_header.x-lienthong-purpose"] = purpose
    return flightsql.connect(lgsp.uri, db_kwargs=kwargs, autocommit=True)


@pytest.mark.parametrize("principal,purpose,sql", SCENARIOS, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(SCENARIOS)])
def test_the_lgsp_gives_the_single_node_answers(lgsp, principal, purpose, sql):
    with connect(lgsp, None if principal == "public" else principal, purpose) as conn, conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    assert table.num_rows > 0
    assert normalise(table.to_pylist()) == lgsp.expected[sql]


def test_the_owners_log_the_caller_arriving_through_the_lgsp(lgsp):
    sql = "SELECT count(*) AS outside_the_ward FROM population.citizens WHERE current_ward_code <> '00070'"
    with connect(lgsp, "ward-officer", "tthc") as conn, conn.cursor() as cur:
        cur.execute(sql)
        assert cur.fetch_arrow_table().to_pylist() == [{"outside_the_ward": 0}]
    at_lgsp = [r for r in lgsp.audit("hanoi_lgsp") if r["kind"] == "query" and r.get("remote_calls")]
    correlation = at_lgsp[-1]["remote_calls"][0]["correlation_id"]
    at_owner = [r for r in lgsp.audit("mps") if r.get("via", {}).get("correlation_id") == correlation]
    assert at_owner, "the population owner logged the call"
    assert at_owner[0]["via"]["node"] == "hanoi_lgsp"
    assert at_owner[0]["principal"] == "ward-officer"
    assert at_owner[0]["purpose"] == "tthc"
    traced = subprocess.run(
        [str(BINARY), "audit", "trace", correlation]
        + [a for node in ("hanoi_lgsp", "mps") for a in ("--log", str(lgsp.nodes / node / "audit" / "audit.jsonl"))],
        capture_output=True,
        text=True,
    )
    assert traced.returncode == 0, traced.stderr
    assert "mps" in traced.stdout and "hanoi_lgsp" in traced.stdout
