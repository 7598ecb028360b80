"""Getting a large governed result into a `pyarrow.Table` from Python, against the Rust API.

Both sides run in this process on the same catalog, session and query, with the same build of
the extension: the baseline reads the query's stream to the end in Rust and keeps the batches
(what `QueryStream::collect` does for a Rust caller, `lienthong._internal._drain`); the measured
paths are `QueryResult.to_arrow()` (read in Rust with Ctrl-C honoured, then handed to pyarrow
through the Arrow C stream) and `pyarrow.table(result)` (pyarrow pulls the C stream itself).
The ratio, best of N runs each, is what to read; the rows are `citizens x copies`.

    .venv/bin/python benches/python/to_arrow.py [--citizens 1000000] [--copies 10] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa

import lienthong
from lienthong import _internal

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = "citizen_id, full_name, date_of_birth, sex, current_ward_code, phone"


def best_of(runs: int, work) -> tuple[float, int]:
    best, rows = float("inf"), 0
    for _ in range(runs):
        started = time.perf_counter()
        rows = work()
        best = min(best, time.perf_counter() - started)
    return best, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=10, help="UNION ALL copies of the citizens (rows = citizens x copies)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--binary", default=os.environ.get("LIENTHONG_BIN", str(ROOT / "target" / "debug" / "lienthong")))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "demo"
        subprocess.run([args.binary, "--quiet", "generate", "--out", str(data), "--citizens", str(args.citizens)], check=True)
        secrets = json.loads((data / "demo-credentials.json").read_text())
        catalog = lienthong.Catalog.open(data / "catalog.yaml", pseudonym_key=b"benchmark key, not a real secret!")
        session = catalog.session("population-owner", purpose="data-stewardship", credential=secrets["population-owner"])
        query = " UNION ALL ".join([f"SELECT {COLUMNS} FROM population.citizens"] * args.copies)

        rust, rows = best_of(args.runs, lambda: _internal._drain(session.sql(query)._inner))
        to_arrow, rows_a = best_of(args.runs, lambda: session.sql(query).to_arrow().num_rows)
        streamed, rows_s = best_of(args.runs, lambda: pa.table(session.sql(query)).num_rows)
        assert rows == rows_a == rows_s == args.citizens * args.copies, (rows, rows_a, rows_s)

    print(f"{rows:,} rows, {len(COLUMNS.split(','))} columns, best of {args.runs}")
    print(f"  Rust API (read to the end in Rust)   {rust * 1000:9.1f} ms")
    print(f"  QueryResult.to_arrow()               {to_arrow * 1000:9.1f} ms   ratio {to_arrow / rust:.3f}")
    print(f"  pyarrow.table(result) (C stream)     {streamed * 1000:9.1f} ms   ratio {streamed / rust:.3f}")


if __name__ == "__main__":
    main()
