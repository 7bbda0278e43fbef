//! The incremental GROUP BY operator: Z-set aggregation with its state in the state store.
//! Weight rule: sum. A group's aggregates add up `weight × value` (or keep a multiset of
//! values, for MIN, MAX, COUNT DISTINCT and COLLECT_*), so any row can be retracted in any
//! order.
//!
//! An epoch feeds it batches of weighted input rows. Rows are interned into epoch-local group
//! ids (DataFusion's `GroupValues`, a batch at a time); their aggregate arguments are kept
//! until the epoch ends. Then each touched group's state is loaded (`OperatorCache`: the
//! shared cache, else the state store), its current result is emitted with weight −1, the
//! epoch's rows are added (or retracted), and its new result is emitted with weight +1 unless
//! no rows are left in it. The changes of an epoch are consolidated per group, not per batch,
//! and the new states go into the epoch's commit. Memory: the accumulators hold only the
//! groups of one epoch.
//!
//! Over windows (`window.rs`) a group is a group key in one window: its state is keyed by
//! (window start, group key), the rows a window no longer takes are set aside as late, and a
//! window's state is deleted once it closes. With EMIT CHANGES each epoch emits the touched
//! windows' −old/+new rows; with EMIT FINAL only the windows that closed, once, +1 each.
//!
//! Never: emit a result that the state store does not hold as of the same commit, or keep a
//! group whose row count is zero.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Int32Array, Int64Array, RecordBatch, StructArray, UInt32Array,
};
use arrow::compute::{cast, concat_batches, filter, take};
use arrow::datatypes::{DataType, Field, Fields, Int32Type, Int64Type, Schema, SchemaRef};
use datafusion::logical_expr::EmitTo;
use datafusion::physical_plan::aggregates::group_values::{GroupValues, new_group_values};
use datafusion::physical_plan::aggregates::order::GroupOrdering;
use eddy_planner::{
    AggregateCall, AggregatePlan, PlanError, ROWOFFSET, ROWPARTITION, WindowBound, WindowKind,
};
use eddy_storage::{ChangeBatch, StateBatch, StateStore};

use crate::batches::{epoch_millis, evaluate_column};
use crate::changes::Changes;
use crate::dataflow::aggregate::{Accumulator, AggregateError, AggregateFunction};
use crate::dataflow::steps::apply_steps_tracked;
use crate::dataflow::window::{Windowing, late_error};

use self::panes::PaneRows;
use self::sessions::Sessions;

mod panes;
mod sessions;
use crate::dataflow::{BadRows, EpochContext, Operator};
use crate::error::{DataError, EngineError, EngineResult};
use crate::row_codec::{decode_keys, encode_keys};
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::{CacheBudget, OperatorCache};

/// The format of a stored group state; bumped when the layout changes.
const GROUP_STATE_VERSION: u8 = 1;

/// What a stored group state of a few numeric aggregates takes, to size its buffer once.
const GROUP_STATE_BYTES_TYPICAL: usize = 64;

/// One aggregate of the plan, resolved to Eddy's accumulator.
#[derive(Debug, Clone)]
struct AggregateSpec {
    function: AggregateFunction,
    input_type: Option<DataType>,
    /// The type DataFusion gave the result, which the steps after the aggregate expect.
    output_type: DataType,
}

/// What one aggregate column of the plan holds.
#[derive(Debug, Clone, Copy)]
enum ResultColumn {
    /// The result of the accumulator of `specs[n]`.
    Aggregate(usize),
    /// A bound of the row's window.
    Bound(WindowBound),
}

/// The windows of a windowed aggregation.
enum Windows {
    /// Tumbling or hopping: the interned groups start with the window start.
    Time(Windowing),
    /// Sessions: the groups are the group keys, each holding its sessions.
    Session(Sessions),
}

/// The name of the interned column holding a windowed group's window start.
const WINDOW_START_COLUMN: &str = "__eddy_window_start";

/// The GROUP BY of one query.
pub struct GroupBy {
    plan: AggregatePlan,
    /// The aggregates that accumulate rows, in plan order.
    specs: Vec<AggregateSpec>,
    /// The plan's aggregate call of each spec.
    spec_calls: Vec<usize>,
    /// Each aggregate column of the plan.
    result_columns: Vec<ResultColumn>,
    /// A windowed aggregation's windows.
    windows: Option<Windows>,
    /// The input is a stream: rows are only ever inserted, so states keep less.
    append_only: bool,
    /// Whether the rows of windows past their retention go on, to be discarded from the
    /// query's table: only the GROUP BY that writes the table passes them (one inside the
    /// query feeds an operator, which has no table to discard them from).
    passes_discarded: bool,
    group_schema: SchemaRef,
    /// The groups' states, by encoded group key.
    states: OperatorCache,
    /// The rows of the epoch in progress; None between epochs.
    epoch: Option<Epoch>,
}

/// Rows of one epoch, waiting for the epoch's end.
struct Pending {
    groups: Vec<usize>,
    args: Vec<Option<ArrayRef>>,
    weights: Vec<i64>,
    sequences: Vec<u64>,
    rowtimes: Int64Array,
    /// Over sessions: each row's stream time, its input row, and the input, for judging
    /// and setting aside late rows at the epoch's end.
    session_rows: Option<SessionRows>,
    /// Over hopping windows kept as panes: each row's pane.
    panes: Option<PaneRows>,
}

/// What a session aggregation keeps of a batch's rows until the epoch ends.
struct SessionRows {
    /// Each row's time in its sessions: its rowtime, or a window TVF's time column.
    times: Int64Array,
    stream_times: Vec<i64>,
    sources: UInt32Array,
    input: Changes,
}

/// One epoch's work in progress.
pub struct Epoch {
    interner: Box<dyn GroupValues>,
    pending: Vec<Pending>,
}

