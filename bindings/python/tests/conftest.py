"""Fixtures of the Python package's tests: the demo data, the CLI's answers to compare with, and
a `lienthong serve` for the remote session.

The demo data, the CLI helpers and the server helpers are those of the Flight SQL client tests
(`flight-server/tests/python/conftest.py`), loaded from there, so both suites ask the same
questions of the same data.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
_spec = importlib.util.spec_from_file_location("flight_conftest", ROOT / "flight-server" / "tests" / "python" / "conftest.py")
assert _spec is not None and _spec.loader is not None
flight = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(flight)

# The demo data fixture (20 000 citizens, generated once per run).
demo_data = flight.demo_data

BINARY = flight.BINARY
SCENARIOS = flight.SCENARIOS
OPEN_TABLES = flight.OPEN_TABLES
normalise = flight.normalise
cli_rows = flight.cli_rows

#: The pseudonym key the CLI and the server use in these tests; sessions here use the same.
PSEUDONYM_KEY = flight.ENV["LIENTHONG_PSEUDONYM_KEY"]


@pytest.fixture(autouse=True)
def pseudonym_key(monkeypatch):
    monkeypatch.setenv("LIENTHONG_PSEUDONYM_KEY", PSEUDONYM_KEY)


@pytest.fixture(scope="session")
def secrets(demo_data: Path) -> dict[str, str]:
    """The demo principals' secrets."""
    return json.loads((demo_data / "demo-credentials.json").read_text())


@pytest.fixture
def catalog(demo_data: Path, tmp_path: Path):
    """The demo catalog, opened with an audit log of this test's own (one writer per log)."""
    import lienthong

    return lienthong.Catalog.open(demo_data / "catalog.yaml", audit_path=tmp_path / "audit.jsonl")


@pytest.fixture
def open_as(catalog, secrets):
    """Opens a session on `catalog` as a demo principal, with its secret."""

    def session(principal: str, purpose: str | None):
        if principal == "public":
            return catalog.session()
        return catalog.session(principal, purpose=purpose, credential=secrets[principal])

    return session


@pytest.fixture(scope="session")
def expected(demo_data: Path) -> dict[str, list[dict]]:
    """What `lienthong query --format json` answers to each scenario (computed before any test
    opens the catalog, so the CLI and the package never write one audit log at once)."""
    os.environ.setdefault("LIENTHONG_PSEUDONYM_KEY", PSEUDONYM_KEY)
    catalog = demo_data / "catalog.yaml"
    return {sql: cli_rows(catalog, p, purpose, sql) for p, purpose, sql in SCENARIOS}


def audit_records(path: Path) -> list[dict]:
    """The records of an audit log."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
