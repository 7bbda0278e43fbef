//! One partition log: a directory of segment files, the offset index rebuilt from them at
//! open, a cache of recent batches, and the durable end offset readers wait on. Two locks,
//! always taken in this order: `writer` (the active segment and frames written but not yet
//! durable; held by the committer and by truncate across file I/O) and `log` (what readers
//! see; held only for in-memory updates). Readers take `log` alone, so they never wait behind
//! a write or an fsync. Before both, the committer takes its topic's publication lock while it
//! publishes, so that a reader of all the topic's ends sees a round's appends whole.
//!
//! Retention deletes whole sealed segments from the start of the log (never the active one),
//! so the log's first offset moves up while offsets keep their rows; a read from below it
//! starts at the first kept row. What the deleted segments leave behind (the new first
//! offset, their producers' epochs) is recorded first (`retention_record.rs`).
//!
//! Never: let a reader see a frame before the committer has made it durable and published it.

use std::collections::{HashMap, VecDeque};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use arrow::array::AsArray;
use arrow::buffer::Buffer;
use arrow::datatypes::{Int64Type, SchemaRef};
use arrow::record_batch::RecordBatch;
use tokio::sync::watch;
use tracing::{debug, error, warn};

use crate::error::StorageError;
use crate::limits::{PARTITION_CACHE_BYTES_MAX, RETENTION_READ_BYTES_MAX, SEGMENT_EXTENSION_BYTES};
use crate::log::frame::{EncodedFrame, FRAME_HEADER_BYTES, FrameHeader, decode_body};
use crate::log::retention_record::RetentionRecord;
use crate::log::segment::{FrameEntry, parse_segment_file_name, scan_segment, segment_file_name};
use crate::log::{DeletedSegments, Durability, Offset};

/// What every partition of a store shares: how to flush and when to roll.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LogSettings {
    pub(crate) durability: Durability,
    pub(crate) segment_bytes_max: u64,
}

/// Names a partition in errors and logs, and tells whether its topic was dropped.
#[derive(Clone, Debug)]
pub(crate) struct PartitionIdentity {
    pub(crate) topic: Arc<str>,
    pub(crate) partition: u32,
    pub(crate) dropped: Arc<AtomicBool>,
    /// The topic's publication lock, shared by its partitions: held for writing while a
    /// commit round publishes them (`publish_together`), for reading while the topic's ends
    /// are read (`Topic::end_offsets`), so an append to several partitions is seen whole.
    pub(crate) publication: Arc<RwLock<()>>,
}

impl PartitionIdentity {
    fn dropped_error(&self) -> Option<StorageError> {
        self.dropped
            .load(Ordering::Acquire)
            .then(|| StorageError::TopicDropped {
                name: self.topic.to_string(),
            })
    }

    fn unavailable(&self, reason: &'static str) -> StorageError {
        StorageError::PartitionUnavailable {
            topic: self.topic.to_string(),
            partition: self.partition,
            reason,
        }
    }
}

pub(crate) struct Partition {
    identity: PartitionIdentity,
    directory: PathBuf,
    schema: SchemaRef,
    settings: LogSettings,
    writer: Mutex<PartitionWriter>,
    log: RwLock<PartitionLog>,
    end_offset_sender: watch::Sender<Offset>,
    /// Held by a retention pass throughout, so that two passes never read or delete the
    /// same segments. Taken before `writer`.
    retention_pass: Mutex<()>,
}

/// The durable, published state of the partition: what readers see.
struct PartitionLog {
    /// Ordered by base offset, never empty; the last one is the active segment.
    segments: Vec<SegmentIndex>,
    end_offset: u64,
    cache: BatchCache,
}

struct SegmentIndex {
    base_offset: u64,
    path: PathBuf,
    /// Kept open for the active segment only; sealed segments are opened per read, so that
    /// old segments cost no file handle.
    file: Option<Arc<File>>,
    frames: Vec<FrameEntry>,
    /// The largest time of the segment's rows, once a retention pass has read it (only
    /// sealed segments are read, and they never change); not kept on disk: after a restart
    /// the next pass reads the oldest segments again.
    time_max: Option<SegmentTimeMax>,
}

/// The largest value of a time column in one segment (`i64::MIN` if it holds none).
#[derive(Clone, Copy, Debug)]
struct SegmentTimeMax {
    time_column: usize,
    time_max: i64,
}

impl SegmentIndex {
    fn new(base_offset: u64, path: PathBuf, file: Option<Arc<File>>) -> Self {
        SegmentIndex {
            base_offset,
            path,
            file,
            frames: Vec::new(),
            time_max: None,
        }
    }

    fn size_bytes(&self) -> u64 {
        self.frames.last().map_or(0, FrameEntry::end_position_bytes)
    }

    fn time_max_of(&self, time_column: usize) -> Option<i64> {
        self.time_max
            .filter(|known| known.time_column == time_column)
            .map(|known| known.time_max)
    }

    fn end_offset(&self) -> u64 {
        self.frames
            .last()
            .map_or(self.base_offset, FrameEntry::end_offset)
    }
}

/// Written but not yet published frames; owned by whoever holds the writer lock.
struct PartitionWriter {
    active: ActiveSegment,
    next_offset: u64,
    pending: Vec<PendingFrame>,
    created_segments: Vec<ActiveSegment>,
    /// The last epoch of each producer's tagged appends, written or pending.
    producer_epochs: HashMap<u64, u64>,
    /// What retention deleted, as stored: its producers' epochs count as written.
    retention: RetentionRecord,
    /// Set when a failed round could not be rolled back: the files no longer match the index,
    /// so the partition takes no more writes until the store is reopened (which recovers it).
    failed: bool,
}

#[derive(Clone)]
struct ActiveSegment {
    base_offset: u64,
    path: PathBuf,
    file: Arc<File>,
    /// Where the written frames end.
    size_bytes: u64,
    /// The file's length: `size_bytes`, or more once extended ahead of the writes (the rest
    /// reads as zeros, which a scan takes for the end of the frames).
    file_bytes: u64,
}

impl ActiveSegment {
    /// A segment whose file ends where its frames do.
    fn new(base_offset: u64, path: PathBuf, file: Arc<File>, size_bytes: u64) -> Self {
        ActiveSegment {
            base_offset,
            path,
            file,
            size_bytes,
            file_bytes: size_bytes,
        }
    }