/// What an epoch changed: rows of the aggregate (group keys, then results), each with its
/// weight and `rowtime`. The touched groups' old rows (weight −1) come first, then their new
/// rows (+1), each in group order; `groups` numbers each row's group, so that a group's two
/// rows can be paired without a lookup.
struct AggregateChanges {
    pub rows: RecordBatch,
    pub weights: Int64Array,
    pub rowtimes: Int64Array,
    pub groups: UInt32Array,
    /// Over windows: the rows of windows past their retention, with their rowtimes, which
    /// leave the result without a retraction (`Changes::discarding`).
    pub discarded: Option<(RecordBatch, Int64Array)>,
}

impl AggregateChanges {
    /// An epoch's changes: the old rows of the groups (or windows) `before` retracted, then
    /// the new rows of `after` inserted, each group's two paired, ascending within each sign;
    /// EMIT FINAL's rows are each a window of their own, in window order.
    fn retracting(
        schema: &SchemaRef,
        (before, before_rows, before_rowtimes): (&[usize], &RecordBatch, Vec<i64>),
        (after, after_rows, after_rowtimes): (&[usize], &RecordBatch, Vec<i64>),
        emits_final: bool,
        discarded: Option<(RecordBatch, Int64Array)>,
    ) -> EngineResult<AggregateChanges> {
        let rows = concat_batches(schema, [before_rows, after_rows])?;
        let weights: Int64Array = std::iter::repeat_n(-1, before.len())
            .chain(std::iter::repeat_n(1, after.len()))
            .collect();
        let rowtimes =
            Int64Array::from_iter_values(before_rowtimes.into_iter().chain(after_rowtimes));
        let groups = match emits_final {
            true => UInt32Array::from_iter_values(0..after.len() as u32),
            false => {
                UInt32Array::from_iter_values(before.iter().chain(after).map(|&group| group as u32))
            }
        };
        Ok(AggregateChanges {
            rows,
            weights,
            rowtimes,
            groups,
            discarded,
        })
    }
}

impl GroupBy {
    pub fn new(
        plan: AggregatePlan,
        query_id: &str,
        append_only: bool,
        budget: Arc<CacheBudget>,
    ) -> EngineResult<Self> {
        let group_count = plan.group_exprs.len();
        // What a late row's message calls its time.
        let time_name = match plan.window_time {
            Some(_) => "time",
            None => "ROWTIME",
        };
        let mut windows = match plan.window {
            None => None,
            Some(window) => Some(match window.kind {
                WindowKind::Session { gap_ms } => Windows::Session(Sessions::new(
                    gap_ms,
                    window,
                    time_name,
                    query_id,
                    budget.clone(),
                )),
                _ => Windows::Time(Windowing::new(window, time_name, query_id)?),
            }),
        };
        let mut specs = Vec::new();
        let mut spec_calls = Vec::new();
        let mut result_columns = Vec::with_capacity(plan.aggregates.len());
        for (position, call) in plan.aggregates.iter().enumerate() {
            match WindowBound::of_function(&call.function) {
                Some(bound) if windows.is_some() => result_columns.push(ResultColumn::Bound(bound)),
                _ => {
                    result_columns.push(ResultColumn::Aggregate(specs.len()));
                    specs.push(spec_of(call, &plan.input_schema)?);
                    spec_calls.push(position);
                }
            }
        }
        // Rows reach the GROUP BY as its source gives them (it runs its input steps itself),
        // or as its input steps give them: then they are in source order only if they
        // carry their offsets (not another GROUP BY's rows).
        let rows_have_positions =
            !plan.input_steps.is_empty() || plan.input_schema.field_with_name(ROWOFFSET).is_ok();
        if let Some(spec) = specs
            .iter()
            .find(|spec| spec.function.orders_by_sequence() && !rows_have_positions)
        {
            return Err(PlanError::Unsupported {
                feature: format!(
                    "{} over the rows of another GROUP BY (they have no offsets to order them by)",
                    spec.function.name()
                ),
            }
            .into());
        }
        // Surfaces an unsupported argument type now, at CREATE, not at the first row.
        for spec in &specs {
            Accumulator::new(spec.function, spec.input_type.clone()).map_err(plan_error)?;
        }
        // Hopping windows are kept as panes when a window merged from its panes is exactly
        // the window built row by row: rows only come, and every aggregate merges exactly.
        if let Some(Windows::Time(windowing)) = &mut windows
            && append_only
            && specs
                .iter()
                .all(|spec| spec.function.merges_exactly(spec.input_type.as_ref()))
        {
            windowing.use_panes();
        }
        let window_field = match &windows {
            Some(Windows::Time(windowing)) if !windowing.uses_panes() => {
                Some(Field::new(WINDOW_START_COLUMN, DataType::Int64, false))
            }
            _ => None,
        };
        let group_schema = Arc::new(Schema::new(
            window_field
                .into_iter()
                .chain(
                    plan.aggregate_schema.fields()[..group_count]
                        .iter()
                        .map(|field| field.as_ref().clone().with_nullable(true)),
                )
                .collect::<Vec<Field>>(),
        ));
        Ok(GroupBy {
            plan,
            specs,
            spec_calls,
            result_columns,
            windows,
            append_only,
            passes_discarded: true,
            group_schema,
            states: OperatorCache::new(
                OperatorStateKeys::KEYSPACE,
                OperatorStateKeys::of(query_id).group_prefix(),
                budget,
            ),
            epoch: None,
        })
    }

    /// The same GROUP BY feeding another operator of its query (a subquery's, read by a join
    /// or another GROUP BY): it passes no discarded rows on.
    pub fn feeding_an_operator(mut self) -> Self {
        self.passes_discarded = false;
        self
    }

    #[cfg(test)]
    fn plan(&self) -> &AggregatePlan {
        &self.plan
    }

    fn begin_epoch(&self) -> EngineResult<Epoch> {
        Ok(Epoch {
            interner: new_group_values(self.group_schema.clone(), &GroupOrdering::None)?,
            pending: Vec::new(),
        })
    }

