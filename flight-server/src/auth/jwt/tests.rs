//! Tokens an attacker could bring: each must be refused, and only the genuine ones accepted.

use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rcgen::{KeyPair, PKCS_ECDSA_P256_SHA256, PKCS_ECDSA_P384_SHA384, PKCS_ED25519};
use serde_json::{Value, json};

use super::{Issuers, Verified};
use crate::auth::now;

const CATALOG: &str = r#"version: 1
node: { name: test, agency: "000.00.00.G01" }
agencies:
  "000.00.00.G01": { name: { vi: Bộ Công an, en: Ministry of Public Security } }
principals:
  ward-officer: { agency: "000.00.00.G01" }
  inspector: { agency: "000.00.00.G01" }
token_issuers:
  sso:
    issuer: https://sso.example
    audience: lienthong
    keys: [keys/sso.pem, keys/sso-ed.pem, keys/rollover.json]
    principals: [ward-officer]
  staff:
    issuer: https://staff.example
    audience: lienthong
    keys: [keys/staff.pem]
    principal_claim: preferred_username
"#;

struct Keys {
    dir: PathBuf,
    sso: KeyPair,
    sso_ed: KeyPair,
    rollover: KeyPair,
    staff: KeyPair,
    stranger: KeyPair,
}

fn keys() -> Keys {
    let dir = tempfile::tempdir().unwrap().keep();
    std::fs::create_dir_all(dir.join("keys")).unwrap();
    let k = Keys {
        sso: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
        sso_ed: KeyPair::generate_for(&PKCS_ED25519).unwrap(),
        rollover: KeyPair::generate_for(&PKCS_ECDSA_P384_SHA384).unwrap(),
        staff: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
        stranger: KeyPair::generate_for(&PKCS_ECDSA_P256_SHA256).unwrap(),
        dir,
    };
    let write = |name: &str, text: String| std::fs::write(k.dir.join("keys").join(name), text).unwrap();
    write("sso.pem", k.sso.public_key_pem());
    write("sso-ed.pem", k.sso_ed.public_key_pem());
    // The staff issuer publishes a certificate rather than a bare key.
    let certificate = rcgen::CertificateParams::new(vec!["staff.example".to_owned()])
        .unwrap()
        .self_signed(&k.staff)
        .unwrap();
    write("staff.pem", certificate.pem());
    write("rollover.json", jwk_set(&k.rollover));
    std::fs::write(k.dir.join("catalog.yaml"), CATALOG).unwrap();
    k
}

fn issuers(dir: &Path) -> anyhow::Result<Issuers> {
    let file = dir.join("catalog.yaml");
    let catalog = lienthong_spec::load(&file)?.catalog;
    Issuers::load(&catalog, &file)
}

fn claims(principal: &str) -> Value {
    json!({"iss": "https://sso.example", "aud": "lienthong", "sub": principal, "exp": now() + 600, "iat": now()})
}

fn sign(claims: &Value, key: &KeyPair, alg: Algorithm, kid: Option<&str>) -> String {
    let pem = key.serialize_pem();
    let encoding = match alg {
        Algorithm::EdDSA => EncodingKey::from_ed_pem(pem.as_bytes()),
        _ => EncodingKey::from_ec_pem(pem.as_bytes()),
    }
    .unwrap();
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &encoding).unwrap()
}

fn with(mut claims: Value, field: &str, value: Value) -> Value {
    claims[field] = value;
    claims
}

#[test]
fn genuine_tokens_name_their_principal() {
    let k = keys();
    let issuers = issuers(&k.dir).unwrap();
    let c = claims("ward-officer");
    let expected = Some(Verified {
        principal: "ward-officer".into(),
        expires: c["exp"].as_u64().unwrap(),
    });
    assert_eq!(issuers.verify(&sign(&c, &k.sso, Algorithm::ES256, None)), expected);
    assert_eq!(issuers.verify(&sign(&c, &k.sso_ed, Algorithm::EdDSA, None)), expected);
    assert_eq!(
        issuers.verify(&sign(&c, &k.rollover, Algorithm::ES384, Some("2026-11"))),
        expected
    );
    // An audience list that names the node; a claim other than `sub` for the principal.
    let listed = with(c.clone(), "aud", json!(["other", "lienthong"]));
    assert_eq!(issuers.verify(&sign(&listed, &k.sso, Algorithm::ES256, None)), expected);
    let staff = json!({"iss": "https://staff.example", "aud": "lienthong", "sub": "u-1",
        "preferred_username": "inspector", "exp": now() + 60});
    assert_eq!(
        issuers
            .verify(&sign(&staff, &k.staff, Algorithm::ES256, None))
            .map(|v| v.principal),
        Some("inspector".into())
    );
}

