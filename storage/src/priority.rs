//! Thread priority for bulk work: flushes and compactions of the state store, and the
//! executor's epochs and COPY decoding, give way to the threads that answer clients.
//!
//! Two parts: bulk work runs on threads of Linux's SCHED_IDLE class, and while it runs, one
//! thread per core wakes every `RESCHEDULE_INTERVAL` so that each core chooses again what to
//! run (`BulkWork`).
//!
//! Never: lower the priority of a thread that clients wait on (the runtime's workers, the
//! log's commit thread), since that thread would then wait for idle cores.

/// How much nicer than normal bulk work runs where SCHED_IDLE is refused.
const BACKGROUND_NICENESS: i32 = 10;
const NICEST: i32 = 19;

/// Puts the calling thread in Linux's SCHED_IDLE class: it runs whenever a core would
/// otherwise idle, and a thread of the normal class that wakes (a connection with a lookup)
/// takes the core from it at once, where a merely nicer thread would keep the core until its
/// time slice ends, milliseconds later. Linux keeps scheduling attributes per thread, and a
/// thread may always lower its own; raising them back would need a privilege, which is why
/// bulk work has threads of its own. If the class cannot be set, a nice value is.
///
/// Used for the executor's pool of bulk work and for the state store's flush and compaction
/// threads, as RocksDB runs compaction in a low-priority pool.
#[cfg(target_os = "linux")]
pub fn lower_this_threads_priority() {
    let idle = libc::sched_param { sched_priority: 0 };
    // SAFETY: `idle` outlives the call, which only reads it; `pid` 0 is the calling thread.
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &idle) } == 0 {
        return;
    }
    tracing::debug!(error = %std::io::Error::last_os_error(), "SCHED_IDLE not set");
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
pub fn lower_this_threads_priority() {}

/// How often each core chooses again what to run while bulk work is in progress: the most a
/// woken client thread waits behind bulk work once the kernel deems it due, where it would
/// otherwise wait for the next timer tick (4 ms at the common `HZ=250`).
#[cfg(target_os = "linux")]
const RESCHEDULE_INTERVAL: std::time::Duration = std::time::Duration::from_micros(200);

/// Live `BulkWork` values; the rescheduling threads tick while it is above zero.
#[cfg(target_os = "linux")]
static BULK_WORK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Bulk work in progress on threads of background priority. While one of these lives, a
/// thread of normal priority pinned to each core wakes every `RESCHEDULE_INTERVAL`.
///
/// Why: Linux's EEVDF scheduler (6.6 and later) runs a woken thread only once it is
/// *eligible*, that is once it has not had more than its fair share of the core. A thread
/// that answers clients often wakes slightly ineligible, having just shared a core with other
/// threads of its class. Woken on a core where SCHED_IDLE work runs, it then preempts
/// nothing, and the kernel looks at that core again only at its next scheduling event: with
/// nothing else happening, the timer tick, up to 4 ms later, although the thread became
/// eligible within microseconds. A rescheduling thread's wake-up is such an event: the core
/// picks again, and a client thread that has become eligible runs. Measured under the
/// Nexmark load, a lookup's p99 went from 0.9–2.0 ms to 0.6–0.8 ms (docs/benchmarks.md).
/// On other systems this does nothing.
///
/// Begun on the thread that hands the work over, which is of normal priority: the
/// rescheduling threads are made by the first `begin` and inherit its class.
#[must_use = "bulk work ends when this is dropped"]
pub struct BulkWork(());

impl BulkWork {
    pub fn begin() -> BulkWork {
        #[cfg(target_os = "linux")]
        {
            use std::sync::atomic::Ordering;
            let threads = rescheduling_threads();
            if BULK_WORK.fetch_add(1, Ordering::AcqRel) == 0 {
                threads.iter().for_each(std::thread::Thread::unpark);
            }
        }
        BulkWork(())
    }
}

impl Drop for BulkWork {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        BULK_WORK.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

/// One thread per core this process may run on, each pinned to its core, made once. A thread
/// that cannot be made or pinned is left out, with a warning: its core then waits for ticks.
///
/// At most as many threads as the process has cores' worth of CPU time
/// (`available_parallelism`, which counts a container's CPU quota): a container limited to
/// two cores' time on a 64-core host must not spend it waking 64 threads.
#[cfg(target_os = "linux")]
fn rescheduling_threads() -> &'static [std::thread::Thread] {
    use std::sync::OnceLock;
    use std::sync::atomic::Ordering;

