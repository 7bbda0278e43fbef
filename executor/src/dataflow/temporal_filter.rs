//! The temporal filter operator (`WHERE ROWTIME > NOW() - INTERVAL '7' DAY` in a persistent
//! query, `planner::temporal`): a row is in the output while the epoch's clock is inside its
//! bounds `[time + from, time + until)`. Weight rule: pass through, delayed. A row inside its
//! bounds passes now, and its leaving (−weight) is scheduled for its upper bound; a row before
//! its bounds is scheduled to come (+weight) at its lower bound, and to leave later; a row
//! past its bounds never shows. A retraction schedules the opposite weights, so it cancels
//! what its row scheduled: the schedule is a Z-set keyed by (due time, row).
//!
//! The schedule lives in the state store, keyed by due time first (row codec), so each epoch
//! reads what has come due by one range read, as windows find the ones that close; entries
//! the last epoch wrote, whose commit may be in flight, are kept in memory until read.
//!
//! Never: read the clock (the runner samples it once per epoch, `EpochContext::now_ms`), or
//! let a row show outside its bounds once an epoch has run at a time past them.

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{Array, AsArray, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, Int64Type, SchemaRef};
use eddy_planner::TemporalFilter;
use eddy_storage::{ChangeBatch, StateStore};

use crate::batches::{epoch_millis, evaluate_column};
use crate::changes::Changes;
use crate::dataflow::window::start_key;
use crate::dataflow::{EpochContext, Operator};
use crate::error::{DataError, EngineError, EngineResult};
use crate::row_codec::{decode_rows, encode_rows};
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::{CacheBudget, OperatorCache};

/// The operator of one query's temporal filter.
pub(crate) struct TemporalFilterOperator {
    filter: TemporalFilter,
    /// The rows it takes and emits: the source's queryable rows.
    schema: SchemaRef,
    /// Scheduled weights by (due time, encoded row): each a weight and the row's rowtime.
    schedule: OperatorCache,
    /// The epoch's changes to the schedule, by key, until the epoch ends.
    scheduling: BTreeMap<Vec<u8>, (i64, i64)>,
    /// Every entry due at or before this has been emitted.
    emitted_through: Option<i64>,
    /// The entries the last epoch wrote: its commit may still be in flight.
    recent: Vec<Vec<u8>>,
    /// The earliest due time the schedule may hold, for the runner's next wake-up; None
    /// when unknown (after a restart, until the first epoch reads it).
    next_due: Option<i64>,
    loaded: bool,
}

impl TemporalFilterOperator {
    pub fn new(
        filter: TemporalFilter,
        schema: SchemaRef,
        query_id: &str,
        budget: Arc<CacheBudget>,
    ) -> Self {
        TemporalFilterOperator {
            filter,
            schema,
            schedule: OperatorCache::new(
                OperatorStateKeys::KEYSPACE,
                OperatorStateKeys::of(query_id).temporal_schedule_prefix(),
                budget,
            ),
            scheduling: BTreeMap::new(),
            emitted_through: None,
            recent: Vec::new(),
            next_due: None,
            loaded: false,
        }
    }

    /// Adds `weight` of `row` (encoded) to the schedule at `due`.
    fn schedule(&mut self, due: i64, row: &[u8], weight: i64, rowtime: i64) -> EngineResult<()> {
        let mut key = start_key(due)?;
        key.extend_from_slice(row);
        let entry = self.scheduling.entry(key).or_insert((0, rowtime));
        entry.0 += weight;
        self.next_due = Some(self.next_due.map_or(due, |next| next.min(due)));
        Ok(())
    }

    /// The epoch's clock, never behind what has been emitted: a clock set back does not
    /// bring rows back.
    fn now(&self, cx: &EpochContext<'_>) -> i64 {
        self.emitted_through
            .map_or(cx.now_ms, |through| through.max(cx.now_ms))
    }

    /// The earliest entry the committed schedule holds, read once after a start.
    fn load(&mut self, state: &dyn StateStore) -> EngineResult<()> {
        if self.loaded {
            return Ok(());
        }
        if let Some(key) = self.schedule.first_committed_key(state, &[])? {
            self.next_due = Some(due_of(&key)?);
        }
        self.loaded = true;
        Ok(())
    }
}

impl Operator for TemporalFilterOperator {
    fn apply(
        &mut self,
        _input: usize,
        changes: Changes,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        self.load(cx.state)?;
        let now = self.now(cx);
        let rows = changes.rows();
        let times = epoch_millis(evaluate_column(self.filter.time.as_ref(), rows)?)?;
        let encoded = encode_rows(rows)?;
        let encoded: Vec<&[u8]> = encoded.iter().collect();
        let mut passing = Vec::new();
        let mut scheduled = Vec::new();
        for row in 0..rows.num_rows() {
            if times.is_null(row) {
                return Err(
                    DataError::NullNotAllowed("the temporal filter's time is NULL".into()).into(),
                );
            }
            let time = times.value(row);
            let from = self
                .filter
                .from_offset_ms
                .map(|offset| time.saturating_add(offset));
            let until = self
                .filter
                .until_offset_ms
                .map(|offset| time.saturating_add(offset));
            let weight = changes.weights().map_or(1, |weights| weights.value(row));
            let rowtime = changes.rowtimes().value(row);
            if until.is_some_and(|until| now >= until) {
                continue;
            }
            match from {
                Some(from) if now < from => scheduled.push((from, row, weight, rowtime)),
                _ => passing.push(row as u32),
            }
            if let Some(until) = until {
                scheduled.push((until, row, -weight, rowtime));
            }
        }
        // Checked whole before anything changes: an apply that fails changes nothing.
        for (due, row, weight, rowtime) in scheduled {
            self.schedule(due, encoded[row], weight, rowtime)?;
        }
        if !passing.is_empty() {
            let indices = UInt32Array::from(passing);
            let rows = arrow::compute::take_record_batch(rows, &indices)?;
            let weights = changes
                .weights()
                .map(|weights| take(weights, &indices, None))
                .transpose()?
                .map(|weights| weights.as_primitive::<Int64Type>().clone());
            let rowtimes = take(changes.rowtimes(), &indices, None)?
                .as_primitive::<Int64Type>()
                .clone();
            output.push(Changes::new(
                ChangeBatch::try_new(rows, weights)?,
                rowtimes,
                None,
            )?);
        }
        Ok(())
    }

