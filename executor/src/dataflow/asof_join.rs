//! ASOF joins: each probe row (input 0, a stream) joins the one build row (input 1, a stream
//! or a table) of its key whose time is the latest at or before its own (before it, for a
//! strict comparison); among build rows of the same time, the one that reached the join last
//! (the inputs' durable merge order), so the answer is deterministic. INNER drops a probe row
//! without one; LEFT pads it with NULLs. Event time is the probe row's.
//!
//! Two modes (`AsofMode`). *Final*, into a stream: a probe row waits until the build side's
//! stream time less the grace period has passed its time, so no build row that is not late
//! can change its answer; it then joins once and leaves. Weights: +1 per released probe row,
//! never a retraction. *Incremental*, into a GROUP BY: a probe row joins at once, and each
//! epoch's build changes re-match the kept probe rows of their keys: −(probe, old) +(probe,
//! new) for each whose match moved (the output is the ASOF join of the two sides as they
//! stand, a Z-set, epoch by epoch).
//!
//! Each side has a stream time (its largest time, per input partition as `stream_time.rs`
//! keeps it: as an epoch ends it waits for the side's partitions the epoch did not read to
//! their end), and the grace period bounds the state
//! when the build side is a stream: a row behind its own side's stream time less grace is
//! late (processing log). No build row that is not late can then change the match of a
//! probe row behind the build side's line (its stream time less grace): an incremental join
//! drops such probe rows. Per key, the build rows behind the lower of the two lines are cut
//! to the newest one, which is all a probe row that is not late can still match. A build
//! table's rows are never late and are kept as long as the table keeps them (a row the table
//! replaces or deletes leaves the join: the table is its current rows); an incremental join
//! over one keeps every probe row.
//!
//! State per key: its probe rows and its build rows (`interval_join::encode_entry`, in the
//! order they came), an index entry per side by when the key next needs attention (a probe
//! row to release or drop; build rows to cut), and the two stream times.
//!
//! Never: emit a probe row twice in final mode, join a row with a NULL key or time, or
//! retract a row it did not emit.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use arrow::array::{Array, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::concat_batches;
use arrow::datatypes::SchemaRef;
use datafusion::physical_expr::PhysicalExpr;
use eddy_planner::{AsofJoinPlan, AsofMode, JoinPlan};
use eddy_storage::ChangeBatch;

use crate::batches::evaluate_column;
use crate::changes::Changes;
use crate::dataflow::interval_join::{
    EncodedJoinKeys, KeptRow, STREAM_TIME_KEY, decode_entry, encode_entry, encoded_join_keys,
    joined_rows, read_partition_times, read_stream_time, write_stream_time,
};
use crate::dataflow::stream_time::PartitionTimes;
use crate::dataflow::window::late_error;
use crate::dataflow::{EpochContext, Operator};
use crate::error::{EngineError, EngineResult};
use crate::row_codec::{decode_rows, encode_keys, encode_rows};
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::{CacheBudget, OperatorCache};

const PROBE: usize = 0;
const BUILD: usize = 1;
/// The keys of each side's stream time among the join's own values.
const CLOCK_KEYS: [&[u8]; 2] = [b"probe_stream_time", STREAM_TIME_KEY];
/// Each side's stream time of each input partition (`PartitionTimes`), by side.
const PARTITION_CLOCK_KEYS: [&[u8]; 2] =
    [b"probe_stream_time_partitions", b"stream_time_partitions"];

/// A stream joined with the latest row of a stream or table at or before each of its rows.
pub(crate) struct AsofJoin {
    plan: Arc<JoinPlan>,
    asof: AsofJoinPlan,
    /// Each side's rows by join key: the probe side's (input 0) and the build side's.
    states: [OperatorCache; 2],
    /// Keys by when they next need attention: `due_key`.
    due: OperatorCache,
    /// Index entries the last epoch wrote, whose commit may be in flight.
    recent_due: BTreeSet<Vec<u8>>,
    /// Each side's stream time, under `CLOCK_KEYS`.
    clock: OperatorCache,
    /// The stream times, once read from the state.
    stream_times: Option<[Option<i64>; 2]>,
    /// Each side's stream time of each input partition, read with `stream_times`.
    partition_times: [PartitionTimes; 2],
    /// The epoch's changes of each side, with each row's join key and time, evaluated as
    /// they came (so that a row whose key cannot be evaluated is set aside alone).
    pending: [Vec<Pending>; 2],
}

