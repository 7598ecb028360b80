"""Peak resident memory of `lienthong serve` while it answers the governed workload, measured from
outside the server process (so the data generator's memory is not counted, as it is in the
in-process `governed` bench).

The server runs with a memory pool per query (`--query-memory-mib`, default 1024: sorts, joins
and aggregates spill beyond it). Each query is asked over Flight SQL with the ADBC driver; before
each, the server's peak is reset (`/proc/<pid>/clear_refs`), and after it the peak (`VmHWM`) is
read. Not part of the test suite; the figures go in benches/README.md.

    .venv/bin/python benches/python/memory.py [--citizens 10000000] [--memory-mib 1024]
        [--binary target/release/lienthong] [--data DIR]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql

from soak import ROOT, serve, status_kib

# (label, principal, purpose, query): the governed bench's queries, as their principals.
QUERIES = [
    ("paperless (ward officer, 3-way join)", "ward-officer", "tthc",
     "SELECT c.citizen_id, c.full_name, c.phone, r.parcel_id, p.area_m2 FROM population.citizens c "
     "JOIN land.rights r ON r.holder_citizen_id = c.citizen_id JOIN land.parcels p ON p.parcel_id = r.parcel_id"),
    ("statistics (aggregate-only)", "statistician", "statistics",
     "SELECT current_province_code, sex, count(*) AS n FROM population.citizens GROUP BY 1, 2"),
    ("land planning (pseudonyms)", "land-officer", "land-management",
     "SELECT p.ward_code, count(*) AS n, count(DISTINCT r.holder_citizen_id) AS holders FROM land.parcels p "
     "JOIN land.rights r ON r.parcel_id = p.parcel_id GROUP BY p.ward_code"),
    ("owner: every citizen with their household's members (3-way join, no filter)", "population-owner", "data-stewardship",
     "SELECT count(*) AS n, count(DISTINCT c.current_ward_code) AS wards FROM population.citizens c "
     "JOIN population.households h ON h.household_id = c.household_id "
     "JOIN population.citizens m ON m.household_id = h.household_id"),
]


def citizens(data: Path) -> int:
    import pyarrow.parquet as pq
    return pq.ParquetFile(data / "population" / "citizens.parquet").metadata.num_rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--citizens", type=int, default=10_000_000)
    parser.add_argument("--memory-mib", type=int, default=1024)
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "lienthong"))
    parser.add_argument("--data", help="demo data made by `lienthong generate` (made afresh if absent)")
    args = parser.parse_args()
    binary = Path(args.binary)
    if not binary.exists():
        sys.exit(f"{binary} is missing: cargo build --release --bin lienthong (or pass --binary)")
    data = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix="lienthong-memory-")) / "data"
    if not (data / "catalog.yaml").exists():
        subprocess.run([str(binary), "--quiet", "generate", "--out", str(data), "--citizens", str(args.citizens)],
                       check=True)
    secrets = json.loads((data / "demo-credentials.json").read_text())
    server, uri = serve(binary, data / "catalog.yaml", "--query-memory-mib", str(args.memory_mib),
                        key="memory bench secret, not a real one")
    idle = status_kib(server.pid)
    print(f"lienthong serve, {citizens(data):,} citizens, {args.memory_mib} MiB per query; "
          f"resident after start: {idle / 1024:.0f} MiB")
    print("| query | rows | seconds | server peak RSS |\n|---|---|---|---|")
    failed = False
    try:
        for label, principal, purpose, sql in QUERIES:
            Path(f"/proc/{server.pid}/clear_refs").write_text("5")
            with flightsql.connect(uri, db_kwargs={
                "username": principal, "password": secrets[principal],
                "adbc.flight.sql.rpc.call_header.x-lienthong-purpose": purpose,
            }, autocommit=True) as conn, conn.cursor() as cur:
                started = time.perf_counter()
                try:
                    cur.execute(sql)
                    rows = cur.fetch_arrow_table().num_rows
                except Exception as e:  # reported, and the run fails
                    print(f"| {label} | failed: {str(e)[:200]} | | |")
                    failed = True
                    continue
                seconds = time.perf_counter() - started
            print(f"| {label} | {rows:,} | {seconds:.2f} | {status_kib(server.pid, 'VmHWM') / 1024:.0f} MiB |")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
