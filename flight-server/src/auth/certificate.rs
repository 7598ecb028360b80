//! Client certificates (mutual TLS) mapped to principals, as the catalog's `certificates` say.
//!
//! The TLS layer has already checked that the certificate chains to the server's client CA and
//! that the client holds its key; this only says whom it identifies: by the SHA-256 fingerprint of
//! the certificate, or by the common name (CN) of its subject.

use std::collections::{BTreeMap, BTreeSet};

use lienthong_spec::{Catalog, ClientCertificate};
use sha2::{Digest, Sha256};

/// Which principal each known client certificate identifies.
#[derive(Debug, Default)]
pub struct Certificates {
    by_fingerprint: BTreeMap<String, String>,
    by_common_name: BTreeMap<String, String>,
}

/// Whom a client certificate identifies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identified {
    /// No principal: the certificate is not in the catalog.
    Nobody,
    /// This principal.
    Principal(String),
    /// More than one principal (its fingerprint names one, its common name another): refused.
    Ambiguous,
}

impl Certificates {
    /// The certificates declared in `catalog`.
    pub fn of(catalog: &Catalog) -> Self {
        let mut map = Self::default();
        for (id, principal) in &catalog.principals {
            for certificate in &principal.certificates {
                match certificate {
                    ClientCertificate::CommonName(name) => map.by_common_name.insert(name.clone(), id.clone()),
                    ClientCertificate::Sha256(_) => {
                        let fingerprint = certificate.fingerprint().unwrap_or_default();
                        map.by_fingerprint.insert(fingerprint, id.clone())
                    }
                };
            }
        }
        map
    }

    /// Whether the catalog maps no certificate.
    pub fn is_empty(&self) -> bool {
        self.by_fingerprint.is_empty() && self.by_common_name.is_empty()
    }

    /// Whom the certificate `der` (the client's leaf certificate, DER) identifies.
    pub fn identify(&self, der: &[u8]) -> Identified {
        let fingerprint: String = Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect();
        let mut found: BTreeSet<&str> = self
            .by_fingerprint
            .get(&fingerprint)
            .map(String::as_str)
            .into_iter()
            .collect();
        if let Ok((_, certificate)) = x509_parser::parse_x509_certificate(der) {
            for name in certificate.subject().iter_common_name() {
                match name.as_str() {
                    Ok(name) => found.extend(self.by_common_name.get(name).map(String::as_str)),
                    // A common name that is not text cannot be matched; be safe, not clever.
                    Err(_) => return Identified::Ambiguous,
                }
            }
        }
        let mut found = found.into_iter();
        match (found.next(), found.next()) {
            (None, _) => Identified::Nobody,
            (Some(principal), None) => Identified::Principal(principal.to_owned()),
            (Some(_), Some(_)) => Identified::Ambiguous,
        }
    }
}

/// The client certificate `der` as the core checks a peer node's pin: its fingerprint and common
/// name.
pub fn presented(der: &[u8]) -> lienthong::node::PresentedCertificate {
    let sha256 = Sha256::digest(der).iter().map(|b| format!("{b:02x}")).collect();
    let common_name = x509_parser::parse_x509_certificate(der)
        .ok()
        .and_then(|(_, certificate)| {
            certificate
                .subject()
                .iter_common_name()
                .next()
                .and_then(|name| name.as_str().ok().map(str::to_owned))
        });
    lienthong::node::PresentedCertificate { sha256, common_name }
}
