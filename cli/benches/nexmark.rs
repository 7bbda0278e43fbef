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
//! 5. joins (issue 16) over Nexmark's three kinds of events, each query on a fresh server:
//!    every event is loaded (COPY from two connections, each chunk of 100,000 events as its
//!    persons, then its auctions, then its bids, as a source emits them in event time) while
//!    the query keeps up; events per second, counting all three kinds as Nexmark does, from
//!    the first COPY until the query has committed every input row and the queries it feeds
//!    have caught up (no lag); the server's peak resident memory; and the query's answer
//!    checked against one the bench computes from the events it generated.
//!    - q3 (local item suggestion) is a foreign-key join of two TABLEs, `auctions a JOIN
//!      persons p ON a.seller = p.id` with the category and state filters: a person and an
//!      auction are entities keyed by id, as a ksqlDB user keeps them, and a join of tables
//!      is incremental whatever the order the two arrive in, which Flink's regular join of
//!      two append-only inputs also is.
//!    - q4 (average closing price per category) is a join of the auctions and bids STREAMs
//!      `WITHIN (0 SECONDS, 4 SECONDS)` (an auction closes at most 3,332 ms after it opens)
//!      with `b.date_time BETWEEN a.date_time AND a.expires`, taking `MAX(price)` per auction
//!      into a table, and `AVG` of that per category over the table. Not a stream-table join
//!      of bids to an auctions table: that reads the table as it stands when a bid is
//!      processed, so a bid loaded before its auction's row is committed would find none, and
//!      the answer would depend on how the two loads interleave.
//!    - q8 (new users) is a join of the persons and auctions STREAMs `WITHIN 10 SECONDS ON
//!      p.id = a.seller` with both rows in the same 10-second window (`p.ROWTIME / 10000 =
//!      a.ROWTIME / 10000`): a row per person and auction of theirs, where Flink's q8 first
//!      takes each person and each seller once per window (two windowed GROUP BYs inside the
//!      join) and has a row per person. The bench checks both counts.
//!    - q7 (highest bid per window) is a window TVF subquery (`MAX(price)` per 10-second
//!      TUMBLE of the bids) joined back to the bids `WITHIN 10 SECONDS` on the price and the
//!      window; Flink's q8 is two window TVF subqueries (a person, and a seller, once per
//!      window) joined on the person and the window. A window TVF closes with grace 0, so
//!      these two are loaded from one connection, each chunk after the one before: every
//!      source is then in event-time order, and a window closes after all its rows. Their
//!      joins take `GRACE PERIOD 5 MINUTES`, which covers how far one source's chunk runs
//!      ahead of another's (100 s of event time). Only windows that stream time has closed
//!      by the end have rows, and the bench's answer counts those.
//!
//!    The joins of q4 and q8 keep ksqlDB's default grace (a day less the window), so their
//!    state holds every row of the run, as Flink's q4 does. A short GRACE PERIOD would bound
//!    it, but with two writers a source is out of order by up to two chunks (200 s of event
//!    time), and a grace below that sets rows aside as late.
//!
//! Run: `cargo bench --workspace --bench nexmark`, or `.. --bench nexmark -- windows` (or
//! `joins`) for part 4 (or 5) alone; `.. -- joins q4 q7` runs those queries of part 5 only
//! (q3, q4, q7, q8, flink_q8). `EDDY_BENCH_ROWS` sets the number of bids, and of events
//! in part 5 (default 4,000,000), `EDDY_BENCH_KEYS` the size of the table of part 3 (0 skips
//! it), `EDDY_BENCH_MEMORY` the servers' `--memory` where a part sets none (default 256MiB).
//! The bids of parts 1 to 4 follow Nexmark's bid shape (reference/nexmark.md), with hot
//! auctions: most bids go to a small set of recent auctions. Part 5's events follow Nexmark's
//! generator: its proportions, ids, field shapes and hot sellers, bidders and auctions.

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{Server, query_field, rows_processed};
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

    /// Uniform in [0, 1).
    fn fraction(&mut self) -> f64 {
        const RESOLUTION: u64 = 1 << 53;
        self.below(RESOLUTION) as f64 / RESOLUTION as f64
    }
}

