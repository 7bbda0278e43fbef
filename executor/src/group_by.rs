//! The incremental GROUP BY operator of a persistent query: Z-set aggregation with state in
//! the state store.
//!
//! An epoch feeds it batches of weighted input rows. Rows are interned into epoch-local group
//! ids (DataFusion's `GroupValues`, a batch at a time); their aggregate arguments are kept
//! until the epoch ends. Then each touched group's state is loaded (from the in-memory cache
//! or the state store), its current result is emitted with weight −1, the epoch's rows are
//! added (or retracted), and its new result is emitted with weight +1 unless no rows are left
//! in it. The changes of an epoch are consolidated per group, not per batch, and the new
//! states go into the epoch's commit.
//!
//! Memory: the accumulators hold only the groups of one epoch; states stay in a byte cache
//! that is trimmed to the last epoch's states when it outgrows its budget, and are read back
//! on demand. Until its first trim, the cache of a query that started without stored states
//! holds all of them: a group it lacks is new, and costs no read.
//!
//! The query commits an epoch while it computes the next one, so the next epoch must not read
//! the state store for what the last one changed: the cache always holds every state the last
//! epoch wrote or deleted (a deleted group as a tombstone). Every older change is committed
//! by the time the next epoch starts.
//!
//! Never: emit a result that the state store does not hold as of the same commit, or keep a
//! group whose row count is zero.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, UInt32Array};
use arrow::compute::{cast, concat_batches, filter, take};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};
use datafusion::common::HashMap;
use datafusion::logical_expr::EmitTo;
use datafusion::physical_plan::aggregates::group_values::{GroupValues, new_group_values};
use datafusion::physical_plan::aggregates::order::GroupOrdering;
use datafusion::scalar::ScalarValue;
use eddy_planner::{AggregateCall, AggregatePlan, PlanError, ROWOFFSET, ROWPARTITION, ROWTIME};
use eddy_storage::{Keyspace, StateBatch, StateStore};

use crate::aggregate::{Accumulator, AggregateFunction};
use crate::batches::apply_steps_tracked;
use crate::error::{EngineError, EngineResult};
use crate::row_codec::encode_keys;

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

/// The GROUP BY of one persistent query.
pub struct GroupBy {
    plan: AggregatePlan,
    specs: Vec<AggregateSpec>,
    /// The input is a stream: rows are only ever inserted, so states keep less.
    append_only: bool,
    group_schema: SchemaRef,
    /// `q/<query id>/g/`: where the groups' states live in the state keyspace.
    state_prefix: Vec<u8>,
    /// Group states by encoded group key, as stored, with the epoch that wrote them. Hashed
    /// with DataFusion's seeded hasher, several times cheaper than std's for short keys.
    cache: HashMap<Vec<u8>, CachedState>,
    cache_bytes: usize,
    /// Whether the cache holds every state the store holds, so that a group it lacks is new
    /// and needs no read: true from a start without stored states until the cache is first
    /// trimmed. None until the first epoch has looked.
    cache_is_complete: Option<bool>,
    budget: Arc<CacheBudget>,
    /// Epochs finished by this operator, numbering the cache's entries.
    epochs: u64,
}

/// A group's state as the cache holds it.
struct CachedState {
    /// The `GroupBy::epochs` count of the epoch that wrote it.
    epoch: u64,
    /// The stored state; None for a group the epoch deleted.
    state: Option<Vec<u8>>,
}

impl CachedState {
    /// What the entry costs the cache's budget, with its key of `key_len` bytes.
    fn bytes(&self, key_len: usize) -> usize {
        key_len + self.state.as_ref().map_or(0, Vec::len)
    }
}

/// The memory all GROUP BY caches of an engine share.
#[derive(Debug)]
pub struct CacheBudget {
    limit: usize,
    used: AtomicUsize,
}

impl CacheBudget {
    pub fn new(limit: usize) -> Self {
        CacheBudget {
            limit,
            used: AtomicUsize::new(0),
        }
    }
}

