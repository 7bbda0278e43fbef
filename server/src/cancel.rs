//! Cancelling what a connection is running: a CancelRequest (pgwire's `DefaultCancelHandler`,
//! through the `ConnectionManager` that startup registered the connection with) fires the
//! receiver the connection took for its current query, a statement's work or a COPY FROM.
//!
//! A connection takes one receiver per query, and each new one replaces the last, so a
//! cancel reaches only the query running when it arrives.
//!
//! Never: treat a replaced receiver (its sender gone) as a cancel.

use std::future::Future;
use std::sync::Arc;

use futures::channel::oneshot;
use pgwire::api::{ClientInfo, ConnectionHandle};
use pgwire::error::{PgWireError, PgWireResult};

/// The connection's cancel receiver for the query about to run (None before startup
/// registered the connection). A receiver taken earlier stops waiting (its sender is gone)
/// without firing.
pub(crate) async fn cancel_receiver<C: ClientInfo>(client: &C) -> Option<oneshot::Receiver<()>> {
    let handle = client.session_extensions().get::<Arc<ConnectionHandle>>()?;
    Some(handle.start_query().await)
}

/// Runs `work` until it ends or a CancelRequest fires `cancel` (57014, the work and
/// the result stream it owns are dropped). A `cancel` whose sender was replaced (a COPY FROM
/// took a receiver of its own) is not a cancel.
pub(crate) async fn until_cancelled<T>(
    work: impl Future<Output = PgWireResult<T>>,
    cancel: Option<oneshot::Receiver<()>>,
) -> PgWireResult<T> {
    match cancel {
        None => work.await,
        Some(cancel) => tokio::select! {
            result = work => result,
            Ok(()) = cancel => Err(PgWireError::QueryCanceled),
        },
    }
}
