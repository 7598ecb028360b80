//! Flight SQL commands, each turned into a governed [`Session`] call for the authenticated caller.
//!
//! Statement queries: GetFlightInfo plans the query (refusals audited there) and answers with a
//! sealed, single-use ticket; DoGet redeems it and streams the results as the core produces them.
//! Prepared statements: a sealed handle, parameters bound by DoPut (the handle comes back re-sealed
//! with them), executed through GetFlightInfo + DoGet, closed by an action. Everything that would
//! change data, and Substrait, is refused.

use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use arrow::ipc::writer::IpcWriteOptions;
use arrow_flight::encode::FlightDataEncoderBuilder;
use arrow_flight::error::FlightError;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::server::{FlightSqlService, PeekableFlightDataStream};
use arrow_flight::sql::{
    ActionClosePreparedStatementRequest, ActionCreatePreparedStatementRequest, ActionCreatePreparedStatementResult,
    Any, CommandGetCatalogs, CommandGetDbSchemas, CommandGetPrimaryKeys, CommandGetSqlInfo, CommandGetTableTypes,
    CommandGetTables, CommandGetXdbcTypeInfo, CommandPreparedStatementQuery, CommandStatementQuery,
    DoPutPreparedStatementResult, ProstMessageExt, SqlInfo, TicketStatementQuery,
};
use arrow_flight::{
    FlightDescriptor, FlightEndpoint, FlightInfo, HandshakeRequest, HandshakeResponse, IpcMessage, SchemaAsIpc, Ticket,
};
use futures::{Stream, StreamExt, TryStreamExt};
use lienthong::{Catalog, PlannedQuery, Session};
use prost::Message;
use tokio::sync::watch;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::{Request, Response, Status, Streaming};

use super::Config;
use super::caller::{Caller, Identities, SESSION_COOKIE, expiry};
use super::limits::{self, RateLimit, Slots};
use super::metadata;
use super::metrics::{Metered, Metrics};
use super::session;
use super::statement::{Query, Statements, encode_parameters};
use crate::auth::certificate::Certificates;
use crate::auth::jwt::Issuers;

mod handshake;
mod plain;

/// A catalog and the identities (token issuers, certificates) it declares.
struct Loaded {
    catalog: Catalog,
    identities: Identities,
    /// Counts reloads: a plan made under an earlier catalog is not run under this one.
    generation: u64,
}

type DoGetStream = Pin<Box<dyn Stream<Item = Result<arrow_flight::FlightData, Status>> + Send + 'static>>;

/// The Flight SQL service over one catalog.
pub struct Service {
    /// The catalog and the identities it declares; replaced whole by [`Service::reload`].
    loaded: std::sync::RwLock<Arc<Loaded>>,
    config: Config,
    statements: Statements,
    slots: Slots,
    rate: RateLimit,
    metrics: Arc<Metrics>,
    cancel: watch::Sender<bool>,
    /// Argon2 checks running at once (each takes ~19 MiB and a core): a flood of handshakes
    /// queues here instead of exhausting memory.
    handshakes: tokio::sync::Semaphore,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// A service over `catalog` with `config`'s limits and key; fails when a token issuer's key
    /// file cannot be used.
    pub fn new(catalog: Catalog, mut config: Config) -> anyhow::Result<Self> {
        let identities = Identities {
            issuers: Issuers::load(catalog.spec(), catalog.path())?,
            certificates: Certificates::of(catalog.spec()),
        };
        let sealer = std::mem::replace(&mut config.sealer, crate::auth::Sealer::random());
        let statements = Statements::new(
            sealer,
            config.ticket_ttl,
            config.handle_ttl,
            config.max_handles_per_principal,
        );
        let slots = Slots::new(
            config.max_queries,
            config.max_queries_per_principal,
            config.queue_timeout,
        );
        let rate = RateLimit::new(config.rate_per_minute, config.public_rate_per_minute);
        Ok(Self {
            loaded: std::sync::RwLock::new(Arc::new(Loaded {
                catalog,
                identities,
                generation: 0,
            })),
            config,
            statements,
            slots,
            rate,
            metrics: Arc::new(Metrics::default()),
            cancel: watch::Sender::new(false),
            handshakes: tokio::sync::Semaphore::new(std::thread::available_parallelism().map_or(2, usize::from)),
        })
    }

