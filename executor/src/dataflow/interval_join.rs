//! Joins of two streams within a time window (ksqlDB's stream-stream joins, `WITHIN`): a left
//! row at time t joins each right row of its key whose time is in [t − before, t + after].
//! Both sides only insert, and so does the join: output is never retracted. Event time is
//! the later of the two rows'.
//!
//! An epoch's rows are joined when it ends, all at once: the epoch's left rows with the
//! right rows kept and the epoch's, and the kept left rows with the epoch's right rows (the
//! Z-set rule ΔL⋈R + L⋈ΔR + ΔL⋈ΔR), whatever order the rows came in, so the output does not
//! depend on how inputs interleave within an epoch.
//!
//! Stream time is the largest row time the join has taken, per input partition of either
//! side (`stream_time.rs`: as an epoch ends it waits for the partitions the epoch did not read
//! to their end), committed with its state. A row
//! whose window has passed (its time plus its side's extent plus the grace period is below
//! stream time as the epoch starts) is late: set aside to the processing log. Kept rows are
//! dropped once no row that is not late could join them (time + before + after + grace below
//! stream time), found through the join's schedule of keys by when they next need attention
//! (`schedule.rs`).
//!
//! Outer joins (ksqlDB's two modes): without GRACE PERIOD a row that finds no match in its
//! epoch is emitted NULL-padded at once, and a later match is emitted too; with GRACE PERIOD
//! a row still without a match when its window closes (time + its side's extent + grace
//! below stream time) is emitted NULL-padded then, with its own time.
//!
//! State: per side and join key, its rows and the earliest registration the schedule holds
//! for them (`encode_scheduled_entry`); the schedule's lists; the stream time. Bounded by the
//! rows of before + after + grace of stream time.
//!
//! Never: emit a row twice, join a row with a NULL key, or emit a NULL-padded row for a row
//! that found a match before its window closed (with GRACE PERIOD).

use std::collections::BTreeSet;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, Int64Array, RecordBatch, UInt32Array, UInt32Builder, new_null_array,
};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::SchemaRef;
use datafusion::common::HashMap;
use datafusion::physical_expr::PhysicalExpr;
use eddy_planner::{JoinPlan, JoinTimeWindow};
use eddy_storage::ChangeBatch;

use crate::batches::evaluate_column;
use crate::changes::Changes;
use crate::dataflow::schedule::{Schedule, time_of_due_bytes};
use crate::dataflow::stream_time::PartitionTimes;
use crate::dataflow::window::late_error;
use crate::dataflow::{EpochContext, Operator, pairs_matching};
use crate::error::{EngineError, EngineResult};
use crate::row_codec::{decode_rows, encode_keys, encode_rows};
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::{CacheBudget, OperatorCache};

/// Version byte of a stored entry of a side's rows of one key (`encode_entry`).
const ENTRY_FORMAT_V1: u8 = 1;
/// Version byte of an entry that also holds the key's earliest registration in the
/// schedule (`encode_scheduled_entry`).
const ENTRY_FORMAT_V2: u8 = 2;
/// Flags of a kept row.
const MATCHED: u8 = 1;
const PADDED: u8 = 2;
/// The key of the stream time among the join's own values.
pub(crate) const STREAM_TIME_KEY: &[u8] = b"stream_time";
/// The key of each input partition's stream time (`PartitionTimes`) among them.
const PARTITION_TIMES_KEY: &[u8] = b"stream_time_partitions";

/// Two streams joined within a time window.
pub(crate) struct IntervalJoin {
    plan: Arc<JoinPlan>,
    window: JoinTimeWindow,
    /// The left side (input 0) and the right side (input 1).
    sides: [Side; 2],
    /// Keys with rows, by when they next need attention.
    schedule: Schedule,
    /// The index a join stored before it had a schedule (an entry per key, `due_key`),
    /// until its first epoch moves it into the schedule.
    legacy_due: Option<OperatorCache>,
    /// The stream time, under `STREAM_TIME_KEY`.
    clock: OperatorCache,
    /// The stream time, once read from the state.
    stream_time: Option<Option<i64>>,
    /// Each input partition's stream time, read from the state with `stream_time`.
    partition_times: PartitionTimes,
}