    fn end_epoch(
        &mut self,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        self.load(cx.state)?;
        let now = self.now(cx);
        // The epoch's schedule changes, added to what is stored.
        let changed: Vec<(Vec<u8>, (i64, i64))> = std::mem::take(&mut self.scheduling)
            .into_iter()
            .filter(|(_, (weight, _))| *weight != 0)
            .collect();
        let keys: Vec<Vec<u8>> = changed.iter().map(|(key, _)| key.clone()).collect();
        let mut stored = vec![0_i64; keys.len()];
        self.schedule.read(cx.state, &keys, |index, bytes| {
            stored[index] = entry_of(bytes)?.0;
            Ok(())
        })?;
        let mut written = Vec::new();
        self.schedule.begin_writes();
        for ((key, (weight, rowtime)), before) in changed.into_iter().zip(stored) {
            let total = before + weight;
            let value = (total != 0).then(|| entry_bytes(total, rowtime));
            if value.is_some() {
                written.push(key.clone());
            }
            self.schedule.write(key, value, cx.state_changes);
        }
        // What has come due since the last epoch.
        let due_bound = start_key(now.saturating_add(1))?;
        let from = match self.emitted_through {
            Some(through) => start_key(through.saturating_add(1))?,
            None => Vec::new(),
        };
        let mut due = self
            .schedule
            .committed_keys_between(cx.state, &from, &due_bound)?;
        for key in std::mem::take(&mut self.recent)
            .into_iter()
            .chain(written.iter().cloned())
        {
            if key < due_bound && !due.contains(&key) {
                due.push(key);
            }
        }
        due.sort_unstable();
        let mut due_rows = Vec::with_capacity(due.len());
        let mut weights = Vec::with_capacity(due.len());
        let mut rowtimes = Vec::with_capacity(due.len());
        let mut entries = vec![None; due.len()];
        self.schedule.read(cx.state, &due, |index, bytes| {
            entries[index] = Some(entry_of(bytes)?);
            Ok(())
        })?;
        for (key, entry) in due.iter().zip(entries) {
            let Some((weight, rowtime)) = entry else {
                continue;
            };
            due_rows.push(row_of(key)?.to_vec());
            weights.push(weight);
            rowtimes.push(rowtime);
            self.schedule.write(key.clone(), None, cx.state_changes);
        }
        self.schedule.end_writes();
        self.emitted_through = Some(now);
        self.recent = written
            .into_iter()
            .filter(|key| key.as_slice() >= due_bound.as_slice())
            .collect();
        // The next due entry: the first one left in the store or written now. Entries due
        // now are deleted in the cache, so the store's next one is after them.
        let stored_next = self.schedule.first_committed_key(cx.state, &due_bound)?;
        let next = stored_next
            .into_iter()
            .chain(self.recent.iter().cloned())
            .min();
        self.next_due = next.map(|key| due_of(&key)).transpose()?;
        if !due_rows.is_empty() {
            let rows: RecordBatch = decode_rows(&self.schema, &due_rows)?;
            output.push(Changes::new(
                ChangeBatch::try_new(rows, Some(Int64Array::from(weights)))?,
                Int64Array::from(rowtimes),
                None,
            )?);
        }
        Ok(())
    }

    fn has_state(&self) -> bool {
        true
    }

    fn next_due_ms(&mut self, state: &dyn StateStore) -> EngineResult<Option<i64>> {
        self.load(state)?;
        Ok(self.next_due)
    }
}

/// A schedule entry's stored value: its weight and the row's rowtime.
fn entry_bytes(weight: i64, rowtime: i64) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(16);
    bytes.extend_from_slice(&weight.to_le_bytes());
    bytes.extend_from_slice(&rowtime.to_le_bytes());
    bytes
}

fn entry_of(bytes: &[u8]) -> EngineResult<(i64, i64)> {
    let (weight, rest) = bytes
        .split_first_chunk::<8>()
        .ok_or_else(|| EngineError::Internal("a temporal filter's entry is corrupt".into()))?;
    let rowtime: [u8; 8] = rest
        .try_into()
        .map_err(|_| EngineError::Internal("a temporal filter's entry is corrupt".into()))?;
    Ok((i64::from_le_bytes(*weight), i64::from_le_bytes(rowtime)))
}

/// The due time a schedule key starts with.
fn due_of(key: &[u8]) -> EngineResult<i64> {
    let due = key.get(..due_key_bytes()?).ok_or_else(corrupt_key)?;
    let decoded = crate::row_codec::decode_keys(&[DataType::Int64], &[due])?;
    Ok(decoded[0].as_primitive::<Int64Type>().value(0))
}

/// The encoded row after a schedule key's due time.
fn row_of(key: &[u8]) -> EngineResult<&[u8]> {
    key.get(due_key_bytes()?..).ok_or_else(corrupt_key)
}

/// How many bytes a due time takes at the start of a schedule key (every BIGINT key cell
/// takes as many).
fn due_key_bytes() -> EngineResult<usize> {
    Ok(start_key(0)?.len())
}

fn corrupt_key() -> EngineError {
    EngineError::Internal("a temporal filter's schedule key is corrupt".into())
}
