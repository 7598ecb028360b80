//! Checks of how callers prove who they are beyond a secret: token issuers (JWT) and client
//! certificates (mutual TLS).

use std::collections::BTreeMap;

use super::{PUBLIC_PRINCIPAL, Validator, key_rule, root};
use crate::diagnostic::ProblemKind;
use crate::ids::is_key_name;
use crate::model::ClientCertificate;

impl Validator<'_> {
    pub(super) fn token_issuers(&mut self) {
        let mut issuers: BTreeMap<&str, &str> = BTreeMap::new();
        for (name, issuer) in &self.catalog.token_issuers {
            let path = root(&["token_issuers", name]);
            if !is_key_name(name) {
                self.report_key(ProblemKind::InvalidValue, path.clone(), key_rule(name));
            }
            if let Some(first) = issuers.insert(&issuer.issuer, name) {
                self.report(
                    ProblemKind::Duplicate,
                    path.key("issuer"),
                    format!(
                        "issuer `{}` is already declared as `{first}`; list all its keys in one entry",
                        issuer.issuer
                    ),
                );
            }
            for (i, key) in issuer.keys.iter().enumerate() {
                if key.trim().is_empty() {
                    self.report(
                        ProblemKind::InvalidValue,
                        path.key("keys").index(i),
                        "the key file is empty text",
                    );
                }
            }
            self.duplicates(issuer.keys.iter().map(String::as_str), &path.key("keys"), "key file");
            if issuer.principal_claim.as_deref().is_some_and(|c| c.trim().is_empty()) {
                self.report(
                    ProblemKind::InvalidValue,
                    path.key("principal_claim"),
                    "the principal claim is empty; leave it out for `sub`",
                );
            }
            for (i, principal) in issuer.principals.iter().enumerate() {
                let at = path.key("principals").index(i);
                if principal == PUBLIC_PRINCIPAL {
                    self.report(
                        ProblemKind::InvalidValue,
                        at,
                        "`public` needs no token and cannot be vouched for",
                    );
                } else if !self.declared.principals.contains(principal) {
                    self.report(
                        ProblemKind::UnknownReference,
                        at,
                        format!("principal `{principal}` is not declared in `principals`"),
                    );
                }
            }
            self.duplicates(
                issuer.principals.iter().map(String::as_str),
                &path.key("principals"),
                "principal",
            );
        }
    }

    /// Fingerprints are well formed, and no certificate could identify two principals.
    pub(super) fn certificates(&mut self) {
        let mut owners: BTreeMap<String, &str> = BTreeMap::new();
        for (id, principal) in &self.catalog.principals {
            for (i, certificate) in principal.certificates.iter().enumerate() {
                let path = root(&["principals", id]).key("certificates").index(i);
                let (key, field) = match certificate {
                    ClientCertificate::CommonName(name) => (format!("CN={name}"), "common_name"),
                    ClientCertificate::Sha256(_) => {
                        let fingerprint = certificate.fingerprint().unwrap_or_default();
                        if fingerprint.len() != 64 || !fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
                            self.report(
                                ProblemKind::InvalidValue,
                                path.key("sha256"),
                                "a SHA-256 fingerprint is 64 hex digits (colons allowed)",
                            );
                            continue;
                        }
                        (fingerprint, "sha256")
                    }
                };
                if let Some(owner) = owners.insert(key, id) {
                    let whose = if owner == id {
                        "this principal".to_owned()
                    } else {
                        format!("`{owner}`")
                    };
                    self.report(
                        ProblemKind::Duplicate,
                        path.key(field),
                        format!("this certificate already identifies {whose}"),
                    );
                }
            }
        }
    }
}
