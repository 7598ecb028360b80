//! The caller's catalog: the node as one catalog, each database a schema, and in it only the
//! tables the caller may see, as governed tables with only the columns it may see. Nothing else
//! exists for the caller: information_schema, SHOW and `SELECT *` read these.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::catalog::{CatalogProvider, SchemaProvider, TableProvider};
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::execution::context::SessionState;

use crate::catalog::Inner;
use crate::govern::{Binding, GovernedTable, governed_plan};
use crate::policy::TableAccess;

/// What the caller may see of each `(database, table)`.
pub(crate) type Accesses = BTreeMap<(String, String), TableAccess>;

/// The caller's identity as governed plans need it.
pub(crate) struct Caller {
    pub agency: String,
    /// Bound into row filters as `principal.<name>`.
    pub attributes: BTreeMap<String, lienthong_spec::AttributeValue>,
}

pub(crate) struct VisibleCatalog {
    schemas: BTreeMap<String, Arc<VisibleSchema>>,
}

impl std::fmt::Debug for VisibleCatalog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisibleCatalog")
            .field("schemas", &self.schemas.keys())
            .finish()
    }
}

impl VisibleCatalog {
    pub(crate) fn new(
        inner: Arc<Inner>,
        caller: Arc<Caller>,
        accesses: Arc<Accesses>,
        binder: Arc<SessionState>,
    ) -> Self {
        let mut schemas: BTreeMap<String, Arc<VisibleSchema>> = BTreeMap::new();
        for (database, _) in accesses.keys() {
            schemas.entry(database.clone()).or_insert_with(|| {
                Arc::new(VisibleSchema {
                    database: database.clone(),
                    inner: Arc::clone(&inner),
                    caller: Arc::clone(&caller),
                    accesses: Arc::clone(&accesses),
                    binder: Arc::clone(&binder),
                    built: Mutex::new(HashMap::new()),
                })
            });
        }
        Self { schemas }
    }
}

impl CatalogProvider for VisibleCatalog {
    fn schema_names(&self) -> Vec<String> {
        self.schemas.keys().cloned().collect()
    }

    fn schema(&self, name: &str) -> Option<Arc<dyn SchemaProvider>> {
        self.schemas.get(name).map(|s| Arc::clone(s) as Arc<dyn SchemaProvider>)
    }
}

struct VisibleSchema {
    database: String,
    inner: Arc<Inner>,
    caller: Arc<Caller>,
    accesses: Arc<Accesses>,
    /// Plans row filters; holds no caller state.
    binder: Arc<SessionState>,
    built: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
}

impl std::fmt::Debug for VisibleSchema {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VisibleSchema")
            .field("database", &self.database)
            .finish()
    }
}

#[async_trait]
impl SchemaProvider for VisibleSchema {
    fn table_names(&self) -> Vec<String> {
        self.accesses
            .keys()
            .filter(|(d, _)| *d == self.database)
            .map(|(_, t)| t.clone())
            .collect()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        let key = (self.database.clone(), name.to_owned());
        let Some(access) = self.accesses.get(&key) else {
            return Ok(None);
        };
        if let Some(table) = self.built.lock().ok().and_then(|b| b.get(name).cloned()) {
            return Ok(Some(table));
        }
        let raw = self.inner.sources.table(&self.database, name).await;
        let binding = Binding {
            attributes: Some(&self.caller.attributes),
            agency: &self.caller.agency,
            secret: self.inner.secret.as_ref(),
        };
        let plan = governed_plan(&self.binder, raw, &self.database, name, access, &binding)
            .map_err(|e| DataFusionError::Plan(format!("{}.{name}: {e}", self.database)))?;
        let table: Arc<dyn TableProvider> = Arc::new(GovernedTable::new(plan));
        if let Ok(mut built) = self.built.lock() {
            built.insert(name.to_owned(), Arc::clone(&table));
        }
        Ok(Some(table))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.accesses.contains_key(&(self.database.clone(), name.to_owned()))
    }
}
