//! SHOW QUERIES' lag of a query that reads one source twice (a stream joined with a window
//! of itself, as Nexmark's q7): its input rows are the source's rows once per read, so its
//! lag and the rows it has processed add up to twice the source's rows until it has caught
//! up, and a lag of 0 means it has.
//!
//! Never: sleep; each check holds at whatever moment it is made.

use eddy_executor::{Engine, EngineConfig};

mod common;

use common::{rows, run, wait_for};

const ROWS: i64 = 20_000;

/// `rows_processed` and `lag` of the only query, from SHOW QUERIES.
fn processed_and_lag(table: &str) -> (i64, i64) {
    let line = table
        .lines()
        .nth(3)
        .unwrap_or_else(|| panic!("SHOW QUERIES lists the query:\n{table}"));
    let cells: Vec<&str> = line.split('|').map(str::trim).collect();
    let number = |index: usize| -> i64 {
        cells
            .get(index)
            .and_then(|cell| cell.parse().ok())
            .unwrap_or_else(|| panic!("a number in column {index} of\n{table}"))
    };
    // | query_id | status | sink | rows_processed | late_rows | lag | ...
    (number(4), number(6))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_reading_a_source_twice_lags_by_both_reads() {
    let data = tempfile::tempdir().expect("temp dir");
    let engine = Engine::open(EngineConfig::new(data.path()))
        .await
        .expect("engine opens");
    let mut session = engine.session();
    run(
        &mut session,
        "CREATE STREAM bids (auction BIGINT KEY, price BIGINT, ts BIGINT)
             WITH (PARTITIONS = 2, TIMESTAMP = 'ts');",
    )
    .await
    .expect("creates");
    let values: Vec<String> = (0..ROWS)
        .map(|i| format!("({}, {}, {i})", i % 7, (i * 37) % 1000))
        .collect();
    for chunk in values.chunks(1000) {
        let sql = format!(
            "INSERT INTO bids (auction, price, ts) VALUES {}",
            chunk.join(", ")
        );
        run(&mut session, &sql).await.expect("inserts");
    }
    run(
        &mut session,
        "SET 'auto.offset.reset' = 'earliest';
         CREATE STREAM highest AS
             SELECT b.auction, b.price, b.ts
             FROM bids b
             JOIN (
                 SELECT MAX(price) AS top_price, window_start, window_end
                 FROM TUMBLE(bids, ts, INTERVAL '1' SECOND)
                 GROUP BY window_start, window_end
             ) tops WITHIN 1 SECOND
             ON b.price = tops.top_price
             WHERE b.ts >= UNIX_TIMESTAMP(tops.window_start)
               AND b.ts < UNIX_TIMESTAMP(tops.window_end);",
    )
    .await
    .expect("creates the query");

    let (processed, lag) = processed_and_lag(&rows(&mut session, "SHOW QUERIES").await);
    assert!(
        processed + lag >= 2 * ROWS,
        "{processed} rows processed and a lag of {lag}: the query reads {ROWS} rows twice"
    );
    wait_for(
        &mut session,
        "SELECT COUNT(*) AS windows FROM highest WHERE price = 999",
        "+---------+\n| windows |\n+---------+\n| 19      |\n+---------+",
    )
    .await;
    let (processed, lag) = processed_and_lag(&rows(&mut session, "SHOW QUERIES").await);
    assert_eq!((processed, lag), (2 * ROWS, 0));
}
