//! Randomized check of incremental aggregation: for random inserts into a stream and random
//! upserts and deletes of a table, every `CREATE TABLE .. AS SELECT .. GROUP BY` must hold
//! exactly what DataFusion answers for the same SELECT run as a pull query over the same rows
//! (less the group of NULL keys, which a streaming GROUP BY drops).
//!
//! Each seed drives a different history; a failure names its seed and both answers.

use eddy_executor::{Engine, EngineConfig, Session};

mod common;

use common::{rows, run};

/// The aggregations under test: (table name, SELECT). Each SELECT is run both ways.
const QUERIES: &[(&str, &str)] = &[
    (
        "stream_all",
        "SELECT k, COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS total, MIN(v) AS low, MAX(v) AS high, \
         COUNT(DISTINCT v) AS distinct_v, COUNT_DISTINCT(s) AS distinct_s, MIN(s) AS first_s, \
         MAX(s) AS last_s FROM events GROUP BY k",
    ),
    (
        "stream_filtered",
        "SELECT k % 3 AS bucket, COUNT(*) AS n, SUM(v * 2) AS doubled, \
         CAST(AVG(v) * 1000 AS BIGINT) AS mean_milli FROM events WHERE v % 2 = 0 \
         GROUP BY k % 3 HAVING COUNT(*) > 2",
    ),
    (
        "table_all",
        "SELECT g, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS low, MAX(v) AS high, \
         COUNT(DISTINCT v) AS distinct_v, MAX(s) AS last_s FROM items GROUP BY g",
    ),
    (
        "table_having",
        "SELECT g, SUM(v) AS total, MIN(s) AS first_s FROM items WHERE v IS NOT NULL \
         GROUP BY g HAVING SUM(v) > 40",
    ),
];

async fn execute(session: &mut Session, sql: &str) {
    run(session, sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
}

/// Waits until every persistent query has processed all of its input.
async fn settle(session: &mut Session) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut settled_polls = 0;
    while settled_polls < 2 {
        let lags = rows(session, "SHOW QUERIES").await;
        let behind = lags.lines().skip(3).any(|line| {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | query_id | status | sink | rows_processed | lag | statement |
            cells
                .get(5)
                .is_some_and(|lag| !lag.is_empty() && *lag != "0")
        });
        settled_polls = if behind { 0 } else { settled_polls + 1 };
        assert!(
            std::time::Instant::now() < deadline,
            "queries did not catch up:\n{lags}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

fn maybe_null(random: &mut fastrand::Rng, value: String) -> String {
    if random.u8(..10) == 0 {
        "NULL".to_string()
    } else {
        value
    }
}

/// One random history: rounds of stream inserts and table upserts and deletes, with the
/// persistent queries running while they land, and the engine stopped and opened again
/// halfway, wherever its queries are.
async fn check_seed(seed: u64) {
    let data = tempfile::tempdir().unwrap();
    let mut random = fastrand::Rng::with_seed(seed);
    let engine = Engine::open(EngineConfig::new(data.path())).await.unwrap();
    let mut session = engine.session();
    execute(
        &mut session,
        "CREATE STREAM events (k BIGINT KEY, v BIGINT, s STRING) WITH (PARTITIONS = 3);
         CREATE TABLE items (id BIGINT PRIMARY KEY, g STRING, v BIGINT, s STRING) WITH (PARTITIONS = 2);",
    )
    .await;
    for (name, select) in QUERIES {
        execute(&mut session, &format!("CREATE TABLE {name} AS {select};")).await;
    }
    write_rounds(&mut session, &mut random, 4).await;
    drop(session);
    engine.shutdown().await;
    drop(engine);
    let engine = Engine::open(EngineConfig::new(data.path())).await.unwrap();
    let mut session = engine.session();
    write_rounds(&mut session, &mut random, 4).await;
    settle(&mut session).await;
    for (name, select) in QUERIES {
        let columns = select
            .split(" FROM ")
            .next()
            .and_then(|list| list.strip_prefix("SELECT "))
            .expect("a SELECT list");
        let names: Vec<&str> = columns
            .split(", ")
            .map(|item| item.rsplit(' ').next().unwrap_or(item))
            .collect();
        let incremental = rows(
            &mut session,
            &format!(
                "SELECT {} FROM {name} ORDER BY {}",
                names.join(", "),
                names[0]
            ),
        )
        .await;
        // A streaming GROUP BY drops rows whose key is NULL (ksqlDB's rule); a batch
        // GROUP BY makes them a group, which the comparison leaves out.
        let batch = rows(
            &mut session,
            &format!(
                "SELECT * FROM ({select}) AS batch_answer WHERE {0} IS NOT NULL ORDER BY {0}",
                names[0]
            ),
        )
        .await;
        assert_eq!(
            incremental, batch,
            "seed {seed}, table {name}: incremental (left) and batch (right) differ"
        );
    }
    engine.shutdown().await;
}

/// `rounds` rounds of random stream inserts, table upserts and table deletes.
async fn write_rounds(session: &mut Session, random: &mut fastrand::Rng, rounds: usize) {
    for _ in 0..rounds {
        let events: Vec<String> = (0..random.u64(..60) + 1)
            .map(|_| {
                let k = random.u64(..12).to_string();
                let k = maybe_null(random, k);
                let v = (random.u64(..50) as i64 - 10).to_string();
                let v = maybe_null(random, v);
                let s = format!("'s{}'", random.u64(..8));
                let s = maybe_null(random, s);
                format!("({k}, {v}, {s})")
            })
            .collect();
        execute(
            session,
            &format!("INSERT INTO events (k, v, s) VALUES {};", events.join(", ")),
        )
        .await;
        let upserts: Vec<String> = (0..random.u64(..20) + 1)
            .map(|_| {
                let id = random.u64(..30);
                let g = format!("'g{}'", random.u64(..4));
                let g = maybe_null(random, g);
                let v = random.u64(..30).to_string();
                let v = maybe_null(random, v);
                let s = format!("'t{}'", random.u64(..5));
                let s = maybe_null(random, s);
                format!("({id}, {g}, {v}, {s})")
            })
            .collect();
        execute(
            session,
            &format!(
                "INSERT INTO items (id, g, v, s) VALUES {};",
                upserts.join(", ")
            ),
        )
        .await;
        let deleted: Vec<String> = (0..random.u64(..6))
            .map(|_| random.u64(..30).to_string())
            .collect();
        if !deleted.is_empty() {
            execute(
                session,
                &format!("DELETE FROM items WHERE id IN ({});", deleted.join(", ")),
            )
            .await;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn incremental_aggregates_equal_the_batch_answer() {
    for seed in 1..=6 {
        check_seed(seed).await;
    }
}
