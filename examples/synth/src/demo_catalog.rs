//! The demo catalog written next to the data: every table the generator writes, the agencies and
//! purposes of the scenarios in `domain.md` §5, and the fixed demo principals with their grants.
//!
//! Credentials are derived from the seed, so a given seed always gives the same secrets; the
//! catalog stores only their Argon2 hashes, and `demo-credentials.json` holds the secrets for
//! scripts and tests.

use std::collections::BTreeMap;
use std::path::Path;

use argon2::password_hash::{PasswordHasher, SaltString};
use lienthong_spec::{
    Agency, AgencyCode, AggregateOnly, AttributeValue, Catalog, Column, Combine, Credential, Database, FormatVersion,
    Generalization, Grant, Lookup, Mask, Node, Principal, Purpose, Quota, QuotaLimits, QuotaSubject, Selector, Source,
    SourceKind, Table, TagRule, Text,
};
use sha2::{Digest, Sha256};

use crate::demo_tables::{self, TableDef};

/// Name of the catalog file in the output directory.
pub const CATALOG_FILE: &str = "catalog.yaml";
/// Name of the demo credentials file in the output directory.
pub const CREDENTIALS_FILE: &str = "demo-credentials.json";

/// The demo principals, in the order documentation lists them (`public` needs no declaration).
pub const DEMO_PRINCIPALS: [&str; 6] = [
    "ward-officer",
    "business-registrar",
    "inspector",
    "statistician",
    "land-officer",
    "population-owner",
];

fn text(vi: &str, en: &str) -> Text {
    Text {
        vi: vi.to_owned(),
        en: en.to_owned(),
    }
}

fn code(code: &str) -> AgencyCode {
    // The codes below are literals of this module, checked by the tests; a bad one is a bug here.
    AgencyCode::parse(code).unwrap_or_else(|message| panic!("demo catalog: {message}"))
}

fn s(value: &str) -> AttributeValue {
    AttributeValue::String(value.to_owned())
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

/// Agencies: electronic code, Vietnamese and English name, parent.
const AGENCIES: &[(&str, &str, &str, Option<&str>)] = &[
    ("000.00.00.G01", "Bộ Công an", "Ministry of Public Security", None),
    ("000.00.00.G09", "Bộ Nội vụ", "Ministry of Home Affairs", None),
    (
        "000.00.00.G10",
        "Bộ Nông nghiệp và Môi trường",
        "Ministry of Agriculture and Environment",
        None,
    ),
    ("000.00.00.G12", "Bộ Tài chính", "Ministry of Finance", None),
    (
        "000.01.00.G12",
        "Cục Thống kê",
        "National Statistics Office",
        Some("000.00.00.G12"),
    ),
    (
        "000.00.00.H26",
        "UBND Thành phố Hà Nội",
        "People's Committee of Hà Nội",
        None,
    ),
    (
        "000.00.12.H26",
        "Sở Tài chính Thành phố Hà Nội",
        "Department of Finance of Hà Nội",
        Some("000.00.00.H26"),
    ),
    (
        "000.00.15.H26",
        "Sở Nông nghiệp và Môi trường Thành phố Hà Nội",
        "Department of Agriculture and Environment of Hà Nội",
        Some("000.00.00.H26"),
    ),
    (
        "000.00.20.H26",
        "Thanh tra Thành phố Hà Nội",
        "Inspectorate of Hà Nội",
        Some("000.00.00.H26"),
    ),
    (
        "000.70.99.H26",
        "UBND Phường Hoàn Kiếm",
        "People's Committee of Hoàn Kiếm ward",
        Some("000.00.00.H26"),
    ),
];

/// Purposes: code, Vietnamese and English description, legal basis.
const PURPOSES: &[(&str, &str, &str, &str)] = &[
    (
        "tthc",
        "Giải quyết thủ tục hành chính",
        "Handling administrative procedures",
        "Nghị định 278/2025/NĐ-CP; Luật Đất đai 31/2024/QH15",
    ),
    (
        "business-registration",
        "Đăng ký doanh nghiệp",
        "Business registration",
        "Luật Doanh nghiệp 59/2020/QH14",
    ),
    (
        "inspection",
        "Thanh tra, phòng chống xung đột lợi ích",
        "Inspection and conflict-of-interest screening",
        "Luật Thanh tra 2022",
    ),
    (
        "statistics",
        "Thống kê nhà nước",
        "Official statistics",
        "Luật Thống kê 89/2015/QH13",
    ),
    (
        "land-management",
        "Quản lý đất đai",
        "Land administration",
        "Luật Đất đai 31/2024/QH15",
    ),
    (
        "residence-verification",
        "Xác minh thông tin cư trú của công dân",
        "Verification of a citizen's residence",
        "Luật Cư trú 68/2020/QH14",
    ),
    (
        "data-stewardship",
        "Quản lý, bảo đảm chất lượng cơ sở dữ liệu",
        "Stewardship of the owner's database",
        "Luật Dữ liệu 60/2024/QH15",
    ),
];

struct DemoPrincipal {
    id: &'static str,
    agency: &'static str,
    roles: &'static [&'static str],
    attributes: &'static [(&'static str, &'static str)],
    vi: &'static str,
    en: &'static str,
}

