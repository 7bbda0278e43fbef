//! Wall-clock time, injected: the engine reads the time of day only through its `Clock`, so
//! that tests (and, later, windows that close when input goes quiet) control it. Production
//! uses `SystemClock`; tests use `ManualClock` and move it by hand, without sleeping.
//!
//! Never: read the system clock anywhere else in the engine; operators never read a clock.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::sync::watch;

/// A wait for a time of day, as a clock keeps it.
pub type ClockWait = Pin<Box<dyn Future<Output = ()> + Send>>;

/// A source of wall-clock time.
pub trait Clock: Send + Sync + fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;

    /// Completes once the clock reads `deadline_ms` or later.
    fn wait_until(&self, deadline_ms: i64) -> ClockWait;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }

    fn wait_until(&self, deadline_ms: i64) -> ClockWait {
        let wait_ms = deadline_ms.saturating_sub(self.now_ms()).max(0) as u64;
        Box::pin(tokio::time::sleep(Duration::from_millis(wait_ms)))
    }
}

/// A clock that stands still until it is moved; waits end when it is moved past them.
#[derive(Debug)]
pub struct ManualClock {
    now_ms: watch::Sender<i64>,
}

impl ManualClock {
    pub fn new(now_ms: i64) -> Self {
        ManualClock {
            now_ms: watch::Sender::new(now_ms),
        }
    }

    pub fn set_ms(&self, now_ms: i64) {
        self.now_ms.send_replace(now_ms);
    }

    pub fn advance_ms(&self, elapsed_ms: i64) {
        self.now_ms
            .send_modify(|now| *now = now.saturating_add(elapsed_ms));
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        *self.now_ms.borrow()
    }

    fn wait_until(&self, deadline_ms: i64) -> ClockWait {
        let mut now = self.now_ms.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock; a clock dropped never reaches the time.
            if now.wait_for(|now| *now >= deadline_ms).await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
