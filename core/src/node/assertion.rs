//! The assertion a calling node signs, its verification by the owner node, and the owner's
//! acknowledgement.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use lienthong_spec::{AgencyCode, AttributeValue, Catalog, ClientCertificate, node_public_key};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{ASSERTION_TTL_SECONDS, LEEWAY_SECONDS, NodeKey};

/// The claims of an assertion (a JWT signed with EdDSA).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Assertion {
    /// The calling node.
    pub iss: String,
    /// The owner node.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// When it was made.
    pub iat: u64,
    /// One-time id.
    pub jti: String,
    /// Correlation id, audited by both nodes.
    pub cid: String,
    /// The caller's principal id at the calling node.
    pub sub: String,
    /// The caller's agency.
    pub agency: String,
    /// The caller's roles.
    #[serde(default)]
    pub roles: Vec<String>,
    /// The caller's attributes that the calling node lets travel.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttributeValue>,
    /// The purpose.
    pub purpose: String,
    /// SHA-256 of the SQL sent, hex.
    pub sql: String,
}

impl Assertion {
    /// The signed token.
    pub(crate) fn sign(&self, key: &NodeKey) -> Result<String, String> {
        jsonwebtoken::encode(&Header::new(Algorithm::EdDSA), self, key.encoding()).map_err(|e| e.to_string())
    }
}

/// The caller a peer asserts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caller {
    /// Principal id at the calling node.
    pub principal: String,
    /// Electronic code of the caller's agency.
    pub agency: String,
    /// Roles.
    pub roles: Vec<String>,
    /// Attributes (only those the peer may assert).
    pub attributes: BTreeMap<String, AttributeValue>,
}

/// A call from a peer node whose assertion verified: who is asking through whom, and for what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Call {
    /// The peer node the call came through.
    pub peer: String,
    /// The caller it asserts.
    pub caller: Caller,
    /// The purpose.
    pub purpose: String,
    /// The correlation id both nodes audit under.
    pub correlation_id: String,
    /// SHA-256 (hex) of the only SQL this call may run.
    pub sql_sha256: String,
    /// The assertion's one-time id.
    pub id: String,
    /// When the assertion expires (seconds since the epoch).
    pub expires: u64,
}

impl Call {
    /// The principal as this node's audit and limits know it: `<peer>/<principal>`.
    pub fn principal_key(&self) -> String {
        format!("{}/{}", self.peer, self.caller.principal)
    }
}

/// The client certificate a call came with (mutual TLS), as the edge read it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PresentedCertificate {
    /// SHA-256 of the certificate (DER), 64 lower-case hex digits.
    pub sha256: String,
    /// The subject's common name, if any.
    pub common_name: Option<String>,
}

/// The owner's signed acknowledgement of one call: that it accepted the assertion with that id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledgement {
    /// The owner node.
    pub iss: String,
    /// The calling node.
    pub aud: String,
    /// Expiry, seconds since the epoch.
    pub exp: u64,
    /// The id of the assertion acknowledged.
    pub jti: String,
}

/// One-time ids seen and not yet expired. They are kept in memory only: to stay single-use across
/// a restart, assertions issued before this process began remembering (`since`) are refused; an
/// assertion lives 30 seconds, so a caller's retry with a fresh one succeeds.
#[derive(Debug)]
pub(crate) struct Replays {
    seen: Mutex<HashMap<String, u64>>,
    since: u64,
}

impl Default for Replays {
    fn default() -> Self {
        Self {
            seen: Mutex::default(),
            since: crate::session::unix_seconds().max(0).cast_unsigned(),
        }
    }
}

impl Replays {
    /// Records `id` (issued at `issued`, valid until `expires`); refused when it was already seen
    /// or issued before this process started.
    fn admit(&self, id: &str, issued: u64, expires: u64, now: u64) -> Result<(), &'static str> {
        if issued < self.since {
            return Err("was issued before this node started");
        }
        let Ok(mut seen) = self.seen.lock() else {
            return Err("cannot be checked");
        };
        if seen.len() > 10_000 {
            seen.retain(|_, until| *until + LEEWAY_SECONDS >= now);
        }
        if seen.insert(id.to_owned(), expires).is_some() {
            return Err("was already used");
        }
        Ok(())
    }
}

