//! The COPY FROM STDIN sub-protocol: after a statement answered with a `CopyInSink`, the
//! client's CopyData messages go to the sink as they arrive, CopyDone finishes it (and its
//! CommandComplete `COPY n` follows once every row is durable), CopyFail drops it.
//!
//! pgwire routes the messages here while the connection is in `CopyInProgress`; it sends
//! ReadyForQuery after CopyDone or an error (simple protocol) or at the next Sync (extended),
//! and ignores CopyData that a client sends after an error ended the COPY.
//!
//! Never: feed a sink after its COPY ended (on an error, CopyFail or a cancel it is dropped at
//! once), or gather the input in memory: each CopyData goes to the sink as it comes.

use std::fmt::Debug;

use async_trait::async_trait;
use futures::channel::oneshot;
use futures::{Sink, SinkExt};
use pgwire::api::ClientInfo;
use pgwire::api::copy::CopyHandler;
use pgwire::api::results::Tag;
use pgwire::error::{PgWireError, PgWireResult};
use pgwire::messages::PgWireBackendMessage;
use pgwire::messages::copy::{CopyData, CopyDone, CopyFail};
use tokio::sync::Mutex;

use eddy_executor::CopyInSink;

use crate::connection::ConnectionHandler;
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

#[async_trait]
impl CopyHandler for ConnectionHandler {
    async fn on_copy_data<C>(&self, _client: &mut C, copy_data: CopyData) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let mut slot = self.copy_in.lock().await;
        let written = match slot.as_mut() {
            Some(copy) => copy.write(&copy_data.data).await,
            None => Err(server_error(ServerError::NoCopyInProgress)),
        };
        if written.is_err() {
            // The COPY is over; the chunks it appended stay, the rest is dropped.
            *slot = None;
        }
        written
    }

    async fn on_copy_done<C>(&self, client: &mut C, _done: CopyDone) -> PgWireResult<()>
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        let copy = self.copy_in.lock().await.take();
        let copy = copy.ok_or_else(|| server_error(ServerError::NoCopyInProgress))?;
        let rows = copy.finish().await?;
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        let tag = Tag::new("COPY").with_rows(rows);
        client
            .feed(PgWireBackendMessage::CommandComplete(tag.into()))
            .await?;
        Ok(())
    }

    async fn on_copy_fail<C>(&self, _client: &mut C, fail: CopyFail) -> PgWireError
    where
        C: ClientInfo + Sink<PgWireBackendMessage> + Unpin + Send + Sync,
        C::Error: Debug,
        PgWireError: From<<C as Sink<PgWireBackendMessage>>::Error>,
    {
        self.copy_in.lock().await.take();
        server_error(ServerError::CopyFailed {
            message: fail.message,
        })
    }
}
