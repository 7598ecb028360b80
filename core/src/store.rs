//! Object stores behind file sources: S3-compatible (`s3://`), Google Cloud Storage (`gs://`) and
//! Azure (`az://`, `abfs://`, `abfss://`) URLs, configured from the source's `options` in the
//! catalog and from the environment (`AWS_*`, `GOOGLE_*`, `AZURE_*`, as the `object_store` crate
//! reads them); a catalog option wins over the environment.
//!
//! The stores are built when the catalog opens, without touching the network, and registered in
//! one registry that every session of the catalog shares: callers cannot register stores of their
//! own (no `CREATE EXTERNAL TABLE`), so this registry is the whole list of places a query can
//! read. A store is registered per bucket or container; two sources that name the same bucket
//! with different options would silently share credentials, so the second one is refused.

use std::collections::{BTreeMap, HashMap};
use std::str::FromStr;
use std::sync::Arc;

use datafusion::execution::object_store::{DefaultObjectStoreRegistry, ObjectStoreRegistry};
use lienthong_spec::{OptionValue, Source, SourceKind};
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::{ObjectStore, ObjectStoreScheme};
use url::Url;

/// A source's object-store options, resolved: (key, value) in catalog order.
type Options = Vec<(String, String)>;

/// The object-store registry of a catalog, and why a source's store could not be made.
pub(crate) struct ObjectStores {
    registry: Arc<DefaultObjectStoreRegistry>,
    problems: HashMap<String, String>,
}

impl std::fmt::Debug for ObjectStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectStores")
            .field("problems", &self.problems)
            .finish_non_exhaustive()
    }
}

impl ObjectStores {
    /// Builds and registers a store for every file source with a remote URL.
    pub(crate) fn new(sources: &BTreeMap<String, Source>) -> Self {
        let registry = Arc::new(DefaultObjectStoreRegistry::new());
        let mut problems = HashMap::new();
        // Which source registered each bucket, with which options.
        let mut owners: HashMap<String, (&str, Options)> = HashMap::new();
        for (name, source) in sources {
            let Some(url) = remote_url(source) else { continue };
            let built = options(source).and_then(|options| {
                let (root, store) = build(url, &options)?;
                Ok((root, store, options))
            });
            let (root, store, options) = match built {
                Ok(built) => built,
                Err(problem) => {
                    problems.insert(name.clone(), problem);
                    continue;
                }
            };
            let key = root.as_str().to_owned();
            match owners.get(&key) {
                Some((_, theirs)) if *theirs == options => {}
                Some((other, _)) => {
                    problems.insert(
                        name.clone(),
                        format!("source `{other}` uses the same bucket `{key}` with other options"),
                    );
                }
                None => {
                    registry.register_store(&root, store);
                    owners.insert(key, (name.as_str(), options));
                }
            }
        }
        Self { registry, problems }
    }

    /// The registry to give every session's runtime (it also serves local files).
    pub(crate) fn registry(&self) -> Arc<dyn ObjectStoreRegistry> {
        Arc::clone(&self.registry) as Arc<dyn ObjectStoreRegistry>
    }

    /// Why the store of `source` could not be made, if it could not.
    pub(crate) fn problem(&self, source: &str) -> Option<&str> {
        self.problems.get(source).map(String::as_str)
    }

    /// The store serving `url`, if one is registered.
    pub(crate) fn get(&self, url: &Url) -> Option<Arc<dyn ObjectStore>> {
        self.registry.get_store(url).ok()
    }
}

/// Whether a file source's URL names a remote object store (anything with a scheme but `file`).
pub(crate) fn is_remote(url: &str) -> bool {
    url.split_once("://").is_some_and(|(scheme, _)| scheme != "file")
}

fn remote_url(source: &Source) -> Option<&str> {
    let files = matches!(source.kind, SourceKind::Parquet | SourceKind::Csv | SourceKind::Json);
    source.url.as_deref().filter(|url| files && is_remote(url))
}

/// The source's options with environment references resolved. Values are secrets: they never
/// appear in a message.
fn options(source: &Source) -> Result<Options, String> {
    source
        .options
        .iter()
        .map(|(key, value)| {
            let value = match value {
                OptionValue::Plain(value) => value.clone(),
                OptionValue::Env(reference) => std::env::var(&reference.env)
                    .map_err(|_| format!("environment variable {} (option `{key}`) is not set", reference.env))?,
            };
            Ok((key.clone(), value))
        })
        .collect()
}

/// The store for `url` (rooted at its bucket or container) and the URL it is registered under.
fn build(url: &str, options: &[(String, String)]) -> Result<(Url, Arc<dyn ObjectStore>), String> {
    let parsed = Url::parse(url).map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    let (scheme, _) = ObjectStoreScheme::parse(&parsed).map_err(|e| e.to_string())?;
    let store: Arc<dyn ObjectStore> = match scheme {
        ObjectStoreScheme::AmazonS3 => {
            let mut builder = AmazonS3Builder::from_env().with_url(url);
            for (key, value) in options {
                builder = builder.with_config(config_key::<AmazonS3ConfigKey>(key, "s3")?, value);
            }
            Arc::new(builder.build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::GoogleCloudStorage => {
            let mut builder = GoogleCloudStorageBuilder::from_env().with_url(url);
            for (key, value) in options {
                builder = builder.with_config(config_key::<GoogleConfigKey>(key, "gs")?, value);
            }
            Arc::new(builder.build().map_err(|e| e.to_string())?)
        }
        ObjectStoreScheme::MicrosoftAzure => {
            let mut builder = MicrosoftAzureBuilder::from_env().with_url(url);
            for (key, value) in options {
                builder = builder.with_config(config_key::<AzureConfigKey>(key, "azure")?, value);
            }
            Arc::new(builder.build().map_err(|e| e.to_string())?)
        }
        _ => return Err(format!("`{}://` URLs are not supported for files", parsed.scheme())),
    };
    let root = Url::parse(&format!("{}://{}", parsed.scheme(), parsed.authority()))
        .map_err(|e| format!("`{url}` has no bucket: {e}"))?;
    Ok((root, store))
}

fn config_key<K: FromStr>(key: &str, store: &str) -> Result<K, String> {
    key.parse()
        .map_err(|_| format!("`{key}` is not an option of {store} object stores"))
}

#[cfg(test)]
mod tests;
