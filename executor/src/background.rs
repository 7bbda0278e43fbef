//! Bulk work at background priority: a persistent query catching up on a large epoch, or
//! COPY decoding its chunks, runs on a thread whose OS scheduling priority is below that of
//! the threads that answer clients. On a busy machine a point lookup then gets a core as
//! soon as it arrives, instead of waiting behind hundreds of milliseconds of aggregation.
//!
//! Never: run small work this way (a thread per call costs tens of microseconds), or make a
//! job's result depend on where it ran.

use std::sync::{Mutex, PoisonError};
use std::thread;

/// How much nicer than the runtime's threads bulk work runs (Linux nice values).
const BACKGROUND_NICENESS: i32 = 10;
const NICEST: i32 = 19;

/// Runs `work` on a thread of background priority and returns its result; the async worker
/// that calls it steps aside first (`block_in_place`), so the runtime goes on serving. Outside
/// a multi-threaded runtime, `work` runs right here.
pub(crate) fn run_in_background<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    match tokio::runtime::Handle::try_current().map(|runtime| runtime.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => {
            tokio::task::block_in_place(|| on_a_background_thread(work))
        }
        _ => work(),
    }
}

fn on_a_background_thread<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    // Shared with the thread so that the work can still run here if no thread can be made.
    let pending = Mutex::new(Some(work));
    let take = || {
        pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    };
    thread::scope(|scope| {
        let spawned = thread::Builder::new()
            .name("eddy-background".into())
            .spawn_scoped(scope, || {
                lower_this_threads_priority();
                take().map(|work| work())
            });
        let done = match spawned {
            Ok(thread) => thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            Err(error) => {
                tracing::warn!(%error, "no thread for background work; running it in place");
                None
            }
        };
        // `take` yields the work exactly once: to the thread, or else to this fallback.
        done.unwrap_or_else(|| take().map(|work| work()).expect("the work was not run"))
    })
}

/// Linux keeps a nice value per thread: this lowers the calling thread's priority only.
/// Raising it back would need a privilege, which is why bulk work gets a thread of its own.
#[cfg(target_os = "linux")]
fn lower_this_threads_priority() {
    // SAFETY: getpriority and setpriority have no memory effects; `who` 0 is the calling
    // thread on Linux.
    let result = unsafe {
        let inherited = libc::getpriority(libc::PRIO_PROCESS, 0);
        libc::setpriority(
            libc::PRIO_PROCESS,
            0,
            (inherited + BACKGROUND_NICENESS).min(NICEST),
        )
    };
    if result != 0 {
        tracing::debug!(error = %std::io::Error::last_os_error(), "background priority not set");
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_this_threads_priority() {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn work_runs_once_and_returns_its_result_outside_a_runtime() {
        let mut runs = 0;
        assert_eq!(
            run_in_background(|| {
                runs += 1;
                7
            }),
            7
        );
        assert_eq!(runs, 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn work_runs_on_a_thread_of_lower_priority_inside_a_runtime() {
        // SAFETY: getpriority only reads the calling thread's nice value.
        let niceness = || unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        let (here, runtime_niceness) = (thread::current().id(), niceness());
        let (ran_on, background_niceness) =
            run_in_background(|| (thread::current().id(), niceness()));
        assert_ne!(ran_on, here);
        assert_eq!(
            background_niceness,
            (runtime_niceness + BACKGROUND_NICENESS).min(NICEST)
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[should_panic(expected = "bulk work failed")]
    async fn a_panic_reaches_the_caller() {
        run_in_background(|| panic!("bulk work failed"));
    }
}
