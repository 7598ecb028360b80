//! Identifiers with a fixed shape, as validated types, and the shape rules for names.

use std::borrow::Cow;
use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The only catalog format version this build reads.
pub const CURRENT_VERSION: u32 = 1;

/// The catalog format version (`version: 1`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FormatVersion;

impl Serialize for FormatVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u32(CURRENT_VERSION)
    }
}

impl<'de> Deserialize<'de> for FormatVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let version = u32::deserialize(deserializer)?;
        if version == CURRENT_VERSION {
            Ok(FormatVersion)
        } else {
            Err(serde::de::Error::custom(format!(
                "unsupported catalog version {version}; this build reads version {CURRENT_VERSION}"
            )))
        }
    }
}

impl JsonSchema for FormatVersion {
    fn schema_name() -> Cow<'static, str> {
        "FormatVersion".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Version of the catalog format. This build reads version 1.",
            "const": CURRENT_VERSION,
        })
    }
}

/// Regular expression of an agency electronic code (QCVN 102:2016): four groups
/// `level4(3).level3(2).level2(2).level1(3)`, digits and capital letters, level 1 a letter and
/// two digits (`G01` ministries, `H49` provinces).
pub const AGENCY_CODE_PATTERN: &str = r"^[0-9A-Z]{3}\.[0-9A-Z]{2}\.[0-9A-Z]{2}\.[A-Z][0-9]{2}$";

/// An agency electronic code such as `000.00.00.G01` (QCVN 102:2016, Decision 20/2020/QĐ-TTg).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AgencyCode(String);

impl AgencyCode {
    /// Checks the shape of `code` and wraps it.
    ///
    /// ```
    /// use lienthong_spec::AgencyCode;
    /// assert!(AgencyCode::parse("000.00.00.G01").is_ok());
    /// assert!(AgencyCode::parse("G01").is_err());
    /// ```
    pub fn parse(code: &str) -> Result<Self, String> {
        let groups: Vec<&str> = code.split('.').collect();
        let upper_alnum = |s: &str| s.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase());
        let well_formed = groups.len() == 4
            && groups[0].len() == 3
            && groups[1].len() == 2
            && groups[2].len() == 2
            && groups[..3].iter().all(|g| upper_alnum(g))
            && groups[3].len() == 3
            && groups[3].as_bytes()[0].is_ascii_uppercase()
            && groups[3].bytes().skip(1).all(|b| b.is_ascii_digit());
        if well_formed {
            Ok(Self(code.to_owned()))
        } else {
            Err(format!(
                "`{code}` is not an agency electronic code (expected NNN.NN.NN.XNN, e.g. 000.00.00.G01)"
            ))
        }
    }

    /// A well-formed code that names no agency, standing in for an unreadable one while the rest of
    /// a broken catalog is checked.
    pub(crate) fn placeholder() -> Self {
        Self("000.00.00.X00".to_owned())
    }

    /// The code as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AgencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Serialize for AgencyCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for AgencyCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let code = String::deserialize(deserializer)?;
        Self::parse(&code).map_err(serde::de::Error::custom)
    }
}

impl JsonSchema for AgencyCode {
    fn schema_name() -> Cow<'static, str> {
        "AgencyCode".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "Agency electronic code (QCVN 102:2016), e.g. `000.00.00.G01`.",
            "type": "string",
            "pattern": AGENCY_CODE_PATTERN,
        })
    }
}

/// Whether `name` can name a node, database, table, column, source or attribute: lower-case ASCII
/// letters, digits and `_`, starting with a letter, at most 63 characters. Such names never need
/// quoting in SQL, so what the catalog says is what a query writes.
pub fn is_sql_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && name.len() <= 63
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_'))
}

/// Whether `id` can name a principal, purpose, role, grant or tag rule: lower-case ASCII letters,
/// digits, `-` and `_`, starting with a letter, at most 63 characters.
pub fn is_key_name(id: &str) -> bool {
    let mut bytes = id.bytes();
    matches!(bytes.next(), Some(b'a'..=b'z'))
        && id.len() <= 63
        && bytes.all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-'))
}

/// The prefix of a node's public key as catalogs write it.
pub const NODE_KEY_PREFIX: &str = "ed25519:";

/// The 32 bytes of a node's public key written `ed25519:<base64url>` (as `lienthong node-key`
/// prints it), if `text` is one.
pub fn node_public_key(text: &str) -> Option<[u8; 32]> {
    use base64::Engine;
    let encoded = text.strip_prefix(NODE_KEY_PREFIX)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(encoded).ok()?;
    bytes.try_into().ok()
}

/// Whether `tag` is a dotted tag such as `pii.basic` or `identifier.citizen`.
pub fn is_tag(tag: &str) -> bool {
    !tag.is_empty() && tag.split('.').all(is_sql_name)
}

/// Whether `name` is a conventional environment variable name (`LIENTHONG_PG_PASSWORD`).
pub fn is_env_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b'A'..=b'Z' | b'_')) && bytes.all(|b| matches!(b, b'A'..=b'Z' | b'0'..=b'9' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agency_codes() {
        for good in ["000.00.00.G01", "000.00.12.H26", "000.70.99.H26", "A1B.00.00.H49"] {
            assert!(AgencyCode::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "",
            "G01",
            "000.00.00.g01",
            "000.00.00.G1",
            "00.00.00.G01",
            "000.00.00.G01.1",
        ] {
            assert!(AgencyCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn names() {
        assert!(is_sql_name("citizen_id"));
        assert!(!is_sql_name("Citizen"));
        assert!(!is_sql_name("1a"));
        assert!(!is_sql_name("a-b"));
        assert!(is_key_name("ward-officer"));
        assert!(is_tag("pii.basic"));
        assert!(!is_tag("pii..basic"));
        assert!(is_env_name("LIENTHONG_PG_PASSWORD"));
        assert!(!is_env_name("lower"));
    }
}
