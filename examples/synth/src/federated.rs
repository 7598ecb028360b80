//! The demo as three agencies' nodes: the population owner (Ministry of Public Security), the land
//! owner (Hà Nội Department of Agriculture and Environment) and the Hà Nội LGSP, where the ward
//! officer, business registrar, inspector, statistician and land officer sit.
//!
//! Derived from the single-node demo catalog, so that the same queries give the same answers:
//! each owner keeps its tables and the demo's grants on them, given to the same callers arriving
//! through the LGSP (selected by their agency and role, with the attributes the LGSP asserts);
//! the LGSP declares the owners' tables as `node` sources and adds no restriction of its own on
//! them (no row filter or mask: the owner's answer is what its callers get), and keeps the
//! business and civil-servant registries it holds itself.

use std::collections::BTreeMap;
use std::path::Path;

use lienthong_spec::{Catalog, Node, Peer, Selector, Source, SourceKind};

use crate::demo_catalog;

/// The LGSP node's name.
pub const LGSP: &str = "hanoi_lgsp";
/// The population owner's node name.
pub const POPULATION_NODE: &str = "mps";
/// The land owner's node name.
pub const LAND_NODE: &str = "hanoi_dae";

/// The nodes: name, operating agency, the databases it owns.
const OWNERS: &[(&str, &str, &[&str])] = &[
    (POPULATION_NODE, "000.00.00.G01", &["population", "reference"]),
    (LAND_NODE, "000.00.15.H26", &["land"]),
];

/// A node's catalog and where its key goes.
#[derive(Debug, Clone)]
pub struct FederatedNode {
    /// The node's name.
    pub name: String,
    /// Its catalog.
    pub catalog: Catalog,
}

/// The node key of one node: its private key (PKCS#8 PEM) and its public key (`ed25519:…`).
pub type KeyPair = (String, String);

