//! Stream time: the largest event time an operator has taken, which decides which rows are
//! late and when windows close. Each input partition has its own (`PartitionTimes`), as
//! Kafka Streams keeps one per task: a row is judged against its own partition's stream
//! time and the stream time its epoch started at, which is what taking the epoch's rows
//! merged by time across partitions would judge, without reordering them. As an epoch ends
//! stream time moves to the lowest of the partitions that still had rows to read when the
//! epoch was cut (a query catching up reads as many rows of each, which can be far apart in
//! time), or, when every partition was read to its end, to the largest. So a query catching
//! up over partitions of different rates sets aside no row that came in order within its
//! partition, and a query that keeps up closes windows as ksqlDB does.
//!
//! Never: move stream time backwards, or read the clock.

use std::collections::BTreeMap;

use eddy_storage::{StateBatch, StateStore};

use crate::error::{EngineError, EngineResult};
use crate::state::keys::OperatorStateKeys;

/// Stands for `None` (rows an operator emitted as the epoch ended) in a stored partition.
const NO_PARTITION: u64 = u64::MAX;

/// The largest event time taken from each input partition (by its position among the
/// query's, `EpochContext::read_from`; None: rows an operator emitted as an epoch ended).
#[derive(Debug, Default)]
pub(crate) struct PartitionTimes {
    by_partition: BTreeMap<Option<usize>, i64>,
    /// Whether a time moved since the last `encode_if_changed`.
    changed: bool,
}

impl PartitionTimes {
    /// The largest event time taken from `partition`.
    pub fn of(&self, partition: Option<usize>) -> Option<i64> {
        self.by_partition.get(&partition).copied()
    }

    /// Keeps `time` as taken from `partition`.
    pub fn take(&mut self, partition: Option<usize>, time: i64) {
        let own = self.by_partition.entry(partition).or_insert(i64::MIN);
        if *own < time {
            *own = time;
            self.changed = true;
        }
    }

    /// Where stream time moves as an epoch ends: the lowest time among the partitions in
    /// `behind` (those the epoch did not read to their end) that have given a row, or, with
    /// none of them, the largest of all. None before any row.
    pub fn settled(&self, behind: &[usize]) -> Option<i64> {
        let is_behind = |partition: &Option<usize>| {
            partition.is_some_and(|partition| behind.contains(&partition))
        };
        self.by_partition
            .iter()
            .filter(|(partition, _)| is_behind(partition))
            .map(|(_, &time)| time)
            .min()
            .or_else(|| self.by_partition.values().copied().max())
    }

    /// The times as stored (16 bytes each: partition, time), if any moved since this was
    /// last called.
    pub fn encode_if_changed(&mut self) -> Option<Vec<u8>> {
        if !std::mem::take(&mut self.changed) {
            return None;
        }
        let mut bytes = Vec::with_capacity(self.by_partition.len() * 16);
        for (partition, time) in &self.by_partition {
            let partition = partition.map_or(NO_PARTITION, |partition| partition as u64);
            bytes.extend_from_slice(&partition.to_be_bytes());
            bytes.extend_from_slice(&time.to_be_bytes());
        }
        Some(bytes)
    }

    /// Times stored by `encode_if_changed`.
    pub fn decode(bytes: &[u8]) -> EngineResult<PartitionTimes> {
        if !bytes.len().is_multiple_of(16) {
            return Err(corrupt(
                "stored partition stream times are not 16 bytes each",
            ));
        }
        let mut times = PartitionTimes::default();
        for entry in bytes.chunks_exact(16) {
            let (partition, time) = entry.split_at(8);
            let partition = u64::from_be_bytes(
                partition
                    .try_into()
                    .map_err(|_| corrupt("a stored partition is not 8 bytes"))?,
            );
            let partition = match partition {
                NO_PARTITION => None,
                partition => Some(
                    usize::try_from(partition)
                        .map_err(|_| corrupt("a stored partition is too large"))?,
                ),
            };
            times.by_partition.insert(partition, decode_time(time)?);
        }
        Ok(times)
    }
}

/// An 8-byte stored stream time.
pub(crate) fn decode_time(bytes: &[u8]) -> EngineResult<i64> {
    let bytes: [u8; 8] = bytes
        .try_into()
        .map_err(|_| corrupt("a stored stream time is not 8 bytes"))?;
    Ok(i64::from_be_bytes(bytes))
}

fn corrupt(what: &str) -> EngineError {
    EngineError::Internal(what.into())
}

/// A windowed aggregation's stream time, kept in the state store with each epoch's commit
/// (`q/<id>/t`, and each partition's under `q/<id>/tp`).
pub(crate) struct StreamTime {
    /// The stream time that closes windows. None before the first row.
    time: Option<i64>,
    /// `time` as the epoch started: the least a row of the epoch is judged against.
    epoch_start: Option<i64>,
    partitions: PartitionTimes,
    /// Read from the state store before the first batch.
    loaded: bool,
    /// What the store holds as of the last epoch's commit.
    saved: Option<i64>,
    key: Vec<u8>,
    partitions_key: Vec<u8>,
}

impl StreamTime {
    pub fn new(query_id: &str) -> StreamTime {
        let keys = OperatorStateKeys::of(query_id);
        StreamTime {
            time: None,
            epoch_start: None,
            partitions: PartitionTimes::default(),
            loaded: false,
            saved: None,
            key: keys.stream_time(),
            partitions_key: keys.partition_stream_times(),
        }
    }

