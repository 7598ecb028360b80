//! The Flight SQL commands a client uses, answered as the library answers the same principal.

use std::sync::Arc;

use arrow::array::{Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use arrow_flight::sql::{CommandGetDbSchemas, CommandGetPrimaryKeys, CommandGetTables, SqlInfo};
use futures::TryStreamExt;

use crate::common::{Fixture, fetch, pretty, query, status};

/// The demo scenarios (README tour): principal, purpose, query.
pub const SCENARIOS: &[(&str, Option<&str>, &str)] = &[
    (
        "ward-officer",
        Some("tthc"),
        "SELECT c.citizen_id, c.full_name, c.current_ward_code, c.phone, r.parcel_id, p.area_m2 \
         FROM population.citizens c JOIN land.rights r ON r.holder_citizen_id = c.citizen_id \
         JOIN land.parcels p ON p.parcel_id = r.parcel_id ORDER BY c.citizen_id, r.parcel_id LIMIT 20",
    ),
    (
        "ward-officer",
        Some("tthc"),
        "SELECT count(*) AS outside_the_ward FROM population.citizens WHERE current_ward_code <> '00070'",
    ),
    (
        "business-registrar",
        Some("business-registration"),
        // Lookup-only: representatives of enterprises named by code (the demo data's, seed 2025,
        // 4 000 citizens), the name compared with the application's, never read.
        "SELECT e.enterprise_code, e.name, c.permanent_ward_code, c.full_name = 'Nguyễn Thanh Yến' AS name_matches \
         FROM business.enterprises e JOIN population.citizens c ON c.citizen_id = e.legal_representative_id \
         WHERE e.enterprise_code IN ('0101000020', '0101000052', '0101000077') ORDER BY e.enterprise_code",
    ),
    (
        "inspector",
        Some("inspection"),
        "SELECT p.personnel_no, p.citizen_id AS person, e.enterprise_code \
         FROM civil_servants.personnel p JOIN business.enterprises e ON e.legal_representative_id = p.citizen_id \
         ORDER BY p.personnel_no, e.enterprise_code LIMIT 20",
    ),
    (
        "statistician",
        Some("statistics"),
        "SELECT current_province_code AS province, sex, count(*) AS people FROM population.citizens \
         GROUP BY 1, 2 ORDER BY 1, 2",
    ),
    (
        "land-officer",
        Some("land-management"),
        "SELECT p.parcel_id, p.ward_code, p.area_m2, r.holder_kind, r.holder_citizen_id \
         FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id ORDER BY p.parcel_id, r.holder_citizen_id LIMIT 20",
    ),
    (
        "public",
        None,
        "SELECT province_code, province_name FROM reference.provinces ORDER BY 1",
    ),
];

#[tokio::test(flavor = "multi_thread")]
async fn the_scenarios_over_flight_give_the_library_answers() {
    let server = Fixture::start().await;
    for (principal, purpose, sql) in SCENARIOS {
        let mut client = if *principal == "public" {
            server.anonymous().await
        } else {
            server.login(principal, *purpose).await
        };
        let over_flight = query(&mut client, sql)
            .await
            .unwrap_or_else(|e| panic!("{principal}: {sql}: {e}"));
        let library = server.library_answer(principal, *purpose, sql).await.unwrap();
        assert!(
            !over_flight.is_empty() && over_flight.iter().map(RecordBatch::num_rows).sum::<usize>() > 0,
            "{sql}"
        );
        assert_eq!(pretty(&over_flight), library, "{principal}: {sql}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_over_flight_are_the_library_refusals_with_grpc_codes() {
    let server = Fixture::start().await;
    let cases: &[(&str, Option<&str>, &str, tonic::Code)] = &[
        (
            "ward-officer",
            Some("tthc"),
            "SELECT ethnicity FROM population.citizens",
            tonic::Code::InvalidArgument,
        ),
        (
            "statistician",
            Some("statistics"),
            "SELECT sex, date_of_birth FROM population.citizens LIMIT 1",
            tonic::Code::PermissionDenied,
        ),
        (
            "public",
            None,
            "SELECT count(*) FROM population.citizens",
            tonic::Code::InvalidArgument,
        ),
        (
            "ward-officer",
            Some("tthc"),
            "DROP TABLE population.citizens",
            tonic::Code::PermissionDenied,
        ),
        ("ward-officer", Some("tthc"), "SELEC 1", tonic::Code::InvalidArgument),
    ];
    for (principal, purpose, sql, code) in cases {
        let mut client = if *principal == "public" {
            server.anonymous().await
        } else {
            server.login(principal, *purpose).await
        };
        let refused = query(&mut client, sql).await.expect_err(sql);
        assert_eq!(refused.code(), *code, "{sql}: {refused}");
        let library = server.library_answer(principal, *purpose, sql).await.expect_err(sql);
        assert_eq!(refused.message(), library, "{sql}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn prepared_statements_bind_parameters_and_close() {
    let server = Fixture::start().await;
    let mut client = server.login("ward-officer", Some("tthc")).await;
    let sql = "SELECT citizen_id, full_name FROM population.citizens WHERE sex = $1 AND citizen_id > $2 ORDER BY citizen_id LIMIT 5";
    let mut prepared = client.prepare(sql.to_owned(), None).await.unwrap();
    let parameters = prepared.parameter_schema().unwrap().clone();
    assert_eq!(parameters.fields().len(), 2);
    assert_eq!(parameters.field(0).data_type(), &DataType::Utf8);
    assert_eq!(
        prepared
            .dataset_schema()
            .unwrap()
            .fields()
            .iter()
            .map(|f| f.name().as_str())
            .collect::<Vec<_>>(),
        ["citizen_id", "full_name"]
    );
    for (sex, after) in [("female", "0"), ("male", "0"), ("female", "001")] {
        let row = RecordBatch::try_new(
            Arc::new(Schema::new(vec![
                Field::new("$1", DataType::Utf8, false),
                Field::new("$2", DataType::Utf8, false),
            ])),
            vec![
                Arc::new(StringArray::from(vec![sex])),
                Arc::new(StringArray::from(vec![after])),
            ],
        )
        .unwrap();
        prepared.set_parameters(row).unwrap();
        let info = prepared.execute().await.unwrap();
        let got = fetch(&mut client, info).await.unwrap();
        let literal = sql
            .replace("$1", &format!("'{sex}'"))
            .replace("$2", &format!("'{after}'"));
        let library = server
            .library_answer("ward-officer", Some("tthc"), &literal)
            .await
            .unwrap();
        assert_eq!(pretty(&got), library, "{sex} {after}");
    }
    prepared.close().await.unwrap();
    let audit = server.audit_records();
    let queries: Vec<_> = audit
        .iter()
        .filter(|r| r["kind"] == "query" && r["outcome"] == "accepted")
        .collect();
    assert_eq!(queries.len(), 3, "one audited query per execution");
    assert!(
        queries
            .iter()
            .all(|r| r["literal_digests"].as_array().is_some_and(|d| d.len() >= 2)),
        "parameters digested"
    );
    assert!(
        !std::fs::read_to_string(&server.audit).unwrap().contains("'F'"),
        "values never in the audit"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn metadata_lists_only_what_the_caller_may_see() {
    let server = Fixture::start().await;
    let node = server.library.spec().node.name.clone();
    for (principal, purpose) in [
        ("ward-officer", Some("tthc")),
        ("land-officer", Some("land-management")),
        ("public", None),
    ] {
        let mut client = if principal == "public" {
            server.anonymous().await
        } else {
            server.login(principal, purpose).await
        };
        let session = server.library.session(principal, purpose).unwrap();
        let mut expected = session.tables();
        expected.sort();

        let info = client
            .get_tables(CommandGetTables {
                include_schema: true,
                ..Default::default()
            })
            .await
            .unwrap();
        let tables = fetch(&mut client, info).await.unwrap();
        let mut listed = Vec::new();
        for batch in &tables {
            let schemas = column(batch, "db_schema_name");
            let names = column(batch, "table_name");
            let catalogs = column(batch, "catalog_name");
            for i in 0..batch.num_rows() {
                assert_eq!(catalogs[i], node);
                listed.push(format!("{}.{}", schemas[i], names[i]));
                let encoded = batch.column_by_name("table_schema").unwrap();
                let bytes = encoded
                    .as_any()
                    .downcast_ref::<arrow::array::BinaryArray>()
                    .unwrap()
                    .value(i);
                let schema = arrow::ipc::convert::try_schema_from_ipc_buffer(bytes).unwrap();
                // The governed schema, as results travel (plain text types).
                let governed = session.table_schema(&listed[listed.len() - 1]).await.unwrap();
                let governed = lienthong_server::flight::wire::schema(&governed);
                assert_eq!(&schema, governed.as_ref(), "{principal}: {}", listed[listed.len() - 1]);
            }
        }
        listed.sort();
        assert_eq!(listed, expected, "{principal}");

        let info = client.get_db_schemas(CommandGetDbSchemas::default()).await.unwrap();
        let schemas: Vec<String> = fetch(&mut client, info)
            .await
            .unwrap()
            .iter()
            .flat_map(|b| column(b, "db_schema_name"))
            .collect();
        let mut databases: Vec<String> = expected
            .iter()
            .map(|t| t.split('.').next().unwrap().to_owned())
            .collect();
        databases.dedup();
        assert_eq!(schemas, databases, "{principal}");

        let info = client.get_catalogs().await.unwrap();
        let catalogs: Vec<String> = fetch(&mut client, info)
            .await
            .unwrap()
            .iter()
            .flat_map(|b| column(b, "catalog_name"))
            .collect();
        assert_eq!(catalogs, std::slice::from_ref(&node));

        let flights: Vec<_> = client
            .inner_mut()
            .clone()
            .list_flights(with_headers(&client, purpose, arrow_flight::Criteria::default()))
            .await
            .unwrap()
            .into_inner()
            .try_collect()
            .await
            .unwrap();
        let mut paths: Vec<String> = flights
            .iter()
            .map(|f| f.flight_descriptor.as_ref().unwrap().path.join("."))
            .collect();
        paths.sort();
        assert_eq!(paths, expected, "{principal}: ListFlights");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn primary_keys_sql_info_and_type_info_answer() {
    let server = Fixture::start().await;
    let mut client = server.login("land-officer", Some("land-management")).await;
    let info = client
        .get_primary_keys(CommandGetPrimaryKeys {
            catalog: None,
            db_schema: Some("land".into()),
            table: "parcels".into(),
        })
        .await
        .unwrap();
    let keys = fetch(&mut client, info).await.unwrap();
    assert_eq!(
        keys.iter().flat_map(|b| column(b, "column_name")).collect::<Vec<_>>(),
        ["parcel_id"]
    );
    let info = client
        .get_primary_keys(CommandGetPrimaryKeys {
            catalog: None,
            db_schema: Some("civil_servants".into()),
            table: "personnel".into(),
        })
        .await
        .unwrap();
    assert_eq!(
        fetch(&mut client, info)
            .await
            .unwrap()
            .iter()
            .map(RecordBatch::num_rows)
            .sum::<usize>(),
        0,
        "not visible"
    );

    let info = client
        .get_sql_info(vec![SqlInfo::FlightSqlServerName, SqlInfo::FlightSqlServerReadOnly])
        .await
        .unwrap();
    let batches = fetch(&mut client, info).await.unwrap();
    assert_eq!(batches.iter().map(RecordBatch::num_rows).sum::<usize>(), 2);
    let info = client
        .get_xdbc_type_info(arrow_flight::sql::CommandGetXdbcTypeInfo { data_type: None })
        .await
        .unwrap();
    let types: Vec<String> = fetch(&mut client, info)
        .await
        .unwrap()
        .iter()
        .flat_map(|b| column(b, "type_name"))
        .collect();
    assert!(
        types.contains(&"VARCHAR".to_owned()) && types.contains(&"BIGINT".to_owned()),
        "{types:?}"
    );
    let info = client.get_table_types().await.unwrap();
    let kinds: Vec<String> = fetch(&mut client, info)
        .await
        .unwrap()
        .iter()
        .flat_map(|b| column(b, "table_type"))
        .collect();
    assert_eq!(kinds, ["TABLE"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_commands_answer_at_once() {
    let server = Fixture::start().await;
    let mut client = server.login("ward-officer", Some("tthc")).await;
    let update = client
        .execute_update("DELETE FROM population.citizens".into(), None)
        .await
        .unwrap_err();
    assert_eq!(status(update).code(), tonic::Code::Unimplemented);
    let transaction = client.begin_transaction().await.unwrap_err();
    assert_eq!(status(transaction).code(), tonic::Code::Unimplemented);
    let in_transaction = client
        .execute("SELECT 1".into(), Some(vec![1u8].into()))
        .await
        .unwrap_err();
    assert_eq!(status(in_transaction).code(), tonic::Code::InvalidArgument);
    let exchange = client
        .inner_mut()
        .clone()
        .do_exchange(with_headers(
            &client,
            Some("tthc"),
            futures::stream::empty::<arrow_flight::FlightData>(),
        ))
        .await
        .unwrap_err();
    assert_eq!(exchange.code(), tonic::Code::Unimplemented);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_large_result_streams_in_many_batches() {
    let server = Fixture::start().await;
    let mut client = server.anonymous().await;
    let info = client
        .execute(
            "SELECT value, value * 2 AS twice FROM generate_series(1, 1500000)".into(),
            None,
        )
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    let mut stream = client.do_get(ticket).await.unwrap();
    let (mut rows, mut batches) = (0usize, 0usize);
    while let Some(batch) = stream.try_next().await.unwrap() {
        rows += batch.num_rows();
        batches += 1;
    }
    assert_eq!(rows, 1_500_000);
    assert!(batches > 100, "streamed in {batches} batches");
    let completion = server
        .audit_records()
        .into_iter()
        .rfind(|r| r["kind"] == "completion")
        .unwrap();
    assert_eq!(completion["rows"], 1_500_000);
    assert_eq!(completion["outcome"], "completed");
}

/// The values of a text column.
pub fn column(batch: &RecordBatch, name: &str) -> Vec<String> {
    let array = batch.column_by_name(name).unwrap_or_else(|| panic!("no column {name}"));
    let text = arrow::compute::cast(array, &DataType::Utf8).unwrap();
    let text = text.as_any().downcast_ref::<StringArray>().unwrap();
    (0..text.len()).map(|i| text.value(i).to_owned()).collect()
}

/// A raw request carrying the client's token and headers.
pub fn with_headers<T>(client: &crate::common::Client, purpose: Option<&str>, message: T) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Some(token) = client.token() {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {token}").parse().unwrap());
    }
    if let Some(purpose) = purpose {
        request
            .metadata_mut()
            .insert("x-lienthong-purpose", purpose.parse().unwrap());
    }
    request
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_lets_a_running_query_finish_then_stops() {
    let server = Fixture::with(lienthong_server::flight::Config {
        shutdown_grace: std::time::Duration::from_secs(20),
        ..Default::default()
    })
    .await;
    let mut client = server.anonymous().await;
    let info = client
        .execute("SELECT value FROM generate_series(1, 300000)".into(), None)
        .await
        .unwrap();
    let mut stream = client.do_get(info.endpoint[0].ticket.clone().unwrap()).await.unwrap();
    let mut rows = stream.try_next().await.unwrap().unwrap().num_rows();
    let audit = server.audit.clone();
    let stopping = tokio::spawn(server.stop());
    while let Some(batch) = stream.try_next().await.unwrap() {
        rows += batch.num_rows();
    }
    assert_eq!(rows, 300_000, "the running query finished");
    stopping.await.unwrap().unwrap();
    let last: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&audit).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["outcome"].as_str()),
        (Some("completion"), Some("completed"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn shutdown_cancels_what_is_still_running_after_the_grace_period() {
    let server = Fixture::with(lienthong_server::flight::Config {
        shutdown_grace: std::time::Duration::from_millis(200),
        ..Default::default()
    })
    .await;
    let mut client = server.anonymous().await;
    let info = client
        .execute("SELECT value FROM generate_series(1, 100000000)".into(), None)
        .await
        .unwrap();
    let mut stream = client.do_get(info.endpoint[0].ticket.clone().unwrap()).await.unwrap();
    assert!(stream.try_next().await.unwrap().is_some());
    let audit = server.audit.clone();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), server.stop()).await;
    assert!(stopped.is_ok(), "the server stopped despite an unread stream");
    let ended = loop {
        match stream.try_next().await {
            Ok(Some(_)) => continue,
            Ok(None) => break None,
            Err(e) => break Some(status(e)),
        }
    };
    assert!(ended.is_some(), "the client learns that its result is incomplete");
    let last: serde_json::Value =
        serde_json::from_str(std::fs::read_to_string(&audit).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(
        (last["kind"].as_str(), last["outcome"].as_str()),
        (Some("completion"), Some("cancelled"))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_grpc_health_service_reports_serving() {
    use tonic_health::pb::HealthCheckRequest;
    use tonic_health::pb::health_client::HealthClient;
    let server = Fixture::start().await;
    let channel = tonic::transport::Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut health = HealthClient::new(channel);
    for service in ["", "arrow.flight.protocol.FlightService"] {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        assert_eq!(
            status,
            tonic_health::pb::health_check_response::ServingStatus::Serving as i32,
            "{service:?}"
        );
    }
}