/// Event time of the first event; each event (each bid in parts 1 to 4) is 1 ms after the
/// one before. A multiple of 10 s, so that q8's windows start on it.
const FIRST_EVENT_MS: u64 = 1_700_000_000_000;

/// A source of the workload, declared as a stream or as a table as its query needs.
struct Source {
    name: &'static str,
    key: &'static str,
    columns: &'static str,
}

impl Source {
    fn stream(&self) -> String {
        format!(
            "CREATE STREAM {} ({} KEY, {}) WITH (PARTITIONS = 2, TIMESTAMP = 'date_time');",
            self.name, self.key, self.columns
        )
    }

    fn table(&self) -> String {
        format!(
            "CREATE TABLE {} ({} PRIMARY KEY, {}) WITH (PARTITIONS = 2, TIMESTAMP = 'date_time');",
            self.name, self.key, self.columns
        )
    }

    fn copy(&self) -> String {
        format!("COPY {} FROM STDIN", self.name)
    }
}

const PERSONS: Source = Source {
    name: "persons",
    key: "id BIGINT",
    columns: "name STRING, email STRING, credit_card STRING, city STRING, state STRING, date_time BIGINT",
};
const AUCTIONS: Source = Source {
    name: "auctions",
    key: "id BIGINT",
    columns: "item_name STRING, description STRING, initial_bid BIGINT, reserve BIGINT, \
              date_time BIGINT, expires BIGINT, seller BIGINT, category BIGINT",
};
const BIDS: Source = Source {
    name: "bids",
    key: "auction BIGINT",
    columns: "bidder BIGINT, price BIGINT, channel STRING, url STRING, date_time BIGINT",
};

/// Appends a bid as a COPY text row; its channel (and so its url) is drawn here.
fn write_bid(
    text: &mut String,
    random: &mut Random,
    auction: u64,
    bidder: u64,
    price: u64,
    date_time: u64,
) {
    let channel = CHANNELS[random.below(CHANNELS.len() as u64) as usize];
    let _ = writeln!(
        text,
        "{auction}\t{bidder}\t{price}\t{channel}\thttps://www.nexmark.com/{channel}/item.htm?query=1\t{date_time}"
    );
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
        write_bid(
            &mut text,
            &mut random,
            auction,
            bidder,
            price,
            FIRST_EVENT_MS + event as u64,
        );
    }
    text
}

/// Bytes per CopyData message, as psql and the JDBC driver send a COPY's data: pieces of tens
/// of KiB, not one message of the whole statement.
const COPY_MESSAGE_BYTES: usize = 64 << 10;

