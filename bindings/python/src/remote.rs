//! `lienthong.connect`: a session on a `lienthong serve` over Arrow Flight SQL, with the same
//! `sql`, `tables` and `explain` as a local session. The server governs and audits; this side
//! only proves who is calling (a bearer token, or a principal's secret through the handshake) and
//! says why (the `x-lienthong-purpose` header).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use arrow::datatypes::{Field, Schema};
use arrow_flight::error::FlightError;
use arrow_flight::sql::CommandGetTables;
use arrow_flight::sql::client::FlightSqlServiceClient;
use arrow_flight::{FlightInfo, Ticket};
use futures::{StreamExt, TryStreamExt};
use lienthong::Error;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use tonic::Code;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};

use crate::error::to_py;
use crate::params::to_scalars;
use crate::result::{Batches, Governance, PyQueryResult};
use crate::runtime::wait;

/// The header in which a caller declares its purpose.
const PURPOSE_HEADER: &str = "x-lienthong-purpose";

/// A session on a remote lienthong node.
#[pyclass(name = "RemoteSession", module = "lienthong._internal", frozen)]
pub(crate) struct PyRemoteSession {
    uri: String,
    client: FlightSqlServiceClient<Channel>,
    principal: Option<String>,
    purpose: Option<String>,
}

/// Connects to `uri` (`grpc://host:port`, or `grpc+tls://host:port` with the server's CA in
/// `tls_root_certs`) and proves the caller: `token` (a bearer token: the agency's JWT or one the
/// server issued), or `principal` and `credential` through the Flight handshake, or nothing for
/// `public`.
#[pyfunction]
#[pyo3(signature = (uri, *, token = None, principal = None, credential = None, purpose = None, tls_root_certs = None))]
pub(crate) fn connect(
    py: Python<'_>,
    uri: String,
    token: Option<String>,
    principal: Option<String>,
    credential: Option<String>,
    purpose: Option<String>,
    tls_root_certs: Option<Vec<u8>>,
) -> PyResult<PyRemoteSession> {
    if token.is_some() && (principal.is_some() || credential.is_some()) {
        return Err(PyValueError::new_err(
            "give either a token or a principal and its credential, not both",
        ));
    }
    if principal.is_some() != credential.is_some() {
        return Err(PyValueError::new_err(
            "a principal needs its credential (and a credential its principal)",
        ));
    }
    let endpoint = endpoint(&uri, tls_root_certs)?;
    let target = uri.clone();
    let login = principal.clone().zip(credential);
    let header_purpose = purpose.clone();
    let client = wait(py, async move {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| unavailable(&target, &e.to_string()))?;
        let mut client = FlightSqlServiceClient::new(channel);
        if let Some(purpose) = header_purpose {
            client.set_header(PURPOSE_HEADER, purpose);
        }
        if let Some(token) = token {
            client.set_token(token);
        }
        if let Some((principal, secret)) = login {
            client.handshake(&principal, &secret).await.map_err(|e| match e {
                // The client reports a refused handshake as a protocol error, status inside.
                FlightError::Arrow(_) => Error::Denied("authentication failed".into()),
                other => remote_error(&target, other),
            })?;
        }
        Ok::<_, Error>(client)
    })?
    .map_err(|e| to_py(py, e))?;
    Ok(PyRemoteSession {
        uri,
        client,
        principal,
        purpose,
    })
}

