//! Who is calling, proven at the edge: principals' secrets checked against the catalog, and the
//! sealed tokens the Flight SQL service hands out (bearer tokens, tickets, prepared-statement
//! handles).
//!
//! A sealed token is its claims (kind, principal, purpose, expiry, payload) followed by an
//! HMAC-SHA256 over them under the server's key, so the server keeps no table of tokens and a
//! client cannot forge, extend or re-target one. The kind is inside the MAC: a ticket cannot be
//! presented as a bearer token. Whether the presenter is the principal a ticket was issued to is
//! the caller's check ([`Claims::is_for`]).

pub mod certificate;
pub mod jwt;

use std::time::{SystemTime, UNIX_EPOCH};

use argon2::password_hash::rand_core::{OsRng, RngCore};
use hmac::{Hmac, Mac};
pub use lienthong::credential::{credential_of, decoy_for, verify_credential, verify_secret};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Length of the MAC at the end of a sealed token.
const MAC_LEN: usize = 32;

/// What a sealed token is for; part of what the MAC covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// `authorization: Bearer …` on every call.
    Bearer,
    /// A DoGet ticket for one query's results.
    Ticket,
    /// A prepared statement's handle.
    Handle,
}

/// What a sealed token says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// What the token is for.
    pub kind: Kind,
    /// The principal it was issued to.
    pub principal: String,
    /// The purpose it was issued under (tickets and handles), if any.
    pub purpose: Option<String>,
    /// Seconds since the Unix epoch after which the token is refused.
    pub expires: u64,
    /// What the server needs back (a query, bound parameters); opaque here.
    pub payload: Vec<u8>,
}

impl Claims {
    /// Whether this token was issued to `principal` for `purpose`.
    pub fn is_for(&self, principal: &str, purpose: Option<&str>) -> bool {
        self.principal == principal && self.purpose.as_deref() == purpose
    }
}

/// Why a sealed token is refused. Callers answer every case with the same public message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Not a token of this server (wrong length, bad MAC, unreadable).
    Forged,
    /// Genuine, but of another kind than expected.
    WrongKind,
    /// Genuine, but expired.
    Expired,
}

/// The server's key for sealing tokens. Tokens do not outlive the key: with a random key (the
/// default), a restart logs everybody out.
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

impl Sealer {
    /// A sealer with a fresh random key.
    pub fn random() -> Self {
        let mut key = [0u8; 32];
        OsRng.fill_bytes(&mut key);
        Self { key }
    }

    /// A sealer with a key derived from `secret` (at least 32 bytes), for several servers that
    /// must accept each other's tokens.
    pub fn from_secret(secret: &[u8]) -> Result<Self, String> {
        if secret.len() < 32 {
            return Err("the token key must be at least 32 bytes".into());
        }
        let mut mac = self::mac(b"lienthong-token-key");
        mac.update(secret);
        Ok(Self {
            key: mac.finalize().into_bytes().into(),
        })
    }

    /// The token for `claims`.
    pub fn seal(&self, claims: &Claims) -> Vec<u8> {
        let mut token = serde_json::to_vec(claims).unwrap_or_default();
        let mut mac = mac(&self.key);
        mac.update(&token);
        token.extend_from_slice(&mac.finalize().into_bytes());
        token
    }

    /// The claims of `token` if this server sealed it, it is of `kind` and it has not expired at
    /// `now` (seconds since the epoch).
    pub fn open(&self, token: &[u8], kind: Kind, now: u64) -> Result<Claims, Refused> {
        let split = token.len().checked_sub(MAC_LEN).ok_or(Refused::Forged)?;
        let (body, tag) = token.split_at(split);
        let mut mac = mac(&self.key);
        mac.update(body);
        mac.verify_slice(tag).map_err(|_| Refused::Forged)?;
        let claims: Claims = serde_json::from_slice(body).map_err(|_| Refused::Forged)?;
        if claims.kind != kind {
            return Err(Refused::WrongKind);
        }
        if claims.expires <= now {
            return Err(Refused::Expired);
        }
        Ok(claims)
    }
}

fn mac(key: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mac) => mac,
        Err(_) => unreachable!("HMAC accepts every key length"),
    }
}

/// Seconds since the Unix epoch.
pub fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests;
