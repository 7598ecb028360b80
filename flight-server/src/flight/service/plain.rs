//! The plain Flight calls over the caller's tables: `ListFlights`, and `GetFlightInfo` /
//! `GetSchema` of a path descriptor `[database, table]`; also `GetSchema` of a query.

use arrow::datatypes::SchemaRef;
use arrow_flight::{FlightDescriptor, FlightEndpoint, FlightInfo};
use lienthong::Session;
use tonic::{Request, Status};

use super::{Service, caller};
use crate::flight::caller::Caller;
use crate::flight::statement::Query;

impl Service {
    /// One FlightInfo per table the caller may see (ListFlights), each with a path descriptor
    /// `[database, table]`, the governed schema, and a ticket for all its rows unless the table is
    /// aggregate-only for this caller.
    pub(crate) async fn list_tables(
        &self,
        request: &Request<arrow_flight::Criteria>,
    ) -> Result<Vec<FlightInfo>, Status> {
        let (caller, session) = self.session(request)?;
        let mut tables = session.tables();
        tables.sort();
        let mut infos = Vec::with_capacity(tables.len());
        for table in tables {
            let path: Vec<String> = table.split('.').map(str::to_owned).collect();
            infos.push(self.path_info(&caller, &session, &path).await?);
        }
        Ok(infos)
    }

    /// GetFlightInfo of a path descriptor `[database, table]`.
    pub(crate) async fn table_info(&self, request: &Request<FlightDescriptor>) -> Result<FlightInfo, Status> {
        let (caller, session) = self.session(request)?;
        self.path_info(&caller, &session, &request.get_ref().path).await
    }

    async fn path_info(&self, caller: &Caller, session: &Session, path: &[String]) -> Result<FlightInfo, Status> {
        let (table, schema) = self.path_schema(session, path).await?;
        let mut info = FlightInfo::new()
            .try_with_schema(&schema)
            .map_err(|e| Status::internal(e.to_string()))?
            .with_descriptor(FlightDescriptor::new_path(path.to_vec()));
        let aggregate_only = session.access(&table).is_some_and(|a| a.min_group_size.is_some());
        if !aggregate_only {
            let (database, name) = table.split_once('.').unwrap_or_default();
            let query = Query::new(format!("SELECT * FROM \"{database}\".\"{name}\""));
            info = info.with_endpoint(FlightEndpoint::new().with_ticket(self.ticket(caller, &query)));
        }
        Ok(info)
    }

    /// `database.table` and its governed schema, for a path the caller may see.
    async fn path_schema(&self, session: &Session, path: &[String]) -> Result<(String, SchemaRef), Status> {
        let [database, table] = path else {
            return Err(Status::invalid_argument("a path descriptor is [database, table]"));
        };
        let table = format!("{database}.{table}");
        let schema = session.table_schema(&table).await.map_err(|e| self.refusal(e))?;
        Ok((table, crate::flight::wire::schema(&schema)))
    }

    /// GetSchema of a path descriptor.
    pub(crate) async fn table_schema<T>(&self, request: &Request<T>, path: &[String]) -> Result<SchemaRef, Status> {
        let (_, session) = self.session(request)?;
        Ok(self.path_schema(&session, path).await?.1)
    }

    /// GetSchema of a query.
    pub(crate) async fn query_schema<T>(&self, request: &Request<T>, sql: &str) -> Result<SchemaRef, Status> {
        let (_, session) = self.session(request)?;
        let described = session.describe(sql).await.map_err(|e| self.refusal(e))?;
        Ok(crate::flight::wire::schema(&described.schema))
    }

    /// The query of one of the caller's open prepared statements.
    pub(crate) fn prepared<T>(&self, request: &Request<T>, handle: &[u8]) -> Result<Query, Status> {
        let caller = caller(request)?;
        self.statements
            .handle(&caller, handle)
            .inspect_err(|_| self.metrics.denied("ticket"))
    }
}