const PRINCIPALS: &[DemoPrincipal] = &[
    DemoPrincipal {
        id: "ward-officer",
        agency: "000.70.99.H26",
        roles: &["one-stop-officer"],
        attributes: &[("province", "01"), ("ward", "00070")],
        vi: "Cán bộ một cửa Phường Hoàn Kiếm",
        en: "One-stop officer of Hoàn Kiếm ward",
    },
    DemoPrincipal {
        id: "business-registrar",
        agency: "000.00.12.H26",
        roles: &["business-registrar"],
        attributes: &[("province", "01")],
        vi: "Phòng Đăng ký kinh doanh Hà Nội",
        en: "Business registration office of Hà Nội",
    },
    DemoPrincipal {
        id: "inspector",
        agency: "000.00.20.H26",
        roles: &["inspector"],
        attributes: &[("province", "01")],
        vi: "Thanh tra viên Thanh tra Thành phố Hà Nội",
        en: "Inspector of the Hà Nội inspectorate",
    },
    DemoPrincipal {
        id: "statistician",
        agency: "000.01.00.G12",
        roles: &["statistician"],
        attributes: &[],
        vi: "Thống kê viên Cục Thống kê",
        en: "Statistician of the National Statistics Office",
    },
    DemoPrincipal {
        id: "land-officer",
        agency: "000.00.15.H26",
        roles: &["land-officer"],
        attributes: &[("province", "01")],
        vi: "Cán bộ địa chính Sở Nông nghiệp và Môi trường Hà Nội",
        en: "Land officer of the Hà Nội Department of Agriculture and Environment",
    },
    DemoPrincipal {
        id: "population-owner",
        agency: "000.00.00.G01",
        roles: &["data-steward"],
        attributes: &[],
        vi: "Đơn vị quản lý Cơ sở dữ liệu quốc gia về dân cư",
        en: "Steward of the national population database",
    },
];

/// The secret of a demo principal for a seed: 24 hex digits from SHA-256.
pub fn demo_secret(seed: u64, principal: &str) -> String {
    let digest = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(b"lienthong-demo-credential:")
        .chain_update(principal.as_bytes())
        .finalize();
    digest[..12].iter().map(|b| format!("{b:02x}")).collect()
}

/// Argon2id hash (PHC string) of `secret`, with a salt derived from the seed and principal so that
/// the catalog is byte-for-byte reproducible.
fn hash_secret(seed: u64, principal: &str, secret: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = Sha256::new()
        .chain_update(seed.to_le_bytes())
        .chain_update(b"lienthong-demo-salt:")
        .chain_update(principal.as_bytes())
        .finalize();
    let salt = SaltString::encode_b64(&salt[..16])?;
    Ok(argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)?
        .to_string())
}

fn table(def: &TableDef) -> Table {
    Table {
        source: def.source.to_owned(),
        location: def.location.map(str::to_owned),
        remote_name: def.remote_name.map(str::to_owned),
        classification: def.classification,
        description: text(def.vi, def.en),
        combine: Combine::Strict,
        columns: def
            .columns
            .iter()
            .map(|c| Column {
                name: c.name.to_owned(),
                data_type: c.data_type,
                description: Some(text(c.vi, c.en)),
                tags: strings(c.tags),
                primary_key: c.primary_key,
                references: c.references.map(str::to_owned),
            })
            .collect(),
    }
}

