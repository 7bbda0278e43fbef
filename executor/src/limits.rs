//! The executor's limits, each with the reason for its value.

/// Rows a persistent query reads from one input partition per epoch. An epoch costs two
/// fsyncs (state commit, sink append) of a few milliseconds each, so an epoch must carry
/// enough rows to amortize them (64 Ki rows at 8 ms is 8 M rows/s of headroom) while staying
/// milliseconds of work, so a trickle of rows is still processed row-promptly.
pub const EPOCH_ROWS_MAX_PER_PARTITION: usize = 64 * 1024;

/// Rows a push query reads from one partition before it yields to the others: keeps one busy
/// partition from starving the rest.
pub const PUSH_READ_ROWS_MAX: usize = 8192;

/// Batches a push query may have queued for its client. A client that reads slower than the
/// stream fills this queue and then is cut off (it never slows the engine).
pub const PUSH_QUEUE_BATCHES_MAX: usize = 256;

/// Most partitions a stream may have: each is a directory and a reader per query.
pub const PARTITIONS_MAX: u32 = 256;

const _: () = assert!(PUSH_READ_ROWS_MAX <= EPOCH_ROWS_MAX_PER_PARTITION);

/// Rows a pull query's scan of a table reads from the state store at a time: its memory
/// does not grow with the table.
pub const TABLE_SCAN_PAGE_ROWS: usize = 8192;

/// Keys deleted per commit when a table is dropped.
pub const FORGET_KEYS_PER_COMMIT: usize = 65_536;