/// The three catalogs for `seed`, with `keys` giving each node's key pair and `urls` each owner's
/// address (`grpc://host:port`).
pub fn build(
    seed: u64,
    keys: &BTreeMap<String, KeyPair>,
    urls: &BTreeMap<String, String>,
) -> Result<Vec<FederatedNode>, String> {
    let (single, _) = demo_catalog::build(seed).map_err(|e| e.to_string())?;
    let key_of = |node: &str| keys.get(node).map(|k| k.1.clone()).ok_or(format!("no key for {node}"));
    let remote_principals: Vec<&String> = single.principals.keys().filter(|p| *p != "population-owner").collect();
    let mut nodes = Vec::new();
    for (name, agency, databases) in OWNERS {
        let mut catalog = single.clone();
        catalog.node = node(name, agency, &single.node);
        catalog.databases.retain(|d, _| databases.contains(&d.as_str()));
        catalog
            .principals
            .retain(|id, p| p.agency.as_str() == *agency && !remote_principals.contains(&id));
        catalog
            .grants
            .retain(|_, g| databases.iter().any(|d| g.table.starts_with(&format!("{d}."))));
        let used: Vec<String> = catalog
            .databases
            .values()
            .flat_map(|d| d.tables.values())
            .map(|t| t.source.clone())
            .collect();
        catalog.sources.retain(|s, _| used.contains(s));
        for source in catalog.sources.values_mut() {
            relocate(source);
        }
        keep_own_references(&mut catalog);
        for grant in catalog.grants.values_mut() {
            grant.to = via_lgsp(&single, &grant.to);
        }
        // The owner counts lookups of its tables by callers of the LGSP.
        catalog.quotas.retain(|_, q| {
            q.tables
                .iter()
                .all(|t| databases.iter().any(|d| t.starts_with(&format!("{d}."))))
        });
        for quota in catalog.quotas.values_mut() {
            quota.to = via_lgsp(&single, &quota.to);
        }
        for rule in catalog.tag_rules.values_mut() {
            rule.to = rule.to.as_ref().map(|s| via_lgsp(&single, s));
            rule.except = rule.except.as_ref().map(|s| via_lgsp(&single, s));
        }
        // Selectors name only principals this node declares.
        for rule in catalog.tag_rules.values_mut() {
            for selector in [&mut rule.to, &mut rule.except].into_iter().flatten() {
                selector.principals.retain(|p| catalog.principals.contains_key(p));
            }
            if rule.except.as_ref().is_some_and(Selector::is_empty) {
                rule.except = None;
            }
        }
        catalog
            .grants
            .retain(|_, g| g.to.principals.iter().all(|p| catalog.principals.contains_key(p)));
        drop_idle_tag_rules(&mut catalog);
        catalog.token_issuers.clear();
        catalog.peers = BTreeMap::from([(
            LGSP.to_owned(),
            Peer {
                public_key: key_of(LGSP)?,
                // The LGSP's own agency (for anonymous callers) and its callers' agencies.
                agencies: remote_principals
                    .iter()
                    .map(|p| single.principals[*p].agency.clone())
                    .chain(lienthong_spec::AgencyCode::parse("000.00.00.H26"))
                    .collect::<std::collections::BTreeSet<_>>()
                    .into_iter()
                    .collect(),
                purposes: single.purposes.keys().cloned().collect(),
                attributes: vec!["province".into(), "ward".into()],
                certificates: Vec::new(),
                description: None,
            },
        )]);
        nodes.push(FederatedNode {
            name: (*name).to_owned(),
            catalog,
        });
    }
    let mut lgsp = single.clone();
    lgsp.node = node(LGSP, "000.00.00.H26", &single.node);
    lgsp.principals.retain(|id, _| remote_principals.contains(&id));
    let deny_tags: Vec<String> = single
        .tag_rules
        .values()
        .filter(|r| r.deny)
        .map(|r| r.tag.clone())
        .collect();
    for (name, _, databases) in OWNERS {
        let source = format!("{name}_node");
        lgsp.sources.insert(
            source.clone(),
            Source {
                kind: SourceKind::Node,
                url: Some(urls.get(*name).cloned().ok_or(format!("no URL for {name}"))?),
                path: None,
                connection: None,
                options: BTreeMap::new(),
                node: Some((*name).to_owned()),
                public_key: Some(key_of(name)?),
                attributes: vec!["province".into(), "ward".into()],
                tls: None,
                schema_cache_ttl_seconds: None,
                description: None,
            },
        );
        for database in *databases {
            let Some(db) = lgsp.databases.get_mut(*database) else {
                continue;
            };
            for table in db.tables.values_mut() {
                table.source = source.clone();
                table.location = None;
                // Masks are the owner's: only the tags that hide a column stay here.
                for column in &mut table.columns {
                    column.tags.retain(|t| deny_tags.contains(t));
                }
            }
        }
        for grant in lgsp.grants.values_mut() {
            if databases.iter().any(|d| grant.table.starts_with(&format!("{d}."))) {
                grant.row_filter = None;
                grant.masks.clear();
                grant.aggregate_only = None;
                grant.lookup = None;
            }
        }
    }
    lgsp.grants
        .retain(|_, g| g.to.principals.iter().all(|p| remote_principals.contains(&p)));
    // Quotas on the owners' tables are counted by the owners.
    lgsp.quotas.clear();
    let used: Vec<String> = lgsp
        .databases
        .values()
        .flat_map(|d| d.tables.values())
        .map(|t| t.source.clone())
        .collect();
    lgsp.sources.retain(|s, _| used.contains(s));
    for source in lgsp.sources.values_mut().filter(|s| s.kind != SourceKind::Node) {
        relocate(source);
    }
    for rule in lgsp.tag_rules.values_mut() {
        for selector in [&mut rule.to, &mut rule.except].into_iter().flatten() {
            selector.principals.retain(|p| remote_principals.contains(&p));
        }
    }
    lgsp.tag_rules
        .retain(|_, r| r.to.as_ref().is_none_or(|s| !s.is_empty()));
    for rule in lgsp.tag_rules.values_mut() {
        if rule.except.as_ref().is_some_and(Selector::is_empty) {
            rule.except = None;
        }
    }
    drop_idle_tag_rules(&mut lgsp);
    nodes.push(FederatedNode {
        name: LGSP.to_owned(),
        catalog: lgsp,
    });
    Ok(nodes)
}

