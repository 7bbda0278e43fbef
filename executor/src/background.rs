//! Bulk work at background priority: a persistent query catching up on a large epoch, COPY
//! decoding its chunks, a large state commit. It runs on a pool of threads whose OS
//! scheduling priority is below that of the threads that answer clients, so on a busy machine
//! a point lookup gets a core as soon as it arrives instead of waiting behind hundreds of
//! milliseconds of aggregation.
//!
//! The threads are in Linux's SCHED_IDLE class (a nice value where that is refused), and
//! while a job runs every core is made to choose again what to run every fraction of a
//! millisecond (`eddy_storage::BulkWork`), so that a woken lookup does not wait for a tick.
//!
//! The pool is rayon's (`rayon-core`): its `install` runs a closure that borrows the caller's
//! data on a pool thread and returns its result, which is what a query's `&mut self` epoch
//! needs. Its threads live as long as the process, so their allocator caches stay warm.
//!
//! Never: run small work this way (a handoff costs microseconds), or make a job's result
//! depend on where it ran.

use std::sync::OnceLock;

use eddy_storage::{BulkWork, lower_this_threads_priority};

/// Runs `work` on a thread of background priority and returns its result; the async worker
/// that calls it steps aside first (`block_in_place`), so the runtime goes on serving. Outside
/// a multi-threaded runtime, `work` runs right here.
pub(crate) fn run_in_background<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    match tokio::runtime::Handle::try_current().map(|runtime| runtime.runtime_flavor()) {
        Ok(tokio::runtime::RuntimeFlavor::MultiThread) => match pool() {
            Some(pool) => tokio::task::block_in_place(|| {
                let _rescheduling = BulkWork::begin();
                pool.install(work)
            }),
            None => tokio::task::block_in_place(work),
        },
        _ => work(),
    }
}

/// `run_in_background` when `bulk`, else `work` right here: each caller decides by the size of
/// its work, since a handoff to the pool costs more than a little work.
pub(crate) fn run_in_background_if<T: Send>(bulk: bool, work: impl FnOnce() -> T + Send) -> T {
    match bulk {
        true => run_in_background(work),
        false => work(),
    }
}

/// The process's pool of background threads: two per core, so that a long epoch of one
/// query does not hold up another query's or a COPY's work. None if no thread could be made
/// (a process limit); the work then runs on the caller's thread.
fn pool() -> Option<&'static rayon_core::ThreadPool> {
    static POOL: OnceLock<Option<rayon_core::ThreadPool>> = OnceLock::new();
    POOL.get_or_init(|| {
        let threads = std::thread::available_parallelism().map_or(2, |cores| cores.get()) * 2;
        rayon_core::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|index| format!("eddy-background-{index}"))
            .start_handler(|_| lower_this_threads_priority())
            .build()
            .inspect_err(|error| {
                tracing::warn!(%error, "no background threads; bulk work runs in place");
            })
            .ok()
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use std::thread;

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
        // SAFETY: sched_getscheduler only reads the calling thread's scheduling class.
        let class = || unsafe { libc::sched_getscheduler(0) };
        let (here, runtime_class) = (thread::current().id(), class());
        let (ran_on, background_class) = run_in_background(|| (thread::current().id(), class()));
        assert_ne!(ran_on, here);
        assert_eq!(runtime_class, libc::SCHED_OTHER);
        assert_eq!(background_class, libc::SCHED_IDLE);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    #[should_panic(expected = "bulk work failed")]
    async fn a_panic_reaches_the_caller() {
        run_in_background(|| panic!("bulk work failed"));
    }
}
