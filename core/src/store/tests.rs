use std::collections::BTreeMap;

use lienthong_spec::{EnvRef, OptionValue, Source, SourceKind};
use url::Url;

use super::ObjectStores;

fn source(url: &str, options: &[(&str, OptionValue)]) -> Source {
    Source {
        kind: SourceKind::Parquet,
        url: Some(url.to_owned()),
        path: None,
        connection: None,
        options: options.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect(),
        node: None,
        public_key: None,
        attributes: Vec::new(),
        tls: None,
        schema_cache_ttl_seconds: None,
        description: None,
    }
}

fn plain(value: &str) -> OptionValue {
    OptionValue::Plain(value.to_owned())
}

fn stores(sources: Vec<(&str, Source)>) -> ObjectStores {
    let sources: BTreeMap<String, Source> = sources.into_iter().map(|(n, s)| (n.to_owned(), s)).collect();
    ObjectStores::new(&sources)
}

#[test]
fn an_s3_source_gets_a_store_for_its_bucket_and_local_sources_need_none() {
    let stores = stores(vec![
        (
            "s3",
            source("s3://land-bucket/parcels", &[("aws_region", plain("ap-southeast-1"))]),
        ),
        ("local", source("data/population", &[])),
        ("file", source("file:///srv/data", &[])),
    ]);
    assert_eq!(stores.problem("s3"), None);
    assert_eq!(stores.problem("local"), None);
    assert!(
        stores
            .get(&Url::parse("s3://land-bucket/parcels/x.parquet").unwrap())
            .is_some()
    );
    assert!(
        stores
            .get(&Url::parse("s3://other-bucket/x.parquet").unwrap())
            .is_none()
    );
    assert!(stores.get(&Url::parse("file:///srv/data/x.parquet").unwrap()).is_some());
}

#[test]
fn an_unknown_option_is_named_with_its_store() {
    let stores = stores(vec![("s3", source("s3://b/p", &[("aws_regoin", plain("x"))]))]);
    assert_eq!(
        stores.problem("s3"),
        Some("`aws_regoin` is not an option of s3 object stores")
    );
}

#[test]
fn a_missing_environment_variable_is_named_and_its_value_never_shown() {
    let secret = OptionValue::Env(EnvRef {
        env: "LIENTHONG_TEST_UNSET_SECRET".to_owned(),
    });
    let stores = stores(vec![(
        "gcs",
        source("gs://b/p", &[("google_service_account_key", secret)]),
    )]);
    assert_eq!(
        stores.problem("gcs"),
        Some("environment variable LIENTHONG_TEST_UNSET_SECRET (option `google_service_account_key`) is not set")
    );
}

#[test]
fn two_sources_may_share_a_bucket_only_with_the_same_options() {
    let region = |r: &str| [("aws_region", plain(r))];
    let stores = stores(vec![
        ("a", source("s3://shared/one", &region("ap-southeast-1"))),
        ("b", source("s3://shared/two", &region("ap-southeast-1"))),
        ("c", source("s3://shared/three", &region("us-east-1"))),
    ]);
    assert_eq!(stores.problem("a"), None);
    assert_eq!(stores.problem("b"), None);
    assert_eq!(
        stores.problem("c"),
        Some("source `a` uses the same bucket `s3://shared` with other options")
    );
}

#[test]
fn azure_needs_an_account_and_unknown_schemes_are_refused() {
    let stores = stores(vec![
        ("az", source("az://container/path", &[])),
        (
            "azok",
            source("az://container2/path", &[("azure_storage_account_name", plain("acct"))]),
        ),
        ("ftp", source("ftp://host/path", &[])),
    ]);
    assert!(
        stores.problem("az").is_some_and(|p| p.contains("ccount")),
        "{:?}",
        stores.problem("az")
    );
    assert_eq!(stores.problem("azok"), None);
    assert!(stores.problem("ftp").is_some());
}

#[test]
fn an_option_from_the_environment_is_read_when_the_catalog_opens() {
    // PATH is set in every test process; its value stands in for a secret.
    let secret = OptionValue::Env(EnvRef { env: "PATH".to_owned() });
    let stores = stores(vec![(
        "s3",
        source(
            "s3://b/p",
            &[("aws_access_key_id", plain("id")), ("aws_secret_access_key", secret)],
        ),
    )]);
    assert_eq!(stores.problem("s3"), None);
}
