//! Principals' secrets checked against the catalog: the one check that every edge (the Flight
//! handshake, the Python package) makes before it opens a session for a named principal.
//!
//! Unknown principals and principals without a credential are refused after the same work as a
//! wrong secret, so timing does not tell which principals exist. `public` never authenticates: it
//! needs no secret.

use std::collections::BTreeMap;
use std::sync::Mutex;

use argon2::password_hash::SaltString;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::{Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version};
use hmac::{Hmac, Mac};
use lienthong_spec::{Catalog, Credential, PUBLIC_PRINCIPAL};
use sha2::Sha256;

/// Whether `secret` proves `principal` according to the catalog.
pub fn verify_secret(catalog: &Catalog, principal: &str, secret: &str) -> bool {
    verify_credential(credential_of(catalog, principal), &decoy_for(catalog), secret)
}

/// The stored credential of `principal`, if it is declared and has one (`public` never has).
pub fn credential_of<'c>(catalog: &'c Catalog, principal: &str) -> Option<&'c Credential> {
    catalog
        .principals
        .get(principal)
        .filter(|_| principal != PUBLIC_PRINCIPAL)
        .and_then(|p| p.credential.as_ref())
}

/// Whether `secret` matches `credential`; without one, refused after checking `decoy` (from
/// [`decoy_for`]), so that the time spent is the same.
pub fn verify_credential(credential: Option<&Credential>, decoy: &str, secret: &str) -> bool {
    match credential {
        Some(Credential::Argon2(hash)) => argon2_matches(hash, secret),
        Some(Credential::Env(var)) => {
            let expected = std::env::var(var).unwrap_or_default();
            argon2_matches(decoy, secret);
            !expected.is_empty() && constant_time_eq(expected.as_bytes(), secret.as_bytes())
        }
        None => {
            argon2_matches(decoy, secret);
            false
        }
    }
}

/// The hash of a random secret with the Argon2 parameters (memory, passes, lanes) of the
/// catalog's own hashes, verified against when there is nothing to verify: a decoy made with
/// other parameters would take another time, and timing would tell which principals exist.
pub fn decoy_for(catalog: &Catalog) -> String {
    static DECOYS: Mutex<BTreeMap<String, String>> = Mutex::new(BTreeMap::new());
    let reference = catalog.principals.values().find_map(|p| match &p.credential {
        Some(Credential::Argon2(hash)) => PasswordHash::new(hash).ok(),
        _ => None,
    });
    let params = reference
        .as_ref()
        .and_then(|hash| Params::try_from(hash).ok())
        .unwrap_or_default();
    let algorithm = reference
        .as_ref()
        .and_then(|hash| Algorithm::try_from(hash.algorithm).ok())
        .unwrap_or_default();
    let key = format!("{algorithm:?} {params:?}");
    let mut decoys = DECOYS.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    decoys
        .entry(key)
        .or_insert_with(|| {
            let mut secret = [0u8; 16];
            OsRng.fill_bytes(&mut secret);
            Argon2::new(algorithm, Version::default(), params)
                .hash_password(&secret, &SaltString::generate(&mut OsRng))
                .map(|hash| hash.to_string())
                .unwrap_or_default()
        })
        .clone()
}

fn argon2_matches(hash: &str, secret: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|hash| Argon2::default().verify_password(secret.as_bytes(), &hash).is_ok())
}

/// Compares the MACs of both under one key: the time does not depend on where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    let mac = |bytes: &[u8]| {
        let mut mac = match Hmac::<Sha256>::new_from_slice(b"lienthong-compare") {
            Ok(mac) => mac,
            Err(_) => unreachable!("HMAC accepts every key length"),
        };
        mac.update(bytes);
        mac
    };
    mac(a).verify_slice(&mac(b).finalize().into_bytes()).is_ok()
}
