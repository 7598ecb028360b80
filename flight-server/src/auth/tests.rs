use lienthong_spec::Credential;

use super::{Claims, Kind, Refused, Sealer, verify_secret};

fn claims(kind: Kind) -> Claims {
    Claims {
        kind,
        principal: "ward-officer".into(),
        purpose: Some("tthc".into()),
        expires: 1_000,
        payload: b"SELECT 1".to_vec(),
    }
}

#[test]
fn a_sealed_token_opens_to_its_claims_until_it_expires() {
    let sealer = Sealer::random();
    let token = sealer.seal(&claims(Kind::Ticket));
    assert_eq!(sealer.open(&token, Kind::Ticket, 999), Ok(claims(Kind::Ticket)));
    assert_eq!(sealer.open(&token, Kind::Ticket, 1_000), Err(Refused::Expired));
    assert!(claims(Kind::Ticket).is_for("ward-officer", Some("tthc")));
    assert!(!claims(Kind::Ticket).is_for("inspector", Some("tthc")));
    assert!(!claims(Kind::Ticket).is_for("ward-officer", Some("inspection")));
}

#[test]
fn every_changed_byte_another_key_or_another_kind_is_refused() {
    let sealer = Sealer::random();
    let token = sealer.seal(&claims(Kind::Ticket));
    for i in 0..token.len() {
        let mut forged = token.clone();
        forged[i] ^= 0x01;
        assert_eq!(sealer.open(&forged, Kind::Ticket, 0), Err(Refused::Forged), "byte {i}");
    }
    assert_eq!(
        sealer.open(&token[..token.len() - 1], Kind::Ticket, 0),
        Err(Refused::Forged)
    );
    assert_eq!(sealer.open(b"", Kind::Ticket, 0), Err(Refused::Forged));
    assert_eq!(Sealer::random().open(&token, Kind::Ticket, 0), Err(Refused::Forged));
    assert_eq!(sealer.open(&token, Kind::Bearer, 0), Err(Refused::WrongKind));
    // A token rewritten to another principal, with a MAC the forger cannot compute.
    let text = String::from_utf8_lossy(&token[..token.len() - 32]).replace("ward-officer", "inspector");
    let mut forged = text.into_bytes();
    forged.extend_from_slice(&token[token.len() - 32..]);
    assert_eq!(sealer.open(&forged, Kind::Ticket, 0), Err(Refused::Forged));
}

#[test]
fn servers_sharing_a_secret_accept_each_others_tokens() {
    let secret = [7u8; 32];
    let token = Sealer::from_secret(&secret).unwrap().seal(&claims(Kind::Bearer));
    let other = Sealer::from_secret(&secret).unwrap();
    assert_eq!(other.open(&token, Kind::Bearer, 0), Ok(claims(Kind::Bearer)));
    assert!(Sealer::from_secret(&[7u8; 31]).is_err());
}

#[test]
fn secrets_are_checked_against_the_catalog_and_unknown_principals_fail_alike() {
    let (mut catalog, secrets) = lienthong_synth::demo_catalog::build(7).unwrap();
    let officer = &secrets["ward-officer"];
    assert!(verify_secret(&catalog, "ward-officer", officer));
    assert!(!verify_secret(&catalog, "ward-officer", &format!("{officer}x")));
    assert!(!verify_secret(&catalog, "inspector", officer));
    assert!(!verify_secret(&catalog, "nobody", officer));
    assert!(!verify_secret(&catalog, "public", ""));
    // A credential kept in the environment (PATH stands in for a secret variable).
    let path = std::env::var("PATH").unwrap();
    catalog.principals.get_mut("inspector").unwrap().credential = Some(Credential::Env("PATH".into()));
    assert!(verify_secret(&catalog, "inspector", &path));
    assert!(!verify_secret(&catalog, "inspector", "wrong"));
    catalog.principals.get_mut("inspector").unwrap().credential = None;
    assert!(!verify_secret(&catalog, "inspector", ""));
}
