"""A lookup-only grant through the normal client pattern: one prepared lookup with the ADBC driver,
executed per person; bulk reads refused with a message that does not depend on the data."""

from __future__ import annotations

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pytest

from conftest import catalog_with_own_audit, normalise, start_server, stop_server

GRANT = '    columns: ["citizen_id", "full_name", "date_of_birth", "permanent_ward_code"]\n'


@pytest.fixture(scope="module")
def lookup_server(server):
    def lookup_only(text: str) -> str:
        block = text.index("  registrar-representatives:\n")
        at = text.index(GRANT, block) + len(GRANT)
        return text[:at] + "    lookup: { by: [citizen_id], max_keys: 3 }\n" + text[at:]

    catalog = catalog_with_own_audit(server.catalog, "lookup", edit=lookup_only)
    process, uri, _ = start_server(catalog)
    yield uri
    stop_server(process)


def connect(uri: str, server):
    return flightsql.connect(
        uri,
        db_kwargs={
            "username": "business-registrar",
            "password": server.secrets["business-registrar"],
            "adbc.flight.sql.rpc.call_header.x-lienthong-purpose": "business-registration",
        },
        autocommit=True,
    )


def test_a_prepared_lookup_per_person_gives_the_plain_grant_s_rows(lookup_server, server):
    with connect(server.uri, server) as conn, conn.cursor() as cur:
        cur.execute("SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT 5")
        ids = [r["citizen_id"] for r in cur.fetch_arrow_table().to_pylist()]
        expected = {}
        for citizen in ids:
            cur.execute("SELECT full_name, date_of_birth FROM population.citizens WHERE citizen_id = $1", (citizen,))
            expected[citizen] = normalise(cur.fetch_arrow_table().to_pylist())
    with connect(lookup_server, server) as conn, conn.cursor() as cur:
        for citizen in ids:
            cur.execute("SELECT full_name, date_of_birth FROM population.citizens WHERE citizen_id = $1", (citizen,))
            got = normalise(cur.fetch_arrow_table().to_pylist())
            assert got == expected[citizen]
            assert len(got) == 1


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT citizen_id, full_name FROM population.citizens",
        "SELECT full_name FROM population.citizens WHERE citizen_id LIKE '001%'",
        "SELECT c.full_name FROM business.enterprises e JOIN population.citizens c "
        "ON c.citizen_id = e.legal_representative_id",
        "SELECT full_name FROM population.citizens WHERE citizen_id IN "
        "(SELECT legal_representative_id FROM business.enterprises)",
    ],
)
def test_bulk_reads_are_refused(lookup_server, server, sql):
    with connect(lookup_server, server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as refused:
            cur.execute(sql)
            cur.fetch_arrow_table()
    assert "may only be looked up by citizen_id" in str(refused.value)
