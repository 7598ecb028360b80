//! Masks: the expression a caller sees instead of a column's raw value.
//!
//! A mask is computed once, in the governed sub-plan under the policy barrier; every later use of
//! the column (WHERE, JOIN, GROUP BY, aggregates) sees the masked value. Masks that need more than
//! a built-in expression are scalar functions held by the plan itself and never registered in the
//! caller's session, so a caller cannot call them on values of its choosing (which would turn a
//! pseudonym into a dictionary lookup).
//!
//! The pseudonym is HMAC-SHA256 with a key derived from the node's secret and the *consumer*
//! agency: the same value gives the same token inside one agency (joins still work) and unlinkable
//! tokens across agencies.

use std::collections::HashMap;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::{Arc, LazyLock};

use datafusion::arrow::array::{Array, ArrayRef, StringArray, StringBuilder};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result as DfResult, ScalarValue};
use datafusion::logical_expr::{
    Cast, ColumnarValue, Expr, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::lit;
use hmac::{Hmac, Mac};
use lienthong_spec::{Generalization, Mask};
use sha2::Sha256;

/// What a redacted value reads as.
pub const REDACTED: &str = "***";

/// Environment variable holding the node's pseudonym secret.
pub const PSEUDONYM_KEY_ENV: &str = "LIENTHONG_PSEUDONYM_KEY";

/// Shortest pseudonym secret accepted, in bytes.
pub const MIN_PSEUDONYM_SECRET: usize = 16;

/// The node's pseudonym secret. Never printed.
#[derive(Clone)]
pub struct PseudonymSecret(Arc<[u8]>);

impl PseudonymSecret {
    /// A secret of at least [`MIN_PSEUDONYM_SECRET`] bytes.
    pub fn new(secret: impl AsRef<[u8]>) -> Result<Self, String> {
        let secret = secret.as_ref();
        if secret.len() < MIN_PSEUDONYM_SECRET {
            return Err(format!(
                "a pseudonym secret needs at least {MIN_PSEUDONYM_SECRET} bytes"
            ));
        }
        Ok(Self(secret.into()))
    }

    /// The secret in [`PSEUDONYM_KEY_ENV`], if set.
    pub fn from_env() -> Option<Result<Self, String>> {
        std::env::var(PSEUDONYM_KEY_ENV)
            .ok()
            .map(|s| Self::new(s).map_err(|e| format!("{PSEUDONYM_KEY_ENV}: {e}")))
    }

    /// The key under which the audit log digests literals.
    pub(crate) fn audit_salt(&self) -> [u8; 32] {
        self.agency_key("\u{0}audit")
    }

    /// The key for one consumer agency.
    fn agency_key(&self, agency: &str) -> [u8; 32] {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(b"lienthong-pseudonym-agency:");
        mac.update(agency.as_bytes());
        mac.finalize().into_bytes().into()
    }
}

impl fmt::Debug for PseudonymSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PseudonymSecret(…)")
    }
}

/// The expression that shows `column` through `mask` to a caller of `agency`.
///
/// `secret` is needed only for pseudonyms; without it a pseudonym mask is an error (fail closed).
fn mask_expr(
    column: Expr,
    data_type: &DataType,
    mask: &Mask,
    agency: &str,
    secret: Option<&PseudonymSecret>,
) -> Result<Expr, String> {
    Ok(match mask {
        Mask::Redact => lit(REDACTED),
        Mask::Nullify => Expr::Literal(ScalarValue::try_from(data_type).map_err(|e| e.to_string())?, None),
        Mask::KeepLast(n) => udf(MaskKind::KeepLast(*n), column),
        Mask::Generalize(Generalization::Province) => udf(MaskKind::Province, column),
        Mask::Generalize(Generalization::Year) => Expr::Cast(Cast::new(
            Box::new(datafusion::functions::expr_fn::date_trunc(lit("year"), column)),
            DataType::Date32,
        )),
        Mask::Pseudonym => {
            let secret = secret.ok_or_else(|| {
                format!(
                    "pseudonyms need a node secret: set {PSEUDONYM_KEY_ENV} (at least {MIN_PSEUDONYM_SECRET} bytes)"
                )
            })?;
            udf(MaskKind::Pseudonym(secret.agency_key(agency)), column)
        }
    })
}

/// The expression that shows `column` through every mask of `masks`, in order (see
/// [`crate::policy::strictest`]).
pub(crate) fn masks_expr(
    column: Expr,
    data_type: &DataType,
    masks: &[Mask],
    agency: &str,
    secret: Option<&PseudonymSecret>,
) -> Result<Expr, String> {
    let mut expr = column;
    let mut data_type = data_type.clone();
    for mask in masks {
        expr = mask_expr(expr, &data_type, mask, agency, secret)?;
        data_type = match mask {
            Mask::Nullify => data_type,
            Mask::Generalize(Generalization::Year) => DataType::Date32,
            _ => DataType::Utf8,
        };
    }
    Ok(expr)
}

