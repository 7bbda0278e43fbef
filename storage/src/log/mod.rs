//! Topics: named, partitioned, append-only logs of Arrow record batches, in the spirit of
//! Kafka's log. A topic is a directory holding its metadata file (name, partition count,
//! schema) and one directory of segment files per partition.
//!
//! Appends go through the store's committer thread (group commit); reads go straight to the
//! partition's index, cache and files, and never wait behind an append. Retention deletes a
//! partition's oldest sealed segments once all their rows are older than a cutoff its caller
//! gives (`Topic::delete_segments_before`: the store reads no clock).
//!
//! Never: accept a batch whose schema differs from the topic's, or show undurable rows.

mod committer;
mod frame;
mod partition;
mod retention_record;
mod segment;
mod topic_files;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use tokio::sync::watch;

use crate::error::StorageError;

pub(crate) use committer::CommitterHandle;
pub(crate) use partition::{LogSettings, sync_directory};
pub(crate) use topic_files::{TopicFiles, load_topics};

use committer::QueuedAppend;
use frame::{EncodedFrame, ProducerTag};
use partition::{Partition, PartitionIdentity};

/// A row's position in one partition log.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Offset(pub u64);

/// What one retention pass deleted from one partition.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeletedSegments {
    pub partition: u32,
    pub segments: usize,
    pub rows: u64,
    /// The partition's first offset after the deletion: the first row kept.
    pub first_offset: Offset,
}

/// When an append is acknowledged and its rows become visible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Durability {
    /// After fdatasync of the segment file, shared by concurrent appends (group commit).
    #[default]
    Fsync,
    /// After write(2): flushing is left to the OS, like Kafka's default. A crash of the
    /// machine (not of the process) can lose the last acknowledged appends.
    Os,
}

/// An append queued by `Topic::queue_append_partitions`. Dropping it does not cancel the
/// append: its rows land all the same, only nobody waits for them.
#[derive(Debug)]
pub struct PendingAppend {
    /// None when there was nothing to append.
    queued: Option<QueuedAppend>,
}

impl PendingAppend {
    /// Resolves once the append is durable and visible to readers.
    pub async fn durable(self) -> Result<(), StorageError> {
        match self.queued {
            Some(queued) => queued.durable().await.map(|_| ()),
            None => Ok(()),
        }
    }
}

/// Batches encoded as log frames by `Topic::encode_partitions`, ready to be queued on the
/// same topic.
pub struct EncodedAppend {
    topic: Arc<str>,
    frames: Vec<(Arc<Partition>, EncodedFrame)>,
}

impl std::fmt::Debug for EncodedAppend {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("EncodedAppend")
            .field("topic", &self.topic)
            .field("frames", &self.frames.len())
            .finish()
    }
}

/// A named log with a fixed schema and a fixed number of partitions.
pub struct Topic {
    name: Arc<str>,
    schema: SchemaRef,
    partitions: Vec<Arc<Partition>>,
    dropped: Arc<AtomicBool>,
    /// Shared with its partitions: see `PartitionIdentity::publication`.
    publication: Arc<RwLock<()>>,
    committer: CommitterHandle,
}

impl std::fmt::Debug for Topic {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Topic")
            .field("name", &self.name)
            .field("partition_count", &self.partitions.len())
            .field("dropped", &self.dropped.load(Ordering::Relaxed))
            .finish()
    }
}