/// One input of the join.
struct Side {
    schema: SchemaRef,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    keeps_unmatched: bool,
    /// How far after a row's time a row of the other side may join it.
    extent_ms: i64,
    states: OperatorCache,
    /// The epoch's rows, with each one's encoded join key (None: NULL) and where they were
    /// read (`EpochContext::read_from`).
    pending: Vec<(Changes, EncodedJoinKeys, Option<usize>)>,
}

/// A kept row of one side (also an ASOF join's, `asof_join.rs`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct KeptRow {
    pub rowtime: i64,
    pub flags: u8,
    /// Its columns, encoded by the row codec.
    pub row: Vec<u8>,
}

/// A side's rows of one key during an epoch's end, each with where its columns are among
/// the side's rows of the epoch (`at`, in `SideRows`).
struct KeyRows {
    /// The earliest registration of the key's rows in the schedule.
    registered: Option<i64>,
    rows: Vec<(KeptRow, u32)>,
    /// Whether the rows differ from the stored entry: a row came, left or changed flags.
    changed: bool,
}

/// One side's rows as pairs and output rows name them (`at`): the epoch's rows, then the
/// kept rows read from the store, numbered after them. A kept row's columns are decoded
/// only when a pair or an output row names it: most kept rows of a key the epoch touches
/// join nothing new.
struct SideRows {
    schema: SchemaRef,
    epoch: RecordBatch,
    /// The kept rows' encoded columns, by `at` less the epoch's row count.
    stored: Vec<Vec<u8>>,
}

impl SideRows {
    /// The rows `ats` name (None: none), as a batch of the epoch's rows and the named kept
    /// rows decoded after them, and `ats` as indexes into it.
    fn named(
        &self,
        ats: impl Iterator<Item = Option<u32>>,
    ) -> EngineResult<(RecordBatch, UInt32Array)> {
        let first_stored = self.epoch.num_rows() as u32;
        let mut decoded_at: HashMap<u32, u32> = HashMap::new();
        let mut to_decode: Vec<&[u8]> = Vec::new();
        let mut indexes = UInt32Builder::new();
        for at in ats {
            let index = match at {
                Some(at) if at >= first_stored => {
                    let next = first_stored + to_decode.len() as u32;
                    let index = *decoded_at.entry(at).or_insert(next);
                    if index == next {
                        let stored =
                            self.stored
                                .get((at - first_stored) as usize)
                                .ok_or_else(|| {
                                    EngineError::Internal(format!(
                                        "a join names kept row {at}, which it did not read"
                                    ))
                                })?;
                        to_decode.push(stored);
                    }
                    Some(index)
                }
                at => at,
            };
            indexes.append_option(index);
        }
        let indexes = indexes.finish();
        let rows = match to_decode.is_empty() {
            true => self.epoch.clone(),
            false => concat_batches(
                &self.schema,
                [&self.epoch, &decode_rows(&self.schema, &to_decode)?],
            )?,
        };
        Ok((rows, indexes))
    }
}

/// Each row's encoded join key (None: NULL), in a batch's order.
pub(crate) type EncodedJoinKeys = Vec<Option<Vec<u8>>>;

/// One row of the join's output: where its left and right halves are (None: NULL-padded).
struct OutputRow {
    left: Option<u32>,
    right: Option<u32>,
    rowtime: i64,
}