/// A row of one side during an epoch's end: where its columns are among the side's rows
/// (`at`), its ASOF time, and what is stored of it.
#[derive(Debug, Clone)]
struct Held {
    at: u32,
    time: i64,
    kept: KeptRow,
}

/// The rows of one key as read, and as they become.
struct KeyRows {
    /// How many of `probes` were stored: the others came in this epoch.
    stored_probes: usize,
    /// The build rows as read: each one's time and `at`.
    builds_before: Vec<(i64, u32)>,
    /// The key's index entries as read: for its probe rows, for its build rows.
    due_before: [Option<i64>; 2],
    probes: Vec<Held>,
    builds: Vec<Held>,
    builds_changed: bool,
}

/// One side's rows of the epoch, the ones that join: each with its key, ASOF time and
/// weight, and the side's rows and encoded rows.
struct EpochSide {
    rows: RecordBatch,
    rowtimes: Vec<i64>,
    encoded: Vec<Vec<u8>>,
    /// Per row: its key, time and weight; None for a row that does not join.
    joins: Vec<Option<(Vec<u8>, i64, i64)>>,
    /// Per row: where it was read (`EpochContext::read_from`).
    read_from: Vec<Option<usize>>,
}

/// A batch of one side's changes, with each row's encoded join key and time.
struct Pending {
    changes: Changes,
    keys: EncodedJoinKeys,
    times: Int64Array,
    read_from: Option<usize>,
}

/// One row of the output.
struct OutputRow {
    probe: u32,
    build: Option<u32>,
    rowtime: i64,
    weight: i64,
}

impl AsofJoin {
    /// The join numbered `number` among its query's joins (it names the join's state).
    pub fn new(
        plan: Arc<JoinPlan>,
        asof: AsofJoinPlan,
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
        AsofJoin {
            asof,
            states: [cache('l'), cache('r')],
            due: cache('d'),
            recent_due: BTreeSet::new(),
            clock: cache('t'),
            stream_times: None,
            partition_times: Default::default(),
            pending: [Vec::new(), Vec::new()],
            plan,
        }
    }

    /// Whether the build side's rows are trimmed below stream time less grace, and late
    /// rows set aside: a build stream's, not a table's.
    fn trims(&self) -> bool {
        !self.asof.build_is_table
    }

    /// The latest build time a probe row at `time` may join.
    fn bound(&self, time: i64) -> i64 {
        match self.asof.strict {
            true => time.saturating_sub(1),
            false => time,
        }
    }

    /// When the key's probe rows next need attention: once the build side's stream time is
    /// past it, one is released (final) or dropped (incremental).
    fn probe_due(&self, probes: &[Held]) -> Option<i64> {
        let earliest = match (self.asof.mode, self.trims()) {
            (AsofMode::Final, _) => probes.iter().map(|probe| self.bound(probe.time)).min(),
            (AsofMode::Incremental, true) => probes.iter().map(|probe| probe.time).min(),
            (AsofMode::Incremental, false) => None,
        };
        earliest.map(|time| time.saturating_add(self.asof.grace_ms))
    }

    /// When the key's build rows next need attention: once the lower of the two stream times
    /// is past it, the oldest can go (the next one is at or before the latest time a probe
    /// row on the line can match: `trim_builds`).
    fn build_due(&self, builds: &[Held]) -> Option<i64> {
        if !self.trims() || builds.len() < 2 {
            return None;
        }
        let mut times: Vec<i64> = builds.iter().map(|build| build.time).collect();
        times.select_nth_unstable(1);
        let due = times[1].saturating_add(self.asof.grace_ms);
        Some(match self.asof.strict {
            true => due,
            false => due.saturating_sub(1),
        })
    }

