"""The demo registrar's lookup-only grant and keys quota through the normal client pattern: one
prepared lookup with the ADBC driver, executed per person; bulk reads refused with a message that
does not depend on the data; the quota stopping a prepared lookup run over and over, and many
connections at once, and still stopping it after the server restarts; what is left, through the
`GetQuotas` Flight action (pyarrow.flight)."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor

import adbc_driver_flightsql.dbapi as flightsql
import adbc_driver_manager
import pyarrow.flight as fl
import pytest

from conftest import catalog_with_own_audit, start_server, stop_server

LOOKUP = (
    "SELECT citizen_id, permanent_ward_code, full_name = $2 AS name_matches "
    "FROM population.citizens WHERE citizen_id = $1"
)


def connect(uri: str, server, principal: str = "business-registrar", purpose: str = "business-registration"):
    return flightsql.connect(
        uri,
        db_kwargs={
            "username": principal,
            "password": server.secrets[principal],
            "adbc.flight.sql.rpc.call_header.x-lienthong-purpose": purpose,
        },
        autocommit=True,
    )


def records(server, ids: list[str]) -> dict[str, dict]:
    """The owner's own read of these citizens (the answers a lookup is compared with)."""
    with connect(server.uri, server, "population-owner", "data-stewardship") as conn, conn.cursor() as cur:
        quoted = ", ".join(f"'{i}'" for i in ids)
        cur.execute(
            f"SELECT citizen_id, full_name, permanent_ward_code FROM population.citizens WHERE citizen_id IN ({quoted})"
        )
        return {r["citizen_id"]: r for r in cur.fetch_arrow_table().to_pylist()}


def citizen_ids(server, n: int, offset: int = 0) -> list[str]:
    with connect(server.uri, server, "population-owner", "data-stewardship") as conn, conn.cursor() as cur:
        cur.execute(f"SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT {n} OFFSET {offset}")
        return [r["citizen_id"] for r in cur.fetch_arrow_table().to_pylist()]


