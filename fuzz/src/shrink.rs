//! Minimising a failing query: greedy, node by node (drop an output column, a join, a clause;
//! replace an expression by one of its operands; a set operation by one side), keeping a change
//! when the smaller query still fails the same way.

use anyhow::Result;

use crate::run::{Failure, Fuzzer};
use crate::sql::{Expr, Group, Query, Select, Source};

/// Most candidate queries tried while minimising one failure.
const MAX_TRIES: usize = 400;

/// The smallest query found that fails as `failure` does.
pub async fn minimise(fuzzer: &Fuzzer, principal: &str, query: &Query, failure: &Failure) -> Result<Query> {
    let same = |f: &Option<Failure>| match (f, failure) {
        (Some(Failure::Reveals(_)), Failure::Reveals(_)) => true,
        (Some(f), failure) => f == failure,
        (None, _) => false,
    };
    let mut current = query.clone();
    let mut tries = 0;
    'shrink: loop {
        let mut candidates = queries(&current);
        candidates.sort_by_key(|q| q.to_string().len());
        for candidate in candidates {
            if tries >= MAX_TRIES {
                break 'shrink;
            }
            tries += 1;
            if candidate.to_string().len() >= current.to_string().len() {
                continue;
            }
            if same(&fuzzer.check_query(principal, &candidate).await?.failure) {
                current = candidate;
                continue 'shrink;
            }
        }
        break;
    }
    Ok(current)
}

/// Queries one step smaller than `query`.
fn queries(query: &Query) -> Vec<Query> {
    match query {
        Query::Select(select) => selects(select)
            .into_iter()
            .map(|s| Query::Select(Box::new(s)))
            .collect(),
        Query::SetOp(op, left, right) => {
            let mut out = vec![(**left).clone(), (**right).clone()];
            out.extend(
                queries(left)
                    .into_iter()
                    .map(|l| Query::SetOp(op, Box::new(l), right.clone())),
            );
            out.extend(
                queries(right)
                    .into_iter()
                    .map(|r| Query::SetOp(op, left.clone(), Box::new(r))),
            );
            out
        }
        Query::With(name, body, main) => {
            let mut out: Vec<Query> = queries(body)
                .into_iter()
                .map(|b| Query::With(name.clone(), Box::new(b), main.clone()))
                .collect();
            out.extend(
                queries(main)
                    .into_iter()
                    .map(|m| Query::With(name.clone(), body.clone(), Box::new(m))),
            );
            out
        }
    }
}

fn selects(select: &Select) -> Vec<Select> {
    let mut out = Vec::new();
    let mut with = |change: &dyn Fn(&mut Select)| {
        let mut s = select.clone();
        change(&mut s);
        out.push(s);
    };
    if select.items.len() > 1 {
        for i in 0..select.items.len() {
            with(&|s| {
                s.items.remove(i);
            });
        }
    }
    if select.from.len() > 1 {
        for i in 1..select.from.len() {
            with(&|s| {
                s.from.remove(i);
            });
        }
    }
    if select.filter.is_some() {
        with(&|s| s.filter = None);
    }
    if select.having.is_some() {
        with(&|s| s.having = None);
    }
    if !matches!(select.group, Group::None) {
        with(&|s| s.group = Group::By(s.group.keys().to_vec()));
        with(&|s| s.group = Group::None);
    }
    if select.order_all || select.limit.is_some() || select.offset.is_some() || select.distinct {
        with(&|s| {
            s.order_all = false;
            s.limit = None;
            s.offset = None;
        });
        with(&|s| s.offset = None);
        with(&|s| s.distinct = false);
    }
    for (i, item) in select.items.iter().enumerate() {
        for smaller in exprs(item) {
            with(&|s| s.items[i] = smaller.clone());
        }
    }
    if let Some(filter) = &select.filter {
        for smaller in exprs(filter) {
            with(&|s| s.filter = Some(smaller.clone()));
        }
    }
    for (i, from) in select.from.iter().enumerate() {
        if let Some((kind, on)) = &from.join {
            for smaller in exprs(on) {
                with(&|s| s.from[i].join = Some((kind, smaller.clone())));
            }
            if *kind != "JOIN" {
                with(&|s| s.from[i].join = Some(("JOIN", on.clone())));
            }
        }
        if let Source::Derived(query) = &from.source {
            for smaller in queries(query) {
                with(&|s| s.from[i].source = Source::Derived(Box::new(smaller.clone())));
            }
        }
    }
    out
}

