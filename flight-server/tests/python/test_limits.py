"""`lienthong serve` under abuse, with the real ADBC driver: queries that would run forever, a
client that leaves before the first batch, one request that would exhaust a thread's stack, an
anonymous caller sending request after request. Each server runs with its own audit log, which
must verify at the end."""

from __future__ import annotations

import subprocess
import time

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pytest
from conftest import BINARY, catalog_with_own_audit, start_server, stop_server

FOREVER = "SELECT count(*) FROM generate_series(1, 100000000000000)"


def connect(uri: str):
    return flightsql.connect(uri, autocommit=True)


def records(audit) -> list[dict]:
    import json

    return [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]


def verify(audit) -> None:
    verified = subprocess.run([str(BINARY), "audit", "verify", str(audit)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr


@pytest.fixture()
def limited(demo_data, request):
    """A server with a short query timeout and a small rate limit for `public`."""
    name = f"limits-{request.node.name}"
    catalog = catalog_with_own_audit(demo_data / "catalog.yaml", name)
    process, uri, _ = start_server(catalog, "--query-timeout", "3", "--public-rate-limit", "30")
    yield uri, demo_data / "audit" / f"{name}.jsonl"
    stop_server(process)


def test_a_query_that_would_run_forever_stops_at_the_time_limit(limited):
    uri, audit = limited
    started = time.monotonic()
    with connect(uri) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as failed:
            cur.execute(FOREVER)
            cur.fetchall()
    assert time.monotonic() - started < 30
    assert "time" in str(failed.value)
    assert any(r.get("outcome") == "failed" and "time" in (r.get("error") or "") for r in records(audit))
    verify(audit)


def test_a_client_that_leaves_before_the_first_batch_cancels_its_query(demo_data):
    catalog = catalog_with_own_audit(demo_data / "catalog.yaml", "limits-leaver")
    audit = demo_data / "audit" / "limits-leaver.jsonl"
    # No time limit: only the client's departure can stop the query.
    process, uri, _ = start_server(catalog, "--query-timeout", "0")
    try:
        script = (
            "import adbc_driver_flightsql.dbapi as f\n"
            f"c = f.connect({uri!r}, autocommit=True).cursor()\n"
            f"c.execute({FOREVER!r})\n"
            "c.fetchall()\n"
        )
        import sys

        client = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(r.get("outcome") == "accepted" for r in records_or_none(audit)):
            time.sleep(0.2)
        client.kill()
        client.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if any(r.get("kind") == "completion" and r.get("outcome") == "cancelled" for r in records_or_none(audit)):
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the query was not cancelled when its client left: {records_or_none(audit)}")
        # The server still answers.
        with connect(uri) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) AS n FROM reference.provinces")
            assert cur.fetchall() == [(34,)]
    finally:
        stop_server(process)
    verify(audit)


def records_or_none(audit) -> list[dict]:
    return records(audit) if audit.exists() else []


def test_one_request_cannot_abort_the_server(limited):
    uri, audit = limited
    terms = " OR ".join(f"ward_code = '{i % 7:05}'" for i in range(50_000))
    with connect(uri) as conn, conn.cursor() as cur:
        try:
            cur.execute(f"SELECT count(*) AS n FROM reference.wards WHERE {terms}")
            cur.fetchall()
        except adbc_driver_manager.Error as error:
            assert "too complex" in str(error), error
    with connect(uri) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) AS n FROM reference.provinces")
        assert cur.fetchall() == [(34,)]
    verify(audit)


def test_an_anonymous_flood_is_rate_limited(limited):
    uri, audit = limited
    refused = 0
    with connect(uri) as conn:
        for _ in range(60):
            try:
                with conn.cursor() as cur:
                    cur.execute("SELECT 1 AS one")
                    cur.fetchall()
            except adbc_driver_manager.Error as error:
                assert "requests a minute" in str(error), error
                refused += 1
    assert refused >= 20, refused
    verify(audit)