impl IntervalJoin {
    /// The join numbered `number` among its query's joins (it names the join's state).
    pub fn new(
        plan: Arc<JoinPlan>,
        window: JoinTimeWindow,
        query_id: &str,
        number: usize,
        budget: Arc<CacheBudget>,
    ) -> Self {
        let keys = OperatorStateKeys::of(query_id);
        let cache = |letter: char| {
            OperatorCache::new(
                OperatorStateKeys::KEYSPACE,
                keys.join_prefix(number, letter),
                budget.clone(),
            )
        };
        let side =
            |letter, schema: &SchemaRef, exprs: &[Arc<dyn PhysicalExpr>], keeps, extent_ms| Side {
                schema: schema.clone(),
                keys: exprs.to_vec(),
                keeps_unmatched: keeps,
                extent_ms,
                states: cache(letter),
                pending: Vec::new(),
            };
        let sides = [
            side(
                'l',
                &plan.left_schema,
                &plan.left_keys,
                plan.kind.keeps_unmatched_left(),
                window.after_ms,
            ),
            side(
                'r',
                &plan.right_schema,
                &plan.right_keys,
                plan.kind.keeps_unmatched_right(),
                window.before_ms,
            ),
        ];
        IntervalJoin {
            window,
            sides,
            schedule: Schedule::new(cache('s')),
            legacy_due: Some(cache('d')),
            clock: cache('t'),
            stream_time: None,
            partition_times: PartitionTimes::default(),
            plan,
        }
    }

    /// The stream time before this epoch, read once.
    fn stream_time(&mut self, cx: &EpochContext<'_>) -> EngineResult<Option<i64>> {
        if let Some(stream_time) = self.stream_time {
            return Ok(stream_time);
        }
        let stream_time = read_stream_time(&mut self.clock, STREAM_TIME_KEY, cx)?;
        self.partition_times = read_partition_times(&mut self.clock, PARTITION_TIMES_KEY, cx)?;
        self.stream_time = Some(stream_time);
        Ok(stream_time)
    }

    /// When a row of side `side` next needs attention: its window's close, for a row an
    /// outer join may still emit NULL-padded, else when it can no longer join.
    fn row_due(&self, side: usize, row: &KeptRow) -> i64 {
        let grace = self.window.grace_ms;
        let waits_for_close = self.window.grace_given
            && self.sides[side].keeps_unmatched
            && row.flags & (MATCHED | PADDED) == 0;
        match waits_for_close {
            true => row
                .rowtime
                .saturating_add(self.sides[side].extent_ms)
                .saturating_add(grace),
            false => row
                .rowtime
                .saturating_add(self.window.before_ms)
                .saturating_add(self.window.after_ms)
                .saturating_add(grace),
        }
    }

    /// Moves the index of keys by due time that a join stored before it had a schedule
    /// into the schedule, once: its keys are registered at their due times, and its
    /// entries deleted with the epoch's state.
    fn move_legacy_index(&mut self, cx: &mut EpochContext<'_>) -> EngineResult<()> {
        let Some(mut legacy) = self.legacy_due.take() else {
            return Ok(());
        };
        let keys = legacy.committed_keys_between(cx.state, &[], &[u8::MAX; 9])?;
        if keys.is_empty() {
            return Ok(());
        }
        legacy.begin_writes();
        for index_key in keys {
            // The index key: the due time, the side, the join key.
            let (Some(due), Some(key)) = (index_key.first_chunk::<8>(), index_key.get(9..)) else {
                return Err(corrupt("a due key is short"));
            };
            self.schedule
                .register(time_of_due_bytes(*due), key.to_vec());
            legacy.write(index_key, None, cx.state_changes);
        }
        legacy.end_writes();
        Ok(())
    }

    fn key_due(&self, side: usize, rows: &[(KeptRow, u32)]) -> Option<i64> {
        rows.iter().map(|(row, _)| self.row_due(side, row)).min()
    }
}

/// Each row's join key (`keys` over `rows`), encoded; None where a part of it is NULL.
pub(crate) fn encoded_join_keys(
    keys: &[Arc<dyn PhysicalExpr>],
    rows: &RecordBatch,
) -> EngineResult<EncodedJoinKeys> {
    let key_columns = keys
        .iter()
        .map(|expr| evaluate_column(expr.as_ref(), rows))
        .collect::<EngineResult<Vec<_>>>()?;
    let encoded = encode_keys(&key_columns, rows.num_rows())?;
    Ok(encoded
        .iter()
        .enumerate()
        .map(|(row, key)| {
            key_columns
                .iter()
                .all(|column| column.is_valid(row))
                .then(|| key.to_vec())
        })
        .collect())
}