/// Expressions one step smaller than `expr`: its operands, and itself with one operand smaller.
fn exprs(expr: &Expr) -> Vec<Expr> {
    let b = |e: &Expr| Box::new(e.clone());
    let mut out = Vec::new();
    match expr {
        Expr::Atom(_) => {}
        Expr::Call(name, args) => {
            out.extend(args.iter().cloned());
            for (i, arg) in args.iter().enumerate() {
                for smaller in exprs(arg) {
                    let mut args = args.clone();
                    args[i] = smaller;
                    out.push(Expr::Call(name, args));
                }
            }
        }
        Expr::Binary(a, op, c) => {
            out.push((**a).clone());
            out.push((**c).clone());
            out.extend(exprs(a).into_iter().map(|a| Expr::Binary(Box::new(a), op, c.clone())));
            out.extend(exprs(c).into_iter().map(|c| Expr::Binary(a.clone(), op, Box::new(c))));
        }
        Expr::Not(a) | Expr::IsNull(a, _) | Expr::Cast(a, _, _) | Expr::Like(a, _, _) => out.push((**a).clone()),
        Expr::Case(arms, otherwise) => {
            out.push((**otherwise).clone());
            for (when, then) in arms {
                out.push(when.clone());
                out.push(then.clone());
            }
            if arms.len() > 1 {
                out.push(Expr::Case(arms[..1].to_vec(), otherwise.clone()));
            }
        }
        Expr::InList(a, items, not) => {
            out.push((**a).clone());
            if items.len() > 1 {
                out.push(Expr::InList(a.clone(), items[..1].to_vec(), *not));
            }
        }
        Expr::InQuery(a, q, not) => {
            out.push((**a).clone());
            out.extend(
                queries(q)
                    .into_iter()
                    .map(|q| Expr::InQuery(a.clone(), Box::new(q), *not)),
            );
        }
        Expr::Exists(q, not) => out.extend(queries(q).into_iter().map(|q| Expr::Exists(Box::new(q), *not))),
        Expr::Scalar(q) => out.extend(queries(q).into_iter().map(|q| Expr::Scalar(Box::new(q)))),
        Expr::Between(a, low, _) => {
            out.push((**a).clone());
            out.push(Expr::Binary(b(a), ">=", b(low)));
        }
        Expr::Aggregate {
            name,
            distinct,
            args,
            order,
            filter,
        } => {
            let plain = Expr::Aggregate {
                name,
                distinct: false,
                args: args.clone(),
                order: None,
                filter: None,
            };
            if *distinct || order.is_some() || filter.is_some() {
                out.push(plain);
            }
            if args.first().is_some_and(|a| a.to_string() != "*") {
                out.push(Expr::Atom("count(*)".into()));
            }
            if let Some(filter) = filter {
                out.extend(exprs(filter).into_iter().map(|f| Expr::Aggregate {
                    name,
                    distinct: *distinct,
                    args: args.clone(),
                    order: order.clone(),
                    filter: Some(Box::new(f)),
                }));
            }
        }
        Expr::Window(function, partition, order) => {
            out.push((**function).clone());
            if !partition.is_empty() {
                out.push(Expr::Window(function.clone(), Vec::new(), order.clone()));
            }
            if !order.is_empty() {
                out.push(Expr::Window(function.clone(), partition.clone(), Vec::new()));
            }
        }
    }
    out
}
