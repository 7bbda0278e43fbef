//! Stream time over several partitions, end to end: a query that catches up over inputs
//! whose partitions run at different rates reads as many rows of each per epoch, so an
//! epoch's rows of one partition can be far ahead in time of another's. No row that came in
//! order within its partition may be set aside as late for it: every window closes with
//! exactly the rows that fall in it, a join of two streams with no grace finds every pair,
//! and an ASOF join releases each row with the match it has once every row is read.
//!
//! Never: sleep to let a query catch up; every wait is for an answer, bounded.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arrow::array::RecordBatch;
use eddy_executor::{Engine, EngineConfig, QueryOutput, Session};
use futures::StreamExt;

mod common;

use common::{rows, run, wait_for};

const WAIT_MAX: Duration = Duration::from_secs(120);
/// User 2's rows come every 2 ms, user 1's every 8 ms, over 8 seconds.
const BUSY_EVERY_MS: i64 = 2;
const QUIET_EVERY_MS: i64 = 8;
const SPAN_MS: i64 = 8_000;
/// 5-second windows hopping by 10 ms: 500 windows a row, which makes an epoch of a query
/// catching up read 1024 rows of each partition: 2 seconds of the busy one, all of the quiet.
const WINDOW_MS: i64 = 5_000;
const ADVANCE_MS: i64 = 10;

/// An engine over a fresh directory (dropped with the returned guard), with `ddl` run.
async fn open(ddl: &str) -> (tempfile::TempDir, Arc<Engine>, Session) {
    let data = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(data.path()))
        .await
        .expect("engine opens");
    let mut session = engine.session();
    run(&mut session, ddl).await.expect("creates");
    (data, engine, session)
}

/// The first `count` rows of push query `sql` from the earliest offset, in the batches they
/// came in; fails if they do not come within `WAIT_MAX`.
async fn push_rows(session: &mut Session, sql: &str, count: usize) -> Vec<RecordBatch> {
    let mut outputs = run(
        session,
        &format!("SET 'auto.offset.reset' = 'earliest'; {sql}"),
    )
    .await
    .expect("subscribes");
    let Some(QueryOutput::Rows(mut changes)) = outputs.pop() else {
        panic!("a push query streams rows")
    };
    let mut batches = Vec::new();
    let mut rows = 0;
    let deadline = Instant::now() + WAIT_MAX;
    while rows < count {
        let left = deadline.saturating_duration_since(Instant::now());
        let batch = tokio::time::timeout(left, changes.next())
            .await
            .unwrap_or_else(|_| panic!("only {rows} of {count} rows came: {sql}"))
            .expect("the push query goes on")
            .expect("a batch");
        rows += batch.num_rows();
        batches.push(batch);
    }
    batches
}

async fn insert_values(session: &mut Session, stream: &str, columns: &str, rows: &[String]) {
    for chunk in rows.chunks(500) {
        let sql = format!(
            "INSERT INTO {stream} ({columns}) VALUES {}",
            chunk.join(", ")
        );
        run(session, &sql).await.expect("inserts");
    }
}

/// Each user's rows (user, ts), in time order.
fn clicks() -> Vec<(i64, i64)> {
    let mut clicks: Vec<(i64, i64)> = (0..SPAN_MS / BUSY_EVERY_MS)
        .map(|i| (2, i * BUSY_EVERY_MS))
        .chain((0..SPAN_MS / QUIET_EVERY_MS).map(|i| (1, i * QUIET_EVERY_MS)))
        .collect();
    clicks.sort_by_key(|&(user, ts)| (ts, user));
    clicks
}