fn grant(table: &str, principal: &str, purpose: &str, columns: &[&str]) -> Grant {
    Grant {
        table: table.to_owned(),
        to: Selector {
            principals: strings(&[principal]),
            ..Selector::default()
        },
        purposes: strings(&[purpose]),
        columns: strings(columns),
        valid_from: None,
        valid_until: None,
        row_filter: None,
        masks: BTreeMap::new(),
        aggregate_only: None,
        lookup: None,
        description: None,
    }
}

fn with_filter(mut grant: Grant, filter: &str) -> Grant {
    grant.row_filter = Some(filter.to_owned());
    grant
}

/// `grant` read only by `citizen_id`, with `verify` columns compared, never read.
fn lookup_only(mut grant: Grant, max_keys: u32, verify: &[&str]) -> Grant {
    grant.lookup = Some(Lookup {
        by: strings(&["citizen_id"]),
        max_keys: Some(max_keys),
        verify: strings(verify),
    });
    grant
}

fn with_mask(mut grant: Grant, column: &str, mask: Mask) -> Grant {
    grant.masks.insert(column.to_owned(), mask);
    grant
}

fn grants() -> BTreeMap<String, Grant> {
    const ALL: &[&str] = &["*"];
    let resident_identity = &[
        "citizen_id",
        "full_name",
        "date_of_birth",
        "sex",
        "birth_registration_province",
        "home_town",
        "nationality",
        "permanent_ward_code",
        "permanent_province_code",
        "current_ward_code",
        "current_province_code",
        "marital_status",
        "father_id",
        "mother_id",
        "spouse_id",
        "household_id",
        "relationship_to_head",
        "phone",
        "date_of_death",
    ];
    let mut statistics = grant(
        "population.citizens",
        "statistician",
        "statistics",
        &["current_province_code", "current_ward_code", "date_of_birth", "sex"],
    );
    statistics
        .masks
        .insert("date_of_birth".into(), Mask::Generalize(Generalization::Year));
    statistics.aggregate_only = Some(AggregateOnly {
        min_group_size: 10,
        // Years of birth: the oldest and youngest year in a group of ten name no one.
        min_max: vec!["date_of_birth".into()],
    });
    let list = [
        (
            "ward-officer-residents",
            with_mask(
                with_filter(
                    grant("population.citizens", "ward-officer", "tthc", resident_identity),
                    "current_ward_code = principal.ward",
                ),
                "phone",
                Mask::KeepLast(3),
            ),
        ),
        (
            "ward-officer-households",
            with_filter(
                grant("population.households", "ward-officer", "tthc", ALL),
                "ward_code = principal.ward",
            ),
        ),
        (
            "ward-officer-parcels",
            with_filter(
                grant("land.parcels", "ward-officer", "tthc", ALL),
                "ward_code = principal.ward",
            ),
        ),
        (
            "ward-officer-rights",
            with_filter(
                grant("land.rights", "ward-officer", "tthc", ALL),
                "ward_code = principal.ward",
            ),
        ),
        (
            "registrar-enterprises",
            with_filter(
                grant(
                    "business.enterprises",
                    "business-registrar",
                    "business-registration",
                    ALL,
                ),
                "head_office_province_code = principal.province",
            ),
        ),
        (
            "registrar-representatives",
            lookup_only(
                grant(
                    "population.citizens",
                    "business-registrar",
                    "business-registration",
                    &["citizen_id", "full_name", "date_of_birth", "permanent_ward_code"],
                ),
                20,
                &["full_name", "date_of_birth"],
            ),
        ),
        (
            "ward-officer-residence-check",
            lookup_only(
                grant(
                    "population.citizens",
                    "ward-officer",
                    "residence-verification",
                    &[
                        "citizen_id",
                        "full_name",
                        "date_of_birth",
                        "permanent_province_code",
                        "permanent_ward_code",
                        "current_province_code",
                        "current_ward_code",
                    ],
                ),
                5,
                &["full_name", "date_of_birth"],
            ),
        ),
        (
            "inspector-personnel",
            with_filter(
                grant("civil_servants.personnel", "inspector", "inspection", ALL),
                "agency_province_code = principal.province",
            ),
        ),
        (
            "inspector-agencies",
            grant("civil_servants.agencies", "inspector", "inspection", ALL),
        ),
        (
            "inspector-enterprises",
            grant(
                "business.enterprises",
                "inspector",
                "inspection",
                &[
                    "enterprise_code",
                    "name",
                    "legal_form",
                    "status",
                    "head_office_province_code",
                    "legal_representative_id",
                ],
            ),
        ),
        (
            "inspector-shareholders",
            grant("business.shareholders", "inspector", "inspection", ALL),
        ),
        ("statistician-population", statistics),
        (
            "land-officer-parcels",
            with_filter(
                grant("land.parcels", "land-officer", "land-management", ALL),
                "province_code = principal.province",
            ),
        ),
        (
            "land-officer-rights",
            with_mask(
                with_filter(
                    grant("land.rights", "land-officer", "land-management", ALL),
                    "province_code = principal.province",
                ),
                "holder_citizen_id",
                Mask::Pseudonym,
            ),
        ),
        (
            "owner-citizens",
            grant("population.citizens", "population-owner", "data-stewardship", ALL),
        ),
        (
            "owner-households",
            grant("population.households", "population-owner", "data-stewardship", ALL),
        ),
    ];
    list.into_iter().map(|(id, g)| (id.to_owned(), g)).collect()
}

