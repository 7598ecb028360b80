//! Tickets and prepared-statement handles: what the server hands a client to come back with.
//!
//! Both are sealed ([`crate::auth::Sealer`]) with the caller's principal, purpose and an expiry,
//! so they cannot be forged, extended or used by someone else. A ticket can be redeemed once. A
//! handle is also registered here, so that closing it ends it, and one principal cannot hold more
//! than a set number open. Bound parameters travel inside the handle (re-sealed after each bind).
//!
//! A ticket issued at GetFlightInfo also names the governed plan made there, kept here until the
//! ticket expires: DoGet runs that plan instead of planning again, once (the ticket is redeemed
//! first, so a replay finds neither). A plan made under a catalog that has since been reloaded is
//! not run; the query is then planned again, as it is when the plan is gone (expired, or more
//! than [`MAX_PLANS`] waiting).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use arrow::array::RecordBatch;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use datafusion::scalar::ScalarValue;
use serde::{Deserialize, Serialize};
use tonic::Status;

use super::caller::Caller;
use crate::auth::{Claims, Kind, Sealer, now};

/// A query as a ticket or handle carries it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Query {
    /// Random id: the ticket's (for single use) or the handle's (for the register).
    pub id: String,
    /// The SQL text as the client sent it.
    pub sql: String,
    /// The bound parameters: one row, Arrow IPC stream bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub params: Option<Vec<u8>>,
}

impl Query {
    /// A query with a fresh id and no parameters.
    pub fn new(sql: impl Into<String>) -> Self {
        Self {
            id: random_id(),
            sql: sql.into(),
            params: None,
        }
    }

    /// The bound parameters, `$1` first.
    pub fn parameters(&self) -> Result<Vec<ScalarValue>, Status> {
        match &self.params {
            None => Ok(Vec::new()),
            Some(bytes) => decode_parameters(bytes),
        }
    }
}

/// Most plans kept waiting for their DoGet; beyond, tickets are issued without one.
pub const MAX_PLANS: usize = 1024;

/// A plan waiting for its ticket's DoGet.
struct Kept {
    planned: lienthong::PlannedQuery,
    /// The catalog generation it was planned under.
    generation: u64,
    expires: u64,
}

/// Open handles by principal, and redeemed tickets, each with its expiry.
#[derive(Default)]
struct Register {
    handles: HashMap<String, HashMap<String, u64>>,
    redeemed: HashMap<String, u64>,
    /// Plans by ticket id.
    plans: HashMap<String, Kept>,
}

impl std::fmt::Debug for Register {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Register")
            .field("handles", &self.handles.len())
            .field("redeemed", &self.redeemed.len())
            .field("plans", &self.plans.len())
            .finish()
    }
}

/// Issues and checks tickets and handles.
#[derive(Debug)]
pub struct Statements {
    sealer: Sealer,
    ticket_ttl: Duration,
    handle_ttl: Duration,
    max_handles: usize,
    register: Mutex<Register>,
}

impl Statements {
    /// Tickets valid for `ticket_ttl`, handles for `handle_ttl` after their last use, at most
    /// `max_handles` open per principal.
    pub fn new(sealer: Sealer, ticket_ttl: Duration, handle_ttl: Duration, max_handles: usize) -> Self {
        Self {
            sealer,
            ticket_ttl,
            handle_ttl,
            max_handles,
            register: Mutex::new(Register::default()),
        }
    }

    /// The sealer, shared with bearer tokens.
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// A ticket for running `query` once, as `caller`.
    pub fn ticket(&self, caller: &Caller, query: &Query) -> Vec<u8> {
        let ticket = Query {
            id: random_id(),
            ..query.clone()
        };
        self.seal(caller, Kind::Ticket, self.ticket_ttl, &ticket)
    }

    /// A ticket for running `planned` (the plan of `query`, made under catalog `generation`)
    /// once, as `caller`.
    pub fn ticket_for_plan(
        &self,
        caller: &Caller,
        query: &Query,
        planned: lienthong::PlannedQuery,
        generation: u64,
    ) -> Vec<u8> {
        let ticket = Query {
            id: random_id(),
            ..query.clone()
        };
        let expires = now().saturating_add(self.ticket_ttl.as_secs());
        {
            let mut register = self.lock();
            let now = now();
            register.plans.retain(|_, k| k.expires > now);
            if register.plans.len() < MAX_PLANS {
                register.plans.insert(
                    ticket.id.clone(),
                    Kept {
                        planned,
                        generation,
                        expires,
                    },
                );
            }
        }
        self.seal(caller, Kind::Ticket, self.ticket_ttl, &ticket)
    }

    /// The plan of a redeemed ticket, if it is still kept and was made under `generation`.
    pub fn take_plan(&self, ticket_id: &str, generation: u64) -> Option<lienthong::PlannedQuery> {
        let kept = self.lock().plans.remove(ticket_id)?;
        (kept.generation == generation && kept.expires > now()).then_some(kept.planned)
    }

