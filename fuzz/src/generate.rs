//! The query generator: a grammar over the tables a principal can name, driven by bytes through
//! [`arbitrary::Unstructured`] (seeded here; a coverage-guided fuzzer could feed it the same
//! way). Joins follow the real keys (columns ending in the same identifier suffix), literals come
//! from the raw data (hidden values included, so that predicates on masked and pseudonymised
//! columns are tried with the values they hide), and every shape whose answer would depend on
//! the engine's row order (`LIMIT` without a total order, `row_number`, `string_agg` without
//! `ORDER BY`) is left out so that the two answers can be compared as multisets.

use std::collections::HashMap;

use arbitrary::Unstructured;

use crate::sql::{Expr, From, Group, Query, Select, Source};

/// A column's type as the grammar sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    /// Strings of any encoding.
    Text,
    /// Integers.
    Int,
    /// Floating point numbers.
    Float,
    /// Dates.
    Date,
    /// Booleans.
    Bool,
}

/// A table the generator may name, with its columns.
#[derive(Clone, Debug)]
pub struct Table {
    /// `database.table`, or a CTE's name.
    pub name: String,
    /// Columns and their types.
    pub columns: Vec<(String, Ty)>,
}

/// What the generator knows of one principal's world.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// The tables the principal can see (from its copy).
    pub tables: Vec<Table>,
    /// Tables that exist but are hidden from the principal (probed now and then).
    pub hidden: Vec<Table>,
    /// Literal SQL values seen in the raw data, by column name.
    pub values: HashMap<String, Vec<String>>,
}

/// Suffixes of the columns that identify something, on which tables are joined.
const KEYS: &[&str] = &[
    "citizen_id",
    "household_id",
    "parcel_id",
    "enterprise_code",
    "agency_code",
    "ward_code",
    "province_code",
    "land_use_code",
];

/// The key suffix of a column, if it is one.
pub(crate) fn key_of(column: &str) -> Option<&'static str> {
    KEYS.iter().copied().find(|k| column.ends_with(k))
}

/// A column in scope: the alias it is reached through, its name, its type.
#[derive(Clone)]
pub(crate) struct Col {
    pub(crate) qual: String,
    pub(crate) name: String,
    pub(crate) ty: Ty,
}

impl Col {
    pub(crate) fn expr(&self) -> Expr {
        Expr::Atom(format!("{}.{}", self.qual, self.name))
    }
}

pub(crate) type Scope = Vec<Col>;

/// Builds one query from `bytes` over `model`.
pub fn query(model: &Model, bytes: &[u8]) -> Query {
    let mut generator = Generator {
        u: Unstructured::new(bytes),
        model: model.clone(),
        aliases: 0,
    };
    generator.query(3, None).0
}

pub(crate) struct Generator<'a> {
    u: Unstructured<'a>,
    pub(crate) model: Model,
    aliases: usize,
}

