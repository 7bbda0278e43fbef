//! What a statement gives back to its client: a command tag, or rows.
//!
//! Rows are always a stream of Arrow batches, finite (pull queries, SHOW, DESCRIBE) or live
//! (push queries, which end only at their LIMIT, on cancel, or when the stream is dropped).
//! Dropping a `RowStream` stops all work behind it: that is how cancel and disconnect free
//! a push query's resources.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::task::{Context, Poll};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use futures::Stream;
use futures::stream::BoxStream;

use crate::copy_in::CopyInSink;
use crate::error::{EngineError, panic_message};
pub use eddy_parser::TransactionStatement;

/// The result of one statement.
pub enum QueryOutput {
    /// A statement that returns no rows, e.g. `CREATE STREAM`, `INSERT 0 3`.
    Command(CommandComplete),
    /// A result set, sent as RowDescription + DataRows.
    Rows(RowStream),
    /// `COPY (query) TO STDOUT`: the same rows, sent as COPY data in text format.
    CopyOut(RowStream),
    /// `COPY stream FROM STDIN`: the front end feeds the client's COPY data to the sink.
    CopyIn(Box<CopyInSink>),
    /// `BEGIN` / `COMMIT` / `ROLLBACK`: accepted for client compatibility; Eddy's statements
    /// each commit on their own.
    Transaction(TransactionStatement),
}

/// The command tag of a statement without rows (`tag` then `rows`, as Postgres prints them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandComplete {
    pub tag: String,
    /// Rows affected, for INSERT and DELETE (`INSERT 0 <rows>`).
    pub rows: Option<usize>,
    /// A message for the user, sent as a NOTICE before the tag (e.g. the id of the query
    /// that `CREATE STREAM .. AS SELECT` started).
    pub notice: Option<String>,
}

impl CommandComplete {
    pub fn new(tag: impl Into<String>) -> Self {
        Self {
            tag: tag.into(),
            rows: None,
            notice: None,
        }
    }

    pub fn with_notice(mut self, notice: impl Into<String>) -> Self {
        self.notice = Some(notice.into());
        self
    }

    pub fn with_rows(tag: impl Into<String>, rows: usize) -> Self {
        Self {
            tag: tag.into(),
            rows: Some(rows),
            notice: None,
        }
    }
}

/// A stream of result batches with a known schema.
pub struct RowStream {
    schema: SchemaRef,
    live: bool,
    batches: BoxStream<'static, Result<RecordBatch, EngineError>>,
}

impl RowStream {
    /// A finite result that is already computed.
    pub fn from_batches(schema: SchemaRef, batches: Vec<RecordBatch>) -> Self {
        let batches = futures::stream::iter(batches.into_iter().map(Ok));
        Self {
            schema,
            live: false,
            batches: Box::pin(batches),
        }
    }

    /// A result produced while the client reads it.
    pub fn from_stream(
        schema: SchemaRef,
        live: bool,
        batches: BoxStream<'static, Result<RecordBatch, EngineError>>,
    ) -> Self {
        Self {
            schema,
            live,
            batches,
        }
    }

    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// True for push queries: rows keep coming until LIMIT, cancel or disconnect, so the
    /// server flushes each batch as it arrives and sends heartbeats while idle.
    pub fn is_live(&self) -> bool {
        self.live
    }
}

impl Stream for RowStream {
    type Item = Result<RecordBatch, EngineError>;

    /// A panic while computing the rows (a pull query's DataFusion operators run here) ends
    /// the result with an error instead of the client's connection.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let polled = catch_unwind(AssertUnwindSafe(|| self.batches.as_mut().poll_next(cx)));
        match polled {
            Ok(poll) => poll,
            Err(panic) => {
                let message = format!(
                    "the query failed while computing its rows: {}",
                    panic_message(panic.as_ref())
                );
                // The stream is left half polled and is never polled again.
                self.batches = Box::pin(futures::stream::empty());
                Poll::Ready(Some(Err(EngineError::Internal(message))))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::Schema;
    use futures::StreamExt;

    use super::*;

    #[tokio::test]
    async fn a_panic_while_computing_rows_ends_the_result_with_an_error() {
        let schema = Arc::new(Schema::empty());
        let first = RecordBatch::new_empty(Arc::clone(&schema));
        let batches = futures::stream::iter([0, 1]).map(move |index| match index {
            0 => Ok(first.clone()),
            _ => panic!("an operator broke an invariant"),
        });
        let mut rows = RowStream::from_stream(schema, false, batches.boxed());
        assert!(matches!(rows.next().await, Some(Ok(_))));
        let Some(Err(EngineError::Internal(message))) = rows.next().await else {
            panic!("the panic is an error of the result");
        };
        assert_eq!(
            message,
            "the query failed while computing its rows: an operator broke an invariant"
        );
        assert!(rows.next().await.is_none());
    }
}
