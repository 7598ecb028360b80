//! A node's Ed25519 key pair: made by `lienthong node-key`, kept as a PKCS#8 PEM file, its public
//! half written `ed25519:<base64url>` in the catalogs of the nodes that pin it.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use lienthong_spec::NODE_KEY_PREFIX;
use ring::signature::{Ed25519KeyPair, KeyPair};

use crate::error::{Error, Result};

const PEM_LABEL: &str = "PRIVATE KEY";

/// A node's signing key.
pub struct NodeKey {
    encoding: EncodingKey,
    public: String,
}

impl std::fmt::Debug for NodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

impl NodeKey {
    /// Reads a PKCS#8 PEM Ed25519 private key. The error names the file, never the key.
    pub fn read(path: &Path) -> Result<Self> {
        let refused = |why: &str| Error::Query(format!("node key {}: {why}", path.display()));
        let text = std::fs::read_to_string(path).map_err(|e| refused(&e.to_string()))?;
        Self::from_pem(&text).map_err(|why| refused(&why))
    }

    /// The key in a PKCS#8 PEM text.
    pub fn from_pem(text: &str) -> Result<Self, String> {
        let body: String = text
            .lines()
            .map(str::trim)
            .skip_while(|l| *l != format!("-----BEGIN {PEM_LABEL}-----"))
            .skip(1)
            .take_while(|l| !l.starts_with("-----END"))
            .collect();
        let der = STANDARD
            .decode(body)
            .map_err(|_| "not a PEM private key (-----BEGIN PRIVATE KEY-----)".to_owned())?;
        let pair = Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map_err(|_| "not an Ed25519 private key in PKCS#8 form".to_owned())?;
        Ok(Self {
            encoding: EncodingKey::from_ed_der(&der),
            public: public_text(pair.public_key().as_ref()),
        })
    }

    /// The public key as catalogs pin it: `ed25519:<base64url>`.
    pub fn public_key(&self) -> &str {
        &self.public
    }

    pub(crate) fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }
}

/// A new key pair: the private key as PKCS#8 PEM (for the node's `key` file) and the public key
/// as `ed25519:<base64url>` (for the catalogs of the nodes that pin it).
pub fn generate_key() -> Result<(String, String)> {
    let rng = ring::rand::SystemRandom::new();
    let der = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| Error::Internal("no randomness for a key".into()))?;
    let pair =
        Ed25519KeyPair::from_pkcs8(der.as_ref()).map_err(|_| Error::Internal("a fresh key did not read".into()))?;
    let encoded = STANDARD.encode(der.as_ref());
    let mut pem = format!("-----BEGIN {PEM_LABEL}-----\n");
    for chunk in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(chunk));
        pem.push('\n');
    }
    pem.push_str(&format!("-----END {PEM_LABEL}-----\n"));
    Ok((pem, public_text(pair.public_key().as_ref())))
}

fn public_text(raw: &[u8]) -> String {
    format!("{NODE_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(raw))
}