/// The stream time stored in `clock` under `key` (None before the first row).
pub(crate) fn read_stream_time(
    clock: &mut OperatorCache,
    key: &[u8],
    cx: &EpochContext<'_>,
) -> EngineResult<Option<i64>> {
    let mut stream_time = None;
    clock.read(cx.state, &[key.to_vec()], |_, bytes| {
        let bytes: [u8; 8] = bytes
            .try_into()
            .map_err(|_| corrupt("a stream time is not 8 bytes"))?;
        stream_time = Some(i64::from_be_bytes(bytes));
        Ok(())
    })?;
    Ok(stream_time)
}

/// Each input partition's stream time stored in `clock` under `key`: none before the first
/// row, or for a join stored before partitions had their own.
pub(crate) fn read_partition_times(
    clock: &mut OperatorCache,
    key: &[u8],
    cx: &EpochContext<'_>,
) -> EngineResult<PartitionTimes> {
    let mut stored = None;
    clock.read(cx.state, &[key.to_vec()], |_, bytes| {
        stored = Some(PartitionTimes::decode(bytes)?);
        Ok(())
    })?;
    Ok(stored.unwrap_or_default())
}

/// Stores `stream_time` in `clock` under `key`, with the epoch's state changes (between the
/// epoch's `begin_writes` and `end_writes` of `clock`).
pub(crate) fn write_stream_time(
    clock: &mut OperatorCache,
    key: &[u8],
    stream_time: i64,
    cx: &mut EpochContext<'_>,
) {
    clock.write(
        key.to_vec(),
        Some(stream_time.to_be_bytes().to_vec()),
        cx.state_changes,
    );
}

impl Operator for IntervalJoin {
    fn apply(
        &mut self,
        input: usize,
        changes: Changes,
        _output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        let side = &mut self.sides[input.min(1)];
        let keys = encoded_join_keys(&side.keys, changes.rows())?;
        side.pending.push((changes, keys, cx.read_from));
        Ok(())
    }