fn endpoint(uri: &str, tls_root_certs: Option<Vec<u8>>) -> PyResult<Endpoint> {
    let invalid = |e: &dyn std::fmt::Display| PyValueError::new_err(format!("{uri}: {e}"));
    let (address, tls) = if let Some(rest) = uri.strip_prefix("grpc+tls://") {
        (format!("https://{rest}"), true)
    } else if let Some(rest) = uri.strip_prefix("grpc://").or_else(|| uri.strip_prefix("grpc+tcp://")) {
        (format!("http://{rest}"), false)
    } else {
        return Err(PyValueError::new_err(format!(
            "{uri}: expected grpc://host:port or grpc+tls://host:port"
        )));
    };
    let endpoint = Endpoint::from_shared(address).map_err(|e| invalid(&e))?;
    match (tls, tls_root_certs) {
        (true, Some(pem)) => endpoint
            .tls_config(ClientTlsConfig::new().ca_certificate(Certificate::from_pem(pem)))
            .map_err(|e| invalid(&e)),
        (true, None) => Err(PyValueError::new_err(format!(
            "{uri}: a TLS connection needs the server's CA certificate (tls_root_certs)"
        ))),
        (false, Some(_)) => Err(PyValueError::new_err(format!(
            "{uri}: tls_root_certs needs grpc+tls://"
        ))),
        (false, None) => Ok(endpoint),
    }
}

#[pymethods]
impl PyRemoteSession {
    /// The principal who logged in with a credential (`None` with a token or for `public`).
    #[getter]
    fn principal(&self) -> Option<String> {
        self.principal.clone()
    }

    /// The declared purpose.
    #[getter]
    fn purpose(&self) -> Option<String> {
        self.purpose.clone()
    }

    /// Runs a read-only query on the server (a prepared statement when there are parameters).
    #[pyo3(signature = (query, params = None))]
    fn sql(&self, py: Python<'_>, query: String, params: Option<Bound<'_, PyAny>>) -> PyResult<PyQueryResult> {
        let params = to_scalars(params.as_ref())?;
        let mut client = self.client.clone();
        let uri = self.uri.clone();
        let started = wait(py, async move {
            let failed = |e| remote_error(&uri, e);
            let info = if params.is_empty() {
                client.execute(query, None).await.map_err(failed)?
            } else {
                let mut prepared = client.prepare(query, None).await.map_err(failed)?;
                prepared.set_parameters(parameter_row(&params)?).map_err(failed)?;
                prepared.execute().await.map_err(failed)?
            };
            fetch(&mut client, &uri, info).await
        })?;
        let (schema, batches) = started.map_err(|e| to_py(py, e))?;
        Ok(PyQueryResult::new(schema, batches, Governance::default()))
    }

    /// The tables this caller may see on the server, as `database.table`.
    fn tables(&self, py: Python<'_>) -> PyResult<Vec<String>> {
        let mut client = self.client.clone();
        let uri = self.uri.clone();
        let listed = wait(py, async move {
            let request = CommandGetTables {
                include_schema: false,
                ..CommandGetTables::default()
            };
            let info = client.get_tables(request).await.map_err(|e| remote_error(&uri, e))?;
            let (_, batches) = fetch(&mut client, &uri, info).await?;
            let batches: Vec<RecordBatch> = batches.try_collect().await?;
            let mut tables = Vec::new();
            for batch in &batches {
                let schemas = string_column(batch, "db_schema_name")?;
                let names = string_column(batch, "table_name")?;
                for row in 0..batch.num_rows() {
                    tables.push(format!("{}.{}", schemas.value(row), names.value(row)));
                }
            }
            tables.sort();
            Ok::<_, Error>(tables)
        })?;
        listed.map_err(|e| to_py(py, e))
    }

    /// The caller's volume quotas as the server answers its `GetQuotas` action (a JSON array).
    fn quotas(&self, py: Python<'_>) -> PyResult<String> {
        let mut client = self.client.clone();
        let uri = self.uri.clone();
        let answered = wait(py, async move {
            let action = arrow_flight::Action {
                r#type: "GetQuotas".into(),
                body: Default::default(),
            };
            let failed = |e| remote_error(&uri, e);
            let mut results = client.do_action(action).await.map_err(failed)?;
            let mut body = Vec::new();
            while let Some(result) = results.message().await.map_err(|s| failed(s.into()))? {
                body.extend_from_slice(&result.body);
            }
            String::from_utf8(body).map_err(|e| Error::Query(format!("{uri}: {e}")))
        })?;
        answered.map_err(|e| to_py(py, e))
    }

