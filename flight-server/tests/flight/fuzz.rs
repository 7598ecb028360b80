//! Flight messages are outside input: random tickets, statement and prepared-statement commands,
//! prepared-statement handles, actions and bearer tokens, some raw, some a real message with its
//! bytes disturbed. The server answers each with a clear status (never an internal error or a
//! panic's text), keeps serving, and its audit log verifies. `LIENTHONG_FUZZ_INPUTS` for longer.

use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::{CommandPreparedStatementQuery, CommandStatementQuery, ProstMessageExt};
use arrow_flight::{Action, FlightDescriptor, Ticket};
use prost::Message;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tonic::Code;
use tonic::transport::Channel;

use crate::common::{Fixture, query};

fn inputs() -> usize {
    std::env::var("LIENTHONG_FUZZ_INPUTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

fn noise(rng: &mut ChaCha8Rng) -> Vec<u8> {
    let len = rng.random_range(0..256);
    (0..len).map(|_| rng.random()).collect()
}

/// `bytes` with a few of them changed.
fn disturbed(rng: &mut ChaCha8Rng, mut bytes: Vec<u8>) -> Vec<u8> {
    for _ in 0..rng.random_range(1..4) {
        if !bytes.is_empty() {
            let at = rng.random_range(0..bytes.len());
            bytes[at] = rng.random();
        }
    }
    bytes
}

fn request<T>(message: T, token: &str) -> tonic::Request<T> {
    let mut request = tonic::Request::new(message);
    if let Ok(value) = format!("Bearer {token}").parse() {
        request.metadata_mut().insert("authorization", value);
    }
    request
        .metadata_mut()
        .insert("x-lienthong-purpose", "tthc".parse().unwrap());
    request
}

fn clear(status: &tonic::Status, what: &str) {
    assert!(
        !matches!(status.code(), Code::Internal | Code::Unknown),
        "{what}: {status}"
    );
    assert!(!status.message().contains("panicked"), "{what}: {status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn random_and_disturbed_messages_get_clear_refusals_and_the_server_keeps_serving() {
    let server = Fixture::start().await;
    let mut officer = server.login("ward-officer", Some("tthc")).await;
    let token = officer.token().unwrap().clone();
    // A real prepared statement's handle and a real ticket, to disturb.
    let handle = crate::security::officer_handle(&mut officer).await;
    let info = officer
        .execute("SELECT count(*) FROM land.parcels".into(), None)
        .await
        .unwrap();
    let ticket = info.endpoint[0].ticket.clone().unwrap().ticket.to_vec();
    let channel = Channel::from_shared(format!("http://{}", server.addr))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut flight = FlightServiceClient::new(channel);
    let mut rng = ChaCha8Rng::seed_from_u64(20_261_202);
    let mut refused = 0usize;
    for i in 0..inputs() {
        let token = match i % 3 {
            0 => token.clone(),
            1 => String::from_utf8_lossy(&disturbed(&mut rng, token.clone().into_bytes())).into_owned(),
            _ => (0..rng.random_range(0..64))
                .map(|_| char::from(rng.random_range(b'!'..=b'~')))
                .collect(),
        };
        let outcome = match rng.random_range(0..6) {
            0 => flight
                .do_get(request(Ticket::new(noise(&mut rng)), &token))
                .await
                .map(|_| ()),
            1 => {
                let bytes = disturbed(&mut rng, ticket.clone());
                match flight.do_get(request(Ticket::new(bytes), &token)).await {
                    // A disturbed byte may fall outside what the seal covers (prost skips it):
                    // then the stream must still refuse or serve the caller's own query.
                    Ok(response) => {
                        let mut stream = response.into_inner();
                        while let Some(message) = futures::StreamExt::next(&mut stream).await {
                            if let Err(status) = message {
                                clear(&status, "a disturbed ticket's stream");
                            }
                        }
                        Ok(())
                    }
                    Err(status) => Err(status),
                }
            }
            2 => flight
                .get_flight_info(request(FlightDescriptor::new_cmd(noise(&mut rng)), &token))
                .await
                .map(|_| ()),
            3 => {
                let command = CommandPreparedStatementQuery {
                    prepared_statement_handle: disturbed(&mut rng, handle.clone()).into(),
                };
                let descriptor = FlightDescriptor::new_cmd(command.as_any().encode_to_vec());
                flight.get_flight_info(request(descriptor, &token)).await.map(|_| ())
            }
            4 => {
                let sql: String = (0..rng.random_range(0..80))
                    .map(|_| char::from(rng.random_range(b' '..=b'~')))
                    .collect();
                let command = CommandStatementQuery {
                    query: sql,
                    transaction_id: None,
                };
                let descriptor = FlightDescriptor::new_cmd(disturbed(&mut rng, command.as_any().encode_to_vec()));
                flight.get_flight_info(request(descriptor, &token)).await.map(|_| ())
            }
            _ => {
                let kinds = [
                    "ClosePreparedStatement",
                    "SetSessionOptions",
                    "GetSessionOptions",
                    "CloseSession",
                    "x",
                ];
                let action = Action::new(kinds[rng.random_range(0..kinds.len())], noise(&mut rng));
                match flight.do_action(request(action, &token)).await {
                    Ok(response) => {
                        let mut stream = response.into_inner();
                        while let Some(message) = futures::StreamExt::next(&mut stream).await {
                            if let Err(status) = message {
                                clear(&status, "an action's stream");
                            }
                        }
                        Ok(())
                    }
                    Err(status) => Err(status),
                }
            }
        };
        if let Err(status) = outcome {
            clear(&status, &format!("input {i}"));
            refused += 1;
        }
    }
    assert!(refused > inputs() / 2, "{refused} refused");
    eprintln!("Flight fuzz: {} inputs, {refused} refused, 0 internal errors", inputs());
    // Still serving (another principal: a long run spends the officer's requests a minute), and
    // every query it ran is in a verifiable log.
    let mut owner = server.login("land-officer", Some("land-management")).await;
    let batches = query(&mut owner, "SELECT count(*) FROM land.parcels").await.unwrap();
    assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 1);
    lienthong::audit::verify(&server.audit).unwrap();
}
