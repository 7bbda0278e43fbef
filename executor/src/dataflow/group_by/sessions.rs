//! Session windows of the GROUP BY (`WINDOW SESSION (gap)`), under ksqlDB's rules: a
//! session is `[first, last]` of a key's rows no more than `gap` apart, both ends inclusive.
//! A row joins every live session of its key with `start − gap ≤ rowtime ≤ end + gap`; when
//! it bridges several, they merge into one (their accumulators merged), and with EMIT
//! CHANGES each absorbed session is retracted before the merged one is inserted. A session
//! closes once stream time passes `end + gap + grace`; a closed session never takes a row
//! again, and a row whose session would end before that is late.
//!
//! State: one value per group key holding its live sessions (bounds, latest rowtime, and the
//! group state of each), read and written through the GROUP BY's cache, so an epoch always
//! sees what the last one wrote. Closing needs the sessions by end across keys: an index of
//! (session end, group key) under its own prefix, read by range as time windows are.
//! Rows are judged in input order, each with the stream time it met; a key's rows are
//! applied in that order at the epoch's end, when its sessions are loaded.
//!
//! Never: merge into a closed session, or keep state for a session that has closed.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{concat_batches, take};
use arrow::datatypes::DataType;
use datafusion::logical_expr::EmitTo;
use eddy_planner::WindowPlan;
use eddy_storage::{StateBatch, StateStore};

use super::{AggregateChanges, Epoch, GroupBy, Windows, data_error, load_group, save_group};
use crate::dataflow::BadRows;
use crate::dataflow::stream_time::StreamTime;
use crate::dataflow::window::{Sweep, late_error, start_key};
use crate::error::{EngineError, EngineResult};
use crate::row_codec::{decode_keys, encode_keys};
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::{CacheBudget, OperatorCache};

/// The format of a stored set of sessions; bumped when the layout changes.
const SESSION_SET_VERSION: u8 = 1;

/// The sessions of one session-windowed GROUP BY, and the stream time that closes them.
pub(crate) struct Sessions {
    gap_ms: i64,
    grace_ms: i64,
    emit_final: bool,
    /// What a late row's message calls its time: ROWTIME, or a window TVF's time column.
    time_name: &'static str,
    stream_time: StreamTime,
    /// One entry per kept session, keyed by (end, group key): which sessions close and
    /// expire next.
    closes_index: OperatorCache,
    /// Sessions close when stream time passes their end plus gap and grace: they take no
    /// row, and EMIT FINAL emits them.
    closes: Sweep,
    /// Sessions expire when stream time passes their end plus retention: their state goes,
    /// and their row leaves the result.
    expiries: Sweep,
    retention_ms: i64,
    /// The index entries the last epoch wrote: its commit may still be in flight.
    recent: Vec<Vec<u8>>,
}

impl Sessions {
    /// Sessions `gap_ms` apart, closing as `plan` says; a late row's message calls its time
    /// `time_name`.
    pub fn new(
        gap_ms: i64,
        plan: WindowPlan,
        time_name: &'static str,
        query_id: &str,
        budget: Arc<CacheBudget>,
    ) -> Sessions {
        Sessions {
            gap_ms,
            grace_ms: plan.grace_ms,
            emit_final: plan.emit_final,
            time_name,
            stream_time: StreamTime::new(query_id),
            closes_index: OperatorCache::new(
                OperatorStateKeys::KEYSPACE,
                OperatorStateKeys::of(query_id).session_close_prefix(),
                budget,
            ),
            closes: Sweep::default(),
            expiries: Sweep::default(),
            retention_ms: plan.retention_ms,
            recent: Vec::new(),
        }
    }

    /// Reads the stream time a restarted query had reached.
    pub fn load(&mut self, state: &dyn StateStore) -> EngineResult<()> {
        if self.stream_time.load(state)? {
            let time = self.stream_time.get();
            self.closes.start(time.map(|time| self.close_bound(time)));
            self.expiries
                .start(time.map(|time| self.expiry_bound(time)));
        }
        Ok(())
    }

    /// Each row's stream time as the rows of `rowtimes`, read from `partition`, are taken, and
    /// the partition's stream time after them (`StreamTime::through`).
    pub fn stream_times(
        &self,
        rowtimes: &[i64],
        partition: Option<usize>,
    ) -> (Vec<i64>, Option<i64>) {
        self.stream_time.through(rowtimes, partition)
    }

    /// Keeps the stream time a batch read from `partition` reached.
    pub fn accept(&mut self, partition: Option<usize>, time: Option<i64>) {
        self.stream_time.take(partition, time);
    }