    /// The query of a ticket that `caller` may redeem now; it cannot be redeemed again.
    pub fn redeem(&self, caller: &Caller, ticket: &[u8]) -> Result<Query, Status> {
        let refused =
            || Status::permission_denied("ticket refused: not issued to this caller, expired or already used");
        let (query, expires) = self.open(caller, Kind::Ticket, ticket).ok_or_else(refused)?;
        let mut register = self.lock();
        let now = now();
        register.redeemed.retain(|_, e| *e > now);
        if register.redeemed.insert(query.id.clone(), expires).is_some() {
            return Err(refused());
        }
        Ok(query)
    }

    /// A new handle for `sql`, if `caller` has room for one more.
    pub fn prepare(&self, caller: &Caller, sql: &str) -> Result<Vec<u8>, Status> {
        let query = Query::new(sql);
        let expires = now().saturating_add(self.handle_ttl.as_secs());
        {
            let mut register = self.lock();
            let open = register.handles.entry(caller.principal.clone()).or_default();
            let now = now();
            open.retain(|_, e| *e > now);
            if open.len() >= self.max_handles {
                return Err(Status::resource_exhausted(format!(
                    "too many open prepared statements (at most {}); close some first",
                    self.max_handles
                )));
            }
            open.insert(query.id.clone(), expires);
        }
        Ok(self.seal(caller, Kind::Handle, self.handle_ttl, &query))
    }

    /// The query of an open handle of `caller`.
    pub fn handle(&self, caller: &Caller, handle: &[u8]) -> Result<Query, Status> {
        let refused = || Status::permission_denied("prepared statement refused: not this caller's, expired or closed");
        let (query, _) = self.open(caller, Kind::Handle, handle).ok_or_else(refused)?;
        let register = self.lock();
        let open = register
            .handles
            .get(&caller.principal)
            .and_then(|h| h.get(&query.id))
            .is_some_and(|e| *e > now());
        if open { Ok(query) } else { Err(refused()) }
    }

    /// The handle of `query` (an open handle's, with new parameters), valid for another period.
    pub fn rebind(&self, caller: &Caller, query: &Query) -> Vec<u8> {
        let expires = now().saturating_add(self.handle_ttl.as_secs());
        if let Some(entry) = self
            .lock()
            .handles
            .get_mut(&caller.principal)
            .and_then(|h| h.get_mut(&query.id))
        {
            *entry = expires;
        }
        self.seal(caller, Kind::Handle, self.handle_ttl, query)
    }

    /// Closes an open handle of `caller`.
    pub fn close(&self, caller: &Caller, handle: &[u8]) -> Result<(), Status> {
        let query = self.handle(caller, handle)?;
        if let Some(open) = self.lock().handles.get_mut(&caller.principal) {
            open.remove(&query.id);
        }
        Ok(())
    }

    fn seal(&self, caller: &Caller, kind: Kind, ttl: Duration, query: &Query) -> Vec<u8> {
        self.sealer.seal(&Claims {
            kind,
            principal: caller.principal.clone(),
            purpose: caller.purpose.clone(),
            expires: now().saturating_add(ttl.as_secs()),
            payload: serde_json::to_vec(query).unwrap_or_default(),
        })
    }

    /// The query and expiry of a genuine, current token of `kind` issued to `caller`.
    fn open(&self, caller: &Caller, kind: Kind, token: &[u8]) -> Option<(Query, u64)> {
        let claims = self.sealer.open(token, kind, now()).ok()?;
        if !claims.is_for(&caller.principal, caller.purpose()) {
            return None;
        }
        let query = serde_json::from_slice(&claims.payload).ok()?;
        Some((query, claims.expires))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Register> {
        // The register holds no invariant a panicking holder could break half-way.
        self.register.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One row of parameters as Arrow IPC stream bytes.
pub fn encode_parameters(row: &RecordBatch) -> Result<Vec<u8>, Status> {
    let failed = |e: arrow::error::ArrowError| Status::invalid_argument(format!("parameters: {e}"));
    let mut writer = StreamWriter::try_new(Vec::new(), &row.schema()).map_err(failed)?;
    writer.write(row).map_err(failed)?;
    writer.into_inner().map_err(failed)
}

/// The values of a one-row parameter batch, in column order.
fn decode_parameters(bytes: &[u8]) -> Result<Vec<ScalarValue>, Status> {
    let failed = |e: String| Status::invalid_argument(format!("parameters: {e}"));
    let reader = StreamReader::try_new(bytes, None).map_err(|e| failed(e.to_string()))?;
    let mut values = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| failed(e.to_string()))?;
        for column in batch.columns() {
            values.push(ScalarValue::try_from_array(column, 0).map_err(|e| failed(e.to_string()))?);
        }
    }
    Ok(values)
}

fn random_id() -> String {
    let mut bytes = [0u8; 16];
    OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
