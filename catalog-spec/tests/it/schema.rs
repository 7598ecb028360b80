//! The committed JSON Schema is the one generated from the Rust types.
//!
//! After changing the types, regenerate it with
//! `LIENTHONG_BLESS=1 cargo test -p lienthong-spec --test it schema`.

use std::path::Path;

#[test]
fn committed_schema_is_up_to_date() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("catalog.schema.json");
    let generated = serde_json::to_string_pretty(&lienthong_spec::json_schema()).expect("serialize") + "\n";
    if std::env::var_os("LIENTHONG_BLESS").is_some() {
        std::fs::write(&path, &generated).expect("write schema");
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "catalog-spec/catalog.schema.json is stale; regenerate it with \
         LIENTHONG_BLESS=1 cargo test -p lienthong-spec --test it schema"
    );
}

#[test]
fn schema_describes_the_format() {
    let schema = lienthong_spec::json_schema();
    assert_eq!(schema["title"], "lienthong catalog");
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("required")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(required, ["version", "node"]);
    assert_eq!(schema["additionalProperties"], false);
    assert_eq!(
        schema["$defs"]["AgencyCode"]["pattern"],
        lienthong_spec::AGENCY_CODE_PATTERN
    );
}