/// SHA-256 of `sql`, hex.
pub(crate) fn sql_sha256(sql: &str) -> String {
    hex(&Sha256::digest(sql.as_bytes()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The `iss` claim of a token, unverified: which pinned key to verify it with.
fn issuer_of(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("iss")?.as_str().map(str::to_owned)
}

fn validation(issuer: &str, audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_issuer(&[issuer]);
    validation.set_audience(&[audience]);
    validation.set_required_spec_claims(&["exp", "iss", "aud"]);
    validation.leeway = LEEWAY_SECONDS;
    validation
}

/// Verifies a peer's assertion against the catalog's `peers`. The error is the reason, for the
/// owner's audit; callers are answered without it.
pub(crate) fn verify(
    catalog: &Catalog,
    replays: &Replays,
    token: &str,
    certificate: Option<&PresentedCertificate>,
    now: u64,
) -> Result<Call, String> {
    let issuer = issuer_of(token).ok_or("not an assertion")?;
    let peer = catalog
        .peers
        .get(&issuer)
        .ok_or_else(|| format!("`{issuer}` is not a peer of this node"))?;
    let raw = node_public_key(&peer.public_key).ok_or("the peer's pinned key is not usable")?;
    let claims = jsonwebtoken::decode::<Assertion>(
        token,
        &DecodingKey::from_ed_der(&raw),
        &validation(&issuer, &catalog.node.name),
    )
    .map_err(|e| format!("assertion of `{issuer}` refused: {e}"))?
    .claims;
    if claims.exp > now + ASSERTION_TTL_SECONDS + LEEWAY_SECONDS {
        return Err(format!(
            "assertion of `{issuer}` lives longer than {ASSERTION_TTL_SECONDS} s"
        ));
    }
    if !peer.certificates.is_empty() {
        let presented =
            certificate.ok_or_else(|| format!("`{issuer}` must call over mutual TLS with its certificate"))?;
        let pinned = peer.certificates.iter().any(|c| match c {
            ClientCertificate::Sha256(_) => c.fingerprint().as_deref() == Some(presented.sha256.as_str()),
            ClientCertificate::CommonName(name) => presented.common_name.as_deref() == Some(name.as_str()),
        });
        if !pinned {
            return Err(format!("the client certificate is not one pinned for `{issuer}`"));
        }
    }
    let agency =
        AgencyCode::parse(&claims.agency).map_err(|_| "the asserted agency is not an agency code".to_owned())?;
    if !peer.agencies.iter().any(|a| crate::policy::within(catalog, &agency, a)) {
        return Err(format!("`{issuer}` may not speak for agency {agency}"));
    }
    // No purpose: the caller reads open tables only, as an anonymous local caller does.
    if !claims.purpose.is_empty()
        && (!peer.purposes.contains(&claims.purpose) || !catalog.purposes.contains_key(&claims.purpose))
    {
        return Err(format!("`{issuer}` may not assert purpose `{}`", claims.purpose));
    }
    if let Some(name) = claims.attributes.keys().find(|a| !peer.attributes.contains(a)) {
        return Err(format!("`{issuer}` may not assert attribute `{name}`"));
    }
    if claims.sub.is_empty() || claims.sub.len() > 200 || claims.cid.len() > 200 || claims.jti.len() > 200 {
        return Err("the assertion's ids are malformed".into());
    }
    replays
        .admit(&format!("{issuer}/{}", claims.jti), claims.iat, claims.exp, now)
        .map_err(|why| format!("assertion `{}` of `{issuer}` {why}", claims.jti))?;
    Ok(Call {
        peer: issuer,
        caller: Caller {
            principal: claims.sub,
            agency: claims.agency,
            roles: claims.roles,
            attributes: claims.attributes,
        },
        purpose: claims.purpose,
        correlation_id: claims.cid,
        sql_sha256: claims.sql,
        id: claims.jti,
        expires: claims.exp,
    })
}

/// Checks the owner's acknowledgement of the assertion `id` against the owner's pinned key.
pub(crate) fn verify_acknowledgement(
    token: &str,
    owner: &str,
    owner_key: &str,
    this_node: &str,
    id: &str,
) -> Result<(), String> {
    let raw = node_public_key(owner_key).ok_or("the owner's pinned key is not usable")?;
    let claims =
        jsonwebtoken::decode::<Acknowledgement>(token, &DecodingKey::from_ed_der(&raw), &validation(owner, this_node))
            .map_err(|e| format!("the answer is not signed by node `{owner}`: {e}"))?
            .claims;
    if claims.jti != id {
        return Err(format!("node `{owner}` acknowledged another call"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Replays;

    #[test]
    fn an_id_is_admitted_once_and_a_restarted_node_refuses_what_was_issued_before_it() {
        let replays = Replays::default();
        let now = replays.since;
        assert_eq!(replays.admit("lgsp/a", now, now + 30, now), Ok(()));
        assert_eq!(replays.admit("lgsp/a", now, now + 30, now), Err("was already used"));
        assert_eq!(replays.admit("lgsp/b", now, now + 30, now), Ok(()));
        // After a restart the memory is empty; what was issued before the start is refused, even
        // an id the new process never saw, because the old one may have.
        let restarted = Replays {
            since: now + 1,
            ..Replays::default()
        };
        assert_eq!(
            restarted.admit("lgsp/a", now, now + 30, now + 1),
            Err("was issued before this node started")
        );
        assert_eq!(restarted.admit("lgsp/c", now + 1, now + 31, now + 1), Ok(()));
    }
}
