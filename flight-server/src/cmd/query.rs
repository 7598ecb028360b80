//! `lienthong query` and `lienthong explain`: one governed query as a principal, from the shell.
//!
//! Locally `--as` takes a principal id without a credential: whoever holds the catalog and its
//! files holds the data already. The query is governed and audited all the same.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use arrow::record_batch::RecordBatch;
use futures::StreamExt;
use lienthong::{Catalog, Error};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// One JSON object per line.
    Json,
    /// A Parquet file on standard output.
    Parquet,
}

/// Who asks, why, and how to print.
pub struct Request<'a> {
    pub catalog: &'a Path,
    pub principal: &'a str,
    pub purpose: Option<&'a str>,
    pub sql: &'a str,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// Exit status for an engine error: 3 when the policy refused (a quota too), 2 otherwise.
fn refused(error: &Error) -> ExitCode {
    eprintln!("error: {error}");
    ExitCode::from(if matches!(error, Error::Denied(_) | Error::Quota(_)) {
        3
    } else {
        2
    })
}

/// Runs the query and prints its results.
pub fn run(request: &Request<'_>, format: Format) -> anyhow::Result<ExitCode> {
    let catalog = open(request.catalog)?;
    runtime()?.block_on(async {
        let session = match catalog.session(request.principal, request.purpose) {
            Ok(session) => session,
            Err(error) => return Ok(refused(&error)),
        };
        let mut stream = match session.sql(request.sql).await {
            Ok(stream) => stream,
            Err(error) => return Ok(refused(&error)),
        };
        let schema = stream.schema();
        let mut out = std::io::stdout();
        let mut printer = Printer::new(format, &mut out, &schema)?;
        while let Some(batch) = stream.next().await {
            match batch {
                Ok(batch) => printer.write(&batch)?,
                Err(error) => return Ok(refused(&error)),
            }
        }
        printer.finish()?;
        Ok(ExitCode::SUCCESS)
    })
}

/// Prints the governed plan.
pub fn explain(request: &Request<'_>) -> anyhow::Result<ExitCode> {
    let catalog = open(request.catalog)?;
    runtime()?.block_on(async {
        let session = match catalog.session(request.principal, request.purpose) {
            Ok(session) => session,
            Err(error) => return Ok(refused(&error)),
        };
        match session.explain(request.sql).await {
            Ok(plan) => {
                lienthong_server::say!("{plan}");
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Ok(refused(&error)),
        }
    })
}

/// Prints the volume quotas of a principal acting for a purpose.
pub fn quotas(catalog: &Path, principal: &str, purpose: Option<&str>, json: bool) -> anyhow::Result<ExitCode> {
    let catalog = open(catalog)?;
    let quotas = match catalog.session(principal, purpose).and_then(|s| s.quotas()) {
        Ok(quotas) => quotas,
        Err(error) => return Ok(refused(&error)),
    };
    if json {
        lienthong_server::say!("{}", serde_json::to_string_pretty(&quotas)?);
        return Ok(ExitCode::SUCCESS);
    }
    if quotas.is_empty() {
        lienthong_server::say!("no quota holds for {principal} ({})", purpose.unwrap_or("no purpose"));
        return Ok(ExitCode::SUCCESS);
    }
    lienthong_server::say!(
        "{:<24} {:<9} {:<5} {:<6} {:<11} {:>9} {:>9} {:>9}  tables",
        "quota",
        "per",
        "unit",
        "window",
        "period",
        "limit",
        "used",
        "left"
    );
    for q in &quotas {
        lienthong_server::say!(
            "{:<24} {:<9} {:<5} {:<6} {:<11} {:>9} {:>9} {:>9}  {}",
            q.quota,
            q.per,
            q.unit,
            q.window,
            q.period.as_deref().unwrap_or("-"),
            q.limit,
            q.used,
            q.remaining,
            if q.tables.is_empty() {
                "every table".to_owned()
            } else {
                q.tables.join(", ")
            }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes batches as they come, in one format.
enum Printer<'a, W: Write + Send> {
    Table(&'a mut W, Vec<RecordBatch>),
    Csv(arrow::csv::Writer<&'a mut W>),
    Json(arrow::json::LineDelimitedWriter<&'a mut W>),
    Parquet(parquet::arrow::ArrowWriter<&'a mut W>),
}

impl<'a, W: Write + Send> Printer<'a, W> {
    fn new(format: Format, out: &'a mut W, schema: &arrow::datatypes::SchemaRef) -> anyhow::Result<Self> {
        Ok(match format {
            Format::Table => Self::Table(out, Vec::new()),
            Format::Csv => Self::Csv(arrow::csv::Writer::new(out)),
            Format::Json => Self::Json(arrow::json::LineDelimitedWriter::new(out)),
            Format::Parquet => Self::Parquet(parquet::arrow::ArrowWriter::try_new(out, schema.clone(), None)?),
        })
    }

    fn write(&mut self, batch: &RecordBatch) -> anyhow::Result<()> {
        match self {
            Self::Table(_, batches) => batches.push(batch.clone()),
            Self::Csv(w) => w.write(batch)?,
            Self::Json(w) => w.write(batch)?,
            Self::Parquet(w) => w.write(batch)?,
        }
        Ok(())
    }

    fn finish(self) -> anyhow::Result<()> {
        match self {
            Self::Table(out, batches) => {
                let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
                writeln!(out, "{}", arrow::util::pretty::pretty_format_batches(&batches)?)?;
                writeln!(out, "{rows} row{}", if rows == 1 { "" } else { "s" })?;
            }
            Self::Csv(w) => drop(w.into_inner()),
            Self::Json(mut w) => w.finish()?,
            Self::Parquet(w) => drop(w.close()?),
        }
        Ok(())
    }
}

/// The catalog, with the transport to other nodes for tables of `node` sources.
fn open(path: &Path) -> anyhow::Result<Catalog> {
    Ok(Catalog::open_with(
        path,
        lienthong::OpenOptions {
            transport: Some(std::sync::Arc::new(
                lienthong_server::flight::remote::FlightTransport::default(),
            )),
            ..lienthong::OpenOptions::default()
        },
    )?)
}
