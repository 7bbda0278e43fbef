//! Thread priority for bulk work: flushes and compactions of the state store, and the
//! executor's epochs and COPY decoding, give way to the threads that answer clients.
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
