//! `registries.sqlite`: the business registration database (enterprises, shareholders and the
//! open `enterprise_register` view) and the civil-servants database (agencies, personnel) in one
//! SQLite file, rows in key order, dates as ISO `YYYY-MM-DD` text in `DATE` columns.

use std::path::Path;

use rusqlite::{Connection, params};

use crate::business::{self, Enterprise, Share};
use crate::civil::{Agency, Servant};
use crate::people::CitizenId;
use crate::pick::{Day, date};
use crate::population::id_str;
use crate::reference::Reference;
use crate::{Error, Progress};

const SCHEMA: &str = "
CREATE TABLE enterprises (
    enterprise_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    legal_form TEXT NOT NULL,
    status TEXT NOT NULL,
    registration_date DATE NOT NULL,
    head_office_ward_code TEXT NOT NULL,
    head_office_province_code TEXT NOT NULL,
    charter_capital_vnd INTEGER NOT NULL,
    main_industry TEXT NOT NULL,
    legal_representative_id TEXT NOT NULL
);
CREATE TABLE shareholders (
    enterprise_code TEXT NOT NULL REFERENCES enterprises (enterprise_code),
    holder_kind TEXT NOT NULL CHECK (holder_kind IN ('citizen', 'enterprise')),
    holder_citizen_id TEXT,
    holder_enterprise_code TEXT REFERENCES enterprises (enterprise_code),
    share_pct REAL NOT NULL,
    capital_vnd INTEGER NOT NULL
);
CREATE TABLE agencies (
    agency_code TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    province_code TEXT,
    parent_code TEXT REFERENCES agencies (agency_code)
);
CREATE TABLE personnel (
    personnel_no TEXT PRIMARY KEY,
    citizen_id TEXT NOT NULL,
    agency_code TEXT NOT NULL REFERENCES agencies (agency_code),
    agency_province_code TEXT,
    position TEXT NOT NULL,
    grade_code TEXT NOT NULL,
    salary_coefficient REAL NOT NULL,
    start_date DATE NOT NULL,
    annual_rating TEXT NOT NULL
);
CREATE VIEW enterprise_register AS
    SELECT enterprise_code, name, legal_form, status, registration_date, head_office_ward_code,
           head_office_province_code, main_industry
    FROM enterprises;
";

const INDEXES: &str = "
CREATE INDEX enterprises_province ON enterprises (head_office_province_code);
CREATE INDEX enterprises_representative ON enterprises (legal_representative_id);
CREATE INDEX shareholders_enterprise ON shareholders (enterprise_code);
CREATE INDEX shareholders_citizen ON shareholders (holder_citizen_id);
CREATE INDEX personnel_citizen ON personnel (citizen_id);
CREATE INDEX personnel_province ON personnel (agency_province_code);
";

fn iso(day: Day) -> String {
    date(day).format("%Y-%m-%d").to_string()
}

/// What goes into the SQLite file.
pub(crate) struct Registries<'a> {
    pub r: &'a Reference,
    pub ids: &'a [CitizenId],
    pub enterprises: &'a [Enterprise],
    pub shares: &'a [Share],
    pub agencies: &'a [Agency],
    pub servants: &'a [Servant],
}

/// Writes `path` from scratch.
pub(crate) fn write(path: &Path, data: &Registries<'_>, progress: &dyn Progress) -> Result<(), Error> {
    let fail = |e: rusqlite::Error| Error::File {
        path: path.to_owned(),
        message: e.to_string(),
    };
    for stale in [path.to_owned(), path.with_extension("sqlite-journal")] {
        match std::fs::remove_file(&stale) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(Error::File {
                    path: stale,
                    message: e.to_string(),
                });
            }
            _ => {}
        }
    }
    let total = data.enterprises.len() + data.shares.len() + data.agencies.len() + data.servants.len();
    progress.stage("registries.sqlite", total as u64);
    let mut db = Connection::open(path).map_err(fail)?;
    db.execute_batch("PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA foreign_keys = ON;")
        .map_err(fail)?;
    let tx = db.transaction().map_err(fail)?;
    tx.execute_batch(SCHEMA).map_err(fail)?;
    insert(&tx, data, progress).map_err(fail)?;
    tx.execute_batch(INDEXES).map_err(fail)?;
    tx.commit().map_err(fail)?;
    db.execute_batch("ANALYZE;").map_err(fail)?;
    db.close().map_err(|(_, e)| fail(e))?;
    progress.finish_stage();
    Ok(())
}

fn insert(tx: &rusqlite::Transaction<'_>, data: &Registries<'_>, progress: &dyn Progress) -> rusqlite::Result<()> {
    let r = data.r;
    // Agencies first (personnel refer to them). A parent's code (`000.00.00.Xnn`) sorts before
    // the codes of its units, and the list is sorted, so parents come first.
    let mut statement = tx.prepare("INSERT INTO agencies VALUES (?1, ?2, ?3, ?4)")?;
    for a in data.agencies {
        statement.execute(params![
            a.code,
            a.name,
            a.province.map(|p| r.provinces[p].code.as_str()),
            a.parent
        ])?;
    }
    progress.advance(data.agencies.len() as u64);

    let mut order: Vec<usize> = (0..data.enterprises.len()).collect();
    order.sort_by(|&a, &b| data.enterprises[a].code.cmp(&data.enterprises[b].code));
    let mut statement = tx.prepare("INSERT INTO enterprises VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")?;
    for &i in &order {
        let e = &data.enterprises[i];
        let ward = &r.wards[e.ward];
        statement.execute(params![
            e.code,
            e.name,
            e.legal_form,
            e.status,
            iso(e.registered),
            ward.code,
            r.provinces[e.province].code,
            e.capital,
            e.industry,
            id_str(&data.ids[e.representative as usize]),
        ])?;
    }
    progress.advance(order.len() as u64);

    let mut shares: Vec<&Share> = data.shares.iter().collect();
    shares.sort_by(|a, b| {
        data.enterprises[a.enterprise]
            .code
            .cmp(&data.enterprises[b.enterprise].code)
    });
    let mut statement = tx.prepare("INSERT INTO shareholders VALUES (?1, ?2, ?3, ?4, ?5, ?6)")?;
    for s in &shares {
        let (citizen, enterprise) = business::holder_ids(s.holder, data.ids, data.enterprises);
        let kind = if citizen.is_some() { "citizen" } else { "enterprise" };
        statement.execute(params![
            data.enterprises[s.enterprise].code,
            kind,
            citizen,
            enterprise,
            s.pct(),
            s.capital(data.enterprises)
        ])?;
    }
    progress.advance(shares.len() as u64);

    let mut statement = tx.prepare("INSERT INTO personnel VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")?;
    for s in data.servants {
        let agency = &data.agencies[s.agency];
        statement.execute(params![
            s.number,
            id_str(&data.ids[s.person as usize]),
            agency.code,
            agency.province.map(|p| r.provinces[p].code.as_str()),
            s.position,
            s.grade,
            s.coefficient,
            iso(s.start),
            s.rating,
        ])?;
    }
    progress.advance(data.servants.len() as u64);
    Ok(())
}
