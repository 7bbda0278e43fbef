//! The real `eddy` binary: its help documents every flag, `eddy serve` prints the address
//! it listens on (with the real port for `--listen 127.0.0.1:0`), serves a Postgres
//! client, runs without transparent huge pages, and exits cleanly on SIGTERM.
//!
//! Waits are bounded by `WAIT_MAX` so a hung binary fails the test; nothing asserts on time.

use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;
use tokio_postgres::NoTls;

const WAIT_MAX: Duration = Duration::from_secs(60);

#[test]
fn help_documents_every_flag() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["serve", "--help"])
        .output()
        .expect("eddy runs");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    for flag in [
        "--data-dir",
        "--listen",
        "--durability",
        "--memory",
        "fsync",
        "os",
        "./eddy-data",
        "5433",
        "--user",
        "--password-file",
        "EDDY_PASSWORD",
        "--tls-cert",
        "--tls-key",
        "--insecure",
    ] {
        assert!(
            help.contains(flag),
            "`eddy serve --help` mentions {flag}:\n{help}"
        );
    }
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_prints_its_address_serves_clients_and_stops_on_sigterm() {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let mut eddy = Command::new(env!("CARGO_BIN_EXE_eddy"))
        .arg("serve")
        .arg("--data-dir")
        .arg(data_dir.path())
        .args(["--listen", "127.0.0.1:0", "--durability", "os"])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .expect("eddy starts");
    let stdout = eddy.stdout.take().expect("piped stdout");
    let mut lines = BufReader::new(stdout).lines();
    let line = tokio::time::timeout(WAIT_MAX, lines.next_line())
        .await
        .expect("eddy prints its address within WAIT_MAX")
        .expect("stdout is readable")
        .expect("eddy prints a line before exiting");
    let address = line
        .strip_prefix("eddy listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    let (host, port) = address.rsplit_once(':').expect("host:port");
    assert_ne!(port, "0", "the printed address has the real port");

    let config = format!("host={host} port={port} user=eddy dbname=eddy");
    let (client, connection) = tokio_postgres::connect(&config, NoTls)
        .await
        .expect("eddy accepts a Postgres client");
    let connection = tokio::spawn(connection);
    client
        .batch_execute(
            "CREATE STREAM pings (id BIGINT KEY, note VARCHAR) \
             WITH (KAFKA_TOPIC = 'pings', VALUE_FORMAT = 'JSON'); \
             INSERT INTO pings (id, note) VALUES (1, 'hello')",
        )
        .await
        .expect("statements run");
    let row = client
        .query_one("SELECT note FROM pings WHERE id = $1", &[&1i64])
        .await
        .expect("the row reads back");
    assert_eq!(row.get::<_, String>(0), "hello");
    drop(client);
    let _closed = connection.await;

    let pid = eddy.id().expect("eddy is running").to_string();
    assert_transparent_huge_pages_off(&pid);
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = tokio::time::timeout(WAIT_MAX, eddy.wait())
        .await
        .expect("eddy exits within WAIT_MAX of SIGTERM")
        .expect("exit status");
    assert!(status.success(), "eddy exits cleanly on SIGTERM: {status}");
}

/// Eddy turns transparent huge pages off for itself. Kernels older than 6.0 do not show the
/// flag in /proc; there is nothing to check then.
fn assert_transparent_huge_pages_off(pid: &str) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return;
    };
    if let Some(line) = status.lines().find(|line| line.starts_with("THP_enabled:")) {
        assert_eq!(line.split_whitespace().nth(1), Some("0"), "{line}");
    }
}