impl Generator<'_> {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.u.int_in_range(0..=n - 1).unwrap_or(0)
    }

    /// True with probability `percent`/100 (false once the bytes run out).
    pub(crate) fn chance(&mut self, percent: u8) -> bool {
        self.u.int_in_range(0..=99u8).map(|x| x < percent).unwrap_or(false)
    }

    pub(crate) fn pick<'b, T>(&mut self, items: &'b [T]) -> &'b T {
        &items[self.below(items.len())]
    }

    /// One of `words`.
    pub(crate) fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }

    pub(crate) fn alias(&mut self, prefix: &str) -> String {
        self.aliases += 1;
        format!("{prefix}{}", self.aliases)
    }

    pub(crate) fn query(&mut self, depth: u32, want: Option<&[Ty]>) -> (Query, Vec<Ty>) {
        if depth > 0 && self.chance(12) {
            let ops = [
                "UNION",
                "UNION ALL",
                "INTERSECT",
                "EXCEPT",
                "INTERSECT ALL",
                "EXCEPT ALL",
            ];
            let op = *self.pick(&ops);
            let (left, types) = self.query(depth - 1, want);
            let (right, _) = self.query(depth - 1, Some(&types));
            return (Query::SetOp(op, Box::new(left), Box::new(right)), types);
        }
        if depth > 0 && self.chance(10) {
            let (body, types) = self.query(depth - 1, None);
            let name = self.alias("q");
            let table = Table {
                name: name.clone(),
                columns: types.iter().enumerate().map(|(i, t)| (format!("c{i}"), *t)).collect(),
            };
            self.model.tables.push(table);
            let (main, types) = self.query(depth - 1, want);
            self.model.tables.pop();
            return (Query::With(name, Box::new(body), Box::new(main)), types);
        }
        let (select, types) = self.select(depth, want);
        (Query::Select(Box::new(select)), types)
    }

    /// A `FROM` item over a table (now and then a hidden one) or a derived query.
    pub(crate) fn source(&mut self, depth: u32, scope: &mut Scope) -> From {
        if depth > 0 && self.chance(12) {
            let (query, types) = self.query(depth - 1, None);
            let alias = self.alias("d");
            for (i, ty) in types.into_iter().enumerate() {
                scope.push(Col {
                    qual: alias.clone(),
                    name: format!("c{i}"),
                    ty,
                });
            }
            return From {
                source: Source::Derived(Box::new(query)),
                alias,
                join: None,
            };
        }
        let table = if !self.model.hidden.is_empty() && self.chance(3) {
            self.pick(&self.model.hidden.clone()).clone()
        } else {
            self.pick(&self.model.tables.clone()).clone()
        };
        let alias = self.alias("t");
        for (name, ty) in &table.columns {
            scope.push(Col {
                qual: alias.clone(),
                name: name.clone(),
                ty: *ty,
            });
        }
        From {
            source: Source::Table(table.name),
            alias,
            join: None,
        }
    }

    /// A table joined on a real key to a column already in scope, if one fits.
    pub(crate) fn join(&mut self, scope: &mut Scope) -> Option<From> {
        let mut candidates = Vec::new();
        for table in &self.model.tables {
            for (name, ty) in &table.columns {
                let Some(key) = key_of(name) else { continue };
                for outer in scope.iter() {
                    // Ward and province codes repeat: joined only to the reference tables
                    // (one row per code), so that results stay small.
                    let repeats = matches!(key, "ward_code" | "province_code");
                    let reference = table.name.starts_with("reference.") || outer.qual.starts_with("r");
                    if key_of(&outer.name) == Some(key) && outer.ty == *ty && (!repeats || reference) {
                        candidates.push((table.clone(), name.clone(), outer.clone()));
                    }
                }
            }
        }
        if candidates.is_empty() {
            return None;
        }
        let (table, column, outer) = self.pick(&candidates).clone();
        let alias = self.alias(if table.name.starts_with("reference.") { "r" } else { "t" });
        let mut on = Expr::Binary(
            Box::new(outer.expr()),
            "=",
            Box::new(Expr::Atom(format!("{alias}.{column}"))),
        );
        for (name, ty) in &table.columns {
            scope.push(Col {
                qual: alias.clone(),
                name: name.clone(),
                ty: *ty,
            });
        }
        if self.chance(25) {
            let extra = self.expr(Ty::Bool, 1, scope);
            on = Expr::Binary(Box::new(on), "AND", Box::new(extra));
        }
        let kind = self.word(&["JOIN", "LEFT JOIN", "RIGHT JOIN", "FULL JOIN", "JOIN"]);
        Some(From {
            source: Source::Table(table.name),
            alias,
            join: Some((kind, on)),
        })
    }

    fn select(&mut self, depth: u32, want: Option<&[Ty]>) -> (Select, Vec<Ty>) {
        let mut scope = Scope::new();
        let mut from = vec![self.source(depth, &mut scope)];
        for _ in 0..self.below(3) {
            match self.join(&mut scope) {
                Some(join) if self.chance(60) => from.push(join),
                _ => break,
            }
        }
        let mut select = Select {
            from,
            ..Select::default()
        };
        if self.chance(55) {
            select.filter = Some(self.expr(Ty::Bool, depth.min(2), &scope));
        }
        let types = if self.chance(40) {
            self.grouped(&mut select, depth, want, &scope)
        } else {
            self.plain(&mut select, depth, want, &scope)
        };
        if self.chance(20) {
            select.order_all = true;
            select.limit = Some(*self.pick(&[0, 1, 3, 10, 100]));
            if self.chance(30) {
                select.offset = Some(*self.pick(&[1, 2, 5]));
            }
        }
        (select, types)
    }

    fn types(&mut self, want: Option<&[Ty]>) -> Vec<Ty> {
        match want {
            Some(types) => types.to_vec(),
            None => (0..1 + self.below(3))
                .map(|_| *self.pick(&[Ty::Text, Ty::Text, Ty::Int, Ty::Date, Ty::Float, Ty::Bool]))
                .collect(),
        }
    }

    fn plain(&mut self, select: &mut Select, depth: u32, want: Option<&[Ty]>, scope: &Scope) -> Vec<Ty> {
        let types = self.types(want);
        select.distinct = self.chance(10);
        for ty in &types {
            let item = if self.chance(12) {
                self.window(*ty, scope)
            } else {
                self.expr(*ty, depth.min(2), scope)
            };
            select.items.push(item);
        }
        types
    }

    fn grouped(&mut self, select: &mut Select, depth: u32, want: Option<&[Ty]>, scope: &Scope) -> Vec<Ty> {
        let mut keys = Vec::new();
        for _ in 0..self.below(3) {
            let ty = *self.pick(&[Ty::Text, Ty::Text, Ty::Int, Ty::Date]);
            let depth = u32::from(self.chance(25));
            let key = self.expr(ty, depth, scope);
            // A bare integer in GROUP BY is a position, not a value.
            if key.to_string().parse::<i64>().is_err() {
                keys.push(key);
            }
        }
        let types = match want {
            Some(types) => types.to_vec(),
            None => {
                let mut types: Vec<Ty> = keys.iter().map(|_| Ty::Text).collect();
                for _ in 0..1 + self.below(3) {
                    types.push(*self.pick(&[Ty::Int, Ty::Int, Ty::Float, Ty::Text, Ty::Date]));
                }
                types
            }
        };
        // Keys are output as text (any key casts to it); aggregates give the other columns.
        let mut key_items = keys.iter().map(|k| Expr::Cast(Box::new(k.clone()), "VARCHAR", false));
        for ty in &types {
            let item = match (ty, key_items.next()) {
                (Ty::Text, Some(key)) if want.is_none() => key,
                _ => self.aggregate(*ty, depth, scope),
            };
            select.items.push(item);
        }
        // Grouping sets over constant keys are left out: DataFusion 55 takes such a key for a
        // constant and drops a sort on it, though the sets make it NULL on some rows (the copy
        // would be wrong, not the engine).
        let constant = keys.iter().any(|k| !k.to_string().contains('.'));
        if !keys.is_empty() {
            select.group = match self.below(20) {
                _ if constant => Group::By(keys),
                0 => Group::Rollup(keys),
                1 => Group::Cube(keys),
                2 => Group::Sets(keys),
                _ => Group::By(keys),
            };
        }
        if self.chance(25) {
            let aggregate = self.aggregate(Ty::Int, 0, scope);
            let bound = Expr::Atom(self.pick(&["0", "1", "2", "5", "10"]).to_string());
            select.having = Some(Expr::Binary(
                Box::new(aggregate),
                self.word(&[">", ">=", "<", "="]),
                Box::new(bound),
            ));
        }
        types
    }

    pub(crate) fn column(&mut self, ty: Ty, scope: &Scope) -> Option<Expr> {
        let columns: Vec<&Col> = scope.iter().filter(|c| c.ty == ty).collect();
        (!columns.is_empty()).then(|| self.pick(&columns).expr())
    }

    /// An aggregate of type `ty`, with `FILTER`, `ORDER BY` inside or `DISTINCT` now and then.
    pub(crate) fn aggregate(&mut self, ty: Ty, depth: u32, scope: &Scope) -> Expr {
        let argument = |g: &mut Self, t: Ty| {
            if g.chance(20) {
                g.expr(t, 1, scope)
            } else {
                g.column(t, scope).unwrap_or_else(|| g.literal(t, scope))
            }
        };
        let (name, args) = match ty {
            Ty::Int => match self.below(4) {
                0 => ("count", vec![Expr::Atom("*".into())]),
                1 => ("sum", vec![argument(self, Ty::Int)]),
                _ => {
                    let t = *self.pick(&[Ty::Text, Ty::Int, Ty::Date]);
                    ("count", vec![argument(self, t)])
                }
            },
            Ty::Float => {
                let t = *self.pick(&[Ty::Int, Ty::Float]);
                (self.word(&["avg", "sum", "avg"]), vec![argument(self, t)])
            }
            Ty::Text if self.chance(15) => ("string_agg", vec![argument(self, Ty::Text), Expr::Atom("','".into())]),
            Ty::Text | Ty::Date => (self.word(&["min", "max"]), vec![argument(self, ty)]),
            Ty::Bool => (self.word(&["bool_and", "bool_or"]), vec![argument(self, Ty::Bool)]),
        };
        let order = if name == "string_agg" || self.chance(4) {
            // string_agg's order is part of its answer: always ordered by its own argument.
            Some(Box::new(args[0].clone()))
        } else {
            None
        };
        let distinct = name != "string_agg" && args[0].to_string() != "*" && self.chance(12);
        let filter = self
            .chance(12)
            .then(|| Box::new(self.expr(Ty::Bool, depth.min(1), scope)));
        Expr::Aggregate {
            name,
            distinct,
            args,
            order,
            filter,
        }
    }

    /// A window function of type `ty` whose value does not depend on the order of ties.
    fn window(&mut self, ty: Ty, scope: &Scope) -> Expr {
        let partition: Vec<Expr> = (0..self.below(2))
            .filter_map(|_| {
                let t = *self.pick(&[Ty::Text, Ty::Int]);
                self.column(t, scope)
            })
            .collect();
        let order: Vec<Expr> = self
            .chance(50)
            .then(|| {
                let t = *self.pick(&[Ty::Text, Ty::Date, Ty::Int]);
                self.column(t, scope)
            })
            .flatten()
            .into_iter()
            .collect();
        let function = match ty {
            Ty::Int if !order.is_empty() && self.chance(50) => {
                Expr::Atom(self.pick(&["rank()", "dense_rank()"]).to_string())
            }
            Ty::Int => Expr::Atom("count(*)".into()),
            Ty::Text | Ty::Date => Expr::Call(
                self.word(&["min", "max"]),
                vec![self.column(ty, scope).unwrap_or_else(|| self.literal(ty, scope))],
            ),
            Ty::Float | Ty::Bool => return self.expr(ty, 0, scope),
        };
        Expr::Window(Box::new(function), partition, order)
    }

    /// A literal of type `ty`, mostly a value seen in the raw data of a column in scope.
    pub(crate) fn literal(&mut self, ty: Ty, scope: &Scope) -> Expr {
        let columns: Vec<&Col> = scope.iter().filter(|c| c.ty == ty).collect();
        if !columns.is_empty() && self.chance(70) {
            let column = self.pick(&columns).name.clone();
            if let Some(values) = self.model.values.get(&column).filter(|v| !v.is_empty()) {
                let values = values.clone();
                return Expr::Atom(self.pick(&values).clone());
            }
        }
        let atom = match ty {
            Ty::Text => self.word(&["''", "'a'", "'00070'", "'01'", "'M'", "'F'", "'p_'", "'%'", "'Nguyễn'"]),
            Ty::Int => self.word(&["0", "1", "2", "-1", "10", "1000", "2147483647"]),
            Ty::Float => self.word(&["0.5", "1000.0", "-2.25", "0.0"]),
            Ty::Date => self.word(&["DATE '1990-01-01'", "DATE '2000-02-29'", "DATE '2026-11-23'"]),
            Ty::Bool => self.word(&["TRUE", "FALSE", "CAST(NULL AS BOOLEAN)"]),
        };
        Expr::Atom(atom.into())
    }

    pub(crate) fn leaf(&mut self, ty: Ty, scope: &Scope) -> Expr {
        if self.chance(70)
            && let Some(column) = self.column(ty, scope)
        {
            return column;
        }
        self.literal(ty, scope)
    }

    /// An expression of type `ty` over `scope`, `depth` levels deep at most.
    pub(crate) fn expr(&mut self, ty: Ty, depth: u32, scope: &Scope) -> Expr {
        if depth == 0 || self.chance(30) {
            return self.leaf(ty, scope);
        }
        self.compound(ty, depth - 1, scope)
    }
}