    /// One side's rows of the epoch: its changes, each row's key and time; late and
    /// unjoinable rows left out (late ones set aside).
    fn epoch_side(
        &mut self,
        side: usize,
        stream_time: Option<i64>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<EpochSide> {
        let waterline = stream_time.map(|time| time.saturating_sub(self.asof.grace_ms));
        let pending = std::mem::take(&mut self.pending[side]);
        let schema = match side {
            PROBE => &self.plan.left_schema,
            _ => &self.plan.right_schema,
        };
        let mut parts = Vec::with_capacity(pending.len());
        let mut keys: EncodedJoinKeys = Vec::new();
        let mut time_parts = Vec::with_capacity(pending.len());
        let mut read_from = Vec::new();
        for part in pending {
            read_from.extend(std::iter::repeat_n(part.read_from, part.changes.num_rows()));
            parts.push(part.changes);
            keys.extend(part.keys);
            time_parts.push(part.times);
        }
        let changes = Changes::concat(schema, &parts)?;
        let rows = changes.rows().clone();
        let times: Vec<Option<i64>> = time_parts.iter().flat_map(|part| part.iter()).collect();
        let weight_of = |row: usize| changes.weights().map_or(1, |weights| weights.value(row));
        let mut joins = Vec::with_capacity(rows.num_rows());
        for (row, (key, time)) in keys.into_iter().zip(times).enumerate() {
            let (Some(key), Some(time)) = (key, time) else {
                joins.push(None);
                continue;
            };
            let weight = weight_of(row);
            if side == PROBE && weight < 0 {
                return Err(EngineError::Internal(
                    "an ASOF join's probe side is a stream, yet it took a row back".into(),
                ));
            }
            if let Some(waterline) = waterline
                && self.trims()
                && weight > 0
                && time < waterline
            {
                let side_name = match side {
                    PROBE => "left",
                    _ => "right",
                };
                let reason = format!(
                    "a {side_name} row at {time} is too late for the ASOF join: the {side_name} side's stream time less the grace period is {waterline}"
                );
                cx.bad_rows.push(&rows.slice(row, 1), &late_error(reason));
                joins.push(None);
                continue;
            }
            joins.push(Some((key, time, weight)));
        }
        let encoded = encode_rows(&rows)?.iter().map(<[u8]>::to_vec).collect();
        Ok(EpochSide {
            rowtimes: changes.rowtimes().values().to_vec(),
            rows,
            encoded,
            joins,
            read_from,
        })
    }

    /// Each row's ASOF time (NULL where it has none).
    fn times(&self, side: usize, rows: &RecordBatch) -> EngineResult<Int64Array> {
        let expr: &Arc<dyn PhysicalExpr> = match side {
            PROBE => &self.asof.probe_time,
            _ => &self.asof.build_time,
        };
        let column = evaluate_column(expr.as_ref(), rows)?;
        column
            .as_any()
            .downcast_ref::<Int64Array>()
            .cloned()
            .ok_or_else(|| EngineError::Internal("an ASOF join's time is not a BIGINT".into()))
    }

    /// Each side's stream time before this epoch, read once.
    fn stream_times(&mut self, cx: &EpochContext<'_>) -> EngineResult<[Option<i64>; 2]> {
        if let Some(stream_times) = self.stream_times {
            return Ok(stream_times);
        }
        let stream_times = [
            read_stream_time(&mut self.clock, CLOCK_KEYS[PROBE], cx)?,
            read_stream_time(&mut self.clock, CLOCK_KEYS[BUILD], cx)?,
        ];
        for side in [PROBE, BUILD] {
            self.partition_times[side] =
                read_partition_times(&mut self.clock, PARTITION_CLOCK_KEYS[side], cx)?;
        }
        self.stream_times = Some(stream_times);
        Ok(stream_times)
    }

    /// The keys whose probe rows are due before the build side's stream time `build_time`,
    /// and those whose build rows are due before the lower stream time `lower_time`.
    fn due_keys(
        &self,
        build_time: Option<i64>,
        lower_time: Option<i64>,
        cx: &EpochContext<'_>,
    ) -> EngineResult<Vec<Vec<u8>>> {
        let mut keys = Vec::new();
        for (side, time) in [(PROBE, build_time), (BUILD, lower_time)] {
            if let Some(time) = time {
                let due = keys_due(&self.due, &self.recent_due, cx, time)?;
                keys.extend(
                    due.into_iter()
                        .filter(|(due_side, _)| *due_side == side)
                        .map(|(_, key)| key),
                );
            }
        }
        Ok(keys)
    }

    /// Reads the stored rows of `keys` on both sides into `touched`, and returns each side's
    /// rows: the epoch's, then the stored ones.
    fn read_keys(
        &mut self,
        keys: &[Vec<u8>],
        epoch: &[EpochSide; 2],
        touched: &mut HashMap<Vec<u8>, KeyRows>,
        cx: &EpochContext<'_>,
    ) -> EngineResult<[RecordBatch; 2]> {
        let mut all_rows: Vec<RecordBatch> = Vec::with_capacity(2);
        let mut stored: [Vec<Vec<KeptRow>>; 2] = [Vec::new(), Vec::new()];
        for side in [PROBE, BUILD] {
            let mut found: Vec<Vec<KeptRow>> = vec![Vec::new(); keys.len()];
            self.states[side].read(cx.state, keys, |index, bytes| {
                found[index] = decode_entry(bytes)?.1;
                Ok(())
            })?;
            let bytes: Vec<&[u8]> = found
                .iter()
                .flatten()
                .map(|row| row.row.as_slice())
                .collect();
            let schema: &SchemaRef = match side {
                PROBE => &self.plan.left_schema,
                _ => &self.plan.right_schema,
            };
            let rows = match bytes.is_empty() {
                true => epoch[side].rows.clone(),
                false => {
                    concat_batches(schema, [&epoch[side].rows, &decode_rows(schema, &bytes)?])?
                }
            };
            all_rows.push(rows);
            stored[side] = found;
        }
        // The stored rows' times, from their columns, once per side.
        let mut times: Vec<Int64Array> = Vec::with_capacity(2);
        for (side, rows) in all_rows.iter().enumerate() {
            let first = epoch[side].rows.num_rows();
            times.push(self.times(side, &rows.slice(first, rows.num_rows() - first))?);
        }
        let mut next = [epoch[0].rows.num_rows(), epoch[1].rows.num_rows()];
        let [stored_probes, stored_builds] = stored;
        for ((key, probes), builds) in keys.iter().zip(stored_probes).zip(stored_builds) {
            let mut held = |side: usize, rows: Vec<KeptRow>| -> Vec<Held> {
                rows.into_iter()
                    .map(|kept| {
                        let at = next[side];
                        next[side] += 1;
                        let first = epoch[side].rows.num_rows();
                        Held {
                            at: at as u32,
                            time: times[side].value(at - first),
                            kept,
                        }
                    })
                    .collect()
            };
            let probes = held(PROBE, probes);
            let builds = held(BUILD, builds);
            let due_before = [self.probe_due(&probes), self.build_due(&builds)];
            touched.insert(
                key.clone(),
                KeyRows {
                    stored_probes: probes.len(),
                    builds_before: builds.iter().map(|build| (build.time, build.at)).collect(),
                    probes,
                    builds,
                    due_before,
                    builds_changed: false,
                },
            );
        }
        let [probes, builds]: [RecordBatch; 2] = all_rows
            .try_into()
            .map_err(|_| EngineError::Internal("an ASOF join has two sides".into()))?;
        Ok([probes, builds])
    }
}

impl Operator for AsofJoin {
    fn apply(
        &mut self,
        input: usize,
        changes: Changes,
        _output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        let side = input.min(1);
        let key_exprs = match side {
            PROBE => &self.plan.left_keys,
            _ => &self.plan.right_keys,
        };
        let keys = encoded_join_keys(key_exprs, changes.rows())?;
        let times = self.times(side, changes.rows())?;
        self.pending[side].push(Pending {
            changes,
            keys,
            times,
            read_from: cx.read_from,
        });
        Ok(())
    }

