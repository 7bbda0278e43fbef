//! What the session-level tests share: statements run through a `Session` as a front end
//! runs them, a query's rows as a table, and a bounded wait for an answer.

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use eddy_executor::{EngineError, QueryOutput, Session};
use futures::StreamExt;

/// Every statement of `sql`, in order; the first error stops them.
pub async fn run(session: &mut Session, sql: &str) -> Result<Vec<QueryOutput>, EngineError> {
    let mut outputs = Vec::new();
    for statement in session.parse(sql)? {
        outputs.push(session.execute(&statement).await?);
    }
    Ok(outputs)
}

/// The rows of the last statement of `sql`, as a table.
pub async fn rows(session: &mut Session, sql: &str) -> String {
    let mut outputs = run(session, sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"));
    let Some(QueryOutput::Rows(mut stream)) = outputs.pop() else {
        panic!("{sql}: no rows")
    };
    let mut batches: Vec<RecordBatch> = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch.expect("batch"));
    }
    pretty_format_batches(&batches)
        .expect("formats")
        .to_string()
}

/// How long `wait_for` waits for a persistent query to give its answer before it fails.
const WAIT_MAX: std::time::Duration = std::time::Duration::from_secs(120);

/// Waits until `sql` answers `expected` (as `rows` prints it), a persistent query being
/// asynchronous; fails with the last answer after `WAIT_MAX`.
#[allow(
    dead_code,
    reason = "each test crate includes this module; not every one waits"
)]
pub async fn wait_for(session: &mut Session, sql: &str, expected: &str) {
    let deadline = std::time::Instant::now() + WAIT_MAX;
    loop {
        let answer = rows(session, sql).await;
        if answer == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{sql} answered\n{answer}\nnot\n{expected}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}