    static THREADS: OnceLock<Vec<std::thread::Thread>> = OnceLock::new();
    THREADS.get_or_init(|| {
        let cores_of_time = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        allowed_cores()
            .into_iter()
            .take(cores_of_time)
            .filter_map(|core| {
                std::thread::Builder::new()
                    .name(format!("eddy-resched-{core}"))
                    .spawn(move || {
                        if let Err(error) = pin_this_thread_to(core) {
                            tracing::warn!(core, %error, "a rescheduling thread was not pinned");
                            return;
                        }
                        loop {
                            match BULK_WORK.load(Ordering::Acquire) {
                                0 => std::thread::park(),
                                _ => std::thread::sleep(RESCHEDULE_INTERVAL),
                            }
                        }
                    })
                    .inspect_err(|error| {
                        tracing::warn!(core, %error, "no rescheduling thread for a core");
                    })
                    .ok()
                    .map(|handle| handle.thread().clone())
            })
            .collect()
    })
}

/// The cores the calling thread may run on (its affinity mask).
#[cfg(target_os = "linux")]
fn allowed_cores() -> Vec<usize> {
    // SAFETY: `set` is a plain bit set that lives across the calls, and its size is passed.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            tracing::warn!(error = %std::io::Error::last_os_error(), "cores unknown");
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&core| libc::CPU_ISSET(core, &set))
            .collect()
    }
}

#[cfg(target_os = "linux")]
fn pin_this_thread_to(core: usize) -> std::io::Result<()> {
    // SAFETY: `set` is a plain bit set that lives across the calls, and its size is passed.
    let pinned = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    match pinned {
        0 => Ok(()),
        _ => Err(std::io::Error::last_os_error()),
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use std::collections::BTreeMap;
    use std::time::{Duration, Instant};

    use super::*;

    /// The rescheduling threads of this process: core they may run on, and how often each has
    /// gone to sleep so far (`voluntary_ctxt_switches`).
    fn rescheduling_threads_status() -> BTreeMap<String, (String, u64)> {
        let mut threads = BTreeMap::new();
        for task in std::fs::read_dir("/proc/self/task").expect("tasks are listed") {
            let path = task.expect("a task").path();
            let Ok(name) = std::fs::read_to_string(path.join("comm")) else {
                continue;
            };
            let name = name.trim().to_owned();
            if !name.starts_with("eddy-resched-") {
                continue;
            }
            let status = std::fs::read_to_string(path.join("status")).expect("status");
            let field = |key: &str| {
                status
                    .lines()
                    .find_map(|line| line.strip_prefix(key))
                    .map(|value| value.trim().to_owned())
                    .expect("a status field")
            };
            let sleeps = field("voluntary_ctxt_switches:").parse().expect("a count");
            threads.insert(name, (field("Cpus_allowed_list:"), sleeps));
        }
        threads
    }

    fn sleeps(threads: &BTreeMap<String, (String, u64)>) -> Vec<u64> {
        threads.values().map(|(_, sleeps)| *sleeps).collect()
    }

    #[test]
    fn every_core_reschedules_while_bulk_work_runs_and_none_after() {
        let bulk = BulkWork::begin();
        let cores_of_time = std::thread::available_parallelism().map_or(1, |cores| cores.get());
        let cores: Vec<String> = allowed_cores()
            .iter()
            .take(cores_of_time)
            .map(usize::to_string)
            .collect();
        // A new thread names itself once it runs.
        let deadline = Instant::now() + Duration::from_secs(10);
        let started = loop {
            let threads = rescheduling_threads_status();
            if threads.len() >= cores.len() || Instant::now() > deadline {
                break threads;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let pinned: Vec<String> = started.values().map(|(core, _)| core.clone()).collect();
        assert_eq!(
            pinned.len(),
            cores.len(),
            "one thread per core: {started:?}"
        );
        for core in &cores {
            assert!(
                pinned.contains(core),
                "core {core} has its thread: {started:?}"
            );
        }

        // Every thread wakes again and again while the work lasts.
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = rescheduling_threads_status();
            if sleeps(&now)
                .iter()
                .zip(sleeps(&started))
                .all(|(now, then)| *now >= then + 10)
            {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "threads tick: {started:?} then {now:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }

        // Once it ends, they all rest: two looks 50 ms apart agree.
        drop(bulk);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let before = sleeps(&rescheduling_threads_status());
            std::thread::sleep(Duration::from_millis(50));
            if sleeps(&rescheduling_threads_status()) == before {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "threads rest once bulk work ends"
            );
        }
    }
}