    /// Adds a batch of input changes (rows of the source's queryable schema) to the epoch.
    /// Rows whose group key has a NULL are dropped, as in ksqlDB; over windows, late rows go
    /// to `bad_rows`. Nothing changes unless every row can be added.
    fn add(
        &mut self,
        changes: &Changes,
        read_from: Option<usize>,
        bad_rows: &mut BadRows,
    ) -> EngineResult<()> {
        let queryable = changes.rows().clone();
        let weights = changes.weights();
        let positions = input_positions(&queryable)?;
        let (rows, provenance) = apply_steps_tracked(&self.plan.input_steps, queryable)?;
        if rows.num_rows() == 0 {
            return Ok(());
        }
        let sources = provenance.into_indices(rows.num_rows());
        let mut untimed = Vec::new();
        let keys = self
            .plan
            .group_exprs
            .iter()
            .map(|expr| evaluate_column(expr.as_ref(), &rows))
            .collect::<EngineResult<Vec<_>>>()?;
        let args = self
            .spec_calls
            .iter()
            .zip(&self.specs)
            .map(|(&call, spec)| value_column(&self.plan.aggregates[call], spec.function, &rows))
            .collect::<EngineResult<Vec<_>>>()?;
        // Over windows on a column (a window TVF's), each row's time is that column's, in
        // epoch milliseconds; a row without one is set aside.
        let window_times = self
            .plan
            .window_time
            .as_ref()
            .map(|expr| epoch_millis(evaluate_column(expr.as_ref(), &rows)?))
            .transpose()?;
        let keyed = null_free_rows(&keys);
        let timed = match (&window_times, &keyed) {
            (Some(times), _) if times.null_count() > 0 => {
                let mut keep = Vec::with_capacity(times.len());
                for row in 0..times.len() {
                    let has_key = keyed.as_ref().is_none_or(|mask| mask.value(row));
                    if has_key && times.is_null(row) {
                        let input_row = sources.value(row) as usize;
                        untimed.push(input_row);
                    }
                    keep.push(Some(has_key && times.is_valid(row)));
                }
                Some(arrow::array::BooleanArray::from(keep))
            }
            _ => keyed,
        };
        let keep = |array: &ArrayRef| -> EngineResult<ArrayRef> {
            Ok(match &timed {
                Some(mask) => filter(array, mask)?,
                None => array.clone(),
            })
        };
        let keys = keys.iter().map(keep).collect::<EngineResult<Vec<_>>>()?;
        let args = args
            .iter()
            .map(|arg| arg.as_ref().map(keep).transpose())
            .collect::<EngineResult<Vec<_>>>()?;
        let sources: ArrayRef = Arc::new(sources);
        let sources = keep(&sources)?;
        let sources = sources.as_primitive::<arrow::datatypes::UInt32Type>();
        if sources.is_empty() {
            set_aside_untimed(&untimed, changes, bad_rows);
            return Ok(());
        }
        let rowtimes = take(changes.rowtimes(), sources, None)?
            .as_primitive::<Int64Type>()
            .clone();
        let window_times = match window_times {
            Some(times) => keep(&(Arc::new(times) as ArrayRef))?
                .as_primitive::<Int64Type>()
                .clone(),
            None => rowtimes.clone(),
        };
        let mut pane_rows = None;
        let (keys, args, sources, rowtimes, assignment) = match &self.windows {
            None | Some(Windows::Session(_)) => (keys, args, sources.clone(), rowtimes, None),
            Some(Windows::Time(windowing)) if windowing.uses_panes() => {
                let assignment = windowing.assign_panes(window_times.values(), read_from);
                let taken = &assignment.rows;
                let pick = |column: &ArrayRef| -> EngineResult<ArrayRef> {
                    Ok(match taken.len() == column.len() {
                        true => column.clone(),
                        false => take(column, taken, None)?,
                    })
                };
                let keys = keys.iter().map(pick).collect::<EngineResult<Vec<_>>>()?;
                let args = args
                    .iter()
                    .map(|arg| arg.as_ref().map(pick).transpose())
                    .collect::<EngineResult<Vec<_>>>()?;
                let late = assignment
                    .late
                    .iter()
                    .map(|(row, reason)| (sources.value(*row) as usize, reason.clone()))
                    .collect::<Vec<_>>();
                let sources = take(sources, taken, None)?
                    .as_primitive::<arrow::datatypes::UInt32Type>()
                    .clone();
                let rowtimes = take(&rowtimes, taken, None)?
                    .as_primitive::<Int64Type>()
                    .clone();
                pane_rows = Some(PaneRows {
                    starts: assignment.panes,
                    froms: assignment.froms,
                });
                (
                    keys,
                    args,
                    sources,
                    rowtimes,
                    Some((assignment.stream_time, late)),
                )
            }
            Some(Windows::Time(windowing)) => {
                let assignment = windowing.assign(window_times.values(), read_from);
                let pairs = &assignment.rows;
                let mut windowed_keys: Vec<ArrayRef> = vec![Arc::new(assignment.starts.clone())];
                for key in &keys {
                    windowed_keys.push(take(key, pairs, None)?);
                }
                let args = args
                    .iter()
                    .map(|arg| arg.as_ref().map(|arg| take(arg, pairs, None)).transpose())
                    .collect::<Result<Vec<_>, _>>()?;
                let late = assignment
                    .late
                    .iter()
                    .map(|(row, reason)| (sources.value(*row) as usize, reason.clone()))
                    .collect::<Vec<_>>();
                let sources = take(sources, pairs, None)?
                    .as_primitive::<arrow::datatypes::UInt32Type>()
                    .clone();
                let rowtimes = take(&rowtimes, pairs, None)?
                    .as_primitive::<Int64Type>()
                    .clone();
                (
                    windowed_keys,
                    args,
                    sources,
                    rowtimes,
                    Some((assignment.stream_time, late)),
                )
            }
        };
        let mut groups = Vec::with_capacity(sources.len());
        let keys: Vec<ArrayRef> = keys
            .iter()
            .zip(self.group_schema.fields())
            .map(|(key, field)| {
                if key.data_type() == field.data_type() {
                    Ok(key.clone())
                } else {
                    cast(key, field.data_type())
                }
            })
            .collect::<Result<_, _>>()?;
        if self.epoch.is_none() {
            self.epoch = Some(self.begin_epoch()?);
        }
        let epoch = self.epoch.as_mut().expect("the epoch was begun above");
        epoch.interner.intern(&keys, &mut groups)?;
        let weights = sources
            .values()
            .iter()
            .map(|&row| weights.map_or(1, |weights| weights.value(row as usize)))
            .collect();
        // An input position that orders rows for LATEST_BY_OFFSET and COLLECT_LIST: the
        // offset, then the partition (at most 256 partitions fit in the low byte). Rows of
        // another GROUP BY have none, and no such function reads them (`new` refuses it).
        let sequences = match &positions {
            Some((offsets, partitions)) => sources
                .values()
                .iter()
                .map(|&row| {
                    let row = row as usize;
                    ((offsets.value(row) as u64) << 8) | (partitions.value(row) as u64 & 0xff)
                })
                .collect(),
            None => vec![0; sources.len()],
        };
        let (session_rows, session_stream_time) = match &self.windows {
            Some(Windows::Session(sessions)) => {
                let (stream_times, stream_time) =
                    sessions.stream_times(window_times.values(), read_from);
                let rows = SessionRows {
                    times: window_times,
                    stream_times,
                    sources: sources.clone(),
                    input: changes.clone(),
                };
                (Some(rows), Some(stream_time))
            }
            _ => (None, None),
        };
        epoch.pending.push(Pending {
            groups,
            args,
            weights,
            sequences,
            rowtimes,
            session_rows,
            panes: pane_rows,
        });
        match (&mut self.windows, assignment, session_stream_time) {
            (Some(Windows::Time(windowing)), Some((stream_time, late)), _) => {
                windowing.accept(read_from, stream_time);
                for (row, reason) in late {
                    bad_rows.push(changes.row(row).rows(), &late_error(reason));
                }
            }
            (Some(Windows::Session(sessions)), _, Some(stream_time)) => {
                sessions.accept(read_from, stream_time);
            }
            _ => {}
        }
        set_aside_untimed(&untimed, changes, bad_rows);
        Ok(())
    }

