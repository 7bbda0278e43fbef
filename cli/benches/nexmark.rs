//! A Nexmark-style workload end to end, over the Postgres wire like a user:
//!
//! 0. the machine's own wake-up round trip between two idle cores, the floor under any
//!    lookup's latency (on a virtual machine it moves with the host's load);
//! 1. ingest plus aggregation: generated bids (auction, bidder, price, channel, url,
//!    date_time) are loaded with `COPY bids FROM STDIN` from two connections, in CopyData
//!    messages of 64 KiB as psql and the JDBC driver send them, while a persistent
//!    `GROUP BY auction` count/sum/max keeps a table up to date; rows per second from the
//!    first COPY until the query has committed every row, when the table must hold every
//!    auction;
//! 2. key lookups under that load: a prepared `SELECT .. FROM auction_stats WHERE auction = $1`
//!    on a third connection (its own thread and runtime, as a separate application would
//!    have), 1,000 a second with random auctions while ingestion runs; median and p99;
//! 3. bounded memory: a table of `EDDY_BENCH_KEYS` keys (default 10,000,000) loaded with
//!    `--memory 256MiB`; the server's resident memory afterwards, and lookup latency.
//! 4. windows (issue 15) over the same bids, whose `date_time` advances 1 ms per bid and is
//!    the stream's ROWTIME (`TIMESTAMP = 'date_time'`): a 10-second TUMBLING count and max
//!    per auction end to end (COPY while the windowed table keeps up, rows per second from
//!    the first COPY until the query has committed every bid); then, over the bids already
//!    logged, catch-up from CREATE until committed of a plain GROUP BY with the same
//!    aggregates (the baseline), the same tumbling window, and a HOPPING window of 10 s
//!    advancing by 2 s (five windows per bid, Nexmark q5's first step); the server's peak
//!    resident memory (VmHWM) after each.
//!
//! Run: `cargo bench -p eddy --bench nexmark`, or `.. --bench nexmark -- windows` for part 4
//! alone. `EDDY_BENCH_ROWS` sets the number of bids (default 4,000,000), `EDDY_BENCH_KEYS`
//! the size of the table of part 3 (0 skips it).
//! The generator follows Nexmark's bid shape (reference/nexmark.md), with hot auctions:
//! most bids go to a small set of recent auctions.

#[path = "common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Server, rows_processed};
use futures::SinkExt;
use tokio_postgres::Client;

/// Rows per COPY statement; each is acknowledged once durable.
const ROWS_PER_COPY: usize = 100_000;
const WRITERS: usize = 2;
const CHANNELS: [&str; 4] = ["apple", "google", "facebook", "baidu"];

/// A small deterministic generator (SplitMix64).
struct Random(u64);

impl Random {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        (z ^ (z >> 31)) % bound
    }
}

/// Bids `first..first + count` as COPY text rows. Like Nexmark's generator, auction ids grow
/// with time and most bids go to one of the 100 newest auctions.
fn bids_text(first: usize, count: usize) -> String {
    let mut random = Random(first as u64);
    let mut text = String::with_capacity(count * 64);
    for event in first..first + count {
        let newest_auction = (event / 50) as u64 + 1000;
        let auction = if random.below(100) < 92 {
            newest_auction - random.below(100)
        } else {
            1000 + random.below(newest_auction - 999)
        };
        let bidder = 1000 + random.below(10_000);
        let price = 100 + random.below(10_000_000);
        let channel = CHANNELS[random.below(CHANNELS.len() as u64) as usize];
        let date_time = 1_700_000_000_000 + event as u64;
        let _ = writeln!(
            text,
            "{auction}\t{bidder}\t{price}\t{channel}\thttps://www.nexmark.com/{channel}/item.htm?query=1\t{date_time}"
        );
    }
    text
}

/// Bytes per CopyData message, as psql and the JDBC driver send a COPY's data: pieces of tens
/// of KiB, not one message of the whole statement.
const COPY_MESSAGE_BYTES: usize = 64 << 10;