    fn end_epoch(
        &mut self,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        let stream_time_before = self.stream_time(cx)?;
        // The epoch's rows of each side that join: a key, and not late.
        let mut epoch_rows: Vec<RecordBatch> = Vec::with_capacity(2);
        let mut epoch_times: Vec<Vec<i64>> = Vec::with_capacity(2);
        let mut epoch_keys: Vec<EncodedJoinKeys> = Vec::with_capacity(2);
        for side in 0..2 {
            let pending = std::mem::take(&mut self.sides[side].pending);
            let schema = self.sides[side].schema.clone();
            // Where each row was read, for its partition's stream time.
            let read_from: Vec<Option<usize>> = pending
                .iter()
                .flat_map(|(changes, _, read_from)| {
                    std::iter::repeat_n(*read_from, changes.num_rows())
                })
                .collect();
            let (parts, keys): (Vec<Changes>, Vec<EncodedJoinKeys>) = pending
                .into_iter()
                .map(|(changes, keys, _)| (changes, keys))
                .unzip();
            let changes = Changes::concat(&schema, &parts)?;
            let mut keys: Vec<Option<Vec<u8>>> = keys.into_iter().flatten().collect();
            let times = changes.rowtimes().values().to_vec();
            for (row, key) in keys.iter_mut().enumerate() {
                if key.is_none() {
                    continue;
                }
                let closes = times[row]
                    .saturating_add(self.sides[side].extent_ms)
                    .saturating_add(self.window.grace_ms);
                if let Some(stream_time) = stream_time_before
                    && closes < stream_time
                {
                    let reason = format!(
                        "a row at {} is too late to join: the join's stream time is {stream_time}, past its window and grace period",
                        times[row]
                    );
                    cx.bad_rows
                        .push(&changes.rows().slice(row, 1), &late_error(reason));
                    *key = None;
                    continue;
                }
                self.partition_times.take(read_from[row], times[row]);
            }
            epoch_rows.push(changes.rows().clone());
            epoch_times.push(times);
            epoch_keys.push(keys);
        }
        // Stream time waits for the partitions the epoch did not read to their end.
        let settled = self.partition_times.settled(cx.behind);
        let Some(stream_time) = stream_time_before.max(settled) else {
            return Ok(());
        };

        // Every key the epoch touches or whose attention is due, with both sides' rows.
        self.move_legacy_index(cx)?;
        let mut distinct: Vec<Vec<u8>> = self.schedule.take_due(stream_time, cx)?;
        for keys in &epoch_keys {
            distinct.extend(keys.iter().flatten().cloned());
        }
        distinct.sort_unstable();
        distinct.dedup();
        let mut kept: [HashMap<Vec<u8>, KeyRows>; 2] = [HashMap::new(), HashMap::new()];
        let mut all_rows: Vec<SideRows> = Vec::with_capacity(2);
        for side in 0..2 {
            let mut found: Vec<(Option<i64>, Vec<KeptRow>)> =
                vec![(None, Vec::new()); distinct.len()];
            self.sides[side]
                .states
                .read(cx.state, &distinct, |index, bytes| {
                    found[index] = decode_entry(bytes)?;
                    Ok(())
                })?;
            let mut stored_bytes: Vec<Vec<u8>> = Vec::new();
            let first_stored = epoch_rows[side].num_rows();
            for (key, (registered, rows)) in distinct.iter().zip(found) {
                // A side without rows of the key has none to pair or keep: its entry comes
                // with the epoch's first row of the key, if any.
                if rows.is_empty() {
                    continue;
                }
                let rows: Vec<(KeptRow, u32)> = rows
                    .into_iter()
                    .map(|row| {
                        stored_bytes.push(row.row.clone());
                        let at = (first_stored + stored_bytes.len() - 1) as u32;
                        (row, at)
                    })
                    .collect();
                kept[side].insert(
                    key.clone(),
                    KeyRows {
                        registered,
                        rows,
                        changed: false,
                    },
                );
            }
            all_rows.push(SideRows {
                schema: self.sides[side].schema.clone(),
                epoch: epoch_rows[side].clone(),
                stored: stored_bytes,
            });
        }

        // The pairs that join: the epoch's left rows with every right row of their key, and
        // the kept left rows with the epoch's right rows.
        let mut epoch_of_key: [HashMap<&[u8], Vec<u32>>; 2] = [HashMap::new(), HashMap::new()];
        for (side, keys) in epoch_keys.iter().enumerate() {
            for (row, key) in keys.iter().enumerate() {
                if let Some(key) = key {
                    epoch_of_key[side]
                        .entry(key.as_slice())
                        .or_default()
                        .push(row as u32);
                }
            }
        }
        let time_of = |side: usize, at: u32| -> i64 {
            let at = at as usize;
            match epoch_times[side].get(at) {
                Some(time) => *time,
                None => 0,
            }
        };
        let mut pairs: Vec<(u32, u32, i64, i64)> = Vec::new();
        for key in &distinct {
            let epoch_left = epoch_of_key[0]
                .get(key.as_slice())
                .map_or(&[][..], Vec::as_slice);
            let epoch_right = epoch_of_key[1]
                .get(key.as_slice())
                .map_or(&[][..], Vec::as_slice);
            if epoch_left.is_empty() && epoch_right.is_empty() {
                continue;
            }
            let kept_of = |side: usize| kept[side].get(key).map_or(&[][..], |rows| &rows.rows[..]);
            let (kept_left, kept_right) = (kept_of(0), kept_of(1));
            let lefts = epoch_left
                .iter()
                .map(|&at| (at, time_of(0, at), true))
                .chain(kept_left.iter().map(|(row, at)| (*at, row.rowtime, false)));
            for (left_at, left_time, left_new) in lefts {
                let rights = epoch_right
                    .iter()
                    .map(|&at| (at, time_of(1, at), true))
                    .chain(kept_right.iter().map(|(row, at)| (*at, row.rowtime, false)));
                for (right_at, right_time, right_new) in rights {
                    if !left_new && !right_new {
                        continue;
                    }
                    let within = right_time >= left_time.saturating_sub(self.window.before_ms)
                        && right_time <= left_time.saturating_add(self.window.after_ms);
                    if within {
                        pairs.push((left_at, right_at, left_time, right_time));
                    }
                }
            }
        }
        let holds = match &self.plan.condition {
            None => vec![true; pairs.len()],
            Some(condition) if !pairs.is_empty() => {
                let left_at = pairs.iter().map(|pair| Some(pair.0));
                let right_at = pairs.iter().map(|pair| Some(pair.1));
                let joined = self.joined(&all_rows, left_at, right_at)?;
                // Every pair has a row of this epoch: each is evaluated once.
                pairs_matching(condition.as_ref(), &joined, |_| true, cx.bad_rows)?
            }
            Some(_) => Vec::new(),
        };
        let mut out: Vec<OutputRow> = Vec::new();
        let mut matched: [BTreeSet<u32>; 2] = [BTreeSet::new(), BTreeSet::new()];
        for (&(left_at, right_at, left_time, right_time), holds) in pairs.iter().zip(&holds) {
            if !holds {
                continue;
            }
            out.push(OutputRow {
                left: Some(left_at),
                right: Some(right_at),
                rowtime: left_time.max(right_time),
            });
            matched[0].insert(left_at);
            matched[1].insert(right_at);
        }

        // Kept rows that matched now are marked; the epoch's rows join the kept ones, and an
        // outer join without GRACE PERIOD emits the unmatched ones NULL-padded at once.
        for side in 0..2 {
            let eager = self.sides[side].keeps_unmatched && !self.window.grace_given;
            for rows in kept[side].values_mut() {
                for (row, at) in &mut rows.rows {
                    if matched[side].contains(at) && row.flags & MATCHED == 0 {
                        row.flags |= MATCHED;
                        rows.changed = true;
                    }
                }
            }
            let encoded = encode_rows(&epoch_rows[side])?;
            for ((row, key), bytes) in epoch_keys[side].iter().enumerate().zip(encoded.iter()) {
                let Some(key) = key else {
                    continue;
                };
                let at = row as u32;
                let mut flags = 0;
                if matched[side].contains(&at) {
                    flags |= MATCHED;
                } else if eager {
                    flags |= PADDED;
                    out.push(padded(side, at, epoch_times[side][row]));
                }
                let rows = kept[side].entry(key.clone()).or_insert_with(|| KeyRows {
                    registered: None,
                    rows: Vec::new(),
                    changed: false,
                });
                rows.changed = true;
                rows.rows.push((
                    KeptRow {
                        rowtime: epoch_times[side][row],
                        flags,
                        row: bytes.to_vec(),
                    },
                    at,
                ));
            }
        }

        // Stream time moves on: windows that closed emit their unmatched rows (with GRACE
        // PERIOD), and rows no row could join any more leave.
        for (side, kept_of_side) in kept.iter_mut().enumerate() {
            let deferred = self.sides[side].keeps_unmatched && self.window.grace_given;
            let extent = self.sides[side].extent_ms;
            let expiry_span = self.window.before_ms + self.window.after_ms;
            let grace = self.window.grace_ms;
            let mut emitted = Vec::new();
            for rows in kept_of_side.values_mut() {
                let mut changed = false;
                rows.rows.retain_mut(|(row, at)| {
                    let closes = row.rowtime.saturating_add(extent).saturating_add(grace);
                    if deferred && row.flags & (MATCHED | PADDED) == 0 && closes < stream_time {
                        row.flags |= PADDED;
                        emitted.push(padded(side, *at, row.rowtime));
                        changed = true;
                    }
                    let keeps = row
                        .rowtime
                        .saturating_add(expiry_span)
                        .saturating_add(grace)
                        >= stream_time;
                    changed |= !keeps;
                    keeps
                });
                rows.changed |= changed;
            }
            out.extend(emitted);
        }

        // The state: each touched key's rows, registered again in the schedule when the
        // registration it had fired this epoch or comes too late for its rows, and the
        // stream time.
        for (side, kept_of_side) in kept.iter_mut().enumerate() {
            self.sides[side].states.begin_writes();
            let entries: Vec<(Vec<u8>, KeyRows)> = kept_of_side.drain().collect();
            for (key, mut rows) in entries {
                if let Some(due) = self.key_due(side, &rows.rows) {
                    let pending = rows.registered.filter(|&time| time >= stream_time);
                    if pending.is_none_or(|time| due < time) {
                        self.schedule.register(due, key.clone());
                        rows.registered = Some(due);
                        rows.changed = true;
                    }
                }
                // A key whose rows are as they were read keeps its entry.
                if !rows.changed {
                    continue;
                }
                let kept_rows: Vec<KeptRow> = rows.rows.into_iter().map(|(row, _)| row).collect();
                let state = (!kept_rows.is_empty())
                    .then(|| encode_scheduled_entry(rows.registered, &kept_rows));
                self.sides[side].states.write(key, state, cx.state_changes);
            }
            self.sides[side].states.end_writes();
        }
        let moved = stream_time.saturating_sub(stream_time_before.unwrap_or(stream_time));
        self.schedule.end_epoch(moved, cx)?;
        let partition_times = self.partition_times.encode_if_changed();
        if Some(stream_time) != stream_time_before || partition_times.is_some() {
            self.clock.begin_writes();
            write_stream_time(&mut self.clock, STREAM_TIME_KEY, stream_time, cx);
            if let Some(bytes) = partition_times {
                self.clock
                    .write(PARTITION_TIMES_KEY.to_vec(), Some(bytes), cx.state_changes);
            }
            self.clock.end_writes();
            self.stream_time = Some(Some(stream_time));
        }
        if !out.is_empty() {
            output.push(self.output(&all_rows, &out)?);
        }
        Ok(())
    }

