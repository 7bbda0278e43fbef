//! COPY FROM STDIN through the session API, without the wire: the statement answers with a
//! sink, the data goes in piece by piece, and the rows come out of the stream. (The same
//! through the Postgres protocol is tested in `server/tests/protocol.rs` and `cli/tests`.)

use std::sync::Arc;

use eddy_executor::{CopyInSink, Engine, EngineError, PlanError, QueryOutput, Session};

mod common;

use common::rows;

/// An engine on a fresh data directory (kept alive by the returned guard) and a session.
async fn open_engine() -> (tempfile::TempDir, Arc<Engine>, Session) {
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(eddy_executor::EngineConfig::new(data.path()))
        .await
        .unwrap();
    let session = engine.session();
    (data, engine, session)
}

async fn execute(session: &mut Session, sql: &str) -> Result<QueryOutput, EngineError> {
    let mut statements = session.parse(sql)?;
    assert_eq!(statements.len(), 1, "{sql}");
    session.execute(&statements.remove(0)).await
}

async fn copy_in(session: &mut Session, sql: &str) -> Result<CopyInSink, EngineError> {
    match execute(session, sql).await? {
        QueryOutput::CopyIn(sink) => Ok(*sink),
        _ => panic!("{sql}: not a COPY FROM STDIN"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_appends_rows_given_in_pieces() {
    let (_data, engine, mut session) = open_engine().await;
    execute(
        &mut session,
        "CREATE STREAM events (kind STRING, amount DECIMAL(8, 2), at DATE, payload BYTES)",
    )
    .await
    .unwrap();
    let mut sink = copy_in(
        &mut session,
        "COPY events (rowtime, kind, amount, at, payload) FROM STDIN WITH (FORMAT csv, NULL 'NA')",
    )
    .await
    .unwrap();
    assert_eq!(sink.column_count(), 5);
    let data = "1000,\"click, left\",12.50,2024-02-29,\\x4869\n2000,NA,NA,NA,NA\n3000,\"\",0.01,2024-03-01,\\\\x\n";
    for piece in data.as_bytes().chunks(7) {
        sink.write(piece).await.unwrap();
    }
    assert_eq!(sink.finish().await.unwrap(), 3);
    let table = rows(
        &mut session,
        "SELECT rowtime, kind, amount, at, payload FROM events ORDER BY rowtime",
    )
    .await;
    let expected = "\
+---------+-------------+--------+------------+---------+
| rowtime | kind        | amount | at         | payload |
+---------+-------------+--------+------------+---------+
| 1000    | click, left | 12.50  | 2024-02-29 | 4869    |
| 2000    |             |        |            |         |
| 3000    |             | 0.01   | 2024-03-01 | 5c78    |
+---------+-------------+--------+------------+---------+";
    assert_eq!(table, expected);
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_is_checked_against_the_stream() {
    let (_data, engine, mut session) = open_engine().await;
    execute(
        &mut session,
        "CREATE STREAM s (a BIGINT, tags ARRAY<STRING>)",
    )
    .await
    .unwrap();
    let unsupported = copy_in(&mut session, "COPY s FROM STDIN").await.err();
    assert!(
        matches!(&unsupported, Some(EngineError::Plan(PlanError::Unsupported { feature }))
            if feature == "COPY into column \"tags\" of type ARRAY<STRING>"),
        "{unsupported:?}"
    );
    let unknown_stream = copy_in(&mut session, "COPY nope FROM STDIN").await.err();
    assert!(
        matches!(
            unknown_stream,
            Some(EngineError::Plan(PlanError::UnknownObject { .. }))
        ),
        "{unknown_stream:?}"
    );
    let unknown_column = copy_in(&mut session, "COPY s (a, b) FROM STDIN")
        .await
        .err();
    assert!(
        matches!(
            unknown_column,
            Some(EngineError::Plan(PlanError::UnknownColumn { .. }))
        ),
        "{unknown_column:?}"
    );
    let pseudo_column = copy_in(&mut session, "COPY s (a, rowoffset) FROM STDIN")
        .await
        .err();
    assert!(
        matches!(
            pseudo_column,
            Some(EngineError::Plan(PlanError::Invalid { .. }))
        ),
        "{pseudo_column:?}"
    );
    // Columns that the COPY does not name are NULL.
    let mut sink = copy_in(&mut session, "COPY s (a) FROM STDIN")
        .await
        .unwrap();
    sink.write(b"7\n").await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 1);
    let table = rows(&mut session, "SELECT a, tags IS NULL AS no_tags FROM s").await;
    assert!(table.contains("| 7 | true    |"), "{table}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_into_a_table_upserts_by_key() {
    let (_data, engine, mut session) = open_engine().await;
    execute(
        &mut session,
        "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner STRING, balance BIGINT) WITH (PARTITIONS = 2)",
    )
    .await
    .unwrap();
    // 30,000 lines over 3 chunks of the sink; ids repeat, so later lines replace earlier ones.
    let mut sink = copy_in(&mut session, "COPY accounts FROM STDIN")
        .await
        .unwrap();
    let mut text = String::new();
    for line in 0..30_000u64 {
        text.push_str(&format!("{}\towner-{line}\t{line}\n", line % 10_000));
    }
    sink.write(text.as_bytes()).await.unwrap();
    assert_eq!(sink.finish().await.unwrap(), 30_000);
    let totals = rows(
        &mut session,
        "SELECT COUNT(*) AS accounts, MIN(balance) AS low, MAX(balance) AS high FROM accounts",
    )
    .await;
    assert!(totals.contains("| 10000    | 20000 | 29999 |"), "{totals}");
    let one = rows(&mut session, "SELECT owner FROM accounts WHERE id = 7").await;
    assert!(one.contains("owner-20007"), "{one}");
    let refused = copy_in(&mut session, "COPY accounts (owner) FROM STDIN").await;
    let mut sink = refused.expect("the key is checked per row");
    sink.write(b"nobody\n").await.unwrap();
    assert!(sink.finish().await.is_err(), "a NULL key is refused");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_of_many_small_pieces_lands_every_row_once_in_its_partition() {
    let (_data, engine, mut session) = open_engine().await;
    execute(
        &mut session,
        "CREATE STREAM bids (auction BIGINT KEY, price BIGINT) WITH (PARTITIONS = 2)",
    )
    .await
    .unwrap();
    // About 1 MiB in pieces of 8 KiB, as psql sends them: decoded a few hundred KiB at a
    // time, and the last lines when the data ends.
    let mut text = String::new();
    for line in 0..60_000u64 {
        text.push_str(&format!("{}\t{line}\n", line % 1000));
    }
    let mut sink = copy_in(&mut session, "COPY bids FROM STDIN").await.unwrap();
    for piece in text.as_bytes().chunks(8 << 10) {
        sink.write(piece).await.unwrap();
    }
    assert_eq!(sink.finish().await.unwrap(), 60_000);
    let totals = rows(
        &mut session,
        "SELECT COUNT(*) AS bids, COUNT(DISTINCT price) AS prices, SUM(price) AS total FROM bids",
    )
    .await;
    assert!(
        totals.contains("| 60000 | 60000  | 1799970000 |"),
        "{totals}"
    );
    // Each key's rows all went to one partition, and none is missing.
    let per_key = rows(
        &mut session,
        "SELECT COUNT(*) AS keys FROM (
             SELECT auction, COUNT(DISTINCT rowpartition) AS partitions,
                    MIN(price) AS first_price
             FROM bids GROUP BY auction)
         WHERE partitions = 1 AND first_price = auction",
    )
    .await;
    assert!(per_key.contains("| 1000 |"), "{per_key}");
    engine.shutdown().await;
}