    /// The catalog and identities in force now.
    fn loaded(&self) -> Arc<Loaded> {
        Arc::clone(&self.loaded.read().unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Reads the catalog file again and serves the new policy to the requests that arrive from
    /// now on (queries already planned finish under the old one); the audit log, tickets and
    /// one-time ids carry over. A file that no longer validates, or a token issuer key that
    /// cannot be read, is an error and the running policy stays.
    pub fn reload(&self) -> anyhow::Result<()> {
        let catalog = self.loaded().catalog.reload()?;
        let identities = Identities {
            issuers: Issuers::load(catalog.spec(), catalog.path())?,
            certificates: Certificates::of(catalog.spec()),
        };
        let mut loaded = self.loaded.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        let generation = loaded.generation + 1;
        *loaded = Arc::new(Loaded {
            catalog,
            identities,
            generation,
        });
        Ok(())
    }

    /// Whether the catalog maps client certificates to principals.
    pub fn maps_certificates(&self) -> bool {
        !self.loaded().identities.certificates.is_empty()
    }

    /// The server's counters.
    pub fn metrics(&self) -> Arc<Metrics> {
        Arc::clone(&self.metrics)
    }

    /// Cancels every running query (shutdown after the grace period).
    pub fn cancel_all(&self) {
        self.cancel.send_replace(true);
    }

    /// The caller of a request, as [`super::Outer`] authenticated it.
    pub(crate) fn authenticate<T>(&self, mut request: Request<T>) -> Result<Request<T>, Status> {
        if let Some(assertion) = request.metadata().get(lienthong::node::ASSERTION_HEADER) {
            return match self.peer_call(&request, assertion) {
                Ok(caller) => {
                    request.extensions_mut().insert(caller);
                    Ok(request)
                }
                Err(status) => {
                    self.metrics.denied("authentication");
                    Err(status)
                }
            };
        }
        let certified = self.loaded().identities.certified(&request);
        match certified.and_then(|c| {
            Caller::of(
                request.metadata(),
                c,
                self.statements.sealer(),
                &self.loaded().identities.issuers,
            )
        }) {
            Ok(caller) => {
                request.extensions_mut().insert(caller);
                Ok(request)
            }
            Err(status) => {
                self.metrics.denied("authentication");
                Err(status)
            }
        }
    }

    /// A call from a peer node: its assertion verified by the core (and audited when refused).
    /// A call is a node acting for its caller, never a principal's token as well.
    fn peer_call<T>(&self, request: &Request<T>, assertion: &MetadataValue<Ascii>) -> Result<Caller, Status> {
        let refused = || Status::unauthenticated("the calling node's assertion was not accepted");
        if request.metadata().get("authorization").is_some() {
            return Err(refused());
        }
        let token = assertion.to_str().map_err(|_| refused())?;
        let chain = request.peer_certs();
        let presented = chain
            .as_deref()
            .and_then(|c| c.first())
            .map(|leaf| crate::auth::certificate::presented(leaf));
        let call = self
            .loaded()
            .catalog
            .verify_call(token, presented.as_ref())
            .map_err(|_| refused())?;
        Ok(Caller::remote(call))
    }

    /// The session for `caller` to run `sql`: a peer node's caller only for the SQL its node
    /// signed.
    pub(super) fn session_for(&self, caller: &Caller, sql: &str) -> Result<Session, Status> {
        self.rate
            .admit(&caller.principal)
            .inspect_err(|_| self.metrics.denied("rate"))?;
        match &caller.remote {
            Some(call) => self.loaded().catalog.remote_session(call, sql),
            None => self.loaded().catalog.session(&caller.principal, caller.purpose()),
        }
        .map_err(|e| self.refusal(e))
    }

    /// The caller's governed session; a refused principal or purpose is audited by the core.
    pub(super) fn session<T>(&self, request: &Request<T>) -> Result<(Caller, Session), Status> {
        let caller = caller(request)?;
        if caller.remote.is_some() {
            return Err(Status::permission_denied(
                "a call from another node carries one statement query, nothing else",
            ));
        }
        self.rate
            .admit(&caller.principal)
            .inspect_err(|_| self.metrics.denied("rate"))?;
        let session = self
            .loaded()
            .catalog
            .session(&caller.principal, caller.purpose())
            .map_err(|e| self.refusal(e))?;
        Ok((caller, session))
    }

    pub(super) fn refusal(&self, error: lienthong::Error) -> Status {
        if matches!(error, lienthong::Error::Denied(_)) {
            self.metrics.denied("policy");
        }
        status_of(error)
    }

    pub(super) fn ticket(&self, caller: &Caller, query: &Query) -> Ticket {
        Self::statement_ticket(self.statements.ticket(caller, query))
    }

    fn statement_ticket(handle: Vec<u8>) -> Ticket {
        Ticket::new(
            TicketStatementQuery {
                statement_handle: handle.into(),
            }
            .as_any()
            .encode_to_vec(),
        )
    }

    /// A FlightInfo for running `query` as `caller`: its schema and a ticket.
    async fn query_info(
        &self,
        session: &Session,
        caller: &Caller,
        query: &Query,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let (schema, ticket) = if caller.remote.is_none() {
            // Planned and governed once: DoGet runs this plan (the ticket names it).
            let params = query.parameters()?;
            let planned = session.plan(&query.sql, &params).await.map_err(|e| self.refusal(e))?;
            let schema = planned.schema();
            let handle = self
                .statements
                .ticket_for_plan(caller, query, planned, self.loaded().generation);
            (schema, Self::statement_ticket(handle))
        } else {
            // A peer's DoGet carries an assertion of its own, checked when it is planned.
            let described = session.describe(&query.sql).await.map_err(|e| self.refusal(e))?;
            (described.schema, self.ticket(caller, query))
        };
        let info = FlightInfo::new()
            .try_with_schema(&super::wire::schema(&schema))
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(FlightEndpoint::new().with_ticket(ticket))
            .with_descriptor(descriptor)
            .with_ordered(true);
        Ok(Response::new(info))
    }

    /// A FlightInfo whose ticket is the command itself (metadata: cheap and safe to re-run).
    fn metadata_info(
        &self,
        schema: &Schema,
        command: impl ProstMessageExt,
        descriptor: FlightDescriptor,
    ) -> Result<Response<FlightInfo>, Status> {
        let info = FlightInfo::new()
            .try_with_schema(schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_endpoint(FlightEndpoint::new().with_ticket(Ticket::new(command.as_any().encode_to_vec())))
            .with_descriptor(descriptor);
        Ok(Response::new(info))
    }

    /// Streams a whole result that is already in memory (metadata).
    fn batch_stream(schema: SchemaRef, batch: arrow::array::RecordBatch) -> Response<DoGetStream> {
        let stream = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(futures::stream::once(async move { Ok(batch) }))
            .map_err(Status::from);
        Response::new(Box::pin(stream))
    }

    /// Runs `query` for `caller` and streams its batches under the server's limits.
    async fn run(&self, caller: &Caller, session: Session, query: Query) -> Result<Response<DoGetStream>, Status> {
        let params = query.parameters()?;
        let permit = self
            .slots
            .acquire(&caller.principal)
            .await
            .inspect_err(|_| self.metrics.denied("busy"))?;
        let started = Instant::now();
        let planned = session.plan(&query.sql, &params).await.map_err(|e| self.refusal(e))?;
        self.stream(planned, permit, started)
    }

    /// Runs a query planned at GetFlightInfo for `caller`.
    async fn run_planned(&self, caller: &Caller, planned: PlannedQuery) -> Result<Response<DoGetStream>, Status> {
        let permit = self
            .slots
            .acquire(&caller.principal)
            .await
            .inspect_err(|_| self.metrics.denied("busy"))?;
        self.stream(planned, permit, Instant::now())
    }

    /// Streams a planned query's batches under the server's limits.
    fn stream(
        &self,
        planned: PlannedQuery,
        permit: limits::Permit,
        started: Instant,
    ) -> Result<Response<DoGetStream>, Status> {
        let stream = planned.run().map_err(|e| self.refusal(e))?;
        let schema = super::wire::schema(&stream.schema());
        let wire = Arc::clone(&schema);
        let batches = limits::run(
            stream.map_err(status_of),
            permit,
            self.config.idle_timeout,
            self.cancel.subscribe(),
        );
        let metrics = Arc::clone(&self.metrics);
        let counting = Arc::clone(&metrics);
        let batches = batches
            .inspect(move |b| {
                if let Ok(batch) = b {
                    counting.rows(batch.num_rows());
                }
            })
            .map(move |b| {
                b.and_then(|batch| super::wire::batch(batch, &wire).map_err(|e| Status::internal(e.to_string())))
            });
        let encoded = FlightDataEncoderBuilder::new()
            .with_schema(schema)
            .build(batches.map_err(FlightError::from))
            .map_err(Status::from);
        Ok(Response::new(Box::pin(Metered::new(encoded, metrics, started))))
    }
}

/// The caller that [`Service::authenticate`] put on the request.
pub(super) fn caller<T>(request: &Request<T>) -> Result<Caller, Status> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("invalid or expired token"))
}

/// The gRPC status for a core error. Denials say they are denials; sources, limits and the audit
/// say which class of failure without operator details such as file paths.
pub fn status_of(error: lienthong::Error) -> Status {
    use lienthong::Error;
    match error {
        Error::Denied(_) => Status::permission_denied(error.to_string()),
        Error::Query(_) => Status::invalid_argument(error.to_string()),
        Error::Source { .. } => Status::unavailable(error.to_string()),
        Error::Limit(_) | Error::Quota(_) => Status::resource_exhausted(error.to_string()),
        Error::Audit { .. } => Status::internal("the audit log could not be written; the query was not run"),
        Error::Catalog(_) | Error::Internal(_) => Status::internal(error.to_string()),
    }
}

/// The type a client should bind for a parameter: the plain form of DataFusion's view types,
/// which every client can build; `Null` where the query leaves it open.
fn parameter_type(inferred: Option<&DataType>) -> DataType {
    match inferred {
        Some(DataType::Utf8View) => DataType::Utf8,
        Some(DataType::BinaryView) => DataType::Binary,
        Some(other) => other.clone(),
        None => DataType::Null,
    }
}

fn ipc_schema(schema: &Schema) -> Result<prost::bytes::Bytes, Status> {
    let IpcMessage(bytes) = SchemaAsIpc::new(schema, &IpcWriteOptions::default())
        .try_into()
        .map_err(|e: arrow::error::ArrowError| Status::internal(e.to_string()))?;
    Ok(bytes)
}

#[tonic::async_trait]
impl FlightSqlService for Service {
    type FlightService = Service;

