"""Errors as Python exceptions: one class per kind of failure, the Rust message, nothing revealed."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

import lienthong
from conftest import ROOT, audit_records


def test_the_hierarchy():
    for cls in [lienthong.PolicyDenied, lienthong.CatalogError, lienthong.QueryError, lienthong.SourceError, lienthong.AuditError]:
        assert issubclass(cls, lienthong.LienthongError)
    assert issubclass(lienthong.LimitExceeded, lienthong.QueryError)
    assert lienthong.PolicyDenied.__module__ == "lienthong"


def test_a_broken_catalog_names_file_line_and_field():
    broken = ROOT / "catalog-spec" / "tests" / "fixtures" / "broken.yaml"
    with pytest.raises(lienthong.CatalogError) as raised:
        lienthong.Catalog.open(broken)
    error = raised.value
    assert Path(error.path).name == "broken.yaml"
    assert isinstance(error.line, int) and error.line > 0 and error.column > 0
    assert len(error.problems) > 1
    first = error.problems[0]
    assert (first["line"], first["field"]) == (error.line, error.field)
    assert f"broken.yaml:{error.line}:{error.column}:" in str(error)
    assert any(p["kind"] == "secret in clear" and p["field"] == "principals.clerk.password" for p in error.problems)


def test_a_missing_catalog_names_its_path(tmp_path):
    with pytest.raises(lienthong.CatalogError) as raised:
        lienthong.Catalog.open(tmp_path / "nowhere.yaml")
    assert raised.value.path.endswith("nowhere.yaml") and raised.value.line is None


def test_refused_logins_look_alike_and_are_audited(catalog, secrets):
    attempts = [
        ("ward-officer", "tthc", secrets["ward-officer"] + "x"),  # wrong secret
        ("ward-officer", "tthc", None),  # no secret
        ("ward-officer", "tthc", secrets["inspector"]),  # another principal's secret
        ("nobody", "tthc", secrets["ward-officer"]),  # no such principal
    ]
    messages = set()
    for principal, purpose, credential in attempts:
        with pytest.raises(lienthong.PolicyDenied) as raised:
            catalog.session(principal, purpose=purpose, credential=credential)
        messages.add(str(raised.value))
    assert len(messages) == 1
    # A good secret with an undeclared purpose is refused without naming the purpose.
    with pytest.raises(lienthong.PolicyDenied) as raised:
        catalog.session("ward-officer", purpose="curiosity", credential=secrets["ward-officer"])
    assert "curiosity" not in str(raised.value)
    with pytest.raises(lienthong.PolicyDenied):
        catalog.session(credential="anything")
    denied = [r for r in audit_records(Path(catalog.audit_path)) if r["kind"] == "session"]
    assert len(denied) == len(attempts) + 2  # and the purpose, and the credential offered for public
    assert all(r["outcome"] == "denied" for r in denied)


@pytest.mark.parametrize(
    "sql",
    [
        "CREATE TABLE t AS SELECT 1",
        "DROP TABLE population.citizens",
        "INSERT INTO population.citizens SELECT * FROM population.citizens",
        "COPY (SELECT 1) TO '/tmp/out.csv'",
        "SET datafusion.execution.batch_size = 1",
        "CREATE EXTERNAL TABLE x STORED AS CSV LOCATION '/etc/passwd'",
        "EXPLAIN ANALYZE SELECT * FROM population.citizens",
    ],
)
def test_anything_but_a_read_is_denied(open_as, sql):
    with pytest.raises(lienthong.PolicyDenied):
        open_as("population-owner", "data-stewardship").sql(sql)


def test_bad_sql_is_a_query_error(open_as):
    with pytest.raises(lienthong.QueryError, match="query failed"):
        open_as("ward-officer", "tthc").sql("SELEC full_name FROM population.citizens")
    with pytest.raises(TypeError, match=r"parameter \$1"):
        open_as("ward-officer", "tthc").sql("SELECT $1", [object()])


def test_limits_fail_the_query_never_cut_it(demo_data, tmp_path):
    catalog = lienthong.Catalog.open(demo_data / "catalog.yaml", audit_path=tmp_path / "audit.jsonl", max_rows=5)
    session = catalog.session()
    assert session.sql("SELECT * FROM reference.provinces LIMIT 5").num_rows == 5
    with pytest.raises(lienthong.LimitExceeded, match="more than 5 rows"):
        session.sql("SELECT * FROM reference.provinces").to_arrow()


def test_a_missing_source_fails_the_query(demo_data, tmp_path):
    """The catalog without its data: a query needing a file source fails with SourceError."""
    shutil.copy(demo_data / "catalog.yaml", tmp_path / "catalog.yaml")
    catalog = lienthong.Catalog.open(tmp_path / "catalog.yaml", audit_path=tmp_path / "audit.jsonl")
    with pytest.raises(lienthong.SourceError) as raised:
        catalog.session().sql("SELECT * FROM reference.provinces").to_arrow()
    assert raised.value.source_name
