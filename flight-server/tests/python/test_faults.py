"""`kill -9` of `lienthong serve` in the middle of a large query, then a restart on the same
catalog and audit log: the ADBC client gets an error (never a short result that ends as if
complete), the log verifies, the killed query's `accepted` record is there, and the restarted
node answers and records again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import threading

import adbc_driver_flightsql.dbapi as flightsql
import pytest

from conftest import BINARY, catalog_with_own_audit, start_server, stop_server

# 20 000 citizens x 34 provinces: far more than one batch, read slowly.
LARGE = "SELECT c.citizen_id, c.full_name, p.province_name FROM population.citizens c CROSS JOIN reference.provinces p"
EXPECTED_ROWS = 20_000 * 34


def connect(uri: str, secrets: dict[str, str]):
    kwargs = {
        "username": "population-owner",
        "password": secrets["population-owner"],
        "adbc.flight.sql.rpc.call_header.x-lienthong-purpose": "data-stewardship",
    }
    return flightsql.connect(uri, db_kwargs=kwargs, autocommit=True)


def verify(audit) -> subprocess.CompletedProcess:
    return subprocess.run([str(BINARY), "audit", "verify", str(audit)], capture_output=True, text=True)


def records(audit) -> list[dict]:
    return [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]


# The driver complains, while a cursor whose server died is garbage-collected, that it was
# closed already ("Underflow in closing this AdbcStatement"): the driver's, not ours.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_kill_9_during_a_large_query_then_restart(demo_data):
    secrets = json.loads((demo_data / "demo-credentials.json").read_text())
    catalog = catalog_with_own_audit(demo_data / "catalog.yaml", "killed")
    audit = demo_data / "audit" / "killed.jsonl"
    process, uri, _ = start_server(catalog)

    read = 0
    outcome: dict[str, object] = {}
    first_batch = threading.Event()

    def client():
        nonlocal read
        try:
            with connect(uri, secrets) as conn, conn.cursor() as cur:
                cur.execute(LARGE)
                reader = cur.fetch_record_batch()
                for batch in reader:
                    read += batch.num_rows
                    first_batch.set()
                outcome["ended"] = True
        except Exception as e:  # the error the driver raises when the server dies
            outcome["error"] = e
        finally:
            first_batch.set()

    thread = threading.Thread(target=client)
    thread.start()
    assert first_batch.wait(120), "no first batch"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    thread.join(timeout=120)
    assert not thread.is_alive(), "the client hangs after the server died"
    if "ended" in outcome:
        # Only acceptable if everything had already arrived.
        assert read == EXPECTED_ROWS, f"a short result ({read} of {EXPECTED_ROWS} rows) ended as if complete"
    else:
        assert "error" in outcome
        assert read < EXPECTED_ROWS
        print(f"killed after {read} of {EXPECTED_ROWS} rows: {outcome['error']}")

    # The log of the killed node verifies; the query's acceptance is in it.
    checked = verify(audit)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    before = records(audit)
    accepted = [r for r in before if r["kind"] == "query" and (r.get("sql") or "").startswith("SELECT c.citizen_id")]
    assert accepted and accepted[-1]["outcome"] == "accepted"
    killed_id = accepted[-1]["query_id"]
    assert not any(r["kind"] == "completion" and r["query_id"] == killed_id for r in before)

    # Restarted on the same catalog and log: it answers, records, and the log still verifies.
    process, uri, _ = start_server(catalog)
    try:
        with connect(uri, secrets) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) AS n FROM population.citizens")
            assert cur.fetch_arrow_table().to_pylist() == [{"n": 20_000}]
    finally:
        stop_server(process)
    after = records(audit)
    assert len(after) >= len(before) + 2
    assert after[-1]["kind"] == "completion" and after[-1]["outcome"] == "completed"
    checked = verify(audit)
    assert checked.returncode == 0, checked.stdout + checked.stderr

