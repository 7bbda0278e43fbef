//! The COPY FROM STDIN sub-protocol: after a statement answered with a `CopyInSink`, the
//! client's CopyData messages go to the sink as they arrive, CopyDone finishes it (and its
//! CommandComplete `COPY n` follows once every row is durable), CopyFail drops it.
//!
//! The connection's `CopyHandler` passes each message here with its `CopyInSlot`: this module
//! knows the slot, not the connection. pgwire sends ReadyForQuery after CopyDone or an error
//! (simple protocol) or at the next Sync (extended), and ignores CopyData after an error.
//!
//! Never: feed a sink after its COPY ended (on an error, CopyFail or a cancel it is dropped at
//! once), or gather the input in memory: each CopyData goes to the sink as it comes.

use futures::channel::oneshot;
use pgwire::api::results::Tag;
use pgwire::error::{PgWireError, PgWireResult};
use tokio::sync::Mutex;

use eddy_executor::CopyInSink;

use crate::error::ServerError;
use crate::sqlstate::{engine_error, server_error};

/// The COPY FROM STDIN a connection is receiving, if any.
pub(crate) type CopyInSlot = Mutex<Option<CopyIn>>;

/// A COPY FROM STDIN in progress.
pub(crate) struct CopyIn {
    sink: CopyInSink,
    /// Fires when a CancelRequest for the connection arrives (None before startup registered
    /// the connection).
    cancel: Option<oneshot::Receiver<()>>,
}

impl CopyIn {
    pub(crate) fn new(sink: CopyInSink, cancel: Option<oneshot::Receiver<()>>) -> Self {
        Self { sink, cancel }
    }

    /// A CancelRequest ends the COPY at the next message, as in Postgres (57014).
    fn check_cancelled(&mut self) -> PgWireResult<()> {
        let cancelled = self
            .cancel
            .as_mut()
            .is_some_and(|cancel| matches!(cancel.try_recv(), Ok(Some(()))));
        if cancelled {
            return Err(PgWireError::QueryCanceled);
        }
        Ok(())
    }

    async fn write(&mut self, data: &[u8]) -> PgWireResult<()> {
        self.check_cancelled()?;
        self.sink.write(data).await.map_err(engine_error)
    }

    async fn finish(mut self) -> PgWireResult<u64> {
        self.check_cancelled()?;
        self.sink.finish().await.map_err(engine_error)
    }
}

/// CopyData: the bytes go to the sink at once. An error ends the COPY: the chunks it
/// appended stay, the rest is dropped.
pub(crate) async fn write_data(slot: &CopyInSlot, data: &[u8]) -> PgWireResult<()> {
    let mut slot = slot.lock().await;
    let written = match slot.as_mut() {
        Some(copy) => copy.write(data).await,
        None => Err(server_error(ServerError::NoCopyInProgress)),
    };
    if written.is_err() {
        *slot = None;
    }
    written
}

/// CopyDone: finishes the sink and returns the CommandComplete tag, `COPY n`, once every
/// row is durable.
pub(crate) async fn finish(slot: &CopyInSlot) -> PgWireResult<Tag> {
    let copy = slot.lock().await.take();
    let copy = copy.ok_or_else(|| server_error(ServerError::NoCopyInProgress))?;
    let rows = copy.finish().await?;
    let rows = usize::try_from(rows).unwrap_or(usize::MAX);
    Ok(Tag::new("COPY").with_rows(rows))
}

/// CopyFail: drops the sink and returns the error to answer with.
pub(crate) async fn fail(slot: &CopyInSlot, message: String) -> PgWireError {
    slot.lock().await.take();
    server_error(ServerError::CopyFailed { message })
}
