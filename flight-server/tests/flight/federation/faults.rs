//! An owner down, an owner changing its policy, and mutual TLS between nodes.

use super::{Federation, LAND_NODE, LGSP, POPULATION_NODE, SCENARIOS, node_tls, run};
use crate::common::pretty;

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_down_fails_only_its_queries_and_a_grant_it_removes_is_gone_at_the_next_call() {
    let mut federation = Federation::start();
    let land_officer = |f: &Federation| {
        let lgsp = f.lgsp.clone();
        async move {
            run(
                &lgsp,
                "land-officer",
                Some("land-management"),
                "SELECT count(*) FROM land.parcels p JOIN land.rights r ON r.parcel_id = p.parcel_id",
            )
            .await
        }
    };
    assert!(land_officer(&federation).await.is_ok());

    // The population owner goes down: queries naming its tables fail, clearly and audited as
    // failed; the land owner's still work.
    federation.kill(POPULATION_NODE);
    let error = run(&federation.lgsp, "ward-officer", Some("tthc"), SCENARIOS[0].2)
        .await
        .unwrap_err();
    assert!(matches!(error, lienthong::Error::Source { .. }), "{error:?}");
    assert!(error.to_string().contains("mps_node"), "{error}");
    let failed = federation
        .audit(LGSP)
        .into_iter()
        .rev()
        .find(|r| r["principal"] == "ward-officer" && r["kind"] != "query")
        .unwrap();
    assert_eq!(failed["outcome"], "failed", "{failed}");
    assert!(land_officer(&federation).await.is_ok());

    // The land owner removes its grant to the land officer and reloads: the next call is denied,
    // whatever the LGSP's catalog still grants.
    federation.change_catalog(LAND_NODE, |catalog| {
        catalog
            .grants
            .retain(|_, g| !g.purposes.iter().any(|p| p == "land-management"));
    });
    let mut denied = None;
    for _ in 0..100 {
        match land_officer(&federation).await {
            Ok(_) => tokio::time::sleep(std::time::Duration::from_millis(50)).await,
            Err(e) => {
                denied = Some(e);
                break;
            }
        }
    }
    // As for a local caller, a table the caller has no grant on does not exist for it.
    let denied = denied.expect("the owner reloaded its catalog");
    assert!(
        matches!(&denied, lienthong::Error::Query(m) if m.contains("not found")),
        "{denied:?}"
    );
    assert!(land_officer(&federation).await.is_err(), "still refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn between_nodes_over_mutual_tls_the_owner_accepts_only_the_peer_s_pinned_certificate() {
    let federation = Federation::start_with(true);
    let sql = SCENARIOS[1].2;
    let answer = run(&federation.lgsp, "ward-officer", Some("tthc"), sql).await.unwrap();
    assert_eq!(
        pretty(&answer),
        pretty(
            &run(&federation.single, "ward-officer", Some("tthc"), sql)
                .await
                .unwrap()
        )
    );

    // The LGSP's key, but the land node's certificate (issued by the same CA): refused.
    let borrowed = federation.lgsp_with("borrowed-certificate", |c| {
        for source in c.sources.values_mut().filter(|s| s.tls.is_some()) {
            source.tls = Some(node_tls(Some("dae")));
        }
    });
    let error = run(&borrowed, "ward-officer", Some("tthc"), sql).await.unwrap_err();
    assert!(matches!(error, lienthong::Error::Denied(_)), "{error:?}");

    // No client certificate: the owner's TLS handshake refuses the connection.
    let anonymous = federation.lgsp_with("no-certificate", |c| {
        for source in c.sources.values_mut().filter(|s| s.tls.is_some()) {
            source.tls = Some(node_tls(None));
        }
    });
    let error = run(&anonymous, "ward-officer", Some("tthc"), sql).await.unwrap_err();
    assert!(matches!(error, lienthong::Error::Source { .. }), "{error:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_owner_that_does_not_answer_is_cut_off_by_the_calling_node_s_time_limit() {
    let federation = Federation::start();
    // A socket that accepts connections and never says a word: an owner hung or overloaded.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("grpc://{}", silent.local_addr().unwrap());
    let variant = federation.lgsp_with("silent-owner", |c| {
        c.sources.get_mut("mps_node").unwrap().url = Some(url);
    });
    let limited = lienthong::Catalog::open_with(
        variant.path(),
        lienthong::OpenOptions {
            audit_path: Some(variant.audit_path().to_owned()),
            pseudonym_secret: Some(lienthong::mask::PseudonymSecret::new(super::SECRET).unwrap()),
            transport: Some(std::sync::Arc::new(
                lienthong_server::flight::remote::FlightTransport::default(),
            )),
            limits: lienthong::Limits {
                timeout: Some(std::time::Duration::from_millis(700)),
                ..lienthong::Limits::default()
            },
            ..lienthong::OpenOptions::default()
        },
    )
    .unwrap();
    let started = std::time::Instant::now();
    let error = run(&limited, "ward-officer", Some("tthc"), SCENARIOS[1].2)
        .await
        .unwrap_err();
    assert!(matches!(error, lienthong::Error::Limit(_)), "{error:?}");
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    // The land owner's queries do not wait on it.
    run(&limited, "land-officer", Some("land-management"), SCENARIOS[5].2)
        .await
        .unwrap();
    drop(silent);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_caller_gone_cancels_the_owner_s_query_and_an_owner_killed_mid_stream_fails_the_query() {
    use futures::StreamExt;
    // Enough citizens for the answer to stream in many batches.
    let data = tempfile::Builder::new().prefix("lienthong-large-").tempdir().unwrap();
    let config = lienthong_synth::Config {
        out: data.path().to_owned(),
        citizens: 300_000,
        seed: lienthong_synth::DEFAULT_SEED,
    };
    lienthong_synth::generate(&config, &lienthong_synth::NoProgress).unwrap();
    let mut federation = Federation::start_over(data.path(), false);
    // A bulk read to stream: the registrar's grant made a plain one again at the owner (the
    // demo's is lookup-only), and the owner's catalog reloaded.
    federation.change_catalog(POPULATION_NODE, |c| {
        c.grants.get_mut("registrar-representatives").unwrap().lookup = None;
        c.quotas.clear();
    });
    let sql = "SELECT citizen_id, full_name, date_of_birth, permanent_ward_code FROM population.citizens";
    let probe = "SELECT citizen_id FROM population.citizens LIMIT 1";
    let mut reloaded = false;
    for _ in 0..100 {
        if run(
            &federation.lgsp,
            "business-registrar",
            Some("business-registration"),
            probe,
        )
        .await
        .is_ok()
        {
            reloaded = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(reloaded, "the owner did not reload its catalog");

    // A caller that goes away after the first batch: the owner's query is cancelled too.
    let session = federation
        .lgsp
        .session("business-registrar", Some("business-registration"))
        .unwrap();
    let mut stream = session.sql(sql).await.unwrap();
    stream.next().await.expect("a first batch").unwrap();
    let correlation = format!("{LGSP}/{}", stream.query_id());
    drop(stream);
    let mut outcome = None;
    for _ in 0..100 {
        outcome = federation
            .audit(POPULATION_NODE)
            .into_iter()
            .filter(|r| r["via"]["correlation_id"] == correlation.as_str())
            .find(|r| r["kind"] == "completion")
            .map(|r| r["outcome"].clone());
        if outcome.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(outcome, Some(serde_json::json!("cancelled")), "{correlation}");

    // The owner killed while it streams.
    let session = federation
        .lgsp
        .session("business-registrar", Some("business-registration"))
        .unwrap();
    let mut stream = session.sql(sql).await.unwrap();
    let first = stream.next().await.expect("a first batch").unwrap();
    assert!(first.num_rows() > 0);
    federation.kill(POPULATION_NODE);
    let mut rows = first.num_rows();
    let mut failure = None;
    while let Some(batch) = stream.next().await {
        match batch {
            Ok(batch) => rows += batch.num_rows(),
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    let failure = failure.unwrap_or_else(|| panic!("the stream ended cleanly after {rows} rows"));
    assert!(rows < 300_000, "{rows}");
    assert!(matches!(failure, lienthong::Error::Source { .. }), "{failure:?}");
    drop(stream);
    let completion = federation
        .audit(LGSP)
        .into_iter()
        .rev()
        .find(|r| r["kind"] == "completion" && r["principal"] == "business-registrar")
        .unwrap();
    assert_eq!(completion["outcome"], "failed", "{completion}");
}
