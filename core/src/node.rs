//! Nodes and the trust between them: the node's own key, the signed assertion that travels with
//! every query forwarded to another node, and its verification by the node that owns the data.
//!
//! An assertion is a JSON Web Token signed with the calling node's Ed25519 key (EdDSA): issuer
//! (the calling node), audience (the owner node), expiry in seconds, a one-time id, the
//! correlation id both nodes audit under, the caller (principal, agency, roles, the attributes the
//! calling node's catalog lets travel) and purpose, and the SHA-256 of the exact SQL sent. The
//! owner checks the signature against the key it pinned for that peer, the audience, the expiry
//! (with a few seconds of leeway for clocks), that the id was never seen, that the SQL is the one
//! signed, and that the peer may speak for that agency and purpose and set those attributes;
//! then it plans the SQL as that caller under its own grants. The owner answers with its own
//! signed acknowledgement of the id, which the caller checks against the key it pinned.

mod assertion;
mod key;

pub use assertion::{Acknowledgement, Call, Caller as AssertedCaller, PresentedCertificate};
pub(crate) use assertion::{
    Assertion, Replays, hex as hex_of, sql_sha256, verify as verify_assertion, verify_acknowledgement,
};
pub use key::{NodeKey, generate_key};

/// How long an assertion is valid after it is made, in seconds.
pub const ASSERTION_TTL_SECONDS: u64 = 30;

/// Clock difference between nodes tolerated when checking expiries, in seconds.
pub const LEEWAY_SECONDS: u64 = 5;

/// The request header that carries an assertion to the owner node.
pub const ASSERTION_HEADER: &str = "x-lienthong-assertion";

/// The response header that carries the owner node's acknowledgement.
pub const ACKNOWLEDGEMENT_HEADER: &str = "x-lienthong-acknowledgement";

/// `key`'s signed acknowledgement of `call`, made by `node`.
pub(crate) fn acknowledge(key: &NodeKey, node: &str, call: &Call) -> crate::Result<String> {
    let claims = Acknowledgement {
        iss: node.to_owned(),
        aud: call.peer.clone(),
        exp: call.expires,
        jti: call.id.clone(),
    };
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA),
        &claims,
        key.encoding(),
    )
    .map_err(|e| crate::Error::Internal(format!("signing an acknowledgement: {e}")))
}