    fn has_state(&self) -> bool {
        true
    }

    /// A row the join takes is kept as an entry of its key until no row can join it, so an
    /// epoch holds, per row, its encoded columns, its key and its entry, and writes the entry
    /// to the store: several times what a row costs a GROUP BY. Epochs of an eighth of the
    /// rows halve the server's peak memory in Nexmark q4 and q7 (1.28 GiB to 0.64 and 0.79)
    /// at the same speed.
    fn rows_per_input_row(&self) -> usize {
        8
    }
}

impl IntervalJoin {
    /// The joined rows of pairs of rows (left at `left_at`, right at `right_at`; NULL for a
    /// NULL index) of each side's rows.
    fn joined(
        &self,
        rows: &[SideRows],
        left_at: impl Iterator<Item = Option<u32>>,
        right_at: impl Iterator<Item = Option<u32>>,
    ) -> EngineResult<RecordBatch> {
        let (left_rows, left_at) = rows[0].named(left_at)?;
        let (right_rows, right_at) = rows[1].named(right_at)?;
        joined_rows(
            &self.plan.schema,
            &[left_rows, right_rows],
            &left_at,
            &right_at,
        )
    }

    fn output(&self, rows: &[SideRows], out: &[OutputRow]) -> EngineResult<Changes> {
        let left_at = out.iter().map(|row| row.left);
        let right_at = out.iter().map(|row| row.right);
        let joined = self.joined(rows, left_at, right_at)?;
        let rowtimes = Int64Array::from_iter_values(out.iter().map(|row| row.rowtime));
        Changes::new(ChangeBatch::try_new(joined, None)?, rowtimes, None)
    }
}