impl Topic {
    /// Opens (or, for a new topic, creates) the partitions of a topic whose files are in place.
    pub(crate) fn open(
        files: &TopicFiles,
        settings: LogSettings,
        committer: CommitterHandle,
    ) -> Result<Self, StorageError> {
        let name: Arc<str> = Arc::from(files.name());
        let dropped = Arc::new(AtomicBool::new(false));
        let publication = Arc::new(RwLock::new(()));
        let partitions = (0..files.partition_count())
            .map(|partition| {
                let identity = PartitionIdentity {
                    topic: name.clone(),
                    partition,
                    dropped: dropped.clone(),
                    publication: publication.clone(),
                };
                let directory = files.partition_directory(partition);
                Partition::open(identity, directory, files.schema(), settings).map(Arc::new)
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Topic {
            name,
            schema: files.schema(),
            partitions,
            dropped,
            publication,
            committer,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    pub fn partition_count(&self) -> u32 {
        // Partition counts are checked against PARTITIONS_MAX (a u32) when a topic is created.
        self.partitions.len() as u32
    }

    /// Appends the batches, in order, to one partition; resolves once they are durable (per
    /// `Durability`) and visible to readers, with the offset of the first row. Offsets count
    /// rows (a batch of 3 rows at offset 10 holds offsets 10, 11, 12). Empty batches are
    /// skipped; if all are empty, the partition's end offset is returned.
    pub async fn append(
        &self,
        partition: u32,
        batches: Vec<RecordBatch>,
    ) -> Result<Offset, StorageError> {
        let target = self.partition(partition)?;
        let frames = self.encode_frames(batches.into_iter().map(|batch| (partition, batch)))?;
        if frames.is_empty() {
            return Ok(target.end_offset());
        }
        let offsets = self.committer.append(frames).await?;
        // The committer answers with one offset per frame, and there is at least one frame.
        Ok(*offsets.first().expect("one offset per appended frame"))
    }

    /// Appends to several partitions and resolves once all are durable (one group commit).
    /// Batches for the same partition keep their order.
    pub async fn append_partitions(
        &self,
        batches: Vec<(u32, RecordBatch)>,
    ) -> Result<(), StorageError> {
        self.queue_append_partitions(batches).await?.durable().await
    }

    /// Like `append_partitions`, in two steps, so that one writer can keep several appends in
    /// flight: this queues the batches for the next group commit (waiting only while the
    /// committer's queue is full); the returned `PendingAppend` resolves once they are
    /// durable. Appends queued one after another keep their order within each partition.
    pub async fn queue_append_partitions(
        &self,
        batches: Vec<(u32, RecordBatch)>,
    ) -> Result<PendingAppend, StorageError> {
        let encoded = self.encode_partitions(batches)?;
        self.queue_encoded(encoded).await
    }

    /// The first half of `queue_append_partitions`: encodes the batches as log frames, which
    /// is CPU work, without waiting for anything. A bulk writer encodes on a thread of its
    /// choosing and queues the result with `queue_encoded`.
    pub fn encode_partitions(
        &self,
        batches: Vec<(u32, RecordBatch)>,
    ) -> Result<EncodedAppend, StorageError> {
        Ok(EncodedAppend {
            topic: self.name.clone(),
            frames: self.encode_frames(batches.into_iter())?,
        })
    }

    /// The second half of `queue_append_partitions`: queues frames this topic encoded.
    pub async fn queue_encoded(
        &self,
        encoded: EncodedAppend,
    ) -> Result<PendingAppend, StorageError> {
        let frames = self.frames_of(encoded);
        if frames.is_empty() {
            return Ok(PendingAppend { queued: None });
        }
        let queued = self.committer.queue(frames).await?;
        Ok(PendingAppend {
            queued: Some(queued),
        })
    }

    /// The frames of an append this topic encoded.
    fn frames_of(&self, encoded: EncodedAppend) -> Vec<(Arc<Partition>, EncodedFrame)> {
        // Frames carry their partitions; another topic's would land in the wrong log.
        assert!(
            Arc::ptr_eq(&encoded.topic, &self.name),
            "frames encoded by topic {} queued on topic {}",
            encoded.topic,
            self.name
        );
        encoded.frames
    }

    /// Appends at most one frame per partition, tagged (producer, epoch), and resolves once all
    /// are durable. A partition that already holds an append of this producer with this epoch
    /// or a later one ignores it: a writer that repeats its last append after a crash, not
    /// knowing which partitions received it, lands it exactly once. Batches for the same
    /// partition are joined into one frame, so each partition gets all of an epoch or none.
    /// `producer_id` must not be 0; a producer's epochs must grow.
    pub async fn append_idempotent(
        &self,
        batches: Vec<(u32, RecordBatch)>,
        producer_id: u64,
        epoch: u64,
    ) -> Result<(), StorageError> {
        let encoded = self.encode_idempotent(batches, producer_id, epoch)?;
        self.append_encoded(encoded).await
    }

    /// The first half of `append_idempotent`: joins and encodes the batches as frames tagged
    /// (producer, epoch), which is CPU work, without waiting for anything.
    pub fn encode_idempotent(
        &self,
        batches: Vec<(u32, RecordBatch)>,
        producer_id: u64,
        epoch: u64,
    ) -> Result<EncodedAppend, StorageError> {
        assert_ne!(producer_id, 0, "producer id 0 means untagged");
        let mut by_partition: Vec<(u32, Vec<RecordBatch>)> = Vec::new();
        for (partition, batch) in batches {
            if batch.num_rows() == 0 {
                continue;
            }
            match by_partition
                .iter_mut()
                .find(|(existing, _)| *existing == partition)
            {
                Some((_, batches)) => batches.push(batch),
                None => by_partition.push((partition, vec![batch])),
            }
        }
        let mut frames = Vec::with_capacity(by_partition.len());
        for (partition, batches) in by_partition {
            let target = self.partition(partition)?.clone();
            let batches = batches
                .into_iter()
                .map(|batch| self.with_topic_schema(batch))
                .collect::<Result<Vec<_>, _>>()?;
            let joined = arrow::compute::concat_batches(&self.schema, &batches)?;
            let producer = ProducerTag { producer_id, epoch };
            frames.push((
                target,
                EncodedFrame::encode(joined)?.with_producer(producer),
            ));
        }
        Ok(EncodedAppend {
            topic: self.name.clone(),
            frames,
        })
    }

    /// The second half of `append_idempotent`: appends frames this topic encoded and resolves
    /// once they are durable.
    pub async fn append_encoded(&self, encoded: EncodedAppend) -> Result<(), StorageError> {
        let frames = self.frames_of(encoded);
        if frames.is_empty() {
            return Ok(());
        }
        self.committer.append(frames).await.map(|_| ())
    }

    /// The last epoch a producer appended to a partition, if any.
    pub fn producer_epoch(
        &self,
        partition: u32,
        producer_id: u64,
    ) -> Result<Option<u64>, StorageError> {
        Ok(self.partition(partition)?.producer_epoch(producer_id))
    }

    /// The end offset of every partition, read at one moment: an append to several
    /// partitions (`append_partitions`) is in all of them or in none.
    pub fn end_offsets(&self) -> Vec<Offset> {
        Partition::end_offsets_together(&self.publication, &self.partitions)
    }

    /// The first offset still in the log: 0 until retention deletes segments, then the first
    /// row it kept. `Offset(0)` for a partition that does not exist.
    pub fn first_offset(&self, partition: u32) -> Offset {
        self.partitions
            .get(partition as usize)
            .map_or(Offset(0), |partition| partition.first_offset())
    }

    /// Retention, as Kafka's `retention.ms`: in each partition, deletes the sealed segments at
    /// the start of the log (never the active one) whose rows all have a `time_column` value
    /// (an Int64 column, such as epoch milliseconds) before `cutoff`, stopping at the first
    /// segment that holds a later one. Their files are removed and the partition's first
    /// offset moves up; offsets are never reused, and a producer's epochs in deleted segments
    /// are remembered. Reads each sealed segment's times once, at the first pass that asks.
    /// Returns what was deleted, for the partitions where something was.
    pub fn delete_segments_before(
        &self,
        time_column: &str,
        cutoff: i64,
    ) -> Result<Vec<DeletedSegments>, StorageError> {
        let time_column = self
            .schema
            .index_of(time_column)
            .ok()
            .filter(|&index| {
                self.schema.field(index).data_type() == &arrow::datatypes::DataType::Int64
            })
            .ok_or_else(|| StorageError::InvalidTopic {
                name: self.name.to_string(),
                reason: format!("it has no Int64 column \"{time_column}\" to tell its rows' age"),
            })?;
        let mut deleted = Vec::new();
        for partition in 0..self.partition_count() {
            let target = self.partition(partition)?;
            deleted.extend(target.delete_segments_before(time_column, cutoff)?);
        }
        Ok(deleted)
    }

    /// The durable end offset: one past the last row a reader can see. `Offset(0)` for a
    /// partition that does not exist.
    pub fn end_offset(&self, partition: u32) -> Offset {
        self.partitions
            .get(partition as usize)
            .map_or(Offset(0), |partition| partition.end_offset())
    }

    /// Reads durable rows starting at `from`, up to about `rows_max` rows: whole stored
    /// batches, the first one sliced if `from` falls inside it, and at least one batch if any
    /// is available. Returns (offset of first row, batch) pairs; empty when `from` is at or
    /// past the end offset. A `from` below the start of the log starts at the log's start.
    pub fn read(
        &self,
        partition: u32,
        from: Offset,
        rows_max: usize,
    ) -> Result<Vec<(Offset, RecordBatch)>, StorageError> {
        self.partition(partition)?.read(from, rows_max)
    }

    /// Notified with the new durable end offset whenever it moves (and once when the topic is
    /// dropped): readers wait on this, never on a timer. For a partition that does not exist
    /// the receiver is already closed.
    pub fn watch_end_offset(&self, partition: u32) -> watch::Receiver<Offset> {
        match self.partitions.get(partition as usize) {
            Some(partition) => partition.watch_end_offset(),
            None => watch::channel(Offset(0)).1,
        }
    }

    /// Cuts the partition back so that `end` becomes its end offset (exactly-once recovery of
    /// a sink log whose last appends were not committed). A stored batch straddling `end` is
    /// rewritten with its rows below `end`. Only called when no append is in flight.
    pub fn truncate(&self, partition: u32, end: Offset) -> Result<(), StorageError> {
        self.partition(partition)?.truncate(end)
    }

    /// Marks the topic dropped: appends and reads fail from now on, waiting readers wake.
    pub(crate) fn mark_dropped(&self) {
        self.dropped.store(true, Ordering::Release);
        for partition in &self.partitions {
            partition.finish_drop();
        }
    }

    fn partition(&self, partition: u32) -> Result<&Arc<Partition>, StorageError> {
        let target = self.partitions.get(partition as usize).ok_or_else(|| {
            StorageError::PartitionOutOfRange {
                topic: self.name.to_string(),
                partition,
                partition_count: self.partition_count(),
            }
        })?;
        match target.dropped_error() {
            Some(dropped) => Err(dropped),
            None => Ok(target),
        }
    }

    fn encode_frames(
        &self,
        batches: impl Iterator<Item = (u32, RecordBatch)>,
    ) -> Result<Vec<(Arc<Partition>, EncodedFrame)>, StorageError> {
        let mut frames = Vec::new();
        for (partition, batch) in batches {
            let target = self.partition(partition)?;
            if batch.num_rows() == 0 {
                continue;
            }
            let batch = self.with_topic_schema(batch)?;
            frames.push((target.clone(), EncodedFrame::encode(batch)?));
        }
        Ok(frames)
    }

    /// The batch under the topic's own schema, so that cached and decoded batches agree; `Err`
    /// if its columns differ in name, type or nullability.
    fn with_topic_schema(&self, batch: RecordBatch) -> Result<RecordBatch, StorageError> {
        if Arc::ptr_eq(batch.schema_ref(), &self.schema) {
            return Ok(batch);
        }
        if batch.schema_ref().fields() != self.schema.fields() {
            return Err(StorageError::SchemaMismatch {
                topic: self.name.to_string(),
                expected: self.schema.to_string(),
                found: batch.schema_ref().to_string(),
            });
        }
        let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
        Ok(RecordBatch::try_new_with_options(
            self.schema.clone(),
            batch.columns().to_vec(),
            &options,
        )?)
    }
}
