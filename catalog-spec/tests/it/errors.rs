//! Every class of catalog problem, each reported with its line, column and field path.
//!
//! Each case is a small catalog with one mistake. The line holding the mistake ends with `#!`, and
//! `at` is the text the diagnostic's column must point at on that line.

use lienthong_spec::{Diagnostic, ProblemKind, parse_str};

/// A valid catalog the cases start from (`{principals}`, `{sources}`, `{tables}`, `{grants}` and
/// `{extra}` are replaced by each case).
const BASE: &str = r#"version: 1
node:
  name: demo
  agency: "000.00.00.G01"
agencies:
  "000.00.00.G01":
    name: { vi: Bộ Công an, en: Ministry of Public Security }
  "000.00.70.H26":
    name: { vi: UBND phường Hoàn Kiếm, en: Hoàn Kiếm ward }
purposes:
  tthc:
    description: { vi: Thủ tục hành chính, en: Administrative procedures }
    legal_basis: Nghị định 278/2025/NĐ-CP
principals:
  ward-officer:
    agency: "000.00.70.H26"
    roles: [one-stop-officer]
    attributes: { ward: "00070" }
{principals}
sources:
  files:
    kind: parquet
    url: data
{sources}
databases:
  population:
    owner: "000.00.00.G01"
    description: { vi: Dân cư, en: Population }
    tables:
      citizens:
        source: files
        location: citizens.parquet
        classification: restricted
        description: { vi: Công dân, en: Citizens }
        columns:
          - { name: citizen_id, type: string, tags: [identifier.citizen] }
          - { name: date_of_birth, type: date }
          - { name: current_ward_code, type: string }
{tables}
grants:
  residents:
    table: population.citizens
    to: { principals: [ward-officer] }
    purposes: [tthc]
    columns: [citizen_id, current_ward_code]
    row_filter: current_ward_code = principal.ward
{grants}
{extra}
"#;

struct Case {
    name: &'static str,
    slot: &'static str,
    text: &'static str,
    kind: ProblemKind,
    path: &'static str,
    at: &'static str,
}

fn render(case: &Case) -> String {
    render_slots(&[(case.slot, case.text)])
}

fn render_slots(filled: &[(&str, &str)]) -> String {
    let mut text = BASE.to_owned();
    for slot in ["{principals}", "{sources}", "{tables}", "{grants}", "{extra}"] {
        let value = filled.iter().find(|(s, _)| *s == slot).map_or("", |(_, t)| *t);
        text = text.replace(slot, value);
    }
    text
}

/// The expected (line, column): the line marked `#!`, the column of `at` on it.
fn expected_position(text: &str, at: &str) -> (usize, usize) {
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, l)| l.ends_with("#!"))
        .expect("a line marked #!");
    let byte = line
        .find(at)
        .unwrap_or_else(|| panic!("`{at}` not on the marked line {line:?}"));
    (index + 1, line[..byte].chars().count() + 1)
}