/// The joined rows (`schema`) of pairs of rows of each side's `rows`: left at `left_at`,
/// right at `right_at` (NULL for a NULL index).
pub(crate) fn joined_rows(
    schema: &SchemaRef,
    rows: &[RecordBatch],
    left_at: &UInt32Array,
    right_at: &UInt32Array,
) -> EngineResult<RecordBatch> {
    let mut columns: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (side_rows, at) in rows.iter().zip([left_at, right_at]) {
        for (position, column) in side_rows.columns().iter().enumerate() {
            match at.null_count() == at.len() {
                true => columns.push(new_null_array(
                    side_rows.schema().field(position).data_type(),
                    at.len(),
                )),
                false => columns.push(take(column, at, None)?),
            }
        }
    }
    Ok(RecordBatch::try_new(schema.clone(), columns)?)
}

/// The NULL-padded output row of row `at` of side `side`, at its own time.
fn padded(side: usize, at: u32, rowtime: i64) -> OutputRow {
    match side {
        0 => OutputRow {
            left: Some(at),
            right: None,
            rowtime,
        },
        _ => OutputRow {
            left: None,
            right: Some(at),
            rowtime,
        },
    }
}

/// A key's rows of one side, as stored: a version byte, then per row its time, its flags,
/// and its encoded columns' length and bytes.
pub(crate) fn encode_entry(rows: &[KeptRow]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(1 + rows_size(rows));
    bytes.push(ENTRY_FORMAT_V1);
    encode_rows_of_entry(rows, &mut bytes);
    bytes
}