def test_a_prepared_lookup_per_person_reads_the_residence_and_compares_the_name(server):
    ids = citizen_ids(server, 5)
    known = records(server, ids)
    with connect(server.uri, server) as conn, conn.cursor() as cur:
        for citizen in ids:
            cur.execute(LOOKUP, (citizen, known[citizen]["full_name"]))
            got = cur.fetch_arrow_table().to_pylist()
            assert got == [
                {
                    "citizen_id": citizen,
                    "permanent_ward_code": known[citizen]["permanent_ward_code"],
                    "name_matches": True,
                }
            ]
            cur.execute(LOOKUP, (citizen, "Nguyễn Văn Không Phải"))
            assert cur.fetch_arrow_table().to_pylist()[0]["name_matches"] is False


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT citizen_id, permanent_ward_code FROM population.citizens",
        "SELECT permanent_ward_code FROM population.citizens WHERE citizen_id LIKE '001%'",
        "SELECT c.permanent_ward_code FROM business.enterprises e JOIN population.citizens c "
        "ON c.citizen_id = e.legal_representative_id",
        "SELECT permanent_ward_code FROM population.citizens WHERE citizen_id IN "
        "(SELECT legal_representative_id FROM business.enterprises)",
        "SELECT permanent_ward_code FROM population.citizens WHERE citizen_id = '001000000001' "
        "UNION ALL SELECT permanent_ward_code FROM population.citizens",
    ],
)
def test_bulk_reads_are_refused(server, sql):
    with connect(server.uri, server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as refused:
            cur.execute(sql)
            cur.fetch_arrow_table()
    assert "may only be looked up by citizen_id" in str(refused.value)


def test_the_name_is_compared_never_read(server):
    citizen = citizen_ids(server, 1)[0]
    with connect(server.uri, server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error) as refused:
            cur.execute("SELECT full_name FROM population.citizens WHERE citizen_id = $1", (citizen,))
            cur.fetch_arrow_table()
    assert "may only be compared" in str(refused.value)


@pytest.fixture
def small_quota(server, request):
    """A server whose registrar may look up 3 people a day (its own audit log and counters)."""

    def three_a_day(text: str) -> str:
        block = text.index("  registrar-verifications:\n")
        head, tail = text[:block], text[block:]
        return head + re.sub(r"query: 20\n(\s+)day: 500", r"query: 3\n\1day: 3", tail, count=1)

    catalog = catalog_with_own_audit(server.catalog, f"quota-{request.node.name}", edit=three_a_day)
    for stale in catalog.parent.glob(f"audit/quota-{request.node.name}.jsonl*"):
        stale.unlink()
    process, uri, _ = start_server(catalog)
    state = {"process": process, "uri": uri, "catalog": catalog}
    yield state
    stop_server(state["process"])


def test_a_prepared_lookup_run_over_and_over_stops_at_the_quota_even_after_a_restart(server, small_quota):
    ids = citizen_ids(server, 5)
    with connect(small_quota["uri"], server) as conn, conn.cursor() as cur:
        for citizen in ids[:3]:
            cur.execute(LOOKUP, (citizen, "x"))
            assert cur.fetch_arrow_table().num_rows == 1
        # The same person again is no new key; a fourth, registered or not, is refused alike.
        cur.execute(LOOKUP, (ids[0], "x"))
        assert cur.fetch_arrow_table().num_rows == 1
        messages = []
        for citizen in (ids[3], "099999999999"):
            with pytest.raises(adbc_driver_manager.Error) as refused:
                cur.execute(LOOKUP, (citizen, "x"))
                cur.fetch_arrow_table()
            messages.append(str(refused.value))
        assert "quota exhausted" in messages[0] and "3 of 3 keys per day used" in messages[0]
        assert messages[0].replace(ids[3], "?") == messages[1].replace("099999999999", "?")
    stop_server(small_quota["process"])
    small_quota["process"], small_quota["uri"], _ = start_server(small_quota["catalog"])
    with connect(small_quota["uri"], server) as conn, conn.cursor() as cur:
        with pytest.raises(adbc_driver_manager.Error, match="quota exhausted"):
            cur.execute(LOOKUP, (ids[4], "x"))
            cur.fetch_arrow_table()


def test_many_connections_at_once_get_no_more_than_the_quota(server, small_quota):
    ids = citizen_ids(server, 8, offset=10)

    def look_up(citizen: str) -> bool:
        with connect(small_quota["uri"], server) as conn, conn.cursor() as cur:
            try:
                cur.execute(LOOKUP, (citizen, "x"))
                return cur.fetch_arrow_table().num_rows == 1
            except adbc_driver_manager.Error as error:
                assert "quota exhausted" in str(error)
                return False

    with ThreadPoolExecutor(max_workers=8) as pool:
        answered = list(pool.map(look_up, ids))
    assert sum(answered) == 3


def test_the_quota_left_through_the_flight_action(server, small_quota):
    client = fl.FlightClient(small_quota["uri"])
    token = client.authenticate_basic_token("business-registrar", server.secrets["business-registrar"])
    options = fl.FlightCallOptions(headers=[token, (b"x-lienthong-purpose", b"business-registration")])
    assert "GetQuotas" in [a.type for a in client.list_actions(options=options)]

    def left() -> dict[str, dict]:
        results = list(client.do_action(fl.Action("GetQuotas", b""), options=options))
        limits = json.loads(b"".join(r.body.to_pybytes() for r in results))
        return {f"{q['unit']}/{q['window']}": q for q in limits}

    before = left()
    assert before["keys/day"]["limit"] == 3 and before["keys/day"]["remaining"] == 3
    assert before["keys/query"]["limit"] == 3
    citizen = citizen_ids(server, 1, offset=30)[0]
    with connect(small_quota["uri"], server) as conn, conn.cursor() as cur:
        cur.execute(LOOKUP, (citizen, "x"))
        cur.fetch_arrow_table()
    after = left()
    assert after["keys/day"]["used"] == 1 and after["keys/day"]["remaining"] == 2
    assert after["keys/month"]["quota"] == "registrar-verifications"
    # The ward officer has no quota for `tthc`, one for `residence-verification`.
    ward = client.authenticate_basic_token("ward-officer", server.secrets["ward-officer"])
    for purpose, quotas in ((b"tthc", set()), (b"residence-verification", {"ward-residence-checks"})):
        options = fl.FlightCallOptions(headers=[ward, (b"x-lienthong-purpose", purpose)])
        answer = b"".join(r.body.to_pybytes() for r in client.do_action(fl.Action("GetQuotas", b""), options=options))
        assert {q["quota"] for q in json.loads(answer)} == quotas