    /// Ends the epoch: the aggregate's changes; the state changes that go with them go into
    /// `state_changes`.
    fn finish_epoch(
        &mut self,
        state: &dyn StateStore,
        state_changes: &mut StateBatch,
        bad_rows: &mut BadRows,
    ) -> EngineResult<AggregateChanges> {
        let mut epoch = match self.epoch.take() {
            Some(epoch) => epoch,
            None => self.begin_epoch()?,
        };
        match &self.windows {
            Some(Windows::Session(_)) => {
                return self.finish_sessions(epoch, state, state_changes, bad_rows);
            }
            Some(Windows::Time(windowing)) if windowing.uses_panes() => {
                return self.finish_panes(epoch, state, state_changes);
            }
            _ => {}
        }
        // The groups the epoch's rows touched are numbered first; over windows, the stored
        // windows that closed (EMIT FINAL emits them) or expired since the last epoch follow.
        let touched_total = epoch.interner.len();
        if let Some(Windows::Time(windowing)) = &mut self.windows {
            windowing.load(state)?;
            // Only EMIT FINAL does anything as windows close.
            let closed = match windowing.emits_final() {
                true => windowing.newly_closed(state, &self.states)?,
                false => Vec::new(),
            };
            let expired = windowing.newly_expired(state, &self.states)?;
            let swept: Vec<Vec<u8>> = closed.into_iter().chain(expired).collect();
            if !swept.is_empty() {
                let types: Vec<DataType> = self
                    .group_schema
                    .fields()
                    .iter()
                    .map(|field| field.data_type().clone())
                    .collect();
                let columns = decode_keys(&types, &swept)?;
                epoch.interner.intern(&columns, &mut Vec::new())?;
            }
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
        // Per group: whether its window closed in this epoch, and whether it expired (by
        // the end of this epoch).
        let (closed_now, expired): (Vec<bool>, Vec<bool>) = match &self.windows {
            Some(Windows::Time(windowing)) => group_keys[0]
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|&start| (windowing.closed_now(start), windowing.is_expired(start)))
                .unzip(),
            _ => (vec![false; group_total], vec![false; group_total]),
        };
        let (mut row_counts, mut accumulators) = self.new_accumulators()?;
        let mut rowtimes = vec![i64::MIN; group_total];
        let mut existed = vec![false; group_total];
        // A window starting after every stored one has no state: it is not read.
        let unstored: Vec<bool> = match &self.windows {
            Some(Windows::Time(windowing)) => group_keys[0]
                .as_primitive::<Int64Type>()
                .values()
                .iter()
                .map(|&start| !windowing.may_be_stored(start))
                .collect(),
            _ => vec![false; group_total],
        };
        let mut load = |group: usize, bytes: &[u8]| -> EngineResult<()> {
            rowtimes[group] = load_group(bytes, group, &mut row_counts, &mut accumulators)?;
            existed[group] = true;
            Ok(())
        };
        if unstored.contains(&true) {
            let readable: Vec<usize> = (0..group_total).filter(|&group| !unstored[group]).collect();
            let keys: Vec<Vec<u8>> = readable
                .iter()
                .map(|&group| encoded_keys[group].clone())
                .collect();
            self.states
                .read(state, &keys, |index, bytes| load(readable[index], bytes))?;
        } else {
            self.states.read(state, &encoded_keys, load)?;
        }
        let emits_final =
            matches!(&self.windows, Some(Windows::Time(windowing)) if windowing.emits_final());
        let before: Vec<usize> = match emits_final {
            true => Vec::new(),
            false => (0..touched_total).filter(|&group| existed[group]).collect(),
        };
        let before_rows = self.results(&group_keys, &before, &accumulators)?;
        let before_rowtimes: Vec<i64> = before.iter().map(|&group| rowtimes[group]).collect();
        for pending in &epoch.pending {
            row_counts
                .update(&pending.groups, None, &pending.weights, &[])
                .map_err(data_error)?;
            for (accumulator, arg) in accumulators.iter_mut().zip(&pending.args) {
                accumulator
                    .update(
                        &pending.groups,
                        arg.as_ref(),
                        &pending.weights,
                        &pending.sequences,
                    )
                    .map_err(data_error)?;
            }
            for (&group, &rowtime) in pending.groups.iter().zip(pending.rowtimes.values()) {
                rowtimes[group] = rowtimes[group].max(rowtime);
            }
        }
        let all: Vec<usize> = (0..group_total).collect();
        let counts = row_counts.evaluate(&all).map_err(data_error)?;
        let counts = counts.as_primitive::<Int64Type>();
        let after: Vec<usize> = match emits_final {
            // Each window once, as it closes, in window order.
            true => {
                let mut closing: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&group| closed_now[group] && counts.value(group) > 0)
                    .collect();
                closing.sort_unstable_by(|&a, &b| encoded_keys[a].cmp(&encoded_keys[b]));
                closing
            }
            false => (0..touched_total)
                .filter(|&group| counts.value(group) > 0)
                .collect(),
        };
        let after_rows = self.results(&group_keys, &after, &accumulators)?;
        let after_rowtimes: Vec<i64> = after.iter().map(|&group| rowtimes[group]).collect();
        // Windows past their retention leave the result: their last row, discarded.
        let mut expiring: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&group| expired[group] && counts.value(group) > 0)
            .collect();
        expiring.sort_unstable_by(|&a, &b| encoded_keys[a].cmp(&encoded_keys[b]));
        let discarded = match expiring.is_empty() {
            true => None,
            false => Some((
                self.results(&group_keys, &expiring, &accumulators)?,
                Int64Array::from_iter_values(expiring.iter().map(|&group| rowtimes[group])),
            )),
        };
        let mut created = Vec::new();
        let mut latest_created: Option<i64> = None;
        self.states.begin_writes();
        for (group, key) in encoded_keys.into_iter().enumerate() {
            let touched = group < touched_total;
            let new_state = if expired[group] {
                // An expired window's state goes with its row.
                match existed[group] {
                    true => None,
                    false => continue,
                }
            } else if !touched {
                // A window that closed keeps its state, unchanged, until it expires.
                continue;
            } else if counts.value(group) > 0 {
                if !existed[group] && self.windows.is_some() {
                    created.push(key.clone());
                    let start = group_keys[0].as_primitive::<Int64Type>().value(group);
                    latest_created = Some(latest_created.map_or(start, |latest| latest.max(start)));
                }
                Some(save_group(
                    rowtimes[group],
                    group,
                    &row_counts,
                    &accumulators,
                ))
            } else if existed[group] {
                None
            } else if counts.value(group) < 0 {
                return Err(EngineError::Internal(format!(
                    "a group of the aggregation has {} rows",
                    counts.value(group)
                )));
            } else {
                continue;
            };
            self.states.write(key, new_state, state_changes);
        }
        self.states.end_writes();
        if let Some(Windows::Time(windowing)) = &mut self.windows {
            windowing.end_epoch(created, latest_created, state_changes);
        }
        AggregateChanges::retracting(
            &self.plan.aggregate_schema,
            (&before, &before_rows, before_rowtimes),
            (&after, &after_rows, after_rowtimes),
            emits_final,
            discarded,
        )
    }

    /// A row counter and the aggregates' accumulators, without groups.
    fn new_accumulators(&self) -> EngineResult<(Accumulator, Vec<Accumulator>)> {
        let internal = |error: AggregateError| EngineError::Internal(error.to_string());
        let row_counts = Accumulator::new(AggregateFunction::CountStar, None).map_err(internal)?;
        let accumulators = self
            .specs
            .iter()
            .map(|spec| {
                let accumulator = Accumulator::new(spec.function, spec.input_type.clone())?;
                Ok(match self.append_only {
                    true => accumulator.append_only(),
                    false => accumulator,
                })
            })
            .collect::<Result<Vec<_>, AggregateError>>()
            .map_err(internal)?;
        Ok((row_counts, accumulators))
    }

    /// The aggregate's rows for `groups`: their keys, then each aggregate's result (over
    /// time windows, a window bound is the group's window start or end).
    fn results(
        &self,
        group_keys: &[ArrayRef],
        groups: &[usize],
        accumulators: &[Accumulator],
    ) -> EngineResult<RecordBatch> {
        let indices = UInt32Array::from_iter_values(groups.iter().map(|&group| group as u32));
        let (key_columns, bounds) = match &self.windows {
            Some(Windows::Time(windowing)) => {
                let starts = take(&group_keys[0], &indices, None)?
                    .as_primitive::<Int64Type>()
                    .clone();
                let ends = arrow::compute::kernels::numeric::add(
                    &starts,
                    &Int64Array::new_scalar(windowing.size_ms()),
                )?
                .as_primitive::<Int64Type>()
                .clone();
                (&group_keys[1..], Some((starts, ends)))
            }
            _ => (group_keys, None),
        };
        let keys = key_columns
            .iter()
            .map(|keys| take(keys, &indices, None))
            .collect::<Result<Vec<_>, _>>()?;
        self.rows_of(keys, groups, bounds, accumulators)
    }

    /// The aggregate's rows: `keys` (one row per output row), then each aggregate's result
    /// for the accumulator slot of each row, or the row's window bound from `bounds`
    /// (starts, ends).
    fn rows_of(
        &self,
        keys: Vec<ArrayRef>,
        slots: &[usize],
        bounds: Option<(Int64Array, Int64Array)>,
        accumulators: &[Accumulator],
    ) -> EngineResult<RecordBatch> {
        let mut columns = keys;
        for column in &self.result_columns {
            columns.push(match (*column, &bounds) {
                (ResultColumn::Aggregate(position), _) => {
                    let (accumulator, spec) = (&accumulators[position], &self.specs[position]);
                    let values = accumulator.evaluate(slots).map_err(data_error)?;
                    // Eddy's accumulators type results as DataFusion does; a cast covers any gap.
                    if accumulator.output_type() == &spec.output_type {
                        values
                    } else {
                        cast(&values, &spec.output_type)?
                    }
                }
                (ResultColumn::Bound(WindowBound::Start), Some((starts, _))) => {
                    Arc::new(starts.clone())
                }
                (ResultColumn::Bound(WindowBound::End), Some((_, ends))) => Arc::new(ends.clone()),
                (ResultColumn::Bound(_), None) => {
                    return Err(EngineError::Internal(
                        "a window bound in an aggregation without windows".into(),
                    ));
                }
            });
        }
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(slots.len()));
        Ok(RecordBatch::try_new_with_options(
            self.plan.aggregate_schema.clone(),
            columns,
            &options,
        )?)
    }
}

