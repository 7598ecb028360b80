//! Query shapes refused before they run because the engine cannot run them safely: an
//! `ORDER BY` inside an aggregate that has no use for it (DataFusion 55 can panic on those,
//! apache/datafusion#25401), and expressions nested so deeply that evaluating them would exhaust a
//! thread's stack (planning itself runs on a stack of its own, [`on_own_stack`]); and the engine's settings (`information_schema.df_settings`). Anything that still panics is caught where the query is planned and where its
//! results are read, and reaches the caller as [`PANIC_MESSAGE`], never as the panic's text.

use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion, TreeNodeVisitor};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::logical_expr::{Expr, LogicalPlan};

use crate::error::{Error, Result};

/// Aggregates whose result depends on the order of their input: only these take an `ORDER BY`.
const ORDERED_AGGREGATES: [&str; 5] = ["array_agg", "string_agg", "first_value", "last_value", "nth_value"];

/// Tables of `information_schema` that callers do not see.
const HIDDEN_SETTINGS: [&str; 1] = ["df_settings"];

/// Deepest expression accepted (`a OR b OR c …` counts one level per operator).
pub(crate) const MAX_EXPRESSION_DEPTH: usize = 500;

/// What a caller reads when the engine panicked on its query.
pub(crate) const PANIC_MESSAGE: &str =
    "the query could not be run (an internal error was logged for the node's operator)";

/// Stack that planning runs on: room for DataFusion's planner to clone and walk the deepest
/// expression a caller can write before [`refuse`] sees it (reserved address space, not memory,
/// until used).
const PLANNING_STACK: usize = 256 * 1024 * 1024;

/// `planning`, polled on a stack of its own whatever thread polls it: a caller's expression tens
/// of thousands of levels deep must get a clean refusal, not overflow the (2 MiB) stack of an
/// async runtime's worker.
pub(crate) async fn on_own_stack<F: Future>(planning: F) -> F::Output {
    let mut planning = std::pin::pin!(planning);
    std::future::poll_fn(|cx| stacker::grow(PLANNING_STACK, || planning.as_mut().poll(cx))).await
}

/// Most operators (`AND`, `OR`, `=`, `+`, `||` …) one statement may have. A chain of operators
/// is as deep as it is long, and the planner walks and clones it recursively: bounded here, before
/// parsing, the deepest chain fits the planning stack many times over.
pub(crate) const MAX_OPERATORS: usize = 10_000;

/// Refuses SQL with more than [`MAX_OPERATORS`] operators (counted on tokens, without recursion).
pub(crate) fn refuse_text(sql: &str) -> Result<()> {
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::keywords::Keyword;
    use datafusion::sql::sqlparser::tokenizer::{Token, Tokenizer};
    let Ok(tokens) = Tokenizer::new(&GenericDialect {}, sql).tokenize() else {
        return Ok(()); // the parser gives the error
    };
    let operators = tokens
        .iter()
        .filter(|token| match token {
            Token::Word(w) => matches!(w.keyword, Keyword::AND | Keyword::OR | Keyword::NOT),
            Token::Whitespace(_)
            | Token::Comma
            | Token::Period
            | Token::LParen
            | Token::RParen
            | Token::SemiColon
            | Token::Number(..)
            | Token::SingleQuotedString(_)
            | Token::Placeholder(_) => false,
            _ => true,
        })
        .count();
    if operators > MAX_OPERATORS {
        return Err(Error::Query(format!(
            "the query is too complex: more than {MAX_OPERATORS} operators in one statement; split it"
        )));
    }
    Ok(())
}

/// Refuses the shapes above anywhere in `plan` (subqueries included); `catalog` is the node's
/// catalog name, for the error of a hidden table.
pub(crate) fn refuse(plan: &LogicalPlan, catalog: &str) -> Result<()> {
    let mut problem: Option<String> = None;
    plan.apply_with_subqueries(|node| {
        if let LogicalPlan::TableScan(scan) = node
            && scan.table_name.schema() == Some("information_schema")
            && HIDDEN_SETTINGS.contains(&scan.table_name.table())
        {
            // The engine's settings are the operator's business; to a caller they do not exist.
            // (said as DataFusion says it of a table that does not exist)
            problem = Some(format!(
                "table '{catalog}.information_schema.{}' not found",
                scan.table_name.table()
            ));
            return Ok(TreeNodeRecursion::Stop);
        }
        node.apply_expressions(|expr| {
            let mut depth = Depth::default();
            expr.visit(&mut depth)?;
            if depth.deepest > MAX_EXPRESSION_DEPTH {
                problem = Some(format!(
                    "an expression is nested more than {MAX_EXPRESSION_DEPTH} levels deep: split the query"
                ));
                return Ok(TreeNodeRecursion::Stop);
            }
            expr.apply(|e| {
                if let Expr::AggregateFunction(f) = e {
                    let name = f.func.name().to_lowercase();
                    if !f.params.order_by.is_empty() && !ORDERED_AGGREGATES.contains(&name.as_str()) {
                        problem = Some(format!(
                            "ORDER BY inside {name}(…) is not supported: only {} take one",
                            ORDERED_AGGREGATES.join(", ")
                        ));
                        return Ok(TreeNodeRecursion::Stop);
                    }
                }
                Ok(TreeNodeRecursion::Continue)
            })
        })
    })
    .map_err(|e: DataFusionError| Error::Internal(e.to_string()))?;
    match problem {
        Some(message) => Err(Error::Query(message)),
        None => Ok(()),
    }
}

/// The depth of an expression tree, stopping as soon as it is too deep.
#[derive(Default)]
struct Depth {
    current: usize,
    deepest: usize,
}

impl<'n> TreeNodeVisitor<'n> for Depth {
    type Node = Expr;

    fn f_down(&mut self, _node: &'n Expr) -> DfResult<TreeNodeRecursion> {
        self.current += 1;
        self.deepest = self.deepest.max(self.current);
        Ok(if self.deepest > MAX_EXPRESSION_DEPTH {
            TreeNodeRecursion::Stop
        } else {
            TreeNodeRecursion::Continue
        })
    }

    fn f_up(&mut self, _node: &'n Expr) -> DfResult<TreeNodeRecursion> {
        self.current -= 1;
        Ok(TreeNodeRecursion::Continue)
    }
}
