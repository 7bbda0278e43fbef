//! Every fixed bound of `eddy-storage`, with the reason for its value. Bounds that users may
//! want to change live in `StoreConfig` instead; these protect memory, file handles and
//! file-name lengths, and are checked against each other at compile time.
//!
//! Never: raise one of these without checking the assertions below and the on-disk formats.

/// Largest encoded record batch one frame holds. The frame header stores the length as a u32;
/// a bound far below 4 GiB also stops a corrupt header from asking for a huge allocation.
/// Larger appends are split by the caller (the executor's batches are a few MiB).
pub const FRAME_BODY_BYTES_MAX: u64 = 256 << 20;
const _: () = assert!(FRAME_BODY_BYTES_MAX < u32::MAX as u64);

/// Default size at which a partition's active segment file rolls. Like Kafka's 1 GiB default
/// but smaller: retention deletes whole segments, so smaller segments free space sooner.
pub const SEGMENT_BYTES_MAX_DEFAULT: u64 = 256 << 20;
const _: () = assert!(SEGMENT_BYTES_MAX_DEFAULT >= FRAME_BODY_BYTES_MAX);

/// How far past its written end the active segment file is extended (sparse: no blocks are
/// reserved). An append inside the file's length leaves its size alone, so the fdatasync that
/// makes the append durable writes no inode: measured here, 155 µs instead of 223 µs at the
/// median for a small append (as Postgres preallocates its WAL segments). One append in this
/// many bytes pays for the extension.
pub const SEGMENT_EXTENSION_BYTES: u64 = 16 << 20;

/// Bytes of a sealed segment read at a time when retention reads its rows' times to decide
/// whether to delete it (a larger frame is read alone): reading a whole segment holds one
/// such run in memory, not the segment.
pub const RETENTION_READ_BYTES_MAX: u64 = 16 << 20;

/// Default block cache of the state store: the size the store comparison was measured with
/// (10 M keys held in 241 MiB, see reference/state-store.md).
pub const STATE_CACHE_BYTES_DEFAULT: u64 = 256 << 20;

/// Default size at which a keyspace's memtable is sealed and flushed (fjall's own default).
pub const STATE_MEMTABLE_BYTES_DEFAULT: u64 = 64 << 20;

/// Append requests waiting for the committer thread. Bounded so that writers faster than the
/// disk wait (backpressure) instead of queueing unbounded memory; large enough that a group
/// commit round can gather every concurrent writer of a busy server.
pub const APPEND_QUEUE_REQUESTS_MAX: usize = 1024;

/// Append requests written and fsynced together in one group-commit round: everything that
/// queued during the previous fsync, up to a whole queue.
pub const COMMIT_ROUND_REQUESTS_MAX: usize = APPEND_QUEUE_REQUESTS_MAX;
const _: () = assert!(COMMIT_ROUND_REQUESTS_MAX >= 1);

/// Bytes of recent decoded batches kept in memory per partition, so that readers tailing the
/// log never touch the file. A few MiB holds seconds of a busy stream; with many partitions
/// the total stays at (partitions x this).
pub const PARTITION_CACHE_BYTES_MAX: usize = 4 << 20;

/// Longest topic name in bytes. A name is escaped (up to 3 bytes per byte) into a directory
/// name, which with its deletion suffix must stay under the 255 bytes most file systems allow.
pub const TOPIC_NAME_BYTES_MAX: usize = 80;
const _: () = assert!(TOPIC_NAME_BYTES_MAX * 3 + DELETING_SUFFIX_BYTES_MAX <= 255);

/// Room for the suffix a dropped topic's directory gets before removal (".deleting.<n>").
pub const DELETING_SUFFIX_BYTES_MAX: usize = 15;

/// Partitions per topic. Each partition keeps its active segment file open and its own cache;
/// more partitions than this would not add parallelism on one machine.
pub const PARTITIONS_MAX: u32 = 256;

/// Worker threads of the state store (flush and compaction). One: the machine has two cores
/// shared with queries, and fjall's one open report of lost inserts (fjall-rs/fjall #230) was
/// seen only with more than one compaction worker.
pub const STATE_WORKER_THREADS: usize = 1;

/// Tables in level 0 of the state store before they are compacted into level 1 (fjall's
/// default: 4). Window states and windowed tables' rows are written once and kept for a day
/// by default, so most of what a flush writes is new: each compaction into level 1 rewrites
/// the level-1 tables it overlaps, and compacting three times less often rewrites them three
/// times less. A point read checks each level-0 table's bloom filter first, so a lookup
/// costs no more (Nexmark's lookup p99 while ingesting: 0.6 ms against 1.6 ms); the windows
/// bench catches up 9-11% faster (docs/benchmarks.md). fjall stalls writes at 20. A data
/// directory keeps what its keyspaces were created with (fjall stores their options).
pub const STATE_L0_TABLES_BEFORE_COMPACTION: u8 = 12;
