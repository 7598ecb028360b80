"""lienthong next to what an agency would use instead, on the same Parquet files, in one process
and one run, interleaved: the governed workload through the lienthong Python package, the same
questions asked of DuckDB and of datafusion-python with the policy written into the SQL by hand
(ungoverned: no audit, no checks), and point lookups by citizen ID, also over Flight SQL: a
`lienthong serve` on the same catalog, asked with the ADBC driver as a service would.

    .venv/bin/python benches/python/vs_duckdb.py --citizens 1000000

Generates the demo data with `lienthong generate` (target/release/lienthong if built, else
target/debug) into a temporary directory unless `--data DIR` names one. Prints, per query, the
median of `--rounds` runs of each engine and the ratios; for lookups, p50 and p95. Answers are
compared by row count (the governed answer carries pseudonyms and masks the hand-written SQL
reproduces only where it can).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql
import datafusion
import duckdb
import pyarrow.parquet as pq
from soak import serve

import lienthong

ROOT = Path(__file__).resolve().parents[2]

# name, principal, purpose, governed SQL, the same question with the policy written by hand.
WORKLOAD = [
    (
        "paperless (ward officer, 3-way join)",
        "ward-officer",
        "tthc",
        "SELECT c.citizen_id, c.full_name, c.phone, r.parcel_id, p.area_m2 FROM population.citizens c "
        "JOIN land.rights r ON r.holder_citizen_id = c.citizen_id JOIN land.parcels p ON p.parcel_id = r.parcel_id",
        "SELECT c.citizen_id, c.full_name, concat(repeat('*', character_length(c.phone) - 3), right(c.phone, 3)) AS phone, "
        "r.parcel_id, p.area_m2 FROM (SELECT * FROM citizens WHERE current_ward_code = '00070') c "
        "JOIN (SELECT * FROM rights WHERE ward_code = '00070') r ON r.holder_citizen_id = c.citizen_id "
        "JOIN (SELECT * FROM parcels WHERE ward_code = '00070') p ON p.parcel_id = r.parcel_id",
    ),
    (
        "statistics (aggregate-only, k = 10)",
        "statistician",
        "statistics",
        "SELECT current_province_code, sex, count(*) AS n FROM population.citizens GROUP BY 1, 2",
        "SELECT current_province_code, sex, count(*) AS n FROM citizens GROUP BY 1, 2 HAVING count(*) >= 10",
    ),
    (
        "land planning (province, pseudonyms)",
        "land-officer",
        "land-management",
        "SELECT p.ward_code, count(*) AS n, count(DISTINCT r.holder_citizen_id) AS holders FROM land.parcels p "
        "JOIN land.rights r ON r.parcel_id = p.parcel_id GROUP BY p.ward_code",
        "SELECT p.ward_code, count(*) AS n, count(DISTINCT r.holder_citizen_id) AS holders "
        "FROM (SELECT * FROM parcels WHERE province_code = '01') p "
        "JOIN (SELECT * FROM rights WHERE province_code = '01') r ON r.parcel_id = p.parcel_id GROUP BY p.ward_code",
    ),
    (
        "ward x sex (owner)",
        "population-owner",
        "data-stewardship",
        "SELECT current_ward_code, sex, count(*) AS n FROM population.citizens GROUP BY 1, 2",
        "SELECT current_ward_code, sex, count(*) AS n FROM citizens GROUP BY 1, 2",
    ),
    (
        "filtered count (owner)",
        "population-owner",
        "data-stewardship",
        "SELECT count(*) AS n FROM population.citizens WHERE current_province_code = '79' AND sex = 'female'",
        "SELECT count(*) AS n FROM citizens WHERE current_province_code = '79' AND sex = 'female'",
    ),
]

LOOKUP_GOVERNED = "SELECT * FROM population.citizens WHERE citizen_id = '{id}'"
LOOKUP_RAW = "SELECT * FROM citizens WHERE citizen_id = '{id}'"


def binary() -> Path:
    for profile in ("release", "debug"):
        candidate = ROOT / "target" / profile / "lienthong"
        if candidate.exists():
            return candidate
    sys.exit("build lienthong first: cargo build --release --bin lienthong")


def timed(run) -> tuple[float, int]:
    started = time.perf_counter()
    rows = run()
    return time.perf_counter() - started, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--lookups", type=int, default=200)
    parser.add_argument("--data", type=Path, help="demo data made by `lienthong generate` (default: a new one)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="lienthong-vs-duckdb-"))
    data = args.data or scratch / "data"
    if args.data is None:
        subprocess.run(
            [str(binary()), "--quiet", "generate", "--out", str(data), "--citizens", str(args.citizens)], check=True
        )
    secrets = json.loads((data / "demo-credentials.json").read_text())
    catalog = lienthong.Catalog.open(
        data / "catalog.yaml", audit_path=scratch / "audit.jsonl", pseudonym_key=b"vs-duckdb bench, not a secret"
    )
    sessions = {}
    for _, principal, purpose, _, _ in WORKLOAD:
        sessions[principal] = catalog.session(principal, purpose=purpose, credential=secrets[principal])

    files = {
        "citizens": data / "population" / "citizens.parquet",
        "rights": data / "land" / "rights.parquet",
        "parcels": data / "land" / "parcels.parquet",
    }
    duck = duckdb.connect()
    fusion = datafusion.SessionContext()
    for name, path in files.items():
        duck.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")
        fusion.register_parquet(name, str(path))

    engines = {
        "lienthong": lambda governed, raw, p: sessions[p].sql(governed).to_arrow().num_rows,
        "duckdb": lambda governed, raw, p: duck.sql(raw).to_arrow_table().num_rows,
        "datafusion": lambda governed, raw, p: fusion.sql(raw).to_arrow_table().num_rows,
    }
    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds + 1):  # the first round warms the caches and is not counted
        for name, principal, _, governed, raw in WORKLOAD:
            counts = {}
            for engine, run in engines.items():
                seconds, counts[engine] = timed(lambda: run(governed, raw, principal))
                times.setdefault((name, engine), []).append(seconds)
            if len(set(counts.values())) != 1:
                sys.exit(f"{name}: the answers differ in size: {counts}")
    print(f"lienthong {lienthong.__version__}, DuckDB {duckdb.__version__}, datafusion-python {datafusion.__version__}")
    people = pq.ParquetFile(data / "population" / "citizens.parquet").metadata.num_rows
    print(f"{people:,} citizens, median of {args.rounds} interleaved rounds")
    print(f"{'query':<40} {'lienthong':>11} {'DuckDB':>11} {'DataFusion':>11} {'/DuckDB':>8} {'/DataFusion':>12}")
    ratios = []
    for name, *_ in WORKLOAD:
        median = {e: statistics.median(times[(name, e)][1:]) * 1e3 for e in engines}
        ratios.append(median["lienthong"] / median["duckdb"])
        print(
            f"{name:<40} {median['lienthong']:>9.1f}ms {median['duckdb']:>9.1f}ms {median['datafusion']:>9.1f}ms "
            f"{median['lienthong'] / median['duckdb']:>8.2f} {median['lienthong'] / median['datafusion']:>12.2f}"
        )
    print(f"{'median ratio to DuckDB over the workload':<40} {statistics.median(ratios):>48.2f}")

    ids = [
        row["citizen_id"]
        for row in duck.sql(
            f"SELECT citizen_id FROM citizens USING SAMPLE {args.lookups} ROWS (reservoir, 7)"
        ).to_arrow_table().to_pylist()
    ]
    owner = sessions["population-owner"]
    # The same owner over Flight SQL: its own server process, audit log and sessions.
    server, uri = serve(binary(), data / "catalog.yaml", "--rate-limit", "10000000",
                        key="vs-duckdb bench, not a secret")
    flight = flightsql.connect(uri, db_kwargs={
        "username": "population-owner", "password": secrets["population-owner"],
        "adbc.flight.sql.rpc.call_header.x-lienthong-purpose": "data-stewardship",
    }, autocommit=True)

    def over_flight(citizen: str) -> int:
        with flight.cursor() as cur:
            cur.execute(LOOKUP_GOVERNED.format(id=citizen))
            return cur.fetch_arrow_table().num_rows

    lookups = {
        "lienthong": lambda i: owner.sql(LOOKUP_GOVERNED.format(id=i)).to_arrow().num_rows,
        "lienthong over Flight SQL (ADBC)": over_flight,
        "duckdb": lambda i: duck.sql(LOOKUP_RAW.format(id=i)).to_arrow_table().num_rows,
        "datafusion": lambda i: fusion.sql(LOOKUP_RAW.format(id=i)).to_arrow_table().num_rows,
    }
    latency: dict[str, list[float]] = {e: [] for e in lookups}
    try:
        for run in lookups.values():
            run(ids[0])  # warm: connections, caches
        for citizen in ids:
            for engine, run in lookups.items():
                seconds, rows = timed(lambda: run(citizen))
                if rows != 1:
                    sys.exit(f"{engine}: {rows} rows for citizen {citizen}")
                latency[engine].append(seconds * 1e3)
    finally:
        flight.close()
        server.terminate()
        server.wait(timeout=60)
    print(f"point lookups by citizen ID ({len(ids)} random IDs, interleaved)")
    for engine, values in latency.items():
        values.sort()
        p50 = values[len(values) // 2]
        p95 = values[int(len(values) * 0.95) - 1]
        print(f"  {engine:<34} p50 {p50:7.2f} ms   p95 {p95:7.2f} ms")


if __name__ == "__main__":
    main()
