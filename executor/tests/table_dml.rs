//! UPDATE and DELETE of many rows of a source table are each one change: a query downstream
//! goes from the table before the statement to the table after it, never through a state
//! holding part of it, however its epochs fall and however many partitions the rows are in.

use std::time::Duration;

use arrow::array::{AsArray, RecordBatch};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use eddy_executor::{Engine, EngineConfig, QueryOutput, RowStream, Session};
use futures::StreamExt;

mod common;

use common::{rows, run};

/// The longest the test waits for the aggregate's last change.
const WAIT_MAX: Duration = Duration::from_secs(30);

/// Column `index` of `batch` as whole numbers.
fn numbers(batch: &RecordBatch, index: usize) -> Vec<i64> {
    let column = cast(batch.column(index), &DataType::Int64).expect("a number column");
    column.as_primitive::<Int64Type>().values().to_vec()
}

/// The push query that is the last statement of `sql`.
async fn push_query(session: &mut Session, sql: &str) -> RowStream {
    let mut outputs = run(session, sql).await.expect("push query");
    let Some(QueryOutput::Rows(rows)) = outputs.pop() else {
        panic!("a push query answers with rows");
    };
    rows
}

/// The (total, accounts) pairs a push query sends, up to and including `last`.
async fn states_until(changes: &mut RowStream, last: (i64, i64)) -> Vec<(i64, i64)> {
    let mut seen = Vec::new();
    while !seen.contains(&last) {
        let batch = tokio::time::timeout(WAIT_MAX, changes.next())
            .await
            .unwrap_or_else(|_| panic!("no last state after {seen:?}"))
            .expect("the push query goes on")
            .expect("a batch");
        seen.extend(numbers(&batch, 0).into_iter().zip(numbers(&batch, 1)));
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aggregate_sees_each_update_and_delete_of_many_partitions_whole() {
    const ROWS: i64 = 100;
    const UPDATES: i64 = 30;
    let data = tempfile::tempdir().expect("temporary directory");
    let engine = Engine::open(EngineConfig::new(data.path()))
        .await
        .expect("engine opens");
    let mut session = engine.session();
    let values: Vec<String> = (0..ROWS).map(|id| format!("({id}, 'all', 1)")).collect();
    run(
        &mut session,
        &format!(
            "CREATE TABLE accounts (id BIGINT PRIMARY KEY, grp STRING, balance INT)
                 WITH (PARTITIONS = 4);
             INSERT INTO accounts VALUES {};
             CREATE TABLE totals AS
                 SELECT grp, SUM(balance) AS total, COUNT(*) AS accounts
                 FROM accounts GROUP BY grp;",
            values.join(", ")
        ),
    )
    .await
    .expect("setup");
    // A push query aggregating the table, subscribed before the statements.
    let mut subscriber = engine.session();
    let mut pushed = push_query(
        &mut subscriber,
        "SET 'auto.offset.reset' = 'earliest';
         SELECT SUM(balance) AS total, COUNT(*) AS accounts, grp
         FROM accounts GROUP BY grp EMIT CHANGES;",
    )
    .await;
    // The persistent query runs its epochs while the statements come, so they fall anywhere.
    for _ in 0..UPDATES {
        run(&mut session, "UPDATE accounts SET balance = balance + 1;")
            .await
            .expect("update");
    }
    run(&mut session, "DELETE FROM accounts WHERE id % 2 = 0;")
        .await
        .expect("delete");

    let last = ((UPDATES + 1) * ROWS / 2, ROWS / 2);
    let table = rows(
        &mut session,
        "SELECT SUM(balance) AS total, COUNT(*) AS accounts FROM accounts",
    )
    .await;
    let cells: String = table.split_whitespace().collect();
    assert!(
        cells.contains(&format!("|{}|{}|", last.0, last.1)),
        "{table}"
    );
    let whole = |&(total, accounts): &(i64, i64)| {
        (accounts == ROWS && total % ROWS == 0 && (1..=UPDATES + 1).contains(&(total / ROWS)))
            || (total, accounts) == last
    };
    // Every state of the persistent aggregate, from the start of its changelog.
    let mut persisted = push_query(
        &mut session,
        "SET 'auto.offset.reset' = 'earliest';
         SELECT total, accounts FROM totals EMIT CHANGES;",
    )
    .await;
    for (query, changes) in [("persistent", &mut persisted), ("push", &mut pushed)] {
        let seen = states_until(changes, last).await;
        let partial: Vec<&(i64, i64)> = seen.iter().filter(|state| !whole(state)).collect();
        assert!(
            partial.is_empty(),
            "{query} query states with part of a statement: {partial:?}"
        );
    }
    engine.shutdown().await;
}

/// The rows count of the command that `sql` is.
async fn command_rows(session: &mut Session, sql: &str) -> Option<usize> {
    let mut outputs = run(session, sql).await.expect("statement runs");
    let Some(QueryOutput::Command(command)) = outputs.pop() else {
        panic!("{sql} answers with a command tag");
    };
    command.rows
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statements_over_more_rows_than_a_scan_page_change_them_all() {
    let data = tempfile::tempdir().expect("temporary directory");
    let engine = Engine::open(EngineConfig::new(data.path()))
        .await
        .expect("engine opens");
    let mut session = engine.session();
    let values: Vec<String> = (0..20_000).map(|id| format!("({id}, 'n{id}')")).collect();
    run(
        &mut session,
        &format!(
            "CREATE TABLE big (id BIGINT PRIMARY KEY, name STRING) WITH (PARTITIONS = 2);
             INSERT INTO big VALUES {};",
            values.join(", ")
        ),
    )
    .await
    .expect("setup");
    let updated = command_rows(
        &mut session,
        "UPDATE big SET name = UCASE(name) WHERE id % 2 = 0;",
    )
    .await;
    assert_eq!(updated, Some(10_000));
    let deleted = command_rows(&mut session, "DELETE FROM big WHERE id >= 5000;").await;
    assert_eq!(deleted, Some(15_000));
    let copied = command_rows(
        &mut session,
        "INSERT INTO big SELECT id + 100000, name FROM big;",
    )
    .await;
    assert_eq!(copied, Some(5_000));
    let counts = rows(
        &mut session,
        "SELECT COUNT(*) AS all_rows, SUM(CASE WHEN name LIKE 'N%' THEN 1 ELSE 0 END) AS upper_case FROM big",
    )
    .await;
    let cells: String = counts.split_whitespace().collect();
    assert!(cells.contains("|10000|5000|"), "{counts}");
    engine.shutdown().await;
}