/// A key's rows of one side, as an interval join stores them: as `encode_entry`, after the
/// time of the key's earliest registration in the schedule (a marker byte, 0 for none, and
/// the time).
fn encode_scheduled_entry(registered: Option<i64>, rows: &[KeptRow]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(10 + rows_size(rows));
    bytes.push(ENTRY_FORMAT_V2);
    bytes.push(u8::from(registered.is_some()));
    bytes.extend_from_slice(&registered.unwrap_or(0).to_be_bytes());
    encode_rows_of_entry(rows, &mut bytes);
    bytes
}

fn rows_size(rows: &[KeptRow]) -> usize {
    rows.iter().map(|row| 13 + row.row.len()).sum()
}

fn encode_rows_of_entry(rows: &[KeptRow], bytes: &mut Vec<u8>) {
    for row in rows {
        bytes.extend_from_slice(&row.rowtime.to_be_bytes());
        bytes.push(row.flags);
        bytes.extend_from_slice(&(row.row.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&row.row);
    }
}

/// The earliest registration and the rows of a stored entry (`encode_entry`, with no
/// registration, or `encode_scheduled_entry`); corrupt bytes are an error, never a panic.
pub(crate) fn decode_entry(bytes: &[u8]) -> EngineResult<(Option<i64>, Vec<KeptRow>)> {
    let (&version, rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    let (registered, mut rest) = match version {
        ENTRY_FORMAT_V1 => (None, rest),
        ENTRY_FORMAT_V2 => {
            let (head, rest) = rest
                .split_first_chunk::<9>()
                .ok_or_else(|| corrupt("a registration is cut short"))?;
            let time = i64::from_be_bytes(head[1..].try_into().map_err(|_| corrupt("time"))?);
            ((head[0] != 0).then_some(time), rest)
        }
        version => return Err(corrupt(&format!("unknown version {version}"))),
    };
    let mut rows = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 13 {
            return Err(corrupt("a row is cut short"));
        }
        let (head, after) = rest.split_at(13);
        let rowtime = i64::from_be_bytes(head[..8].try_into().map_err(|_| corrupt("time"))?);
        let flags = head[8];
        let length =
            u32::from_be_bytes(head[9..13].try_into().map_err(|_| corrupt("length"))?) as usize;
        if after.len() < length {
            return Err(corrupt("a row's columns are cut short"));
        }
        let (row, after) = after.split_at(length);
        rows.push(KeptRow {
            rowtime,
            flags,
            row: row.to_vec(),
        });
        rest = after;
    }
    Ok((registered, rows))
}

fn corrupt(what: &str) -> EngineError {
    EngineError::Internal(format!("a stored stream join state is corrupt: {what}"))
}
