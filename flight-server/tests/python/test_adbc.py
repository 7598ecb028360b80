"""The reference client, the ADBC Flight SQL driver (DB-API), against `lienthong serve`."""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow as pa
import pytest

from conftest import OPEN_TABLES, PREPARED, PREPARED_VALUES, SCENARIOS, normalise


def connect(server, principal: str | None = None, purpose: str | None = None, password: str | None = None):
    kwargs: dict[str, str] = {}
    if principal is not None:
        kwargs["username"] = principal
        kwargs["password"] = server.secrets.get(principal, "") if password is None else password
    if purpose is not None:
        kwargs["adbc.flight.sql.rpc.call_header.x-lienthong-purpose"] = purpose
    return flightsql.connect(server.uri, db_kwargs=kwargs, autocommit=True)


def table_names(conn) -> set[str]:
    """`database.table` of every table `adbc_get_objects` lists."""
    objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
    return {
        f"{s['db_schema_name']}.{t['table_name']}"
        for c in objects
        for s in c["catalog_db_schemas"] or []
        for t in s["db_schema_tables"] or []
    }


def rows(table: pa.Table) -> list[dict]:
    return normalise(table.to_pylist())


@pytest.mark.parametrize("principal,purpose,sql", SCENARIOS, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(SCENARIOS)])
def test_scenarios_give_the_cli_answers(server, principal, purpose, sql):
    with connect(server, None if principal == "public" else principal, purpose) as conn, conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    assert table.num_rows > 0
    assert rows(table) == server.expected[sql]


def test_prepared_statement_with_parameters(server):
    with connect(server, "ward-officer", "tthc") as conn, conn.cursor() as cur:
        for value in PREPARED_VALUES:
            cur.execute(PREPARED, (value,))
            got = rows(cur.fetch_arrow_table())
            assert got == server.expected[PREPARED.replace("$1", f"'{value}'")]
            assert len(got) == 10


def test_metadata_shows_only_what_the_caller_may_see(server):
    with connect(server, "ward-officer", "tthc") as conn:
        officer = table_names(conn)
        schema = conn.adbc_get_table_schema("citizens", db_schema_filter="population")
        info = conn.adbc_get_info()
    with connect(server) as conn:
        public = table_names(conn)
        with pytest.raises(adbc_driver_manager.Error):
            conn.adbc_get_table_schema("citizens", db_schema_filter="population")
    assert "population.citizens" in officer and "land.parcels" in officer
    assert public == OPEN_TABLES
    assert "full_name" in schema.names
    assert "ethnicity" not in schema.names and "religion" not in schema.names
    assert info["vendor_name"] == "lienthong"


def test_refusals_are_clear_errors(server):
    with pytest.raises(adbc_driver_manager.Error) as wrong:
        with connect(server, "ward-officer", "tthc", password="not the secret") as conn:
            conn.cursor().execute("SELECT 1")
    assert "authentication failed" in str(wrong.value).lower() or "unauthenticated" in str(wrong.value).lower()

    with connect(server, "ward-officer") as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as missing:
            cur.execute("SELECT full_name FROM population.citizens LIMIT 1")
    assert "purpose" in str(missing.value)

    with connect(server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as hidden:
            cur.execute("SELECT * FROM population.citizens")
        with pytest.raises(adbc_driver_manager.Error) as absent:
            cur.execute("SELECT * FROM population.nothing_here")
    assert str(hidden.value).replace("citizens", "X") == str(absent.value).replace("nothing_here", "X")

    with connect(server, "statistician", "statistics") as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as aggregate:
            cur.execute("SELECT sex, date_of_birth FROM population.citizens LIMIT 1")
    assert "denied" in str(aggregate.value)


def test_a_million_rows_stream_in_batches(server):
    with connect(server) as conn, conn.cursor() as cur:
        cur.execute("SELECT value, value % 7 AS bucket FROM generate_series(1, 1200000)")
        reader = cur.fetch_record_batch()
        total = 0
        batches = 0
        for batch in reader:
            total += batch.num_rows
            batches += 1
    assert total == 1_200_000
    assert batches > 10


def test_every_query_is_audited(server):
    before = len(server.audit_records())
    with connect(server, "land-officer", "land-management") as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) AS parcels FROM land.parcels")
        assert cur.fetchone()[0] > 0
    records = server.audit_records()[before:]
    kinds = [(r["kind"], r.get("outcome"), r["principal"]) for r in records]
    assert ("query", "accepted", "land-officer") in kinds
    assert ("completion", "completed", "land-officer") in kinds


def test_purpose_as_a_session_option(server):
    kwargs = {
        "username": "ward-officer",
        "password": server.secrets["ward-officer"],
        "adbc.flight.sql.rpc.with_cookie_middleware": "true",
    }
    with flightsql.connect(
        server.uri,
        db_kwargs=kwargs,
        conn_kwargs={"adbc.flight.sql.session.option.purpose": "tthc"},
        autocommit=True,
    ) as conn, conn.cursor() as cur:
        cur.execute(SCENARIOS[0][2])
        assert rows(cur.fetch_arrow_table()) == server.expected[SCENARIOS[0][2]]
    with pytest.raises(adbc_driver_manager.Error):
        with flightsql.connect(
            server.uri,
            db_kwargs=kwargs,
            conn_kwargs={"adbc.flight.sql.session.option.purpose": "curiosity"},
            autocommit=True,
        ) as conn, conn.cursor() as cur:
            cur.execute("SELECT full_name FROM population.citizens LIMIT 1")


# Outer joins and scalar subqueries: the schema announced before the query runs must match the
# batches (nullability included), or the driver rejects the result (issue 14, finding 19).
OUTER = [
    "SELECT r1.holder_citizen_id, (SELECT count(*) FROM land.rights r2 WHERE r2.ward_code = r1.ward_code) AS n "
    "FROM land.rights r1 ORDER BY 1 LIMIT 20",
    "SELECT c.citizen_id, h.household_id FROM population.citizens c FULL JOIN population.households h "
    "ON c.citizen_id = h.head_citizen_id ORDER BY 1, 2 LIMIT 20",
    "SELECT p.parcel_id, r.holder_kind FROM land.rights r RIGHT JOIN land.parcels p ON p.parcel_id = r.parcel_id "
    "ORDER BY 1, 2 LIMIT 20",
    "SELECT (SELECT count(*) FROM population.citizens WHERE current_ward_code = '99999') AS nobody",
]


@pytest.mark.parametrize("sql", OUTER)
def test_outer_joins_and_subqueries_reach_the_driver_whole(server, sql):
    from conftest import cli_rows

    with connect(server, "ward-officer", "tthc") as conn, conn.cursor() as cur:
        cur.execute(sql)
        table = cur.fetch_arrow_table()
    assert all(field.nullable for field in table.schema)
    assert normalise(rows(table)) == normalise(cli_rows(server.catalog, "ward-officer", "tthc", sql))
