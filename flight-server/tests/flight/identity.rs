//! Identity beyond the demo secrets: JSON Web Tokens from an issuer the catalog trusts, and client
//! certificates (mutual TLS) that the catalog maps to principals. Each way in is tried with the
//! genuine article, then with what an attacker would bring.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow_flight::sql::client::FlightSqlServiceClient;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use lienthong_server::flight::{Config, Tls};
use lienthong_spec::ClientCertificate;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use serde_json::json;
use sha2::{Digest, Sha256};
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};

use crate::common::{Client, Fixture, demo_dir, pretty, query, secrets};
use crate::protocol::SCENARIOS;

const ISSUER: &str = "https://sso.hoankiem.test/realms/egov";
const AUDIENCE: &str = "lienthong-demo";
const WARD_CN: &str = "ward-officer.hoankiem.test";

/// A certificate (PEM and DER) and its key (PEM).
struct Pair {
    cert: String,
    der: Vec<u8>,
    key: String,
}

/// A CA, the server's certificate, and the catalog that trusts the test's issuer and certificates.
struct Setup {
    catalog: PathBuf,
    ca: CertifiedIssuer<'static, KeyPair>,
    server: Pair,
    token_key: KeyPair,
    /// Fingerprint-pinned to the inspector.
    inspector: Pair,
    /// Its common name maps to the ward officer, its fingerprint to the inspector.
    ambiguous: Pair,
}

fn ca(name: &str) -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

fn issue(ca: &CertifiedIssuer<'static, KeyPair>, common_name: &str, names: &[&str]) -> Pair {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    let cert = params.signed_by(&key, ca).unwrap();
    Pair {
        cert: cert.pem(),
        der: cert.der().to_vec(),
        key: key.serialize_pem(),
    }
}