    /// Extends the file (sparsely) so that `needed` bytes fit without changing its size,
    /// by `SEGMENT_EXTENSION_BYTES` more, up to `segment_bytes_max`.
    fn make_room(&mut self, needed: u64, segment_bytes_max: u64) -> Result<(), StorageError> {
        if needed <= self.file_bytes {
            return Ok(());
        }
        let file_bytes = (needed + SEGMENT_EXTENSION_BYTES)
            .min(segment_bytes_max)
            .max(needed);
        self.file
            .set_len(file_bytes)
            .map_err(StorageError::io("extend segment", &self.path))?;
        self.file_bytes = file_bytes;
        Ok(())
    }

    /// Cuts the file back to its frames: a sealed segment ends where its frames do.
    fn fit_file(&mut self) -> Result<(), StorageError> {
        if self.file_bytes != self.size_bytes {
            self.file
                .set_len(self.size_bytes)
                .map_err(StorageError::io("truncate segment", &self.path))?;
            self.file_bytes = self.size_bytes;
        }
        Ok(())
    }
}

struct PendingFrame {
    segment_base_offset: u64,
    entry: FrameEntry,
    batch: RecordBatch,
}

/// Recent published batches, contiguous and ending at the end offset.
#[derive(Default)]
struct BatchCache {
    batches: VecDeque<CachedBatch>,
    memory_bytes: usize,
}

struct CachedBatch {
    base_offset: u64,
    batch: RecordBatch,
    memory_bytes: usize,
}

impl BatchCache {
    fn push(&mut self, base_offset: u64, batch: RecordBatch) {
        let memory_bytes = batch.get_array_memory_size();
        self.memory_bytes += memory_bytes;
        self.batches.push_back(CachedBatch {
            base_offset,
            batch,
            memory_bytes,
        });
        while self.memory_bytes > PARTITION_CACHE_BYTES_MAX {
            let Some(evicted) = self.batches.pop_front() else {
                break;
            };
            self.memory_bytes -= evicted.memory_bytes;
        }
    }

    fn clear(&mut self) {
        self.batches.clear();
        self.memory_bytes = 0;
    }

    /// Forgets the batches that end at or before `offset` (retention deleted them).
    fn drop_before(&mut self, offset: u64) {
        while let Some(first) = self.batches.front() {
            if first.base_offset + first.batch.num_rows() as u64 > offset {
                break;
            }
            self.memory_bytes -= first.memory_bytes;
            self.batches.pop_front();
        }
    }

    /// Batches from `from` (below the end offset), or `None` if `from` is older than the cache.
    fn read(&self, from: u64, rows_max: usize) -> Option<Vec<(Offset, RecordBatch)>> {
        let first = self.batches.front()?;
        if first.base_offset > from {
            return None;
        }
        let start = self
            .batches
            .partition_point(|cached| cached.base_offset + cached.batch.num_rows() as u64 <= from);
        let mut selection = RowBudget::new(rows_max);
        let mut batches = Vec::new();
        for cached in self.batches.range(start..) {
            let (offset, batch) = slice_from(cached.base_offset, &cached.batch, from);
            if !selection.take(batch.num_rows()) {
                break;
            }
            batches.push((offset, batch));
        }
        Some(batches)
    }
}

/// Whole batches up to about `rows_max` rows: the first always, the next ones while they fit.
struct RowBudget {
    rows_max: usize,
    rows_taken: usize,
    batches_taken: usize,
}

impl RowBudget {
    fn new(rows_max: usize) -> Self {
        RowBudget {
            rows_max,
            rows_taken: 0,
            batches_taken: 0,
        }
    }

    fn take(&mut self, rows: usize) -> bool {
        if self.batches_taken > 0 && self.rows_taken + rows > self.rows_max {
            return false;
        }
        self.rows_taken += rows;
        self.batches_taken += 1;
        true
    }
}

fn slice_from(base_offset: u64, batch: &RecordBatch, from: u64) -> (Offset, RecordBatch) {
    if from <= base_offset {
        return (Offset(base_offset), batch.clone());
    }
    let skip_rows = (from - base_offset) as usize;
    (
        Offset(from),
        batch.slice(skip_rows, batch.num_rows() - skip_rows),
    )
}

/// Frames of one segment to read with one positioned read.
struct DiskRead {
    path: PathBuf,
    file: Option<Arc<File>>,
    frames: Vec<FrameEntry>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock leaves no half-done update behind (updates are applied
    // after their I/O succeeded), so the data is still consistent.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

fn read_lock<T>(lock: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(PoisonError::into_inner)
}

fn write_lock<T>(lock: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    lock.write().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) fn sync_directory(directory: &Path) -> Result<(), StorageError> {
    File::open(directory)
        .and_then(|handle| handle.sync_all())
        .map_err(StorageError::io("sync directory", directory))
}

/// Replaces `directory/file_name` with `bytes` so that a crash leaves the old file or the
/// new one, never a mix: written to `temporary_name`, fsynced, renamed, directory fsynced.
pub(crate) fn replace_file_durably(
    directory: &Path,
    file_name: &str,
    temporary_name: &str,
    bytes: &[u8],
) -> Result<(), StorageError> {
    let temporary = directory.join(temporary_name);
    let path = directory.join(file_name);
    let mut file = File::create(&temporary).map_err(StorageError::io("create", &temporary))?;
    std::io::Write::write_all(&mut file, bytes)
        .and_then(|()| file.sync_all())
        .map_err(StorageError::io("write", &temporary))?;
    std::fs::rename(&temporary, &path).map_err(StorageError::io("rename", &path))?;
    sync_directory(directory)
}

fn open_segment_file(path: &Path, create: bool) -> Result<File, StorageError> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(create)
        .truncate(create)
        .open(path)
        .map_err(StorageError::io("open segment", path))
}

impl Partition {
    /// Opens the partition in `directory` (creating it if absent), rebuilding the offset index
    /// from the segment files and cutting off a torn or corrupt tail of the last segment.
    /// Segments that retention recorded as deleted but a crash left behind are removed.
    pub(crate) fn open(
        identity: PartitionIdentity,
        directory: PathBuf,
        schema: SchemaRef,
        settings: LogSettings,
    ) -> Result<Self, StorageError> {
        std::fs::create_dir_all(&directory)
            .map_err(StorageError::io("create directory", &directory))?;
        let retention = RetentionRecord::load(&directory)?;
        let base_offsets = kept_segments(&directory, &retention)?;
        let mut segments = Vec::with_capacity(base_offsets.len());
        let mut end_offset = None;
        let last_index = base_offsets.len() - 1;
        for (index, base_offset) in base_offsets.into_iter().enumerate() {
            let path = directory.join(segment_file_name(base_offset));
            if let Some(expected) = end_offset.filter(|&expected| expected != base_offset) {
                return Err(StorageError::Corrupt {
                    path,
                    position_bytes: 0,
                    reason: format!(
                        "segment starts at offset {base_offset}, the previous one ends at {expected}"
                    ),
                });
            }
            let is_last = index == last_index;
            let segment = recover_segment(&identity, path, base_offset, is_last)?;
            end_offset = Some(segment.end_offset());
            segments.push(segment);
        }
        // The loop ran at least once (`kept_segments` is never empty), and
        // `recover_segment` keeps the last segment's file open.
        let end_offset = end_offset.expect("a partition has at least one segment");
        let last = segments
            .last()
            .expect("a partition has at least one segment");
        let file = last
            .file
            .clone()
            .expect("the last segment keeps its file open");
        let mut active =
            ActiveSegment::new(last.base_offset, last.path.clone(), file, last.size_bytes());
        // Its file may run on past the frames, extended ahead of them before the restart.
        active.file_bytes = active
            .file
            .metadata()
            .map_err(StorageError::io("stat segment", &active.path))?
            .len()
            .max(active.size_bytes);
        let (end_offset_sender, _) = watch::channel(Offset(end_offset));
        Ok(Partition {
            identity,
            directory,
            schema,
            settings,
            writer: Mutex::new(PartitionWriter {
                producer_epochs: producer_epochs_of(&retention, &segments),
                retention,
                active,
                next_offset: end_offset,
                pending: Vec::new(),
                created_segments: Vec::new(),
                failed: false,
            }),
            log: RwLock::new(PartitionLog {
                segments,
                end_offset,
                cache: BatchCache::default(),
            }),
            end_offset_sender,
            retention_pass: Mutex::new(()),
        })
    }

