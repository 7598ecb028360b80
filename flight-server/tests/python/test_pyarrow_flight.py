"""Plain Arrow Flight (pyarrow.flight) against `lienthong serve`: handshake, headers, ListFlights,
GetSchema and DoGet of a table's ticket, and the refusals a plain client meets."""

from __future__ import annotations

import urllib.request

import pyarrow.flight as fl
import pytest

from conftest import OPEN_TABLES


def login(server, principal: str, purpose: str):
    client = fl.FlightClient(server.uri)
    token = client.authenticate_basic_token(principal, server.secrets[principal])
    assert token[0] == b"authorization" and token[1].startswith(b"Bearer ")
    return client, fl.FlightCallOptions(headers=[token, (b"x-lienthong-purpose", purpose.encode())])


def test_list_flights_and_fetch_a_table(server):
    client, options = login(server, "land-officer", "land-management")
    flights = {tuple(p.decode() for p in f.descriptor.path): f for f in client.list_flights(options=options)}
    assert ("land", "parcels") in flights
    assert ("civil_servants", "personnel") not in flights
    info = flights[("land", "parcels")]
    table = client.do_get(info.endpoints[0].ticket, options).read_all()
    assert table.num_rows > 0
    assert table.schema.equals(info.schema)
    schema = client.get_schema(fl.FlightDescriptor.for_path("land", "parcels"), options).schema
    assert schema.equals(info.schema)


def test_a_ticket_works_once_and_only_for_its_caller(server):
    client, options = login(server, "land-officer", "land-management")
    info = client.get_flight_info(fl.FlightDescriptor.for_path("land", "parcels"), options)
    ticket = info.endpoints[0].ticket
    other, other_options = login(server, "ward-officer", "tthc")
    with pytest.raises(fl.FlightUnauthorizedError):
        other.do_get(ticket, other_options).read_all()
    assert client.do_get(ticket, options).read_all().num_rows > 0
    with pytest.raises(fl.FlightUnauthorizedError):
        client.do_get(ticket, options).read_all()


def test_bad_credentials_and_tokens(server):
    client = fl.FlightClient(server.uri)
    with pytest.raises(fl.FlightUnauthenticatedError):
        client.authenticate_basic_token("ward-officer", "wrong")
    forged = fl.FlightCallOptions(headers=[(b"authorization", b"Bearer forged"), (b"x-lienthong-purpose", b"tthc")])
    with pytest.raises(fl.FlightUnauthenticatedError):
        list(client.list_flights(options=forged))


def test_anonymous_callers_see_open_tables_only(server):
    client = fl.FlightClient(server.uri)
    paths = {".".join(p.decode() for p in f.descriptor.path) for f in client.list_flights()}
    assert paths == OPEN_TABLES


def test_metrics_count_queries_without_naming_anyone(server):
    client, options = login(server, "land-officer", "land-management")
    info = client.get_flight_info(fl.FlightDescriptor.for_path("land", "parcels"), options)
    client.do_get(info.endpoints[0].ticket, options).read_all()
    text = urllib.request.urlopen(f"{server.metrics}/metrics", timeout=10).read().decode()
    assert 'lienthong_queries_total{outcome="completed"}' in text
    assert "lienthong_rows_total" in text
    assert "land-officer" not in text and "parcels" not in text