impl Operator for GroupBy {
    fn apply(
        &mut self,
        _input: usize,
        changes: Changes,
        _output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        match &mut self.windows {
            Some(Windows::Time(windowing)) => windowing.load(cx.state)?,
            Some(Windows::Session(sessions)) => sessions.load(cx.state)?,
            None => {}
        }
        self.add(&changes, cx.read_from, cx.bad_rows)
    }

    fn end_epoch(
        &mut self,
        output: &mut Vec<Changes>,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        match &mut self.windows {
            Some(Windows::Time(windowing)) => {
                windowing.load(cx.state)?;
                windowing.settle(cx.behind);
            }
            Some(Windows::Session(sessions)) => {
                sessions.load(cx.state)?;
                sessions.settle(cx.behind);
            }
            None => {}
        }
        let changes = self.finish_epoch(cx.state, cx.state_changes, cx.bad_rows)?;
        if changes.rows.num_rows() > 0 {
            output.push(Changes::new(
                ChangeBatch::try_new(changes.rows, Some(changes.weights))?,
                changes.rowtimes,
                Some(changes.groups),
            )?);
        }
        if let Some((rows, rowtimes)) = changes.discarded.filter(|_| self.passes_discarded) {
            output.push(
                Changes::new(ChangeBatch::try_new(rows, None)?, rowtimes, None)?.discarding(),
            );
        }
        Ok(())
    }