    pub(crate) fn dropped_error(&self) -> Option<StorageError> {
        self.identity.dropped_error()
    }

    /// Fails if the topic was dropped or an earlier write failed: no write may follow either.
    fn check_writable(&self, writer: &PartitionWriter) -> Result<(), StorageError> {
        if let Some(dropped) = self.identity.dropped_error() {
            return Err(dropped);
        }
        if writer.failed {
            return Err(self
                .identity
                .unavailable("an earlier write failed; reopen the store"));
        }
        Ok(())
    }

    pub(crate) fn producer_epoch(&self, producer_id: u64) -> Option<u64> {
        lock(&self.writer)
            .producer_epochs
            .get(&producer_id)
            .copied()
    }

    pub(crate) fn end_offset(&self) -> Offset {
        Offset(read_lock(&self.log).end_offset)
    }

    /// The end offsets of `partitions`, all of one topic, as of one moment between two
    /// commit rounds' publications (see `publish_together`).
    pub(crate) fn end_offsets_together(
        publication: &RwLock<()>,
        partitions: &[Arc<Partition>],
    ) -> Vec<Offset> {
        let _published = read_lock(publication);
        partitions
            .iter()
            .map(|partition| partition.end_offset())
            .collect()
    }

    /// Publishes a commit round's partitions (`publish`), each topic's under its publication
    /// lock: whoever reads a topic's ends together sees all of the round's appends to it or
    /// none. Only the committer thread takes these locks for writing, and a reader takes one
    /// at a time and nothing else meanwhile, so the order they are taken in cannot deadlock.
    pub(crate) fn publish_together(partitions: &[Arc<Partition>]) {
        let mut publications: Vec<&Arc<RwLock<()>>> = Vec::new();
        for partition in partitions {
            let publication = &partition.identity.publication;
            if !publications
                .iter()
                .any(|held| Arc::ptr_eq(held, publication))
            {
                publications.push(publication);
            }
        }
        let _held: Vec<RwLockWriteGuard<'_, ()>> = publications
            .iter()
            .map(|publication| write_lock(publication))
            .collect();
        for partition in partitions {
            partition.publish();
        }
    }

    pub(crate) fn watch_end_offset(&self) -> watch::Receiver<Offset> {
        self.end_offset_sender.subscribe()
    }

    /// Called once the topic is marked dropped: waits out a write in progress (none starts
    /// after it) and wakes every reader waiting on the end offset, so it reads and learns.
    pub(crate) fn finish_drop(&self) {
        drop(lock(&self.writer));
        self.end_offset_sender.send_modify(|_| {});
    }

    /// Writes one frame at the end of the active segment (rolling first if it would overflow)
    /// and returns its base offset. Not durable nor visible until `sync` and `publish`.
    pub(crate) fn write_frame(&self, frame: &mut EncodedFrame) -> Result<Offset, StorageError> {
        self.write_frame_locked(&mut lock(&self.writer), frame)
    }

    fn write_frame_locked(
        &self,
        writer: &mut PartitionWriter,
        frame: &mut EncodedFrame,
    ) -> Result<Offset, StorageError> {
        self.check_writable(writer)?;
        let producer = frame.header().producer;
        let repeated = writer
            .producer_epochs
            .get(&producer.producer_id)
            .is_some_and(|last_epoch| !producer.is_none() && producer.epoch <= *last_epoch);
        if repeated {
            debug!(
                topic = %self.identity.topic,
                partition = self.identity.partition,
                producer_id = producer.producer_id,
                epoch = producer.epoch,
                "ignoring an append this partition already holds"
            );
            return Ok(Offset(writer.next_offset));
        }
        let frame_bytes = frame.frame_bytes();
        if writer.active.size_bytes > 0
            && writer.active.size_bytes + frame_bytes > self.settings.segment_bytes_max
        {
            self.roll(writer)?;
        }
        let base_offset = writer.next_offset;
        let position_bytes = writer.active.size_bytes;
        writer.active.make_room(
            position_bytes + frame_bytes,
            self.settings.segment_bytes_max,
        )?;
        let mut piece_position = position_bytes;
        for piece in frame.place(base_offset) {
            writer
                .active
                .file
                .write_all_at(piece, piece_position)
                .map_err(StorageError::io("write segment", &writer.active.path))?;
            piece_position += piece.len() as u64;
        }
        writer.active.size_bytes += frame_bytes;
        let header = frame.header();
        let entry = FrameEntry {
            base_offset,
            position_bytes,
            body_bytes: header.body_bytes,
            row_count: header.row_count,
            producer: header.producer,
        };
        if !header.producer.is_none() {
            writer
                .producer_epochs
                .insert(header.producer.producer_id, header.producer.epoch);
        }
        writer.next_offset = entry.end_offset();
        let segment_base_offset = writer.active.base_offset;
        writer.pending.push(PendingFrame {
            segment_base_offset,
            entry,
            batch: frame.batch().clone(),
        });
        Ok(Offset(base_offset))
    }