fn fingerprint(pair: &Pair) -> String {
    Sha256::digest(&pair.der)
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The demo catalog plus a token issuer (ward officer and land officer only) and certificates,
/// written next to the demo data so that its relative paths hold.
fn setup() -> Setup {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    let ca = ca("lienthong test CA");
    let server = issue(&ca, "localhost", &["localhost", "127.0.0.1"]);
    let inspector = issue(&ca, "inspector.test", &[]);
    let ambiguous = issue(&ca, WARD_CN, &[]);
    let token_key = KeyPair::generate().unwrap();
    let keys = format!("identity-{}-{n}", std::process::id());
    std::fs::create_dir_all(demo_dir().join(&keys)).unwrap();
    std::fs::write(demo_dir().join(&keys).join("sso.pem"), token_key.public_key_pem()).unwrap();
    let demo = demo_dir().join(lienthong_synth::CATALOG_FILE);
    let mut catalog = lienthong_spec::load(&demo).unwrap().catalog;
    let issuer = serde_json::from_value(json!({
        "issuer": ISSUER, "audience": AUDIENCE, "keys": [format!("{keys}/sso.pem")],
        "principals": ["ward-officer", "land-officer"],
    }))
    .unwrap();
    catalog.token_issuers.insert("hoankiem-sso".into(), issuer);
    for (principal, certificate) in [
        ("ward-officer", ClientCertificate::CommonName(WARD_CN.into())),
        ("inspector", ClientCertificate::Sha256(fingerprint(&inspector))),
        ("land-officer", ClientCertificate::Sha256(fingerprint(&ambiguous))),
    ] {
        catalog
            .principals
            .get_mut(principal)
            .unwrap()
            .certificates
            .push(certificate);
    }
    let file = demo_dir().join(format!("{keys}.yaml"));
    std::fs::write(&file, lienthong_spec::to_yaml(&catalog, &[])).unwrap();
    Setup {
        catalog: file,
        ca,
        server,
        token_key,
        inspector,
        ambiguous,
    }
}

impl Setup {
    fn tls(&self, client_optional: bool) -> Config {
        Config {
            tls: Some(Tls {
                cert: self.server.cert.clone().into_bytes(),
                key: self.server.key.clone().into_bytes(),
                client_ca: Some(self.ca.pem().into_bytes()),
                client_optional,
            }),
            ..Config::default()
        }
    }

    fn token(&self, principal: &str, expires_in: i64) -> String {
        let exp = lienthong_server::auth::now().cast_signed() + expires_in;
        let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": principal, "exp": exp});
        let key = EncodingKey::from_ec_pem(self.token_key.serialize_pem().as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap()
    }
}

/// A TLS client trusting `ca`, presenting `identity` if given.
async fn tls_client(server: &Fixture, ca: &str, identity: Option<&Pair>) -> Result<Client, tonic::transport::Error> {
    let mut tls = ClientTlsConfig::new()
        .ca_certificate(Certificate::from_pem(ca))
        .domain_name("localhost");
    if let Some(pair) = identity {
        tls = tls.identity(Identity::from_pem(&pair.cert, &pair.key));
    }
    let channel = Channel::from_shared(format!("https://{}", server.addr))
        .unwrap()
        .tls_config(tls)?
        .connect()
        .await?;
    Ok(FlightSqlServiceClient::new(channel))
}

fn scenario(principal: &str) -> (Option<&'static str>, &'static str) {
    let (_, purpose, sql) = SCENARIOS.iter().find(|(p, _, _)| *p == principal).unwrap();
    (*purpose, sql)
}

async fn same_as_library(server: &Fixture, client: &mut Client, principal: &str) {
    let (purpose, sql) = scenario(principal);
    client.set_header("x-lienthong-purpose", purpose.unwrap_or_default());
    let answer = query(client, sql).await.unwrap_or_else(|e| panic!("{principal}: {e}"));
    assert_eq!(
        pretty(&answer),
        server.library_answer(principal, purpose, sql).await.unwrap()
    );
}

fn last_principal(server: &Fixture) -> String {
    let records = server.audit_records();
    let last = records.iter().rev().find(|r| r["principal"].is_string()).unwrap();
    last["principal"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_the_trusted_issuer_queries_as_its_principal() {
    let setup = setup();
    let server = Fixture::serving(&setup.catalog, Config::default()).await;
    let mut client = server.anonymous().await;
    client.set_token(setup.token("ward-officer", 600));
    same_as_library(&server, &mut client, "ward-officer").await;
    assert_eq!(last_principal(&server), "ward-officer");

    // What an attacker would bring instead; every one gets the same answer.
    let stranger = KeyPair::generate().unwrap();
    let foreign = {
        let claims = json!({"iss": ISSUER, "aud": AUDIENCE, "sub": "ward-officer", "exp": 4_000_000_000u64});
        let key = EncodingKey::from_ec_pem(stranger.serialize_pem().as_bytes()).unwrap();
        jsonwebtoken::encode(&Header::new(Algorithm::ES256), &claims, &key).unwrap()
    };
    let refused = [
        ("expired", setup.token("ward-officer", -600)),
        ("signed by another key", foreign),
        (
            "a principal the issuer may not vouch for",
            setup.token("inspector", 600),
        ),
        ("an undeclared principal", setup.token("nobody", 600)),
        ("public", setup.token("public", 600)),
    ];
    let (purpose, sql) = scenario("ward-officer");
    for (what, token) in refused {
        let mut client = server.anonymous().await;
        client.set_token(token);
        client.set_header("x-lienthong-purpose", purpose.unwrap_or_default());
        let error = query(&mut client, sql).await.expect_err(what);
        assert_eq!(error.code(), Code::Unauthenticated, "{what}");
        assert_eq!(error.message(), "invalid or expired token", "{what}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_identify_their_principals() {
    let setup = setup();
    let server = Fixture::serving(&setup.catalog, setup.tls(false)).await;
    let ca = &setup.ca.pem();

    // By common name, and by fingerprint: no secret, no token.
    let ward = issue(&setup.ca, WARD_CN, &[]);
    let mut client = tls_client(&server, ca, Some(&ward)).await.unwrap();
    same_as_library(&server, &mut client, "ward-officer").await;
    assert_eq!(last_principal(&server), "ward-officer");
    let mut client = tls_client(&server, ca, Some(&setup.inspector)).await.unwrap();
    same_as_library(&server, &mut client, "inspector").await;
    assert_eq!(last_principal(&server), "inspector");

    // A certificate of the CA that the catalog does not map is `public`.
    let unknown = issue(&setup.ca, "somebody.test", &[]);
    let mut client = tls_client(&server, ca, Some(&unknown)).await.unwrap();
    let (_, sql) = scenario("ward-officer");
    let error = query(&mut client, sql).await.unwrap_err();
    let library = server.library_answer("public", None, sql).await.unwrap_err();
    assert!(error.message().contains(&library), "{} vs {library}", error.message());

    // The handshake with the certificate alone gives the certificate's principal a token.
    let mut client = tls_client(&server, ca, Some(&ward)).await.unwrap();
    client.handshake("", "").await.unwrap();
    same_as_library(&server, &mut client, "ward-officer").await;

    // Another principal's secret or token on a certified connection is refused.
    let mut client = tls_client(&server, ca, Some(&ward)).await.unwrap();
    let inspector_secret = secrets().remove("inspector").unwrap();
    let error = client.handshake("inspector", &inspector_secret).await.unwrap_err();
    assert!(format!("{error}").contains("authentication failed"), "{error}");
    let mut inspector = tls_client(&server, ca, Some(&setup.inspector)).await.unwrap();
    let token = inspector.handshake("", "").await.unwrap();
    let token = String::from_utf8(token.to_vec()).unwrap();
    client.set_token(token);
    client.set_header("x-lienthong-purpose", "tthc");
    let error = query(&mut client, sql).await.unwrap_err();
    assert_eq!(
        (error.code(), error.message()),
        (Code::Unauthenticated, "invalid or expired token")
    );

    // A certificate that would name two principals names none.
    let mut client = tls_client(&server, ca, Some(&setup.ambiguous)).await.unwrap();
    client.set_header("x-lienthong-purpose", "tthc");
    let error = query(&mut client, sql).await.unwrap_err();
    assert_eq!(
        (error.code(), error.message()),
        (Code::Unauthenticated, "authentication failed")
    );

    // No certificate, or one from another CA (even with the right name): no connection.
    let rogue = issue(&self::ca("lienthong test CA"), WARD_CN, &[]);
    for (what, identity) in [("no certificate", None), ("another CA", Some(&rogue))] {
        let refused = match tls_client(&server, ca, identity).await {
            Err(_) => true,
            Ok(mut client) => query(&mut client, sql).await.is_err(),
        };
        assert!(refused, "{what}: the server served it");
    }
    assert!(
        server.audit_records().iter().all(|r| r["principal"] != "land-officer"),
        "the ambiguous certificate never acted as the land officer"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn optional_client_certificates_still_let_token_holders_in() {
    let setup = setup();
    let server = Fixture::serving(&setup.catalog, setup.tls(true)).await;
    let ca = &setup.ca.pem();
    let mut client = tls_client(&server, ca, None).await.unwrap();
    client.set_token(setup.token("land-officer", 600));
    same_as_library(&server, &mut client, "land-officer").await;
    let mut client = tls_client(&server, ca, None).await.unwrap();
    let secret = secrets().remove("business-registrar").unwrap();
    client.handshake("business-registrar", &secret).await.unwrap();
    same_as_library(&server, &mut client, "business-registrar").await;
    let mut client = tls_client(&server, ca, Some(&setup.inspector)).await.unwrap();
    same_as_library(&server, &mut client, "inspector").await;
}
