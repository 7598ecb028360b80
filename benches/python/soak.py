"""Soak and load: many concurrent ADBC Flight SQL clients against one `lienthong serve`.

Each client thread has its own connections and runs, until the time is up, a random mix of the
six scenarios of domain.md §5 (as their principals) and large scans. Every few seconds the
server's resident memory and open file descriptors are sampled. At the end the server is stopped
(SIGTERM), its audit log verified with `lienthong audit verify`, and the log checked to hold
exactly one `accepted` and one completion record for each query the clients ran.

Not part of the test suite (it runs for minutes); the figures go in SECURITY.md.

    .venv/bin/python benches/python/soak.py [--clients 64] [--minutes 10] [--citizens 100000]
        [--binary target/release/lienthong]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import adbc_driver_flightsql.dbapi as flightsql

ROOT = Path(__file__).resolve().parents[2]

# (principal, purpose, query): the six scenarios, and large scans.
WORKLOAD = [
    ("ward-officer", "tthc",
     "SELECT c.citizen_id, c.full_name, c.phone, r.parcel_id, p.area_m2 FROM population.citizens c "
     "JOIN land.rights r ON r.holder_citizen_id = c.citizen_id JOIN land.parcels p ON p.parcel_id = r.parcel_id"),
    ("business-registrar", "business-registration",
     "SELECT enterprise_code, name, status, legal_representative_id FROM business.enterprises"),
    ("inspector", "inspection",
     "SELECT p.personnel_no, p.citizen_id, e.enterprise_code FROM civil_servants.personnel p "
     "JOIN business.enterprises e ON e.legal_representative_id = p.citizen_id"),
    ("statistician", "statistics",
     "SELECT current_province_code, sex, count(*) AS people FROM population.citizens GROUP BY 1, 2"),
    ("land-officer", "land-management",
     "SELECT p.parcel_id, p.ward_code, p.area_m2, r.holder_kind, r.holder_citizen_id "
     "FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id"),
    ("population-owner", "data-stewardship",
     "SELECT current_ward_code, sex, count(*) FROM population.citizens GROUP BY 1, 2"),
    # Large scans.
    ("population-owner", "data-stewardship",
     "SELECT citizen_id, full_name, date_of_birth, current_ward_code FROM population.citizens"),
    ("land-officer", "land-management", "SELECT * FROM land.parcels"),
]


def status_kib(pid: int, field: str = "VmRSS") -> int:
    """A memory figure of process `pid` from /proc (`VmRSS`: resident now, `VmHWM`: peak), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return 0


def rss_kib(pid: int) -> int:
    return status_kib(pid)