    /// Moves stream time as the epoch ends (`StreamTime::settle`), before sessions close.
    pub fn settle(&mut self, behind: &[usize]) {
        self.stream_time.settle(behind);
    }

    pub fn stream_time(&self) -> Option<i64> {
        self.stream_time.get()
    }

    /// Moves stream time to `time` if it is behind (the query's input went quiet).
    pub fn advance_to(&mut self, time: i64) {
        self.stream_time.advance_to(time);
    }

    /// The latest session end that has closed at `stream_time`: a session closes once its
    /// end is below stream time minus gap and grace.
    fn close_bound(&self, stream_time: i64) -> i64 {
        stream_time
            .saturating_sub(self.gap_ms)
            .saturating_sub(self.grace_ms)
            .saturating_sub(1)
    }

    /// The latest session end that has expired at `stream_time`: a session's row leaves
    /// once its end is below stream time minus retention.
    fn expiry_bound(&self, stream_time: i64) -> i64 {
        stream_time
            .saturating_sub(self.retention_ms)
            .saturating_sub(1)
    }

    /// The index entries of sessions that closed since the last epoch.
    fn newly_closed(&mut self, state: &dyn StateStore) -> EngineResult<Vec<Vec<u8>>> {
        let bound = self.stream_time.get().map(|time| self.close_bound(time));
        self.closes
            .advance(bound, 0, state, &self.closes_index, &self.recent)
    }

    /// The index entries of sessions that expired since the last epoch.
    fn newly_expired(&mut self, state: &dyn StateStore) -> EngineResult<Vec<Vec<u8>>> {
        let bound = self.stream_time.get().map(|time| self.expiry_bound(time));
        self.expiries
            .advance(bound, 0, state, &self.closes_index, &self.recent)
    }
}

/// One session of a key while an epoch runs.
#[derive(Debug, Clone)]
struct Session {
    start: i64,
    end: i64,
    /// The latest rowtime in the session: its row's rowtime.
    rowtime: i64,
    /// Its state's index in the epoch's accumulators.
    slot: usize,
    /// As the store held it before the epoch: bounds, rowtime, and its row among the
    /// epoch's old rows.
    stored: Option<StoredSession>,
    /// Took a row or absorbed another session in this epoch.
    changed: bool,
    /// False once merged into another session.
    alive: bool,
}

#[derive(Debug, Clone, Copy)]
struct StoredSession {
    start: i64,
    end: i64,
    rowtime: i64,
    old_row: usize,
}

/// An output row of the epoch: a session of a group, its result in an accumulator slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct SessionRow {
    group: usize,
    start: i64,
    end: i64,
}

