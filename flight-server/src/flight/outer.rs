//! The `FlightService` that tonic serves: it authenticates every call but the handshake before
//! handing it to the Flight SQL [`Service`], and answers the two plain Flight calls that
//! arrow-flight's Flight SQL plumbing does not let a service override (`ListFlights` for the
//! caller's tables, `GetSchema` of a query).

use std::pin::Pin;
use std::sync::Arc;

use arrow_flight::flight_descriptor::DescriptorType;
use arrow_flight::flight_service_server::FlightService;
use arrow_flight::sql::{Any, Command};
use arrow_flight::{
    Action, Criteria, Empty, FlightData, FlightDescriptor, FlightInfo, HandshakeRequest, PollInfo, SchemaAsIpc,
    SchemaResult, Ticket,
};
use futures::Stream;
use prost::Message;
use tonic::{Request, Response, Status, Streaming};

use super::service::{Service, status_of};
use super::statement::Query;

/// arrow-flight's Flight SQL plumbing answers a message it cannot decode with an *internal* error
/// quoting the decoder; for the caller it is an invalid argument, said plainly.
fn undecodable(status: Status) -> Status {
    let decoding = status.code() == tonic::Code::Internal
        && (status.message().starts_with("ParseError") || status.message().contains("decode"));
    if decoding {
        Status::invalid_argument("not a valid Flight SQL message")
    } else {
        status
    }
}

type Boxed<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// The served service: authentication in front of [`Service`].
#[derive(Debug, Clone)]
pub struct Outer(pub Arc<Service>);

#[tonic::async_trait]
impl FlightService for Outer {
    type HandshakeStream = <Service as FlightService>::HandshakeStream;
    type ListFlightsStream = Boxed<FlightInfo>;
    type DoGetStream = <Service as FlightService>::DoGetStream;
    type DoPutStream = <Service as FlightService>::DoPutStream;
    type DoActionStream = <Service as FlightService>::DoActionStream;
    type ListActionsStream = <Service as FlightService>::ListActionsStream;
    type DoExchangeStream = <Service as FlightService>::DoExchangeStream;

    async fn handshake(
        &self,
        request: Request<Streaming<HandshakeRequest>>,
    ) -> Result<Response<Self::HandshakeStream>, Status> {
        FlightService::handshake(&*self.0, request).await
    }

    async fn list_flights(&self, request: Request<Criteria>) -> Result<Response<Self::ListFlightsStream>, Status> {
        let request = self.0.authenticate(request)?;
        let infos = self.0.list_tables(&request).await?;
        Ok(Response::new(Box::pin(futures::stream::iter(
            infos.into_iter().map(Ok),
        ))))
    }

    async fn get_flight_info(&self, request: Request<FlightDescriptor>) -> Result<Response<FlightInfo>, Status> {
        let request = self.0.authenticate(request)?;
        if request.get_ref().r#type() == DescriptorType::Path {
            return self.0.table_info(&request).await.map(Response::new);
        }
        FlightService::get_flight_info(&*self.0, request)
            .await
            .map_err(undecodable)
    }

    async fn poll_flight_info(&self, request: Request<FlightDescriptor>) -> Result<Response<PollInfo>, Status> {
        self.0.authenticate(request)?;
        Err(Status::unimplemented(
            "PollFlightInfo is not supported; use GetFlightInfo",
        ))
    }

    async fn get_schema(&self, request: Request<FlightDescriptor>) -> Result<Response<SchemaResult>, Status> {
        let request = self.0.authenticate(request)?;
        let descriptor = request.get_ref();
        let schema = if descriptor.r#type() == DescriptorType::Path {
            self.0.table_schema(&request, &descriptor.path).await?
        } else {
            let any =
                Any::decode(&*descriptor.cmd).map_err(|_| Status::invalid_argument("not a Flight SQL command"))?;
            let sql = match Command::try_from(any).map_err(|_| Status::invalid_argument("not a Flight SQL command"))? {
                Command::CommandStatementQuery(q) => Query::new(q.query),
                Command::CommandPreparedStatementQuery(p) => self.0.prepared(&request, &p.prepared_statement_handle)?,
                other => {
                    return Err(Status::unimplemented(format!(
                        "GetSchema of {} is not supported; use GetFlightInfo",
                        other.type_url()
                    )));
                }
            };
            self.0.query_schema(&request, &sql.sql).await?
        };
        let result = SchemaAsIpc::new(&schema, &Default::default())
            .try_into()
            .map_err(|e: arrow::error::ArrowError| status_of(lienthong::Error::Internal(e.to_string())))?;
        Ok(Response::new(result))
    }

    async fn do_get(&self, request: Request<Ticket>) -> Result<Response<Self::DoGetStream>, Status> {
        let request = self.0.authenticate(request)?;
        FlightService::do_get(&*self.0, request).await.map_err(undecodable)
    }

    async fn do_put(&self, request: Request<Streaming<FlightData>>) -> Result<Response<Self::DoPutStream>, Status> {
        let request = self.0.authenticate(request)?;
        FlightService::do_put(&*self.0, request).await.map_err(undecodable)
    }

    async fn do_action(&self, request: Request<Action>) -> Result<Response<Self::DoActionStream>, Status> {
        let request = self.0.authenticate(request)?;
        FlightService::do_action(&*self.0, request).await.map_err(undecodable)
    }

    async fn list_actions(&self, request: Request<Empty>) -> Result<Response<Self::ListActionsStream>, Status> {
        let request = self.0.authenticate(request)?;
        FlightService::list_actions(&*self.0, request).await
    }

    async fn do_exchange(
        &self,
        request: Request<Streaming<FlightData>>,
    ) -> Result<Response<Self::DoExchangeStream>, Status> {
        self.0.authenticate(request)?;
        Err(Status::unimplemented("DoExchange is not supported"))
    }
}
