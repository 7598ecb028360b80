use super::*;

fn secret() -> PseudonymSecret {
    PseudonymSecret::new("a node secret of enough bytes").unwrap()
}

#[test]
fn keep_last_hides_all_but_the_tail_and_short_values_whole() {
    let f = MaskFunction::new(MaskKind::KeepLast(3));
    assert_eq!(f.apply("0912345678").as_deref(), Some("*******678"));
    assert_eq!(f.apply("678").as_deref(), Some("***"));
    assert_eq!(f.apply("Đà").as_deref(), Some("**"));
}

#[test]
fn province_of_a_ward_and_nothing_for_an_unknown_code() {
    let f = MaskFunction::new(MaskKind::Province);
    assert_eq!(f.apply("00070").as_deref(), Some("01"));
    assert_eq!(f.apply("99999"), None);
}

#[test]
fn pseudonyms_join_within_an_agency_and_not_across() {
    let s = secret();
    let a = MaskFunction::new(MaskKind::Pseudonym(s.agency_key("000.00.00.H26")));
    let b = MaskFunction::new(MaskKind::Pseudonym(s.agency_key("000.00.00.H49")));
    let id = "001090012345";
    assert_eq!(a.apply(id), a.apply(id));
    assert_ne!(a.apply(id), b.apply(id));
    assert_ne!(a.apply(id), a.apply("001090012346"));
    assert!(a.apply(id).unwrap().starts_with("p_"));
}

#[test]
fn the_secret_is_never_printed_and_must_be_long_enough() {
    let s = secret();
    assert!(!format!("{s:?}").contains("enough"));
    let f = MaskFunction::new(MaskKind::Pseudonym(s.agency_key("x")));
    assert_eq!(format!("{f:?}"), "mask_pseudonym");
    assert!(PseudonymSecret::new("short").is_err());
}