async fn copy_in(client: &Client, statement: &str, text: String) {
    let sink = client.copy_in(statement).await.expect("COPY starts");
    futures::pin_mut!(sink);
    let data = Bytes::from(text);
    let mut pieces = futures::stream::iter(
        (0..data.len())
            .step_by(COPY_MESSAGE_BYTES)
            .map(|start| Ok(data.slice(start..data.len().min(start + COPY_MESSAGE_BYTES)))),
    );
    sink.send_all(&mut pieces).await.expect("COPY data");
    sink.finish().await.expect("COPY completes");
}

/// Latency percentiles of lookups, in milliseconds.
fn percentiles(mut samples: Vec<f64>) -> (f64, f64) {
    samples.sort_by(f64::total_cmp);
    let at = |quantile: f64| samples[((samples.len() - 1) as f64 * quantile) as usize];
    (at(0.5), at(0.99))
}

/// The machine's own wake-up latency, without Eddy: round trips over a Unix socket between
/// two threads pinned to different cores, one every millisecond so that the other core has
/// gone idle each time. A lookup needs at least one such round trip (the server's thread
/// wakes, then the client's), so this is a floor under its latency. On a virtual machine it
/// moves with the host's load, which makes it the context for the lookup figures.
fn wake_up_round_trips(count: usize) -> Option<(f64, f64)> {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixStream;

    fn pin_to_core(core: usize) -> bool {
        // SAFETY: `set` is a plain bit set that lives across the call, and its size is passed.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(core, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
        }
    }
    if std::thread::available_parallelism().map_or(1, |cores| cores.get()) < 2 {
        return None;
    }
    let (mut near, mut far) = UnixStream::pair().ok()?;
    let echo = std::thread::spawn(move || {
        pin_to_core(1);
        let mut byte = [0u8];
        while far.read_exact(&mut byte).is_ok() && far.write_all(&byte).is_ok() {}
    });
    let measured = std::thread::spawn(move || {
        pin_to_core(0);
        let mut byte = [0u8];
        let mut round_trips = Vec::with_capacity(count);
        for _ in 0..count {
            std::thread::sleep(Duration::from_millis(1));
            let started = Instant::now();
            near.write_all(&byte).ok()?;
            near.read_exact(&mut byte).ok()?;
            round_trips.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        Some(round_trips)
    })
    .join()
    .ok()??;
    let _ = echo.join();
    Some(percentiles(measured))
}

/// Lookups per second: a steady load of point reads, as an application would send.
const LOOKUPS_PER_SECOND: u64 = 1000;

/// Looks up random keys at `LOOKUPS_PER_SECOND` until `stop` is set; latencies in ms.
async fn lookups(
    client: Client,
    sql: &str,
    keys: std::ops::Range<i64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> Vec<f64> {
    let statement = client.prepare(sql).await.expect("prepares");
    let mut random = Random(7);
    let mut latencies = Vec::new();
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / LOOKUPS_PER_SECOND));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        ticks.tick().await;
        let key = keys.start + random.below((keys.end - keys.start) as u64) as i64;
        let started = Instant::now();
        client.query(&statement, &[&key]).await.expect("lookup");
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies
}

/// Runs `lookups` on a thread and runtime of its own, as an application apart from the bulk
/// loader would: the benchmark's own COPY writers then cannot delay the lookups' replies.
fn spawn_lookups(
    config: String,
    sql: &'static str,
    keys: std::ops::Range<i64>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
) -> std::thread::JoinHandle<Vec<f64>> {
    std::thread::Builder::new()
        .name("bench-lookups".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the lookups");
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&config, tokio_postgres::NoTls)
                    .await
                    .expect("connects");
                tokio::spawn(connection);
                lookups(client, sql, keys, stop).await
            })
        })
        .expect("a thread for the lookups")
}

