"""The scenarios of domain.md §5 as the demo officials, through the Python package, compared
with the answers of the Rust CLI (`lienthong query`), and what each official may see."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

import lienthong
from conftest import OPEN_TABLES, SCENARIOS, audit_records, normalise


@pytest.mark.parametrize("principal,purpose,sql", SCENARIOS, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(SCENARIOS)])
def test_scenarios_give_the_cli_answers(open_as, expected, principal, purpose, sql):
    result = open_as(principal, purpose).sql(sql)
    table = result.to_arrow()
    assert isinstance(table, pa.Table)
    assert table.num_rows > 0
    assert normalise(table.to_pylist()) == expected[sql]
    # pandas and polars hold the same rows.
    assert result.to_pandas().shape == (table.num_rows, table.num_columns)
    assert result.to_polars().to_arrow().to_pylist() == table.to_pylist()


def test_parameters_are_values_not_sql(open_as, expected):
    session = open_as("ward-officer", "tthc")
    sql = "SELECT citizen_id, full_name FROM population.citizens WHERE sex = $1 ORDER BY citizen_id LIMIT 10"
    females = session.sql(sql, ["female"]).to_arrow().to_pylist()
    assert len(females) == 10
    assert females == session.sql(sql.replace("$1", "'female'")).to_arrow().to_pylist()
    # A quote in a value is a value: it matches nothing, it does not end the string.
    assert session.sql(sql, ["female' OR '1'='1"]).to_arrow().num_rows == 0
    with pytest.raises(lienthong.QueryError, match="parameter"):
        session.sql(sql)


def test_each_caller_sees_only_its_tables(open_as):
    assert set(open_as("public", None).tables()) == OPEN_TABLES
    officer = set(open_as("ward-officer", "tthc").tables())
    assert {"population.citizens", "land.parcels", "land.rights"} <= officer
    assert "civil_servants.personnel" not in officer
    statistician = open_as("statistician", "statistics")
    assert "population.citizens" in statistician.tables()


def test_describe_says_what_this_caller_sees(open_as):
    info = open_as("ward-officer", "tthc").describe("population.citizens")
    columns = {c.name: c for c in info.columns}
    assert info.rows_filtered and info.min_group_size is None
    assert columns["phone"].mask == "keep_last" and columns["phone"].masked
    assert not columns["full_name"].masked
    assert "ethnicity" not in columns and "religion" not in columns
    assert "pii.basic" in columns["full_name"].tags
    assert columns["citizen_id"].primary_key
    assert all(c.type for c in info.columns)
    owner = open_as("population-owner", "data-stewardship").describe("population.citizens")
    assert {"ethnicity", "religion"} <= {c.name for c in owner.columns}
    assert not owner.rows_filtered
    stats = open_as("statistician", "statistics").describe("population.citizens")
    assert stats.min_group_size == 10
    assert stats.min_max == ["date_of_birth"]
    assert owner.min_max == []
    assert "min/max of date_of_birth" in stats._repr_html_()
    inspector = {c.name: c for c in open_as("inspector", "inspection").describe("civil_servants.personnel").columns}
    assert inspector["citizen_id"].mask == "pseudonym" and inspector["citizen_id"].type == "Utf8"
    assert "<table>" in info._repr_html_()


def test_a_hidden_table_and_a_missing_one_fail_alike(open_as):
    officer = open_as("ward-officer", "tthc")
    errors = []
    for table in ["civil_servants.personnel", "civil_servants.no_such_table"]:
        with pytest.raises(lienthong.QueryError) as raised:
            officer.describe(table)
        errors.append(str(raised.value).replace(table, "<t>"))
        with pytest.raises(lienthong.QueryError) as raised:
            officer.sql(f"SELECT * FROM {table}").to_arrow()
        errors.append(str(raised.value).replace(table, "<t>").replace(table.split(".")[1], "<t>"))
    assert errors[0] == errors[2] and errors[1] == errors[3]


def keep_last_3(value: str | None) -> str | None:
    if value is None:
        return None
    return "*" * len(value) if len(value) <= 3 else "*" * (len(value) - 3) + value[-3:]


def test_the_officer_sees_the_prefiltered_premasked_copy(open_as):
    """The governed answer equals the owner's full data filtered to the ward and masked by hand."""
    owner = open_as("population-owner", "data-stewardship")
    raw = owner.sql("SELECT citizen_id, phone FROM population.citizens ORDER BY citizen_id").to_arrow().to_pylist()
    wards = owner.sql("SELECT citizen_id, current_ward_code FROM population.citizens ORDER BY citizen_id").to_arrow()
    in_ward = {r["citizen_id"] for r in wards.to_pylist() if r["current_ward_code"] == "00070"}
    premasked = [{"citizen_id": r["citizen_id"], "phone": keep_last_3(r["phone"])} for r in raw if r["citizen_id"] in in_ward]
    assert premasked
    officer = open_as("ward-officer", "tthc")
    got = officer.sql("SELECT citizen_id, phone FROM population.citizens ORDER BY citizen_id").to_arrow().to_pylist()
    assert got == premasked
    # A predicate on the raw value never matches: the caller's WHERE sees the masked value.
    phone = next(r["phone"] for r in raw if r["citizen_id"] in in_ward and r["phone"])
    hits = officer.sql("SELECT count(*) AS n FROM population.citizens WHERE phone = $1", [phone]).to_arrow()
    assert hits.column(0)[0].as_py() == 0
    # Nor does a subquery, a CTE or a union reach a row outside the ward.
    for sql in [
        "SELECT count(*) AS n FROM (SELECT * FROM population.citizens) t WHERE current_ward_code <> '00070'",
        "WITH t AS (SELECT current_ward_code FROM population.citizens) SELECT count(*) AS n FROM t WHERE current_ward_code <> '00070'",
        "SELECT count(*) AS n FROM (SELECT current_ward_code FROM population.citizens UNION ALL "
        "SELECT current_ward_code FROM population.citizens) t WHERE current_ward_code <> '00070'",
    ]:
        assert officer.sql(sql).to_arrow().column(0)[0].as_py() == 0, sql


def test_the_statistician_gets_aggregates_only(open_as):
    statistician = open_as("statistician", "statistics")
    with pytest.raises(lienthong.PolicyDenied):
        statistician.sql("SELECT date_of_birth, sex FROM population.citizens LIMIT 1").to_arrow()
    with pytest.raises(lienthong.QueryError, match="full_name"):
        statistician.sql("SELECT full_name FROM population.citizens LIMIT 1")
    counts = statistician.sql(
        "SELECT current_province_code, count(*) AS people FROM population.citizens GROUP BY 1"
    ).to_arrow()
    assert min(counts.column("people").to_pylist()) >= 10


def test_every_query_is_audited_with_its_policies(catalog, open_as):
    result = open_as("ward-officer", "tthc").sql("SELECT full_name FROM population.citizens LIMIT 3")
    assert result.tables == ["population.citizens"]
    assert "ward-officer-residents" in result.policies
    assert result.num_rows == 3
    records = [r for r in audit_records(Path(catalog.audit_path)) if r.get("query_id") == result.query_id]
    assert [r["kind"] for r in records] == ["query", "completion"]
    assert records[0]["principal"] == "ward-officer" and records[0]["purpose"] == "tthc"
    assert records[1]["rows"] == 3 and records[1]["outcome"] == "completed"


def test_explain_shows_the_policy_barrier(open_as):
    plan = open_as("ward-officer", "tthc").explain("SELECT full_name FROM population.citizens")
    assert "PolicyBarrier" in plan
    assert "00070" in plan