    fn has_state(&self) -> bool {
        true
    }

    fn idle_timeout_ms(&self) -> Option<i64> {
        self.plan.window.and_then(|window| window.idle_timeout_ms)
    }

    fn rows_per_input_row(&self) -> usize {
        match &self.windows {
            Some(Windows::Time(windowing)) => windowing.windows_per_row(),
            _ => 1,
        }
    }

    fn stream_time(&mut self, state: &dyn StateStore) -> EngineResult<Option<i64>> {
        Ok(match &mut self.windows {
            Some(Windows::Time(windowing)) => {
                windowing.load(state)?;
                windowing.stream_time()
            }
            Some(Windows::Session(sessions)) => {
                sessions.load(state)?;
                sessions.stream_time()
            }
            None => None,
        })
    }

    fn advance_stream_time(
        &mut self,
        stream_time: i64,
        cx: &mut EpochContext<'_>,
    ) -> EngineResult<()> {
        match &mut self.windows {
            Some(Windows::Time(windowing)) => {
                windowing.load(cx.state)?;
                windowing.advance_to(stream_time);
            }
            Some(Windows::Session(sessions)) => {
                sessions.load(cx.state)?;
                sessions.advance_to(stream_time);
            }
            None => {}
        }
        Ok(())
    }
}

fn spec_of(call: &AggregateCall, input_schema: &SchemaRef) -> EngineResult<AggregateSpec> {
    let unsupported =
        |feature: String| -> EngineError { PlanError::Unsupported { feature }.into() };
    let function = if call.distinct {
        match call.function.as_str() {
            "count" => AggregateFunction::CountDistinct,
            "min" | "max" => AggregateFunction::from_name(&call.function, call.args.len(), &[])
                .map_err(plan_error)?
                .ok_or_else(|| unsupported(call.function.clone()))?,
            other => {
                return Err(unsupported(format!(
                    "{}(DISTINCT ..) in a persistent query",
                    other.to_uppercase()
                )));
            }
        }
    } else {
        AggregateFunction::from_name(&call.function, call.args.len(), &call.constant_args)
            .map_err(plan_error)?
            .ok_or_else(|| {
                unsupported(format!(
                    "the aggregate function {} in a persistent or push query",
                    call.function.to_uppercase()
                ))
            })?
    };
    let arg_types = call
        .args
        .iter()
        .take(function.value_arguments())
        .map(|arg| arg.data_type(input_schema))
        .collect::<Result<Vec<_>, _>>()?;
    let input_type = match arg_types.as_slice() {
        [] => None,
        [single] => Some(single.clone()),
        several => Some(DataType::Struct(pair_fields(several))),
    };
    Ok(AggregateSpec {
        function,
        input_type,
        output_type: call.output.data_type().clone(),
    })
}

/// The fields of a struct packing several value arguments (CORRELATION's x and y).
fn pair_fields(types: &[DataType]) -> Fields {
    types
        .iter()
        .enumerate()
        .map(|(position, data_type)| Field::new(format!("c{position}"), data_type.clone(), true))
        .collect()
}

/// The column an aggregate's accumulator takes: its one value argument, several packed into
/// a struct, or none for COUNT(*).
fn value_column(
    call: &AggregateCall,
    function: AggregateFunction,
    rows: &RecordBatch,
) -> EngineResult<Option<ArrayRef>> {
    let columns = call
        .args
        .iter()
        .take(function.value_arguments())
        .map(|arg| evaluate_column(arg.as_ref(), rows))
        .collect::<EngineResult<Vec<_>>>()?;
    Ok(match columns.len() {
        0 => None,
        1 => columns.into_iter().next(),
        _ => {
            let types: Vec<DataType> = columns
                .iter()
                .map(|column| column.data_type().clone())
                .collect();
            Some(Arc::new(StructArray::try_new(
                pair_fields(&types),
                columns,
                None,
            )?))
        }
    })
}

fn plan_error(error: AggregateError) -> EngineError {
    PlanError::Invalid {
        message: error.to_string(),
    }
    .into()
}

fn data_error(error: AggregateError) -> EngineError {
    crate::error::DataError::OutOfRange(error.to_string()).into()
}

