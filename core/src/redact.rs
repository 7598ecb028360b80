//! SQL as the audit log keeps it: every literal replaced by `?`, with a keyed digest of each so
//! that the owner can still find the queries that named a given value.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{Value, visit_expressions_mut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Deepest nesting parsed for redaction (deeper SQL is refused by the planner anyway).
const RECURSION_LIMIT: usize = 64;

/// The SQL with its literals replaced, and the digests of the literals.
pub(crate) fn redact_sql(sql: &str, key: &[u8]) -> (String, Vec<String>) {
    let dialect = GenericDialect {};
    let parsed = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .and_then(|mut p| p.parse_statements());
    let Ok(mut statements) = parsed else {
        return (
            format!("<SQL that does not parse, {} characters>", sql.chars().count()),
            Vec::new(),
        );
    };
    let mut digests = Vec::new();
    let _ = visit_expressions_mut(&mut statements, |expr| {
        if let datafusion::sql::sqlparser::ast::Expr::Value(v) = expr {
            let text = match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) | Value::NationalStringLiteral(s) => {
                    Some(s.clone())
                }
                Value::Number(n, _) => Some(n.clone()),
                _ => None,
            };
            if let Some(text) = text {
                digests.push(literal_digest(key, &text));
                v.value = Value::Placeholder("?".into());
            }
        }
        ControlFlow::<()>::Continue(())
    });
    let text = statements
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ");
    (text, digests)
}

/// The digest under which a literal value is recorded.
pub(crate) fn literal_digest(key: &[u8], value: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(value.as_bytes());
    mac.finalize().into_bytes()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
