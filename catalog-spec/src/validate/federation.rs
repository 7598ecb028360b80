//! Checks of the trust between nodes: the node's own key, the peers that may call it, the remote
//! nodes it calls, and grants to callers arriving through peers.

use std::collections::BTreeSet;

use super::{Validator, key_rule, name_rule, root};
use crate::diagnostic::{FieldPath, ProblemKind};
use crate::ids::{is_key_name, is_sql_name, node_public_key};
use crate::model::{ClientCertificate, Selector, Source, SourceKind};

const KEY_RULE: &str = "a node key is `ed25519:` and 32 bytes in base64url, as `lienthong node-key` prints it";

impl Validator<'_> {
    /// Peers: well-formed keys, declared agencies and purposes, attribute names, certificates.
    pub(super) fn peers(&mut self) {
        let mut keys = BTreeSet::new();
        for (name, peer) in &self.catalog.peers {
            let path = root(&["peers", name]);
            if !is_sql_name(name) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), name_rule(name));
            }
            if self.declared.node_readable && *name == self.catalog.node.name {
                self.report_key(ProblemKind::InvalidValue, path.clone(), "a node is not its own peer");
            }
            if node_public_key(&peer.public_key).is_none() {
                self.report(ProblemKind::InvalidValue, path.key("public_key"), KEY_RULE);
            } else if !keys.insert(peer.public_key.as_str()) {
                self.report(
                    ProblemKind::Duplicate,
                    path.key("public_key"),
                    "another peer has this key: each node has a key of its own",
                );
            }
            for (i, agency) in peer.agencies.iter().enumerate() {
                self.agency_ref(agency, path.key("agencies").index(i));
            }
            self.duplicates(
                peer.agencies.iter().map(|a| a.as_str()),
                &path.key("agencies"),
                "agency",
            );
            for (i, purpose) in peer.purposes.iter().enumerate() {
                self.purpose_ref(purpose, path.key("purposes").index(i));
            }
            self.duplicates(
                peer.purposes.iter().map(String::as_str),
                &path.key("purposes"),
                "purpose",
            );
            for (i, attribute) in peer.attributes.iter().enumerate() {
                if !is_sql_name(attribute) {
                    self.report(
                        ProblemKind::InvalidValue,
                        path.key("attributes").index(i),
                        name_rule(attribute),
                    );
                }
            }
            self.duplicates(
                peer.attributes.iter().map(String::as_str),
                &path.key("attributes"),
                "attribute",
            );
            for (i, certificate) in peer.certificates.iter().enumerate() {
                if let ClientCertificate::Sha256(_) = certificate {
                    let fingerprint = certificate.fingerprint().unwrap_or_default();
                    if fingerprint.len() != 64 || !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
                        self.report(
                            ProblemKind::InvalidValue,
                            path.key("certificates").index(i).key("sha256"),
                            "a SHA-256 fingerprint is 64 hex digits (colons allowed)",
                        );
                    }
                }
            }
        }
        self.node_key();
    }

    /// A catalog that calls other nodes signs its calls, so it names its key.
    fn node_key(&mut self) {
        if !self.declared.node_readable {
            return;
        }
        match &self.catalog.node.key {
            Some(key) if key.trim().is_empty() => {
                self.report(
                    ProblemKind::InvalidValue,
                    root(&["node", "key"]),
                    "the key file is empty text",
                );
            }
            Some(_) => {}
            None => {
                if let Some((name, _)) = self.catalog.sources.iter().find(|(_, s)| s.kind == SourceKind::Node) {
                    self.report(
                        ProblemKind::MissingField,
                        root(&["node"]),
                        format!("source `{name}` is another node: this node needs `key` to sign its calls"),
                    );
                }
            }
        }
    }

    /// The fields of a `node` source beyond the common ones.
    pub(super) fn node_source(&mut self, source: &Source, path: &FieldPath) {
        if let Some(node) = &source.node
            && !is_sql_name(node)
        {
            self.report(ProblemKind::InvalidValue, path.key("node"), name_rule(node));
        }
        if self.declared.node_readable && source.node.as_deref() == Some(self.catalog.node.name.as_str()) {
            self.report(
                ProblemKind::InvalidValue,
                path.key("node"),
                "this is the node's own name: a node does not call itself",
            );
        }
        if let Some(key) = &source.public_key
            && node_public_key(key).is_none()
        {
            self.report(ProblemKind::InvalidValue, path.key("public_key"), KEY_RULE);
        }
        for (i, attribute) in source.attributes.iter().enumerate() {
            if !is_sql_name(attribute) {
                self.report(
                    ProblemKind::InvalidValue,
                    path.key("attributes").index(i),
                    name_rule(attribute),
                );
            }
        }
        self.duplicates(
            source.attributes.iter().map(String::as_str),
            &path.key("attributes"),
            "attribute",
        );
        let tls_url = source.url.as_deref().is_some_and(|u| u.starts_with("grpc+tls://"));
        match &source.tls {
            Some(_) if !tls_url => self.report_key(
                ProblemKind::InvalidValue,
                path.key("tls"),
                "`tls` applies to a `grpc+tls://` URL",
            ),
            Some(tls) if tls.certificate.is_some() != tls.key.is_some() => self.report(
                ProblemKind::MissingField,
                path.key("tls"),
                "a client certificate needs its key, and a key its certificate",
            ),
            None if tls_url => self.report(
                ProblemKind::MissingField,
                path.clone(),
                "a `grpc+tls://` node needs `tls` with at least the `ca` that signs its certificate",
            ),
            _ => {}
        }
    }

    /// A selector of callers arriving through peers: declared peers, nothing that only local
    /// principals have, and only attributes those peers may assert.
    pub(super) fn remote_selector(&mut self, selector: &Selector, path: &FieldPath) {
        if !selector.principals.is_empty() {
            self.report_key(
                ProblemKind::InvalidValue,
                path.key("principals"),
                "a selector names this node's principals or callers arriving through `peers`, not both",
            );
        }
        let mut named = Vec::new();
        for (i, peer) in selector.peers.iter().enumerate() {
            match self.catalog.peers.get(peer) {
                Some(declared) => named.push(declared),
                None => self.report(
                    ProblemKind::UnknownReference,
                    path.key("peers").index(i),
                    format!("peer `{peer}` is not declared in `peers`"),
                ),
            }
        }
        self.duplicates(selector.peers.iter().map(String::as_str), &path.key("peers"), "peer");
        for (i, agency) in selector.agencies.iter().enumerate() {
            self.agency_ref(agency, path.key("agencies").index(i));
        }
        for (i, role) in selector.roles.iter().enumerate() {
            if !is_key_name(role) {
                self.report(ProblemKind::InvalidValue, path.key("roles").index(i), key_rule(role));
            }
        }
        for name in selector.attributes.keys() {
            if !named.is_empty() && !named.iter().any(|p| p.attributes.contains(name)) {
                self.report_key(
                    ProblemKind::UnknownReference,
                    path.key("attributes").key(name),
                    format!("no peer named here may assert attribute `{name}`"),
                );
            }
        }
    }
}
