//! Who is calling and why, from the request's headers and its TLS client certificate.
//!
//! - `authorization: Bearer <token>`: a token this server sealed at the handshake, or a JSON Web
//!   Token from one of the catalog's `token_issuers` (told apart by the JWT's dots).
//! - `authorization: Basic <base64(principal:secret)>`: only on the handshake, which answers with
//!   a bearer token (in the `authorization` response header and the handshake payload).
//! - A client certificate (mutual TLS) that the catalog maps to a principal: that principal, with
//!   no header needed; a token for anybody else on the same connection is refused.
//! - None of these: the `public` principal.
//! - `x-lienthong-purpose: <purpose>`: the declared purpose, required for every principal but
//!   `public`. Set once through Flight's `SetSessionOptions` instead, it travels in a re-issued
//!   bearer token or in the `lienthong_session` cookie; the header wins over both.
//!
//! Every refusal says only "authentication failed" or "invalid or expired token": nothing about
//! which principals exist or why a secret, token or certificate was not accepted.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig, URL_SAFE_NO_PAD};
use lienthong_spec::PUBLIC_PRINCIPAL;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use crate::auth::certificate::{Certificates, Identified};
use crate::auth::jwt::Issuers;
use crate::auth::{Claims, Kind, Sealer, now};

/// Seconds since the epoch `ttl` from now.
pub fn expiry(ttl: std::time::Duration) -> u64 {
    now().saturating_add(ttl.as_secs())
}

/// The header that declares the purpose of a call.
pub const PURPOSE_HEADER: &str = "x-lienthong-purpose";

/// Standard base64 that accepts padded (C++ clients) and unpadded (Go clients) input alike.
const LENIENT_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// An authenticated caller and the purpose of this call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The principal's id (`public` without a token).
    pub principal: String,
    /// The declared purpose, if any.
    pub purpose: Option<String>,
    /// When the caller's bearer token expires (seconds since the epoch); `None` for `public`.
    pub token_expires: Option<u64>,
    /// For a call from a peer node: the verified call (its principal is then `<peer>/<principal>`).
    pub remote: Option<Box<lienthong::node::Call>>,
}

/// What the server trusts, besides its own sealed tokens, to tell who is calling.
#[derive(Debug, Default)]
pub struct Identities {
    /// The catalog's JWT issuers.
    pub issuers: Issuers,
    /// The catalog's client certificates.
    pub certificates: Certificates,
}

impl Identities {
    /// The principal the request's client certificate (the leaf of the verified chain)
    /// identifies: `Ok(None)` without one or for one the catalog does not know, an error for an
    /// ambiguous one.
    pub fn certified<T>(&self, request: &Request<T>) -> Result<Option<String>, Status> {
        let chain = request.peer_certs();
        match chain
            .as_deref()
            .and_then(|c| c.first())
            .map(|leaf| self.certificates.identify(leaf))
        {
            None | Some(Identified::Nobody) => Ok(None),
            Some(Identified::Principal(principal)) => Ok(Some(principal)),
            Some(Identified::Ambiguous) => Err(Status::unauthenticated("authentication failed")),
        }
    }
}