    /// The governed plan of `query` as the server explains it.
    fn explain(&self, py: Python<'_>, query: String) -> PyResult<String> {
        let result = self.sql(py, format!("EXPLAIN {query}"), None)?;
        let batches = result.batches(py)?;
        let mut out = String::new();
        for batch in &batches {
            let (kinds, plans) = (string_column(batch, "plan_type"), string_column(batch, "plan"));
            let (kinds, plans) = (kinds.map_err(|e| to_py(py, e))?, plans.map_err(|e| to_py(py, e))?);
            for row in 0..batch.num_rows() {
                out.push_str(&format!("{}:\n{}\n", kinds.value(row), plans.value(row)));
            }
        }
        Ok(out)
    }

    fn __repr__(&self) -> String {
        format!("RemoteSession({:?}, purpose={:?})", self.uri, self.purpose)
    }
}

/// The schema of `info` and the batches of its endpoints, one after the other.
async fn fetch(
    client: &mut FlightSqlServiceClient<Channel>,
    uri: &str,
    info: FlightInfo,
) -> Result<(arrow::datatypes::SchemaRef, Batches), Error> {
    let tickets: Vec<Ticket> = info.endpoint.iter().filter_map(|e| e.ticket.clone()).collect();
    let schema = Arc::new(
        info.try_decode_schema()
            .map_err(|e| Error::Query(format!("the server sent an unreadable schema: {e}")))?,
    );
    let mut streams = Vec::with_capacity(tickets.len());
    for ticket in tickets {
        let stream = client.do_get(ticket).await.map_err(|e| remote_error(uri, e))?;
        let uri = uri.to_owned();
        streams.push(stream.map_err(move |e| remote_error(&uri, e)));
    }
    Ok((schema, futures::stream::iter(streams).flatten().boxed()))
}

/// One row of parameters, `$1`, `$2`, … in order.
fn parameter_row(params: &[lienthong::datafusion::scalar::ScalarValue]) -> Result<RecordBatch, Error> {
    let mut fields = Vec::with_capacity(params.len());
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(params.len());
    for (i, value) in params.iter().enumerate() {
        let array = value
            .to_array()
            .map_err(|e| Error::Query(format!("parameter ${}: {e}", i + 1)))?;
        fields.push(Field::new(format!("${}", i + 1), array.data_type().clone(), true));
        columns.push(array);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), columns).map_err(|e| Error::Query(format!("parameters: {e}")))
}

fn string_column<'b>(batch: &'b RecordBatch, name: &str) -> Result<&'b StringArray, Error> {
    batch
        .column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<StringArray>())
        .ok_or_else(|| Error::Query(format!("the server's answer has no text column `{name}`")))
}

/// A server's refusal as the error class the engine would have raised here; the message is the
/// server's, without the class prefix it already carries.
fn remote_error(uri: &str, error: FlightError) -> Error {
    let FlightError::Tonic(status) = error else {
        return Error::Query(format!("{uri}: {error}"));
    };
    let message = status.message();
    let strip = |prefix: &str| message.strip_prefix(prefix).unwrap_or(message).to_owned();
    match status.code() {
        Code::PermissionDenied | Code::Unauthenticated => Error::Denied(strip("denied: ")),
        Code::ResourceExhausted if message.starts_with("quota exhausted: ") => Error::Quota(strip("quota exhausted: ")),
        Code::ResourceExhausted | Code::DeadlineExceeded | Code::Cancelled => Error::Limit(strip("limit: ")),
        Code::Unavailable => unavailable(uri, message),
        Code::InvalidArgument | Code::NotFound | Code::Unimplemented | Code::FailedPrecondition => {
            Error::Query(strip("query failed: "))
        }
        _ => Error::Internal(format!("{uri}: {message}")),
    }
}

fn unavailable(uri: &str, message: &str) -> Error {
    Error::Source {
        source_name: uri.to_owned(),
        message: message.to_owned(),
    }
}
