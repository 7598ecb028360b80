use std::sync::Arc;
use std::time::Duration;

use arrow::array::{Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};

use super::*;

fn caller(principal: &str, purpose: Option<&str>) -> Caller {
    Caller {
        principal: principal.into(),
        purpose: purpose.map(str::to_owned),
        token_expires: None,
        remote: None,
    }
}

fn statements(max_handles: usize) -> Statements {
    Statements::new(
        Sealer::random(),
        Duration::from_secs(60),
        Duration::from_secs(60),
        max_handles,
    )
}

#[test]
fn a_ticket_is_redeemed_once_and_only_by_its_caller() {
    let s = statements(4);
    let officer = caller("ward-officer", Some("tthc"));
    let ticket = s.ticket(&officer, &Query::new("SELECT 1"));
    for other in [
        caller("land-officer", Some("tthc")),
        caller("ward-officer", Some("statistics")),
        caller("ward-officer", None),
        caller("public", None),
    ] {
        assert_eq!(
            s.redeem(&other, &ticket).map_err(|e| e.code()),
            Err(tonic::Code::PermissionDenied),
            "{other:?}"
        );
    }
    assert_eq!(
        s.redeem(&officer, &ticket).map(|q| q.sql).ok().as_deref(),
        Some("SELECT 1")
    );
    assert_eq!(
        s.redeem(&officer, &ticket).map_err(|e| e.code()),
        Err(tonic::Code::PermissionDenied),
        "replayed"
    );
}

#[test]
fn a_handle_is_not_a_ticket_and_a_flipped_byte_is_refused() {
    let s = statements(4);
    let officer = caller("ward-officer", Some("tthc"));
    let handle = s.prepare(&officer, "SELECT 1").unwrap_or_default();
    assert!(s.redeem(&officer, &handle).is_err(), "handle used as ticket");
    let ticket = s.ticket(&officer, &Query::new("SELECT 1"));
    assert!(s.handle(&officer, &ticket).is_err(), "ticket used as handle");
    for i in 0..handle.len() {
        let mut forged = handle.clone();
        forged[i] ^= 1;
        assert!(s.handle(&officer, &forged).is_err(), "byte {i}");
    }
    assert!(s.handle(&officer, &handle).is_ok());
}

#[test]
fn handles_are_capped_per_principal_and_closing_frees_one() {
    let s = statements(2);
    let officer = caller("ward-officer", Some("tthc"));
    let first = s.prepare(&officer, "SELECT 1").unwrap_or_default();
    assert!(s.prepare(&officer, "SELECT 2").is_ok());
    assert_eq!(
        s.prepare(&officer, "SELECT 3").map_err(|e| e.code()),
        Err(tonic::Code::ResourceExhausted)
    );
    assert!(
        s.prepare(&caller("land-officer", Some("x")), "SELECT 1").is_ok(),
        "others unaffected"
    );
    assert!(
        s.close(&caller("land-officer", Some("x")), &first).is_err(),
        "not theirs to close"
    );
    assert!(s.close(&officer, &first).is_ok());
    assert!(s.handle(&officer, &first).is_err(), "closed");
    assert!(s.close(&officer, &first).is_err(), "closed twice");
    assert!(s.prepare(&officer, "SELECT 3").is_ok());
}

#[test]
fn bound_parameters_travel_in_the_rebound_handle() {
    let s = statements(2);
    let officer = caller("ward-officer", Some("tthc"));
    let handle = s.prepare(&officer, "SELECT $1, $2").unwrap_or_default();
    let mut query = s.handle(&officer, &handle).unwrap_or_else(|e| panic!("{e}"));
    let row = RecordBatch::try_new(
        Arc::new(Schema::new(vec![
            Field::new("$1", DataType::Utf8, true),
            Field::new("$2", DataType::Int64, true),
        ])),
        vec![
            Arc::new(StringArray::from(vec!["001085012345"])),
            Arc::new(Int64Array::from(vec![42])),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    query.params = Some(encode_parameters(&row).unwrap_or_default());
    let rebound = s.rebind(&officer, &query);
    let back = s.handle(&officer, &rebound).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        back.parameters().unwrap_or_default(),
        vec![ScalarValue::from("001085012345"), ScalarValue::Int64(Some(42))]
    );
    assert!(s.close(&officer, &rebound).is_ok());
    assert!(
        s.handle(&officer, &handle).is_err(),
        "the old handle closes with the new one"
    );
}
