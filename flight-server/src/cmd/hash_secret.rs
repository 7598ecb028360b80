//! `lienthong hash-secret`: the Argon2 hash of a secret, for a principal's credential.

use std::io::Read;
use std::process::ExitCode;

use anyhow::Context;
use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};

/// Reads the secret from standard input (one line, or everything piped), prints its PHC string.
pub fn run() -> anyhow::Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading the secret from standard input")?;
    let secret = input.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(!secret.is_empty(), "no secret on standard input");
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2::Argon2::default()
        .hash_password(secret.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the secret: {e}"))?;
    lienthong_server::say!("{hash}");
    Ok(ExitCode::SUCCESS)
}
