//! JSON Web Tokens from the identity providers a catalog trusts (`token_issuers`).
//!
//! A token is accepted when its signature verifies with one of its issuer's public keys, under an
//! asymmetric algorithm of that key's family (the header's `alg` cannot turn a public key into an
//! HMAC secret, and `none` is not an algorithm here), and its claims say: `iss` is the issuer,
//! `aud` names the node's audience, `exp` is present and not past, `nbf` (if present) is past, and
//! the principal claim names a declared principal the issuer may vouch for. Anything else is one
//! answer: not accepted.

use std::collections::BTreeSet;
use std::path::Path;

use anyhow::{Context, bail};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use lienthong_spec::{Catalog, PUBLIC_PRINCIPAL, TokenIssuer};
use serde_json::{Map, Value};

/// Seconds of clock difference tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;

const RSA: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
];
const EC: &[Algorithm] = &[Algorithm::ES256, Algorithm::ES384];
const ED: &[Algorithm] = &[Algorithm::EdDSA];

/// The token issuers of a catalog, with their keys loaded.
#[derive(Default)]
pub struct Issuers {
    issuers: Vec<Issuer>,
}

impl std::fmt::Debug for Issuers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.issuers.iter().map(|i| &i.issuer)).finish()
    }
}

struct Issuer {
    issuer: String,
    audience: String,
    principal_claim: String,
    /// Who this issuer may vouch for: the declared principals, or the ones it lists.
    principals: BTreeSet<String>,
    keys: Vec<Key>,
}

struct Key {
    id: Option<String>,
    key: DecodingKey,
    algorithms: &'static [Algorithm],
}

/// Who a verified token names, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// The principal.
    pub principal: String,
    /// The token's `exp` (seconds since the epoch).
    pub expires: u64,
}

impl Issuers {
    /// Loads the keys of every issuer in `catalog`, whose file is `catalog_file` (key files are
    /// relative to its directory). An unreadable or unusable key file is an error that names the
    /// catalog, the field and the key file.
    pub fn load(catalog: &Catalog, catalog_file: &Path) -> anyhow::Result<Self> {
        let base = catalog_file.parent().unwrap_or_else(|| Path::new("."));
        let issuers = catalog
            .token_issuers
            .iter()
            .map(|(name, spec)| {
                let keys = spec
                    .keys
                    .iter()
                    .enumerate()
                    .map(|(i, file)| {
                        read_keys(&base.join(file)).with_context(|| {
                            format!(
                                "{}: token_issuers.{name}.keys[{i}]: key file `{file}`",
                                catalog_file.display()
                            )
                        })
                    })
                    .collect::<anyhow::Result<Vec<_>>>()?;
                Ok(Issuer::new(catalog, spec, keys.into_iter().flatten().collect()))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { issuers })
    }

    /// Whether the catalog trusts no issuer.
    pub fn is_empty(&self) -> bool {
        self.issuers.is_empty()
    }

    /// The principal a token names, if the token is genuine, current and acceptable.
    pub fn verify(&self, token: &str) -> Option<Verified> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        self.issuers.iter().find_map(|issuer| {
            issuer
                .keys
                .iter()
                .filter(|k| k.algorithms.contains(&header.alg))
                .filter(|k| match (&header.kid, &k.id) {
                    (Some(wanted), Some(id)) => wanted == id,
                    _ => true,
                })
                .find_map(|key| issuer.check(token, key, header.alg))
        })
    }
}

impl Issuer {
    fn new(catalog: &Catalog, spec: &TokenIssuer, keys: Vec<Key>) -> Self {
        let principals = if spec.principals.is_empty() {
            catalog.principals.keys().cloned().collect()
        } else {
            spec.principals
                .iter()
                .filter(|p| catalog.principals.contains_key(*p))
                .cloned()
                .collect()
        };
        Self {
            issuer: spec.issuer.clone(),
            audience: spec.audience.clone(),
            principal_claim: spec.principal_claim().to_owned(),
            principals,
            keys,
        }
    }

    fn check(&self, token: &str, key: &Key, algorithm: Algorithm) -> Option<Verified> {
        let mut validation = Validation::new(algorithm);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.validate_nbf = true;
        validation.leeway = LEEWAY_SECONDS;
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key.key, &validation)
            .ok()?
            .claims;
        let principal = claims.get(&self.principal_claim)?.as_str()?;
        if principal == PUBLIC_PRINCIPAL || !self.principals.contains(principal) {
            return None;
        }
        Some(Verified {
            principal: principal.to_owned(),
            expires: claims.get("exp")?.as_u64()?,
        })
    }
}

/// The public keys in a file: a JWK set (JSON) or PEM blocks (public keys or certificates).
fn read_keys(path: &Path) -> anyhow::Result<Vec<Key>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let keys = if text.trim_start().starts_with('{') {
        jwk_set(&text)?
    } else {
        pem_blocks(&text)?
    };
    if keys.is_empty() {
        bail!("holds no public key (PEM `PUBLIC KEY`/`CERTIFICATE` blocks or a JWK set)");
    }
    Ok(keys)
}

fn jwk_set(text: &str) -> anyhow::Result<Vec<Key>> {
    let set: JwkSet = serde_json::from_str(text).context("not a JWK set")?;
    let mut keys = Vec::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        if matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption)) {
            continue;
        }
        let algorithms = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => RSA,
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => &EC[..1],
            AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P384 => &EC[1..],
            AlgorithmParameters::OctetKeyPair(_) => ED,
            AlgorithmParameters::EllipticCurve(_) => bail!("key {i}: unsupported curve (P-256 and P-384 are)"),
            AlgorithmParameters::OctetKey(_) => {
                bail!("key {i}: a shared secret (`oct`); only public keys are accepted")
            }
        };
        let algorithms = match jwk.common.key_algorithm {
            Some(declared) => {
                let declared: Algorithm = declared.to_string().parse().context("unsupported `alg`")?;
                let position = algorithms
                    .iter()
                    .position(|a| *a == declared)
                    .with_context(|| format!("key {i}: `alg` {declared:?} does not fit the key"))?;
                &algorithms[position..=position]
            }
            None => algorithms,
        };
        keys.push(Key {
            id: jwk.common.key_id.clone(),
            key: DecodingKey::from_jwk(jwk).with_context(|| format!("key {i}: unreadable"))?,
            algorithms,
        });
    }
    Ok(keys)
}

fn pem_blocks(text: &str) -> anyhow::Result<Vec<Key>> {
    let mut keys = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let label = block["-----BEGIN ".len()..].split("-----").next().unwrap_or_default();
        let end_marker = format!("-----END {label}-----");
        let end = block
            .find(&end_marker)
            .with_context(|| format!("PEM block `{label}` has no end"))?
            + end_marker.len();
        if label.contains("PRIVATE") {
            bail!("holds a private key; the catalog needs the issuer's public key only");
        }
        let pem = &block.as_bytes()[..end];
        let key = if let Ok(key) = DecodingKey::from_rsa_pem(pem) {
            (key, RSA)
        } else if let Ok(key) = DecodingKey::from_ec_pem(pem) {
            (key, EC)
        } else if let Ok(key) = DecodingKey::from_ed_pem(pem) {
            (key, ED)
        } else {
            bail!("PEM block `{label}` is not an RSA, EC or Ed25519 public key");
        };
        keys.push(Key {
            id: None,
            key: key.0,
            algorithms: key.1,
        });
        rest = &block[end..];
    }
    Ok(keys)
}

#[cfg(test)]
mod tests;