async fn ingest_and_aggregate(server: &Server, rows: usize) {
    let setup = server.connect().await;
    setup
        .batch_execute(
            "CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time BIGINT) \
                 WITH (PARTITIONS = 2, TIMESTAMP = 'date_time');
             CREATE TABLE auction_stats AS
                 SELECT auction, COUNT(*) AS bids, SUM(price) AS volume, MAX(price) AS top_price
                 FROM bids GROUP BY auction EMIT CHANGES;",
        )
        .await
        .expect("setup");
    // Generated before the clock starts: the benchmark measures Eddy, not the generator.
    let chunks: Vec<String> = (0..rows)
        .step_by(ROWS_PER_COPY)
        .map(|first| bids_text(first, ROWS_PER_COPY.min(rows - first)))
        .collect();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lookup = spawn_lookups(
        server.config(),
        "SELECT bids, volume, top_price FROM auction_stats WHERE auction = $1",
        1000..1000 + (rows / 50) as i64,
        stop.clone(),
    );
    let started = Instant::now();
    load_bids(server, chunks).await;
    let ingested = started.elapsed().as_secs_f64();
    wait_caught_up(&setup, "CTAS_AUCTION_STATS", rows).await;
    let total = started.elapsed().as_secs_f64();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let latencies = lookup.join().expect("lookups");
    println!(
        "ingest (COPY, {WRITERS} connections, fsync) plus GROUP BY auction count/sum/max over {rows} bids: {:.0} rows/s end to end (ingest alone {:.0} rows/s)",
        rows as f64 / total,
        rows as f64 / ingested
    );
    let (median, p99) = percentiles(latencies.clone());
    println!(
        "key lookup while ingesting (prepared, {} lookups): median {median:.3} ms, p99 {p99:.3} ms",
        latencies.len()
    );
    let groups = setup
        .query_one("SELECT COUNT(*) FROM auction_stats", &[])
        .await
        .expect("count")
        .get::<_, i64>(0);
    let auctions = setup
        .query_one("SELECT COUNT(DISTINCT auction) FROM bids", &[])
        .await
        .expect("count")
        .get::<_, i64>(0);
    // Once the query has committed every bid, the table holds every auction.
    assert_eq!(groups, auctions, "auction_stats holds every auction bid on");
    println!("auction_stats holds {groups} auctions");
}

async fn bounded_memory(keys: usize) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &["--memory", "256MiB"]);
    let client = server.connect().await;
    client
        .batch_execute("CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner STRING, balance BIGINT) WITH (PARTITIONS = 2)")
        .await
        .expect("setup");
    let started = Instant::now();
    let mut peak = 0u64;
    for first in (0..keys).step_by(ROWS_PER_COPY) {
        let count = ROWS_PER_COPY.min(keys - first);
        let mut text = String::with_capacity(count * 32);
        for id in first..first + count {
            let _ = writeln!(text, "{id}\towner-{}\t{}", id % 1000, id * 7 % 10_000);
        }
        copy_in(&client, "COPY accounts FROM STDIN", text).await;
        peak = peak.max(server.resident_bytes().unwrap_or(0));
    }
    let seconds = started.elapsed().as_secs_f64();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lookup = spawn_lookups(
        server.config(),
        "SELECT owner, balance FROM accounts WHERE id = $1",
        0..keys as i64,
        stop.clone(),
    );
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let latencies = lookup.join().expect("lookups");
    let (median, p99) = percentiles(latencies);
    let count = client
        .query_one("SELECT COUNT(*) FROM accounts WHERE id < 1000", &[])
        .await
        .expect("count")
        .get::<_, i64>(0);
    assert_eq!(count, 1000.min(keys as i64), "the table holds its rows");
    println!(
        "table of {keys} keys with --memory 256MiB: loaded at {:.0} rows/s, peak resident memory while loading {} MiB, after {} MiB; random key lookup median {median:.3} ms, p99 {p99:.3} ms",
        keys as f64 / seconds,
        peak >> 20,
        server.resident_bytes().unwrap_or(0) >> 20
    );
}