    /// Seals the active segment (durable before its successor exists, so that only the last
    /// segment can ever have a torn tail) and starts a new one at the next offset.
    fn roll(&self, writer: &mut PartitionWriter) -> Result<(), StorageError> {
        writer.active.fit_file()?;
        if self.settings.durability == Durability::Fsync {
            writer
                .active
                .file
                .sync_data()
                .map_err(StorageError::io("sync segment", &writer.active.path))?;
        }
        let path = self.directory.join(segment_file_name(writer.next_offset));
        let file = Arc::new(open_segment_file(&path, true)?);
        let segment = ActiveSegment::new(writer.next_offset, path, file, 0);
        writer.created_segments.push(segment.clone());
        writer.active = segment;
        if self.settings.durability == Durability::Fsync {
            sync_directory(&self.directory)?;
        }
        Ok(())
    }

    /// Makes the written frames durable (per the durability setting).
    pub(crate) fn sync(&self) -> Result<(), StorageError> {
        self.sync_locked(&lock(&self.writer))
    }

    fn sync_locked(&self, writer: &PartitionWriter) -> Result<(), StorageError> {
        if writer.pending.is_empty() || self.settings.durability == Durability::Os {
            return Ok(());
        }
        writer
            .active
            .file
            .sync_data()
            .map_err(StorageError::io("sync segment", &writer.active.path))
    }

    /// Shows the written (and synced) frames to readers and moves the end offset.
    pub(crate) fn publish(&self) {
        self.publish_locked(&mut lock(&self.writer));
    }

    fn publish_locked(&self, writer: &mut PartitionWriter) {
        if writer.pending.is_empty() && writer.created_segments.is_empty() {
            return;
        }
        let pending = std::mem::take(&mut writer.pending);
        let created_segments = std::mem::take(&mut writer.created_segments);
        let end_offset = writer.next_offset;
        {
            let mut log = write_lock(&self.log);
            for created in created_segments {
                if let Some(sealed) = log.segments.last_mut() {
                    sealed.file = None;
                }
                log.segments.push(SegmentIndex::new(
                    created.base_offset,
                    created.path,
                    Some(created.file),
                ));
            }
            for frame in pending {
                let segment = log
                    .segments
                    .iter_mut()
                    .rev()
                    .find(|segment| segment.base_offset == frame.segment_base_offset);
                // A frame is written to the active segment or to one created in this round,
                // and both are in the index now.
                let segment = segment.expect("a pending frame's segment is indexed");
                segment.frames.push(frame.entry);
                log.cache.push(frame.entry.base_offset, frame.batch);
            }
            log.end_offset = end_offset;
        }
        self.end_offset_sender.send_replace(Offset(end_offset));
    }

    /// Forgets the frames written in a failed round: removes segments created in it and cuts
    /// the active segment back to its published size.
    pub(crate) fn discard(&self) {
        self.discard_locked(&mut lock(&self.writer));
    }

    fn discard_locked(&self, writer: &mut PartitionWriter) {
        writer.pending.clear();
        writer.producer_epochs =
            producer_epochs_of(&writer.retention, &read_lock(&self.log).segments);
        let created_segments = std::mem::take(&mut writer.created_segments);
        let rollback = self.rollback_files(writer, created_segments);
        if let Err(error) = rollback {
            error!(
                topic = %self.identity.topic,
                partition = self.identity.partition,
                %error,
                "cannot roll back a failed append; the partition refuses writes until reopened"
            );
            writer.failed = true;
        }
    }

    fn rollback_files(
        &self,
        writer: &mut PartitionWriter,
        created_segments: Vec<ActiveSegment>,
    ) -> Result<(), StorageError> {
        for created in created_segments {
            std::fs::remove_file(&created.path)
                .map_err(StorageError::io("remove segment", &created.path))?;
        }
        let log = read_lock(&self.log);
        // The index always holds at least one segment, and the last one keeps its file open.
        let last = log
            .segments
            .last()
            .expect("a partition has at least one segment");
        let file = last
            .file
            .clone()
            .expect("the last segment keeps its file open");
        let size_bytes = last.size_bytes();
        file.set_len(size_bytes)
            .map_err(StorageError::io("truncate segment", &last.path))?;
        writer.active = ActiveSegment::new(last.base_offset, last.path.clone(), file, size_bytes);
        writer.next_offset = log.end_offset;
        Ok(())
    }

    /// Reads published rows from `from`; see `Topic::read`.
    pub(crate) fn read(
        &self,
        from: Offset,
        rows_max: usize,
    ) -> Result<Vec<(Offset, RecordBatch)>, StorageError> {
        if let Some(dropped) = self.identity.dropped_error() {
            return Err(dropped);
        }
        // Bounded: the read is planned again only when retention moved the first offset past
        // where the last plan started, and it never moves past the end offset.
        loop {
            let (start, disk_reads) = {
                let log = read_lock(&self.log);
                if from.0 >= log.end_offset {
                    return Ok(Vec::new());
                }
                // The index is never empty; its first segment starts the log (it moves up
                // only when retention deletes segments).
                let start = from.0.max(log.segments[0].base_offset);
                if let Some(batches) = log.cache.read(start, rows_max) {
                    return Ok(batches);
                }
                (start, plan_disk_reads(&log.segments, start, rows_max))
            };
            match self.read_planned(start, &disk_reads) {
                Err(error) if self.first_offset().0 > start => debug!(
                    topic = %self.identity.topic,
                    partition = self.identity.partition,
                    %error,
                    "retention deleted segments being read; reading from the first kept row"
                ),
                read => return read,
            }
        }
    }