    async fn do_handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Pin<Box<dyn Stream<Item = Result<HandshakeResponse, Status>> + Send>>>, Status> {
        self.login(request).await
    }

    async fn get_flight_info_statement(
        &self,
        query: CommandStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let caller = caller(&request)?;
        let session = self.session_for(&caller, &query.query)?;
        if query.transaction_id.is_some() {
            return Err(Status::invalid_argument(
                "transactions are not supported (lienthong is read-only)",
            ));
        }
        let mut response = self
            .query_info(&session, &caller, &Query::new(query.query), request.into_inner())
            .await?;
        if let Some(call) = &caller.remote {
            // The calling node checks this against the key it pinned for this node.
            let acknowledgement = self.loaded().catalog.acknowledge(call).map_err(|e| self.refusal(e))?;
            let value = MetadataValue::try_from(acknowledgement).map_err(|_| Status::internal("acknowledgement"))?;
            response
                .metadata_mut()
                .insert(lienthong::node::ACKNOWLEDGEMENT_HEADER, value);
        }
        Ok(response)
    }

    async fn get_flight_info_prepared_statement(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        let (caller, session) = self.session(&request)?;
        let query = self
            .statements
            .handle(&caller, &command.prepared_statement_handle)
            .inspect_err(|_| self.metrics.denied("ticket"))?;
        self.query_info(&session, &caller, &query, request.into_inner()).await
    }