/// Per user: the windows that close by the largest `ts` (grace 0), and the sum of their
/// counts, by the rules a window takes rows by.
fn closed_windows(clicks: &[(i64, i64)], user: i64) -> (i64, i64) {
    let stream_time = clicks.iter().map(|&(_, ts)| ts).max().unwrap_or(0);
    let mut windows = 0;
    let mut total = 0;
    let mut start = 0;
    while start + WINDOW_MS <= stream_time {
        windows += 1;
        total += clicks
            .iter()
            .filter(|&&(who, ts)| who == user && start <= ts && ts < start + WINDOW_MS)
            .count() as i64;
        start += ADVANCE_MS;
    }
    (windows, total)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_catching_up_over_partitions_of_different_rates_sets_no_row_aside() {
    let (_data, _engine, mut session) = open(
        "CREATE STREAM clicks (user_id BIGINT KEY, ts BIGINT)
             WITH (PARTITIONS = 2, TIMESTAMP = 'ts');",
    )
    .await;
    let clicks = clicks();
    let values: Vec<String> = clicks
        .iter()
        .map(|(user, ts)| format!("({user}, {ts})"))
        .collect();
    insert_values(&mut session, "clicks", "user_id, ts", &values).await;
    assert_eq!(
        rows(
            &mut session,
            "SELECT user_id, ROWPARTITION FROM clicks WHERE ts = 0 ORDER BY user_id"
        )
        .await,
        "+---------+--------------+\n\
         | user_id | rowpartition |\n\
         +---------+--------------+\n\
         | 1       | 1            |\n\
         | 2       | 0            |\n\
         +---------+--------------+",
        "the two users' rows are in partitions of their own"
    );

    run(
        &mut session,
        "SET 'auto.offset.reset' = 'earliest';
         CREATE TABLE hops AS SELECT user_id, COUNT(*) AS clicks FROM clicks
             WINDOW HOPPING (SIZE 5 SECONDS, ADVANCE BY 10 MILLISECONDS)
             GROUP BY user_id EMIT FINAL;",
    )
    .await
    .expect("creates the windowed table");

    let (quiet_windows, quiet_total) = closed_windows(&clicks, 1);
    let (busy_windows, busy_total) = closed_windows(&clicks, 2);
    let expected = format!(
        "+---------+---------+--------+\n\
         | user_id | windows | clicks |\n\
         +---------+---------+--------+\n\
         | 1       | {quiet_windows:<7} | {quiet_total:<6} |\n\
         | 2       | {busy_windows:<7} | {busy_total:<6} |\n\
         +---------+---------+--------+"
    );
    wait_for(
        &mut session,
        "SELECT user_id, COUNT(*) AS windows, SUM(clicks) AS clicks FROM hops \
         GROUP BY user_id ORDER BY user_id",
        &expected,
    )
    .await;
    assert_eq!(
        rows(
            &mut session,
            "SELECT COUNT(*) AS late FROM eddy_processing_log"
        )
        .await,
        "+------+\n| late |\n+------+\n| 0    |\n+------+"
    );
}

/// A push query reads at most 8192 rows of each partition a round: the first round of this
/// one reads a fifth of the busy side and all of the quiet one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_join_catching_up_over_inputs_of_different_rates_finds_every_pair() {
    const BUSY_ROWS: i64 = 40_000;
    const QUIET_ROWS: i64 = 2_000;
    let (_data, _engine, mut session) = open(
        "CREATE STREAM views (id BIGINT KEY, ts BIGINT) WITH (PARTITIONS = 1, TIMESTAMP = 'ts');
         CREATE STREAM buys (id BIGINT KEY, ts BIGINT) WITH (PARTITIONS = 1, TIMESTAMP = 'ts');",
    )
    .await;
    // A view every millisecond, a buy every 20, each at the time of a view.
    let views: Vec<String> = (0..BUSY_ROWS).map(|ts| format!("(1, {ts})")).collect();
    let buys: Vec<String> = (0..QUIET_ROWS)
        .map(|i| format!("(1, {})", i * 20))
        .collect();
    insert_values(&mut session, "buys", "id, ts", &buys).await;
    insert_values(&mut session, "views", "id, ts", &views).await;

    let batches = push_rows(
        &mut session,
        "SELECT v.ts AS viewed, b.ts AS bought FROM views v JOIN buys b
             WITHIN 0 SECONDS GRACE PERIOD 0 SECONDS ON v.id = b.id EMIT CHANGES;",
        QUIET_ROWS as usize,
    )
    .await;
    let pairs: usize = batches.iter().map(RecordBatch::num_rows).sum();
    assert_eq!(
        pairs, QUIET_ROWS as usize,
        "each buy joins the view at its time"
    );
}

/// The quotes of one symbol come every millisecond, of the other every 10: the first round
/// of this push query reads 8 seconds of the first and all 20 of the second. A trade is
/// released only once the quotes' stream time has passed it, so it joins its own
/// millisecond's quote, never an older one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_asof_join_catching_up_over_partitions_of_different_rates_matches_each_row_finally() {
    const SPAN_MS: i64 = 20_000;
    const TRADE_EVERY_MS: i64 = 100;
    let (_data, _engine, mut session) = open(
        "CREATE STREAM quotes (sym BIGINT KEY, ts BIGINT) WITH (PARTITIONS = 2, TIMESTAMP = 'ts');
         CREATE STREAM trades (sym BIGINT KEY, ts BIGINT) WITH (PARTITIONS = 1, TIMESTAMP = 'ts');",
    )
    .await;
    let mut quotes: Vec<(i64, i64)> = (0..SPAN_MS)
        .map(|ts| (1, ts))
        .chain((0..SPAN_MS / 10).map(|i| (2, i * 10)))
        .collect();
    quotes.sort_by_key(|&(sym, ts)| (ts, sym));
    let quotes: Vec<String> = quotes
        .iter()
        .map(|(sym, ts)| format!("({sym}, {ts})"))
        .collect();
    insert_values(&mut session, "quotes", "sym, ts", &quotes).await;
    assert_eq!(
        rows(
            &mut session,
            "SELECT sym, ROWPARTITION FROM quotes WHERE ts = 0 ORDER BY sym"
        )
        .await,
        "+-----+--------------+\n\
         | sym | rowpartition |\n\
         +-----+--------------+\n\
         | 1   | 1            |\n\
         | 2   | 0            |\n\
         +-----+--------------+",
        "the two symbols' quotes are in partitions of their own"
    );
    let trades: Vec<String> = (0..SPAN_MS / TRADE_EVERY_MS)
        .flat_map(|i| [1, 2].map(|sym| format!("({sym}, {})", i * TRADE_EVERY_MS)))
        .collect();
    insert_values(&mut session, "trades", "sym, ts", &trades).await;

    let batches = push_rows(
        &mut session,
        "SELECT t.sym, t.ts AS traded, q.ts AS quoted FROM trades t
             ASOF JOIN quotes q GRACE PERIOD 0 SECONDS ON t.sym = q.sym AND q.ts <= t.ts
             EMIT CHANGES;",
        trades.len(),
    )
    .await;
    let mut matched = 0;
    for batch in &batches {
        let column = |index: usize| {
            batch
                .column(index)
                .as_any()
                .downcast_ref::<arrow::array::Int64Array>()
                .expect("a BIGINT column")
                .clone()
        };
        let (traded, quoted) = (column(1), column(2));
        for row in 0..batch.num_rows() {
            assert_eq!(
                quoted.value(row),
                traded.value(row),
                "the trade at {} joins the quote of its own millisecond",
                traded.value(row)
            );
        }
        matched += batch.num_rows();
    }
    assert_eq!(matched, trades.len());
}