/// Each input row's offset and partition in its source, or None for rows that come from
/// another GROUP BY, which have no position in a source.
fn input_positions(rows: &RecordBatch) -> EngineResult<Option<(Int64Array, Int32Array)>> {
    let Some(offsets) = rows.column_by_name(ROWOFFSET) else {
        return Ok(None);
    };
    let offsets = offsets.as_primitive_opt::<Int64Type>().cloned();
    let partitions = rows
        .column_by_name(ROWPARTITION)
        .and_then(|column| column.as_primitive_opt::<Int32Type>())
        .cloned();
    match (offsets, partitions) {
        (Some(offsets), Some(partitions)) => Ok(Some((offsets, partitions))),
        _ => Err(EngineError::Internal(
            "input rows' rowoffset or rowpartition is not an integer column".into(),
        )),
    }
}

/// Input rows whose window time is NULL, into the processing log: no window can take them.
fn set_aside_untimed(rows: &[usize], changes: &Changes, bad_rows: &mut BadRows) {
    for &row in rows {
        bad_rows.push(
            changes.row(row).rows(),
            &DataError::NullNotAllowed("the window's time column is NULL".into()).into(),
        );
    }
}

/// A mask of the rows whose every key column is set; None when all are.
fn null_free_rows(keys: &[ArrayRef]) -> Option<arrow::array::BooleanArray> {
    if keys.iter().all(|key| key.null_count() == 0) {
        return None;
    }
    let rows = keys.first().map_or(0, |key| key.len());
    Some(
        (0..rows)
            .map(|row| Some(keys.iter().all(|key| key.is_valid(row))))
            .collect(),
    )
}

/// Stored group state: version, the group's rowtime, then each accumulator's state (row count
/// first), each prefixed by its length.
fn save_group(
    rowtime: i64,
    group: usize,
    row_counts: &Accumulator,
    accumulators: &[Accumulator],
) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(GROUP_STATE_BYTES_TYPICAL);
    bytes.push(GROUP_STATE_VERSION);
    bytes.extend_from_slice(&rowtime.to_le_bytes());
    for accumulator in std::iter::once(row_counts).chain(accumulators) {
        // The state's length goes before it, once it is known.
        let length_at = bytes.len();
        bytes.extend_from_slice(&[0; 4]);
        bytes = accumulator.save(group, bytes);
        let length = (bytes.len() - length_at - 4) as u32;
        bytes[length_at..length_at + 4].copy_from_slice(&length.to_le_bytes());
    }
    bytes
}

