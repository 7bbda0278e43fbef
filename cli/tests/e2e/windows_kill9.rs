//! Windowed tables killed with SIGKILL while their windows are open and their queries are
//! behind: after a restart on the same data directory, every window of a tumbling, a
//! hopping, a session and an EMIT FINAL table equals the answer computed here from the
//! inserted rows by ksqlDB's rules, and each late row is in `eddy_processing_log` exactly once
//! per query that found it late.
//!
//! The rows go to a one-partition stream from one connection, so their log order is the
//! order they were inserted in, and the stream time each row meets (the largest ROWTIME up to
//! and including it) does not depend on where epochs or the kills fall.
//!
//! Never: assert on time. Every wait is for an event, bounded so that a hang fails.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::{Server, rows, settle};

const ROWS_PER_INSERT: usize = 500;
const INSERTS: usize = 18;
/// The server is killed after these many INSERTs, each time right after their
/// acknowledgements, while the persistent queries are still reading them.
const KILL_AFTER_INSERTS: [usize; 2] = [6, 12];
/// INSERTs sent at once on the connection (pipelined, so still applied in order), to put the
/// persistent queries behind before a kill.
const INSERTS_IN_FLIGHT: usize = 3;

const TUMBLE_SIZE_MS: i64 = 10_000;
const TUMBLE_GRACE_MS: i64 = 5_000;
const HOP_SIZE_MS: i64 = 10_000;
const HOP_ADVANCE_MS: i64 = 5_000;
const HOP_GRACE_MS: i64 = 5_000;
const SESSION_GAP_MS: i64 = 1_000;
const SESSION_GRACE_MS: i64 = 2_000;
const FINAL_SIZE_MS: i64 = 5_000;
const FINAL_GRACE_MS: i64 = 2_000;

const SETUP: &str = "
    CREATE STREAM readings (id BIGINT KEY, reading BIGINT) WITH (PARTITIONS = 1);
    CREATE TABLE per_tumble AS SELECT id, COUNT(*) AS n, SUM(reading) AS total FROM readings
        WINDOW TUMBLING (SIZE 10 SECONDS, RETENTION 7 DAYS, GRACE PERIOD 5 SECONDS)
        GROUP BY id EMIT CHANGES;
    CREATE TABLE per_hop AS SELECT id, COUNT(*) AS n, SUM(reading) AS total FROM readings
        WINDOW HOPPING (SIZE 10 SECONDS, ADVANCE BY 5 SECONDS, RETENTION 7 DAYS, GRACE PERIOD 5 SECONDS)
        GROUP BY id EMIT CHANGES;
    CREATE TABLE per_session AS SELECT id, COUNT(*) AS n, SUM(reading) AS total FROM readings
        WINDOW SESSION (1 SECOND, RETENTION 7 DAYS, GRACE PERIOD 2 SECONDS)
        GROUP BY id EMIT CHANGES;
    CREATE TABLE per_final AS SELECT id, COUNT(*) AS n, SUM(reading) AS total FROM readings
        WINDOW TUMBLING (SIZE 5 SECONDS, RETENTION 7 DAYS, GRACE PERIOD 2 SECONDS)
        GROUP BY id EMIT FINAL;";

/// One inserted row; its offset in the stream's only partition is its index.
#[derive(Clone, Copy)]
struct Reading {
    id: i64,
    reading: i64,
    rowtime: i64,
}

/// Rows whose time advances 125 ms per row on average over 8 keys (so a key's rows are
/// about a second apart: sessions of 1 second both merge and break), a fifth of them up to
/// 3 s out of order (inside every grace period), and one in fifty 30 to 40 s behind (late
/// for every window, and for most sessions).
fn generate_readings(count: usize) -> Vec<Reading> {
    let mut random = fastrand::Rng::with_seed(15);
    let mut now = 1_000_000i64;
    (0..count)
        .map(|_| {
            now += random.i64(0..=250);
            let rowtime = match random.u32(0..100) {
                0..=1 => now - 30_000 - random.i64(0..10_000),
                2..=21 => now - random.i64(0..3_000),
                _ => now,
            };
            Reading {
                id: random.i64(0..8),
                reading: random.i64(0..1_000),
                rowtime,
            }
        })
        .collect()
}

