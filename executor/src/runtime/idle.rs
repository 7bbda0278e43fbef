//! What a query that has read all of its input does by the clock: stream time that follows
//! the clock once input has been quiet for the windows' `IDLE TIMEOUT` (so `EMIT FINAL`
//! windows and sessions close without a later row), and rows an operator emits by the clock
//! alone (`Pipeline::next_due_ms`). Persistent and push queries each keep one `IdleClock`,
//! tell it when input comes, and ask it what to do whenever they have caught up.
//!
//! Never: move stream time while input is still coming, move it backwards, or step it more
//! often than `IDLE_TICK_MS` (each step is an epoch).

use std::sync::Arc;

use eddy_storage::StateStore;

use crate::clock::{Clock, ClockWait};
use crate::error::EngineResult;
use crate::limits::IDLE_TICK_MS;
use crate::runtime::pipeline::Pipeline;

/// A query's view of the clock while its input is quiet.
pub(crate) struct IdleClock {
    clock: Arc<dyn Clock>,
    /// How long input must be quiet before stream time follows the clock (the pipeline's
    /// `IDLE TIMEOUT`); None: it never does.
    timeout_ms: Option<i64>,
    /// When input last came (clock ms) and the stream time it left, with a timeout: an idle
    /// timeout counts from it.
    last_input: Option<(i64, Option<i64>)>,
}

/// What a query that has read all of its input does next.
pub(crate) enum CaughtUp {
    /// Run an epoch without input rows, the windows' stream time first moved to
    /// `stream_time` if there is one.
    Epoch { stream_time: Option<i64> },
    /// Wait for input, or until the clock reads this time.
    Wait { until_ms: Option<i64> },
}

impl IdleClock {
    /// The clock of a query starting now: its start counts as input coming.
    pub fn start(
        clock: Arc<dyn Clock>,
        pipeline: &mut Pipeline,
        state: &dyn StateStore,
    ) -> EngineResult<IdleClock> {
        let mut idle = IdleClock {
            clock,
            timeout_ms: pipeline.idle_timeout_ms(),
            last_input: None,
        };
        idle.input_came(pipeline, state)?;
        Ok(idle)
    }

    /// Input came and went through the pipeline.
    pub fn input_came(
        &mut self,
        pipeline: &mut Pipeline,
        state: &dyn StateStore,
    ) -> EngineResult<()> {
        if self.timeout_ms.is_some() {
            self.last_input = Some((self.clock.now_ms(), pipeline.stream_time(state)?));
        }
        Ok(())
    }

    /// What a query that has read all of its input does now.
    pub fn caught_up(
        &self,
        pipeline: &mut Pipeline,
        state: &dyn StateStore,
    ) -> EngineResult<CaughtUp> {
        let now = self.clock.now_ms();
        let stream_time = self.idle_stream_time(now, pipeline, state)?;
        let next_due = pipeline.next_due_ms(state)?;
        if stream_time.is_some() || next_due.is_some_and(|due| due <= now) {
            return Ok(CaughtUp::Epoch { stream_time });
        }
        let idle_deadline = match self.timeout_ms.zip(self.last_input) {
            Some((timeout_ms, (came_ms, Some(_)))) => Some(
                came_ms
                    .saturating_add(timeout_ms)
                    .max(now.saturating_add(IDLE_TICK_MS)),
            ),
            _ => None,
        };
        Ok(CaughtUp::Wait {
            until_ms: idle_deadline.into_iter().chain(next_due).min(),
        })
    }

    /// Completes once the clock reads `until_ms`; never, without one.
    pub fn wait(&self, until_ms: Option<i64>) -> ClockWait {
        match until_ms {
            Some(deadline) => self.clock.wait_until(deadline),
            None => Box::pin(std::future::pending()),
        }
    }

    /// Once no input has come for the timeout, stream time follows the clock from the stream
    /// time input left: the time to move it to at `now`, if that is ahead of it.
    fn idle_stream_time(
        &self,
        now: i64,
        pipeline: &mut Pipeline,
        state: &dyn StateStore,
    ) -> EngineResult<Option<i64>> {
        let Some((timeout_ms, (came_ms, Some(left)))) = self.timeout_ms.zip(self.last_input) else {
            return Ok(None);
        };
        let idle_since = came_ms.saturating_add(timeout_ms);
        if now <= idle_since {
            return Ok(None);
        }
        let target = left.saturating_add(now - idle_since);
        let current = pipeline.stream_time(state)?;
        Ok(current
            .is_none_or(|current| target > current)
            .then_some(target))
    }
}
