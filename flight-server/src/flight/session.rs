//! Flight session options, for clients that set the purpose once per connection instead of on
//! every call (ADBC: `adbc.flight.sql.session.option.purpose`).
//!
//! The server keeps no sessions: `SetSessionOptions` answers with a new bearer token carrying the
//! purpose, expiring when the old one did, both in the `authorization` response header (for
//! clients that adopt a rotated token) and as the `lienthong_session` cookie (for clients with a
//! cookie middleware, e.g. ADBC with `adbc.flight.sql.rpc.with_cookie_middleware`). A cookie only
//! counts together with a bearer token of the same principal. A purpose header on a call still
//! wins.
//! `GetSessionOptions` reports the purpose in force; `CloseSession` is accepted and does nothing
//! the token's expiry does not already do.

use std::collections::HashMap;

use arrow_flight::Action;
use lienthong::spec::{Catalog as Spec, PUBLIC_PRINCIPAL};
use prost::Message;
use tonic::Status;

use super::caller::{Caller, bearer_token};
use crate::auth::Sealer;

/// The session actions this server answers, with their descriptions (ListActions).
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "SetSessionOptions",
        "Set `purpose` for the calls that follow (answered with a new bearer token)",
    ),
    ("GetSessionOptions", "The session options in force (`purpose`)"),
    ("CloseSession", "End the session (tokens still expire on their own)"),
    (
        QUOTAS_ACTION,
        "The caller's volume quotas for its purpose: a JSON array, one object per limit (quota, per, unit, window, period, limit, used, remaining, tables)",
    ),
];

/// The action that answers the caller's quotas.
pub const QUOTAS_ACTION: &str = "GetQuotas";

/// The option that declares the purpose.
const PURPOSE: &str = "purpose";

/// `SessionOptionValue` of Flight.proto.
#[derive(Clone, PartialEq, Message)]
pub struct SessionOptionValue {
    /// The value.
    #[prost(oneof = "OptionValue", tags = "1, 2, 3, 4, 5")]
    pub option_value: Option<OptionValue>,
}

/// The kinds of session option values.
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum OptionValue {
    /// Text.
    #[prost(string, tag = "1")]
    StringValue(String),
    /// A boolean.
    #[prost(bool, tag = "2")]
    BoolValue(bool),
    /// An integer.
    #[prost(sfixed64, tag = "3")]
    Int64Value(i64),
    /// A number.
    #[prost(double, tag = "4")]
    DoubleValue(f64),
    /// A list of texts.
    #[prost(message, tag = "5")]
    StringListValue(StringList),
}

/// `SessionOptionValue.StringListValue` of Flight.proto.
#[derive(Clone, PartialEq, Message)]
pub struct StringList {
    /// The texts.
    #[prost(string, repeated, tag = "1")]
    pub values: Vec<String>,
}

/// `SetSessionOptionsRequest` and `GetSessionOptionsResult` of Flight.proto (same shape).
#[derive(Clone, PartialEq, Message)]
pub struct SessionOptions {
    /// Options by name.
    #[prost(map = "string, message", tag = "1")]
    pub session_options: HashMap<String, SessionOptionValue>,
}

/// `SetSessionOptionsResult` of Flight.proto.
#[derive(Clone, PartialEq, Message)]
pub struct SetSessionOptionsResult {
    /// The options that were not set, by name.
    #[prost(map = "string, message", tag = "1")]
    pub errors: HashMap<String, OptionError>,
}

/// `SetSessionOptionsResult.Error`: 1 invalid name, 2 invalid value, 3 error.
#[derive(Clone, PartialEq, Message)]
pub struct OptionError {
    /// The reason.
    #[prost(int32, tag = "1")]
    pub value: i32,
}

/// `CloseSessionResult`: 1 closed.
#[derive(Clone, PartialEq, Message)]
pub struct CloseSessionResult {
    /// The status.
    #[prost(int32, tag = "1")]
    pub status: i32,
}

const INVALID_NAME: i32 = 1;
const INVALID_VALUE: i32 = 2;

/// The body of the answer to a session action, and the new bearer token if there is one.
pub fn answer(
    action: &Action,
    caller: &Caller,
    sealer: &Sealer,
    spec: &Spec,
    new_token_expires: u64,
) -> Result<(Vec<u8>, Option<String>), Status> {
    match action.r#type.as_str() {
        "SetSessionOptions" => {
            let request = SessionOptions::decode(&*action.body)
                .map_err(|_| Status::invalid_argument("SetSessionOptions: not a SetSessionOptionsRequest"))?;
            let mut errors = HashMap::new();
            let mut purpose = caller.purpose.clone();
            for (name, value) in request.session_options {
                match (name.as_str(), value.option_value) {
                    (PURPOSE, Some(OptionValue::StringValue(p))) if spec.purposes.contains_key(&p) => purpose = Some(p),
                    (PURPOSE, _) => {
                        errors.insert(name, OptionError { value: INVALID_VALUE });
                    }
                    _ => {
                        errors.insert(name, OptionError { value: INVALID_NAME });
                    }
                }
            }
            let public = caller.principal == PUBLIC_PRINCIPAL;
            let token = match (errors.is_empty(), caller.token_expires) {
                (false, _) => None,
                (true, _) if public => {
                    // `public` has no token to carry a purpose, and needs none.
                    errors.insert(PURPOSE.into(), OptionError { value: INVALID_VALUE });
                    None
                }
                // A caller known by its client certificate alone gets a token of the usual lifetime.
                (true, expires) => Some(bearer_token(
                    sealer,
                    &caller.principal,
                    purpose.as_deref(),
                    expires.unwrap_or(new_token_expires),
                )),
            };
            Ok((SetSessionOptionsResult { errors }.encode_to_vec(), token))
        }
        "GetSessionOptions" => {
            let mut options = SessionOptions::default();
            if let Some(purpose) = &caller.purpose {
                options.session_options.insert(
                    PURPOSE.into(),
                    SessionOptionValue {
                        option_value: Some(OptionValue::StringValue(purpose.clone())),
                    },
                );
            }
            Ok((options.encode_to_vec(), None))
        }
        "CloseSession" => Ok((CloseSessionResult { status: 1 }.encode_to_vec(), None)),
        other => Err(Status::invalid_argument(format!("unknown action `{other}`"))),
    }
}
