//! A real PostgreSQL server for the tests: `initdb` and `pg_ctl` from Debian's PostgreSQL 15 in a
//! temporary directory, on a free loopback port, logging every statement it receives; stopped and
//! removed when dropped. As root (sessions and CI), the server runs as the `postgres` user.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output};

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    dir: PathBuf,
    pub port: u16,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

/// A PostgreSQL binary, to run as `postgres` when we are root.
fn command(program: &str) -> Command {
    let path = format!("{BIN}/{program}");
    if is_root() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--", &path]);
        command
    } else {
        Command::new(path)
    }
}

/// Runs a PostgreSQL binary and checks that it succeeded.
fn pg(program: &str, args: &[&str]) -> Output {
    let path = format!("{BIN}/{program}");
    let output = command(program).args(args).output();
    let output =
        output.unwrap_or_else(|e| panic!("cannot run {path}: {e} (PostgreSQL 15 binaries are a prerequisite)"));
    assert!(
        output.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

impl Postgres {
    pub fn start() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("lienthong-pg-")
            .tempdir()
            .unwrap()
            .keep();
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap();
            assert!(status.success());
        }
        let data = dir.join("data");
        pg(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--no-sync",
            ],
        );
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let server = Self { dir, port };
        server.resume();
        server
    }

    /// Starts the server (again, after [`Postgres::crash`]) on its port.
    pub fn resume(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c log_statement=all -c fsync=off",
            self.port,
            self.dir.display()
        );
        let data = self.dir.join("data");
        let log = self.dir.join("server.log");
        pg(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    /// Stops the server at once, as a crash would (`pg_ctl stop -m immediate`).
    pub fn crash(&self) {
        let data = self.dir.join("data");
        pg(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Runs SQL through psql.
    pub fn psql(&self, sql: &str) -> String {
        let port = self.port.to_string();
        let out = pg(
            "psql",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "postgres",
                "-v",
                "ON_ERROR_STOP=1",
                "-qAt",
                "-c",
                sql,
            ],
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Everything the server logged, statements included.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let data = data.to_str().unwrap_or_default();
        let _ = command("pg_ctl").args(["-D", data, "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