impl GroupBy {
    /// Ends an epoch of a session aggregation: applies each key's rows to its sessions, in
    /// input order, closes the sessions stream time has passed, and returns the changes.
    pub(super) fn finish_sessions(
        &mut self,
        mut epoch: Epoch,
        state: &dyn StateStore,
        state_changes: &mut StateBatch,
        bad_rows: &mut BadRows,
    ) -> EngineResult<AggregateChanges> {
        let Some(Windows::Session(sessions)) = &mut self.windows else {
            return Err(EngineError::Internal(
                "a session epoch of an aggregation without sessions".into(),
            ));
        };
        sessions.load(state)?;
        let (gap, grace, emit_final) = (sessions.gap_ms, sessions.grace_ms, sessions.emit_final);
        let time_name = sessions.time_name;
        // The keys the epoch's rows touched come first; the keys of sessions that closed
        // since the last epoch follow.
        let touched_total = epoch.interner.len();
        // Only EMIT FINAL does anything as sessions close.
        let closed = match emit_final {
            true => sessions.newly_closed(state)?,
            false => Vec::new(),
        };
        let expired = sessions.newly_expired(state)?;
        let closing: Vec<Vec<u8>> = closed.into_iter().chain(expired).collect();
        if !closing.is_empty() {
            let types: Vec<DataType> = std::iter::once(DataType::Int64)
                .chain(
                    self.group_schema
                        .fields()
                        .iter()
                        .map(|field| field.data_type().clone()),
                )
                .collect();
            let columns = decode_keys(&types, &closing)?;
            epoch.interner.intern(&columns[1..], &mut Vec::new())?;
        }
        let group_total = epoch.interner.len();
        let group_keys = epoch.interner.emit(EmitTo::All)?;
        let encoded_keys: Vec<Vec<u8>> = match group_total {
            0 => Vec::new(),
            rows => encode_keys(&group_keys, rows)?
                .iter()
                .map(<[u8]>::to_vec)
                .collect(),
        };
        let (mut row_counts, mut accumulators) = self.new_accumulators()?;
        let mut sets: Vec<Vec<Session>> = vec![Vec::new(); group_total];
        let mut slots = 0;
        let mut old_rows: Vec<(SessionRow, usize)> = Vec::new();
        self.states.read(state, &encoded_keys, |group, bytes| {
            for (start, end, group_state) in parse_session_set(bytes)? {
                let slot = slots;
                slots += 1;
                let rowtime = load_group(group_state, slot, &mut row_counts, &mut accumulators)?;
                sets[group].push(Session {
                    start,
                    end,
                    rowtime,
                    slot,
                    stored: Some(StoredSession {
                        start,
                        end,
                        rowtime,
                        old_row: old_rows.len(),
                    }),
                    changed: false,
                    alive: true,
                });
                old_rows.push((SessionRow { group, start, end }, slot));
            }
            Ok(())
        })?;
        // The sessions' results before the epoch, for their retractions.
        let old_results = match emit_final {
            true => None,
            false => Some(self.session_results(&group_keys, &old_rows, &accumulators)?),
        };
        let mut rows_of: Vec<Vec<(usize, usize)>> = vec![Vec::new(); touched_total];
        for (batch, pending) in epoch.pending.iter().enumerate() {
            for (row, &group) in pending.groups.iter().enumerate() {
                rows_of[group].push((batch, row));
            }
        }
        for (group, rows) in rows_of.iter().enumerate() {
            let set = &mut sets[group];
            for &(batch, row) in rows {
                let pending = &epoch.pending[batch];
                let taken = pending.session_rows.as_ref().ok_or_else(|| {
                    EngineError::Internal("a session aggregation's rows lack stream times".into())
                })?;
                let time = taken.times.value(row);
                let rowtime = pending.rowtimes.value(row);
                let stream_time = taken.stream_times[row];
                // Sessions that ended before this have closed by this row's stream time.
                let closed_before = stream_time.saturating_sub(gap).saturating_sub(grace);
                let merging: Vec<usize> = (0..set.len())
                    .filter(|&index| {
                        let session = &set[index];
                        session.alive
                            && session.end >= closed_before
                            && session.end >= time.saturating_sub(gap)
                            && session.start <= time.saturating_add(gap)
                    })
                    .collect();
                let start = merging
                    .iter()
                    .map(|&index| set[index].start)
                    .fold(time, i64::min);
                let end = merging
                    .iter()
                    .map(|&index| set[index].end)
                    .fold(time, i64::max);
                if end < closed_before {
                    let input_row = taken.sources.value(row) as usize;
                    bad_rows.push(
                        taken.input.row(input_row).rows(),
                        &late_error(format!(
                            "late row: {time_name} {time} is past the grace period of its session: a session ending at {end} closed once stream time passed {}, and stream time is {stream_time}",
                            end.saturating_add(gap).saturating_add(grace)
                        )),
                    );
                    continue;
                }
                let target = match merging.first() {
                    Some(&index) => index,
                    None => {
                        set.push(Session {
                            start,
                            end,
                            rowtime: i64::MIN,
                            slot: slots,
                            stored: None,
                            changed: true,
                            alive: true,
                        });
                        slots += 1;
                        set.len() - 1
                    }
                };
                let into = set[target].slot;
                for &absorbed in merging.iter().skip(1) {
                    let from = set[absorbed].slot;
                    row_counts.merge(into, from).map_err(data_error)?;
                    for accumulator in &mut accumulators {
                        accumulator.merge(into, from).map_err(data_error)?;
                    }
                    set[absorbed].alive = false;
                    set[target].rowtime = set[target].rowtime.max(set[absorbed].rowtime);
                }
                let session = &mut set[target];
                session.start = start;
                session.end = end;
                session.rowtime = session.rowtime.max(rowtime);
                session.changed = true;
                row_counts
                    .update(&[into], None, &[pending.weights[row]], &[])
                    .map_err(data_error)?;
                for (accumulator, arg) in accumulators.iter_mut().zip(&pending.args) {
                    let value = arg.as_ref().map(|arg| arg.slice(row, 1));
                    accumulator
                        .update(
                            &[into],
                            value.as_ref(),
                            &[pending.weights[row]],
                            &[pending.sequences[row]],
                        )
                        .map_err(data_error)?;
                }
            }
        }
        let Some(Windows::Session(sessions)) = &self.windows else {
            return Err(EngineError::Internal(
                "a session epoch of an aggregation without sessions".into(),
            ));
        };
        let (closes, expiries) = (sessions.closes, sessions.expiries);
        let closed_now = |end: i64| closes.newly_passed(end);
        let is_expired = |end: i64| expiries.passed(end);
        // What the epoch emits: with EMIT CHANGES every changed or absorbed session's old
        // row and every changed session's new row; with EMIT FINAL each session that closed.
        let mut retracted: Vec<(SessionRow, usize, i64)> = Vec::new();
        let mut inserted: Vec<(SessionRow, usize, i64)> = Vec::new();
        for (group, set) in sets.iter().enumerate() {
            for session in set {
                let row = SessionRow {
                    group,
                    start: session.start,
                    end: session.end,
                };
                match emit_final {
                    true => {
                        if session.alive && closed_now(session.end) {
                            inserted.push((row, session.slot, session.rowtime));
                        }
                    }
                    false => {
                        if let Some(stored) = session.stored
                            && (session.changed || !session.alive)
                        {
                            let old = SessionRow {
                                group,
                                start: stored.start,
                                end: stored.end,
                            };
                            retracted.push((old, stored.old_row, stored.rowtime));
                        }
                        if session.alive && session.changed {
                            inserted.push((row, session.slot, session.rowtime));
                        }
                    }
                }
            }
        }
        // Sessions past their retention leave the result: their last row, discarded.
        let mut expiring: Vec<(SessionRow, usize, i64)> = Vec::new();
        for (group, set) in sets.iter().enumerate() {
            for session in set {
                if session.alive && is_expired(session.end) {
                    let row = SessionRow {
                        group,
                        start: session.start,
                        end: session.end,
                    };
                    expiring.push((row, session.slot, session.rowtime));
                }
            }
        }
        expiring.sort_unstable_by_key(|(row, _, _)| *row);
        // A session's old and new rows share a number when its bounds did not change; the
        // numbers ascend within each sign.
        let mut numbered: Vec<SessionRow> = retracted
            .iter()
            .chain(&inserted)
            .map(|(row, _, _)| *row)
            .collect();
        numbered.sort_unstable();
        numbered.dedup();
        let number = |row: &SessionRow| numbered.binary_search(row).unwrap_or_default() as u32;
        retracted.sort_unstable_by_key(|(row, _, _)| *row);
        inserted.sort_unstable_by_key(|(row, _, _)| *row);
        let before_rows = match &old_results {
            Some(old) => {
                let indices = UInt32Array::from_iter_values(
                    retracted.iter().map(|&(_, old_row, _)| old_row as u32),
                );
                arrow::compute::take_record_batch(old, &indices)?
            }
            None => RecordBatch::new_empty(self.plan.aggregate_schema.clone()),
        };
        let new_rows: Vec<(SessionRow, usize)> =
            inserted.iter().map(|&(row, slot, _)| (row, slot)).collect();
        let after_rows = self.session_results(&group_keys, &new_rows, &accumulators)?;
        let discarded = match expiring.is_empty() {
            true => None,
            false => {
                let rows: Vec<(SessionRow, usize)> =
                    expiring.iter().map(|&(row, slot, _)| (row, slot)).collect();
                Some((
                    self.session_results(&group_keys, &rows, &accumulators)?,
                    Int64Array::from_iter_values(expiring.iter().map(|&(_, _, rowtime)| rowtime)),
                ))
            }
        };
        let rows = concat_batches(&self.plan.aggregate_schema, [&before_rows, &after_rows])?;
        let weights: Int64Array = std::iter::repeat_n(-1, retracted.len())
            .chain(std::iter::repeat_n(1, inserted.len()))
            .collect();
        let rowtimes = Int64Array::from_iter_values(
            retracted
                .iter()
                .chain(&inserted)
                .map(|&(_, _, rowtime)| rowtime),
        );
        let groups = UInt32Array::from_iter_values(
            retracted
                .iter()
                .chain(&inserted)
                .map(|(row, _, _)| number(row)),
        );
        // The new session sets, and the close index.
        let Some(Windows::Session(sessions)) = &mut self.windows else {
            return Err(EngineError::Internal(
                "a session epoch of an aggregation without sessions".into(),
            ));
        };
        let mut written_closes = Vec::new();
        self.states.begin_writes();
        sessions.closes_index.begin_writes();
        for (group, set) in sets.iter().enumerate() {
            let changed = set
                .iter()
                .any(|session| session.changed || !session.alive || is_expired(session.end));
            if !changed {
                continue;
            }
            let kept: Vec<&Session> = set
                .iter()
                .filter(|session| session.alive && !is_expired(session.end))
                .collect();
            let stored_any = set.iter().any(|session| session.stored.is_some());
            if kept.is_empty() && !stored_any {
                continue;
            }
            let value = match kept.is_empty() {
                true => None,
                false => Some(save_session_set(&kept, &row_counts, &accumulators)),
            };
            let key = &encoded_keys[group];
            self.states.write(key.clone(), value, state_changes);
            for session in set {
                let kept_end = (session.alive && !is_expired(session.end)).then_some(session.end);
                let stored_end = session.stored.map(|stored| stored.end);
                if kept_end == stored_end {
                    continue;
                }
                if let Some(end) = stored_end {
                    sessions
                        .closes_index
                        .write(close_key(end, key)?, None, state_changes);
                }
                if let Some(end) = kept_end {
                    let close = close_key(end, key)?;
                    written_closes.push(close.clone());
                    sessions
                        .closes_index
                        .write(close, Some(Vec::new()), state_changes);
                }
            }
        }
        self.states.end_writes();
        sessions.closes_index.end_writes();
        sessions.recent = written_closes;
        sessions.stream_time.save(state_changes);
        Ok(AggregateChanges {
            rows,
            weights,
            rowtimes,
            groups,
            discarded,
        })
    }