    async fn get_flight_info_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.into_builder().schema();
        self.metadata_info(&schema, query, request.into_inner())
    }

    async fn get_flight_info_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        self.metadata_info(&schema, query, request.into_inner())
    }

    async fn get_flight_info_tables(
        &self,
        query: CommandGetTables,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        self.metadata_info(&schema, query, request.into_inner())
    }

    async fn get_flight_info_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        let schema = query.into_builder().schema();
        self.metadata_info(&schema, query, request.into_inner())
    }

    async fn get_flight_info_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        caller(&request)?;
        let schema = query.clone().into_builder(metadata::sql_info()).schema();
        self.metadata_info(&schema, query, request.into_inner())
    }

    async fn get_flight_info_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        self.session(&request)?;
        self.metadata_info(&metadata::primary_keys_schema(), query, request.into_inner())
    }

    async fn get_flight_info_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<FlightDescriptor>,
    ) -> Result<Response<FlightInfo>, Status> {
        caller(&request)?;
        let schema = query.into_builder(metadata::type_info()).schema();
        self.metadata_info(&schema, query, request.into_inner())
    }

    async fn do_get_statement(
        &self,
        ticket: TicketStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let caller = caller(&request)?;
        let query = self
            .statements
            .redeem(&caller, &ticket.statement_handle)
            .inspect_err(|_| self.metrics.denied("ticket"))?;
        if caller.remote.is_none()
            && let Some(planned) = self.statements.take_plan(&query.id, self.loaded().generation)
        {
            self.rate
                .admit(&caller.principal)
                .inspect_err(|_| self.metrics.denied("rate"))?;
            return self.run_planned(&caller, planned).await;
        }
        let session = self.session_for(&caller, &query.sql)?;
        self.run(&caller, session, query).await
    }

    async fn do_get_prepared_statement(
        &self,
        _query: CommandPreparedStatementQuery,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        caller(&request)?;
        Err(Status::invalid_argument(
            "fetch a prepared statement's results with the ticket from GetFlightInfo",
        ))
    }

    async fn do_get_catalogs(
        &self,
        query: CommandGetCatalogs,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request)?;
        let mut builder = query.into_builder();
        builder.append(self.loaded().catalog.spec().node.name.as_str());
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build().map_err(Status::from)?))
    }

    async fn do_get_schemas(
        &self,
        query: CommandGetDbSchemas,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (_, session) = self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        let batch = metadata::db_schemas(&session, &self.loaded().catalog.spec().node.name, query)?;
        Ok(Self::batch_stream(schema, batch))
    }

    async fn do_get_tables(
        &self,
        query: CommandGetTables,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (_, session) = self.session(&request)?;
        let schema = query.clone().into_builder().schema();
        let batch = metadata::tables(&session, &self.loaded().catalog.spec().node.name, query).await?;
        Ok(Self::batch_stream(schema, batch))
    }

    async fn do_get_table_types(
        &self,
        query: CommandGetTableTypes,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        self.session(&request)?;
        let mut builder = query.into_builder();
        builder.append(metadata::TABLE_TYPE);
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build().map_err(Status::from)?))
    }

    async fn do_get_sql_info(
        &self,
        query: CommandGetSqlInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        caller(&request)?;
        let builder = query.into_builder(metadata::sql_info());
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build().map_err(Status::from)?))
    }

    async fn do_get_primary_keys(
        &self,
        query: CommandGetPrimaryKeys,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        let (_, session) = self.session(&request)?;
        let loaded = self.loaded();
        let spec = loaded.catalog.spec();
        let batch = metadata::primary_keys(&session, spec, &spec.node.name, &query)?;
        Ok(Self::batch_stream(metadata::primary_keys_schema(), batch))
    }

    async fn do_get_xdbc_type_info(
        &self,
        query: CommandGetXdbcTypeInfo,
        request: Request<Ticket>,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        caller(&request)?;
        let builder = query.into_builder(metadata::type_info());
        let schema = builder.schema();
        Ok(Self::batch_stream(schema, builder.build().map_err(Status::from)?))
    }

    async fn do_get_fallback(
        &self,
        request: Request<Ticket>,
        _message: Any,
    ) -> Result<Response<<Self as FlightService>::DoGetStream>, Status> {
        caller(&request)?;
        Err(Status::invalid_argument("not a ticket of this server"))
    }

    async fn do_put_prepared_statement_query(
        &self,
        command: CommandPreparedStatementQuery,
        request: Request<PeekableFlightDataStream>,
    ) -> Result<DoPutPreparedStatementResult, Status> {
        let caller = caller(&request)?;
        let mut query = self
            .statements
            .handle(&caller, &command.prepared_statement_handle)
            .inspect_err(|_| self.metrics.denied("ticket"))?;
        let mut batches = arrow_flight::decode::FlightRecordBatchStream::new_from_flight_data(
            request.into_inner().map_err(FlightError::from),
        );
        let mut rows = Vec::new();
        while let Some(batch) = batches.next().await {
            let batch = batch.map_err(|e| Status::invalid_argument(format!("parameters: {e}")))?;
            if batch.num_rows() > 0 {
                rows.push(batch);
            }
        }
        let total: usize = rows.iter().map(|b| b.num_rows()).sum();
        query.params = match (total, rows.first()) {
            (0, _) => None,
            (1, Some(row)) => Some(encode_parameters(row)?),
            _ => {
                return Err(Status::invalid_argument(format!(
                    "a query takes one row of parameters, not {total}"
                )));
            }
        };
        Ok(DoPutPreparedStatementResult {
            prepared_statement_handle: Some(self.statements.rebind(&caller, &query).into()),
        })
    }

    async fn do_action_create_prepared_statement(
        &self,
        query: ActionCreatePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<ActionCreatePreparedStatementResult, Status> {
        let (caller, session) = self.session(&request)?;
        if query.transaction_id.is_some() {
            return Err(Status::invalid_argument(
                "transactions are not supported (lienthong is read-only)",
            ));
        }
        let described = session.describe(&query.query).await.map_err(|e| self.refusal(e))?;
        let handle = self.statements.prepare(&caller, &query.query)?;
        let parameters = Schema::new(
            described
                .parameters
                .iter()
                .enumerate()
                .map(|(i, ty)| Field::new(format!("${}", i + 1), parameter_type(ty.as_ref()), true))
                .collect::<Vec<_>>(),
        );
        Ok(ActionCreatePreparedStatementResult {
            prepared_statement_handle: handle.into(),
            dataset_schema: ipc_schema(&super::wire::schema(&described.schema))?,
            parameter_schema: ipc_schema(&parameters)?,
        })
    }

    async fn do_action_close_prepared_statement(
        &self,
        query: ActionClosePreparedStatementRequest,
        request: Request<arrow_flight::Action>,
    ) -> Result<(), Status> {
        let caller = caller(&request)?;
        self.statements.close(&caller, &query.prepared_statement_handle)
    }

    async fn do_action_fallback(
        &self,
        request: Request<arrow_flight::Action>,
    ) -> Result<Response<<Self as FlightService>::DoActionStream>, Status> {
        if request.get_ref().r#type == session::QUOTAS_ACTION {
            let (_, session) = self.session(&request)?;
            let quotas = session.quotas().map_err(|e| self.refusal(e))?;
            let body = serde_json::to_vec(&quotas).map_err(|e| Status::internal(e.to_string()))?;
            return Ok(Response::new(Box::pin(futures::stream::iter([Ok(
                arrow_flight::Result { body: body.into() },
            )]))));
        }
        let caller = caller(&request)?;
        let action = request.into_inner();
        tracing::info!(principal = %caller.principal, action = %action.r#type, "session action");
        let (body, token) = session::answer(
            &action,
            &caller,
            self.statements.sealer(),
            self.loaded().catalog.spec(),
            expiry(self.config.token_ttl),
        )?;
        let mut response: Response<<Self as FlightService>::DoActionStream> =
            Response::new(Box::pin(futures::stream::iter([Ok(arrow_flight::Result {
                body: body.into(),
            })])));
        if let Some(token) = token {
            let value = |text: String| {
                MetadataValue::try_from(text).map_err(|_| Status::internal("token is not a header value"))
            };
            response
                .metadata_mut()
                .insert("authorization", value(format!("Bearer {token}"))?);
            response
                .metadata_mut()
                .insert("set-cookie", value(format!("{SESSION_COOKIE}={token}; HttpOnly"))?);
        }
        Ok(response)
    }

    async fn list_custom_actions(&self) -> Option<Vec<Result<arrow_flight::ActionType, Status>>> {
        Some(
            session::ACTIONS
                .iter()
                .map(|(name, description)| {
                    Ok(arrow_flight::ActionType {
                        r#type: (*name).into(),
                        description: (*description).into(),
                    })
                })
                .collect(),
        )
    }

    async fn register_sql_info(&self, _id: i32, _result: &SqlInfo) {}
}
