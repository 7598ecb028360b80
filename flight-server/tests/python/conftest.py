"""A `lienthong serve` process for the real Flight SQL clients (ADBC, pyarrow.flight).

The demo data is generated once per run; the answers the CLI gives (`lienthong query --format
json`) are computed before the server starts, so the server is compared with an independent path
through the engine and the two never share the audit log at the same time.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
BINARY = ROOT / "target" / "debug" / "lienthong"
# The node's pseudonym secret, the same for the CLI and the server (tests only).
ENV = {**os.environ, "LIENTHONG_PSEUDONYM_KEY": "python flight tests, not a real secret"}

# Principal, purpose, query: the demo scenarios and a few more.
SCENARIOS = [
    (
        "ward-officer",
        "tthc",
        "SELECT c.citizen_id, c.full_name, c.current_ward_code, c.phone, r.parcel_id, p.area_m2 "
        "FROM population.citizens c JOIN land.rights r ON r.holder_citizen_id = c.citizen_id "
        "JOIN land.parcels p ON p.parcel_id = r.parcel_id ORDER BY c.citizen_id, r.parcel_id LIMIT 20",
    ),
    (
        "ward-officer",
        "tthc",
        "SELECT count(*) AS outside_the_ward FROM population.citizens WHERE current_ward_code <> '00070'",
    ),
    (
        "business-registrar",
        "business-registration",
        # Lookup-only: people named by ID (the demo data's, seed 2025, 20 000 citizens), the name
        # compared with the application's, never read.
        "SELECT citizen_id, permanent_ward_code, full_name = 'Lê Gia Dũng' AS name_matches "
        "FROM population.citizens WHERE citizen_id IN ('001073081471', '010068904242', '001086964406') "
        "ORDER BY citizen_id",
    ),
    (
        "inspector",
        "inspection",
        "SELECT p.personnel_no, p.citizen_id AS person, e.enterprise_code "
        "FROM civil_servants.personnel p JOIN business.enterprises e ON e.legal_representative_id = p.citizen_id "
        "ORDER BY p.personnel_no, e.enterprise_code LIMIT 20",
    ),
    (
        "statistician",
        "statistics",
        "SELECT current_province_code AS province, sex, count(*) AS people FROM population.citizens "
        "GROUP BY 1, 2 ORDER BY 1, 2",
    ),
    (
        "land-officer",
        "land-management",
        "SELECT p.parcel_id, p.ward_code, p.area_m2, r.holder_kind, r.holder_citizen_id "
        "FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id "
        "ORDER BY p.parcel_id, r.holder_citizen_id LIMIT 20",
    ),
    ("public", None, "SELECT province_code, province_name FROM reference.provinces ORDER BY 1"),
]

# The demo catalog's open tables: all that `public` may see.
OPEN_TABLES = {
    "business.enterprise_register",
    "reference.land_use_codes",
    "reference.provinces",
    "reference.provinces_pre2025",
    "reference.wards",
}

# The prepared query, and the literal values it is run with.
PREPARED = "SELECT citizen_id, full_name FROM population.citizens WHERE sex = $1 ORDER BY citizen_id LIMIT 10"
PREPARED_VALUES = ["female", "male"]


def cli_rows(catalog: Path, principal: str, purpose: str | None, sql: str) -> list[dict]:
    """The rows `lienthong query --format json` prints."""
    args = [str(BINARY), "query", "--catalog", str(catalog), "--as", principal, "--format", "json"]
    if purpose:
        args += ["--purpose", purpose]
    out = subprocess.run(args + [sql], capture_output=True, text=True, check=True, env=ENV)
    return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]


class Server:
    """A running `lienthong serve`."""

    def __init__(self, uri: str, catalog: Path, secrets: dict[str, str], expected: dict, audit: Path):
        self.uri = uri
        self.catalog = catalog
        self.secrets = secrets
        self.expected = expected
        self.audit = audit

    def audit_records(self) -> list[dict]:
        return [json.loads(line) for line in self.audit.read_text().splitlines() if line.strip()]


def catalog_with_own_audit(catalog: Path, name: str, extra: str = "", edit=lambda text: text) -> Path:
    """A copy of `catalog` next to it (its data paths still hold) whose server writes its own
    audit log, `audit/<name>.jsonl`: two servers must never write one log. `edit` changes the
    text; `extra` is appended."""
    text = catalog.read_text()
    assert text.count("\nnode:\n") == 1
    text = edit(text.replace("\nnode:\n", f"\nnode:\n  audit_log: audit/{name}.jsonl\n")) + extra
    copy = catalog.parent / f"{name}-catalog.yaml"
    copy.write_text(text)
    return copy


def start_server(catalog: Path, *extra: str) -> tuple[subprocess.Popen, str, str | None]:
    """Starts `lienthong serve` on a free port; returns the process, its URI and metrics URL."""
    process = subprocess.Popen(
        [str(BINARY), "serve", "--catalog", str(catalog), "--addr", "127.0.0.1:0", *extra],
        stdout=subprocess.PIPE,
        stderr=sys.stderr,
        text=True,
        env=ENV,
    )
    uri = None
    metrics = None
    deadline = time.monotonic() + 60
    assert process.stdout is not None
    while uri is None and time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if m := re.search(r"metrics on (http://\S+)", line):
            metrics = m.group(1)
        if line.startswith("lienthong serving") and (m := re.search(r"on (grpc(?:\+tls)?://\S+)", line)):
            uri = m.group(1)
    if uri is None:
        process.kill()
        pytest.fail("lienthong serve did not start")
    return process, uri, metrics


def stop_server(process: subprocess.Popen) -> None:
    """SIGTERM, and a clean exit within 30 s."""
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, f"lienthong serve exited with {process.returncode}"


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory) -> Path:
    """The demo data (20 000 citizens), generated once."""
    if not BINARY.exists():
        pytest.fail(f"{BINARY} is missing: run `cargo build` first (scripts/test.sh does)")
    data = tmp_path_factory.mktemp("demo")
    subprocess.run(
        [str(BINARY), "--quiet", "generate", "--out", str(data), "--citizens", "20000"],
        check=True,
        capture_output=True,
    )
    return data


@pytest.fixture(scope="session")
def server(demo_data: Path) -> Server:
    catalog = demo_data / "catalog.yaml"
    secrets = json.loads((demo_data / "demo-credentials.json").read_text())
    expected = {sql: cli_rows(catalog, p, purpose, sql) for p, purpose, sql in SCENARIOS}
    for value in PREPARED_VALUES:
        literal = PREPARED.replace("$1", f"'{value}'")
        expected[literal] = cli_rows(catalog, "ward-officer", "tthc", literal)
    process, uri, metrics = start_server(catalog, "--metrics-addr", "127.0.0.1:0")
    srv = Server(uri, catalog, secrets, expected, demo_data / "audit" / "audit.jsonl")
    srv.metrics = metrics
    yield srv
    stop_server(process)
    verified = subprocess.run([str(BINARY), "audit", "verify", str(srv.audit)], capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr


def normalise(rows: list[dict]) -> list[dict]:
    """Rows as the CLI's JSON shows them: no null keys, dates and times as text."""
    out = []
    for row in rows:
        clean = {}
        for key, value in row.items():
            if value is None:
                continue
            clean[key] = value if isinstance(value, (int, float, str, bool)) else str(value)
        out.append(clean)
    return out
