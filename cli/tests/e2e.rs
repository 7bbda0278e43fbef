//! End-to-end tests of the `eddy` binary: restarts, kill -9 recovery of acknowledged rows and
//! of running persistent queries, push queries across connections, cancel, and real clients
//! (psql, drivers, ORMs; `e2e/clients.rs` for the client matrix) against a real server
//! process.
//!
//! Every server listens on 127.0.0.1 on a port chosen at run time and is stopped by its test.
//! No test asserts on time: each waits for an event, with a generous bound that only turns a
//! hang into a failure.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls, SimpleQueryMessage};

/// Bound on any single wait: a hang becomes a failure with a message, never a stuck CI.
const WAIT_MAX: Duration = Duration::from_secs(60);

/// psql's describe commands and tab completion over Eddy's catalog.
#[path = "e2e/psql_catalog.rs"]
mod psql_catalog;

/// Drivers, ORMs and BI tools: psycopg 3 and 2, SQLAlchemy, node-postgres, pgjdbc,
/// tokio-postgres, and the queries of Grafana, DBeaver and Metabase.
#[path = "e2e/clients.rs"]
mod clients;

/// Windowed tables killed with SIGKILL while their windows are open, on this file's server.
#[path = "e2e/windows_kill9.rs"]
mod windows_kill9;

/// Table-table and stream-stream joins killed with SIGKILL while behind, on this file's server.
#[path = "e2e/joins_kill9.rs"]
mod joins_kill9;

/// Passwords, privileges and TLS, on this file's server.
#[path = "e2e/security.rs"]
mod security;
/// `eddy shell` on this file's server: scripts, piped statements, live push queries, Ctrl-C.
#[path = "e2e/shell.rs"]
mod shell;

/// A running `eddy serve` process.
struct Server {
    child: Child,
    address: String,
}

