"""Queries run with the GIL released: Ctrl-C cancels them (and the audit says so), other Python
threads run meanwhile, and sessions work from many threads at once."""

from __future__ import annotations

import _thread
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

import lienthong
from conftest import SCENARIOS, audit_records, normalise

#: A query that runs for many seconds on the demo data (a self-join of every citizen).
SLOW = (
    "SELECT count(*) AS pairs FROM population.citizens a JOIN population.citizens b "
    "ON a.citizen_id < b.citizen_id AND a.full_name <> b.full_name"
)


def test_ctrl_c_cancels_a_running_query_and_the_audit_records_it(catalog, open_as):
    session = open_as("population-owner", "data-stewardship")
    result = session.sql(SLOW)
    timer = threading.Timer(0.5, _thread.interrupt_main)
    started = time.monotonic()
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        result.to_arrow()
    assert time.monotonic() - started < 5
    records = [r for r in audit_records(Path(catalog.audit_path)) if r.get("query_id") == result.query_id]
    assert [(r["kind"], r["outcome"]) for r in records] == [("query", "accepted"), ("completion", "cancelled")]
    with pytest.raises(lienthong.QueryError, match="cancelled"):
        result.to_arrow()
    # The session is still usable.
    assert session.sql("SELECT count(*) FROM population.citizens").num_rows == 1


def test_other_threads_run_while_a_query_runs(open_as):
    session = open_as("population-owner", "data-stewardship")
    ticks = 0
    stop = threading.Event()

    def tick():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            time.sleep(0.001)

    ticker = threading.Thread(target=tick)
    ticker.start()
    try:
        started = time.monotonic()
        session.sql(SLOW.replace("a.citizen_id < b.citizen_id", "a.citizen_id < b.citizen_id AND a.sex = 'female'")).to_arrow()
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        ticker.join()
    # With the GIL held for the query, the ticker would not have moved at all.
    assert elapsed > 0.2 and ticks > elapsed * 50, (elapsed, ticks)


def test_a_timeout_is_a_limit(demo_data, tmp_path, secrets):
    catalog = lienthong.Catalog.open(demo_data / "catalog.yaml", audit_path=tmp_path / "audit.jsonl", timeout_seconds=0.3)
    session = catalog.session("population-owner", purpose="data-stewardship", credential=secrets["population-owner"])
    with pytest.raises(lienthong.LimitExceeded, match="out of time"):
        session.sql(SLOW).to_arrow()


def test_concurrent_sessions_from_threads_give_the_serial_answers(open_as):
    queries = [(p, purpose, sql) for p, purpose, sql in SCENARIOS] * 3
    sessions = {(p, purpose): open_as(p, purpose) for p, purpose, _ in SCENARIOS}
    serial = [normalise(sessions[(p, purpose)].sql(sql).to_arrow().to_pylist()) for p, purpose, sql in queries]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(lambda q: normalise(sessions[(q[0], q[1])].sql(q[2]).to_arrow().to_pylist()), queries))
    assert parallel == serial
    # Sessions opened from threads, too.
    with ThreadPoolExecutor(max_workers=4) as pool:
        opened = list(pool.map(lambda q: open_as(q[0], q[1]).principal, SCENARIOS))
    assert opened == [p for p, _, _ in SCENARIOS]