    fn read_planned(
        &self,
        start: u64,
        disk_reads: &[DiskRead],
    ) -> Result<Vec<(Offset, RecordBatch)>, StorageError> {
        let mut batches = Vec::new();
        for disk_read in disk_reads {
            for (base_offset, batch) in self.read_frames(disk_read)? {
                batches.push(slice_from(base_offset, &batch, start));
            }
        }
        Ok(batches)
    }

    /// The offset of the first row still in the log: 0 until retention deletes segments.
    pub(crate) fn first_offset(&self) -> Offset {
        Offset(read_lock(&self.log).segments[0].base_offset)
    }

    /// Reads a run of adjacent frames of one segment with a single positioned read.
    fn read_frames(&self, disk_read: &DiskRead) -> Result<Vec<(u64, RecordBatch)>, StorageError> {
        let (Some(first), Some(last)) = (disk_read.frames.first(), disk_read.frames.last()) else {
            return Ok(Vec::new());
        };
        let file = match &disk_read.file {
            Some(file) => file.clone(),
            None => Arc::new(
                File::open(&disk_read.path)
                    .map_err(StorageError::io("open segment", &disk_read.path))?,
            ),
        };
        let start_bytes = first.position_bytes;
        let mut bytes = vec![0u8; (last.end_position_bytes() - start_bytes) as usize];
        file.read_exact_at(&mut bytes, start_bytes)
            .map_err(StorageError::io("read segment", &disk_read.path))?;
        let buffer = Buffer::from_vec(bytes);
        let mut batches = Vec::with_capacity(disk_read.frames.len());
        for entry in &disk_read.frames {
            let corrupt = |reason: String| StorageError::Corrupt {
                path: disk_read.path.clone(),
                position_bytes: entry.position_bytes,
                reason,
            };
            let frame_start = (entry.position_bytes - start_bytes) as usize;
            let header_bytes: [u8; FRAME_HEADER_BYTES] = buffer.as_slice()
                [frame_start..frame_start + FRAME_HEADER_BYTES]
                .try_into()
                .expect("a slice of FRAME_HEADER_BYTES converts to an array of that length");
            let header = FrameHeader::decode(&header_bytes).map_err(corrupt)?;
            if header != entry.header(header.body_crc32) {
                return Err(corrupt(format!(
                    "frame header {header:?} does not match the index"
                )));
            }
            let body = buffer
                .slice_with_length(frame_start + FRAME_HEADER_BYTES, entry.body_bytes as usize);
            let batch = decode_body(&header, &body, &self.schema).map_err(corrupt)?;
            batches.push((entry.base_offset, batch));
        }
        Ok(batches)
    }

    /// Deletes the sealed segments at the start of the log whose rows all have a time (the
    /// Int64 column `time_column`) before `cutoff`; see `Topic::delete_segments_before`.
    pub(crate) fn delete_segments_before(
        &self,
        time_column: usize,
        cutoff: i64,
    ) -> Result<Option<DeletedSegments>, StorageError> {
        let _pass = lock(&self.retention_pass);
        if let Some(dropped) = self.identity.dropped_error() {
            return Err(dropped);
        }
        let mut expired = 0;
        while let Some(time_max) = self.sealed_segment_time_max(expired, time_column)? {
            if time_max >= cutoff {
                break;
            }
            expired += 1;
        }
        match expired {
            0 => Ok(None),
            _ => self.remove_expired_segments(time_column, cutoff),
        }
    }

    /// The largest time in the segment at `index` of the index, read from its frames the
    /// first time it is asked for; None if that segment is the active one (or absent).
    fn sealed_segment_time_max(
        &self,
        index: usize,
        time_column: usize,
    ) -> Result<Option<i64>, StorageError> {
        let (base_offset, runs) = {
            let log = read_lock(&self.log);
            let Some(segment) = log.segments[..log.segments.len() - 1].get(index) else {
                return Ok(None);
            };
            if let Some(time_max) = segment.time_max_of(time_column) {
                return Ok(Some(time_max));
            }
            (segment.base_offset, runs_of_frames(segment))
        };
        let mut time_max = i64::MIN;
        for run in &runs {
            for (_, batch) in self.read_frames(run)? {
                let times = batch
                    .column(time_column)
                    .as_primitive_opt::<Int64Type>()
                    .ok_or_else(|| StorageError::InvalidTopic {
                        name: self.identity.topic.to_string(),
                        reason: format!("column {time_column} holds no Int64 times"),
                    })?;
                if let Some(batch_max) = arrow::compute::max(times) {
                    time_max = time_max.max(batch_max);
                }
            }
        }
        let mut log = write_lock(&self.log);
        if let Some(segment) = log
            .segments
            .iter_mut()
            .find(|segment| segment.base_offset == base_offset)
        {
            segment.time_max = Some(SegmentTimeMax {
                time_column,
                time_max,
            });
        }
        Ok(Some(time_max))
    }

    /// Removes the oldest sealed segments whose times are known to be before `cutoff`:
    /// records what they leave behind (the new first offset, their producers' epochs)
    /// durably, drops them from the index (readers start after them from then on), and only
    /// then deletes their files.
    fn remove_expired_segments(
        &self,
        time_column: usize,
        cutoff: i64,
    ) -> Result<Option<DeletedSegments>, StorageError> {
        let mut writer = lock(&self.writer);
        self.check_writable(&writer)?;
        let retention = {
            let log = read_lock(&self.log);
            let sealed = &log.segments[..log.segments.len() - 1];
            let expired = sealed
                .iter()
                .take_while(|segment| {
                    segment
                        .time_max_of(time_column)
                        .is_some_and(|time_max| time_max < cutoff)
                })
                .count();
            if expired == 0 {
                return Ok(None);
            }
            RetentionRecord {
                first_offset: log.segments[expired].base_offset,
                producer_epochs: producer_epochs_of(&writer.retention, &log.segments[..expired]),
            }
        };
        retention.store(&self.directory)?;
        let first_offset = retention.first_offset;
        writer.retention = retention;
        let removed: Vec<SegmentIndex> = {
            let mut log = write_lock(&self.log);
            let expired = log
                .segments
                .partition_point(|segment| segment.base_offset < first_offset);
            log.cache.drop_before(first_offset);
            log.segments.drain(..expired).collect()
        };
        drop(writer);
        let Some(oldest) = removed.first() else {
            return Ok(None);
        };
        let rows = first_offset - oldest.base_offset;
        // Oldest first, so that a crash midway leaves a gapless log; the record already
        // tells the next open to remove what is left.
        for segment in &removed {
            std::fs::remove_file(&segment.path)
                .map_err(StorageError::io("remove segment", &segment.path))?;
            debug!(path = %segment.path.display(), "segment deleted by retention");
        }
        sync_directory(&self.directory)?;
        Ok(Some(DeletedSegments {
            partition: self.identity.partition,
            segments: removed.len(),
            rows,
            first_offset: Offset(first_offset),
        }))
    }

