//! SQL and error texts as the audit log keeps them: every literal replaced by `?`, with a keyed
//! digest of each so that the owner can still find the queries that named a given value.
//!
//! The SQL is redacted token by token (no syntax tree, so no recursion however deep the query):
//! every kind of literal the tokenizer knows (`'…'`, `E'…'`, `$$…$$`, `N'…'`, `X'…'`, numbers,
//! and the string of a typed literal such as `DATE '…'`) becomes `?`, and comments are dropped.
//! A value computed inside the query (`'0010' || '50284247'`) leaves no literal of its own here;
//! the session adds the digests of the constants of the optimized plan, where it is folded.
//! What is not covered: a value spelt out by arithmetic on columns, or one read from a table.

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer, Whitespace};
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The SQL with its literals replaced, and the digests of the literals.
pub(crate) fn redact_sql(sql: &str, key: &[u8]) -> (String, Vec<String>) {
    let dialect = GenericDialect {};
    let Ok(tokens) = Tokenizer::new(&dialect, sql).tokenize() else {
        return (
            format!("<SQL that does not parse, {} characters>", sql.chars().count()),
            Vec::new(),
        );
    };
    let mut digests = Vec::new();
    let mut text = String::with_capacity(sql.len().min(64 * 1024));
    for token in &tokens {
        if let Some(value) = literal(token) {
            digests.push(literal_digest(key, value));
            text.push('?');
        } else if let Token::Whitespace(Whitespace::SingleLineComment { .. } | Whitespace::MultiLineComment(_)) = token
        {
            text.push(' ');
        } else {
            text.push_str(&token.to_string());
        }
    }
    (text, digests)
}

/// The value of a literal token.
fn literal(token: &Token) -> Option<&str> {
    Some(match token {
        Token::Number(n, _) => n,
        Token::SingleQuotedString(s)
        | Token::DoubleQuotedString(s)
        | Token::TripleSingleQuotedString(s)
        | Token::TripleDoubleQuotedString(s)
        | Token::SingleQuotedByteStringLiteral(s)
        | Token::DoubleQuotedByteStringLiteral(s)
        | Token::TripleSingleQuotedByteStringLiteral(s)
        | Token::TripleDoubleQuotedByteStringLiteral(s)
        | Token::SingleQuotedRawStringLiteral(s)
        | Token::DoubleQuotedRawStringLiteral(s)
        | Token::TripleSingleQuotedRawStringLiteral(s)
        | Token::TripleDoubleQuotedRawStringLiteral(s)
        | Token::NationalStringLiteral(s)
        | Token::EscapedStringLiteral(s)
        | Token::UnicodeStringLiteral(s)
        | Token::HexStringLiteral(s) => s,
        Token::DollarQuotedString(d) => &d.value,
        Token::QuoteDelimitedStringLiteral(q) | Token::NationalQuoteDelimitedStringLiteral(q) => &q.value,
        _ => return None,
    })
}

/// An error text as the audit keeps it: quoted parts (values, as DataFusion quotes them) and long
/// runs of digits replaced by `?`.
pub(crate) fn redact_error(error: &str) -> String {
    let mut out = String::with_capacity(error.len());
    let mut quote: Option<char> = None;
    let mut digits = String::new();
    let flush = |digits: &mut String, out: &mut String| {
        if digits.len() >= 5 {
            out.push('?');
        } else {
            out.push_str(digits);
        }
        digits.clear();
    };
    for c in error.chars() {
        match quote {
            Some(q) if c == q => {
                out.push(c);
                quote = None;
            }
            Some(_) => {}
            None if c == '\'' || c == '"' => {
                flush(&mut digits, &mut out);
                out.push(c);
                out.push('?');
                quote = Some(c);
            }
            None if c.is_ascii_digit() => digits.push(c),
            None => {
                flush(&mut digits, &mut out);
                out.push(c);
            }
        }
    }
    flush(&mut digits, &mut out);
    out
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