const CASES: &[Case] = &[
    Case {
        name: "unknown key, e.g. a misspelling",
        slot: "{grants}",
        text: "  misspelt:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    row_fliter: citizen_id = 'x' #!",
        kind: ProblemKind::UnknownField,
        path: "grants.misspelt.row_fliter",
        at: "row_fliter",
    },
    Case {
        name: "wrong type",
        slot: "{grants}",
        text: "  scalar-columns:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: citizen_id #!",
        kind: ProblemKind::WrongType,
        path: "grants.scalar-columns.columns",
        at: "citizen_id",
    },
    Case {
        name: "missing required field",
        slot: "{extra}",
        text: "tag_rules:\n  no-tag: #!\n    deny: true",
        kind: ProblemKind::MissingField,
        path: "tag_rules.no-tag",
        at: "no-tag",
    },
    Case {
        name: "value outside an enumeration",
        slot: "{tables}",
        text: "      households:\n        source: files\n        location: households.parquet\n        classification: top-secret #!\n        description: { vi: Hộ, en: Households }\n        columns: [{ name: household_id, type: string }]",
        kind: ProblemKind::InvalidValue,
        path: "databases.population.tables.households.classification",
        at: "top-secret",
    },
    Case {
        name: "malformed agency code",
        slot: "{principals}",
        text: "  clerk:\n    agency: G01 #!",
        kind: ProblemKind::InvalidValue,
        path: "principals.clerk.agency",
        at: "G01",
    },
    Case {
        name: "unknown source",
        slot: "{tables}",
        text: "      households:\n        source: nowhere #!\n        classification: shared\n        description: { vi: Hộ, en: Households }\n        columns: [{ name: household_id, type: string }]",
        kind: ProblemKind::UnknownReference,
        path: "databases.population.tables.households.source",
        at: "nowhere",
    },
    Case {
        name: "unknown agency",
        slot: "{principals}",
        text: "  clerk:\n    agency: \"000.00.00.G99\" #!",
        kind: ProblemKind::UnknownReference,
        path: "principals.clerk.agency",
        at: "\"000.00.00.G99\"",
    },
    Case {
        name: "unknown purpose",
        slot: "{grants}",
        text: "  fishing:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc, fishing] #!\n    columns: [citizen_id]",
        kind: ProblemKind::UnknownReference,
        path: "grants.fishing.purposes[1]",
        at: "fishing]",
    },
    Case {
        name: "unknown principal",
        slot: "{grants}",
        text: "  ghost:\n    table: population.citizens\n    to: { principals: [ghost] } #!\n    purposes: [tthc]\n    columns: [citizen_id]",
        kind: ProblemKind::UnknownReference,
        path: "grants.ghost.to.principals[0]",
        at: "ghost]",
    },
    Case {
        name: "unknown column",
        slot: "{grants}",
        text: "  religion:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id, religion] #!",
        kind: ProblemKind::UnknownReference,
        path: "grants.religion.columns[1]",
        at: "religion]",
    },
    Case {
        name: "unknown table",
        slot: "{grants}",
        text: "  houses:\n    table: population.houses #!\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [\"*\"]",
        kind: ProblemKind::UnknownReference,
        path: "grants.houses.table",
        at: "population.houses",
    },
    Case {
        name: "duplicate key",
        slot: "{extra}",
        text: "purposes: #!\n  other:\n    description: { vi: Khác, en: Other }\n    legal_basis: none",
        kind: ProblemKind::Duplicate,
        path: "purposes",
        at: "purposes",
    },
    Case {
        name: "duplicate column",
        slot: "{tables}",
        text: "      households:\n        source: files\n        location: households.parquet\n        classification: shared\n        description: { vi: Hộ, en: Households }\n        columns:\n          - { name: household_id, type: string }\n          - { name: household_id, type: string } #!",
        kind: ProblemKind::Duplicate,
        path: "databases.population.tables.households.columns[1]",
        at: "{ name",
    },
    Case {
        name: "row filter that is not SQL",
        slot: "{grants}",
        text: "  bad-sql:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    row_filter: current_ward_code = = 1 #!",
        kind: ProblemKind::InvalidRowFilter,
        path: "grants.bad-sql.row_filter",
        at: "current_ward_code",
    },
    Case {
        name: "row filter that is a value, not a condition",
        slot: "{grants}",
        text: "  not-boolean:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    row_filter: upper(current_ward_code) #!",
        kind: ProblemKind::InvalidRowFilter,
        path: "grants.not-boolean.row_filter",
        at: "upper",
    },
    Case {
        name: "row filter naming a missing column",
        slot: "{grants}",
        text: "  no-column:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    row_filter: permanent_ward_code = principal.ward #!",
        kind: ProblemKind::InvalidRowFilter,
        path: "grants.no-column.row_filter",
        at: "permanent_ward_code",
    },
    Case {
        name: "row filter naming an attribute the principal lacks",
        slot: "{grants}",
        text: "  no-attribute:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    row_filter: current_ward_code = principal.province #!",
        kind: ProblemKind::InvalidRowFilter,
        path: "grants.no-attribute.row_filter",
        at: "current_ward_code",
    },
    Case {
        name: "row filter with a subquery",
        slot: "{grants}",
        text: "  subquery:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    row_filter: citizen_id IN (SELECT citizen_id FROM other) #!",
        kind: ProblemKind::InvalidRowFilter,
        path: "grants.subquery.row_filter",
        at: "citizen_id IN",
    },
    Case {
        name: "mask that does not fit the column type",
        slot: "{grants}",
        text: "  year-of-id:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    masks:\n      citizen_id: { generalize: year } #!",
        kind: ProblemKind::MaskMismatch,
        path: "grants.year-of-id.masks.citizen_id",
        at: "{ generalize",
    },
    Case {
        name: "tag-rule mask that does not fit a tagged column",
        slot: "{extra}",
        text: "tag_rules:\n  keep-end-of-birthday:\n    tag: identifier.citizen\n    mask: { generalize: year } #!",
        kind: ProblemKind::MaskMismatch,
        path: "tag_rules.keep-end-of-birthday.mask",
        at: "{ generalize",
    },
    Case {
        name: "password in clear on a principal",
        slot: "{principals}",
        text: "  clerk:\n    agency: \"000.00.00.G01\"\n    password: hunter2 #!",
        kind: ProblemKind::ClearSecret,
        path: "principals.clerk.password",
        at: "hunter2",
    },
    Case {
        name: "credential given as the secret itself",
        slot: "{principals}",
        text: "  clerk:\n    agency: \"000.00.00.G01\"\n    credential: { argon2: hunter2 } #!",
        kind: ProblemKind::ClearSecret,
        path: "principals.clerk.credential.argon2",
        at: "hunter2",
    },
    Case {
        name: "database password in clear",
        slot: "{sources}",
        text: "  pg:\n    kind: postgres\n    connection: { host: db, database: land, user: reader, password: s3cret } #!",
        kind: ProblemKind::ClearSecret,
        path: "sources.pg.connection.password",
        at: "s3cret",
    },
    Case {
        name: "password inside a URL",
        slot: "{sources}",
        text: "  remote:\n    kind: parquet\n    url: s3://admin:s3cret@bucket/population #!",
        kind: ProblemKind::ClearSecret,
        path: "sources.remote.url",
        at: "s3://",
    },
    Case {
        name: "object-store secret in clear",
        slot: "{sources}",
        text: "  s3:\n    kind: parquet\n    url: s3://bucket/population\n    options: { aws_secret_access_key: AKIA123 } #!",
        kind: ProblemKind::ClearSecret,
        path: "sources.s3.options.aws_secret_access_key",
        at: "AKIA123",
    },
    Case {
        name: "field that does not apply to the source kind",
        slot: "{sources}",
        text: "  db:\n    kind: sqlite\n    path: registries.sqlite\n    url: file:///tmp #!",
        kind: ProblemKind::InvalidValue,
        path: "sources.db.url",
        at: "url",
    },
    Case {
        name: "validity that ends before it starts",
        slot: "{grants}",
        text: "  backwards:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    valid_from: 2026-01-01\n    valid_until: 2025-01-01 #!",
        kind: ProblemKind::InvalidValue,
        path: "grants.backwards.valid_until",
        at: "2025-01-01",
    },
    Case {
        name: "malformed date",
        slot: "{grants}",
        text: "  bad-date:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    valid_from: 2026-13-01 #!",
        kind: ProblemKind::InvalidValue,
        path: "grants.bad-date.valid_from",
        at: "2026-13-01",
    },
    Case {
        name: "declaring the reserved public principal",
        slot: "{principals}",
        text: "  public: #!\n    agency: \"000.00.00.G01\"",
        kind: ProblemKind::InvalidValue,
        path: "principals.public",
        at: "public",
    },
    Case {
        name: "token issuer vouching for an undeclared principal",
        slot: "{extra}",
        text: "token_issuers:\n  sso:\n    issuer: https://sso.example\n    audience: lienthong\n    keys: [keys/sso.pem]\n    principals: [ward-officer, ghost] #!",
        kind: ProblemKind::UnknownReference,
        path: "token_issuers.sso.principals[1]",
        at: "ghost]",
    },
    Case {
        name: "token issuer without keys",
        slot: "{extra}",
        text: "token_issuers:\n  sso:\n    issuer: https://sso.example\n    audience: lienthong\n    keys: [] #!",
        kind: ProblemKind::InvalidValue,
        path: "token_issuers.sso.keys",
        at: "[]",
    },
    Case {
        name: "one issuer declared twice",
        slot: "{extra}",
        text: "token_issuers:\n  a:\n    issuer: https://sso.example\n    audience: x\n    keys: [a.pem]\n  b:\n    issuer: https://sso.example #!\n    audience: y\n    keys: [b.pem]",
        kind: ProblemKind::Duplicate,
        path: "token_issuers.b.issuer",
        at: "https",
    },
    Case {
        name: "malformed certificate fingerprint",
        slot: "{principals}",
        text: "  clerk:\n    agency: \"000.00.70.H26\"\n    certificates: [{ sha256: \"AB:CD\" }] #!",
        kind: ProblemKind::InvalidValue,
        path: "principals.clerk.certificates[0].sha256",
        at: "\"AB:CD\"",
    },
    Case {
        name: "min/max allowed on a column the grant does not give",
        slot: "{grants}",
        text: "  counts:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [current_ward_code]\n    aggregate_only: { min_group_size: 10, min_max: [date_of_birth] } #!",
        kind: ProblemKind::UnknownReference,
        path: "grants.counts.aggregate_only.min_max[0]",
        at: "date_of_birth",
    },
    Case {
        name: "lookup key the grant does not give",
        slot: "{grants}",
        text: "  verify:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [current_ward_code]\n    lookup: { by: [citizen_id] } #!",
        kind: ProblemKind::UnknownReference,
        path: "grants.verify.lookup.by[0]",
        at: "citizen_id",
    },
    Case {
        name: "lookup key also compare-only",
        slot: "{grants}",
        text: "  verify:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    lookup: { by: [citizen_id], verify: [citizen_id] } #!",
        kind: ProblemKind::InvalidValue,
        path: "grants.verify.lookup.verify[0]",
        at: "citizen_id] }",
    },
    Case {
        name: "lookup allowing no key",
        slot: "{grants}",
        text: "  verify:\n    table: population.citizens\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    lookup: { by: [citizen_id], max_keys: 0 } #!",
        kind: ProblemKind::InvalidValue,
        path: "grants.verify.lookup.max_keys",
        at: "0",
    },
    Case {
        name: "quota without a limit",
        slot: "{extra}",
        text: "quotas:\n  daily: #!\n    to: { principals: [ward-officer] }",
        kind: ProblemKind::MissingField,
        path: "quotas.daily",
        at: "daily",
    },
    Case {
        name: "quota on an undeclared table",
        slot: "{extra}",
        text: "quotas:\n  daily:\n    to: { principals: [ward-officer] }\n    tables: [population.households] #!\n    rows: { day: 100 }",
        kind: ProblemKind::UnknownReference,
        path: "quotas.daily.tables[0]",
        at: "population.households",
    },
    Case {
        name: "quota per query above the day's",
        slot: "{extra}",
        text: "quotas:\n  daily:\n    to: { principals: [ward-officer] }\n    rows:\n      query: 500 #!\n      day: 100",
        kind: ProblemKind::InvalidValue,
        path: "quotas.daily.rows.query",
        at: "500",
    },
    Case {
        name: "quota on keys where nothing is looked up",
        slot: "{extra}",
        text: "quotas:\n  daily:\n    to: { principals: [ward-officer] }\n    tables: [population.citizens]\n    keys: { day: 100 } #!",
        kind: ProblemKind::InvalidValue,
        path: "quotas.daily.keys",
        at: "{ day",
    },
    Case {
        name: "one certificate identifying two principals",
        slot: "{principals}",
        text: "  clerk:\n    agency: \"000.00.70.H26\"\n    certificates: [{ common_name: officer.example }]\n  deputy:\n    agency: \"000.00.70.H26\"\n    certificates: [{ common_name: officer.example }] #!",
        kind: ProblemKind::Duplicate,
        path: "principals.deputy.certificates[0].common_name",
        at: "officer.example",
    },
    Case {
        name: "a peer's key that is not an Ed25519 key",
        slot: "{extra}",
        text: "peers:\n  hanoi_lgsp:\n    public_key: rsa:AAAA #!\n    agencies: [\"000.00.70.H26\"]\n    purposes: [tthc]",
        kind: ProblemKind::InvalidValue,
        path: "peers.hanoi_lgsp.public_key",
        at: "rsa:AAAA",
    },
    Case {
        name: "a peer speaking for an undeclared agency",
        slot: "{extra}",
        text: "peers:\n  hanoi_lgsp:\n    public_key: ed25519:3jhNVAUlH5gscv_C8W50qv5IoSRX0I0ksqVWlG5cTvE\n    agencies: [\"000.00.00.G12\"] #!\n    purposes: [tthc]",
        kind: ProblemKind::UnknownReference,
        path: "peers.hanoi_lgsp.agencies[0]",
        at: "\"000.00.00.G12",
    },
    Case {
        name: "a grant to an undeclared peer",
        slot: "{grants}",
        text: "  via-peer:\n    table: population.citizens\n    to: { peers: [nobody] } #!\n    purposes: [tthc]\n    columns: [citizen_id]",
        kind: ProblemKind::UnknownReference,
        path: "grants.via-peer.to.peers[0]",
        at: "nobody",
    },
    Case {
        name: "a row filter on an attribute the peer may not assert",
        slot: "{grants}",
        text: "  via-peer:\n    table: population.citizens\n    to: { peers: [hanoi_lgsp] }\n    purposes: [tthc]\n    columns: [citizen_id]\n    row_filter: current_ward_code = principal.ward #!\npeers:\n  hanoi_lgsp:\n    public_key: ed25519:3jhNVAUlH5gscv_C8W50qv5IoSRX0I0ksqVWlG5cTvE\n    agencies: [\"000.00.70.H26\"]\n    purposes: [tthc]",
        kind: ProblemKind::InvalidRowFilter,
        path: "grants.via-peer.row_filter",
        at: "current_ward_code",
    },
];

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match parse_str(text, "case.yaml") {
        Ok(_) => Vec::new(),
        Err(error) => error
            .diagnostics()
            .expect("an invalid catalog, not an I/O error")
            .iter()
            .cloned()
            .collect(),
    }
}