    /// Cuts the partition back so that `end` is its end offset. A batch straddling `end` is
    /// rewritten holding only its rows below `end`.
    pub(crate) fn truncate(&self, end: Offset) -> Result<(), StorageError> {
        let mut writer = lock(&self.writer);
        self.check_writable(&writer)?;
        if !writer.pending.is_empty() {
            return Err(self
                .identity
                .unavailable("cannot truncate while an append is in flight"));
        }
        let (first_offset, end_offset) = {
            let log = read_lock(&self.log);
            (log.segments[0].base_offset, log.end_offset)
        };
        if end.0 < first_offset {
            return Err(self
                .identity
                .unavailable("cannot truncate below the rows retention kept"));
        }
        if end.0 > end_offset {
            return Err(StorageError::TruncateBeyondEnd {
                topic: self.identity.topic.to_string(),
                partition: self.identity.partition,
                end: end.0,
                end_offset,
            });
        }
        if end.0 == end_offset {
            return Ok(());
        }
        let cut = self.plan_cut(end.0);
        let kept_rows = match &cut.straddling {
            Some(disk_read) => self
                .read_frames(disk_read)?
                .pop()
                .map(|(base_offset, batch)| batch.slice(0, (end.0 - base_offset) as usize)),
            None => None,
        };
        let file = match &cut.file {
            Some(file) => file.clone(),
            None => Arc::new(open_segment_file(&cut.path, false)?),
        };
        let removed_paths = self.apply_cut(&mut writer, &cut, file.clone());
        writer.producer_epochs =
            producer_epochs_of(&writer.retention, &read_lock(&self.log).segments);
        if let Err(error) = self.cut_files(&cut, &file, &removed_paths) {
            writer.failed = true;
            return Err(error);
        }
        if let Some(kept_rows) = kept_rows {
            let mut frame = EncodedFrame::encode(kept_rows)?;
            let rewritten = self
                .write_frame_locked(&mut writer, &mut frame)
                .and_then(|_| self.sync_locked(&writer));
            if let Err(error) = rewritten {
                self.discard_locked(&mut writer);
                return Err(error);
            }
            self.publish_locked(&mut writer);
        }
        self.end_offset_sender.send_replace(Offset(end.0));
        Ok(())
    }

    fn plan_cut(&self, end: u64) -> Cut {
        let log = read_lock(&self.log);
        let segment_index = log
            .segments
            .partition_point(|segment| segment.base_offset <= end)
            .saturating_sub(1);
        let segment = &log.segments[segment_index];
        let frame_index = segment
            .frames
            .partition_point(|frame| frame.end_offset() <= end);
        let cut_frame = segment.frames.get(frame_index);
        let straddling = cut_frame
            .filter(|frame| frame.base_offset < end)
            .map(|frame| DiskRead {
                path: segment.path.clone(),
                file: segment.file.clone(),
                frames: vec![*frame],
            });
        Cut {
            segment_index,
            frame_index,
            position_bytes: cut_frame.map_or(segment.size_bytes(), |frame| frame.position_bytes),
            end_offset: cut_frame.map_or(end, |frame| frame.base_offset.min(end)),
            base_offset: segment.base_offset,
            path: segment.path.clone(),
            file: segment.file.clone(),
            straddling,
        }
    }

    /// Applies a cut to the index and the writer (memory only); returns the segment files to
    /// remove. The segment cut into becomes the active one, with `file` kept open.
    fn apply_cut(&self, writer: &mut PartitionWriter, cut: &Cut, file: Arc<File>) -> Vec<PathBuf> {
        let mut log = write_lock(&self.log);
        let removed_paths = log
            .segments
            .drain(cut.segment_index + 1..)
            .map(|segment| segment.path)
            .collect();
        let segment = &mut log.segments[cut.segment_index];
        segment.frames.truncate(cut.frame_index);
        segment.file = Some(file.clone());
        writer.active =
            ActiveSegment::new(cut.base_offset, cut.path.clone(), file, cut.position_bytes);
        writer.next_offset = cut.end_offset;
        log.end_offset = cut.end_offset;
        log.cache.clear();
        removed_paths
    }

