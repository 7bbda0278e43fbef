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
//! stream time), a chunk of rows at a time.
//!
//! Outer joins (ksqlDB's two modes): without GRACE PERIOD a row that finds no match in its
//! epoch is emitted NULL-padded at once, and a later match is emitted too; with GRACE PERIOD
//! a row still without a match when its window closes (time + its side's extent + grace
//! below stream time) is emitted NULL-padded then, with its own time.
//!
//! State: each side's rows as runs of an epoch's rows sorted by join key, in chunks read
//! only by the probes they may answer and deleted whole once no row can join theirs
//! (`join_runs.rs`); the stream time. Bounded by the rows of before + after + grace of
//! stream time.
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
use crate::dataflow::join_runs::{Chunk, MATCHED, NewRow, PADDED, SideRuns};
use crate::dataflow::stream_time::PartitionTimes;
use crate::dataflow::window::late_error;
use crate::dataflow::{EpochContext, Operator, pairs_matching};
use crate::error::{EngineError, EngineResult};
use crate::row_codec::{decode_rows, encode_keys, encode_rows};
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::{CacheBudget, OperatorCache};

/// Version byte of a stored entry of a side's rows of one key (`encode_entry`).
const ENTRY_FORMAT_V1: u8 = 1;
/// Version byte of an entry a join stored with the time its key was due, before it kept
/// runs (`move_keyed_entries`).
const ENTRY_FORMAT_V2: u8 = 2;
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
    /// Where a join stored its rows before it kept runs (an entry per side and key, and
    /// the index of keys by when they were due), until its first epoch moves them.
    keyed_entries: Option<KeyedEntries>,
    /// The stream time, under `STREAM_TIME_KEY`.
    clock: OperatorCache,
    /// The stream time, once read from the state.
    stream_time: Option<Option<i64>>,
    /// Each input partition's stream time, read from the state with `stream_time`.
    partition_times: PartitionTimes,
}

/// The prefixes of a join's state as stored before it kept runs.
struct KeyedEntries {
    /// Each side's rows by join key.
    sides: [Vec<u8>; 2],
    /// The keys by when they were due: a list per epoch, or an entry per key.
    schedules: [Vec<u8>; 2],
}

/// One input of the join.
struct Side {
    schema: SchemaRef,
    keys: Vec<Arc<dyn PhysicalExpr>>,
    keeps_unmatched: bool,
    /// How far after a row's time a row of the other side may join it.
    extent_ms: i64,
    runs: SideRuns,
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

/// A stored row of one side that an epoch's row of the other may join, or that owes its
/// NULL-padded row: where it is among the side's rows (`at`, in `SideRows`) and in the
/// chunks the epoch read.
struct ReadRow {
    at: u32,
    rowtime: i64,
    chunk: usize,
    row: usize,
}

/// One side's rows as pairs and output rows name them (`at`): the epoch's rows, then the
/// stored rows read, numbered after them. A stored row's columns are decoded only when a
/// pair or an output row names it: most rows of a chunk a probe reads join nothing.
struct SideRows<'a> {
    schema: SchemaRef,
    epoch: RecordBatch,
    /// The stored rows' encoded columns, by `at` less the epoch's row count.
    stored: Vec<&'a [u8]>,
}

