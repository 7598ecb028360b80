//! Row filters: boolean SQL expressions over one table's columns and the caller's attributes.
//!
//! A row filter decides which rows a grant covers, so it must be something the engine can bind and
//! push down safely: a predicate (not a value), reading only the row it filters (no subqueries),
//! naming columns by their bare name and the caller's attributes as `principal.<attribute>`.

use std::ops::ControlFlow;

use sqlparser::ast::{BinaryOperator, Expr, UnaryOperator, Value, visit_expressions};
use sqlparser::dialect::GenericDialect;
use sqlparser::parser::Parser;
use sqlparser::tokenizer::Token;

/// The qualifier that marks a caller attribute in a row filter.
pub const PRINCIPAL_QUALIFIER: &str = "principal";

/// Deepest expression nesting accepted in a row filter.
const RECURSION_LIMIT: usize = 64;

/// What a row filter refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowFilterRefs {
    /// Columns of the filtered table, in order of appearance, without repeats.
    pub columns: Vec<String>,
    /// Principal attributes (`principal.<name>`), in order of appearance, without repeats.
    pub attributes: Vec<String>,
}

/// Parses a row filter and lists what it refers to, or says why it is not a valid row filter.
///
/// ```
/// use lienthong_spec::row_filter::analyze;
/// let refs = analyze("current_ward_code = principal.ward AND date_of_death IS NULL").unwrap();
/// assert_eq!(refs.columns, ["current_ward_code", "date_of_death"]);
/// assert_eq!(refs.attributes, ["ward"]);
/// assert!(analyze("citizen_id").is_err()); // a value, not a condition
/// assert!(analyze("ward IN (SELECT ward FROM other)").is_err());
/// ```
pub fn analyze(sql: &str) -> Result<RowFilterRefs, String> {
    let dialect = GenericDialect {};
    let mut parser = Parser::new(&dialect)
        .with_recursion_limit(RECURSION_LIMIT)
        .try_with_sql(sql)
        .map_err(|e| format!("not valid SQL: {e}"))?;
    let expr = parser.parse_expr().map_err(|e| format!("not valid SQL: {e}"))?;
    let rest = parser.peek_token();
    if rest.token != Token::EOF {
        return Err(format!("unexpected `{}` after the expression", rest.token));
    }
    if !is_predicate(&expr) {
        return Err(format!(
            "`{expr}` is not a condition; a row filter must be true or false for each row"
        ));
    }
    let mut refs = RowFilterRefs::default();
    let flow = visit_expressions(&expr, |e| {
        match e {
            Expr::Identifier(ident) => push_unique(&mut refs.columns, &ident.value),
            Expr::CompoundIdentifier(parts) => match parts.as_slice() {
                [qualifier, attribute] if qualifier.value.eq_ignore_ascii_case(PRINCIPAL_QUALIFIER) => {
                    push_unique(&mut refs.attributes, &attribute.value);
                }
                _ => {
                    return ControlFlow::Break(format!(
                        "`{e}`: name columns without a qualifier, and the caller's attributes as principal.<attribute>"
                    ));
                }
            },
            Expr::Subquery(_) | Expr::Exists { .. } | Expr::InSubquery { .. } => {
                return ControlFlow::Break("subqueries are not allowed: a row filter reads only its own row".into());
            }
            Expr::Value(v) if matches!(v.value, Value::Placeholder(_)) => {
                return ControlFlow::Break("placeholders are not allowed; use principal.<attribute>".into());
            }
            Expr::Function(function) if function.over.is_some() => {
                return ControlFlow::Break("window functions are not allowed in a row filter".into());
            }
            _ => {}
        }
        ControlFlow::Continue(())
    });
    match flow {
        ControlFlow::Break(message) => Err(message),
        ControlFlow::Continue(()) => Ok(refs),
    }
}

fn push_unique(names: &mut Vec<String>, name: &str) {
    if !names.iter().any(|n| n == name) {
        names.push(name.to_owned());
    }
}

/// Whether the expression is a condition (its value is true, false or unknown), judged by its
/// outermost operator. Function calls are not accepted at the top: their type is not known here.
fn is_predicate(expr: &Expr) -> bool {
    match expr {
        Expr::Nested(inner) => is_predicate(inner),
        Expr::BinaryOp { left, op, right } => match op {
            BinaryOperator::And | BinaryOperator::Or | BinaryOperator::Xor => is_predicate(left) && is_predicate(right),
            BinaryOperator::Eq
            | BinaryOperator::NotEq
            | BinaryOperator::Lt
            | BinaryOperator::LtEq
            | BinaryOperator::Gt
            | BinaryOperator::GtEq => true,
            _ => false,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            expr,
        } => is_predicate(expr),
        Expr::Value(v) => matches!(v.value, Value::Boolean(_)),
        Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsNotTrue(_)
        | Expr::IsFalse(_)
        | Expr::IsNotFalse(_)
        | Expr::IsDistinctFrom(..)
        | Expr::IsNotDistinctFrom(..)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Exists { .. }
        | Expr::Between { .. }
        | Expr::Like { .. }
        | Expr::ILike { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_conditions() {
        for sql in [
            "province_code = principal.province",
            "current_ward_code = principal.ward AND (date_of_death IS NULL OR sex = 'female')",
            "NOT (status IN ('dissolved', 'bankrupt'))",
            "area_m2 BETWEEN 10 AND 1000",
            "name LIKE 'CÔNG TY%'",
            "upper(status) = 'OPERATING'",
            "true",
        ] {
            assert!(analyze(sql).is_ok(), "{sql}: {:?}", analyze(sql));
        }
    }

    #[test]
    fn refuses_what_is_not_a_row_condition() {
        let cases = [
            ("citizen_id", "not a condition"),
            ("1 + 1", "not a condition"),
            ("lower(name)", "not a condition"),
            ("ward IN (SELECT ward FROM x)", "subqueries"),
            ("EXISTS (SELECT 1)", "subqueries"),
            ("citizens.ward = 'x'", "qualifier"),
            ("ward = $1", "placeholders"),
            ("ward = 'a' ; DROP TABLE x", "unexpected"),
            ("ward = ", "not valid SQL"),
            ("", "not valid SQL"),
        ];
        for (sql, expected) in cases {
            match analyze(sql) {
                Ok(refs) => panic!("{sql} accepted: {refs:?}"),
                Err(message) => assert!(message.contains(expected), "{sql}: {message}"),
            }
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let sql = format!("{}a = 1{}", "(".repeat(5000), ")".repeat(5000));
        assert!(analyze(&sql).is_err());
    }
}