#[test]
fn base_catalog_is_valid() {
    let text = render(&Case {
        name: "",
        slot: "",
        text: "",
        kind: ProblemKind::Syntax,
        path: "",
        at: "",
    });
    assert_eq!(diagnostics(&text), Vec::new());
}

#[test]
fn each_problem_class_is_reported_with_line_column_and_path() {
    let mut failures = Vec::new();
    for case in CASES {
        let text = render(case);
        let found = diagnostics(&text);
        let matching = found
            .iter()
            .find(|d| d.kind == case.kind && d.path.to_string() == case.path);
        let Some(diagnostic) = matching else {
            failures.push(format!(
                "{}: expected {:?} at {}, got:\n{found:#?}",
                case.name, case.kind, case.path
            ));
            continue;
        };
        let (line, column) = expected_position(&text, case.at);
        if (diagnostic.line, diagnostic.column) != (line, column) {
            failures.push(format!(
                "{}: expected line {line} column {column}, got {}:{} ({})",
                case.name, diagnostic.line, diagnostic.column, diagnostic.message
            ));
        }
        if found.len() != 1 {
            failures.push(format!("{}: expected exactly one problem, got {found:#?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn secret_tables_cannot_be_granted() {
    let vault = "      vault:\n        source: files\n        location: vault.parquet\n        classification: secret\n        description: { vi: Mật, en: Secret }\n        columns: [{ name: x, type: string }]";
    let leak = "  leak:\n    table: population.vault #!\n    to: { principals: [ward-officer] }\n    purposes: [tthc]\n    columns: [x]";
    let text = render_slots(&[("{tables}", vault), ("{grants}", leak)]);
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].path.to_string(), "grants.leak.table");
    assert_eq!(found[0].kind, ProblemKind::InvalidValue);
    assert!(
        found[0].message.contains("secret tables are never served"),
        "{}",
        found[0].message
    );
    assert_eq!(
        (found[0].line, found[0].column),
        expected_position(&text, "population.vault")
    );
}

#[test]
fn all_problems_are_reported_at_once_in_file_order() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/broken.yaml");
    let error = lienthong_spec::load(&path).expect_err("broken");
    let found: Vec<&Diagnostic> = error.diagnostics().expect("diagnostics").iter().collect();
    assert!(
        found.len() >= 20,
        "expected every problem of broken.yaml, got {}:\n{error}",
        found.len()
    );
    let kinds: std::collections::BTreeSet<String> = found.iter().map(|d| format!("{:?}", d.kind)).collect();
    for kind in [
        "UnknownField",
        "MissingField",
        "InvalidValue",
        "UnknownReference",
        "Duplicate",
        "InvalidRowFilter",
        "MaskMismatch",
        "ClearSecret",
    ] {
        assert!(kinds.contains(kind), "no {kind} in:\n{error}");
    }
    let positions: Vec<(usize, usize)> = found.iter().map(|d| (d.line, d.column)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "diagnostics are in file order");
    // Every line of the rendered error names the file, line and column.
    for line in error.to_string().lines().skip(1) {
        assert!(line.trim_start().starts_with(&format!("{}:", path.display())), "{line}");
    }
}

#[test]
fn syntax_errors_name_line_and_column() {
    let error = parse_str("version: 1\nnode: { name: demo\nagencies: {}\n", "bad.yaml").expect_err("syntax");
    let diagnostics = error.diagnostics().expect("diagnostics");
    assert_eq!(diagnostics.len(), 1);
    let d = &diagnostics.0[0];
    assert_eq!(d.kind, ProblemKind::Syntax);
    assert!(d.line >= 2, "{d}");

    let error = parse_str("{\"version\": 1,\n \"node\": }", "bad.json").expect_err("json syntax");
    let d = &error.diagnostics().expect("diagnostics").0[0];
    assert_eq!((d.kind, d.line, d.column), (ProblemKind::Syntax, 2, 10), "{d}");
}

#[test]
fn unsupported_version_is_refused() {
    let text = render(&Case {
        name: "",
        slot: "",
        text: "",
        kind: ProblemKind::Syntax,
        path: "",
        at: "",
    })
    .replacen("version: 1", "version: 2", 1);
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].line, found[0].column), (1, 10));
    assert!(
        found[0].message.contains("unsupported catalog version 2"),
        "{}",
        found[0].message
    );
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let error = lienthong_spec::load("/nonexistent/catalog.yaml").expect_err("missing");
    assert!(error.diagnostics().is_none());
    assert!(error.to_string().contains("/nonexistent/catalog.yaml"), "{error}");
}

/// A node that calls another node signs its calls, and pins the other node's key.
#[test]
fn a_node_source_needs_the_node_key_and_the_peer_key() {
    let text = BASE
        .replace(
            "{sources}",
            "  national:\n    kind: node\n    url: grpc://127.0.0.1:50051\n    node: national",
        )
        .replace("{principals}", "")
        .replace("{tables}", "")
        .replace("{grants}", "")
        .replace("{extra}", "");
    let error = parse_str(&text, "case.yaml").expect_err("two problems");
    let found: Vec<(String, usize, String)> = error
        .diagnostics()
        .expect("diagnostics")
        .iter()
        .map(|d| (d.path.to_string(), d.line, d.message.clone()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "node".to_owned(),
                2,
                "source `national` is another node: this node needs `key` to sign its calls".to_owned()
            ),
            (
                "sources.national".to_owned(),
                24,
                "a node source needs `public_key`".to_owned()
            ),
        ]
    );
}
