//! Sub-queries to other nodes over Flight SQL: the [`lienthong::remote::Transport`] of a node.
//!
//! Each sub-query is a standard statement query: GetFlightInfo, then DoGet of its ticket, each
//! request carrying a fresh one-time assertion from the core in the `x-lienthong-assertion`
//! header. The owner's acknowledgement (a response header of GetFlightInfo) is checked against
//! the key the catalog pins before any row is read. The owner's errors come back as the same
//! classes (denied, unavailable, limit, invalid); a node that cannot be reached fails the queries
//! that need it. Dropping the stream (the caller went away, a limit was hit) resets the gRPC
//! stream, which cancels the owner's query.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use arrow_flight::FlightDescriptor;
use arrow_flight::decode::FlightRecordBatchStream;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_client::FlightServiceClient;
use arrow_flight::sql::{CommandStatementQuery, ProstMessageExt};
use datafusion::execution::SendableRecordBatchStream;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use futures::{StreamExt, TryStreamExt};
use lienthong::node::{ACKNOWLEDGEMENT_HEADER, ASSERTION_HEADER};
use lienthong::remote::{Outgoing, RemoteError, Transport};
use prost::Message;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Code, Request, Status};

/// How long connecting to another node may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest message accepted from another node (a batch of wide rows).
const MAX_MESSAGE_BYTES: usize = 64 * 1024 * 1024;

/// Flight SQL to other nodes, one channel per source, reused across queries.
#[derive(Debug, Default)]
pub struct FlightTransport {
    channels: Mutex<HashMap<String, Channel>>,
}

#[async_trait::async_trait]
impl Transport for FlightTransport {
    async fn query(&self, outgoing: Outgoing) -> Result<SendableRecordBatchStream, RemoteError> {
        let channel = self.channel(&outgoing).await?;
        let mut client = FlightServiceClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let command = CommandStatementQuery {
            query: outgoing.sql.clone(),
            transaction_id: None,
        };
        let (assertion, id) = outgoing.assertion()?;
        let request = asserted(FlightDescriptor::new_cmd(command.as_any().encode_to_vec()), &assertion)?;
        let response = client.get_flight_info(request).await.map_err(remote_error)?;
        let acknowledgement = response
            .metadata()
            .get(ACKNOWLEDGEMENT_HEADER)
            .and_then(|v| v.to_str().ok());
        outgoing.check_acknowledgement(acknowledgement, &id)?;
        let info = response.into_inner();
        let ticket = info
            .endpoint
            .first()
            .and_then(|e| e.ticket.clone())
            .ok_or_else(|| RemoteError::Unavailable("the node answered without a ticket".into()))?;
        let schema = info
            .try_decode_schema()
            .map_err(|e| RemoteError::Unavailable(format!("the node's schema did not read: {e}")))?;
        let (assertion, _) = outgoing.assertion()?;
        let data = client
            .do_get(asserted(ticket, &assertion)?)
            .await
            .map_err(remote_error)?
            .into_inner();
        let source = outgoing.source_name.clone();
        let batches = FlightRecordBatchStream::new_from_flight_data(data.map_err(FlightError::from))
            .map_err(move |e| flight_error(e).into_datafusion(&source));
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            std::sync::Arc::new(schema),
            batches.boxed(),
        )))
    }
}

impl FlightTransport {
    /// The channel to `outgoing`'s node, connected once and reused (tonic reconnects it).
    async fn channel(&self, outgoing: &Outgoing) -> Result<Channel, RemoteError> {
        if let Some(channel) = self
            .channels
            .lock()
            .ok()
            .and_then(|c| c.get(&outgoing.source_name).cloned())
        {
            return Ok(channel);
        }
        let endpoint = endpoint(outgoing).map_err(RemoteError::Unavailable)?;
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| RemoteError::Unavailable(format!("cannot reach the node: {e}")))?;
        if let Ok(mut channels) = self.channels.lock() {
            channels.insert(outgoing.source_name.clone(), channel.clone());
        }
        Ok(channel)
    }
}

/// The endpoint of a `node` source: its URL, and TLS with the catalog's files when it says so.
fn endpoint(outgoing: &Outgoing) -> Result<Endpoint, String> {
    let url = outgoing.source.url.as_deref().unwrap_or_default();
    let (address, tls) = if let Some(rest) = url.strip_prefix("grpc+tls://") {
        (format!("https://{rest}"), true)
    } else if let Some(rest) = url.strip_prefix("grpc://") {
        (format!("http://{rest}"), false)
    } else {
        return Err(format!("`{url}` is not a grpc:// or grpc+tls:// URL"));
    };
    let mut endpoint = Endpoint::from_shared(address)
        .map_err(|e| format!("`{url}`: {e}"))?
        .connect_timeout(CONNECT_TIMEOUT)
        .tcp_nodelay(true);
    if tls {
        let files = outgoing.source.tls.as_ref().ok_or("a grpc+tls:// node needs `tls`")?;
        let read = |file: &str| {
            let path = outgoing.base_dir.join(file);
            std::fs::read(&path).map_err(|e| format!("{}: {e}", Path::new(&path).display()))
        };
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read(&files.ca)?));
        if let (Some(certificate), Some(key)) = (&files.certificate, &files.key) {
            config = config.identity(Identity::from_pem(read(certificate)?, read(key)?));
        }
        if let Some(domain) = &files.domain {
            config = config.domain_name(domain.clone());
        }
        endpoint = endpoint.tls_config(config).map_err(|e| format!("TLS: {e}"))?;
    }
    Ok(endpoint)
}

fn asserted<T>(message: T, assertion: &str) -> Result<Request<T>, RemoteError> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(assertion)
        .map_err(|_| RemoteError::Denied("the assertion is not a header value".into()))?;
    request.metadata_mut().insert(ASSERTION_HEADER, value);
    Ok(request)
}

/// The owner's status as the class of error the caller here gets, with the owner's message
/// (which the owner keeps free of its internals).
fn remote_error(status: Status) -> RemoteError {
    let message = status.message().to_owned();
    match status.code() {
        Code::PermissionDenied | Code::Unauthenticated => RemoteError::Denied(message),
        Code::ResourceExhausted => RemoteError::Limit(message),
        Code::InvalidArgument | Code::NotFound | Code::FailedPrecondition | Code::OutOfRange => {
            RemoteError::Query(message)
        }
        _ => RemoteError::Unavailable(format!("{}: {message}", status.code().description())),
    }
}

fn flight_error(error: FlightError) -> RemoteError {
    match error {
        FlightError::Tonic(status) => remote_error(*status),
        other => RemoteError::Unavailable(format!("the node's answer broke off: {other}")),
    }
}