    /// Removes later segments (newest first, so that a crash midway leaves a gapless log) and
    /// then cuts the segment, durably.
    fn cut_files(
        &self,
        cut: &Cut,
        file: &File,
        removed_paths: &[PathBuf],
    ) -> Result<(), StorageError> {
        for path in removed_paths.iter().rev() {
            std::fs::remove_file(path).map_err(StorageError::io("remove segment", path))?;
        }
        file.set_len(cut.position_bytes)
            .and_then(|()| file.sync_data())
            .map_err(StorageError::io("truncate segment", &cut.path))?;
        sync_directory(&self.directory)
    }
}

/// Where a truncation cuts: a segment, the first frame dropped from it, and its byte position.
struct Cut {
    segment_index: usize,
    frame_index: usize,
    position_bytes: u64,
    /// The end offset right after the cut, before a straddling frame's head is rewritten.
    end_offset: u64,
    base_offset: u64,
    path: PathBuf,
    file: Option<Arc<File>>,
    straddling: Option<DiskRead>,
}

/// A sealed segment's frames as runs of at most `RETENTION_READ_BYTES_MAX` bytes (a larger
/// frame alone), so that reading a whole segment holds one run in memory at a time.
fn runs_of_frames(segment: &SegmentIndex) -> Vec<DiskRead> {
    let mut runs: Vec<DiskRead> = Vec::new();
    let mut run_bytes = 0;
    for frame in &segment.frames {
        let frame_bytes = frame.end_position_bytes() - frame.position_bytes;
        match runs.last_mut() {
            Some(run) if run_bytes + frame_bytes <= RETENTION_READ_BYTES_MAX => {
                run.frames.push(*frame);
                run_bytes += frame_bytes;
            }
            _ => {
                runs.push(DiskRead {
                    path: segment.path.clone(),
                    file: segment.file.clone(),
                    frames: vec![*frame],
                });
                run_bytes = frame_bytes;
            }
        }
    }
    runs
}

/// Frames to read for `from` onwards, up to about `rows_max` rows, grouped per segment.
fn plan_disk_reads(segments: &[SegmentIndex], from: u64, rows_max: usize) -> Vec<DiskRead> {
    let first_segment = segments
        .partition_point(|segment| segment.base_offset <= from)
        .saturating_sub(1);
    let mut budget = RowBudget::new(rows_max);
    let mut disk_reads = Vec::new();
    for segment in &segments[first_segment..] {
        let first_frame = segment
            .frames
            .partition_point(|frame| frame.end_offset() <= from);
        let mut frames = Vec::new();
        let mut budget_spent = false;
        for frame in &segment.frames[first_frame..] {
            let rows = (frame.end_offset() - frame.base_offset.max(from)) as usize;
            if !budget.take(rows) {
                budget_spent = true;
                break;
            }
            frames.push(*frame);
        }
        if !frames.is_empty() {
            disk_reads.push(DiskRead {
                path: segment.path.clone(),
                file: segment.file.clone(),
                frames,
            });
        }
        if budget_spent {
            break;
        }
    }
    disk_reads
}

fn list_segments(directory: &Path) -> Result<Vec<u64>, StorageError> {
    let entries =
        std::fs::read_dir(directory).map_err(StorageError::io("list directory", directory))?;
    let mut base_offsets = Vec::new();
    for entry in entries {
        let entry = entry.map_err(StorageError::io("list directory", directory))?;
        let file_name = entry.file_name();
        let file_name = file_name.to_str();
        match file_name.and_then(parse_segment_file_name) {
            Some(base_offset) => base_offsets.push(base_offset),
            None if file_name.is_some_and(RetentionRecord::is_record_file) => {}
            None => warn!(path = %entry.path().display(), "ignoring a file that is not a segment"),
        }
    }
    base_offsets.sort_unstable();
    Ok(base_offsets)
}

/// The segments of the partition in `directory` that retention kept (base offsets, in
/// order, never empty). Those below the recorded first offset were deleted by a pass that a
/// crash cut short: their files are removed now. A partition without segments starts one at
/// its first offset, so offsets go on where the deleted ones ended.
fn kept_segments(directory: &Path, retention: &RetentionRecord) -> Result<Vec<u64>, StorageError> {
    let base_offsets = list_segments(directory)?;
    let kept_from =
        base_offsets.partition_point(|&base_offset| base_offset < retention.first_offset);
    for &deleted in &base_offsets[..kept_from] {
        let path = directory.join(segment_file_name(deleted));
        warn!(path = %path.display(), "removing a segment retention deleted before a crash");
        std::fs::remove_file(&path).map_err(StorageError::io("remove segment", &path))?;
    }
    let kept = base_offsets[kept_from..].to_vec();
    match kept.first() {
        Some(&first) if first != retention.first_offset => Err(StorageError::Corrupt {
            path: directory.join(segment_file_name(first)),
            position_bytes: 0,
            reason: format!(
                "the log starts at offset {first}, retention kept it from offset {}",
                retention.first_offset
            ),
        }),
        Some(_) => {
            if kept_from > 0 {
                sync_directory(directory)?;
            }
            Ok(kept)
        }
        None => {
            let path = directory.join(segment_file_name(retention.first_offset));
            open_segment_file(&path, true)?;
            sync_directory(directory)?;
            Ok(vec![retention.first_offset])
        }
    }
}

/// The last epoch of each producer that tagged a frame in these segments or in those
/// retention deleted.
fn producer_epochs_of(retention: &RetentionRecord, segments: &[SegmentIndex]) -> HashMap<u64, u64> {
    let mut epochs = retention.producer_epochs.clone();
    for frame in segments.iter().flat_map(|segment| &segment.frames) {
        if !frame.producer.is_none() {
            let last = epochs.entry(frame.producer.producer_id).or_insert(0);
            *last = (*last).max(frame.producer.epoch);
        }
    }
    epochs
}

/// Scans one segment at open; cuts a bad tail off the last segment, refuses one elsewhere.
fn recover_segment(
    identity: &PartitionIdentity,
    path: PathBuf,
    base_offset: u64,
    is_last: bool,
) -> Result<SegmentIndex, StorageError> {
    let file = open_segment_file(&path, false)?;
    let scan = scan_segment(&path, &file, base_offset, is_last)?;
    if let Some(reason) = scan.invalid_tail {
        if !is_last {
            return Err(StorageError::Corrupt {
                path,
                position_bytes: scan.valid_bytes,
                reason,
            });
        }
        warn!(
            topic = %identity.topic,
            partition = identity.partition,
            path = %path.display(),
            position_bytes = scan.valid_bytes,
            %reason,
            "cutting off a torn or corrupt tail of the log"
        );
        file.set_len(scan.valid_bytes)
            .and_then(|()| file.sync_data())
            .map_err(StorageError::io("truncate segment", &path))?;
    }
    Ok(SegmentIndex {
        frames: scan.frames,
        ..SegmentIndex::new(base_offset, path, is_last.then(|| Arc::new(file)))
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use arrow::array::Int64Array;
    use arrow::datatypes::{DataType, Field, Schema};

    use super::*;

    /// A batch of one BIGINT column `id`: `rows` ids from `first`.
    pub(crate) fn ids(first: i64, rows: usize) -> RecordBatch {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let ids = Int64Array::from_iter_values(first..first + rows as i64);
        RecordBatch::try_new(schema, vec![Arc::new(ids)]).expect("column matches the schema")
    }

    /// Partition 0 of a topic "t" of [`ids`] batches, in `directory`, fsynced.
    pub(crate) fn open_partition(directory: &Path, segment_bytes_max: u64) -> Arc<Partition> {
        let identity = PartitionIdentity {
            topic: Arc::from("t"),
            partition: 0,
            dropped: Arc::new(AtomicBool::new(false)),
            publication: Arc::default(),
        };
        let settings = LogSettings {
            durability: Durability::Fsync,
            segment_bytes_max,
        };
        let schema = ids(0, 1).schema();
        Arc::new(
            Partition::open(identity, directory.to_path_buf(), schema, settings).expect("opens"),
        )
    }

    #[test]
    fn cache_stays_bounded_contiguous_and_serves_only_what_it_holds() {
        let mut cache = BatchCache::default();
        let rows = 8192;
        let batches = 2 * PARTITION_CACHE_BYTES_MAX / (rows * 8) + 1;
        for index in 0..batches {
            let base_offset = (index * rows) as u64;
            cache.push(base_offset, ids(base_offset as i64, rows));
        }
        assert!(cache.memory_bytes <= PARTITION_CACHE_BYTES_MAX);
        let oldest = cache
            .batches
            .front()
            .expect("recent batches kept")
            .base_offset;
        assert!(oldest > 0, "old batches were evicted");
        assert!(
            cache.read(oldest - 1, 10).is_none(),
            "older rows come from the files"
        );
        let end_offset = (batches * rows) as u64;
        let tail = cache
            .read(end_offset - 3, 10)
            .expect("the newest rows are cached");
        assert_eq!(tail.len(), 1);
        assert_eq!(tail[0].0, Offset(end_offset - 3));
        assert_eq!(tail[0].1.num_rows(), 3);
        let two = cache.read(oldest + 1, rows + 1).expect("cached");
        assert_eq!(two.len(), 1, "a second whole batch would pass rows_max");
        let two = cache.read(oldest + 1, 2 * rows).expect("cached");
        assert_eq!(two.len(), 2);
        assert_eq!(two[1].0, Offset(oldest + rows as u64));
    }

    /// Appends `ids(first, rows)` and makes it durable and visible.
    fn append(partition: &Partition, first: i64, rows: usize) {
        let mut frame = EncodedFrame::encode(ids(first, rows)).expect("encodes");
        partition.write_frame(&mut frame).expect("writes");
        partition.sync().expect("syncs");
        partition.publish();
    }

    fn file_bytes(directory: &Path, base_offset: u64) -> u64 {
        std::fs::metadata(directory.join(segment_file_name(base_offset)))
            .expect("the segment exists")
            .len()
    }

    #[test]
    fn the_active_segment_is_extended_ahead_and_reopens_at_its_last_frame() {
        let directory = tempfile::tempdir().expect("temp dir");
        let partition = open_partition(directory.path(), 1 << 30);
        append(&partition, 0, 10);
        let written = read_lock(&partition.log).segments[0].size_bytes();
        // Appends land inside the file: its size, an inode change to sync, stays put.
        assert_eq!(
            file_bytes(directory.path(), 0),
            written + SEGMENT_EXTENSION_BYTES
        );
        append(&partition, 10, 5);
        assert_eq!(
            file_bytes(directory.path(), 0),
            written + SEGMENT_EXTENSION_BYTES
        );
        drop(partition);

        // The zeros past the frames are the end of the log, not a torn tail to cut.
        let partition = open_partition(directory.path(), 1 << 30);
        assert_eq!(partition.end_offset(), Offset(15));
        append(&partition, 15, 1);
        drop(partition);
        let partition = open_partition(directory.path(), 1 << 30);
        assert_eq!(partition.end_offset(), Offset(16));
        let ids: Vec<i64> = partition
            .read(Offset(0), 100)
            .expect("reads")
            .iter()
            .flat_map(|(_, batch)| {
                batch
                    .column(0)
                    .as_any()
                    .downcast_ref::<Int64Array>()
                    .expect("ids")
                    .values()
                    .to_vec()
            })
            .collect();
        assert_eq!(ids, (0..16).collect::<Vec<_>>());
    }

    #[test]
    fn a_sealed_segment_ends_at_its_last_frame() {
        let directory = tempfile::tempdir().expect("temp dir");
        let partition = open_partition(directory.path(), 700);
        for first in (0..40).step_by(10) {
            append(&partition, first, 10);
        }
        let segments: Vec<(u64, u64)> = read_lock(&partition.log)
            .segments
            .iter()
            .map(|segment| (segment.base_offset, segment.size_bytes()))
            .collect();
        assert!(segments.len() > 1, "the segments rolled: {segments:?}");
        let (sealed, active) = segments.split_at(segments.len() - 1);
        for &(base_offset, size_bytes) in sealed {
            assert_eq!(file_bytes(directory.path(), base_offset), size_bytes);
        }
        // The active one is extended only up to the segment size.
        assert_eq!(file_bytes(directory.path(), active[0].0), 700);
        drop(partition);
        let partition = open_partition(directory.path(), 700);
        assert_eq!(partition.end_offset(), Offset(40));
    }

    #[test]
    fn a_frame_larger_than_a_segment_gets_a_segment_of_its_own() {
        let directory = tempfile::tempdir().expect("temp dir");
        let segment_bytes_max = 1024;
        let partition = open_partition(directory.path(), segment_bytes_max);
        for first in [0, 1000, 2000] {
            let mut frame = EncodedFrame::encode(ids(first, 1000)).expect("encodes");
            assert!(frame.frame_bytes() > segment_bytes_max);
            partition.write_frame(&mut frame).expect("writes");
            partition.sync().expect("syncs");
            partition.publish();
        }
        assert_eq!(
            list_segments(directory.path()).expect("lists"),
            vec![0, 1000, 2000]
        );
        let read = partition
            .read(Offset(999), 1)
            .expect("reads from the cache");
        assert_eq!((read[0].0, read[0].1.num_rows()), (Offset(999), 1));
        assert_eq!(partition.end_offset(), Offset(3000));
    }

    #[test]
    fn a_read_planned_before_retention_deleted_its_segment_is_planned_again() {
        let directory = tempfile::tempdir().expect("temp dir");
        // Each frame gets a segment of its own; the ids are the rows' times.
        let partition = open_partition(directory.path(), 1);
        for first in [0, 10, 20] {
            append(&partition, first, 10);
        }
        // A reader behind the cached batches reads the files.
        write_lock(&partition.log).cache.clear();
        let plan = plan_disk_reads(&read_lock(&partition.log).segments, 0, 100);
        let deleted = partition
            .delete_segments_before(0, 15)
            .expect("deletes")
            .expect("the first segment is older");
        assert_eq!((deleted.segments, deleted.first_offset), (1, Offset(10)));
        assert!(
            partition.read_planned(0, &plan).is_err(),
            "the planned segment's file is gone"
        );
        assert!(
            partition.first_offset().0 > 0,
            "which is how `read` knows to plan again"
        );
        let read = partition.read(Offset(0), 100).expect("reads");
        assert_eq!(read[0].0, Offset(10));
        assert_eq!(
            read.iter()
                .map(|(_, batch)| batch.num_rows())
                .sum::<usize>(),
            20
        );
    }
}
