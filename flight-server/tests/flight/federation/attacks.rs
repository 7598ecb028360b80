//! Assertions an attacker would craft, sent straight to an owner node: each is refused without
//! telling what exists, and audited.

use arrow::array::RecordBatch;
use arrow_flight::sql::client::FlightSqlServiceClient;
use lienthong_synth::federated::{LAND_NODE, LGSP, POPULATION_NODE};

use super::{Federation, run};
use crate::common::pretty;

/// A JWT signed with `pem` (an Ed25519 PKCS#8 key) carrying `claims`.
fn signed(pem: &str, claims: &serde_json::Value) -> String {
    let key = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA), claims, &key).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A raw Flight SQL client of the node at `url`.
async fn client(url: &str) -> FlightSqlServiceClient<tonic::transport::Channel> {
    let channel = tonic::transport::Endpoint::from_shared(url.replace("grpc://", "http://"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    FlightSqlServiceClient::new(channel)
}

/// Sends `sql` to the node at `url` with `assertion` as a raw Flight SQL client would:
/// GetFlightInfo, then DoGet with `second` as the second request's assertion.
async fn call(url: &str, sql: &str, assertion: &str, second: Option<&str>) -> Result<usize, tonic::Status> {
    let mut client = client(url).await;
    client.set_header(lienthong::node::ASSERTION_HEADER, assertion);
    let info = client
        .execute(sql.to_owned(), None)
        .await
        .map_err(crate::common::status)?;
    let ticket = info.endpoint[0].ticket.clone().unwrap();
    if let Some(second) = second {
        client.set_header(lienthong::node::ASSERTION_HEADER, second);
    }
    let batches: Vec<RecordBatch> =
        futures::TryStreamExt::try_collect(client.do_get(ticket).await.map_err(crate::common::status)?)
            .await
            .map_err(crate::common::status)?;
    Ok(batches.iter().map(RecordBatch::num_rows).sum())
}

pub(super) async fn attacks(federation: &Federation) {
    use sha2::Digest;
    let url = &federation.owners[POPULATION_NODE].1;
    let lgsp_key = &federation.keys[LGSP].0;
    let rogue_key = lienthong::node::generate_key().unwrap().0;
    let sql = "SELECT count(*) FROM population.citizens WHERE current_ward_code <> '00070'";
    let hash = |s: &str| {
        sha2::Sha256::digest(s.as_bytes())
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    let claims = |jti: &str| {
        serde_json::json!({
            "iss": LGSP, "aud": POPULATION_NODE, "iat": now(), "exp": now() + 20, "jti": jti, "cid": "hanoi_lgsp/attack",
            "sub": "ward-officer", "agency": "000.70.99.H26", "roles": ["one-stop-officer"],
            "attributes": {"ward": "00070", "province": "01"}, "purpose": "tthc", "sql": hash(sql),
        })
    };
    // A genuine assertion works, and the owner's row filter is the ceiling: the LGSP grants the
    // ward officer every row, the owner only its ward's.
    let ok = call(
        url,
        sql,
        &signed(lgsp_key, &claims("a1")),
        Some(&signed(lgsp_key, &claims("a2"))),
    )
    .await;
    assert_eq!(ok.unwrap(), 1, "one row: the count, which is 0 outside the ward");
    let outside = run(&federation.lgsp, "ward-officer", Some("tthc"), sql).await.unwrap();
    assert!(pretty(&outside).contains("| 0 "), "{}", pretty(&outside));

    let with = |f: &dyn Fn(&mut serde_json::Value)| {
        let mut c = claims("x");
        c["jti"] = serde_json::json!(format!("j{}", now_nanos()));
        f(&mut c);
        c
    };
    let cases: Vec<(&str, String)> = vec![
        ("replayed", signed(lgsp_key, &claims("a1"))),
        ("forged: another key", signed(&rogue_key, &with(&|_| {}))),
        (
            "expired",
            signed(
                lgsp_key,
                &with(&|c| {
                    c["exp"] = serde_json::json!(now() - 60);
                }),
            ),
        ),
        (
            "lives for an hour",
            signed(
                lgsp_key,
                &with(&|c| {
                    c["exp"] = serde_json::json!(now() + 3600);
                }),
            ),
        ),
        (
            "wrong audience",
            signed(
                lgsp_key,
                &with(&|c| {
                    c["aud"] = serde_json::json!(LAND_NODE);
                }),
            ),
        ),
        (
            "SQL swapped after signing",
            signed(
                lgsp_key,
                &with(&|c| {
                    c["sql"] = serde_json::json!(hash("SELECT 1"));
                }),
            ),
        ),
        (
            "agency it may not speak for",
            signed(
                lgsp_key,
                &with(&|c| {
                    c["agency"] = serde_json::json!("000.00.00.G09");
                }),
            ),
        ),
        (
            "purpose it may not assert",
            signed(
                lgsp_key,
                &with(&|c| {
                    c["purpose"] = serde_json::json!("marketing");
                }),
            ),
        ),
        (
            "attribute it may not set",
            signed(
                lgsp_key,
                &with(&|c| {
                    c["attributes"]["clearance"] = serde_json::json!("top");
                }),
            ),
        ),
        (
            "unknown peer",
            signed(
                &rogue_key,
                &with(&|c| {
                    c["iss"] = serde_json::json!("rogue_node");
                }),
            ),
        ),
        ("not a token", "not.a.token".to_owned()),
    ];
    for (name, assertion) in cases {
        let second = signed(lgsp_key, &with(&|_| {}));
        let refused = call(url, sql, &assertion, Some(&second)).await;
        let status = refused.expect_err(name);
        assert!(
            matches!(
                status.code(),
                tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
            ),
            "{name}: {status:?}"
        );
        assert!(
            !status.message().contains("00070") && !status.message().contains("ward"),
            "{name}: {status:?}"
        );
    }
    // A direct client bringing a genuine assertion and a credential of its own: refused, neither
    // identity is taken.
    let mut mixed = client(url).await;
    mixed.set_header(lienthong::node::ASSERTION_HEADER, signed(lgsp_key, &with(&|_| {})));
    mixed.set_header("authorization", "Bearer eyJhbGciOiJFZERTQSJ9.e30.c2ln");
    let Err(refused) = mixed.execute(sql.to_owned(), None).await else {
        panic!("an assertion with another credential was accepted");
    };
    let status = crate::common::status(refused);
    assert!(
        matches!(
            status.code(),
            tonic::Code::Unauthenticated | tonic::Code::PermissionDenied
        ),
        "{status:?}"
    );
    // A call's ticket is not redeemed with the same assertion again (one-time ids).
    let reused = signed(lgsp_key, &with(&|_| {}));
    assert!(
        call(url, sql, &reused, None).await.is_err(),
        "the assertion was used twice"
    );
    // The owner audited every refusal with its reason.
    let refusals = federation
        .audit(POPULATION_NODE)
        .into_iter()
        .filter(|r| r["outcome"] == "denied")
        .count();
    assert!(refusals >= 11, "{refusals}");
}

fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// The population owner's keys quota counts the registrar arriving through the LGSP: once its 500
/// people a day are looked up (25 lookups of 20), the next lookup is refused at the owner, whatever
/// the LGSP would allow, and the caller gets a quota error.
#[tokio::test(flavor = "multi_thread")]
async fn the_owner_s_quota_holds_for_callers_arriving_through_a_peer() {
    let federation = Federation::start();
    let ids: Vec<String> = {
        let batches = run(
            &federation.single,
            "population-owner",
            Some("data-stewardship"),
            "SELECT citizen_id FROM population.citizens ORDER BY citizen_id LIMIT 520",
        )
        .await
        .unwrap();
        batches
            .iter()
            .flat_map(|b| {
                (0..b.num_rows()).map(move |i| arrow::util::display::array_value_to_string(b.column(0), i).unwrap())
            })
            .collect()
    };
    let lookup = |keys: &[String]| {
        let list: Vec<String> = keys.iter().map(|k| format!("'{k}'")).collect();
        format!(
            "SELECT citizen_id, permanent_ward_code FROM population.citizens WHERE citizen_id IN ({})",
            list.join(", ")
        )
    };
    let registrar = ("business-registrar", Some("business-registration"));
    for chunk in ids[..500].chunks(20) {
        let rows = run(&federation.lgsp, registrar.0, registrar.1, &lookup(chunk))
            .await
            .unwrap();
        assert_eq!(rows.iter().map(RecordBatch::num_rows).sum::<usize>(), 20);
    }
    let error = run(&federation.lgsp, registrar.0, registrar.1, &lookup(&ids[500..501]))
        .await
        .unwrap_err();
    assert!(matches!(error, lienthong::Error::Quota(_)), "{error:?}");
    assert!(error.to_string().contains("500 of 500 keys per day used"), "{error}");
    // People already looked up today are still answered.
    run(&federation.lgsp, registrar.0, registrar.1, &lookup(&ids[..3]))
        .await
        .unwrap();
    let owner = federation.audit(POPULATION_NODE);
    let refused = owner
        .iter()
        .rev()
        .find(|r| r["outcome"] == "denied")
        .expect("the owner audited the refusal");
    assert_eq!(refused["via"]["node"], LGSP);
    let message = refused["error"].as_str().unwrap();
    assert!(
        message.contains("registrar-verifications") && message.contains(&format!("{LGSP}/business-registrar")),
        "{message}"
    );
}