    fn end_epoch(
        &mut self,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        if self.pending.iter().all(Vec::is_empty) {
            return Ok(());
        }
        let grace = self.asof.grace_ms;
        let times_before = self.stream_times(cx)?;
        let epoch = [
            self.epoch_side(PROBE, times_before[PROBE], cx)?,
            self.epoch_side(BUILD, times_before[BUILD], cx)?,
        ];
        // Each side's stream time waits for its partitions the epoch did not read to their
        // end (`stream_time.rs`).
        let mut times = times_before;
        for (side, rows) in epoch.iter().enumerate() {
            for (join, read_from) in rows.joins.iter().zip(&rows.read_from) {
                if let Some((_, time, weight)) = join
                    && *weight > 0
                {
                    self.partition_times[side].take(*read_from, *time);
                }
            }
            times[side] = times[side].max(self.partition_times[side].settled(cx.behind));
        }
        // A probe row's match is final once the build side's line has passed it; build
        // rows are cut below the lower line, which no probe row that is not late is behind.
        let waterline = times[BUILD].map(|time| time.saturating_sub(grace));
        let lower_time = times[PROBE].min(times[BUILD]);
        let cut_line = lower_time.map(|time| time.saturating_sub(grace));

        // Every key the epoch changes or whose attention is due.
        let mut keys = match times == times_before {
            true => Vec::new(),
            false => self.due_keys(times[BUILD], lower_time, cx)?,
        };
        for side in &epoch {
            keys.extend(side.joins.iter().flatten().map(|(key, _, _)| key.clone()));
        }
        keys.sort_unstable();
        keys.dedup();
        let mut touched: HashMap<Vec<u8>, KeyRows> = HashMap::with_capacity(keys.len());
        let all_rows = self.read_keys(&keys, &epoch, &mut touched, cx)?;
        // A table's rows by their PRIMARY KEY, so a retraction finds the row it replaces
        // whatever its time.
        let identities = match self.plan.right_identity.is_empty() {
            true => None,
            false => {
                let build_rows = &all_rows[BUILD];
                let columns: Vec<_> = self
                    .plan
                    .right_identity
                    .iter()
                    .map(|&position| build_rows.column(position).clone())
                    .collect();
                Some(encode_keys(&columns, build_rows.num_rows())?)
            }
        };
        let identity_of: Vec<&[u8]> = identities.iter().flat_map(|rows| rows.iter()).collect();

        // The epoch's rows join their keys' rows, in the order they came.
        for (side, rows) in epoch.iter().enumerate() {
            for (row, joins) in rows.joins.iter().enumerate() {
                let Some((key, time, weight)) = joins else {
                    continue;
                };
                let Some(key_rows) = touched.get_mut(key) else {
                    return Err(EngineError::Internal(
                        "an ASOF join key was not read".into(),
                    ));
                };
                let held = Held {
                    at: row as u32,
                    time: *time,
                    kept: KeptRow {
                        rowtime: rows.rowtimes[row],
                        flags: 0,
                        row: rows.encoded[row].clone(),
                    },
                };
                match side {
                    PROBE => key_rows.probes.push(held),
                    _ => {
                        key_rows.builds_changed = true;
                        apply_build(&mut key_rows.builds, held, *weight, &identity_of);
                    }
                }
            }
        }

        let mut out: Vec<OutputRow> = Vec::new();
        for key in &keys {
            let Some(key_rows) = touched.get_mut(key) else {
                continue;
            };
            match self.asof.mode {
                AsofMode::Final => self.release(key_rows, waterline, &mut out),
                AsofMode::Incremental => self.rematch(key_rows, &mut out),
            }
            if let (Some(waterline), Some(cut_line), true) = (waterline, cut_line, self.trims()) {
                trim_builds(&mut key_rows.builds, self.bound(cut_line));
                if self.asof.mode == AsofMode::Incremental {
                    key_rows.probes.retain(|probe| probe.time >= waterline);
                }
            }
        }
        self.write_state(keys, touched, cx);
        let partition_times = [
            self.partition_times[PROBE].encode_if_changed(),
            self.partition_times[BUILD].encode_if_changed(),
        ];
        if times != times_before || partition_times.iter().any(Option::is_some) {
            self.clock.begin_writes();
            for side in [PROBE, BUILD] {
                if let Some(time) = times[side]
                    && times[side] != times_before[side]
                {
                    write_stream_time(&mut self.clock, CLOCK_KEYS[side], time, cx);
                }
            }
            for (side, bytes) in partition_times.into_iter().enumerate() {
                if let Some(bytes) = bytes {
                    self.clock.write(
                        PARTITION_CLOCK_KEYS[side].to_vec(),
                        Some(bytes),
                        cx.state_changes,
                    );
                }
            }
            self.clock.end_writes();
        }
        self.stream_times = Some(times);
        if !out.is_empty() {
            output.push(self.output(&all_rows, &out)?);
        }
        Ok(())
    }