impl Server {
    fn start(data_dir: &Path, extra_args: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_eddy"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--listen")
            .arg("127.0.0.1:0")
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the eddy binary starts");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut lines = BufReader::new(stdout).lines();
        let address = loop {
            let line = lines
                .next()
                .expect("eddy prints its address before closing stdout")
                .expect("stdout is readable");
            if let Some(address) = line.strip_prefix("eddy listening on ") {
                break address.trim().to_string();
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Server { child, address }
    }

    fn port(&self) -> u16 {
        self.address
            .rsplit(':')
            .next()
            .and_then(|port| port.parse().ok())
            .expect("address has a port")
    }

    async fn connect(&self) -> Client {
        let config = format!("host=127.0.0.1 port={} user=eddy dbname=eddy", self.port());
        let (client, connection) = tokio_postgres::connect(&config, NoTls)
            .await
            .expect("connects");
        tokio::spawn(async move {
            let _ = connection.await;
        });
        client
    }

    /// SIGTERM, then wait for a clean exit.
    fn stop(mut self) {
        let status = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        assert!(
            status.is_ok_and(|status| status.success()),
            "kill -TERM works"
        );
        let deadline = Instant::now() + WAIT_MAX;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait works") {
                assert!(status.success(), "eddy exits cleanly on SIGTERM: {status}");
                return;
            }
            assert!(Instant::now() < deadline, "eddy did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// kill -9: no shutdown code runs.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL works");
        self.child.wait().expect("wait works");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn execute(client: &Client, sql: &str) {
    client
        .batch_execute(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// The first column of every row, as text, sorted.
async fn column(client: &Client, sql: &str) -> Vec<String> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    let mut values: Vec<String> = messages
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(row.get(0).unwrap_or("NULL").to_string()),
            _ => None,
        })
        .collect();
    values.sort();
    values
}

async fn count(client: &Client, sql: &str) -> i64 {
    column(client, sql).await[0].parse().expect("a count")
}

/// Polls until the query's count reaches `expected` (persistent queries are asynchronous).
async fn wait_for_count(client: &Client, sql: &str, expected: i64) {
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let current = count(client, sql).await;
        if current == expected {
            return;
        }
        assert!(
            current < expected,
            "{sql}: {current} rows, more than the {expected} expected"
        );
        assert!(
            Instant::now() < deadline,
            "{sql}: stuck at {current} of {expected} rows"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streams_and_persistent_queries_survive_a_restart() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(
        &client,
        "CREATE STREAM clicks (user_id BIGINT KEY, url STRING) WITH (PARTITIONS = 2);
         CREATE STREAM slow AS SELECT user_id, url FROM clicks WHERE url LIKE '/slow%' EMIT CHANGES;
         INSERT INTO clicks (user_id, url) VALUES (1, '/slow/a'), (2, '/fast'), (3, '/slow/b');",
    )
    .await;
    wait_for_count(&client, "SELECT COUNT(*) FROM slow", 2).await;
    drop(client);
    server.stop();

    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    assert_eq!(count(&client, "SELECT COUNT(*) FROM clicks").await, 3);
    execute(
        &client,
        "INSERT INTO clicks (user_id, url) VALUES (4, '/slow/c'), (5, '/fast');",
    )
    .await;
    wait_for_count(&client, "SELECT COUNT(*) FROM slow", 3).await;
    assert_eq!(
        column(&client, "SELECT url FROM slow").await,
        ["/slow/a", "/slow/b", "/slow/c"]
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_inserts_survive_kill_9() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let setup = server.connect().await;
    execute(
        &setup,
        "CREATE STREAM events (id BIGINT KEY, writer INT) WITH (PARTITIONS = 3);",
    )
    .await;
    // Four writers insert until the server dies; each remembers what was acknowledged.
    let mut writers = Vec::new();
    for writer in 0..4i64 {
        let client = server.connect().await;
        writers.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            for sequence in 0..100_000i64 {
                let id = writer * 1_000_000 + sequence;
                let sql = format!("INSERT INTO events (id, writer) VALUES ({id}, {writer})");
                if client.simple_query(&sql).await.is_err() {
                    break;
                }
                acknowledged.push(id);
            }
            acknowledged
        }));
    }
    // Let every writer get some rows acknowledged, then kill without warning.
    wait_until(|| async { count(&setup, "SELECT COUNT(*) FROM events").await >= 200 }).await;
    server.kill();
    let mut acknowledged = Vec::new();
    for writer in writers {
        acknowledged.extend(writer.await.unwrap());
    }

    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    let stored: Vec<i64> = column(&client, "SELECT id FROM events")
        .await
        .into_iter()
        .map(|id| id.parse().unwrap())
        .collect();
    let stored_set: std::collections::HashSet<i64> = stored.iter().copied().collect();
    assert_eq!(stored.len(), stored_set.len(), "no row is stored twice");
    let lost: Vec<&i64> = acknowledged
        .iter()
        .filter(|id| !stored_set.contains(id))
        .collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged rows lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(5)]
    );
    // Rows that were written but not yet acknowledged may or may not be there; nothing else.
    assert!(
        stored.len() <= acknowledged.len() + 4,
        "at most one unacknowledged row per writer"
    );
    execute(&client, "INSERT INTO events (id, writer) VALUES (-1, -1);").await;
    assert_eq!(
        count(&client, "SELECT COUNT(*) FROM events").await,
        stored.len() as i64 + 1
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_persistent_query_killed_repeatedly_has_no_duplicates_and_no_gaps() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(
        &client,
        "CREATE STREAM readings (sensor INT KEY, reading BIGINT) WITH (PARTITIONS = 2);
         CREATE STREAM even WITH (PARTITIONS = 3) AS
             SELECT sensor, reading, reading * 10 AS scaled FROM readings WHERE reading % 2 = 0
             PARTITION BY reading EMIT CHANGES;",
    )
    .await;
    drop(client);
    let mut server = server;
    let mut inserted = 0i64;
    for round in 0..5 {
        let client = server.connect().await;
        // 20 inserts of 500 rows each; the query runs while they land.
        for batch in 0..20 {
            let values: Vec<String> = (0..500)
                .map(|i| {
                    let reading = inserted + batch * 500 + i;
                    format!("({}, {reading})", reading % 7)
                })
                .collect();
            execute(
                &client,
                &format!(
                    "INSERT INTO readings (sensor, reading) VALUES {};",
                    values.join(", ")
                ),
            )
            .await;
        }
        inserted += 20 * 500;
        // Kill while the query is (most likely) mid-epoch.
        drop(client);
        server.kill();
        server = Server::start(data.path(), &[]);
        let _ = round;
    }
    let client = server.connect().await;
    assert_eq!(
        count(&client, "SELECT COUNT(*) FROM readings").await,
        inserted
    );
    wait_for_count(&client, "SELECT COUNT(*) FROM even", inserted / 2).await;
    let duplicates = count(
        &client,
        "SELECT COUNT(*) FROM (SELECT reading FROM even GROUP BY reading HAVING COUNT(*) > 1) AS repeated",
    )
    .await;
    assert_eq!(duplicates, 0, "no reading is in the output twice");
    let wrong = count(
        &client,
        "SELECT COUNT(*) FROM even WHERE scaled <> reading * 10 OR reading % 2 <> 0",
    )
    .await;
    assert_eq!(wrong, 0);
    let expected_sum: i64 = (0..inserted).filter(|reading| reading % 2 == 0).sum();
    assert_eq!(
        count(&client, "SELECT SUM(reading) FROM even").await,
        expected_sum
    );
    server.stop();
}