async fn copy_in(client: &Client, statement: &str, data: Bytes) {
    let sink = client.copy_in(statement).await.expect("COPY starts");
    futures::pin_mut!(sink);
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
        .batch_execute(&format!(
            "{}
             CREATE TABLE auction_stats AS
                 SELECT auction, COUNT(*) AS bids, SUM(price) AS volume, MAX(price) AS top_price
                 FROM bids GROUP BY auction EMIT CHANGES;",
            BIDS.stream()
        ))
        .await
        .expect("setup");
    // Generated before the clock starts: the benchmark measures Eddy, not the generator.
    let chunks = bid_chunks(rows);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let lookup = spawn_lookups(
        server.config(),
        "SELECT bids, volume, top_price FROM auction_stats WHERE auction = $1",
        1000..1000 + (rows / 50) as i64,
        stop.clone(),
    );
    let started = Instant::now();
    load(server, chunks, WRITERS).await;
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
        copy_in(&client, "COPY accounts FROM STDIN", text.into()).await;
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

/// COPYs the chunks from `writers` connections, chunk by chunk, each chunk's COPYs in turn
/// (a chunk of events: its persons, auctions, then bids); returns when all are durable.
async fn load(server: &Server, chunks: Vec<Vec<(String, Bytes)>>, writers_count: usize) {
    let mut chunks_per_writer: Vec<Vec<Vec<(String, Bytes)>>> = vec![Vec::new(); writers_count];
    for (index, chunk) in chunks.into_iter().enumerate() {
        chunks_per_writer[index % writers_count].push(chunk);
    }
    let mut writers = Vec::new();
    for chunks in chunks_per_writer {
        let client = server.connect().await;
        writers.push(tokio::spawn(async move {
            for (statement, data) in chunks.into_iter().flatten() {
                copy_in(&client, &statement, data).await;
            }
        }));
    }
    for writer in writers {
        writer.await.expect("writer");
    }
}

/// `rows` generated bids, in chunks of one COPY each.
fn bid_chunks(rows: usize) -> Vec<Vec<(String, Bytes)>> {
    (0..rows)
        .step_by(ROWS_PER_COPY)
        .map(|first| {
            let text = bids_text(first, ROWS_PER_COPY.min(rows - first));
            vec![(BIDS.copy(), text.into())]
        })
        .collect()
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
        .batch_execute(&format!(
            "{}
             CREATE TABLE tumbling_live AS
                 SELECT auction, COUNT(*) AS bids, MAX(price) AS top_price
                 FROM bids WINDOW TUMBLING (SIZE 10 SECONDS) GROUP BY auction EMIT CHANGES;",
            BIDS.stream()
        ))
        .await
        .expect("setup");
    let chunks = bid_chunks(rows);
    let started = Instant::now();
    load(&server, chunks, WRITERS).await;
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

/// The lag of the query whose id starts with `id_prefix` (SHOW QUERIES: its input rows whose
/// output is not in its sink yet); `None` unless it is running without error.
async fn lag(client: &Client, id_prefix: &str) -> Option<usize> {
    query_field(client, id_prefix, "lag")
        .await
        .and_then(|lag| lag.parse().ok())
}

/// Of every 50 events, Nexmark's first is a person, the next 3 auctions, the other 46 bids.
const EVENTS_PER_EPOCH: u64 = 50;
const AUCTIONS_PER_EPOCH: u64 = 3;
/// Nexmark's first person and auction id, and first category.
const FIRST_ID: u64 = 1000;
const FIRST_CATEGORY: u64 = 10;
/// Nexmark's window of recent ids: the active people and auctions in flight a seller, bidder
/// or auction is drawn from, and how far past the newest id a draw may go.
const ACTIVE_PEOPLE: u64 = 1000;
const AUCTIONS_IN_FLIGHT: u64 = 100;
const ID_LEAD: u64 = 10;
/// An auction closes within twice this many events' time after it opens (Nexmark's horizon
/// of 100 auctions' worth of events).
const AUCTION_HORIZON_EVENTS: u64 = 100 * EVENTS_PER_EPOCH / AUCTIONS_PER_EPOCH;
const FIRST_NAMES: [&str; 11] = [
    "Peter", "Paul", "Luke", "John", "Saul", "Vicky", "Kate", "Julie", "Sarah", "Deiter", "Walter",
];
const LAST_NAMES: [&str; 9] = [
    "Shultz", "Abrams", "Spencer", "White", "Bartels", "Walton", "Smith", "Jones", "Noris",
];
const CITIES: [&str; 10] = [
    "Phoenix",
    "Los Angeles",
    "San Francisco",
    "Boise",
    "Portland",
    "Bend",
    "Redmond",
    "Seattle",
    "Kent",
    "Cheyenne",
];
const STATES: [&str; 6] = ["AZ", "CA", "ID", "OR", "WA", "WY"];
/// q3's states.
const LOCAL_STATES: [&str; 3] = ["OR", "ID", "CA"];
/// q8's window: a person and an auction of theirs opened in the same 10 seconds.
const NEW_USER_WINDOW_MS: u64 = 10_000;

/// The newest person's id (from 0) at `event`.
fn newest_person(event: u64) -> u64 {
    event / EVENTS_PER_EPOCH
}

/// The newest auction's id (from 0) at `event`, an auction or a bid (never a person, which
/// opens its epoch).
fn newest_auction(event: u64) -> u64 {
    let (epoch, offset) = (event / EVENTS_PER_EPOCH, event % EVENTS_PER_EPOCH);
    epoch * AUCTIONS_PER_EPOCH + (offset - 1).min(AUCTIONS_PER_EPOCH - 1)
}

/// One of the active people, or a few not yet joined (Nexmark's `nextBase0PersonId`).
fn recent_person(event: u64, random: &mut Random) -> u64 {
    let people = newest_person(event) + 1;
    let active = people.min(ACTIVE_PEOPLE);
    people - active + random.below(active + ID_LEAD)
}

/// One of the auctions in flight, or a few not yet opened (Nexmark's `nextBase0AuctionId`).
fn recent_auction(event: u64, random: &mut Random) -> u64 {
    let newest = newest_auction(event);
    let oldest = newest.saturating_sub(AUCTIONS_IN_FLIGHT);
    oldest + random.below(newest - oldest + 1 + ID_LEAD)
}

/// A price in cents, log-uniform from $1 to $1 M (Nexmark's `PriceGenerator`).
fn price(random: &mut Random) -> u64 {
    (10f64.powf(random.fraction() * 6.0) * 100.0).round() as u64
}

/// Lower-case letters and a space now and then, 3 to `max` characters before trimming
/// (Nexmark's `nextString`).
fn words(random: &mut Random, max: u64) -> String {
    let length = 3 + random.below(max - 3);
    let text: String = (0..length)
        .map(|_| match random.below(13) {
            0 => ' ',
            _ => (b'a' + random.below(26) as u8) as char,
        })
        .collect();
    text.trim().to_string()
}

/// Nexmark's events `0..count`, in chunks of COPY text for each source, and what the
/// queries must answer over them.
struct Events {
    chunks: Vec<EventChunk>,
    facts: Facts,
}

struct EventChunk {
    persons: Bytes,
    auctions: Bytes,
    bids: Bytes,
}

/// What the queries' answers depend on, gathered as the events are generated, so that the
/// bench checks each answer against the events and a fast wrong one cannot pass.
#[derive(Default)]
struct Facts {
    /// Each person's index in `STATES`, by id from 0.
    person_states: Vec<usize>,
    /// By id from 0.
    auctions: Vec<AuctionFacts>,
    bids: usize,
    /// Per 10-second window of bids (by date_time / 10,000): its highest price, and how
    /// many bids have it (q7's rows).
    window_maxima: BTreeMap<u64, (u64, i64)>,
    /// The event time of the last person, auction and bid: where each stream's time ends,
    /// which closes the windows before it.
    last_person_ms: u64,
    last_auction_ms: u64,
    last_bid_ms: u64,
}

struct AuctionFacts {
    seller: u64,
    category: u64,
    date_time: u64,
    expires: u64,
    /// The highest bid made between the auction's opening and its expiry (q4's closing price).
    closing_price: Option<u64>,
}

impl Events {
    fn generate(count: usize) -> Events {
        let mut facts = Facts::default();
        let chunks = (0..count)
            .step_by(ROWS_PER_COPY)
            .map(|first| facts.generate(first as u64, ROWS_PER_COPY.min(count - first) as u64))
            .collect();
        Events { chunks, facts }
    }

    /// Each chunk's COPYs into persons, auctions and bids, in that order.
    fn copies(&self) -> Vec<Vec<(String, Bytes)>> {
        self.chunks
            .iter()
            .map(|chunk| {
                vec![
                    (PERSONS.copy(), chunk.persons.clone()),
                    (AUCTIONS.copy(), chunk.auctions.clone()),
                    (BIDS.copy(), chunk.bids.clone()),
                ]
            })
            .collect()
    }
}

impl Facts {
    /// Events `first..first + count` (following all events before `first`), as Nexmark's
    /// generator makes them: the kind from the event's place in its epoch of 50, ids that
    /// grow with the events, a seller among recent people (mostly a hot one), a bid's auction
    /// among recent auctions (half of them a hot one), event time 1 ms per event.
    fn generate(&mut self, first: u64, count: u64) -> EventChunk {
        let mut random = Random(first);
        let mut persons = String::new();
        let mut auctions = String::new();
        let mut bids = String::with_capacity(count as usize * 64);
        for event in first..first + count {
            let date_time = FIRST_EVENT_MS + event;
            let offset = event % EVENTS_PER_EPOCH;
            if offset == 0 {
                let id = newest_person(event);
                let name = format!(
                    "{} {}",
                    FIRST_NAMES[random.below(FIRST_NAMES.len() as u64) as usize],
                    LAST_NAMES[random.below(LAST_NAMES.len() as u64) as usize]
                );
                let email = format!("{}@{}.com", words(&mut random, 7), words(&mut random, 5));
                let card: Vec<String> = (0..4)
                    .map(|_| format!("{:04}", random.below(10_000)))
                    .collect();
                let city = CITIES[random.below(CITIES.len() as u64) as usize];
                let state = random.below(STATES.len() as u64) as usize;
                let _ = writeln!(
                    persons,
                    "{}\t{name}\t{email}\t{}\t{city}\t{}\t{date_time}",
                    FIRST_ID + id,
                    card.join(" "),
                    STATES[state]
                );
                self.person_states.push(state);
                self.last_person_ms = date_time;
            } else if offset <= AUCTIONS_PER_EPOCH {
                let id = newest_auction(event);
                let seller = if random.below(4) > 0 {
                    newest_person(event) / 100 * 100
                } else {
                    recent_person(event, &mut random)
                };
                let category = FIRST_CATEGORY + random.below(5);
                let initial_bid = price(&mut random);
                let expires = date_time + 1 + random.below(2 * AUCTION_HORIZON_EVENTS);
                let item_name = words(&mut random, 20);
                let description = words(&mut random, 100);
                let reserve = initial_bid + price(&mut random);
                let _ = writeln!(
                    auctions,
                    "{}\t{item_name}\t{description}\t{initial_bid}\t{reserve}\t{date_time}\t{expires}\t{}\t{category}",
                    FIRST_ID + id,
                    FIRST_ID + seller
                );
                self.auctions.push(AuctionFacts {
                    seller,
                    category,
                    date_time,
                    expires,
                    closing_price: None,
                });
                self.last_auction_ms = date_time;
            } else {
                let auction = if random.below(2) > 0 {
                    newest_auction(event) / 100 * 100
                } else {
                    recent_auction(event, &mut random)
                };
                let bidder = if random.below(4) > 0 {
                    newest_person(event) / 100 * 100 + 1
                } else {
                    recent_person(event, &mut random)
                };
                let price = price(&mut random);
                write_bid(
                    &mut bids,
                    &mut random,
                    FIRST_ID + auction,
                    FIRST_ID + bidder,
                    price,
                    date_time,
                );
                // An auction not opened yet opens after this bid, so the bid cannot count.
                if let Some(opened) = self.auctions.get_mut(auction as usize)
                    && (opened.date_time..=opened.expires).contains(&date_time)
                {
                    opened.closing_price = opened.closing_price.max(Some(price));
                }
                self.bids += 1;
                self.last_bid_ms = date_time;
                let window = self
                    .window_maxima
                    .entry(date_time / NEW_USER_WINDOW_MS)
                    .or_insert((price, 0));
                if price > window.0 {
                    *window = (price, 0);
                }
                if price == window.0 {
                    window.1 += 1;
                }
            }
        }
        EventChunk {
            persons: persons.into(),
            auctions: auctions.into(),
            bids: bids.into(),
        }
    }

    fn persons(&self) -> usize {
        self.person_states.len()
    }

    /// q3's rows: (count, sum of auction ids).
    fn local_items(&self) -> (i64, i64) {
        let local = |seller: u64| {
            self.person_states
                .get(seller as usize)
                .is_some_and(|state| LOCAL_STATES.contains(&STATES[*state]))
        };
        self.auctions
            .iter()
            .enumerate()
            .filter(|(_, auction)| auction.category == FIRST_CATEGORY && local(auction.seller))
            .fold((0, 0), |(count, sum), (id, _)| {
                (count + 1, sum + (FIRST_ID + id as u64) as i64)
            })
    }

    /// q4's closing prices: (auctions with a bid in time, sum of their closing prices), and
    /// the average closing price per category.
    fn closing_prices(&self) -> ((i64, i64), BTreeMap<i64, f64>) {
        let mut per_category: BTreeMap<i64, (u64, u64)> = BTreeMap::new();
        for auction in &self.auctions {
            if let Some(price) = auction.closing_price {
                let (sum, count) = per_category.entry(auction.category as i64).or_default();
                *sum += price;
                *count += 1;
            }
        }
        let totals = per_category
            .values()
            .fold((0, 0), |(count, sum), (prices, auctions)| {
                (count + *auctions as i64, sum + *prices as i64)
            });
        let averages = per_category
            .into_iter()
            .map(|(category, (sum, count))| (category, sum as f64 / count as f64))
            .collect();
        (totals, averages)
    }

    /// q7's rows: (bids at their window's highest price, sum of their prices), over the
    /// windows the bids' stream time has closed.
    fn highest_bids(&self) -> (i64, i64) {
        self.window_maxima
            .iter()
            .filter(|&(&window, _)| (window + 1) * NEW_USER_WINDOW_MS <= self.last_bid_ms)
            .fold((0, 0), |(rows, sum), (_, &(price, count))| {
                (rows + count, sum + price as i64 * count)
            })
    }

    /// q8's pairs of a person and an auction they opened in the window they joined: (pairs,
    /// distinct persons, which is Flink's q8's row count), of the windows that end at or
    /// before `closed_by`.
    fn new_sellers(&self, closed_by: u64) -> (i64, i64) {
        let window = |date_time: u64| date_time / NEW_USER_WINDOW_MS;
        let mut sellers = Vec::new();
        for auction in &self.auctions {
            let joined = FIRST_EVENT_MS + auction.seller * EVENTS_PER_EPOCH;
            if (auction.seller as usize) < self.persons()
                && window(joined) == window(auction.date_time)
                && (window(joined) + 1) * NEW_USER_WINDOW_MS <= closed_by
            {
                sellers.push(auction.seller);
            }
        }
        let pairs = sellers.len() as i64;
        sellers.sort_unstable();
        sellers.dedup();
        (pairs, sellers.len() as i64)
    }
}

/// One query's run on a fresh server; its fields drop in order, so the server stops before
/// its directory goes.
struct QueryRun {
    _server: Server,
    client: Client,
    _data: tempfile::TempDir,
}

/// Starts a fresh server, declares persons and auctions with `entities` (`Source::stream` or
/// `Source::table`) and bids as a stream, and runs `sql`; loads every event from `writers`
/// connections while the queries keep up, and prints the events per second from the first COPY until the query
/// `id` has committed its `input_rows` and it and each query in `downstream` have caught up,
/// and the server's peak resident memory.
async fn end_to_end(
    events: &Events,
    what: &str,
    entities: fn(&Source) -> String,
    sql: &str,
    (id, input_rows): (&str, usize),
    downstream: &[&str],
    writers: usize,
) -> QueryRun {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "{} {} {} {sql}",
            entities(&PERSONS),
            entities(&AUCTIONS),
            BIDS.stream()
        ))
        .await
        .expect("setup");
    let copies = events.copies();
    let count = events.facts.persons() + events.facts.auctions.len() + events.facts.bids;
    let started = Instant::now();
    load(&server, copies, writers).await;
    let ingested = started.elapsed().as_secs_f64();
    wait_caught_up(&client, id, input_rows).await;
    for query in std::iter::once(&id).chain(downstream) {
        wait_drained(&client, query).await;
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "{what}: {:.0} events/s end to end over {count} events (ingest alone {:.0} events/s); peak resident memory {} MiB",
        count as f64 / total,
        count as f64 / ingested,
        server.peak_resident_bytes().unwrap_or(0) >> 20
    );
    QueryRun {
        _server: server,
        client,
        _data: data,
    }
}