fn udf(kind: MaskKind, column: Expr) -> Expr {
    ScalarUDF::new_from_impl(MaskFunction::new(kind)).call(vec![column])
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum MaskKind {
    KeepLast(u32),
    Province,
    Pseudonym([u8; 32]),
}

/// A mask as a scalar function: text in, text out.
#[derive(Clone, PartialEq, Eq)]
struct MaskFunction {
    kind: MaskKind,
    name: String,
    signature: Signature,
}

impl Hash for MaskFunction {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.kind.hash(state);
    }
}

impl fmt::Debug for MaskFunction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name) // never the key
    }
}

impl MaskFunction {
    fn new(kind: MaskKind) -> Self {
        let name = match &kind {
            MaskKind::KeepLast(n) => format!("mask_keep_last_{n}"),
            MaskKind::Province => "mask_province".into(),
            MaskKind::Pseudonym(_) => "mask_pseudonym".into(),
        };
        Self {
            kind,
            name,
            signature: Signature::any(1, Volatility::Immutable),
        }
    }

    fn apply(&self, value: &str) -> Option<String> {
        match &self.kind {
            MaskKind::KeepLast(n) => {
                let n = *n as usize;
                let chars = value.chars().count();
                // A value no longer than what would be kept is hidden whole.
                Some(if chars <= n {
                    "*".repeat(chars)
                } else {
                    let mut out = "*".repeat(chars - n);
                    out.extend(value.chars().skip(chars - n));
                    out
                })
            }
            MaskKind::Province => WARD_PROVINCE.get(value).map(|p| (*p).to_owned()),
            MaskKind::Pseudonym(key) => {
                let mut token = String::with_capacity(PSEUDONYM_LEN);
                pseudonym_into(&keyed(key), value, &mut token);
                Some(token)
            }
        }
    }
}

/// Length of a pseudonym: `p_` and 12 bytes in hex.
const PSEUDONYM_LEN: usize = 2 + 24;

/// HMAC-SHA256 keyed with `key`, ready for a message (the key's pads hashed once, cloned per
/// value).
fn keyed(key: &[u8; 32]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"))
}

/// Appends the pseudonym of `value` under `keyed` to `out`: `p_` and the first 12 bytes of the
/// HMAC, in lowercase hex.
fn pseudonym_into(keyed: &Hmac<Sha256>, value: &str, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut mac = keyed.clone();
    mac.update(value.as_bytes());
    let digest = mac.finalize().into_bytes();
    out.push_str("p_");
    for b in &digest[..12] {
        out.push(char::from(HEX[usize::from(b >> 4)]));
        out.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
}

impl ScalarUDFImpl for MaskFunction {
    fn name(&self) -> &str {
        &self.name
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _arg_types: &[DataType]) -> DfResult<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> DfResult<ColumnarValue> {
        let [value] = args.args.as_slice() else {
            return datafusion::common::exec_err!("{} takes one argument", self.name);
        };
        let input: ArrayRef = value.to_array(args.number_rows)?;
        let text = cast(&input, &DataType::Utf8)?;
        let text = text
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| datafusion::common::DataFusionError::Internal("cast to Utf8".into()))?;
        if let MaskKind::Pseudonym(key) = &self.kind {
            // The key's pads hashed once per batch, each token written straight into the array.
            let keyed = keyed(key);
            let mut out = StringBuilder::with_capacity(text.len(), text.len() * PSEUDONYM_LEN);
            let mut token = String::with_capacity(PSEUDONYM_LEN);
            for value in text.iter() {
                match value {
                    Some(value) => {
                        token.clear();
                        pseudonym_into(&keyed, value, &mut token);
                        out.append_value(&token);
                    }
                    None => out.append_null(),
                }
            }
            return Ok(ColumnarValue::Array(Arc::new(out.finish()) as ArrayRef));
        }
        let out: StringArray = text.iter().map(|v| v.and_then(|v| self.apply(v))).collect();
        Ok(ColumnarValue::Array(Arc::new(out) as ArrayRef))
    }
}

/// 2025 ward code → province code, from the reference list shipped with the code.
static WARD_PROVINCE: LazyLock<HashMap<&'static str, &'static str>> = LazyLock::new(|| {
    include_str!("../../examples/synth/reference/wards_2025.csv")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut fields = line.split(',');
            let ward = fields.next()?;
            let province = fields.nth(2)?;
            Some((ward, province))
        })
        .collect()
});

#[cfg(test)]
mod tests;