/// Every row of a result, its cells joined by `|`, sorted.
async fn rows(client: &Client, sql: &str) -> Vec<String> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error:?}"));
    let mut rows: Vec<String> = messages
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|index| row.get(index).unwrap_or("NULL").to_string())
                    .collect::<Vec<_>>()
                    .join("|"),
            ),
            _ => None,
        })
        .collect();
    rows.sort();
    rows
}

/// Waits until every running query has processed all of its input (lag 0, twice in a row).
async fn settle(client: &Client) {
    let deadline = Instant::now() + WAIT_MAX;
    let mut settled_polls = 0;
    while settled_polls < 2 {
        let messages = client
            .simple_query("SHOW QUERIES")
            .await
            .expect("SHOW QUERIES works");
        let behind = messages.iter().any(|message| match message {
            SimpleQueryMessage::Row(row) => row
                .get("lag")
                .is_some_and(|lag| lag.parse::<u64>().map_or(true, |lag| lag > 0)),
            _ => false,
        });
        settled_polls = if behind { 0 } else { settled_polls + 1 };
        assert!(Instant::now() < deadline, "queries did not catch up");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Writes until the server goes away: bids into a stream, upserts and deletes into a table.
async fn ingest_until_killed(client: Client, seed: u64) {
    let mut random = fastrand::Rng::with_seed(seed);
    loop {
        let bids: Vec<String> = (0..200)
            .map(|_| format!("({}, {})", random.u64(..50), random.u64(..1000)))
            .collect();
        let accounts: Vec<String> = (0..20)
            .map(|_| {
                format!(
                    "({}, 'r{}', {})",
                    random.u64(..100),
                    random.u64(..5),
                    random.u64(..500)
                )
            })
            .collect();
        let deleted: Vec<String> = (0..3).map(|_| random.u64(..100).to_string()).collect();
        let sql = format!(
            "INSERT INTO bids (auction, price) VALUES {};
             INSERT INTO accounts (id, region, balance) VALUES {};
             DELETE FROM accounts WHERE id IN ({});",
            bids.join(", "),
            accounts.join(", "),
            deleted.join(", ")
        );
        if client.batch_execute(&sql).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tables_killed_during_ingestion_equal_a_batch_recomputation() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(
        &client,
        "CREATE STREAM bids (auction BIGINT KEY, price BIGINT) WITH (PARTITIONS = 2);
         CREATE TABLE accounts (id BIGINT PRIMARY KEY, region STRING, balance BIGINT) WITH (PARTITIONS = 2);
         CREATE TABLE per_auction AS
             SELECT auction, COUNT(*) AS bids, SUM(price) AS total, MAX(price) AS highest
             FROM bids GROUP BY auction;
         CREATE TABLE per_region AS
             SELECT region, COUNT(*) AS accounts, SUM(balance) AS total, MIN(balance) AS low
             FROM accounts GROUP BY region;
         CREATE TABLE auctions_by_bids AS
             SELECT bids, COUNT(*) AS auctions FROM per_auction GROUP BY bids;",
    )
    .await;
    drop(client);
    let mut server = server;
    for round in 0..5u64 {
        let writer = tokio::spawn(ingest_until_killed(server.connect().await, round));
        // Let the writer and the queries run, then kill in the middle of it all.
        tokio::time::sleep(Duration::from_millis(300 + 150 * round)).await;
        server.kill();
        writer
            .await
            .expect("the writer ends when the server is gone");
        server = Server::start(data.path(), &[]);
    }
    let client = server.connect().await;
    settle(&client).await;
    assert!(count(&client, "SELECT COUNT(*) FROM bids").await > 0);
    let checks = [
        (
            "SELECT auction, bids, total, highest FROM per_auction",
            "SELECT auction, COUNT(*), SUM(price), MAX(price) FROM bids GROUP BY auction",
        ),
        (
            "SELECT region, accounts, total, low FROM per_region",
            "SELECT region, COUNT(*), SUM(balance), MIN(balance) FROM accounts GROUP BY region",
        ),
        (
            "SELECT bids, auctions FROM auctions_by_bids",
            "SELECT bids, COUNT(*) FROM per_auction GROUP BY bids",
        ),
    ];
    for (materialized, recomputed) in checks {
        assert_eq!(
            rows(&client, materialized).await,
            rows(&client, recomputed).await,
            "{materialized} differs from {recomputed}"
        );
    }
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_query_sees_rows_inserted_by_another_connection() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let writer = server.connect().await;
    execute(&writer, "CREATE STREAM ticks (n BIGINT);").await;
    let reader = server.connect().await;
    let rows = reader.query_raw(
        "SELECT n FROM ticks WHERE n > 1 EMIT CHANGES LIMIT 2",
        Vec::<i64>::new(),
    );
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // The push query starts at the end of the stream; the writer keeps inserting until the
    // reader has its rows, so the test does not depend on who starts first.
    let insert = {
        let done = done.clone();
        async move {
            let deadline = Instant::now() + WAIT_MAX;
            let mut n = 0i64;
            while !done.load(std::sync::atomic::Ordering::Relaxed) && Instant::now() < deadline {
                n += 1;
                execute(&writer, &format!("INSERT INTO ticks (n) VALUES ({n});")).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    };
    let (rows, ()) = tokio::join!(
        async {
            use futures::TryStreamExt;
            let stream = rows.await.expect("push query starts");
            let rows: Vec<tokio_postgres::Row> =
                tokio::time::timeout(WAIT_MAX, stream.try_collect())
                    .await
                    .expect("rows arrive")
                    .unwrap();
            done.store(true, std::sync::atomic::Ordering::Relaxed);
            rows
        },
        insert
    );
    let values: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(
        values[0] > 1 && values[1] == values[0] + 1,
        "consecutive new rows: {values:?}"
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_runs_a_session_and_streams_a_push_query_with_copy() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let port = server.port().to_string();
    let psql = |sql: &str| {
        let output = Command::new("psql")
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &port,
                "-U",
                "eddy",
                "-d",
                "eddy",
                "-X",
                "-v",
                "ON_ERROR_STOP=1",
                "-c",
                sql,
            ])
            .output()
            .expect("psql runs (install postgresql-client)");
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        (output.status.success(), stdout, stderr)
    };
    let (ok, _, stderr) = psql("CREATE STREAM pageviews (page STRING, ms BIGINT)");
    assert!(ok, "{stderr}");
    let (ok, stdout, stderr) = psql("INSERT INTO pageviews VALUES ('/a', 5), ('/b', 15)");
    assert!(ok, "{stderr}");
    assert!(stdout.contains("INSERT 0 2"), "{stdout}");
    let (ok, stdout, stderr) = psql("SELECT page, ms FROM pageviews ORDER BY ms");
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("/a") && stdout.contains("/b") && stdout.contains("(2 rows)"),
        "{stdout}"
    );
    let (ok, _, stderr) = psql("SELEC 1");
    assert!(!ok && stderr.contains("syntax error"), "{stderr}");

    // A live COPY: psql prints rows as they arrive; LIMIT ends it.
    let copy = std::thread::spawn({
        let port = port.clone();
        move || {
            Command::new("psql")
                .args(["-h", "127.0.0.1", "-p", &port, "-U", "eddy", "-d", "eddy", "-X", "-q", "-c"])
                .arg("SET 'auto.offset.reset' = 'earliest'; COPY (SELECT page FROM pageviews EMIT CHANGES LIMIT 3) TO STDOUT")
                .output()
                .expect("psql runs")
        }
    });
    let (ok, _, stderr) = psql("INSERT INTO pageviews VALUES ('/c', 25)");
    assert!(ok, "{stderr}");
    let output = copy.join().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout.lines().collect::<Vec<_>>(), ["/a", "/b", "/c"]);
    server.stop();
}

/// Runs psql with one command (`-c`), `stdin` piped in; returns (success, stdout, stderr).
fn psql_command(port: u16, command: &str, stdin: &[u8]) -> (bool, String, String) {
    let mut child = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args([
            "-U",
            "eddy",
            "-d",
            "eddy",
            "-X",
            "-v",
            "ON_ERROR_STOP=1",
            "-c",
            command,
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psql runs (install postgresql-client)");
    let mut input = child.stdin.take().expect("stdin is piped");
    std::io::Write::write_all(&mut input, stdin).expect("psql reads its input");
    drop(input);
    let output = child.wait_with_output().expect("psql ends");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).to_string(),
        String::from_utf8_lossy(&output.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psql_copy_loads_a_csv_file_and_text_from_stdin() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let port = server.port();
    let client = server.connect().await;
    execute(
        &client,
        "CREATE STREAM trips (id BIGINT KEY, city STRING, fare DECIMAL(6, 2), started TIMESTAMP) \
         WITH (PARTITIONS = 2, TIMESTAMP = 'started')",
    )
    .await;

    // A CSV file with quoted commas and quotes, and an empty (NULL) fare every tenth row.
    let mut csv = String::new();
    for id in 1..=1000 {
        let fare = if id % 10 == 0 {
            String::new()
        } else {
            format!("{}.50", id % 100)
        };
        let city = if id % 2 == 0 {
            "\"Oslo, \"\"Norway\"\"\""
        } else {
            "Bergen"
        };
        csv.push_str(&format!(
            "{id},{city},{fare},2024-01-01 00:00:{:02}\n",
            id % 60
        ));
    }
    let file = data.path().join("trips.csv");
    std::fs::write(&file, csv).unwrap();
    let command = format!("\\copy trips FROM '{}' WITH (FORMAT csv)", file.display());
    let (ok, stdout, stderr) = psql_command(port, &command, b"");
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "COPY 1000");
    assert_eq!(count(&client, "SELECT COUNT(*) FROM trips").await, 1000);
    assert_eq!(
        count(
            &client,
            "SELECT COUNT(*) FROM trips WHERE city = 'Oslo, \"Norway\"'"
        )
        .await,
        500
    );
    assert_eq!(
        count(&client, "SELECT COUNT(*) FROM trips WHERE fare IS NULL").await,
        100
    );
    assert_eq!(
        column(&client, "SELECT MIN(rowtime) FROM trips").await,
        ["1704067200000"],
        "rowtime comes from the TIMESTAMP column"
    );

    // Text format through psql's stdin, with a column list; a bad value names its line.
    let (ok, stdout, stderr) = psql_command(
        port,
        "\\copy trips (id, city, started) FROM pstdin",
        b"2001\tTromso\t2024-01-02 00:00:00\n2002\t\\N\t2024-01-02 00:00:00\n",
    );
    assert!(ok, "{stderr}");
    assert_eq!(stdout.trim(), "COPY 2");
    assert_eq!(
        column(&client, "SELECT city FROM trips WHERE id > 2000").await,
        ["NULL", "Tromso"]
    );
    let (ok, _, stderr) = psql_command(
        port,
        "\\copy trips (id, city) FROM pstdin",
        b"3001\tx\nnot a number\ty\n",
    );
    assert!(!ok);
    assert!(
        stderr.contains("invalid value 'not a number' for column \"id\" of type BIGINT, line 2"),
        "{stderr}"
    );
    assert_eq!(count(&client, "SELECT COUNT(*) FROM trips").await, 1002);
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_prepares_statements_and_streams_a_push_query() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let script = r#"
import sys, threading, psycopg
dsn = f"host=127.0.0.1 port={sys.argv[1]} user=eddy dbname=eddy"
with psycopg.connect(dsn, autocommit=True) as conn:
    conn.execute("CREATE STREAM orders (id BIGINT KEY, amount DOUBLE, note STRING)")
    # Run often enough that psycopg prepares it server-side (prepare_threshold = 5).
    for i in range(20):
        conn.execute("INSERT INTO orders (id, amount, note) VALUES (%s, %s, %s)", (i, i * 1.5, f"n{i}"))
    rows = conn.execute("SELECT id, amount FROM orders WHERE id >= %s ORDER BY id", (18,)).fetchall()
    assert rows == [(18, 27.0), (19, 28.5)], rows
    stop = threading.Event()
    def keep_writing():
        # The push query starts at the end of the stream: write until it has seen a row.
        with psycopg.connect(dsn, autocommit=True) as writer:
            n = 100
            while not stop.is_set() and n < 2000:
                writer.execute("INSERT INTO orders (id, amount, note) VALUES (%s, 1.0, 'late')", (n,))
                n += 1
                stop.wait(0.02)
    thread = threading.Thread(target=keep_writing)
    thread.start()
    cur = conn.cursor()
    seen = [row for row in cur.stream("SELECT id, note FROM orders WHERE id >= %s EMIT CHANGES LIMIT 1", (100,))]
    stop.set()
    thread.join()
    assert len(seen) == 1 and seen[0][0] >= 100 and seen[0][1] == "late", seen
print("psycopg ok")
"#;
    let output = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(server.port().to_string())
        .output()
        .expect("python3 runs");
    assert!(
        output.status.success() && String::from_utf8_lossy(&output.stdout).contains("psycopg ok"),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_a_push_query_and_the_session_goes_on() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(&client, "CREATE STREAM quiet (n BIGINT);").await;
    let cancel = client.cancel_token();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // A cancel that arrives before the query starts cancels nothing: repeat until it ends.
    let canceller = tokio::spawn({
        let done = done.clone();
        async move {
            let deadline = Instant::now() + WAIT_MAX;
            while Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(200)).await;
                if done.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                cancel
                    .cancel_query(NoTls)
                    .await
                    .expect("cancel request is sent");
            }
        }
    });
    let error = client
        .simple_query("SELECT n FROM quiet EMIT CHANGES")
        .await
        .expect_err("a cancelled push query ends with an error");
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    assert_eq!(
        error.code(),
        Some(&tokio_postgres::error::SqlState::QUERY_CANCELED),
        "{error}"
    );
    canceller.await.unwrap();
    assert_eq!(count(&client, "SELECT COUNT(*) FROM quiet").await, 0);
    server.stop();
}

async fn wait_until<F, Fut>(mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + WAIT_MAX;
    while !condition().await {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