/// How many people the verifying principals may look up.
fn quotas() -> BTreeMap<String, Quota> {
    let verifications = |principal: &str, purpose: &str, keys: QuotaLimits, vi: &str, en: &str| Quota {
        to: Selector {
            principals: strings(&[principal]),
            ..Selector::default()
        },
        purposes: strings(&[purpose]),
        tables: strings(&["population.citizens"]),
        per: QuotaSubject::Principal,
        rows: None,
        keys: Some(keys),
        description: Some(text(vi, en)),
    };
    BTreeMap::from([
        (
            "registrar-verifications".to_owned(),
            verifications(
                "business-registrar",
                "business-registration",
                QuotaLimits {
                    query: Some(20),
                    day: Some(500),
                    month: Some(8_000),
                },
                "Xác minh người đại diện theo pháp luật: tối đa 500 người mỗi ngày",
                "Verifying legal representatives: at most 500 people a day",
            ),
        ),
        (
            "ward-residence-checks".to_owned(),
            verifications(
                "ward-officer",
                "residence-verification",
                QuotaLimits {
                    query: Some(5),
                    day: Some(100),
                    month: Some(1_500),
                },
                "Xác minh cư trú tại bộ phận một cửa: tối đa 100 người mỗi ngày",
                "Residence checks at the one-stop desk: at most 100 people a day",
            ),
        ),
    ])
}

fn tag_rules() -> BTreeMap<String, TagRule> {
    let sensitive = TagRule {
        tag: "pii.sensitive".into(),
        to: None,
        except: Some(Selector {
            principals: strings(&["population-owner"]),
            ..Selector::default()
        }),
        purposes: Vec::new(),
        deny: true,
        mask: None,
        description: Some(text(
            "Dữ liệu cá nhân nhạy cảm (dân tộc, tôn giáo) chỉ đơn vị chủ quản được xem",
            "Sensitive personal data (ethnicity, religion) is seen by the owner only",
        )),
    };
    let pseudonyms = TagRule {
        tag: "identifier.citizen".into(),
        to: Some(Selector {
            principals: strings(&["inspector"]),
            ..Selector::default()
        }),
        except: None,
        purposes: strings(&["inspection"]),
        deny: false,
        mask: Some(Mask::Pseudonym),
        description: Some(text(
            "Thanh tra chỉ thấy bí danh của số định danh, vẫn nối được giữa các bảng",
            "Inspectors see citizen IDs as pseudonyms that still join across tables",
        )),
    };
    BTreeMap::from([
        ("sensitive-owner-only".to_owned(), sensitive),
        ("citizen-ids-pseudonymous-for-inspection".to_owned(), pseudonyms),
    ])
}

fn file_source(url: &str, vi: &str, en: &str) -> Source {
    Source {
        kind: SourceKind::Parquet,
        url: Some(url.to_owned()),
        path: None,
        connection: None,
        options: BTreeMap::new(),
        node: None,
        public_key: None,
        attributes: Vec::new(),
        tls: None,
        schema_cache_ttl_seconds: None,
        description: Some(text(vi, en)),
    }
}

