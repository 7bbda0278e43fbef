//! End-to-end benchmarks of the `eddy` binary, driven over the Postgres wire like a user:
//!
//! 1. bulk INSERT: rows per second of multi-row INSERTs from several connections;
//! 2. a stateless persistent query (filter + projection) catching up on a loaded stream:
//!    rows per second from CREATE STREAM .. AS SELECT until every row is processed;
//! 3. insert-to-subscriber latency: single-row INSERTs at a fixed rate on one connection,
//!    a push query on another; median and p99 of (received - sent), with `--durability fsync`
//!    and `--durability os`.
//!
//! Run: `cargo bench -p eddy --bench end_to_end` (figures go to stdout; docs/benchmarks.md
//! records them). `EDDY_BENCH_ROWS` sets the stream size (default 2,000,000).

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::StreamExt;

#[path = "common/mod.rs"]
mod common;

use common::{Server, rows_processed};

const ROWS_PER_INSERT: usize = 1000;
const WRITERS: usize = 4;

async fn bulk_insert(server: &Server, rows: usize) -> f64 {
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price BIGINT, channel STRING, url STRING) WITH (PARTITIONS = 2)")
        .await
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for writer in 0..WRITERS {
        let client = server.connect().await;
        tasks.push(tokio::spawn(async move {
            let mut row = writer;
            while row < rows {
                let mut sql =
                    String::from("INSERT INTO bids (auction, bidder, price, channel, url) VALUES ");
                let mut first = true;
                let end = (row + ROWS_PER_INSERT * WRITERS).min(rows + WRITERS);
                while row < end && row < rows {
                    if !first {
                        sql.push(',');
                    }
                    first = false;
                    let auction = row % 10_000;
                    sql.push_str(&format!(
                        "({auction},{},{},'channel-{}','https://example.com/{}')",
                        row % 77_777,
                        row % 10_007,
                        row % 5,
                        row % 1000
                    ));
                    row += WRITERS;
                }
                client.batch_execute(&sql).await.expect("insert");
            }
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let seconds = started.elapsed().as_secs_f64();
    rows as f64 / seconds
}

async fn stateless_query(server: &Server, rows: usize) -> f64 {
    let client = server.connect().await;
    let started = Instant::now();
    client
        .batch_execute(
            "CREATE STREAM expensive AS SELECT auction, bidder, price * 0.908 AS euros, upper(channel) AS channel \
             FROM bids WHERE price % 3 = 0 EMIT CHANGES",
        )
        .await
        .unwrap();
    loop {
        let processed = rows_processed(&client, "CSAS_EXPENSIVE").await;
        if processed >= rows {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    rows as f64 / started.elapsed().as_secs_f64()
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as i64
}

/// (median, p99) in milliseconds of insert-to-subscriber latency.
async fn push_latency(server: &Server, inserts_per_second: u64, samples: usize) -> (f64, f64) {
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE STREAM pings (sent_us BIGINT)")
        .await
        .unwrap();
    let subscriber = server.connect().await;
    let stream = subscriber
        .query_raw("SELECT sent_us FROM pings EMIT CHANGES", Vec::<i64>::new())
        .await
        .expect("push query starts");
    let receiver = tokio::spawn(async move {
        let mut latencies_us = Vec::with_capacity(samples);
        let mut stream = Box::pin(stream);
        while latencies_us.len() < samples {
            let row = stream.next().await.expect("rows keep coming").expect("row");
            let sent: i64 = row.get(0);
            latencies_us.push(now_us() - sent);
        }
        latencies_us
    });
    let writer = server.connect().await;
    let insert = writer
        .prepare("INSERT INTO pings (sent_us) VALUES ($1)")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / inserts_per_second));
    for _ in 0..samples {
        ticker.tick().await;
        writer.execute(&insert, &[&now_us()]).await.unwrap();
    }
    let mut latencies_us = receiver.await.unwrap();
    latencies_us.sort_unstable();
    let at = |quantile: f64| {
        latencies_us[((latencies_us.len() as f64 * quantile) as usize).min(latencies_us.len() - 1)]
            as f64
            / 1000.0
    };
    (at(0.5), at(0.99))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("end_to_end: benchmark");
        return;
    }
    let rows: usize = std::env::var("EDDY_BENCH_ROWS")
        .ok()
        .and_then(|rows| rows.parse().ok())
        .unwrap_or(2_000_000);
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--durability", "fsync"]);
    let insert_rate = bulk_insert(&server, rows).await;
    println!(
        "bulk INSERT ({WRITERS} connections, {ROWS_PER_INSERT} rows per statement, fsync): {insert_rate:.0} rows/s"
    );
    let query_rate = stateless_query(&server, rows).await;
    println!(
        "stateless persistent query (filter + projection) over {rows} rows: {query_rate:.0} rows/s"
    );
    if let Some(resident) = server.resident_bytes() {
        println!("server resident memory after both: {} MiB", resident >> 20);
    }
    drop(server);
    for durability in ["fsync", "os"] {
        let data = tempfile::tempdir().unwrap();
        let server = Server::start(data.path(), &["--durability", durability]);
        let (median, p99) = push_latency(&server, 1000, 5000).await;
        println!(
            "insert-to-subscriber latency at 1,000 inserts/s ({durability}): median {median:.2} ms, p99 {p99:.2} ms"
        );
    }
}