impl Caller {
    /// The caller of a request: the principal its client certificate identifies (`certified`,
    /// see [`Identities::certified`]), its bearer token (sealed by `sealer` or a JWT of one of
    /// `issuers`), and its purpose.
    pub fn of(
        headers: &MetadataMap,
        certified: Option<String>,
        sealer: &Sealer,
        issuers: &Issuers,
    ) -> Result<Self, Status> {
        let header_purpose = match headers.get(PURPOSE_HEADER) {
            None => None,
            Some(value) => Some(
                value
                    .to_str()
                    .map_err(|_| Status::invalid_argument("the purpose header is not text"))?
                    .to_owned(), // exact: a purpose is a code, `" tthc"` is not `tthc`
            ),
        };
        let (principal, token_purpose, token_expires) = match (headers.get("authorization"), certified) {
            (None, None) => {
                return Ok(Self {
                    principal: PUBLIC_PRINCIPAL.into(),
                    purpose: header_purpose.filter(|p| !p.is_empty()),
                    token_expires: None,
                    remote: None,
                });
            }
            (None, Some(principal)) => (principal, None, None),
            (Some(authorization), certified) => {
                let token = authorization
                    .to_str()
                    .ok()
                    .and_then(|v| strip_scheme(v, "bearer"))
                    .ok_or_else(invalid_token)?;
                let (principal, purpose, expires) = if token.contains('.') {
                    let verified = issuers.verify(token.trim()).ok_or_else(invalid_token)?;
                    (verified.principal, None, verified.expires)
                } else {
                    let claims = open_bearer(token, sealer).ok_or_else(invalid_token)?;
                    (claims.principal, claims.purpose, claims.expires)
                };
                if certified.is_some_and(|c| c != principal) {
                    return Err(invalid_token());
                }
                (principal, purpose, Some(expires))
            }
        };
        let session_purpose = session_cookie(headers, sealer)
            .filter(|c| c.principal == principal)
            .and_then(|c| c.purpose);
        Ok(Self {
            purpose: header_purpose
                .or(token_purpose)
                .or(session_purpose)
                .filter(|p| !p.is_empty()),
            principal,
            token_expires,
            remote: None,
        })
    }

    /// The caller of a request from a peer node, from its verified call.
    pub fn remote(call: lienthong::node::Call) -> Self {
        Self {
            principal: call.principal_key(),
            purpose: Some(call.purpose.clone()),
            token_expires: Some(call.expires),
            remote: Some(Box::new(call)),
        }
    }

    /// The purpose as the core takes it.
    pub fn purpose(&self) -> Option<&str> {
        self.purpose.as_deref()
    }
}

/// The principal and secret of a `Basic` authorization header.
pub fn basic_credentials(headers: &MetadataMap) -> Result<(String, String), Status> {
    let refused = || Status::unauthenticated("authentication failed");
    let value = headers.get("authorization").ok_or_else(refused)?;
    let encoded = value
        .to_str()
        .ok()
        .and_then(|v| strip_scheme(v, "basic"))
        .ok_or_else(refused)?;
    let decoded = LENIENT_BASE64.decode(encoded.trim()).map_err(|_| refused())?;
    let text = String::from_utf8(decoded).map_err(|_| refused())?;
    let (principal, secret) = text.split_once(':').ok_or_else(refused)?;
    Ok((principal.to_owned(), secret.to_owned()))
}

/// A bearer token for `principal` (carrying `purpose` if given) that expires at `expires`
/// (seconds since the epoch), as the text after `Bearer `.
pub fn bearer_token(sealer: &Sealer, principal: &str, purpose: Option<&str>, expires: u64) -> String {
    let claims = Claims {
        kind: Kind::Bearer,
        principal: principal.to_owned(),
        purpose: purpose.map(str::to_owned),
        expires,
        payload: Vec::new(),
    };
    URL_SAFE_NO_PAD.encode(sealer.seal(&claims))
}

/// The session cookie that carries session options (see [`super::session`]).
pub const SESSION_COOKIE: &str = "lienthong_session";

/// The claims of the session cookie, if there is a genuine, current one.
fn session_cookie(headers: &MetadataMap, sealer: &Sealer) -> Option<Claims> {
    headers
        .get_all("cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .and_then(|(_, token)| open_bearer(token, sealer))
}

/// The claims of a bearer token, if it is genuine and current.
fn open_bearer(token: &str, sealer: &Sealer) -> Option<Claims> {
    let bytes = URL_SAFE_NO_PAD.decode(token.trim()).ok()?;
    sealer.open(&bytes, Kind::Bearer, now()).ok()
}

/// `value` without its authorization scheme (compared case-insensitively), if it has that scheme.
fn strip_scheme<'a>(value: &'a str, scheme: &str) -> Option<&'a str> {
    let (given, rest) = value.split_once(' ')?;
    given.eq_ignore_ascii_case(scheme).then_some(rest)
}

fn invalid_token() -> Status {
    Status::unauthenticated("invalid or expired token")
}
