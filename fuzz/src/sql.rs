//! The generated queries as a tree: small enough to shrink node by node, rendered to SQL text
//! that both the governed engine and the copy parse.

use std::fmt::{self, Display, Formatter};

/// A query: a select, a set operation or a common table expression around one.
#[derive(Clone, Debug)]
pub enum Query {
    /// `SELECT …`
    Select(Box<Select>),
    /// `left UNION [ALL] | INTERSECT | EXCEPT right`
    SetOp(&'static str, Box<Query>, Box<Query>),
    /// `WITH name AS (body) main`
    With(String, Box<Query>, Box<Query>),
}

/// One `SELECT` block. Items are rendered `AS c0, c1, …` so that every output column has a name.
#[derive(Clone, Debug, Default)]
pub struct Select {
    /// `SELECT DISTINCT`
    pub distinct: bool,
    /// The output expressions.
    pub items: Vec<Expr>,
    /// The first source and its joins.
    pub from: Vec<From>,
    /// `WHERE`
    pub filter: Option<Expr>,
    /// `GROUP BY`
    pub group: Group,
    /// `HAVING`
    pub having: Option<Expr>,
    /// `ORDER BY` every output column (results with `LIMIT` stay deterministic).
    pub order_all: bool,
    /// `LIMIT`
    pub limit: Option<u32>,
    /// `OFFSET`
    pub offset: Option<u32>,
}

/// A source in `FROM`, joined to the ones before it unless it is the first.
#[derive(Clone, Debug)]
pub struct From {
    /// The table, the derived query or the CTE name.
    pub source: Source,
    /// Its alias.
    pub alias: String,
    /// How it joins the sources before it: the join kind and the `ON` condition.
    pub join: Option<(&'static str, Expr)>,
}

/// What a `FROM` item reads.
#[derive(Clone, Debug)]
pub enum Source {
    /// `database.table` (or a CTE's name).
    Table(String),
    /// `(query)`
    Derived(Box<Query>),
}

/// `GROUP BY` and its variants.
#[derive(Clone, Debug, Default)]
pub enum Group {
    /// No grouping.
    #[default]
    None,
    /// `GROUP BY k, …`
    By(Vec<Expr>),
    /// `GROUP BY ROLLUP(k, …)`
    Rollup(Vec<Expr>),
    /// `GROUP BY CUBE(k, …)`
    Cube(Vec<Expr>),
    /// `GROUP BY GROUPING SETS ((k), ())`
    Sets(Vec<Expr>),
}

/// An expression. Rendering adds the parentheses, so a tree prints as it nests.
#[derive(Clone, Debug)]
pub enum Expr {
    /// Text used as it is: a column reference, a literal, `count(*)`, `rank()`.
    Atom(String),
    /// `name(args)`
    Call(&'static str, Vec<Expr>),
    /// `(a op b)`
    Binary(Box<Expr>, &'static str, Box<Expr>),
    /// `(NOT a)`
    Not(Box<Expr>),
    /// `(a IS [NOT] NULL)`
    IsNull(Box<Expr>, bool),
    /// `CASE WHEN c THEN v … ELSE e END`
    Case(Vec<(Expr, Expr)>, Box<Expr>),
    /// `CAST(a AS type)` or `TRY_CAST(a AS type)`
    Cast(Box<Expr>, &'static str, bool),
    /// `(a [NOT] LIKE 'pattern')`, or `(a ~ 'pattern')` for a regular expression
    Like(Box<Expr>, &'static str, String),
    /// `(a [NOT] IN (list))`
    InList(Box<Expr>, Vec<Expr>, bool),
    /// `(a [NOT] IN (query))`
    InQuery(Box<Expr>, Box<Query>, bool),
    /// `([NOT] EXISTS (query))`
    Exists(Box<Query>, bool),
    /// `(query)` giving one value
    Scalar(Box<Query>),
    /// `(a BETWEEN low AND high)`
    Between(Box<Expr>, Box<Expr>, Box<Expr>),
    /// An aggregate: `name([DISTINCT] args [ORDER BY o]) [FILTER (WHERE f)]`.
    Aggregate {
        /// Function name.
        name: &'static str,
        /// `DISTINCT`
        distinct: bool,
        /// Arguments (`*` as an atom for `count(*)`).
        args: Vec<Expr>,
        /// `ORDER BY` inside the call.
        order: Option<Box<Expr>>,
        /// `FILTER (WHERE …)`
        filter: Option<Box<Expr>>,
    },
    /// `function OVER (PARTITION BY p ORDER BY o)`
    Window(Box<Expr>, Vec<Expr>, Vec<Expr>),
}

fn list(f: &mut Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Atom(text) => f.write_str(text),
            Self::Call(name, args) => {
                write!(f, "{name}(")?;
                list(f, args)?;
                f.write_str(")")
            }
            Self::Binary(a, op, b) => write!(f, "({a} {op} {b})"),
            Self::Not(a) => write!(f, "(NOT {a})"),
            Self::IsNull(a, not) => write!(f, "({a} IS {}NULL)", if *not { "NOT " } else { "" }),
            Self::Case(arms, otherwise) => {
                f.write_str("CASE")?;
                for (when, then) in arms {
                    write!(f, " WHEN {when} THEN {then}")?;
                }
                write!(f, " ELSE {otherwise} END")
            }
            Self::Cast(a, ty, try_) => write!(f, "{}CAST({a} AS {ty})", if *try_ { "TRY_" } else { "" }),
            Self::Like(a, op, pattern) => write!(f, "({a} {op} '{pattern}')"),
            Self::InList(a, items, not) => {
                write!(f, "({a} {}IN (", if *not { "NOT " } else { "" })?;
                list(f, items)?;
                f.write_str("))")
            }
            Self::InQuery(a, q, not) => write!(f, "({a} {}IN ({q}))", if *not { "NOT " } else { "" }),
            Self::Exists(q, not) => write!(f, "({}EXISTS ({q}))", if *not { "NOT " } else { "" }),
            Self::Scalar(q) => write!(f, "({q})"),
            Self::Between(a, low, high) => write!(f, "({a} BETWEEN {low} AND {high})"),
            Self::Aggregate {
                name,
                distinct,
                args,
                order,
                filter,
            } => {
                write!(f, "{name}({}", if *distinct { "DISTINCT " } else { "" })?;
                list(f, args)?;
                if let Some(order) = order {
                    write!(f, " ORDER BY {order}")?;
                }
                f.write_str(")")?;
                if let Some(filter) = filter {
                    write!(f, " FILTER (WHERE {filter})")?;
                }
                Ok(())
            }
            Self::Window(function, partition, order) => {
                write!(f, "{function} OVER (")?;
                if !partition.is_empty() {
                    f.write_str("PARTITION BY ")?;
                    list(f, partition)?;
                }
                if !order.is_empty() {
                    f.write_str(if partition.is_empty() {
                        "ORDER BY "
                    } else {
                        " ORDER BY "
                    })?;
                    list(f, order)?;
                }
                f.write_str(")")
            }
        }
    }
}

impl Display for Group {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let (prefix, keys) = match self {
            Self::None => return Ok(()),
            Self::By(keys) => (" GROUP BY ", keys),
            Self::Rollup(keys) => (" GROUP BY ROLLUP(", keys),
            Self::Cube(keys) => (" GROUP BY CUBE(", keys),
            Self::Sets(keys) => {
                f.write_str(" GROUP BY GROUPING SETS (")?;
                for key in keys {
                    write!(f, "({key}), ")?;
                }
                return f.write_str("())");
            }
        };
        f.write_str(prefix)?;
        list(f, keys)?;
        if prefix.ends_with('(') {
            f.write_str(")")?;
        }
        Ok(())
    }
}

impl Group {
    /// The grouping keys, whatever the variant.
    pub fn keys(&self) -> &[Expr] {
        match self {
            Self::None => &[],
            Self::By(k) | Self::Rollup(k) | Self::Cube(k) | Self::Sets(k) => k,
        }
    }
}

impl Display for Select {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_str(if self.distinct { "SELECT DISTINCT " } else { "SELECT " })?;
        for (i, item) in self.items.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{item} AS c{i}")?;
        }
        for (i, from) in self.from.iter().enumerate() {
            match (&from.join, i) {
                (_, 0) => f.write_str(" FROM ")?,
                (Some((kind, _)), _) => write!(f, " {kind} ")?,
                (None, _) => f.write_str(" CROSS JOIN ")?,
            }
            match &from.source {
                Source::Table(name) => write!(f, "{name} {}", from.alias)?,
                Source::Derived(q) => write!(f, "({q}) {}", from.alias)?,
            }
            if let (Some((_, on)), true) = (&from.join, i > 0) {
                write!(f, " ON {on}")?;
            }
        }
        if let Some(filter) = &self.filter {
            write!(f, " WHERE {filter}")?;
        }
        write!(f, "{}", self.group)?;
        if let Some(having) = &self.having {
            write!(f, " HAVING {having}")?;
        }
        if self.order_all && !self.items.is_empty() {
            f.write_str(" ORDER BY ")?;
            for i in 0..self.items.len() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                // Nulls placed explicitly: the two engines must not differ by a default.
                write!(f, "{} NULLS FIRST", i + 1)?;
            }
        }
        if let Some(limit) = self.limit {
            write!(f, " LIMIT {limit}")?;
        }
        if let Some(offset) = self.offset {
            write!(f, " OFFSET {offset}")?;
        }
        Ok(())
    }
}

impl Display for Query {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Self::Select(select) => write!(f, "{select}"),
            Self::SetOp(op, left, right) => write!(f, "({left}) {op} ({right})"),
            Self::With(name, body, main) => write!(f, "WITH {name} AS ({body}) {main}"),
        }
    }
}