impl SideRows<'_> {
    /// The rows `ats` name (None: none), as a batch of the epoch's rows and the named
    /// stored rows decoded after them, and `ats` as indexes into it.
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
            |letter, schema: &SchemaRef, exprs: &[Arc<dyn PhysicalExpr>], keeps, extent_ms| {
                // Only a side whose unmatched rows wait for their window to close needs to know,
                // then, whether they matched.
                let tracks_flags = keeps && window.grace_given;
                let close_after_ms = i64::saturating_add(extent_ms, window.grace_ms);
                Side {
                    schema: schema.clone(),
                    keys: exprs.to_vec(),
                    keeps_unmatched: keeps,
                    extent_ms,
                    runs: SideRuns::new(cache(letter), tracks_flags, close_after_ms),
                    pending: Vec::new(),
                }
            };
        let sides = [
            side(
                'L',
                &plan.left_schema,
                &plan.left_keys,
                plan.kind.keeps_unmatched_left(),
                window.after_ms,
            ),
            side(
                'R',
                &plan.right_schema,
                &plan.right_keys,
                plan.kind.keeps_unmatched_right(),
                window.before_ms,
            ),
        ];
        IntervalJoin {
            window,
            sides,
            keyed_entries: Some(KeyedEntries {
                sides: [keys.join_prefix(number, 'l'), keys.join_prefix(number, 'r')],
                schedules: [keys.join_prefix(number, 's'), keys.join_prefix(number, 'd')],
            }),
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

    /// Moves the rows a join stored before it kept runs (an entry per side and key) into a
    /// run of each side, once, and deletes those entries and the index of when keys were
    /// due: a join stored by an older server goes on joining, expiring and padding its rows.
    fn move_keyed_entries(&mut self, cx: &mut EpochContext<'_>) -> EngineResult<()> {
        let Some(stored) = self.keyed_entries.take() else {
            return Ok(());
        };
        for (side, prefix) in stored.sides.iter().enumerate() {
            let mut entries: Vec<(Vec<u8>, Vec<KeptRow>)> = Vec::new();
            for pair in cx.state.iter_prefix(OperatorStateKeys::KEYSPACE, prefix) {
                let (key, bytes) = pair?;
                entries.push((key[prefix.len()..].to_vec(), decode_entry(&bytes)?.1));
                cx.state_changes.delete(OperatorStateKeys::KEYSPACE, key);
            }
            let tracks_flags = self.sides[side].runs.tracks_flags();
            // Stored in key order, a key's rows in the order they came: a run's order.
            let rows: Vec<NewRow<'_>> = entries
                .iter()
                .flat_map(|(key, rows)| {
                    rows.iter().map(move |row| NewRow {
                        key,
                        rowtime: row.rowtime,
                        flags: match tracks_flags {
                            true => row.flags & (MATCHED | PADDED),
                            false => 0,
                        },
                        row: &row.row,
                    })
                })
                .collect();
            self.sides[side].runs.write_run(&rows, cx);
        }
        for prefix in &stored.schedules {
            for pair in cx.state.iter_prefix(OperatorStateKeys::KEYSPACE, prefix) {
                let (key, _) = pair?;
                cx.state_changes.delete(OperatorStateKeys::KEYSPACE, key);
            }
        }
        Ok(())
    }

    /// The times of the rows of side `side` that a row of the other side at a time in
    /// `from..=to` may join.
    fn joinable_times(&self, side: usize, from: i64, to: i64) -> (i64, i64) {
        let (before, after) = (self.window.before_ms, self.window.after_ms);
        match side {
            // A left row at l joins right rows in [l − before, l + after].
            0 => (from.saturating_sub(after), to.saturating_add(before)),
            _ => (from.saturating_sub(before), to.saturating_add(after)),
        }
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

        for side in &mut self.sides {
            side.runs.begin_epoch(cx)?;
        }
        self.move_keyed_entries(cx)?;

        // Each side's epoch rows by key, its keys in order, and the span of their times.
        let mut epoch_of_key: [HashMap<&[u8], Vec<u32>>; 2] = [HashMap::new(), HashMap::new()];
        let mut spans: [Option<(i64, i64)>; 2] = [None, None];
        for (side, keys) in epoch_keys.iter().enumerate() {
            for (row, key) in keys.iter().enumerate() {
                if let Some(key) = key {
                    epoch_of_key[side]
                        .entry(key.as_slice())
                        .or_default()
                        .push(row as u32);
                    let time = epoch_times[side][row];
                    spans[side] = Some(
                        spans[side]
                            .map_or((time, time), |(from, to)| (from.min(time), to.max(time))),
                    );
                }
            }
        }
        let sorted_keys = |side: usize| -> Vec<&[u8]> {
            let mut keys: Vec<&[u8]> = epoch_of_key[side].keys().copied().collect();
            keys.sort_unstable();
            keys
        };
        let epoch_keys_sorted = [sorted_keys(0), sorted_keys(1)];

        // The stored rows of each side that the other side's epoch rows may join (chunks
        // that may hold their keys in their time span), and those owing NULL-padded rows.
        let mut chunks: [Vec<Chunk>; 2] = [Vec::new(), Vec::new()];
        let mut positions: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut probed: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        let mut owing: [Vec<usize>; 2] = [Vec::new(), Vec::new()];
        for side in 0..2 {
            let other = 1 - side;
            if let Some((from, to)) = spans[other] {
                let (from, to) = self.joinable_times(side, from, to);
                probed[side] =
                    self.sides[side]
                        .runs
                        .candidates(&epoch_keys_sorted[other], from, to);
            }
            owing[side] = self.sides[side].runs.owing_padding(stream_time);
            let mut wanted: Vec<usize> = probed[side].iter().chain(&owing[side]).copied().collect();
            wanted.sort_unstable();
            wanted.dedup();
            chunks[side] = self.sides[side].runs.read(&wanted, cx)?;
            positions[side] = wanted;
        }
        let chunk_of = |side: usize, position: usize| -> usize {
            // `positions` is sorted and holds every position probed or owing.
            positions[side].partition_point(|&at| at < position)
        };
        let mut kept: [HashMap<&[u8], Vec<ReadRow>>; 2] = [HashMap::new(), HashMap::new()];
        let mut stored: [Vec<&[u8]>; 2] = [Vec::new(), Vec::new()];
        for side in 0..2 {
            let first_stored = epoch_rows[side].num_rows();
            // Chunks in the order their rows came, so a key's rows stay in that order.
            for &position in &probed[side] {
                let chunk_index = chunk_of(side, position);
                let chunk = &chunks[side][chunk_index];
                for &key in chunk.keys_within(&epoch_keys_sorted[1 - side]) {
                    let rows = chunk.rows_of(key);
                    if rows.is_empty() {
                        continue;
                    }
                    let kept_of_key = kept[side].entry(key).or_default();
                    for row in rows {
                        kept_of_key.push(ReadRow {
                            at: (first_stored + stored[side].len()) as u32,
                            rowtime: chunk.rowtime(row),
                            chunk: chunk_index,
                            row,
                        });
                        stored[side].push(chunk.row(row));
                    }
                }
            }
        }

        // The pairs that join: the epoch's left rows with every right row of their key, and
        // the kept left rows with the epoch's right rows, key by key.
        let mut distinct: Vec<&[u8]> = epoch_keys_sorted.concat();
        distinct.sort_unstable();
        distinct.dedup();
        let time_of = |side: usize, at: u32| -> i64 {
            let at = at as usize;
            match epoch_times[side].get(at) {
                Some(time) => *time,
                None => 0,
            }
        };
        let mut pairs: Vec<(u32, u32, i64, i64)> = Vec::new();
        for key in &distinct {
            let epoch_left = epoch_of_key[0].get(key).map_or(&[][..], Vec::as_slice);
            let epoch_right = epoch_of_key[1].get(key).map_or(&[][..], Vec::as_slice);
            let kept_of = |side: usize| kept[side].get(key).map_or(&[][..], Vec::as_slice);
            let (kept_left, kept_right) = (kept_of(0), kept_of(1));
            let lefts = epoch_left
                .iter()
                .map(|&at| (at, time_of(0, at), true))
                .chain(kept_left.iter().map(|row| (row.at, row.rowtime, false)));
            for (left_at, left_time, left_new) in lefts {
                let rights = epoch_right
                    .iter()
                    .map(|&at| (at, time_of(1, at), true))
                    .chain(kept_right.iter().map(|row| (row.at, row.rowtime, false)));
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
        let all_rows: Vec<SideRows<'_>> = (0..2)
            .map(|side| SideRows {
                schema: self.sides[side].schema.clone(),
                epoch: epoch_rows[side].clone(),
                stored: std::mem::take(&mut stored[side]),
            })
            .collect();
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

        // Stored rows that matched now are marked, where a side pads rows when windows
        // close; stored rows whose window closed without a match are emitted NULL-padded.
        let mut extra_stored: [Vec<&[u8]>; 2] = [Vec::new(), Vec::new()];
        for side in 0..2 {
            let runs = &mut self.sides[side].runs;
            if !runs.tracks_flags() {
                continue;
            }
            for rows in kept[side].values() {
                for row in rows.iter().filter(|row| matched[side].contains(&row.at)) {
                    let position = positions[side][row.chunk];
                    runs.add_flags(position, &chunks[side][row.chunk], row.row, MATCHED);
                }
            }
            let first_extra = epoch_rows[side].num_rows() + all_rows[side].stored.len();
            for &position in &owing[side] {
                let chunk_index = chunk_of(side, position);
                let chunk = &chunks[side][chunk_index];
                for row in 0..chunk.row_count() {
                    let rowtime = chunk.rowtime(row);
                    if runs.flags(position, row) == 0 && runs.has_closed(rowtime, stream_time) {
                        let at = (first_extra + extra_stored[side].len()) as u32;
                        extra_stored[side].push(chunk.row(row));
                        out.push(padded(side, at, rowtime));
                        runs.add_flags(position, chunk, row, PADDED);
                    }
                }
            }
        }
        let all_rows: Vec<SideRows<'_>> = all_rows
            .into_iter()
            .zip(extra_stored)
            .map(|(mut rows, extra)| {
                rows.stored.extend(extra);
                rows
            })
            .collect();

        // The epoch's rows are kept as a run of each side, but those no row can join any
        // more and that owe no NULL-padded row. An outer join without GRACE PERIOD emits
        // the unmatched ones NULL-padded at once; with it, those whose window closed in
        // this epoch.
        let span = self
            .window
            .before_ms
            .saturating_add(self.window.after_ms)
            .saturating_add(self.window.grace_ms);
        // The latest row time no row that is not late can join any more.
        let expires = stream_time.saturating_sub(span).saturating_sub(1);
        for side in 0..2 {
            let eager = self.sides[side].keeps_unmatched && !self.window.grace_given;
            let tracks_flags = self.sides[side].runs.tracks_flags();
            // A row stays while a row can still join it, or while it owes a NULL-padded row.
            let still_needed =
                |rowtime: i64, flags: u8| rowtime > expires || (tracks_flags && flags == 0);
            let encoded = encode_rows(&epoch_rows[side])?;
            let mut new_rows: Vec<NewRow<'_>> = Vec::with_capacity(epoch_rows[side].num_rows());
            for ((row, key), bytes) in epoch_keys[side].iter().enumerate().zip(encoded.iter()) {
                let Some(key) = key else {
                    continue;
                };
                let at = row as u32;
                let rowtime = epoch_times[side][row];
                let mut flags = 0;
                let closed = tracks_flags && self.sides[side].runs.has_closed(rowtime, stream_time);
                if matched[side].contains(&at) {
                    flags |= MATCHED;
                } else if eager || closed {
                    flags |= PADDED;
                    out.push(padded(side, at, rowtime));
                }
                if !still_needed(rowtime, flags) {
                    continue;
                }
                new_rows.push(NewRow {
                    key,
                    rowtime,
                    flags,
                    row: bytes,
                });
            }
            // The last chunk, if not full, joins the run: its rows came before the epoch's.
            let tail = match new_rows.is_empty() {
                true => None,
                false => self.sides[side].runs.take_partial_tail(cx)?,
            };
            if let Some((chunk, flags)) = &tail {
                let kept_rows = (0..chunk.row_count()).filter_map(|row| {
                    let flags = flags.get(row).copied().unwrap_or(0);
                    let rowtime = chunk.rowtime(row);
                    still_needed(rowtime, flags).then(|| NewRow {
                        key: chunk.key(row),
                        rowtime,
                        flags,
                        row: chunk.row(row),
                    })
                });
                new_rows.splice(0..0, kept_rows);
            }
            // Stable: a key's rows stay in the order they came.
            new_rows.sort_by(|left, right| left.key.cmp(right.key));
            let runs = &mut self.sides[side].runs;
            runs.write_run(&new_rows, cx);
            runs.end_epoch(expires, cx);
        }

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

    /// An epoch holds, per row the join takes, its key, its encoded columns and their copy
    /// in its run's chunk, besides the stored rows its probes read: several times what a
    /// row costs a GROUP BY. Epochs of an eighth of the rows halved the server's peak memory
    /// in Nexmark q4 and q7 when rows were kept by key (1.28 GiB to 0.64 and 0.79).
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

/// The rows of a stored entry (`encode_entry`), after the time its key was due where the
/// entry was stored with one (format 2, before joins kept runs); corrupt bytes are an error,
/// never a panic.
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