    fn has_state(&self) -> bool {
        true
    }
}

impl AsofJoin {
    /// Final mode: the key's probe rows whose bound stream time less grace has passed join
    /// its build rows as they stand, and leave.
    fn release(&self, key_rows: &mut KeyRows, waterline: Option<i64>, out: &mut Vec<OutputRow>) {
        let Some(waterline) = waterline else {
            return;
        };
        let index = build_index(key_rows.builds.iter().map(|build| build.time));
        let mut released: Vec<&Held> = key_rows
            .probes
            .iter()
            .filter(|probe| self.bound(probe.time) < waterline)
            .collect();
        released.sort_by_key(|probe| probe.time);
        for probe in released {
            let build = matching(&index, self.bound(probe.time)).map(|at| key_rows.builds[at].at);
            self.emit(probe, build, 1, out);
        }
        key_rows
            .probes
            .retain(|probe| self.bound(probe.time) >= waterline);
    }

    /// Incremental mode: the key's new probe rows join at once; if its build rows changed,
    /// each kept probe row whose match moved is retracted with the old one and emitted with
    /// the new.
    fn rematch(&self, key_rows: &mut KeyRows, out: &mut Vec<OutputRow>) {
        let after = build_index(key_rows.builds.iter().map(|build| build.time));
        let (stored, new_probes) = key_rows.probes.split_at(key_rows.stored_probes);
        if key_rows.builds_changed {
            let before = build_index(key_rows.builds_before.iter().map(|(time, _)| *time));
            for probe in stored {
                let bound = self.bound(probe.time);
                let old = matching(&before, bound).map(|at| key_rows.builds_before[at].1);
                let new = matching(&after, bound).map(|at| key_rows.builds[at].at);
                if old != new {
                    self.emit(probe, old, -1, out);
                    self.emit(probe, new, 1, out);
                }
            }
        }
        for probe in new_probes {
            let new = matching(&after, self.bound(probe.time)).map(|at| key_rows.builds[at].at);
            self.emit(probe, new, 1, out);
        }
    }