/// Loads a stored group state into `group` of the accumulators; returns its rowtime.
fn load_group(
    bytes: &[u8],
    group: usize,
    row_counts: &mut Accumulator,
    accumulators: &mut [Accumulator],
) -> EngineResult<i64> {
    let corrupt =
        |what: &str| EngineError::Internal(format!("a stored group state is corrupt: {what}"));
    let (&version, rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    if version != GROUP_STATE_VERSION {
        return Err(corrupt(&format!("unknown version {version}")));
    }
    let (rowtime, mut rest) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("no rowtime"))?;
    for accumulator in std::iter::once(row_counts).chain(accumulators.iter_mut()) {
        let (length, after) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("no length"))?;
        let length = u32::from_le_bytes(*length) as usize;
        if after.len() < length {
            return Err(corrupt("truncated"));
        }
        let (state, after) = after.split_at(length);
        accumulator
            .load(group, state)
            .map_err(|error| corrupt(&error.to_string()))?;
        rest = after;
    }
    Ok(i64::from_le_bytes(*rowtime))
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use eddy_planner::{Dataflow, SourceDef};
    use eddy_storage::{Keyspace, MemoryStateStore};

    use super::*;
    use crate::dataflow::harness::{changes, dataflow, run_operator, source};

    /// `SELECT g, COUNT(*) FROM items GROUP BY g` over a table (rows come with weights), its
    /// cache within `budget` bytes (1: every epoch trims it), and the table.
    async fn count_per_group(budget: usize) -> (GroupBy, SourceDef) {
        let items = source("table items (id BIGINT KEY, g BIGINT)");
        let Dataflow::Aggregate(plan) = dataflow(
            std::slice::from_ref(&items),
            "SELECT g, COUNT(*) AS n FROM items GROUP BY g",
        )
        .await
        else {
            panic!("an aggregate")
        };
        let group_by = GroupBy::new(plan, "test", false, Arc::new(CacheBudget::new(budget)))
            .expect("a GROUP BY");
        (group_by, items)
    }

    /// A state store that counts its point reads.
    #[derive(Debug, Default)]
    struct CountingReads {
        store: MemoryStateStore,
        gets: AtomicUsize,
    }

    impl StateStore for CountingReads {
        fn get(
            &self,
            keyspace: Keyspace,
            key: &[u8],
        ) -> Result<Option<Vec<u8>>, eddy_storage::StorageError> {
            self.gets.fetch_add(1, Ordering::Relaxed);
            self.store.get(keyspace, key)
        }
        fn get_many(
            &self,
            keyspace: Keyspace,
            keys: &[Vec<u8>],
        ) -> Result<Vec<Option<Vec<u8>>>, eddy_storage::StorageError> {
            self.gets.fetch_add(keys.len(), Ordering::Relaxed);
            self.store.get_many(keyspace, keys)
        }
        fn scan_prefix(
            &self,
            keyspace: Keyspace,
            prefix: &[u8],
        ) -> Result<Vec<eddy_storage::KeyValue>, eddy_storage::StorageError> {
            self.store.scan_prefix(keyspace, prefix)
        }
        fn iter_prefix(&self, keyspace: Keyspace, prefix: &[u8]) -> eddy_storage::PrefixIter {
            self.store.iter_prefix(keyspace, prefix)
        }
        fn iter_range(
            &self,
            keyspace: Keyspace,
            from: &[u8],
            to: &[u8],
        ) -> eddy_storage::PrefixIter {
            self.store.iter_range(keyspace, from, to)
        }
        fn count_prefix(
            &self,
            keyspace: Keyspace,
            prefix: &[u8],
        ) -> Result<u64, eddy_storage::StorageError> {
            self.store.count_prefix(keyspace, prefix)
        }
        fn commit(&self, batch: StateBatch) -> Result<(), eddy_storage::StorageError> {
            self.store.commit(batch)
        }
        fn snapshot(&self) -> Arc<dyn eddy_storage::StateSnapshot> {
            self.store.snapshot()
        }
    }

    /// Windows on a column (a window TVF's) take each row's time from it, not from its
    /// rowtime; a row whose time is NULL is set aside, and the window's row keeps the
    /// latest rowtime.
    #[tokio::test]
    async fn windows_on_a_time_column_take_each_rows_time_from_it() {
        let events = source("stream events (id BIGINT, g BIGINT, at BIGINT)");
        let sql = "SELECT g, COUNT(*) AS n FROM events \
                   WINDOW TUMBLING (SIZE 10 MILLISECONDS, GRACE PERIOD 0 SECONDS) GROUP BY g";
        let Dataflow::Aggregate(plan) =
            crate::dataflow::harness::table_dataflow(std::slice::from_ref(&events), sql).await
        else {
            panic!("an aggregate");
        };
        let window = plan.window.expect("windowed");
        let Dataflow::Aggregate(plan) = Dataflow::Aggregate(plan)
            .with_window_on(window, Some("at"))
            .expect("a BIGINT time column")
        else {
            panic!("an aggregate");
        };
        let mut group_by = GroupBy::new(plan, "test", true, Arc::new(CacheBudget::new(1 << 20)))
            .expect("a GROUP BY");
        let state = MemoryStateStore::default();
        let (output, _, bad_rows) = crate::dataflow::harness::in_epoch(&state, |cx| {
            let batch = changes(
                &events,
                &[
                    "+ 1 7 3 @100",
                    "+ 2 7 15 @90",
                    "+ 3 7 NULL @95",
                    "+ 4 7 4 @80",
                ],
            );
            let mut output = Vec::new();
            group_by.apply(0, batch, &mut output, cx).expect("applies");
            group_by.end_epoch(&mut output, cx).expect("ends");
            output
        });
        // Window [0, 10) closed at time 15, before the row at time 4 came: it is late.
        assert_eq!(
            crate::dataflow::harness::text_of(&output),
            ["+ 7 1 0 10", "+ 7 1 10 20"]
        );
        assert_eq!(
            output[0].rowtimes().values(),
            &[100, 90],
            "each window's row keeps its latest rowtime"
        );
        assert_eq!(bad_rows.messages().len(), 2, "{:?}", bad_rows.messages());
        assert!(
            bad_rows
                .messages()
                .iter()
                .any(|message| message == "the window's time column is NULL"),
            "{:?}",
            bad_rows.messages()
        );
    }

    #[tokio::test]
    async fn groups_add_up_weights_and_emit_old_then_new_rows() {
        let (mut group_by, items) = count_per_group(1 << 20).await;
        let state = MemoryStateStore::default();
        let epochs = [
            vec![changes(&items, &["+ 1 7", "+ 2 7", "+ 3 8"])],
            // An update moves row 2 from group 7 to group 8; row 3 leaves.
            vec![
                changes(&items, &["- 2 7", "+ 2 8"]),
                changes(&items, &["- 3 8"]),
            ],
            vec![changes(&items, &["- 1 7"]), changes(&items, &["+ 1 7"])],
        ];
        let output = run_operator(&mut group_by, &state, &epochs, &[]);
        assert_eq!(output[0], ["+ 7 2", "+ 8 1"]);
        assert_eq!(output[1], ["+ 7 1", "- 7 2"]);
        // Group 7's row is retracted and inserted again: consolidated, nothing changed.
        assert!(output[2].is_empty(), "{:?}", output[2]);
    }

    #[tokio::test]
    async fn an_epoch_sees_the_last_epochs_states_before_they_are_committed() {
        let (mut group_by, items) = count_per_group(1).await;
        let state = MemoryStateStore::default();
        // The first epoch's states are not in the store, and the cache is over its budget.
        let output = run_operator(
            &mut group_by,
            &state,
            &[
                vec![changes(&items, &["+ 1 7"])],
                vec![changes(&items, &["+ 2 7"])],
            ],
            &[0],
        );
        assert_eq!(output, [vec!["+ 7 1"], vec!["- 7 1", "+ 7 2"]]);
    }

    #[tokio::test]
    async fn a_group_deleted_by_the_last_epoch_stays_deleted_before_it_is_committed() {
        let (mut group_by, items) = count_per_group(1).await;
        let state = MemoryStateStore::default();
        // The store still holds the group when the third epoch runs: the epoch that deleted
        // it is not committed.
        let output = run_operator(
            &mut group_by,
            &state,
            &[
                vec![changes(&items, &["+ 1 7"])],
                vec![changes(&items, &["- 1 7"])],
                vec![changes(&items, &["+ 1 7"])],
            ],
            &[1],
        );
        assert_eq!(output, [vec!["+ 7 1"], vec!["- 7 1"], vec!["+ 7 1"]]);
    }

    #[tokio::test]
    async fn a_new_querys_groups_are_not_read_back_until_its_cache_is_trimmed() {
        let (mut group_by, items) = count_per_group(1 << 20).await;
        let state = CountingReads::default();
        let output = run_operator(
            &mut group_by,
            &state,
            &[
                vec![changes(&items, &["+ 1 7", "+ 2 8"])],
                vec![changes(&items, &["+ 3 7", "+ 4 9"])],
            ],
            &[],
        );
        assert_eq!(output[1], ["- 7 1", "+ 7 2", "+ 9 1"]);
        assert_eq!(
            state.gets.load(Ordering::Relaxed),
            0,
            "new groups are known new"
        );
        // The same query started again over its stored states reads what its cache lacks.
        let mut restarted = GroupBy::new(
            group_by.plan().clone(),
            "test",
            false,
            Arc::new(CacheBudget::new(1 << 20)),
        )
        .expect("a GROUP BY");
        let output = run_operator(
            &mut restarted,
            &state,
            &[vec![changes(&items, &["+ 5 8"])]],
            &[],
        );
        assert_eq!(output, [vec!["- 8 1", "+ 8 2"]]);
        assert_eq!(state.gets.load(Ordering::Relaxed), 1);
    }
}
