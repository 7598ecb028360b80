"""Getting a large governed result into a `pyarrow.Table` from Python, against the Rust API.

Both sides run in this process on the same catalog, session and query, with the same build of
the extension: the baseline reads the query's stream to the end in Rust and keeps the batches
(what `QueryStream::collect` does for a Rust caller, `lienthong._internal._drain`); the measured
paths are `QueryResult.to_arrow()` (read in Rust with Ctrl-C honoured, then handed to pyarrow
through the Arrow C stream) and `pyarrow.table(result)` (pyarrow pulls the C stream itself).
The ratios (best and median of N interleaved runs) are what to read; the rows are
`citizens x copies`.

    .venv/bin/python benches/python/to_arrow.py [--citizens 1000000] [--copies 10] [--runs 9]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pyarrow as pa

import lienthong
from lienthong import _internal

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = "citizen_id, full_name, date_of_birth, sex, current_ward_code, phone"


def interleaved(runs: int, paths: dict) -> dict[str, tuple[float, float, int]]:
    """Best and median seconds of each path, run in turn (a different one first each round), so
    that warm caches and a grown heap favour none of them."""
    names = list(paths)
    times: dict[str, list[float]] = {name: [] for name in names}
    rows: dict[str, int] = {}
    for round_ in range(runs):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            started = time.perf_counter()
            rows[name] = paths[name]()
            times[name].append(time.perf_counter() - started)
    return {name: (min(t), statistics.median(t), rows[name]) for name, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--citizens", type=int, default=1_000_000)
    parser.add_argument("--copies", type=int, default=10, help="UNION ALL copies of the citizens (rows = citizens x copies)")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--binary", default=os.environ.get("LIENTHONG_BIN", str(ROOT / "target" / "debug" / "lienthong")))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "demo"
        subprocess.run([args.binary, "--quiet", "generate", "--out", str(data), "--citizens", str(args.citizens)], check=True)
        secrets = json.loads((data / "demo-credentials.json").read_text())
        catalog = lienthong.Catalog.open(data / "catalog.yaml", pseudonym_key=b"benchmark key, not a real secret!")
        session = catalog.session("population-owner", purpose="data-stewardship", credential=secrets["population-owner"])
        query = " UNION ALL ".join([f"SELECT {COLUMNS} FROM population.citizens"] * args.copies)

        figures = interleaved(
            args.runs,
            {
                "Rust API (read to the end in Rust)": lambda: _internal._drain(session.sql(query)._inner),
                "QueryResult.to_arrow()": lambda: session.sql(query).to_arrow().num_rows,
                "pyarrow.table(result) (C stream)": lambda: pa.table(session.sql(query)).num_rows,
            },
        )
    expected = args.citizens * args.copies
    assert all(rows == expected for _, _, rows in figures.values()), figures
    baseline_best, baseline_median, _ = next(iter(figures.values()))
    print(f"{expected:,} rows, {len(COLUMNS.split(','))} columns, {args.runs} interleaved runs (best / median)")
    for name, (best, median, _) in figures.items():
        print(
            f"  {name:38} {best * 1000:8.1f} / {median * 1000:8.1f} ms"
            f"   ratio {best / baseline_best:.3f} / {median / baseline_median:.3f}"
        )


if __name__ == "__main__":
    main()