    /// The aggregate's rows for sessions: each one's group key, then each aggregate's result
    /// in its slot, its bounds as the window bounds.
    fn session_results(
        &self,
        group_keys: &[ArrayRef],
        rows: &[(SessionRow, usize)],
        accumulators: &[super::Accumulator],
    ) -> EngineResult<RecordBatch> {
        let indices = UInt32Array::from_iter_values(rows.iter().map(|(row, _)| row.group as u32));
        let keys = group_keys
            .iter()
            .map(|keys| take(keys, &indices, None))
            .collect::<Result<Vec<_>, _>>()?;
        let starts = Int64Array::from_iter_values(rows.iter().map(|(row, _)| row.start));
        let ends = Int64Array::from_iter_values(rows.iter().map(|(row, _)| row.end));
        let slots: Vec<usize> = rows.iter().map(|&(_, slot)| slot).collect();
        self.rows_of(keys, &slots, Some((starts, ends)), accumulators)
    }
}

/// A close index entry: the session's end, then its group key (as the row codec encodes
/// both, so entries sort by end).
fn close_key(end: i64, group_key: &[u8]) -> EngineResult<Vec<u8>> {
    let mut key = start_key(end)?;
    // Both start with the key format's version byte; the group key's cells follow the end's.
    key.extend_from_slice(group_key.get(1..).unwrap_or_default());
    Ok(key)
}