#[test]
fn every_forgery_and_misfit_is_refused() {
    let k = keys();
    let issuers = issuers(&k.dir).unwrap();
    let good = claims("ward-officer");
    let es256 = |c: &Value| sign(c, &k.sso, Algorithm::ES256, None);
    let mut refused: Vec<(&str, String)> = vec![
        ("another key", sign(&good, &k.stranger, Algorithm::ES256, None)),
        ("another issuer's key", sign(&good, &k.staff, Algorithm::ES256, None)),
        ("wrong kid", sign(&good, &k.rollover, Algorithm::ES384, Some("2025-01"))),
        (
            "wrong issuer",
            es256(&with(good.clone(), "iss", json!("https://evil.example"))),
        ),
        (
            "wrong audience",
            es256(&with(good.clone(), "aud", json!("somebody-else"))),
        ),
        ("expired", es256(&with(good.clone(), "exp", json!(now() - 120)))),
        ("not yet valid", es256(&with(good.clone(), "nbf", json!(now() + 600)))),
        ("undeclared principal", es256(&claims("ghost"))),
        ("principal the issuer may not vouch for", es256(&claims("inspector"))),
        ("public", es256(&claims("public"))),
        (
            "principal not text",
            es256(&with(good.clone(), "sub", json!(["ward-officer"]))),
        ),
        ("another issuer's principal claim", {
            let c = json!({"iss": "https://staff.example", "aud": "lienthong", "sub": "inspector", "exp": now() + 60});
            sign(&c, &k.staff, Algorithm::ES256, None)
        }),
    ];
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    refused.push(("no expiry", es256(&no_exp)));
    let mut no_aud = good.clone();
    no_aud.as_object_mut().unwrap().remove("aud");
    refused.push(("no audience", es256(&no_aud)));
    // Tampering: the payload of a genuine token swapped for another principal's.
    let genuine = es256(&good);
    let parts: Vec<&str> = genuine.split('.').collect();
    let forged_payload = URL_SAFE_NO_PAD.encode(claims("inspector").to_string());
    refused.push(("payload swapped", format!("{}.{forged_payload}.{}", parts[0], parts[2])));
    refused.push(("signature cut", format!("{}.{}.", parts[0], parts[1])));
    // `alg: none`, and HS256 keyed with the public key (the algorithm-confusion attack).
    let none = URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#);
    refused.push(("alg none", format!("{none}.{}.", parts[1])));
    let public_pem = k.sso.public_key_pem();
    let hs = jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &good,
        &EncodingKey::from_secret(public_pem.as_bytes()),
    )
    .unwrap();
    refused.push(("HS256 with the public key", hs));
    refused.push(("garbage", "a.b.c".into()));
    for (what, token) in refused {
        assert_eq!(issuers.verify(&token), None, "{what} was accepted");
    }
    assert!(issuers.verify(&genuine).is_some(), "the untampered token is accepted");
}

#[test]
fn unusable_key_files_are_named() {
    let k = keys();
    let cases = [
        ("keys/sso.pem", k.sso.serialize_pem(), "private key"),
        ("keys/sso.pem", "not a key".to_owned(), "holds no public key"),
        (
            "keys/rollover.json",
            json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string(),
            "shared secret",
        ),
    ];
    for (file, text, why) in cases {
        std::fs::write(k.dir.join(file), text).unwrap();
        let error = format!("{:#}", issuers(&k.dir).unwrap_err());
        assert!(error.contains("catalog.yaml: token_issuers.sso.keys["), "{error}");
        assert!(error.contains(file) && error.contains(why), "{error}");
        keys_restore(&k);
    }
    std::fs::remove_file(k.dir.join("keys/staff.pem")).unwrap();
    let error = format!("{:#}", issuers(&k.dir).unwrap_err());
    assert!(
        error.contains("token_issuers.staff.keys[0]: key file `keys/staff.pem`: cannot read"),
        "{error}"
    );
}

/// A JWK set, as identity providers publish them, with the P-384 `key` under id `2026-11`.
fn jwk_set(key: &KeyPair) -> String {
    let point = key.public_key_raw();
    let (x, y) = point[1..].split_at(48);
    json!({"keys": [{"kty": "EC", "crv": "P-384", "kid": "2026-11", "use": "sig",
        "x": URL_SAFE_NO_PAD.encode(x), "y": URL_SAFE_NO_PAD.encode(y)}]})
    .to_string()
}

fn keys_restore(k: &Keys) {
    std::fs::write(k.dir.join("keys/sso.pem"), k.sso.public_key_pem()).unwrap();
    std::fs::write(k.dir.join("keys/rollover.json"), jwk_set(&k.rollover)).unwrap();
}