/// Waits until the query whose id starts with `id_prefix` has all its output in its sink
/// for the input its sources hold.
async fn wait_drained(client: &Client, id_prefix: &str) {
    loop {
        match lag(client, id_prefix).await {
            Some(0) => return,
            Some(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            None => panic!("{id_prefix} is not running"),
        }
    }
}

/// Two integers of a pull query's one row.
async fn two_numbers(client: &Client, sql: &str) -> (i64, i64) {
    let row = client.query_one(sql, &[]).await.expect(sql);
    (row.get(0), row.get(1))
}

async fn joins(count: usize) {
    let events = Events::generate(count);
    let facts = &events.facts;
    println!(
        "Nexmark events: {} persons, {} auctions, {} bids",
        facts.persons(),
        facts.auctions.len(),
        facts.bids
    );
    // The queries named on the command line, or all.
    let named: Vec<String> = std::env::args()
        .filter(|arg| arg.starts_with('q') || arg.starts_with("flink_"))
        .collect();
    let runs = |query: &str| named.is_empty() || named.iter().any(|name| name == query);
    if runs("q3") {
        q3(&events).await;
    }
    if runs("q4") {
        q4(&events).await;
    }
    if runs("q7") {
        q7(&events).await;
    }
    if runs("q8") {
        q8(&events).await;
    }
    if runs("flink_q8") {
        flink_q8(&events).await;
    }
}

async fn q3(events: &Events) {
    let facts = &events.facts;
    let run = end_to_end(
        events,
        "q3, local item suggestion (foreign-key join of tables, filtered)",
        Source::table,
        "CREATE TABLE q3 AS
             SELECT a.id, p.name, p.city, p.state
             FROM auctions a JOIN persons p ON a.seller = p.id
             WHERE a.category = 10 AND p.state IN ('OR', 'ID', 'CA');",
        ("CTAS_Q3", facts.persons() + facts.auctions.len()),
        &[],
        WRITERS,
    )
    .await;
    let expected = facts.local_items();
    assert_eq!(
        two_numbers(&run.client, "SELECT COUNT(*), SUM(id) FROM q3").await,
        expected,
        "q3 holds each auction of category 10 whose seller lives in OR, ID or CA"
    );
    println!("q3 holds {} auctions, as the events say", expected.0);
}

async fn q4(events: &Events) {
    let facts = &events.facts;
    let run = end_to_end(
        events,
        "q4, average closing price per category (join of streams, then two GROUP BYs)",
        Source::stream,
        "CREATE TABLE closing_prices AS
             SELECT a.id, a.category, MAX(b.price) AS final
             FROM auctions a JOIN bids b WITHIN (0 SECONDS, 4 SECONDS) ON a.id = b.auction
             WHERE b.date_time BETWEEN a.date_time AND a.expires
             GROUP BY a.id, a.category;
         CREATE TABLE q4 AS
             SELECT category, AVG(final) AS average FROM closing_prices GROUP BY category;",
        ("CTAS_CLOSING_PRICES", facts.auctions.len() + facts.bids),
        &["CTAS_Q4"],
        WRITERS,
    )
    .await;
    let (closed, averages) = facts.closing_prices();
    assert_eq!(
        two_numbers(
            &run.client,
            "SELECT COUNT(*), SUM(final) FROM closing_prices"
        )
        .await,
        closed,
        "closing_prices holds each auction's highest bid before it expired"
    );
    let measured: Vec<(i64, f64)> = run
        .client
        .query("SELECT category, average FROM q4 ORDER BY category", &[])
        .await
        .expect("q4")
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    assert_eq!(measured.len(), averages.len(), "q4 has every category");
    for ((category, average), (expected_category, expected)) in measured.iter().zip(&averages) {
        assert_eq!(category, expected_category);
        assert!(
            (average - expected).abs() <= expected * 1e-9,
            "q4's average closing price of category {category}: {average}, not {expected}"
        );
    }
    println!(
        "closing_prices holds {} auctions and q4 {} categories, as the events say",
        closed.0,
        averages.len()
    );
}

async fn q8(events: &Events) {
    let facts = &events.facts;
    let run = end_to_end(
        events,
        "q8, new users who opened an auction in their first 10-second window (join of streams)",
        Source::stream,
        "CREATE STREAM q8 AS
             SELECT p.id, p.name, a.id AS auction, p.ROWTIME / 10000 * 10000 AS starttime
             FROM persons p JOIN auctions a WITHIN 10 SECONDS ON p.id = a.seller
             WHERE p.ROWTIME / 10000 = a.ROWTIME / 10000;",
        ("CSAS_Q8", facts.persons() + facts.auctions.len()),
        &[],
        WRITERS,
    )
    .await;
    let (pairs, persons) = facts.new_sellers(u64::MAX);
    assert_eq!(
        two_numbers(&run.client, "SELECT COUNT(*), COUNT(DISTINCT id) FROM q8").await,
        (pairs, persons),
        "q8 pairs each person with each auction they opened in the window they joined"
    );
    println!(
        "q8 holds {pairs} pairs of {persons} new sellers (Flink's q8 rows), as the events say"
    );
}

async fn q7(events: &Events) {
    let facts = &events.facts;
    let run = end_to_end(
        events,
        "q7, highest bid per 10-second window (window TVF subquery joined with its stream)",
        Source::stream,
        "CREATE STREAM q7 AS
             SELECT b.auction, b.bidder, b.price, b.date_time
             FROM bids b
             JOIN (
                 SELECT MAX(price) AS top_price, window_start, window_end
                 FROM TUMBLE(bids, date_time, INTERVAL '10' SECOND)
                 GROUP BY window_start, window_end
             ) tops WITHIN 10 SECONDS GRACE PERIOD 5 MINUTES
             ON b.price = tops.top_price
             WHERE b.date_time >= UNIX_TIMESTAMP(tops.window_start)
               AND b.date_time < UNIX_TIMESTAMP(tops.window_end);",
        // The query reads the bids twice: for the join, and for the windows.
        ("CSAS_Q7", 2 * facts.bids),
        &[],
        1,
    )
    .await;
    let expected = facts.highest_bids();
    assert_eq!(
        two_numbers(&run.client, "SELECT COUNT(*), SUM(price) FROM q7").await,
        expected,
        "q7 holds each bid at the highest price of its closed window"
    );
    println!(
        "q7 holds {} bids at their window's highest price, as the events say",
        expected.0
    );
}

/// Flink's q8: each side a window TVF subquery (a person, and a seller, once per window),
/// joined on the person and the window.
async fn flink_q8(events: &Events) {
    let facts = &events.facts;
    let run = end_to_end(
        events,
        "Flink's q8, new users (two window TVF subqueries joined)",
        Source::stream,
        "CREATE STREAM flink_q8 AS
             SELECT p.id, p.name, p.window_start
             FROM (
                 SELECT id, name, window_start, window_end
                 FROM TUMBLE(persons, date_time, INTERVAL '10' SECOND)
                 GROUP BY id, name, window_start, window_end
             ) p
             JOIN (
                 SELECT seller, window_start, window_end
                 FROM TUMBLE(auctions, date_time, INTERVAL '10' SECOND)
                 GROUP BY seller, window_start, window_end
             ) a WITHIN 10 SECONDS GRACE PERIOD 5 MINUTES
             ON p.id = a.seller AND p.window_start = a.window_start;",
        ("CSAS_FLINK_Q8", facts.persons() + facts.auctions.len()),
        &[],
        1,
    )
    .await;
    let (_, persons) = facts.new_sellers(facts.last_person_ms.min(facts.last_auction_ms));
    assert_eq!(
        two_numbers(
            &run.client,
            "SELECT COUNT(*), COUNT(DISTINCT id) FROM flink_q8"
        )
        .await,
        (persons, persons),
        "Flink's q8 has a row per person who opened an auction in the window they joined"
    );
    println!("Flink's q8 holds {persons} new sellers, as the events say");
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
    if std::env::args().any(|arg| arg == "joins") {
        joins(rows).await;
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
    joins(rows).await;
}