/// COPYs the chunks into `bids` from `WRITERS` connections; returns when all are durable.
async fn load_bids(server: &Server, chunks: Vec<String>) {
    let mut chunks_per_writer: Vec<Vec<String>> = vec![Vec::new(); WRITERS];
    for (index, chunk) in chunks.into_iter().enumerate() {
        chunks_per_writer[index % WRITERS].push(chunk);
    }
    let mut writers = Vec::new();
    for chunks in chunks_per_writer {
        let client = server.connect().await;
        writers.push(tokio::spawn(async move {
            for chunk in chunks {
                copy_in(&client, "COPY bids FROM STDIN", chunk).await;
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
}

/// Waits until the query whose id starts with `id_prefix` has committed `rows` input rows.
async fn wait_caught_up(client: &Client, id_prefix: &str, rows: usize) {
    while rows_processed(client, id_prefix).await < rows {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The sum of `column` over a table: with every bid committed, a window table's bid counts
/// add up to the bids times the windows each falls in.
async fn sum_of(client: &Client, table: &str, column: &str) -> i64 {
    client
        .query_one(&format!("SELECT SUM({column}) FROM {table}"), &[])
        .await
        .expect("sum")
        .get::<_, i64>(0)
}

/// Creates `table` over the logged bids and times it until it has committed all `rows`.
async fn catch_up(server: &Server, client: &Client, table: &str, window: &str, rows: usize) {
    let started = Instant::now();
    client
        .batch_execute(&format!(
            "CREATE TABLE {table} AS SELECT auction, COUNT(*) AS bids, MAX(price) AS top_price \
                 FROM bids {window} GROUP BY auction EMIT CHANGES"
        ))
        .await
        .expect("create");
    wait_caught_up(client, &format!("CTAS_{}", table.to_uppercase()), rows).await;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "catch-up, {table} ({}) over {rows} logged bids: {:.0} rows/s; {} windows; peak resident memory {} MiB",
        if window.is_empty() {
            "GROUP BY auction"
        } else {
            window
        },
        rows as f64 / seconds,
        client
            .query_one(&format!("SELECT COUNT(*) FROM {table}"), &[])
            .await
            .expect("count")
            .get::<_, i64>(0),
        server.peak_resident_bytes().unwrap_or(0) >> 20
    );
}

async fn windows(rows: usize) {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time BIGINT) \
                 WITH (PARTITIONS = 2, TIMESTAMP = 'date_time');
             CREATE TABLE tumbling_live AS
                 SELECT auction, COUNT(*) AS bids, MAX(price) AS top_price
                 FROM bids WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY auction EMIT CHANGES;",
        )
        .await
        .expect("setup");
    let chunks: Vec<String> = (0..rows)
        .step_by(ROWS_PER_COPY)
        .map(|first| bids_text(first, ROWS_PER_COPY.min(rows - first)))
        .collect();
    let started = Instant::now();
    load_bids(&server, chunks).await;
    let ingested = started.elapsed().as_secs_f64();
    wait_caught_up(&client, "CTAS_TUMBLING_LIVE", rows).await;
    let total = started.elapsed().as_secs_f64();
    println!(
        "ingest (COPY, {WRITERS} connections, fsync) plus 10 s TUMBLING count/max per auction over {rows} bids: {:.0} rows/s end to end (ingest alone {:.0} rows/s); peak resident memory {} MiB",
        rows as f64 / total,
        rows as f64 / ingested,
        server.peak_resident_bytes().unwrap_or(0) >> 20
    );
    assert_eq!(
        sum_of(&client, "tumbling_live", "bids").await,
        rows as i64,
        "each bid is in one tumbling window"
    );
    catch_up(&server, &client, "group_by_catch_up", "", rows).await;
    catch_up(
        &server,
        &client,
        "tumbling_catch_up",
        "WINDOW TUMBLING (SIZE 10 SECONDS)",
        rows,
    )
    .await;
    catch_up(
        &server,
        &client,
        "hopping_catch_up",
        "WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 2 SECONDS)",
        rows,
    )
    .await;
    assert_eq!(
        sum_of(&client, "hopping_catch_up", "bids").await,
        5 * rows as i64,
        "each bid is in five hopping windows"
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    if std::env::args().any(|arg| arg == "--list") {
        println!("nexmark: benchmark");
        return;
    }
    let variable = |name: &str, default: usize| {
        std::env::var(name)
            .ok()
            .and_then(|value| value.parse().ok())
            .unwrap_or(default)
    };
    let rows = variable("EDDY_BENCH_ROWS", 4_000_000);
    let keys = variable("EDDY_BENCH_KEYS", 10_000_000);
    if std::env::args().any(|arg| arg == "windows") {
        windows(rows).await;
        return;
    }
    if let Some((median, p99)) = wake_up_round_trips(2000) {
        println!(
            "this machine: a wake-up round trip between two idle cores: median {median:.3} ms, p99 {p99:.3} ms"
        );
    }
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    ingest_and_aggregate(&server, rows).await;
    drop(server);
    if keys > 0 {
        bounded_memory(keys).await;
    }
    windows(rows).await;
}
