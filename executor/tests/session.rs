//! The session API end to end, without the wire: statements in, Arrow batches out.
//! (The same behaviour through the Postgres protocol is tested in `cli/tests`.)

use eddy_executor::{Engine, EngineConfig};

mod common;

use common::{rows, run};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_insert_select_and_a_persistent_query() {
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(data.path())).await.unwrap();
    let mut session = engine.session();
    run(
        &mut session,
        "CREATE STREAM clicks (user_id BIGINT KEY, url STRING, ms BIGINT) WITH (PARTITIONS = 2);
         INSERT INTO clicks (user_id, url, ms) VALUES (1, '/a', 5), (2, '/slow', 900), (3, '/slower', 1500);",
    )
    .await
    .unwrap();
    let all = rows(
        &mut session,
        "SELECT user_id, url, ms FROM clicks ORDER BY user_id",
    )
    .await;
    assert!(all.contains("/slower"), "{all}");
    run(&mut session, "CREATE STREAM slow AS SELECT user_id, upper(url) AS url FROM clicks WHERE ms > 500 EMIT CHANGES;")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let slow = rows(&mut session, "SELECT COUNT(*) AS n FROM slow").await;
        if slow.contains("| 2 |") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the persistent query did not catch up: {slow}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let slow = rows(&mut session, "SELECT * FROM slow ORDER BY user_id").await;
    assert_eq!(
        slow,
        "+---------+---------+\n| user_id | url     |\n+---------+---------+\n| 2       | /SLOW   |\n| 3       | /SLOWER |\n+---------+---------+"
    );
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_larger_than_a_scan_page_answers_whole() {
    let data = tempfile::tempdir().unwrap();
    let engine = Engine::open(EngineConfig::new(data.path())).await.unwrap();
    let mut session = engine.session();
    run(
        &mut session,
        "CREATE TABLE big (id BIGINT PRIMARY KEY, name STRING) WITH (PARTITIONS = 2);",
    )
    .await
    .unwrap();
    // 20,000 rows: more than two pages of a table scan.
    for chunk in 0..4 {
        let values: Vec<String> = (chunk * 5000..(chunk + 1) * 5000)
            .map(|id| format!("({id}, 'n{id}')"))
            .collect();
        run(
            &mut session,
            &format!("INSERT INTO big VALUES {};", values.join(", ")),
        )
        .await
        .unwrap();
    }
    let totals = rows(
        &mut session,
        "SELECT COUNT(*) AS n, SUM(id) AS total, COUNT(DISTINCT name) AS names FROM big",
    )
    .await;
    assert!(totals.contains("| 20000 | 199990000 | 20000 |"), "{totals}");
    let range = rows(
        &mut session,
        "SELECT COUNT(*) AS n FROM big WHERE id >= 19990",
    )
    .await;
    assert!(range.contains("| 10 |"), "{range}");
    engine.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_without_an_event_time_take_the_engines_clock() {
    let data = tempfile::tempdir().unwrap();
    let clock = std::sync::Arc::new(eddy_executor::ManualClock::new(1_700_000_000_000));
    let mut config = EngineConfig::new(data.path());
    config.clock = clock.clone();
    let engine = Engine::open(config).await.unwrap();
    let mut session = engine.session();
    run(
        &mut session,
        "CREATE STREAM readings (id BIGINT); INSERT INTO readings (id) VALUES (1);",
    )
    .await
    .unwrap();
    clock.advance_ms(250);
    run(&mut session, "INSERT INTO readings (id) VALUES (2)")
        .await
        .unwrap();
    let times = rows(&mut session, "SELECT id, rowtime FROM readings ORDER BY id").await;
    assert!(times.contains("| 1  | 1700000000000 |"), "{times}");
    assert!(times.contains("| 2  | 1700000000250 |"), "{times}");
    engine.shutdown().await;
}