    /// The output row of `probe` joined with `build` (None: no match), if the join keeps it.
    fn emit(&self, probe: &Held, build: Option<u32>, weight: i64, out: &mut Vec<OutputRow>) {
        if build.is_none() && !self.plan.kind.keeps_unmatched_left() {
            return;
        }
        out.push(OutputRow {
            probe: probe.at,
            build,
            rowtime: probe.kept.rowtime,
            weight,
        });
    }

    /// Writes each touched key's rows and index entry.
    fn write_state(
        &mut self,
        keys: Vec<Vec<u8>>,
        mut touched: HashMap<Vec<u8>, KeyRows>,
        cx: &mut EpochContext<'_>,
    ) {
        self.due.begin_writes();
        self.states.iter_mut().for_each(OperatorCache::begin_writes);
        let mut written_due = BTreeSet::new();
        for key in keys {
            let Some(key_rows) = touched.remove(&key) else {
                continue;
            };
            let due_after = [
                self.probe_due(&key_rows.probes),
                self.build_due(&key_rows.builds),
            ];
            for side in [PROBE, BUILD] {
                if key_rows.due_before[side] == due_after[side] {
                    continue;
                }
                if let Some(due) = key_rows.due_before[side] {
                    self.due
                        .write(due_key(due, side, &key), None, cx.state_changes);
                }
                if let Some(due) = due_after[side] {
                    let index_key = due_key(due, side, &key);
                    written_due.insert(index_key.clone());
                    self.due
                        .write(index_key, Some(Vec::new()), cx.state_changes);
                }
            }
            for (side, rows) in [(PROBE, key_rows.probes), (BUILD, key_rows.builds)] {
                let kept: Vec<KeptRow> = rows.into_iter().map(|held| held.kept).collect();
                let entry = (!kept.is_empty()).then(|| encode_entry(&kept));
                self.states[side].write(key.clone(), entry, cx.state_changes);
            }
        }
        self.states.iter_mut().for_each(OperatorCache::end_writes);
        self.due.end_writes();
        self.recent_due = written_due;
    }

