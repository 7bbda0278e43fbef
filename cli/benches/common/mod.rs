//! What the benchmarks share: the release `eddy` binary started on a fresh data directory,
//! and SHOW QUERIES read back.
//!
//! Never: assert on time; the benchmarks print figures, they do not judge them.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `eddy serve` on `data_dir` with `extra_args` (`--durability os`, ...), and
    /// with `--memory $EDDY_BENCH_MEMORY` where that is set and `extra_args` set none.
    pub fn start(data_dir: &Path, extra_args: &[&str]) -> Server {
        let memory: Vec<String> = match std::env::var("EDDY_BENCH_MEMORY") {
            Ok(size) if !extra_args.contains(&"--memory") => vec!["--memory".into(), size],
            _ => Vec::new(),
        };
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .args(extra_args)
            .args(&memory)
            // The server logs to the benchmark's stderr: warnings, or what RUST_LOG asks for.
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .spawn()
            .expect("eddy starts");
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("eddy prints its address")
                .expect("readable");
            if let Some(address) = line.strip_prefix("eddy listening on ") {
                break address
                    .rsplit(':')
                    .next()
                    .and_then(|port| port.trim().parse().ok())
                    .expect("a port");
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server { child, port }
    }

    /// The server's resident memory in bytes (Linux `/proc`), if it can be read.
    pub fn resident_bytes(&self) -> Option<u64> {
        self.status_bytes("VmRSS:")
    }

    /// The server's peak resident memory in bytes since it started (`VmHWM`).
    pub fn peak_resident_bytes(&self) -> Option<u64> {
        self.status_bytes("VmHWM:")
    }

    fn status_bytes(&self, field: &str) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        let line = status.lines().find(|line| line.starts_with(field))?;
        let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kib * 1024)
    }

    /// The connection string of the server.
    pub fn config(&self) -> String {
        format!("host=127.0.0.1 port={} user=bench", self.port)
    }

    pub async fn connect(&self) -> Client {
        let (client, connection) = tokio_postgres::connect(&self.config(), NoTls)
            .await
            .expect("connects");
        tokio::spawn(connection);
        client
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Rows processed so far by the query whose id starts with `id_prefix` (SHOW QUERIES).
pub async fn rows_processed(client: &Client, id_prefix: &str) -> usize {
    query_field(client, id_prefix, "rows_processed")
        .await
        .and_then(|rows| rows.parse().ok())
        .unwrap_or(0)
}

/// A column of the row in SHOW QUERIES of the query whose id starts with `id_prefix`.
pub async fn query_field(client: &Client, id_prefix: &str, column: &str) -> Option<String> {
    for message in client
        .simple_query("SHOW QUERIES")
        .await
        .expect("SHOW QUERIES")
    {
        if let SimpleQueryMessage::Row(row) = message
            && row
                .get("query_id")
                .is_some_and(|id| id.starts_with(id_prefix))
        {
            return row.get(column).map(str::to_string);
        }
    }
    None
}
