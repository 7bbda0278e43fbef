//! Committing a batch of state changes: the one way the executor writes the state store.
//!
//! A commit waits for an fsync, so it runs off the async threads: on a blocking thread when
//! small, at background priority when it is bulk work (a GROUP BY epoch of tens of thousands
//! of keys), so that a client's lookup never queues behind it.
//!
//! Never: block an async thread on the state store.

use eddy_storage::{StateBatch, Store};

use crate::background::run_in_background;
use crate::error::{EngineError, EngineResult};
use crate::limits::BACKGROUND_COMMIT_CHANGES_MIN;

/// Commits a state batch atomically and durably.
pub(crate) async fn commit_state(store: &Store, batch: StateBatch) -> EngineResult<()> {
    let state = store.state().clone();
    if batch.len() >= BACKGROUND_COMMIT_CHANGES_MIN {
        return Ok(run_in_background(move || state.commit(batch))?);
    }
    tokio::task::spawn_blocking(move || state.commit(batch))
        .await
        .map_err(|error| EngineError::Internal(format!("state commit task failed: {error}")))??;
    Ok(())
}
