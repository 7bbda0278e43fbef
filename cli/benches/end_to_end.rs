//! End-to-end benchmarks of the `eddy` binary, driven over the Postgres wire like a user:
//!
//! 1. bulk INSERT: rows per second of multi-row INSERTs from several connections;
//! 2. a stateless persistent query (filter + projection) catching up on a loaded stream:
//!    rows per second from CREATE STREAM .. AS SELECT until every row is processed;
//! 3. insert-to-subscriber latency: single-row INSERTs at 1,000 a second on one connection,
//!    a push query on another; median and p99 of (received - sent) over 5,000 rows, with
//!    `--durability fsync`, and beside it the same measurement of Postgres' LISTEN/NOTIFY on
//!    a throwaway cluster (`common/postgres.rs`), runs alternating; then once with
//!    `--durability os`.
//!
//! Run: `cargo bench -p eddy --bench end_to_end` (figures go to stdout; docs/benchmarks.md
//! records them). `EDDY_BENCH_ROWS` sets the stream size (default 2,000,000),
//! `EDDY_BENCH_LATENCY_ROUNDS` the rounds of part 3 (default 4, each one run of both). Postgres'
//! binaries come from `apt-get install postgresql`; without them part 3 measures Eddy alone.

use std::future::poll_fn;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{Stream, StreamExt};
use tokio_postgres::{AsyncMessage, Client, NoTls, Statement};

#[path = "common/mod.rs"]
mod common;
#[path = "common/postgres.rs"]
mod postgres;

use common::{Server, rows_processed};
use postgres::{INSTALL_COMMAND, PostgresBinaries, PostgresCluster};

const ROWS_PER_INSERT: usize = 1000;
const WRITERS: usize = 4;
/// Part 3's rate and sample count, the same for Eddy and Postgres.
const INSERTS_PER_SECOND: u64 = 1000;
const SAMPLES: usize = 5000;

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

/// Median and p99 of one run's insert-to-subscriber latencies.
struct Latency {
    median_ms: f64,
    p99_ms: f64,
}

impl Latency {
    fn of(mut latencies_us: Vec<i64>) -> Latency {
        latencies_us.sort_unstable();
        let at = |quantile: f64| {
            let index =
                ((latencies_us.len() as f64 * quantile) as usize).min(latencies_us.len() - 1);
            latencies_us[index] as f64 / 1000.0
        };
        Latency {
            median_ms: at(0.5),
            p99_ms: at(0.99),
        }
    }
}