/// Count and sum of one window, with its bounds as the table shows them.
#[derive(Default)]
struct Aggregate {
    count: i64,
    total: i64,
}

/// The answer of a tumbling or hopping table: a row goes to every window `[start, start +
/// size)` holding it (starts at multiples of the advance, never below 0) whose end plus grace
/// is past the stream time the row meets; a row no window takes is late. With `emit_final`,
/// only windows closed at the final stream time are in the table.
struct TimeWindows {
    size_ms: i64,
    advance_ms: i64,
    grace_ms: i64,
    emit_final: bool,
}

impl TimeWindows {
    fn answer(&self, readings: &[Reading]) -> (Vec<String>, Vec<u64>) {
        let mut windows: BTreeMap<(i64, i64), Aggregate> = BTreeMap::new();
        let mut late = Vec::new();
        let mut stream_time = i64::MIN;
        for (offset, row) in readings.iter().enumerate() {
            stream_time = stream_time.max(row.rowtime);
            let last_start = row.rowtime - row.rowtime.rem_euclid(self.advance_ms);
            let mut start = (row.rowtime - self.size_ms + self.advance_ms).max(0);
            start -= start.rem_euclid(self.advance_ms);
            let mut taken = false;
            while start <= last_start {
                if start + self.size_ms + self.grace_ms > stream_time {
                    let window = windows.entry((row.id, start)).or_default();
                    window.count += 1;
                    window.total += row.reading;
                    taken = true;
                }
                start += self.advance_ms;
            }
            if !taken {
                late.push(offset as u64);
            }
        }
        let rows = windows
            .into_iter()
            .filter(|((_, start), _)| {
                !self.emit_final || start + self.size_ms + self.grace_ms <= stream_time
            })
            .map(|((id, start), window)| {
                format!(
                    "{id}|{start}|{}|{}|{}",
                    start + self.size_ms,
                    window.count,
                    window.total
                )
            })
            .collect();
        (sorted(rows), late)
    }
}

/// One session of a key: `[start, end]`, both ends rowtimes of its rows.
struct Session {
    start: i64,
    end: i64,
    aggregate: Aggregate,
}

/// The answer of a session table under ksqlDB's rules: a row joins every session of its key
/// that has not closed (a session closes once stream time passes its end plus gap plus grace)
/// and lies within the gap of it, merging them; a row whose merged session would already
/// have closed is late.
fn session_answer(readings: &[Reading]) -> (Vec<String>, Vec<u64>) {
    let mut sessions: BTreeMap<i64, Vec<Session>> = BTreeMap::new();
    let mut late = Vec::new();
    let mut stream_time = i64::MIN;
    for (offset, row) in readings.iter().enumerate() {
        stream_time = stream_time.max(row.rowtime);
        let closed_before = stream_time - SESSION_GAP_MS - SESSION_GRACE_MS;
        let key_sessions = sessions.entry(row.id).or_default();
        let (merging, kept): (Vec<Session>, Vec<Session>) = std::mem::take(key_sessions)
            .into_iter()
            .partition(|session| {
                session.end >= closed_before
                    && session.end >= row.rowtime - SESSION_GAP_MS
                    && session.start <= row.rowtime + SESSION_GAP_MS
            });
        *key_sessions = kept;
        let mut merged = Session {
            start: row.rowtime,
            end: row.rowtime,
            aggregate: Aggregate::default(),
        };
        for session in &merging {
            merged.start = merged.start.min(session.start);
            merged.end = merged.end.max(session.end);
            merged.aggregate.count += session.aggregate.count;
            merged.aggregate.total += session.aggregate.total;
        }
        if merged.end < closed_before {
            late.push(offset as u64);
            key_sessions.extend(merging);
            continue;
        }
        merged.aggregate.count += 1;
        merged.aggregate.total += row.reading;
        key_sessions.push(merged);
    }
    let rows = sessions
        .into_iter()
        .flat_map(|(id, key_sessions)| {
            key_sessions.into_iter().map(move |session| {
                format!(
                    "{id}|{}|{}|{}|{}",
                    session.start, session.end, session.aggregate.count, session.aggregate.total
                )
            })
        })
        .collect();
    (sorted(rows), late)
}

