"""Lookup-only access and volume quotas from the Python package: the demo registrar verifies people
by ID with parameters (the name compared, never read), bulk reads are refused, and a small quota
stops a lookup run over and over with `QuotaExceeded`; `Session.quotas()` and
`RemoteSession.quotas()` say what is left."""

from __future__ import annotations

import datetime
import re

import pytest

import lienthong
from conftest import flight

LOOKUP = (
    "SELECT citizen_id, permanent_ward_code, full_name = $2 AS name_matches, date_of_birth = $3 AS birth_matches "
    "FROM population.citizens WHERE citizen_id = $1"
)


def people(open_as, n: int) -> list[dict]:
    """The owner's own read of `n` citizens (what a lookup is compared with)."""
    owner = open_as("population-owner", "data-stewardship")
    return owner.sql(
        f"SELECT citizen_id, full_name, date_of_birth, permanent_ward_code FROM population.citizens "
        f"ORDER BY citizen_id LIMIT {n}"
    ).to_arrow().to_pylist()


def test_a_lookup_with_parameters_reads_the_residence_and_only_compares_name_and_birth_date(open_as):
    registrar = open_as("business-registrar", "business-registration")
    for person in people(open_as, 3):
        answer = registrar.sql(LOOKUP, [person["citizen_id"], person["full_name"], person["date_of_birth"]])
        assert answer.to_arrow().to_pylist() == [
            {
                "citizen_id": person["citizen_id"],
                "permanent_ward_code": person["permanent_ward_code"],
                "name_matches": True,
                "birth_matches": True,
            }
        ]
        wrong = registrar.sql(LOOKUP, [person["citizen_id"], "Ai Đó", datetime.date(1900, 1, 1)]).to_arrow()
        assert wrong.to_pylist()[0]["name_matches"] is False
        assert wrong.to_pylist()[0]["birth_matches"] is False
    for sql in (
        "SELECT citizen_id FROM population.citizens",
        "SELECT full_name FROM population.citizens WHERE citizen_id = '001000000001'",
        "SELECT permanent_ward_code FROM population.citizens WHERE citizen_id IN "
        "(SELECT legal_representative_id FROM business.enterprises)",
    ):
        with pytest.raises(lienthong.PolicyDenied):
            registrar.sql(sql)


def test_a_quota_stops_a_lookup_run_over_and_over(demo_data, tmp_path, secrets, open_as):
    text = (demo_data / "catalog.yaml").read_text()
    block = text.index("  registrar-verifications:\n")
    small = text[:block] + re.sub(r"query: 20\n(\s+)day: 500", r"query: 2\n\1day: 2", text[block:], count=1)
    path = demo_data / "python-small-quota.yaml"
    path.write_text(small)
    catalog = lienthong.Catalog.open(path, audit_path=tmp_path / "audit.jsonl")
    registrar = catalog.session(
        "business-registrar", purpose="business-registration", credential=secrets["business-registrar"]
    )
    ids = [p["citizen_id"] for p in people(open_as, 3)]
    for citizen in ids[:2]:
        registrar.sql(LOOKUP, [citizen, "x", datetime.date(2000, 1, 1)]).to_arrow()
    with pytest.raises(lienthong.QuotaExceeded) as exhausted:
        registrar.sql(LOOKUP, [ids[2], "x", datetime.date(2000, 1, 1)])
    assert isinstance(exhausted.value, lienthong.LimitExceeded)
    assert "2 of 2 keys per day used" in str(exhausted.value)
    day = next(q for q in registrar.quotas() if q.unit == "keys" and q.window == "day")
    assert (day.quota, day.per, day.limit, day.used, day.remaining) == ("registrar-verifications", "principal", 2, 2, 0)
    assert day.tables == ["population.citizens"]
    # Counted on disk next to the audit log: a catalog opened again still says so.
    again = lienthong.Catalog.open(path, audit_path=tmp_path / "audit.jsonl")
    reopened = again.session("business-registrar", purpose="business-registration", credential=secrets["business-registrar"])
    assert next(q for q in reopened.quotas() if q.window == "day").remaining == 0


def test_a_remote_session_shows_the_server_s_count(demo_data, secrets):
    catalog = flight.catalog_with_own_audit(demo_data / "catalog.yaml", "python-quota-remote")
    for stale in (demo_data / "audit").glob("python-quota-remote.jsonl*"):
        stale.unlink()
    process, uri, _ = flight.start_server(catalog)
    try:
        remote = lienthong.connect(
            uri, principal="business-registrar", credential=secrets["business-registrar"], purpose="business-registration"
        )
        before = {(q.unit, q.window): q for q in remote.quotas()}
        assert before[("keys", "day")].used == 0
        owner = lienthong.connect(uri, principal="population-owner", credential=secrets["population-owner"], purpose="data-stewardship")
        citizen = owner.sql("SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT 1").to_arrow()[0][0].as_py()
        remote.sql(LOOKUP, [citizen, "x", datetime.date(2000, 1, 1)]).to_arrow()
        after = {(q.unit, q.window): q for q in remote.quotas()}
        assert after[("keys", "day")].used == 1
        assert after[("keys", "month")].remaining == after[("keys", "month")].limit - 1
    finally:
        flight.stop_server(process)