/// Builds the demo catalog and the demo secrets (principal id → secret) for `seed`.
pub fn build(seed: u64) -> Result<(Catalog, BTreeMap<String, String>), argon2::password_hash::Error> {
    let agencies = AGENCIES
        .iter()
        .map(|(c, vi, en, parent)| {
            (
                (*c).to_owned(),
                Agency {
                    name: text(vi, en),
                    parent: parent.map(code),
                },
            )
        })
        .collect();
    let purposes = PURPOSES
        .iter()
        .map(|(c, vi, en, basis)| {
            (
                (*c).to_owned(),
                Purpose {
                    description: text(vi, en),
                    legal_basis: (*basis).to_owned(),
                },
            )
        })
        .collect();
    let mut secrets = BTreeMap::new();
    let mut principals = BTreeMap::new();
    for p in PRINCIPALS {
        let secret = demo_secret(seed, p.id);
        let hash = hash_secret(seed, p.id, &secret)?;
        secrets.insert(p.id.to_owned(), secret);
        principals.insert(
            p.id.to_owned(),
            Principal {
                agency: code(p.agency),
                roles: strings(p.roles),
                attributes: p.attributes.iter().map(|(k, v)| ((*k).to_owned(), s(v))).collect(),
                credential: Some(Credential::Argon2(hash)),
                certificates: Vec::new(),
                description: Some(text(p.vi, p.en)),
            },
        );
    }
    let mut sqlite = file_source(
        "",
        "Tệp SQLite đăng ký doanh nghiệp và cán bộ",
        "SQLite file of business and civil-servant registries",
    );
    sqlite.kind = SourceKind::Sqlite;
    sqlite.url = None;
    sqlite.path = Some("registries.sqlite".into());
    let sources = BTreeMap::from([
        (
            "reference_files".to_owned(),
            file_source(
                "reference",
                "Danh mục dùng chung (Parquet)",
                "Shared code lists (Parquet)",
            ),
        ),
        (
            "population_files".to_owned(),
            file_source("population", "Dữ liệu dân cư (Parquet)", "Population data (Parquet)"),
        ),
        (
            "land_files".to_owned(),
            file_source("land", "Dữ liệu đất đai (Parquet)", "Land data (Parquet)"),
        ),
        ("registries".to_owned(), sqlite),
    ]);
    let mut databases = BTreeMap::new();
    for db in demo_tables::DATABASES {
        let tables = db.tables.iter().map(|t| (t.name.to_owned(), table(t))).collect();
        databases.insert(
            db.name.to_owned(),
            Database {
                owner: code(db.owner),
                description: text(db.vi, db.en),
                tables,
            },
        );
    }
    let catalog = Catalog {
        version: FormatVersion,
        node: Node {
            name: "demo".into(),
            agency: code("000.00.00.G01"),
            audit_log: None,
            key: None,
            description: Some(text(
                "Nút trình diễn lienthong với dữ liệu tổng hợp",
                "lienthong demo node with synthetic data",
            )),
        },
        agencies,
        purposes,
        principals,
        peers: BTreeMap::new(),
        token_issuers: BTreeMap::new(),
        sources,
        databases,
        grants: grants(),
        tag_rules: tag_rules(),
        quotas: quotas(),
    };
    Ok((catalog, secrets))
}

/// Writes `catalog.yaml` and `demo-credentials.json` into `dir`; returns the demo secrets.
pub fn write(dir: &Path, seed: u64) -> std::io::Result<BTreeMap<String, String>> {
    let (catalog, secrets) =
        build(seed).map_err(|e| std::io::Error::other(format!("hashing demo credentials: {e}")))?;
    let header = [
        "lienthong demo catalog, written by `lienthong generate` (synthetic data, not real people).",
        "Format: catalog-spec/SPEC.md. Check it with `lienthong validate catalog.yaml`.",
        "Demo secrets are in demo-credentials.json; only their Argon2 hashes are stored here.",
    ];
    std::fs::write(dir.join(CATALOG_FILE), lienthong_spec::to_yaml(&catalog, &header))?;
    let credentials = serde_json::to_string_pretty(&secrets).map_err(std::io::Error::other)?;
    std::fs::write(dir.join(CREDENTIALS_FILE), credentials + "\n")?;
    Ok(secrets)
}