impl Drop for GroupBy {
    fn drop(&mut self) {
        self.budget
            .used
            .fetch_sub(self.cache_bytes, Ordering::Relaxed);
    }
}

/// Rows of one epoch, waiting for the epoch's end.
struct Pending {
    groups: Vec<usize>,
    args: Vec<Option<ArrayRef>>,
    weights: Vec<i64>,
    sequences: Vec<u64>,
    rowtimes: Int64Array,
}

/// One epoch's work in progress.
pub struct Epoch {
    interner: Box<dyn GroupValues>,
    pending: Vec<Pending>,
}

/// What an epoch changed: rows of the aggregate (group keys, then results), each with its
/// weight and `rowtime`, and the state changes to commit with it. The touched groups' old
/// rows (weight −1) come first, then their new rows (+1), each in group order; `groups`
/// numbers each row's group, so that a group's two rows can be paired without a lookup.
pub struct AggregateChanges {
    pub rows: RecordBatch,
    pub weights: Int64Array,
    pub rowtimes: Int64Array,
    pub groups: UInt32Array,
    pub state: StateBatch,
}

impl GroupBy {
    pub fn new(
        plan: AggregatePlan,
        query_id: &str,
        append_only: bool,
        budget: Arc<CacheBudget>,
    ) -> EngineResult<Self> {
        let group_count = plan.group_exprs.len();
        let group_schema = Arc::new(Schema::new(
            plan.aggregate_schema.fields()[..group_count]
                .iter()
                .map(|field| field.as_ref().clone().with_nullable(true))
                .collect::<Vec<Field>>(),
        ));
        let specs = plan
            .aggregates
            .iter()
            .map(|call| spec_of(call, &plan.input_schema))
            .collect::<EngineResult<Vec<_>>>()?;
        // Surfaces an unsupported argument type now, at CREATE, not at the first row.
        for spec in &specs {
            Accumulator::new(spec.function, spec.input_type.clone()).map_err(plan_error)?;
        }
        Ok(GroupBy {
            plan,
            specs,
            append_only,
            group_schema,
            state_prefix: format!("q/{query_id}/g/").into_bytes(),
            cache: HashMap::new(),
            cache_bytes: 0,
            cache_is_complete: None,
            budget,
            epochs: 0,
        })
    }

    pub fn plan(&self) -> &AggregatePlan {
        &self.plan
    }

    pub fn begin_epoch(&self) -> EngineResult<Epoch> {
        Ok(Epoch {
            interner: new_group_values(self.group_schema.clone(), &GroupOrdering::None)?,
            pending: Vec::new(),
        })
    }