/// The one measurement both systems get: `writer` runs the prepared single-row `insert` with
/// its send time in microseconds, `INSERTS_PER_SECOND` times a second, `SAMPLES` times, while
/// a task takes the send times from `received` as the subscriber gets them and subtracts
/// each from the time it arrived.
async fn measure_latency<S>(writer: &Client, insert: &Statement, received: S) -> Latency
where
    S: Stream<Item = i64> + Send + 'static,
{
    let receiver = tokio::spawn(async move {
        let mut latencies_us = Vec::with_capacity(SAMPLES);
        let mut received = Box::pin(received);
        while latencies_us.len() < SAMPLES {
            let sent_us = received
                .next()
                .await
                .expect("the subscriber keeps receiving");
            latencies_us.push(now_us() - sent_us);
        }
        latencies_us
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut ticker = tokio::time::interval(Duration::from_micros(1_000_000 / INSERTS_PER_SECOND));
    for _ in 0..SAMPLES {
        ticker.tick().await;
        writer.execute(insert, &[&now_us()]).await.expect("insert");
    }
    Latency::of(receiver.await.expect("the receiver finishes"))
}

/// Eddy: a push query (`EMIT CHANGES`) over a stream on a fresh server started with
/// `--durability <durability>`.
async fn eddy_latency(durability: &str) -> Latency {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--durability", durability]);
    let setup = server.connect().await;
    setup
        .batch_execute("CREATE STREAM pings (sent_us BIGINT)")
        .await
        .unwrap();
    let subscriber = server.connect().await;
    let rows = subscriber
        .query_raw("SELECT sent_us FROM pings EMIT CHANGES", Vec::<i64>::new())
        .await
        .expect("push query starts");
    let received = rows.map(|row| row.expect("row").get::<_, i64>(0));
    let writer = server.connect().await;
    let insert = writer
        .prepare("INSERT INTO pings (sent_us) VALUES ($1)")
        .await
        .unwrap();
    measure_latency(&writer, &insert, received).await
}

/// Postgres' nearest equivalent of a push query over a stream: an AFTER INSERT trigger that
/// notifies the inserted row, and a connection that LISTENs. A trigger rather than a NOTIFY
/// sent after the INSERT in the same transaction, because then the writer sends what it
/// sends Eddy, one prepared single-row INSERT in its own (autocommit) transaction, one
/// round trip, and the row reaches the subscriber from the insert itself. Like Eddy's,
/// the row reaches the subscriber only once it is durable: a notification is delivered
/// after its transaction commits, and with synchronous_commit on a commit returns only
/// after its WAL record is flushed (fdatasync, as Eddy's log).
async fn postgres_latency(cluster: &PostgresCluster) -> Latency {
    let setup = cluster.connect().await;
    setup
        .batch_execute(
            "DROP TABLE IF EXISTS pings;
             CREATE TABLE pings (sent_us BIGINT);
             CREATE OR REPLACE FUNCTION notify_ping() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
                 PERFORM pg_notify('pings', NEW.sent_us::text);
                 RETURN NULL;
             END $$;
             CREATE TRIGGER ping_inserted AFTER INSERT ON pings
                 FOR EACH ROW EXECUTE FUNCTION notify_ping();",
        )
        .await
        .expect("table and trigger");
    let (listener, mut connection) = tokio_postgres::connect(&cluster.config(), NoTls)
        .await
        .expect("connects to the throwaway Postgres");
    let (payloads, received) = futures::channel::mpsc::unbounded::<String>();
    // This task drives the listening connection and hands each notification on to the
    // measuring task, as tokio-postgres' connection task hands Eddy's rows to the push
    // query's stream: one task hop on both sides.
    tokio::spawn(async move {
        while let Some(message) = poll_fn(|context| connection.poll_message(context)).await {
            if let AsyncMessage::Notification(notification) =
                message.expect("the listening connection stays up")
                && payloads
                    .unbounded_send(notification.payload().to_owned())
                    .is_err()
            {
                return;
            }
        }
    });
    listener.batch_execute("LISTEN pings").await.unwrap();
    let received = received.map(|payload| payload.parse::<i64>().expect("a send time"));
    let writer = cluster.connect().await;
    let insert = writer
        .prepare("INSERT INTO pings (sent_us) VALUES ($1)")
        .await
        .unwrap();
    measure_latency(&writer, &insert, received).await
}

/// The throwaway Postgres cluster, or why there is none (the run then measures Eddy alone).
async fn start_postgres() -> Result<(PostgresCluster, String), String> {
    let binaries = PostgresBinaries::find().ok_or_else(|| {
        format!(
            "no initdb and postgres under /usr/lib/postgresql/<version>/bin or on PATH; install them with `{INSTALL_COMMAND}`"
        )
    })?;
    let cluster = PostgresCluster::start(&binaries).await?;
    let version_row = cluster
        .connect()
        .await
        .query_one("SHOW server_version", &[])
        .await
        .map_err(|error| format!("SHOW server_version: {error}"))?;
    let version: String = version_row.get(0);
    let version = version.split_whitespace().next().unwrap_or("").to_owned();
    Ok((cluster, version))
}

fn print_latency(label: &str, latency: &Latency) {
    println!(
        "insert-to-subscriber latency at 1,000 inserts/s ({label}): median {:.2} ms, p99 {:.2} ms",
        latency.median_ms, latency.p99_ms
    );
}

/// Part 3. Eddy's runs and Postgres' alternate, in the order Eddy, Postgres, Postgres, Eddy,
/// Eddy, ..., so that the machine's drift and the position in a round hit both alike.
async fn insert_to_subscriber(rounds: usize) {
    let postgres = match start_postgres().await {
        Ok(postgres) => Some(postgres),
        Err(reason) => {
            println!("Postgres side skipped: {reason}");
            None
        }
    };
    let mut eddy_p99s_ms = Vec::new();
    let mut postgres_p99s_ms = Vec::new();
    for round in 0..rounds {
        let eddy_first = round % 2 == 0;
        for eddy_turn in [eddy_first, !eddy_first] {
            if eddy_turn {
                let latency = eddy_latency("fsync").await;
                print_latency("fsync", &latency);
                eddy_p99s_ms.push(latency.p99_ms);
            } else if let Some((cluster, version)) = &postgres {
                let latency = postgres_latency(cluster).await;
                print_latency(
                    &format!("Postgres {version} LISTEN/NOTIFY, fsync"),
                    &latency,
                );
                postgres_p99s_ms.push(latency.p99_ms);
            }
        }
    }
    let list = |p99s_ms: &[f64]| {
        p99s_ms
            .iter()
            .map(|p99_ms| format!("{p99_ms:.2}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!(
        "insert-to-subscriber p99 by round (ms): Eddy {}; Postgres {}",
        list(&eddy_p99s_ms),
        if postgres.is_some() {
            list(&postgres_p99s_ms)
        } else {
            "not measured".to_owned()
        }
    );
    drop(postgres);
    print_latency("os", &eddy_latency("os").await);
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("end_to_end: benchmark");
        return;
    }
    let rows = env_number("EDDY_BENCH_ROWS", 2_000_000);
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
    if let (Some(resident), Some(peak)) = (server.resident_bytes(), server.peak_resident_bytes()) {
        println!(
            "server resident memory after both: {} MiB (peak {} MiB)",
            resident >> 20,
            peak >> 20
        );
    }
    drop(server);
    insert_to_subscriber(env_number("EDDY_BENCH_LATENCY_ROUNDS", 4)).await;
}
