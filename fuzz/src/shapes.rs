//! The expression shapes of the grammar, by result type: string and date functions, arithmetic
//! that can fail (division, casts), CASE, LIKE and regular expressions, IN lists and subqueries,
//! EXISTS and scalar subqueries correlated on the real keys.

use crate::generate::{Col, Generator, Scope, Ty, key_of};
use crate::sql::{Expr, From, Query, Select};

fn b(expr: Expr) -> Box<Expr> {
    Box::new(expr)
}

fn atom(text: &str) -> Expr {
    Expr::Atom(text.to_owned())
}

impl Generator<'_> {
    /// A compound expression of type `ty` whose operands are `depth` levels deep at most.
    pub(crate) fn compound(&mut self, ty: Ty, depth: u32, scope: &Scope) -> Expr {
        match ty {
            Ty::Text => self.text(depth, scope),
            Ty::Int => self.int(depth, scope),
            Ty::Float => self.float(depth, scope),
            Ty::Date => self.date(depth, scope),
            Ty::Bool => self.boolean(depth, scope),
        }
    }

    fn case(&mut self, ty: Ty, depth: u32, scope: &Scope) -> Expr {
        let arms = (0..1 + self.below(2))
            .map(|_| (self.expr(Ty::Bool, depth, scope), self.expr(ty, depth, scope)))
            .collect();
        Expr::Case(arms, b(self.expr(ty, depth, scope)))
    }

    fn text(&mut self, depth: u32, scope: &Scope) -> Expr {
        let x = self.expr(Ty::Text, depth, scope);
        match self.below(16) {
            0 => Expr::Call(self.word(&["upper", "lower", "trim", "reverse"]), vec![x]),
            1 => Expr::Call("substr", vec![x, atom("1"), atom(self.word(&["1", "3", "5"]))]),
            2 => Expr::Call("concat", vec![x, self.expr(Ty::Text, depth, scope)]),
            3 => Expr::Binary(b(x), "||", b(self.expr(Ty::Text, depth, scope))),
            4 => Expr::Call("replace", vec![x, atom("'0'"), atom("'9'")]),
            5 => Expr::Call(self.word(&["left", "right"]), vec![x, atom(self.word(&["2", "3"]))]),
            6 => self.case(Ty::Text, depth, scope),
            7 => {
                let from = *self.pick(&[Ty::Int, Ty::Date, Ty::Float]);
                Expr::Cast(b(self.expr(from, depth, scope)), "VARCHAR", false)
            }
            8 => Expr::Call("coalesce", vec![x, atom("'z'")]),
            9 => Expr::Call("regexp_replace", vec![x, atom("'[0-9]'"), atom("'#'"), atom("'g'")]),
            10 => Expr::Call("lpad", vec![x, atom("12"), atom("'*'")]),
            11 => Expr::Call("to_char", vec![self.expr(Ty::Date, depth, scope), atom("'%Y'")]),
            12 if depth > 0 => Expr::Scalar(Box::new(self.subquery(Ty::Text, depth, scope, true))),
            13 => Expr::Call("md5", vec![x]),
            _ => x,
        }
    }

    fn int(&mut self, depth: u32, scope: &Scope) -> Expr {
        match self.below(14) {
            0..=3 => {
                let op = self.word(&["+", "-", "*", "/", "%", "/"]);
                Expr::Binary(
                    b(self.expr(Ty::Int, depth, scope)),
                    op,
                    b(self.expr(Ty::Int, depth, scope)),
                )
            }
            4 => Expr::Call(
                self.word(&["length", "character_length", "octet_length"]),
                vec![self.expr(Ty::Text, depth, scope)],
            ),
            // A cast that fails on most text: the answer must not depend on hidden rows.
            5 => Expr::Cast(b(self.expr(Ty::Text, depth, scope)), "BIGINT", self.chance(50)),
            6 => Expr::Call("abs", vec![self.expr(Ty::Int, depth, scope)]),
            7 => Expr::Cast(
                b(Expr::Call(
                    "date_part",
                    vec![atom("'year'"), self.expr(Ty::Date, depth, scope)],
                )),
                "BIGINT",
                false,
            ),
            8 => Expr::Call("strpos", vec![self.expr(Ty::Text, depth, scope), atom("'0'")]),
            9 => self.case(Ty::Int, depth, scope),
            10 if depth > 0 => Expr::Scalar(Box::new(self.subquery(Ty::Int, depth, scope, true))),
            11 => Expr::Call("coalesce", vec![self.expr(Ty::Int, depth, scope), atom("0")]),
            _ => self.leaf(Ty::Int, scope),
        }
    }

    fn float(&mut self, depth: u32, scope: &Scope) -> Expr {
        match self.below(6) {
            0 => Expr::Binary(
                b(self.expr(Ty::Float, depth, scope)),
                self.word(&["/", "*", "+"]),
                b(self.expr(Ty::Float, depth, scope)),
            ),
            1 => Expr::Cast(b(self.expr(Ty::Int, depth, scope)), "DOUBLE", false),
            2 => Expr::Call("round", vec![self.expr(Ty::Float, depth, scope), atom("1")]),
            3 => Expr::Call(
                "sqrt",
                vec![Expr::Call("abs", vec![self.expr(Ty::Float, depth, scope)])],
            ),
            4 => Expr::Cast(b(self.expr(Ty::Text, depth, scope)), "DOUBLE", self.chance(50)),
            _ => self.leaf(Ty::Float, scope),
        }
    }

    fn date(&mut self, depth: u32, scope: &Scope) -> Expr {
        match self.below(6) {
            0 => Expr::Binary(
                b(self.expr(Ty::Date, depth, scope)),
                self.word(&["+", "-"]),
                b(atom(self.word(&[
                    "INTERVAL '1 day'",
                    "INTERVAL '1 month'",
                    "INTERVAL '10 years'",
                ]))),
            ),
            1 => Expr::Cast(b(self.expr(Ty::Text, depth, scope)), "DATE", self.chance(50)),
            2 => Expr::Cast(
                b(Expr::Call(
                    "date_trunc",
                    vec![
                        atom(self.word(&["'month'", "'year'"])),
                        self.expr(Ty::Date, depth, scope),
                    ],
                )),
                "DATE",
                false,
            ),
            3 => self.case(Ty::Date, depth, scope),
            4 => Expr::Call(
                "coalesce",
                vec![self.expr(Ty::Date, depth, scope), atom("DATE '1900-01-01'")],
            ),
            _ => self.leaf(Ty::Date, scope),
        }
    }

    fn comparable(&mut self) -> Ty {
        *self.pick(&[Ty::Text, Ty::Text, Ty::Int, Ty::Date, Ty::Float])
    }

    fn boolean(&mut self, depth: u32, scope: &Scope) -> Expr {
        match self.below(16) {
            0..=3 => {
                let ty = self.comparable();
                let op = self.word(&["=", "=", "<>", "<", "<=", ">", ">="]);
                // Mostly a column against a value: the predicates an attacker writes.
                let left = self.leaf(ty, scope);
                let right = if self.chance(70) {
                    self.literal(ty, scope)
                } else {
                    self.expr(ty, depth, scope)
                };
                Expr::Binary(b(left), op, b(right))
            }
            4 => Expr::Binary(
                b(self.expr(Ty::Bool, depth, scope)),
                self.word(&["AND", "OR"]),
                b(self.expr(Ty::Bool, depth, scope)),
            ),
            5 => Expr::Not(b(self.expr(Ty::Bool, depth, scope))),
            6 => {
                let ty = self.comparable();
                Expr::IsNull(b(self.expr(ty, depth, scope)), self.chance(50))
            }
            7 => {
                let op = self.word(&["LIKE", "NOT LIKE", "ILIKE", "~", "!~"]);
                let pattern = if op.contains('~') {
                    self.word(&["^0", "[0-9]{3}$", "^p_", "(a|b)", "^$"])
                } else {
                    self.word(&["0%", "%70", "p\\_%", "_", "%", "N%"])
                };
                Expr::Like(b(self.expr(Ty::Text, depth, scope)), op, pattern.to_owned())
            }
            8 => {
                let ty = self.comparable();
                let items = (0..1 + self.below(4)).map(|_| self.literal(ty, scope)).collect();
                Expr::InList(b(self.leaf(ty, scope)), items, self.chance(25))
            }
            9 if depth > 0 => {
                let ty = self.comparable();
                let query = self.subquery(ty, depth, scope, false);
                Expr::InQuery(b(self.leaf(ty, scope)), Box::new(query), self.chance(25))
            }
            10 if depth > 0 => {
                let ty = self.comparable();
                Expr::Exists(Box::new(self.subquery(ty, depth, scope, false)), self.chance(25))
            }
            11 => {
                let ty = self.comparable();
                let low = self.literal(ty, scope);
                let high = self.literal(ty, scope);
                Expr::Between(b(self.leaf(ty, scope)), b(low), b(high))
            }
            12 => Expr::Binary(
                b(self.expr(Ty::Int, depth, scope)),
                self.word(&["=", ">", "<"]),
                b(self.expr(Ty::Int, depth, scope)),
            ),
            _ => self.leaf(Ty::Bool, scope),
        }
    }

    /// A one-column query over a table the principal can name, correlated with `outer` on a real
    /// key where one fits; `scalar` makes it an aggregate (one row).
    pub(crate) fn subquery(&mut self, ty: Ty, depth: u32, outer: &Scope, scalar: bool) -> Query {
        let mut scope = Scope::new();
        let from = self.source(0, &mut scope);
        let inner: Vec<Col> = scope.clone();
        let mut filter = None;
        let pairs: Vec<(Col, Col)> = inner
            .iter()
            .flat_map(|i| {
                outer
                    .iter()
                    .filter(|o| o.ty == i.ty && key_of(&o.name).is_some() && key_of(&o.name) == key_of(&i.name))
                    .map(|o| (i.clone(), o.clone()))
                    .collect::<Vec<_>>()
            })
            .collect();
        if !pairs.is_empty() && self.chance(70) {
            let (i, o) = self.pick(&pairs).clone();
            filter = Some(Expr::Binary(b(i.expr()), "=", b(o.expr())));
        }
        if self.chance(40) {
            let more = self.expr(Ty::Bool, depth.saturating_sub(1), &scope);
            filter = Some(match filter {
                Some(f) => Expr::Binary(b(f), "AND", b(more)),
                None => more,
            });
        }
        let item = if scalar {
            self.aggregate(ty, 0, &scope)
        } else {
            self.expr(ty, depth.saturating_sub(1).min(1), &scope)
        };
        Query::Select(Box::new(Select {
            items: vec![item],
            from: vec![From {
                source: from.source,
                alias: from.alias,
                join: None,
            }],
            filter,
            ..Select::default()
        }))
    }
}