def serve(binary: Path, catalog: Path, *args: str, key: str) -> tuple[subprocess.Popen, str]:
    """`lienthong serve` on a free loopback port with `args`; the process and its grpc:// URI."""
    env = {**os.environ, "LIENTHONG_PSEUDONYM_KEY": key}
    server = subprocess.Popen(
        [str(binary), "serve", "--catalog", str(catalog), "--addr", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    assert server.stdout is not None
    while True:
        line = server.stdout.readline()
        if not line:
            sys.exit("lienthong serve did not start")
        if m := re.search(r"on (grpc://\S+)", line):
            threading.Thread(target=lambda: server.stdout.read(), daemon=True).start()
            return server, m.group(1)


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--citizens", type=int, default=100_000)
    parser.add_argument("--binary", default=str(ROOT / "target" / "release" / "lienthong"))
    parser.add_argument("--sample-seconds", type=float, default=10)
    args = parser.parse_args()
    binary = Path(args.binary)
    if not binary.exists():
        sys.exit(f"{binary} is missing: cargo build --release --bin lienthong (or pass --binary)")

    work = Path(tempfile.mkdtemp(prefix="lienthong-soak-"))
    data = work / "data"
    subprocess.run([str(binary), "--quiet", "generate", "--out", str(data), "--citizens", str(args.citizens)],
                   check=True)
    secrets = json.loads((data / "demo-credentials.json").read_text())
    # Every client is one of a few principals: the per-principal rate limit is not what is measured.
    server, uri = serve(binary, data / "catalog.yaml", "--rate-limit", "10000000", "--public-rate-limit", "10000000",
                        key="soak test secret, not a real one")

    deadline = time.monotonic() + args.minutes * 60
    lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    rows_total = 0

    def client(seed: int) -> None:
        nonlocal rows_total
        rng = random.Random(seed)
        connections = {}
        try:
            while time.monotonic() < deadline:
                principal, purpose, sql = rng.choice(WORKLOAD)
                if principal not in connections:
                    connections[principal] = flightsql.connect(uri, db_kwargs={
                        "username": principal, "password": secrets[principal],
                        "adbc.flight.sql.rpc.call_header.x-lienthong-purpose": purpose,
                    }, autocommit=True)
                started = time.perf_counter()
                try:
                    with connections[principal].cursor() as cur:
                        cur.execute(sql)
                        n = cur.fetch_arrow_table().num_rows
                    with lock:
                        latencies.append(time.perf_counter() - started)
                        rows_total += n
                except Exception as e:  # counted and reported
                    with lock:
                        errors.append(f"{principal}: {e}"[:300])
        finally:
            for conn in connections.values():
                conn.close()

    samples: list[tuple[float, int, int]] = []
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        samples.append((time.monotonic() - started, rss_kib(server.pid), fds(server.pid)))
        time.sleep(args.sample_seconds)
    for t in threads:
        t.join()
    elapsed = time.monotonic() - started
    server.terminate()
    server.wait(timeout=60)

    audit = data / "audit" / "audit.jsonl"
    verified = subprocess.run([str(binary), "audit", "verify", str(audit)], capture_output=True, text=True)
    records = [json.loads(line) for line in audit.read_text().splitlines() if line.strip()]
    accepted: dict[str, int] = {}
    completions: dict[str, int] = {}
    for r in records:
        if r["kind"] == "query" and r["outcome"] == "accepted":
            accepted[r["query_id"]] = accepted.get(r["query_id"], 0) + 1
        elif r["kind"] == "completion":
            completions[r["query_id"]] = completions.get(r["query_id"], 0) + 1
    paired = all(completions.get(q) == 1 for q in accepted) and all(accepted.get(q) == 1 for q in completions)
    completed = sum(1 for r in records if r["kind"] == "completion" and r["outcome"] == "completed")

    quantiles = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else [float("nan")] * 99
    report = {
        "clients": args.clients,
        "seconds": round(elapsed),
        "citizens": args.citizens,
        "queries": len(latencies),
        "errors": len(errors),
        "queries_per_second": round(len(latencies) / elapsed, 1),
        "rows": rows_total,
        "p50_ms": round(quantiles[49] * 1000, 1),
        "p99_ms": round(quantiles[98] * 1000, 1),
        "rss_mib_first_last_max": [round(samples[0][1] / 1024), round(samples[-1][1] / 1024),
                                   round(max(s[1] for s in samples) / 1024)],
        "fds_first_last_max": [samples[0][2], samples[-1][2], max(s[2] for s in samples)],
        "audit_verifies": verified.returncode == 0,
        "audit_records": len(records),
        "accepted_queries": len(accepted),
        "completed_records": completed,
        "one_accepted_and_one_completion_per_query": paired,
        "completed_equals_client_queries": completed == len(latencies),
    }
    print("RSS (MiB) and open fds over time:")
    for t, rss, fd in samples:
        print(f"  {t:7.0f} s  {rss / 1024:8.1f} MiB  {fd:5d} fds")
    for e in errors[:10]:
        print("error:", e)
    print(json.dumps(report, indent=2))
    ok = (verified.returncode == 0 and paired and report["completed_equals_client_queries"] and not errors)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