/// A key's live sessions as stored: version, count, then each session's start, end and
/// group state (length-prefixed).
fn save_session_set(
    sessions: &[&Session],
    row_counts: &super::Accumulator,
    accumulators: &[super::Accumulator],
) -> Vec<u8> {
    let mut bytes = vec![SESSION_SET_VERSION];
    bytes.extend_from_slice(&(sessions.len() as u32).to_le_bytes());
    for session in sessions {
        bytes.extend_from_slice(&session.start.to_le_bytes());
        bytes.extend_from_slice(&session.end.to_le_bytes());
        let state = save_group(session.rowtime, session.slot, row_counts, accumulators);
        bytes.extend_from_slice(&(state.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&state);
    }
    bytes
}

/// The sessions `save_session_set` stored: (start, end, group state) each.
fn parse_session_set(bytes: &[u8]) -> EngineResult<Vec<(i64, i64, &[u8])>> {
    let corrupt =
        |what: &str| EngineError::Internal(format!("a stored session set is corrupt: {what}"));
    let (&version, rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    if version != SESSION_SET_VERSION {
        return Err(corrupt(&format!("unknown version {version}")));
    }
    let (count, mut rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("no count"))?;
    let count = u32::from_le_bytes(*count) as usize;
    let mut sessions = Vec::with_capacity(count.min(rest.len()));
    for _ in 0..count {
        let (start, after) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("no start"))?;
        let (end, after) = after
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("no end"))?;
        let (length, after) = after
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("no length"))?;
        let length = u32::from_le_bytes(*length) as usize;
        if after.len() < length {
            return Err(corrupt("truncated"));
        }
        let (state, after) = after.split_at(length);
        sessions.push((i64::from_le_bytes(*start), i64::from_le_bytes(*end), state));
        rest = after;
    }
    Ok(sessions)
}