fn node(name: &str, agency: &str, template: &Node) -> Node {
    Node {
        name: name.to_owned(),
        agency: lienthong_spec::AgencyCode::parse(agency).unwrap_or_else(|_| template.agency.clone()),
        audit_log: None,
        key: Some("node.key".into()),
        description: None,
    }
}

/// Drops the column references to tables another node holds.
fn keep_own_references(catalog: &mut Catalog) {
    let tables: Vec<String> = catalog
        .databases
        .iter()
        .flat_map(|(d, db)| db.tables.keys().map(move |t| format!("{d}.{t}.")))
        .collect();
    for column in catalog
        .databases
        .values_mut()
        .flat_map(|d| d.tables.values_mut())
        .flat_map(|t| t.columns.iter_mut())
    {
        if column
            .references
            .as_ref()
            .is_some_and(|r| !tables.iter().any(|t| r.starts_with(t.as_str())))
        {
            column.references = None;
        }
    }
}

/// Drops the tag rules on tags no column of this node carries.
fn drop_idle_tag_rules(catalog: &mut Catalog) {
    let carried: Vec<String> = catalog
        .databases
        .values()
        .flat_map(|d| d.tables.values())
        .flat_map(|t| t.columns.iter())
        .flat_map(|c| c.tags.iter().cloned())
        .collect();
    catalog.tag_rules.retain(|_, r| carried.contains(&r.tag));
}

/// A file source of the demo data, seen from `nodes/<node>/`.
fn relocate(source: &mut Source) {
    for path in [&mut source.url, &mut source.path].into_iter().flatten() {
        *path = format!("../../{path}");
    }
}

/// A selector of demo principals as the same callers arriving through the LGSP: their agencies
/// and roles (the owner's own principals stay as they are).
fn via_lgsp(single: &Catalog, selector: &Selector) -> Selector {
    let remote: Vec<&String> = selector
        .principals
        .iter()
        .filter(|p| *p != "population-owner")
        .collect();
    if remote.is_empty() {
        return selector.clone();
    }
    let principals: Vec<_> = remote.iter().filter_map(|p| single.principals.get(*p)).collect();
    Selector {
        principals: Vec::new(),
        agencies: principals.iter().map(|p| p.agency.clone()).collect(),
        roles: principals.iter().flat_map(|p| p.roles.clone()).collect(),
        attributes: selector.attributes.clone(),
        peers: vec![LGSP.to_owned()],
    }
}

/// Writes `nodes/<node>/catalog.yaml` and `nodes/<node>/node.key` under the demo data directory
/// `dir` (which `lienthong generate` filled).
pub fn write(
    dir: &Path,
    seed: u64,
    keys: &BTreeMap<String, KeyPair>,
    urls: &BTreeMap<String, String>,
) -> std::io::Result<Vec<std::path::PathBuf>> {
    let nodes = build(seed, keys, urls).map_err(std::io::Error::other)?;
    let mut paths = Vec::new();
    for node in nodes {
        let home = dir.join("nodes").join(&node.name);
        std::fs::create_dir_all(&home)?;
        let header = [
            "One node of the federated lienthong demo (synthetic data, not real people).",
            "Written by the demo from the single-node catalog; see examples/synth/src/federated.rs.",
        ];
        std::fs::write(
            home.join("catalog.yaml"),
            lienthong_spec::to_yaml(&node.catalog, &header),
        )?;
        if let Some((private, _)) = keys.get(&node.name) {
            std::fs::write(home.join("node.key"), private)?;
        }
        paths.push(home.join("catalog.yaml"));
    }
    Ok(paths)
}