    fn output(&self, rows: &[RecordBatch; 2], out: &[OutputRow]) -> EngineResult<Changes> {
        let probe_at = UInt32Array::from_iter_values(out.iter().map(|row| row.probe));
        let build_at: UInt32Array = out.iter().map(|row| row.build).collect();
        let joined = joined_rows(&self.plan.schema, rows, &probe_at, &build_at)?;
        let weights = out
            .iter()
            .any(|row| row.weight != 1)
            .then(|| Int64Array::from_iter_values(out.iter().map(|row| row.weight)));
        let rowtimes = Int64Array::from_iter_values(out.iter().map(|row| row.rowtime));
        Changes::new(ChangeBatch::try_new(joined, weights)?, rowtimes, None)
    }
}

/// The keys (side and join key) of index `due` whose attention is due before
/// `stream_time`; `recent` holds the entries the last epoch wrote, maybe not yet committed.
fn keys_due(
    due: &OperatorCache,
    recent: &BTreeSet<Vec<u8>>,
    cx: &EpochContext<'_>,
    stream_time: i64,
) -> EngineResult<Vec<(usize, Vec<u8>)>> {
    let from = due_key(i64::MIN, 0, &[]);
    let to = due_time_bytes(stream_time).to_vec();
    let mut keys = due.committed_keys_between(cx.state, &from, &to)?;
    keys.extend(recent.range(from.clone()..to.clone()).cloned());
    keys.into_iter()
        .map(|key| {
            let side =
                usize::from(*key.get(8).ok_or_else(|| {
                    EngineError::Internal("an ASOF join's due key is short".into())
                })?);
            Ok((side.min(1), key[9..].to_vec()))
        })
        .collect()
}

/// A time as 8 bytes that order as the times do.
fn due_time_bytes(time: i64) -> [u8; 8] {
    ((time as u64) ^ (1 << 63)).to_be_bytes()
}

/// The index key of side `side`'s rows of `key`, due at `due`.
fn due_key(due: i64, side: usize, key: &[u8]) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(9 + key.len());
    bytes.extend_from_slice(&due_time_bytes(due));
    bytes.push(side as u8);
    bytes.extend_from_slice(key);
    bytes
}

/// A build change of weight `weight`: an insertion adds the row (as many times), a
/// retraction takes out the latest row of the same PRIMARY KEY (`identity_of`, by position
/// among the build rows: a table's replaced or deleted row), or else the latest equal row.
fn apply_build(builds: &mut Vec<Held>, held: Held, weight: i64, identity_of: &[&[u8]]) {
    if weight > 0 {
        for _ in 1..weight {
            builds.push(held.clone());
        }
        builds.push(held);
        return;
    }
    for _ in 0..weight.unsigned_abs() {
        let same = |build: &Held| match identity_of.is_empty() {
            true => {
                build.time == held.time
                    && build.kept.rowtime == held.kept.rowtime
                    && build.kept.row == held.kept.row
            }
            false => identity_of.get(build.at as usize) == identity_of.get(held.at as usize),
        };
        let Some(position) = builds.iter().rposition(same) else {
            return;
        };
        builds.remove(position);
    }
}

/// The build rows' (time, position) in order of time, then of arrival: the last entry at or
/// before a time is its match.
fn build_index(times: impl Iterator<Item = i64>) -> Vec<(i64, usize)> {
    let mut index: Vec<(i64, usize)> = times
        .enumerate()
        .map(|(position, time)| (time, position))
        .collect();
    index.sort_unstable();
    index
}

/// The position of the build row matching a probe row whose latest build time is `bound`.
fn matching(index: &[(i64, usize)], bound: i64) -> Option<usize> {
    let end = index.partition_point(|(time, _)| *time <= bound);
    end.checked_sub(1).map(|last| index[last].1)
}

/// Drops the build rows at or before `latest_bound` (the latest time a probe row on the
/// line can match) except the newest of them (the last of the latest time): a probe row that
/// is not late can only match it or one after.
fn trim_builds(builds: &mut Vec<Held>, latest_bound: i64) {
    let index = build_index(builds.iter().map(|build| build.time));
    let Some(newest_before) = matching(&index, latest_bound) else {
        return;
    };
    let mut position = 0;
    builds.retain(|build| {
        let keep = build.time > latest_bound || position == newest_before;
        position += 1;
        keep
    });
}
