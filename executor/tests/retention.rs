//! A stream's retention end to end: rows inserted with old ROWTIMEs, the engine's clock moved
//! by hand, a retention pass run on demand, then what every kind of reader sees: a pull query,
//! a push query from the earliest offset, persistent queries made before and after the
//! deletion, one whose committed offset was deleted while the engine was down, and all of it
//! again after a restart. Every append gets a log segment of its own
//! here, so which rows go is exact.
//!
//! Never: sleep to let time pass; the clock is a `ManualClock`.

use std::sync::Arc;

use eddy_executor::{Clock, Engine, EngineConfig, ManualClock, RetentionReport};

mod common;

use common::{rows, run, wait_for};

const NOW_MS: i64 = 1_700_000_000_000;
const HOUR_MS: i64 = 60 * 60 * 1000;

async fn open(data: &std::path::Path, clock: &Arc<ManualClock>) -> Arc<Engine> {
    let mut config = EngineConfig::new(data);
    config.clock = clock.clone();
    config.segment_bytes_max = 1;
    Engine::open(config).await.expect("engine opens")
}

fn ids(ids: &[i64]) -> String {
    let mut table = String::from("+----+\n| id |\n+----+\n");
    for id in ids {
        table.push_str(&format!("| {id:<2} |\n"));
    }
    table.push_str("+----+");
    table
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn segments_past_retention_go_and_every_reader_starts_at_the_first_kept_row() {
    let data = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let engine = open(data.path(), &clock).await;
    let mut session = engine.session();
    run(
        &mut session,
        "CREATE STREAM events (id BIGINT) WITH (RETENTION = '1 HOUR');
         CREATE STREAM early AS SELECT id FROM events;",
    )
    .await
    .expect("creates");
    // Ids 1 to 5 are three hours old, 6 to 8 ten minutes old; one INSERT, one segment.
    for id in 1..=8 {
        let age_ms = if id <= 5 { 3 * HOUR_MS } else { 10 * 60 * 1000 };
        let sql = format!(
            "INSERT INTO events (id, rowtime) VALUES ({id}, {})",
            NOW_MS - age_ms
        );
        run(&mut session, &sql).await.expect("inserts");
    }
    let all: Vec<i64> = (1..=8).collect();
    wait_for(&mut session, "SELECT id FROM early ORDER BY id", &ids(&all)).await;

    let report = engine.enforce_retention().await.expect("retention runs");
    assert_eq!(
        report,
        RetentionReport {
            segments_deleted: 5,
            rows_deleted: 5,
        }
    );
    let kept = ids(&[6, 7, 8]);
    assert_eq!(
        rows(&mut session, "SELECT id FROM events ORDER BY id").await,
        kept
    );
    run(&mut session, "SET 'auto.offset.reset' = 'earliest'")
        .await
        .expect("sets");
    assert_eq!(
        rows(&mut session, "SELECT id FROM events EMIT CHANGES LIMIT 3").await,
        kept,
        "a push query from the earliest offset starts at the first kept row"
    );
    let offsets = rows(
        &mut session,
        "SELECT id, rowoffset FROM events WHERE id = 6",
    )
    .await;
    assert!(
        offsets.contains("| 6  | 5         |"),
        "offsets keep their rows: {offsets}"
    );
    // A query made now starts at the first kept row; the one made before goes on.
    run(&mut session, "CREATE STREAM late AS SELECT id FROM events;")
        .await
        .expect("creates");
    run(
        &mut session,
        &format!("INSERT INTO events (id, rowtime) VALUES (9, {NOW_MS})"),
    )
    .await
    .expect("inserts");
    wait_for(
        &mut session,
        "SELECT id FROM late ORDER BY id",
        &ids(&[6, 7, 8, 9]),
    )
    .await;
    let with_nine: Vec<i64> = (1..=9).collect();
    wait_for(
        &mut session,
        "SELECT id FROM early ORDER BY id",
        &ids(&with_nine),
    )
    .await;

    // Two hours on, every row is old, but the active segment (holding id 9) stays.
    clock.advance_ms(2 * HOUR_MS);
    let report = engine.enforce_retention().await.expect("retention runs");
    assert_eq!(report.rows_deleted, 3);
    assert_eq!(rows(&mut session, "SELECT id FROM events").await, ids(&[9]));
    engine.shutdown().await;
    // The store is closed once nothing holds the engine.
    drop(session);
    drop(engine);

    let engine = open(data.path(), &clock).await;
    let mut session = engine.session();
    let described = rows(&mut session, "DESCRIBE events").await;
    assert!(described.contains("| RETENTION    | 1 HOUR"), "{described}");
    assert!(
        described.contains("1 partition, 1 row "),
        "rows kept: {described}"
    );
    assert_eq!(rows(&mut session, "SELECT id FROM events").await, ids(&[9]));
    run(
        &mut session,
        &format!(
            "INSERT INTO events (id, rowtime) VALUES (10, {})",
            clock.now_ms()
        ),
    )
    .await
    .expect("inserts");
    let offsets = rows(
        &mut session,
        "SELECT id, rowoffset FROM events WHERE id = 10",
    )
    .await;
    assert!(
        offsets.contains("| 10 | 9         |"),
        "no offset is used twice: {offsets}"
    );
    wait_for(
        &mut session,
        "SELECT id FROM late ORDER BY id",
        &ids(&[6, 7, 8, 9, 10]),
    )
    .await;
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_whose_committed_offset_was_deleted_goes_on_from_the_first_kept_row() {
    let data = tempfile::tempdir().expect("temp dir");
    let clock = Arc::new(ManualClock::new(NOW_MS));
    let engine = open(data.path(), &clock).await;
    let mut session = engine.session();
    run(
        &mut session,
        &format!(
            "CREATE STREAM events (id BIGINT) WITH (RETENTION_MS = {HOUR_MS});
             CREATE STREAM copied AS SELECT id FROM events;
             INSERT INTO events (id, rowtime) VALUES (1, {});",
            NOW_MS - 4 * HOUR_MS
        ),
    )
    .await
    .expect("creates");
    wait_for(&mut session, "SELECT id FROM copied", &ids(&[1])).await;
    engine.shutdown().await;
    drop(session);
    drop(engine);

    // While the engine is down, old rows arrive in the stream's log and retention deletes
    // them before the query could read them: its committed offset is no longer in the log.
    {
        let store = eddy_storage::Store::open(
            data.path(),
            eddy_storage::StoreConfig {
                segment_bytes_max: 1,
                ..eddy_storage::StoreConfig::default()
            },
        )
        .expect("the store opens");
        let name = store
            .topic_names()
            .into_iter()
            .find(|name| name.ends_with("-events"))
            .expect("the stream's log");
        let topic = store.topic(&name).expect("the stream's log");
        for (id, rowtime) in [
            (2, NOW_MS - 3 * HOUR_MS),
            (3, NOW_MS - 2 * HOUR_MS),
            (4, NOW_MS),
        ] {
            let row = arrow::record_batch::RecordBatch::try_new(
                topic.schema(),
                vec![
                    Arc::new(arrow::array::Int64Array::from(vec![id])),
                    Arc::new(arrow::array::Int64Array::from(vec![rowtime])),
                ],
            )
            .expect("a row of the log's schema");
            topic.append(0, vec![row]).await.expect("appends");
        }
        let deleted = topic
            .delete_segments_before("rowtime", NOW_MS - HOUR_MS)
            .expect("deletes");
        assert_eq!(deleted[0].first_offset, eddy_storage::Offset(3));
    }

    let engine = open(data.path(), &clock).await;
    let mut session = engine.session();
    wait_for(
        &mut session,
        "SELECT id FROM copied ORDER BY id",
        &ids(&[1, 4]),
    )
    .await;
    run(
        &mut session,
        &format!("INSERT INTO events (id, rowtime) VALUES (5, {NOW_MS})"),
    )
    .await
    .expect("inserts");
    wait_for(
        &mut session,
        "SELECT id FROM copied ORDER BY id",
        &ids(&[1, 4, 5]),
    )
    .await;
    engine.shutdown().await;
}
