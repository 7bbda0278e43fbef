//! The executor's limits, each with the reason for its value.

/// Rows a persistent query reads from one input partition per epoch, when it is behind (a
/// query that keeps up takes what has arrived, so a trickle of rows is processed promptly).
/// An epoch costs two fsyncs (state commit, sink append), and a GROUP BY epoch loads, saves
/// and emits every group it touches once, however many rows it saw: a query catching up
/// goes faster the more rows an epoch carries, while an epoch stays tens of megabytes.
pub const EPOCH_ROWS_MAX_PER_PARTITION: usize = 256 * 1024;

/// Rows an epoch reads from one partition when it is behind, for a pipeline whose input row
/// makes up to `rows_per_input_row` rows of state work (the windows a row falls in): the
/// work of an epoch, and the memory it holds until it is committed, stays what
/// `EPOCH_ROWS_MAX_PER_PARTITION` rows of a plain GROUP BY make. At least 1024 rows, so that
/// a window with thousands of hops per row still moves on in epochs worth their commit.
pub fn epoch_rows_per_partition(rows_per_input_row: usize) -> u64 {
    (EPOCH_ROWS_MAX_PER_PARTITION / rows_per_input_row.max(1)).max(1024) as u64
}

/// How often an idle query's stream time follows the clock once its `IDLE TIMEOUT` has
/// passed: each step is an epoch (and a commit), so steps are at least this far apart.
pub const IDLE_TICK_MS: i64 = 1000;

/// Epochs of at least this many input rows (all partitions) are computed at background
/// priority (`background.rs`): a query catching up yields the CPU to clients' lookups, while
/// an epoch of a query that keeps up stays on the fast path of a few rows.
pub const BACKGROUND_EPOCH_ROWS_MIN: u64 = 16 * 1024;

/// Rows a push query reads from one partition before it yields to the others: keeps one busy
/// partition from starving the rest.
pub const PUSH_READ_ROWS_MAX: usize = 8192;

/// Batches a push query may have queued for its client. A client that reads slower than the
/// stream fills this queue and then is cut off (it never slows the engine).
pub const PUSH_QUEUE_BATCHES_MAX: usize = 256;

/// Most partitions a stream may have: each is a directory and a reader per query.
pub const PARTITIONS_MAX: u32 = 256;

/// Rows of a COPY parsed, cast and appended together: large enough that the per-batch costs
/// (a cast kernel per column, a log frame per partition) vanish per row, small enough that a
/// COPY's rows become visible while it runs and its memory stays a few MiB.
pub const COPY_CHUNK_ROWS_MAX: usize = 8192;

/// A state commit of at least this many changes is applied at background priority
/// (`background.rs`).
pub const BACKGROUND_COMMIT_CHANGES_MIN: usize = 4096;

/// A persistent query's output of at least this many rows is joined and encoded as log
/// frames at background priority (`background.rs`).
pub const BACKGROUND_APPEND_ROWS_MIN: usize = 1024;

/// A change to a source table of at least this many keys reads their old rows at background
/// priority (`background.rs`).
pub const BACKGROUND_TABLE_KEYS_MIN: usize = 1024;

/// COPY data is decoded (split into lines, typed, routed and encoded as log frames) at
/// background priority (`background.rs`) once at least this many bytes are unread, so that a
/// handoff carries thousands of rows. Until then the data waits in the reader's buffer.
pub const COPY_BACKGROUND_BYTES_MIN: usize = 256 << 10;

/// At the end of a COPY's data, what remains (unread, or split into the chunk being filled)
/// is decoded at background priority too if it is at least this many bytes; a few lines are
/// decoded on the connection's task, where a thread handoff would cost more than the work.
pub const COPY_BACKGROUND_TAIL_BYTES_MIN: usize = 16 << 10;

/// Bytes of COPY input after which a chunk is appended even before it has
/// `COPY_CHUNK_ROWS_MAX` rows, so that rows of large values still make modest log frames.
pub const COPY_CHUNK_BYTES_MAX: usize = 8 << 20;

/// Longest COPY line (a CSV row with quoted newlines spans several). Bounds the memory of a
/// client that never ends its line (an unterminated quote); Postgres' own bound is 1 GiB.
pub const COPY_RECORD_BYTES_MAX: usize = 64 << 20;

/// Chunks of one COPY appended but not yet durable. The log commits all queued appends in one
/// fsync, so keeping several in flight lets parsing continue while the disk syncs, instead
/// of paying one fsync per chunk.
pub const COPY_APPENDS_IN_FLIGHT_MAX: usize = 8;

const _: () = assert!(PUSH_READ_ROWS_MAX <= EPOCH_ROWS_MAX_PER_PARTITION);

/// Rows a pull query's scan of a table reads from the state store at a time: its memory
/// does not grow with the table.
pub const TABLE_SCAN_PAGE_ROWS: usize = 8192;

/// Keys deleted per commit when a table is dropped.
pub const FORGET_KEYS_PER_COMMIT: usize = 65_536;

// A chunk's text, and so roughly its log frame, stays far below what one frame may hold.
const _: () = assert!(
    (COPY_CHUNK_BYTES_MAX + COPY_RECORD_BYTES_MAX) as u64
        <= eddy_storage::limits::FRAME_BODY_BYTES_MAX / 2
);

/// How often the engine deletes streams' log segments older than their retention, as Kafka's
/// `log.retention.check.interval.ms` (5 minutes): a pass costs a look at each retained
/// partition's oldest segment, and a segment outlives its retention by at most this much.
pub const RETENTION_CHECK_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5 * 60);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epoch_reads_fewer_rows_the_more_windows_each_falls_in() {
        assert_eq!(
            epoch_rows_per_partition(1),
            EPOCH_ROWS_MAX_PER_PARTITION as u64
        );
        assert_eq!(
            epoch_rows_per_partition(5),
            (EPOCH_ROWS_MAX_PER_PARTITION / 5) as u64
        );
        assert_eq!(epoch_rows_per_partition(0), epoch_rows_per_partition(1));
        assert_eq!(epoch_rows_per_partition(1_000_000), 1024);
    }
}