    /// Adds a batch of input rows (the source's queryable schema) with their weights (None:
    /// all +1) to the epoch. Rows whose group key has a NULL are dropped, as in ksqlDB.
    pub fn add(
        &self,
        epoch: &mut Epoch,
        queryable: RecordBatch,
        weights: Option<&Int64Array>,
    ) -> EngineResult<()> {
        let rowtimes = int64_column(&queryable, ROWTIME)?;
        let offsets = int64_column(&queryable, ROWOFFSET)?;
        let partitions = queryable
            .column_by_name(ROWPARTITION)
            .and_then(|column| column.as_primitive_opt::<arrow::datatypes::Int32Type>())
            .ok_or_else(|| EngineError::Internal("input rows lack rowpartition".into()))?
            .clone();
        let (rows, sources) = apply_steps_tracked(&self.plan.input_steps, queryable)?;
        if rows.num_rows() == 0 {
            return Ok(());
        }
        let keys = self
            .plan
            .group_exprs
            .iter()
            .map(|expr| expr.evaluate(&rows)?.into_array(rows.num_rows()))
            .collect::<Result<Vec<_>, _>>()?;
        let args = self
            .plan
            .aggregates
            .iter()
            .map(|call| {
                call.args
                    .first()
                    .map(|arg| arg.evaluate(&rows)?.into_array(rows.num_rows()))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        let keyed = null_free_rows(&keys);
        let keep = |array: &ArrayRef| -> EngineResult<ArrayRef> {
            Ok(match &keyed {
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
            return Ok(());
        }
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
        epoch.interner.intern(&keys, &mut groups)?;
        let weights = sources
            .values()
            .iter()
            .map(|&row| weights.map_or(1, |weights| weights.value(row as usize)))
            .collect();
        // An input position that orders rows for LATEST_BY_OFFSET and COLLECT_LIST: the
        // offset, then the partition (at most 256 partitions fit in the low byte).
        let sequences = sources
            .values()
            .iter()
            .map(|&row| {
                let row = row as usize;
                ((offsets.value(row) as u64) << 8) | (partitions.value(row) as u64 & 0xff)
            })
            .collect();
        let rowtimes = take(&rowtimes, sources, None)?
            .as_primitive::<Int64Type>()
            .clone();
        epoch.pending.push(Pending {
            groups,
            args,
            weights,
            sequences,
            rowtimes,
        });
        Ok(())
    }

    /// Ends the epoch: the aggregate's changes and the state changes that go with them.
    pub fn finish_epoch(
        &mut self,
        mut epoch: Epoch,
        state: &dyn StateStore,
    ) -> EngineResult<AggregateChanges> {
        let group_total = epoch.interner.len();
        let group_keys = epoch.interner.emit(EmitTo::All)?;
        let encoded_keys: Vec<Vec<u8>> = match group_total {
            0 => Vec::new(),
            rows => encode_keys(&group_keys, rows)?
                .iter()
                .map(<[u8]>::to_vec)
                .collect(),
        };
        let mut row_counts = Accumulator::new(AggregateFunction::CountStar, None)
            .map_err(|error| EngineError::Internal(error.to_string()))?;
        let mut accumulators = self
            .specs
            .iter()
            .map(|spec| {
                let accumulator = Accumulator::new(spec.function, spec.input_type.clone())?;
                Ok(match self.append_only {
                    true => accumulator.append_only(),
                    false => accumulator,
                })
            })
            .collect::<Result<Vec<_>, crate::aggregate::AggregateError>>()
            .map_err(|error| EngineError::Internal(error.to_string()))?;
        let cache_is_complete = match self.cache_is_complete {
            Some(complete) => complete,
            None => {
                let stored_any = state
                    .iter_prefix(Keyspace::State, &self.state_prefix)
                    .next()
                    .transpose()?
                    .is_some();
                *self.cache_is_complete.insert(!stored_any)
            }
        };
        let mut rowtimes = vec![i64::MIN; group_total];
        let mut existed = vec![false; group_total];
        // Cached states load as they are; the groups the cache lacks are read together.
        let mut uncached = Vec::new();
        for (group, key) in encoded_keys.iter().enumerate() {
            let stored = match self.cache.get(key) {
                Some(cached) => cached.state.as_deref(),
                None if cache_is_complete => None,
                None => {
                    uncached.push(group);
                    None
                }
            };
            if let Some(bytes) = stored {
                rowtimes[group] = load_group(bytes, group, &mut row_counts, &mut accumulators)?;
                existed[group] = true;
            }
        }
        if !uncached.is_empty() {
            let keys: Vec<Vec<u8>> = uncached
                .iter()
                .map(|&group| self.state_key(&encoded_keys[group]))
                .collect();
            let stored = state.get_many(Keyspace::State, &keys)?;
            for (group, bytes) in uncached.into_iter().zip(stored) {
                if let Some(bytes) = bytes {
                    rowtimes[group] =
                        load_group(&bytes, group, &mut row_counts, &mut accumulators)?;
                    existed[group] = true;
                }
            }
        }
        let before: Vec<usize> = (0..group_total).filter(|&group| existed[group]).collect();
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
        let after: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&group| counts.value(group) > 0)
            .collect();
        let after_rows = self.results(&group_keys, &after, &accumulators)?;
        let after_rowtimes: Vec<i64> = after.iter().map(|&group| rowtimes[group]).collect();
        let mut state_changes = StateBatch::default();
        let cached_before = self.cache_bytes;
        self.epochs += 1;
        for (group, key) in encoded_keys.into_iter().enumerate() {
            let state_key = self.state_key(&key);
            let new_state = if counts.value(group) > 0 {
                let bytes = save_group(rowtimes[group], group, &row_counts, &accumulators);
                state_changes.put(Keyspace::State, state_key, bytes.clone());
                Some(bytes)
            } else if existed[group] {
                state_changes.delete(Keyspace::State, state_key);
                None
            } else if counts.value(group) < 0 {
                return Err(EngineError::Internal(format!(
                    "a group of the aggregation has {} rows",
                    counts.value(group)
                )));
            } else {
                continue;
            };
            let cached = CachedState {
                epoch: self.epochs,
                state: new_state,
            };
            let key_len = key.len();
            self.cache_bytes += cached.bytes(key_len);
            if let Some(old) = self.cache.insert(key, cached) {
                self.cache_bytes -= old.bytes(key_len);
            }
        }
        let used = if self.cache_bytes >= cached_before {
            self.budget
                .used
                .fetch_add(self.cache_bytes - cached_before, Ordering::Relaxed)
                + (self.cache_bytes - cached_before)
        } else {
            self.budget
                .used
                .fetch_sub(cached_before - self.cache_bytes, Ordering::Relaxed)
                - (cached_before - self.cache_bytes)
        };
        if used > self.budget.limit {
            // Older states are committed by the time the next epoch reads; this epoch's may
            // not be yet, so they stay.
            let epoch = self.epochs;
            self.cache.retain(|_, cached| cached.epoch == epoch);
            self.cache_is_complete = Some(false);
            let kept: usize = self
                .cache
                .iter()
                .map(|(key, cached)| cached.bytes(key.len()))
                .sum();
            self.budget
                .used
                .fetch_sub(self.cache_bytes - kept, Ordering::Relaxed);
            self.cache_bytes = kept;
        }
        let rows = concat_batches(&self.plan.aggregate_schema, [&before_rows, &after_rows])?;
        let weights: Int64Array = std::iter::repeat_n(-1, before.len())
            .chain(std::iter::repeat_n(1, after.len()))
            .collect();
        let rowtimes =
            Int64Array::from_iter_values(before_rowtimes.into_iter().chain(after_rowtimes));
        let groups =
            UInt32Array::from_iter_values(before.iter().chain(&after).map(|&group| group as u32));
        Ok(AggregateChanges {
            rows,
            weights,
            rowtimes,
            groups,
            state: state_changes,
        })
    }

    /// The aggregate's rows for `groups`: their keys, then each aggregate's result.
    fn results(
        &self,
        group_keys: &[ArrayRef],
        groups: &[usize],
        accumulators: &[Accumulator],
    ) -> EngineResult<RecordBatch> {
        let indices = UInt32Array::from_iter_values(groups.iter().map(|&group| group as u32));
        let mut columns = group_keys
            .iter()
            .map(|keys| take(keys, &indices, None))
            .collect::<Result<Vec<_>, _>>()?;
        for (accumulator, spec) in accumulators.iter().zip(&self.specs) {
            let values = accumulator.evaluate(groups).map_err(data_error)?;
            // Eddy's accumulators type results as DataFusion does; a cast covers any gap.
            columns.push(if accumulator.output_type() == &spec.output_type {
                values
            } else {
                cast(&values, &spec.output_type)?
            });
        }
        let options = arrow::array::RecordBatchOptions::new().with_row_count(Some(groups.len()));
        Ok(RecordBatch::try_new_with_options(
            self.plan.aggregate_schema.clone(),
            columns,
            &options,
        )?)
    }

    fn state_key(&self, key: &[u8]) -> Vec<u8> {
        [self.state_prefix.as_slice(), key].concat()
    }
}

/// Where a query's group states live, for deleting them with the query.
pub fn state_prefix(query_id: &str) -> Vec<u8> {
    format!("q/{query_id}/").into_bytes()
}

fn spec_of(call: &AggregateCall, input_schema: &SchemaRef) -> EngineResult<AggregateSpec> {
    let unsupported =
        |feature: String| -> EngineError { PlanError::Unsupported { feature }.into() };
    let literal_k = match call.constant_args.get(1) {
        Some(Some(value)) => value
            .cast_to(&DataType::Int64)
            .ok()
            .and_then(|value| match value {
                ScalarValue::Int64(k) => k,
                _ => None,
            }),
        _ => None,
    };
    let function = if call.distinct {
        match call.function.as_str() {
            "count" => AggregateFunction::CountDistinct,
            "min" | "max" => AggregateFunction::from_name(&call.function, call.args.len(), None)
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
        AggregateFunction::from_name(&call.function, call.args.len(), literal_k)
            .map_err(plan_error)?
            .ok_or_else(|| {
                unsupported(format!(
                    "the aggregate function {} in a persistent or push query",
                    call.function.to_uppercase()
                ))
            })?
    };
    let input_type = match call.args.first() {
        Some(arg) => Some(arg.data_type(input_schema)?),
        None => None,
    };
    Ok(AggregateSpec {
        function,
        input_type,
        output_type: call.output.data_type().clone(),
    })
}

fn plan_error(error: crate::aggregate::AggregateError) -> EngineError {
    PlanError::Invalid {
        message: error.to_string(),
    }
    .into()
}

fn data_error(error: crate::aggregate::AggregateError) -> EngineError {
    crate::error::DataError::OutOfRange(error.to_string()).into()
}

fn int64_column(batch: &RecordBatch, name: &str) -> EngineResult<Int64Array> {
    batch
        .column_by_name(name)
        .and_then(|column| column.as_primitive_opt::<Int64Type>())
        .cloned()
        .ok_or_else(|| EngineError::Internal(format!("input rows lack {name}")))
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
    use arrow::array::Int64Array;
    use eddy_parser::Statement;
    use eddy_planner::{Dataflow, SourceDef, lower};

    use super::*;
    use crate::batches::with_pseudo_columns;
    use crate::engine::{Engine, open_with_source};

    /// `SELECT g, COUNT(*) FROM items GROUP BY g` over a table (rows come with weights), with
    /// a cache budget so small that every epoch trims the cache, and the engine whose state
    /// store it reads. The tests never commit an epoch unless they say so: the query computes
    /// an epoch while the one before is still being committed.
    async fn count_per_group() -> (tempfile::TempDir, Arc<Engine>, GroupBy, SourceDef) {
        count_per_group_within(1).await
    }

    /// `count_per_group` with a cache budget of `budget` bytes.
    async fn count_per_group_within(
        budget: usize,
    ) -> (tempfile::TempDir, Arc<Engine>, GroupBy, SourceDef) {
        let (directory, engine, items) = open_with_source(
            "CREATE TABLE items (id BIGINT PRIMARY KEY, g BIGINT) WITH (PARTITIONS = 1)",
            "items",
        )
        .await;
        let parsed = eddy_parser::parse_sql("SELECT g, COUNT(*) AS n FROM items GROUP BY g")
            .expect("parses")
            .pop()
            .expect("one statement");
        let Statement::Select(select) = parsed.statement else {
            panic!("a SELECT")
        };
        let plan = engine
            .planner
            .plan_query(&select.query)
            .await
            .expect("plans");
        let Dataflow::Aggregate(aggregate) = lower(&plan, false).expect("lowers") else {
            panic!("an aggregate")
        };
        let group_by = GroupBy::new(aggregate, "test", false, Arc::new(CacheBudget::new(budget)))
            .expect("a GROUP BY");
        (directory, engine, group_by, items)
    }

    /// A state store that counts its point reads.
    #[derive(Debug)]
    struct CountingReads {
        store: Arc<dyn StateStore>,
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
    }

    /// One epoch of (id, g, weight) rows: its changes as (g, n, weight), and its state changes.
    fn run_epoch(
        group_by: &mut GroupBy,
        items: &SourceDef,
        state: &dyn StateStore,
        rows: &[(i64, i64, i64)],
    ) -> (Vec<(i64, i64, i64)>, StateBatch) {
        let column = |values: Vec<i64>| Arc::new(Int64Array::from(values)) as ArrayRef;
        let stored = RecordBatch::try_new(
            items.row_schema(),
            vec![
                column(rows.iter().map(|row| row.0).collect()),
                column(rows.iter().map(|row| row.1).collect()),
                column(vec![0; rows.len()]),
            ],
        )
        .expect("rows");
        let queryable =
            with_pseudo_columns(&stored, &items.queryable_schema(), 0, 0).expect("queryable");
        let weights = Int64Array::from(rows.iter().map(|row| row.2).collect::<Vec<_>>());
        let mut epoch = group_by.begin_epoch().expect("an epoch");
        group_by
            .add(&mut epoch, queryable, Some(&weights))
            .expect("adds");
        let changes = group_by.finish_epoch(epoch, state).expect("finishes");
        let groups = changes.rows.column(0).as_primitive::<Int64Type>();
        let counts = changes.rows.column(1).as_primitive::<Int64Type>();
        let triples = (0..changes.rows.num_rows())
            .map(|row| {
                (
                    groups.value(row),
                    counts.value(row),
                    changes.weights.value(row),
                )
            })
            .collect();
        (triples, changes.state)
    }

    #[tokio::test]
    async fn an_epoch_sees_the_last_epochs_states_before_they_are_committed() {
        let (_directory, engine, mut group_by, items) = count_per_group().await;
        let state = engine.store.state();
        let (first, _) = run_epoch(&mut group_by, &items, state.as_ref(), &[(1, 7, 1)]);
        assert_eq!(first, vec![(7, 1, 1)]);
        // The first epoch's states are not in the store, and the cache is over its budget.
        let (second, _) = run_epoch(&mut group_by, &items, state.as_ref(), &[(2, 7, 1)]);
        assert_eq!(second, vec![(7, 1, -1), (7, 2, 1)]);
    }

    #[tokio::test]
    async fn a_group_deleted_by_the_last_epoch_stays_deleted_before_it_is_committed() {
        let (_directory, engine, mut group_by, items) = count_per_group().await;
        let state = engine.store.state();
        let (_, committed) = run_epoch(&mut group_by, &items, state.as_ref(), &[(1, 7, 1)]);
        state.commit(committed).expect("commits");
        let (removed, _) = run_epoch(&mut group_by, &items, state.as_ref(), &[(1, 7, -1)]);
        assert_eq!(removed, vec![(7, 1, -1)]);
        // The store still holds the group; the epoch that deleted it is not committed.
        let (again, _) = run_epoch(&mut group_by, &items, state.as_ref(), &[(1, 7, 1)]);
        assert_eq!(again, vec![(7, 1, 1)]);
    }

    #[tokio::test]
    async fn a_new_querys_groups_are_not_read_back_until_its_cache_is_trimmed() {
        let (_directory, engine, mut group_by, items) = count_per_group_within(1 << 20).await;
        let state = CountingReads {
            store: engine.store.state().clone(),
            gets: AtomicUsize::new(0),
        };
        let (_, committed) = run_epoch(&mut group_by, &items, &state, &[(1, 7, 1), (2, 8, 1)]);
        state.commit(committed).expect("commits");
        let (changes, _) = run_epoch(&mut group_by, &items, &state, &[(3, 7, 1), (4, 9, 1)]);
        assert_eq!(changes, vec![(7, 1, -1), (7, 2, 1), (9, 1, 1)]);
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
        let (changes, _) = run_epoch(&mut restarted, &items, &state, &[(5, 8, 1)]);
        assert_eq!(changes, vec![(8, 1, -1), (8, 2, 1)]);
        assert_eq!(state.gets.load(Ordering::Relaxed), 1);
    }
}
