//! The post-optimization check fails closed when the policy is not intact.

use std::sync::Arc;

use datafusion::datasource::provider_as_source;
use datafusion::logical_expr::{Extension, LogicalPlan, LogicalPlanBuilder, col, lit};
use lienthong_spec::{Column, ColumnType};

use super::verify;
use crate::barrier::{Policy, PolicyBarrier};
use crate::error::Error;

fn raw_scan() -> LogicalPlanBuilder {
    let columns = ["ward", "name"].map(|name| Column {
        name: name.into(),
        data_type: ColumnType::String,
        description: None,
        tags: Vec::new(),
        primary_key: false,
        references: None,
    });
    let raw = crate::source::unavailable("s", "not here", &columns);
    LogicalPlanBuilder::scan("db.t", provider_as_source(raw), None).unwrap()
}

fn barrier(input: LogicalPlan) -> LogicalPlan {
    let policy = Policy {
        table: "db.t".into(),
        grants: vec!["g".into()],
        tag_rules: Vec::new(),
        rows: Some(col("db.t.ward").eq(lit("00070"))),
        masks: Vec::new(),
        min_group_size: None,
        min_max: Vec::new(),
        lookup: None,
        primary_key: Vec::new(),
    };
    LogicalPlan::Extension(Extension {
        node: Arc::new(PolicyBarrier::new(input, Arc::new(policy))),
    })
}

fn internal(result: crate::Result<super::Verified>) -> String {
    match result {
        Err(Error::Internal(message)) => message,
        other => panic!("expected an internal error, got {other:?}"),
    }
}

#[test]
fn an_intact_policy_passes() {
    let plan = barrier(
        raw_scan()
            .filter(col("ward").eq(lit("00070")))
            .unwrap()
            .build()
            .unwrap(),
    );
    assert_eq!(verify(&plan).unwrap().barriers.len(), 1);
}

#[test]
fn a_lost_row_policy_fails() {
    let plan = barrier(raw_scan().build().unwrap());
    assert!(internal(verify(&plan)).contains("no longer applied"));
}

#[test]
fn a_scan_outside_any_barrier_fails() {
    let plan = raw_scan().build().unwrap();
    assert!(internal(verify(&plan)).contains("1 source scans but 0 policy barriers"));
}

#[test]
fn a_foreign_node_between_barrier_and_scan_fails() {
    let plan = barrier(
        raw_scan()
            .filter(col("ward").eq(lit("00070")))
            .unwrap()
            .limit(0, Some(1))
            .unwrap()
            .build()
            .unwrap(),
    );
    assert!(internal(verify(&plan)).contains("between the policy of db.t and its scan"));
}
