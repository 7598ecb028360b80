//! The server's edge as an attacker meets it: credentials, tokens, tickets and handles of other
//! callers, missing purposes, metadata of hidden tables, oversized messages, unread streams.

use std::time::Duration;

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::{CommandPreparedStatementQuery, CommandStatementQuery, ProstMessageExt};
use arrow_flight::{Criteria, FlightDescriptor, HandshakeRequest};
use futures::TryStreamExt;
use lienthong_server::flight::Config;
use prost::Message;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{Fixture, fetch, query, secrets, status};
use crate::protocol::with_headers;

async fn raw(server: &Fixture) -> FlightServiceClient<Channel> {
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightServiceClient::new(channel)
}

/// The handshake's answer to `authorization: <header>`.
async fn handshake(server: &Fixture, header: &str) -> Result<String, tonic::Status> {
    let mut request = tonic::Request::new(futures::stream::iter([HandshakeRequest::default()]));
    request.metadata_mut().insert("authorization", header.parse().unwrap());
    let response = raw(server).await.handshake(request).await?;
    Ok(response
        .metadata()
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned())
}

fn basic(principal: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{principal}:{secret}"))
    )
}

fn statement(sql: &str) -> FlightDescriptor {
    FlightDescriptor::new_cmd(
        CommandStatementQuery {
            query: sql.into(),
            transaction_id: None,
        }
        .as_any()
        .encode_to_vec(),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_secrets_unknown_principals_and_public_get_one_answer() {
    let server = Fixture::start().await;
    let secret = secrets().remove("ward-officer").unwrap();
    assert!(
        handshake(&server, &basic("ward-officer", &secret))
            .await
            .unwrap()
            .starts_with("Bearer ")
    );
    let unpadded = basic("ward-officer", &secret).trim_end_matches('=').to_owned();
    assert!(
        handshake(&server, &unpadded).await.is_ok(),
        "Go clients send unpadded base64"
    );
    for header in [
        basic("ward-officer", "wrong"),
        basic("ward-officer", ""),
        basic("no-such-principal", &secret),
        basic("public", ""),
        basic("ward-officer", &format!("{secret} ")),
        "Basic !!!".to_owned(),
        "Bearer x".to_owned(),
        "Basic".to_owned(),
    ] {
        let refused = handshake(&server, &header).await.unwrap_err();
        assert_eq!(
            (refused.code(), refused.message()),
            (Code::Unauthenticated, "authentication failed"),
            "{header}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn forged_and_expired_tokens_are_refused_on_every_call() {
    let server = Fixture::start().await;
    let client = server.login("ward-officer", Some("tthc")).await;
    let token = client.token().unwrap().clone();
    let mut forged: Vec<u8> = token.clone().into_bytes();
    let middle = forged.len() / 2;
    forged[middle] = if forged[middle] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [forged.as_str(), "", "not-a-token", &token[..token.len() - 2]] {
        let header = format!("Bearer {bad}");
        let with = |r: &mut tonic::metadata::MetadataMap| {
            r.insert("authorization", header.parse().unwrap());
            r.insert("x-lienthong-purpose", "tthc".parse().unwrap());
        };
        let mut flight = raw(&server).await;
        let mut calls: Vec<tonic::Status> = Vec::new();
        let mut r = tonic::Request::new(statement("SELECT 1"));
        with(r.metadata_mut());
        calls.push(flight.get_flight_info(r).await.unwrap_err());
        let mut r = tonic::Request::new(statement("SELECT 1"));
        with(r.metadata_mut());
        calls.push(flight.get_schema(r).await.unwrap_err());
        let mut r = tonic::Request::new(arrow_flight::Ticket::new(b"x".to_vec()));
        with(r.metadata_mut());
        calls.push(flight.do_get(r).await.unwrap_err());
        let mut r = tonic::Request::new(arrow_flight::Action::new("ClosePreparedStatement", b"x".to_vec()));
        with(r.metadata_mut());
        calls.push(flight.do_action(r).await.unwrap_err());
        let mut r = tonic::Request::new(Criteria::default());
        with(r.metadata_mut());
        calls.push(flight.list_flights(r).await.unwrap_err());
        let mut r = tonic::Request::new(arrow_flight::Empty::default());
        with(r.metadata_mut());
        calls.push(flight.list_actions(r).await.unwrap_err());
        let mut r = tonic::Request::new(futures::stream::iter([arrow_flight::FlightData::default()]));
        with(r.metadata_mut());
        calls.push(flight.do_put(r).await.unwrap_err());
        for refused in calls {
            assert_eq!(
                (refused.code(), refused.message()),
                (Code::Unauthenticated, "invalid or expired token"),
                "{bad:?}"
            );
        }
    }

    let short = Fixture::with(Config {
        token_ttl: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let mut expired = short.login("ward-officer", Some("tthc")).await;
    let refused = query(&mut expired, "SELECT 1").await.unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
}

#[tokio::test(flavor = "multi_thread")]
async fn tickets_serve_only_their_caller_once() {
    let server = Fixture::start().await;
    let mut officer = server.login("ward-officer", Some("tthc")).await;
    let sql = "SELECT full_name, phone FROM population.citizens ORDER BY citizen_id LIMIT 3";
    let info = officer.execute(sql.into(), None).await.unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();

    let mut land = server.login("land-officer", Some("land-management")).await;
    let mut other_purpose = server.login("ward-officer", Some("statistics")).await;
    let mut public = server.anonymous().await;
    for (who, client) in [
        ("land-officer", &mut land),
        ("other purpose", &mut other_purpose),
        ("public", &mut public),
    ] {
        let refused = status(client.do_get(ticket.clone()).await.unwrap_err());
        assert_eq!(refused.code(), Code::PermissionDenied, "{who}: {refused}");
        assert!(!refused.message().contains("population"), "{who}: {refused}");
    }
    let rows: usize = officer
        .do_get(ticket.clone())
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .iter()
        .map(|b| b.num_rows())
        .sum();
    assert_eq!(rows, 3);
    let replay = status(officer.do_get(ticket).await.unwrap_err());
    assert_eq!(replay.code(), Code::PermissionDenied, "replayed by its owner");
    let mut forged = officer.execute(sql.into(), None).await.unwrap().endpoint[0]
        .ticket
        .clone()
        .unwrap();
    let mut bytes = forged.ticket.to_vec();
    let last = bytes.len() - 5;
    bytes[last] ^= 0x20;
    forged.ticket = bytes.into();
    assert_ne!(status(officer.do_get(forged).await.unwrap_err()).code(), Code::Ok);
}

/// GetFlightInfo plans and governs the query once and DoGet runs that plan: the audit record is
/// written at DoGet, before the first result; a plan made before the catalog is reloaded is not
/// run under the new policy (the query is planned again, and refused).
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_made_at_get_flight_info_runs_at_do_get_only_under_the_catalog_it_was_made_for() {
    let file = crate::common::demo_dir().join("plan-once.yaml");
    std::fs::copy(crate::common::demo_dir().join(lienthong_synth::CATALOG_FILE), &file).unwrap();
    let server = Fixture::serving(&file, Config::default()).await;
    let mut land = server.login("land-officer", Some("land-management")).await;
    let sql = "SELECT parcel_id FROM land.parcels ORDER BY parcel_id LIMIT 3";
    let accepted = |server: &Fixture| {
        server
            .audit_records()
            .iter()
            .filter(|r| r["kind"] == "query" && r["outcome"] == "accepted")
            .count()
    };
    let info = land.execute(sql.into(), None).await.unwrap();
    assert_eq!(accepted(&server), 0, "nothing is audited as run before DoGet");
    let rows = fetch(&mut land, info).await.unwrap();
    assert_eq!(rows.iter().map(|b| b.num_rows()).sum::<usize>(), 3);
    assert_eq!(accepted(&server), 1);

    let info = land.execute(sql.into(), None).await.unwrap();
    let mut spec = lienthong_spec::load(&file).unwrap().catalog;
    spec.grants
        .retain(|_, g| !g.purposes.iter().any(|p| p == "land-management"));
    std::fs::write(&file, lienthong_spec::to_yaml(&spec, &[])).unwrap();
    (server.reload)().unwrap();
    let refused = fetch(&mut land, info).await.unwrap_err();
    assert_ne!(refused.code(), Code::Ok, "{refused}");
    assert_eq!(accepted(&server), 1, "the old plan did not run");
}

#[tokio::test(flavor = "multi_thread")]
async fn prepared_handles_are_their_callers_own() {
    let server = Fixture::start().await;
    let mut officer = server.login("ward-officer", Some("tthc")).await;
    let handle = officer_handle(&mut officer).await;
    let land = server.login("land-officer", Some("land-management")).await;
    let descriptor = FlightDescriptor::new_cmd(
        CommandPreparedStatementQuery {
            prepared_statement_handle: handle.clone().into(),
        }
        .as_any()
        .encode_to_vec(),
    );
    let mut flight = raw(&server).await;
    let refused = flight
        .get_flight_info(with_headers(&land, Some("land-management"), descriptor.clone()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let close = arrow_flight::Action::new(
        "ClosePreparedStatement",
        arrow_flight::sql::ActionClosePreparedStatementRequest {
            prepared_statement_handle: handle.clone().into(),
        }
        .as_any()
        .encode_to_vec(),
    );
    let refused = flight
        .do_action(with_headers(&land, Some("land-management"), close.clone()))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let own = flight
        .get_flight_info(with_headers(&officer, Some("tthc"), descriptor.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        fetch(&mut officer, own)
            .await
            .unwrap()
            .iter()
            .map(|b| b.num_rows())
            .sum::<usize>(),
        2
    );
    flight
        .do_action(with_headers(&officer, Some("tthc"), close))
        .await
        .unwrap();
    let closed = flight
        .get_flight_info(with_headers(&officer, Some("tthc"), descriptor))
        .await
        .unwrap_err();
    assert_eq!(closed.code(), Code::PermissionDenied, "closed");
}

/// A fresh prepared statement's raw handle (the public client API hides it).
pub(crate) async fn officer_handle(officer: &mut crate::common::Client) -> Vec<u8> {
    let action = arrow_flight::Action::new(
        "CreatePreparedStatement",
        arrow_flight::sql::ActionCreatePreparedStatementRequest {
            query: "SELECT full_name FROM population.citizens LIMIT 2".into(),
            transaction_id: None,
        }
        .as_any()
        .encode_to_vec(),
    );
    let mut results = officer.do_action(action).await.unwrap();
    let result = results.try_next().await.unwrap().unwrap();
    let any = arrow_flight::sql::Any::decode(&*result.body).unwrap();
    let created: arrow_flight::sql::ActionCreatePreparedStatementResult = any.unpack().unwrap().unwrap();
    created.prepared_statement_handle.to_vec()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_or_undeclared_purpose_is_refused_and_audited() {
    let server = Fixture::start().await;
    // A purpose is an exact code: with a space around it, it is another (undeclared) purpose.
    for purpose in [None, Some("curiosity"), Some(" tthc"), Some("tthc ")] {
        let mut client = server.login("ward-officer", purpose).await;
        let refused = query(&mut client, "SELECT full_name FROM population.citizens LIMIT 1")
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::PermissionDenied, "{purpose:?}");
        assert!(refused.message().contains("purpose"), "{refused}");
    }
    let denied: Vec<_> = server
        .audit_records()
        .into_iter()
        .filter(|r| r["kind"] == "session" && r["outcome"] == "denied" && r["principal"] == "ward-officer")
        .collect();
    assert_eq!(denied.len(), 4, "every refusal audited");
    assert_eq!(denied[1]["purpose"], "curiosity");
}

#[tokio::test(flavor = "multi_thread")]
async fn hidden_tables_look_like_missing_ones_in_every_call() {
    let server = Fixture::start().await;
    let mut public = server.anonymous().await;
    let mut flight = raw(&server).await;
    let hidden = query(&mut public, "SELECT * FROM population.citizens")
        .await
        .unwrap_err();
    let missing = query(&mut public, "SELECT * FROM population.no_such_table")
        .await
        .unwrap_err();
    assert_eq!(hidden.code(), missing.code());
    assert_eq!(
        hidden.message().replace("citizens", "X"),
        missing.message().replace("no_such_table", "X"),
        "same words for hidden and missing"
    );
    for path in [["population", "citizens"], ["population", "no_such_table"]] {
        let refused = flight
            .get_schema(tonic::Request::new(FlightDescriptor::new_path(
                path.iter().map(|s| s.to_string()).collect(),
            )))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{path:?}");
        let refused = flight
            .get_flight_info(tonic::Request::new(FlightDescriptor::new_path(
                path.iter().map(|s| s.to_string()).collect(),
            )))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::InvalidArgument, "{path:?}");
    }
    let explain = query(&mut public, "EXPLAIN SELECT * FROM population.citizens")
        .await
        .unwrap_err();
    assert_eq!(explain.code(), hidden.code());
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_messages_are_refused_and_the_server_stays_up() {
    let server = Fixture::with(Config {
        max_message_bytes: 64 * 1024,
        ..Config::default()
    })
    .await;
    let mut client = server.anonymous().await;
    let huge = format!("SELECT 1 WHERE '{}' = ''", "x".repeat(200 * 1024));
    let refused = query(&mut client, &huge).await.unwrap_err();
    assert_ne!(refused.code(), Code::Ok);
    let rows = query(&mut client, "SELECT 1 AS one").await.unwrap();
    assert_eq!(rows[0].num_rows(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn unread_streams_are_cancelled_and_free_their_slots() {
    let server = Fixture::with(Config {
        max_queries_per_principal: 2,
        queue_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_secs(2),
        ..Config::default()
    })
    .await;
    let mut client = server.anonymous().await;
    let big = "SELECT value FROM generate_series(1, 50000000)";
    let mut held = Vec::new();
    for _ in 0..2 {
        let info = client.execute(big.into(), None).await.unwrap();
        held.push(client.do_get(info.endpoint[0].ticket.clone().unwrap()).await.unwrap());
    }
    let info = client.execute("SELECT 1".into(), None).await.unwrap();
    let busy = status(
        client
            .do_get(info.endpoint[0].ticket.clone().unwrap())
            .await
            .unwrap_err(),
    );
    assert_eq!(busy.code(), Code::ResourceExhausted, "{busy}");
    tokio::time::sleep(Duration::from_secs(4)).await;
    let rows = query(&mut client, "SELECT 1 AS one").await.unwrap();
    assert_eq!(rows[0].num_rows(), 1, "slots freed by the idle timeout");
    let cancelled = server
        .audit_records()
        .iter()
        .filter(|r| r["kind"] == "completion" && r["outcome"] == "cancelled")
        .count();
    assert_eq!(cancelled, 2, "both unread queries cancelled and audited");
    drop(held);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_goes_away_cancels_its_query() {
    let server = Fixture::start().await;
    let mut client = server.anonymous().await;
    let info = client
        .execute("SELECT value FROM generate_series(1, 50000000)".into(), None)
        .await
        .unwrap();
    let mut stream = client.do_get(info.endpoint[0].ticket.clone().unwrap()).await.unwrap();
    let first = stream.try_next().await.unwrap();
    assert!(first.is_some());
    drop(stream);
    drop(client);
    let mut outcome = None;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        outcome = server
            .audit_records()
            .into_iter()
            .rfind(|r| r["kind"] == "completion")
            .map(|r| r["outcome"].clone());
        if outcome.is_some() {
            break;
        }
    }
    assert_eq!(outcome, Some(serde_json::json!("cancelled")));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_session_purpose_counts_only_with_its_principals_token() {
    use lienthong_server::flight::session::{OptionValue, SessionOptionValue, SessionOptions};
    let server = Fixture::start().await;
    let officer = server.login("ward-officer", None).await;
    let land = server.login("land-officer", None).await;
    let mut flight = raw(&server).await;
    let mut options = SessionOptions::default();
    options.session_options.insert(
        "purpose".into(),
        SessionOptionValue {
            option_value: Some(OptionValue::StringValue("tthc".into())),
        },
    );
    let action = arrow_flight::Action::new("SetSessionOptions", options.encode_to_vec());
    let response = flight.do_action(with_headers(&officer, None, action)).await.unwrap();
    let cookie = response
        .metadata()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let rotated = response
        .metadata()
        .get("authorization")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();

    let ask = |token: String, cookie: Option<String>| {
        let mut request = tonic::Request::new(statement("SELECT full_name FROM population.citizens LIMIT 1"));
        request.metadata_mut().insert("authorization", token.parse().unwrap());
        if let Some(cookie) = cookie {
            request.metadata_mut().insert("cookie", cookie.parse().unwrap());
        }
        request
    };
    let bearer = |c: &crate::common::Client| format!("Bearer {}", c.token().unwrap());
    assert!(
        flight
            .get_flight_info(ask(bearer(&officer), Some(cookie.clone())))
            .await
            .is_ok(),
        "token + own cookie"
    );
    assert!(
        flight.get_flight_info(ask(rotated, None)).await.is_ok(),
        "rotated token"
    );
    let refused = flight.get_flight_info(ask(bearer(&officer), None)).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied, "no purpose without the cookie");
    let refused = flight
        .get_flight_info(ask(bearer(&land), Some(cookie.clone())))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::PermissionDenied,
        "another principal's cookie gives no purpose"
    );
    let forged = format!("{}x", cookie);
    let refused = flight
        .get_flight_info(ask(bearer(&officer), Some(forged)))
        .await
        .unwrap_err();
    assert_eq!(
        refused.code(),
        Code::PermissionDenied,
        "a forged cookie gives no purpose"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flood_from_one_principal_is_rate_limited_and_others_still_served() {
    let server = Fixture::with(Config {
        rate_per_minute: 6,
        public_rate_per_minute: 4,
        ..Config::default()
    })
    .await;
    let mut public = server.anonymous().await;
    let mut refused = 0;
    for _ in 0..10 {
        if let Err(status) = query(&mut public, "SELECT count(*) FROM reference.provinces").await {
            assert_eq!(status.code(), Code::ResourceExhausted, "{status}");
            assert!(status.message().contains("requests a minute"), "{status}");
            refused += 1;
        }
    }
    assert!(refused >= 7, "{refused} of 10 refused");
    // Another principal has a budget of its own.
    let mut officer = server.login("ward-officer", Some("tthc")).await;
    query(&mut officer, "SELECT count(*) FROM population.citizens")
        .await
        .unwrap();
}