    /// A stream time that starts with no row, without reading a store.
    #[cfg(test)]
    pub fn started(query_id: &str) -> StreamTime {
        StreamTime {
            loaded: true,
            ..StreamTime::new(query_id)
        }
    }

    pub fn get(&self) -> Option<i64> {
        self.time
    }

    /// Reads the stream time a restarted query had reached, once, before its first batch
    /// (nothing of the operator's is in flight then). True when it was read now.
    pub fn load(&mut self, state: &dyn StateStore) -> EngineResult<bool> {
        if self.loaded {
            return Ok(false);
        }
        let stored = state.get(OperatorStateKeys::KEYSPACE, &self.key)?;
        self.time = stored.map(|bytes| decode_time(&bytes)).transpose()?;
        self.saved = self.time;
        self.epoch_start = self.time;
        // A query stored before partitions had their own has none: each starts at the
        // stream time.
        if let Some(bytes) = state.get(OperatorStateKeys::KEYSPACE, &self.partitions_key)? {
            self.partitions = PartitionTimes::decode(&bytes)?;
        }
        self.loaded = true;
        Ok(true)
    }

    /// Each row's stream time as rows of `rowtimes`, read from input partition `partition`,
    /// are taken in order (the row's own rowtime counts), and the partition's stream time
    /// after them. Changes nothing: `take` keeps it.
    pub fn through(&self, rowtimes: &[i64], partition: Option<usize>) -> (Vec<i64>, Option<i64>) {
        let mut time = match (self.epoch_start, self.partitions.of(partition)) {
            (Some(start), Some(own)) => Some(start.max(own)),
            (start, own) => start.or(own),
        };
        let each = rowtimes
            .iter()
            .map(|&rowtime| {
                let now = time.map_or(rowtime, |time| time.max(rowtime));
                time = Some(now);
                now
            })
            .collect();
        (each, time)
    }

    /// Keeps the stream time that rows read from `partition` reached (`through`).
    pub fn take(&mut self, partition: Option<usize>, reached: Option<i64>) {
        if let Some(reached) = reached {
            self.partitions.take(partition, reached);
        }
    }

    /// Moves stream time to `time` if it is behind.
    pub fn advance_to(&mut self, time: i64) {
        self.time = Some(self.time.map_or(time, |now| now.max(time)));
    }

    /// Moves stream time as the epoch ends, before windows close (`PartitionTimes::settled`;
    /// `behind`: the partitions with rows past the epoch's).
    pub fn settle(&mut self, behind: &[usize]) {
        if let Some(settled) = self.partitions.settled(behind) {
            self.advance_to(settled);
        }
    }

    /// Puts a changed stream time into the epoch's commit; the next epoch starts from it.
    pub fn save(&mut self, state_changes: &mut StateBatch) {
        self.epoch_start = self.time;
        if self.time != self.saved
            && let Some(time) = self.time
        {
            state_changes.put(
                OperatorStateKeys::KEYSPACE,
                self.key.clone(),
                time.to_be_bytes().to_vec(),
            );
            self.saved = self.time;
        }
        if let Some(bytes) = self.partitions.encode_if_changed() {
            state_changes.put(
                OperatorStateKeys::KEYSPACE,
                self.partitions_key.clone(),
                bytes,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An epoch that leaves rows unread in some partitions (a query catching up) closes
    /// windows only as far as the slowest of them; one that reads every partition to its
    /// end, as far as the furthest. Stream time never goes back.
    #[test]
    fn stream_time_waits_for_partitions_still_behind() {
        let mut time = StreamTime::started("test");
        time.take(Some(0), Some(10_000));
        time.take(Some(1), Some(4_000));
        time.take(Some(2), Some(7_000));
        time.settle(&[0, 2]);
        assert_eq!(time.get(), Some(7_000));
        time.settle(&[1]);
        assert_eq!(time.get(), Some(7_000), "never backwards");
        time.settle(&[]);
        assert_eq!(time.get(), Some(10_000));
        // A partition behind that has given no row yet does not hold stream time back.
        let mut fresh = StreamTime::started("test");
        fresh.take(Some(0), Some(5));
        fresh.settle(&[1]);
        assert_eq!(fresh.get(), Some(5));
    }

    /// A restarted query judges rows as it would have without the restart: each partition's
    /// stream time is committed with the epoch.
    #[test]
    fn partition_stream_times_survive_a_restart() {
        let store = eddy_storage::MemoryStateStore::default();
        let mut time = StreamTime::new("test");
        time.load(&store).expect("loads");
        time.take(Some(0), Some(9_000));
        time.take(None, Some(2_000));
        time.take(Some(3), Some(6_000));
        time.settle(&[3]);
        let mut commit = StateBatch::default();
        time.save(&mut commit);
        store.commit(commit).expect("commits");

        let mut restarted = StreamTime::new("test");
        assert!(restarted.load(&store).expect("loads"));
        assert_eq!(restarted.get(), Some(6_000));
        assert_eq!(restarted.through(&[1], Some(0)).1, Some(9_000));
        assert_eq!(restarted.through(&[1], None).1, Some(6_000));
        assert_eq!(restarted.through(&[7_000], Some(3)).1, Some(7_000));
        assert_eq!(restarted.through(&[1], Some(5)).1, Some(6_000));
    }
}