fn sorted(mut rows: Vec<String>) -> Vec<String> {
    rows.sort();
    rows
}

/// A running `eddy serve` process.
/// The stream offsets of the rows the query logged as late, from each record's `rowoffset`.
async fn late_offsets(client: &Client, query_prefix: &str) -> Vec<u64> {
    let records = rows(
        client,
        &format!(
            "SELECT record FROM eddy_processing_log WHERE query_id LIKE '{query_prefix}%' AND message LIKE 'late row:%'"
        ),
    )
    .await;
    let mut offsets: Vec<u64> = records
        .iter()
        .map(|record| {
            record
                .rsplit("rowoffset: ")
                .next()
                .and_then(|offset| offset.parse().ok())
                .unwrap_or_else(|| panic!("a late record names its offset: {record}"))
        })
        .collect();
    offsets.sort_unstable();
    offsets
}

fn insert_sql(readings: &[Reading]) -> String {
    let values: Vec<String> = readings
        .iter()
        .map(|row| format!("({}, {}, {})", row.id, row.reading, row.rowtime))
        .collect();
    format!(
        "INSERT INTO readings (id, reading, rowtime) VALUES {};",
        values.join(", ")
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn windows_killed_while_open_equal_the_batch_answer() {
    let readings = generate_readings(ROWS_PER_INSERT * INSERTS);
    let data = tempfile::tempdir().unwrap();
    let mut server = Server::start(data.path(), &[]);
    let mut client = server.connect().await;
    client.batch_execute(SETUP).await.expect("setup");
    let inserts: Vec<String> = readings.chunks(ROWS_PER_INSERT).map(insert_sql).collect();
    let mut sent = 0;
    while sent < inserts.len() {
        let until = KILL_AFTER_INSERTS
            .iter()
            .copied()
            .find(|&kill_at| kill_at > sent)
            .unwrap_or(inserts.len());
        for group in inserts[sent..until].chunks(INSERTS_IN_FLIGHT) {
            let pipelined = group.iter().map(|sql| client.batch_execute(sql));
            for acknowledged in futures::future::join_all(pipelined).await {
                acknowledged.expect("insert");
            }
        }
        sent = until;
        if sent < inserts.len() {
            drop(client);
            server.kill();
            server = Server::start(data.path(), &[]);
            client = server.connect().await;
        }
    }
    settle(&client).await;

    let tumbling = TimeWindows {
        size_ms: TUMBLE_SIZE_MS,
        advance_ms: TUMBLE_SIZE_MS,
        grace_ms: TUMBLE_GRACE_MS,
        emit_final: false,
    };
    let hopping = TimeWindows {
        size_ms: HOP_SIZE_MS,
        advance_ms: HOP_ADVANCE_MS,
        grace_ms: HOP_GRACE_MS,
        emit_final: false,
    };
    let final_windows = TimeWindows {
        size_ms: FINAL_SIZE_MS,
        advance_ms: FINAL_SIZE_MS,
        grace_ms: FINAL_GRACE_MS,
        emit_final: true,
    };
    let checks = [
        ("per_tumble", "CTAS_PER_TUMBLE", tumbling.answer(&readings)),
        ("per_hop", "CTAS_PER_HOP", hopping.answer(&readings)),
        ("per_session", "CTAS_PER_SESSION", session_answer(&readings)),
        (
            "per_final",
            "CTAS_PER_FINAL",
            final_windows.answer(&readings),
        ),
    ];
    for (table, query_prefix, (expected_windows, expected_late)) in checks {
        assert!(
            !expected_late.is_empty(),
            "{table}: the rows include late ones"
        );
        let windows = rows(
            &client,
            &format!("SELECT id, windowstart, windowend, n, total FROM {table}"),
        )
        .await;
        assert_eq!(
            windows.len(),
            expected_windows.len(),
            "{table}: number of windows"
        );
        assert_eq!(windows, expected_windows, "{table}: every window's result");
        assert_eq!(
            late_offsets(&client, query_prefix).await,
            expected_late,
            "{table}: each late row logged once"
        );
    }
}
