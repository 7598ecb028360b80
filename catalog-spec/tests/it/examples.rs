//! Every example catalog shipped with the spec, and the example inside SPEC.md, is valid.

use std::path::{Path, PathBuf};

use lienthong_spec::{Classification, Mask, SourceKind, load, parse_str};

fn spec_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).to_owned()
}

#[test]
fn every_example_catalog_is_valid() {
    let mut seen = 0;
    for entry in std::fs::read_dir(spec_dir().join("examples")).expect("examples dir") {
        let path = entry.expect("entry").path();
        if matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "json")) {
            if let Err(error) = load(&path) {
                panic!("{} is invalid:\n{error}", path.display());
            }
            seen += 1;
        }
    }
    assert!(seen >= 2, "expected at least two example catalogs, found {seen}");
}

#[test]
fn the_annotated_example_reads_as_written() {
    let file = load(spec_dir().join("examples/quang-ninh.yaml")).expect("valid");
    let catalog = &file.catalog;
    assert_eq!(catalog.node.name, "quang_ninh");
    let citizens = &catalog.databases["population"].tables["citizens"];
    assert_eq!(citizens.classification, Classification::Restricted);
    assert_eq!(citizens.columns[0].tags, ["identifier.citizen", "pii.basic"]);
    assert_eq!(catalog.sources["land_db"].kind, SourceKind::Postgres);
    let grant = &catalog.grants["ward-reads-residents"];
    assert_eq!(grant.masks["phone"], Mask::KeepLast(3));
    assert_eq!(grant.row_filter.as_deref(), Some("current_ward_code = principal.ward"));
    // Codes written quoted stay text.
    let officer = &catalog.principals["ha-long-officer"];
    assert_eq!(
        officer.attributes["ward"],
        lienthong_spec::AttributeValue::String("06661".into())
    );
    assert_eq!(file.base_dir(), spec_dir().join("examples"));
}

#[test]
fn json_and_yaml_forms_are_the_same_catalog() {
    let yaml = load(spec_dir().join("examples/quang-ninh.yaml"))
        .expect("valid")
        .catalog;
    let json = serde_json::to_string_pretty(&yaml).expect("serialize");
    let again = parse_str(&json, "same.json").expect("the JSON form is valid");
    assert_eq!(yaml, again);
}

/// SPEC.md shows a complete catalog; it must be a valid one.
#[test]
fn the_catalog_in_spec_md_is_valid() {
    let spec = std::fs::read_to_string(spec_dir().join("SPEC.md")).expect("SPEC.md");
    let section = spec
        .find("## A complete example")
        .expect("SPEC.md has a complete example");
    let start = section + spec[section..].find("```yaml\n").expect("a yaml block");
    let body = &spec[start + "```yaml\n".len()..];
    let end = body.find("```").expect("closed code block");
    let example = &body[..end];
    assert!(example.contains("tag_rules:"), "the example is the complete one");
    if let Err(error) = parse_str(example, "SPEC.md") {
        panic!("the example in SPEC.md is invalid:\n{error}");
    }
}

#[test]
fn written_yaml_reads_back_to_the_same_catalog() {
    let catalog = load(spec_dir().join("examples/quang-ninh.yaml"))
        .expect("valid")
        .catalog;
    let written = lienthong_spec::to_yaml(&catalog, &["a header", "on two lines"]);
    assert!(written.starts_with("# a header\n# on two lines\n"));
    match parse_str(&written, "written.yaml") {
        Ok(again) => assert_eq!(again, catalog),
        Err(error) => panic!("{error}\n{written}"),
    }
}
