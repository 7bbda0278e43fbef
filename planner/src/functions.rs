//! ksqlDB's aggregate functions that DataFusion lacks, as `AggregateUDF`s registered in Eddy's
//! `SessionState`, so that pull queries (which DataFusion runs in batch) can call them. The
//! statistics (STDDEV_SAMP, CORRELATION, HISTOGRAM) are in `stats`.
//!
//! The incremental implementation used by push and persistent queries must give exactly the
//! same results, so these are the semantics of both:
//!
//! - `count_distinct(x)` → BIGINT: the number of distinct non-null values; 0 for no rows or
//!   only NULLs.
//! - `collect_list(x)` → ARRAY<x>: every value, NULLs included, in input order; an empty list
//!   for no rows.
//! - `collect_set(x)` → ARRAY<x>: the distinct non-null values in ascending order; an empty
//!   list when there are none.
//! - `topk(x, k)` → ARRAY<x>: the k greatest non-null values, greatest first, duplicates kept
//!   (all of them when there are fewer than k); an empty list when there are none. k must be
//!   a positive integer literal.
//! - `topkdistinct(x, k)` → ARRAY<x>: the k greatest distinct non-null values, greatest first
//!   (ksqlDB's TopkDistinctKudaf).
//! - `latest_by_offset(x)` → x: the last non-null value in input order; NULL when there is
//!   none. `latest_by_offset(x, ignore_nulls)` with `false` counts NULLs as values;
//!   `latest_by_offset(x, n [, ignore_nulls])` → ARRAY<x>: the last n values in input order
//!   (ksqlDB's LatestByOffset UDAF). n and ignore_nulls must be literals, n at least 1.
//! - `earliest_by_offset(x ..)`: the same with the first values.
//!
//! An ARRAY is an Arrow list whose item field is named "item" and is nullable. Values are
//! equal and ordered as Arrow's row format compares them: numbers, decimals, dates, times and
//! timestamps by value; strings and bytes bytewise (strings so by code point); false before
//! true; doubles by IEEE 754 totalOrder (-0.0 before 0.0, NaN after infinity and equal to
//! itself); lists and structs element by element, NULL elements first. Input order is the
//! order in which rows reach the aggregate; partial states of a two-phase aggregation are
//! merged in the order they arrive, as if their rows had arrived in that order. A FILTER
//! clause only keeps rows from reaching the aggregate.
//!
//! Never: retract rows (these are not window functions); ignore part of a call (DISTINCT or
//! ORDER BY inside one is rejected, not dropped); or panic on what a user wrote: a bad call is
//! an error while the query is planned, and again if an accumulator is ever made for it.

use std::cmp::Reverse;
use std::collections::{BTreeSet, BinaryHeap, VecDeque};
use std::mem::{size_of, size_of_val};
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, new_empty_array};
use arrow::compute::concat;
use arrow::datatypes::{DataType, Field, FieldRef};
use arrow::row::{RowConverter, RowParser, SortField};
use datafusion::common::config::ConfigOptions;
use datafusion::common::tree_node::{TreeNode, TreeNodeRecursion};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{
    DataFusionError, Result, ScalarValue, internal_datafusion_err, internal_err,
    plan_datafusion_err, plan_err,
};
use datafusion::execution::SessionStateBuilder;
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Expr, LogicalPlan, Signature, TypeSignature,
    Volatility,
};
use datafusion::optimizer::AnalyzerRule;
use datafusion::physical_expr::expressions::Literal;

use self::stats::{Statistic, StatisticKind};
pub use self::stats::{histogram_map, histogram_type};

mod stats;

/// Adds ksqlDB's functions (scalar ones from `scalar`, the aggregates of this module) and
/// operators (`operators`) to a session being built, next to DataFusion's own, and the
/// analyzer rule that rejects bad calls of the aggregates while a query is planned.
pub fn with_ksql_aggregates(mut builder: SessionStateBuilder) -> SessionStateBuilder {
    // Registered after DataFusion's functions of the same names, so they replace them.
    builder
        .scalar_functions()
        .get_or_insert_with(Vec::new)
        .extend(crate::scalar::ksql_scalar_functions());
    builder
        .scalar_functions()
        .get_or_insert_with(Vec::new)
        .push(crate::postgres::version());
    // ksqlDB's TRANSFORM, FILTER and REDUCE, of an ARRAY and of a MAP.
    builder
        .higher_order_functions()
        .get_or_insert_with(Vec::new)
        .extend(crate::scalar::ksql_higher_order_functions());
    // First, so that ksqlDB's meaning of an operator wins over DataFusion's planners.
    builder
        .expr_planners()
        .get_or_insert_with(Vec::new)
        .insert(0, Arc::new(crate::operators::KsqlOperators));
    builder
        .aggregate_functions()
        .get_or_insert_with(Vec::new)
        .extend(
            Kind::ALL
                .into_iter()
                .map(|kind| Arc::new(AggregateUDF::from(KsqlAggregate::new(kind)))),
        );
    builder
        .aggregate_functions()
        .get_or_insert_with(Vec::new)
        .extend(
            [
                StatisticKind::StddevSamp,
                StatisticKind::Correlation,
                StatisticKind::Histogram,
            ]
            .map(|kind| Arc::new(AggregateUDF::from(Statistic::new(kind)))),
        );
    // WINDOWSTART and WINDOWEND of a windowed aggregation.
    builder
        .aggregate_functions()
        .get_or_insert_with(Vec::new)
        .extend(crate::window::bound_functions());
    builder
        .with_analyzer_rule(Arc::new(CheckKsqlAggregateCalls))
        .with_analyzer_rule(Arc::new(crate::casts::KsqlDecimalCasts))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    CountDistinct,
    CollectList,
    CollectSet,
    TopK,
    TopKDistinct,
    LatestByOffset,
    EarliestByOffset,
}

impl Kind {
    const ALL: [Kind; 7] = [
        Kind::CountDistinct,
        Kind::CollectList,
        Kind::CollectSet,
        Kind::TopK,
        Kind::TopKDistinct,
        Kind::LatestByOffset,
        Kind::EarliestByOffset,
    ];

    /// The name DataFusion looks the function up by: lower case, as unquoted identifiers fold.
    fn name(self) -> &'static str {
        match self {
            Kind::CountDistinct => "count_distinct",
            Kind::CollectList => "collect_list",
            Kind::CollectSet => "collect_set",
            Kind::TopK => "topk",
            Kind::TopKDistinct => "topkdistinct",
            Kind::LatestByOffset => "latest_by_offset",
            Kind::EarliestByOffset => "earliest_by_offset",
        }
    }
}

/// One of the functions; a single type so that the analyzer rule recognizes all of them.
#[derive(Debug, PartialEq, Eq, Hash)]
struct KsqlAggregate {
    kind: Kind,
    signature: Signature,
}

impl KsqlAggregate {
    fn new(kind: Kind) -> Self {
        let signature = match kind {
            Kind::TopK | Kind::TopKDistinct => Signature::any(2, Volatility::Immutable),
            Kind::LatestByOffset | Kind::EarliestByOffset => Signature::one_of(
                (1..=3).map(TypeSignature::Any).collect(),
                Volatility::Immutable,
            ),
            _ => Signature::any(1, Volatility::Immutable),
        };
        Self { kind, signature }
    }

    /// A call of this function that cannot run, and why.
    fn bad_call(&self, message: String) -> DataFusionError {
        plan_datafusion_err!("{}: {message}", self.kind.name())
    }

    fn check_call_options(&self, distinct: bool, ordered: bool) -> Result<()> {
        if distinct {
            return plan_err!("{} does not take DISTINCT", self.kind.name());
        }
        if ordered {
            return plan_err!("{} does not take ORDER BY", self.kind.name());
        }
        Ok(())
    }
}

impl AggregateUDFImpl for KsqlAggregate {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let Some(value_type) = arg_types.first() else {
            return plan_err!("{} takes the value to aggregate", self.kind.name());
        };
        Ok(match self.kind {
            Kind::CountDistinct => DataType::Int64,
            Kind::CollectList | Kind::CollectSet | Kind::TopK | Kind::TopKDistinct => {
                list_type(value_type)
            }
            Kind::LatestByOffset | Kind::EarliestByOffset => {
                match arg_types.get(1).is_some_and(DataType::is_integer) {
                    true => list_type(value_type),
                    false => value_type.clone(),
                }
            }
        })
    }

    fn is_nullable(&self) -> bool {
        true
    }

    /// The result for no rows (DataFusion uses it where an aggregate sees no group at all).
    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        match self.kind {
            // 0, or an empty list.
            Kind::CountDistinct
            | Kind::CollectList
            | Kind::CollectSet
            | Kind::TopK
            | Kind::TopKDistinct => ScalarValue::new_default(data_type),
            // An empty list for the n-value forms, NULL for the others.
            Kind::LatestByOffset | Kind::EarliestByOffset => match data_type {
                DataType::List(_) => ScalarValue::new_default(data_type),
                _ => ScalarValue::try_from(data_type),
            },
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let state_type = match self.kind {
            // The distinct values themselves: partial counts could not be added up without
            // counting a value seen by two partitions twice.
            Kind::CountDistinct => match args.input_fields.first() {
                Some(value) => list_type(value.data_type()),
                None => return internal_err!("count_distinct has no argument"),
            },
            // The values kept so far, in input order: "no value yet" differs from NULL.
            Kind::LatestByOffset | Kind::EarliestByOffset => match args.input_fields.first() {
                Some(value) => list_type(value.data_type()),
                None => return internal_err!("{} has no argument", self.kind.name()),
            },
            _ => args.return_type().clone(),
        };
        let name = format_state_name(args.name, "state");
        Ok(vec![Arc::new(Field::new(name, state_type, true))])
    }

    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        self.check_call_options(args.is_distinct, !args.order_bys.is_empty())?;
        let Some(value_field) = args.expr_fields.first() else {
            return internal_err!("{} has no argument", self.kind.name());
        };
        let value_type = value_field.data_type();
        Ok(match self.kind {
            Kind::CountDistinct => Box::new(EncodedValuesAccumulator::distinct(
                value_type,
                DistinctResult::Count,
            )?),
            Kind::CollectSet => Box::new(EncodedValuesAccumulator::distinct(
                value_type,
                DistinctResult::AscendingList,
            )?),
            Kind::TopK | Kind::TopKDistinct => {
                let k =
                    top_k(literal_argument(&args, 1)).map_err(|message| self.bad_call(message))?;
                match self.kind {
                    Kind::TopK => Box::new(EncodedValuesAccumulator::greatest(value_type, k)?),
                    _ => Box::new(EncodedValuesAccumulator::distinct(
                        value_type,
                        DistinctResult::Greatest(k),
                    )?),
                }
            }
            Kind::CollectList => Box::new(CollectListAccumulator::new(value_type)),
            Kind::LatestByOffset | Kind::EarliestByOffset => {
                let keep = match self.kind {
                    Kind::LatestByOffset => Keep::Latest,
                    _ => Keep::Earliest,
                };
                let options = ByOffset::of_arguments(
                    (1..args.exprs.len()).map(|position| literal_argument(&args, position)),
                )
                .map_err(|message| self.bad_call(message))?;
                Box::new(ByOffsetAccumulator::new(value_type, keep, options))
            }
        })
    }
}

/// The value of a call's argument at `position` when it is a literal.
fn literal_argument<'a>(args: &'a AccumulatorArgs, position: usize) -> Option<&'a ScalarValue> {
    args.exprs
        .get(position)
        .and_then(|argument| argument.downcast_ref::<Literal>())
        .map(Literal::value)
}

/// What LATEST_BY_OFFSET and EARLIEST_BY_OFFSET answer, from their optional arguments
/// (ksqlDB's LatestByOffset and EarliestByOffset UDAFs): one value (`count` None), or the
/// `count` latest (earliest) values as an ARRAY in input order; NULL inputs are skipped when
/// `ignore_nulls` (the default), else they are values like any other. Pull, push and
/// persistent queries read a call's options here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ByOffset {
    pub count: Option<usize>,
    pub ignore_nulls: bool,
}

impl ByOffset {
    /// `LATEST_BY_OFFSET(x)`: the one value, NULLs skipped.
    pub const ONE: ByOffset = ByOffset {
        count: None,
        ignore_nulls: true,
    };

    /// The options the arguments after the value give, each `Some` when it is a literal;
    /// the error says why they are no options.
    pub fn of_arguments<'a>(
        optional: impl IntoIterator<Item = Option<&'a ScalarValue>>,
    ) -> std::result::Result<ByOffset, String> {
        let arguments: Vec<&ScalarValue> = optional
            .into_iter()
            .collect::<Option<_>>()
            .ok_or("its optional arguments must be literals")?;
        let count = |value: &ScalarValue| match integer_literal(value) {
            Some(count) if count >= 1 => usize::try_from(count)
                .map_err(|_| format!("{count} values are more than this machine allows")),
            _ => Err(format!(
                "the number of values must be 1 or greater, not {value}"
            )),
        };
        match arguments.as_slice() {
            [] => Ok(ByOffset::ONE),
            [ScalarValue::Boolean(Some(ignore_nulls))] => Ok(ByOffset {
                count: None,
                ignore_nulls: *ignore_nulls,
            }),
            [n] => Ok(ByOffset {
                count: Some(count(n)?),
                ignore_nulls: true,
            }),
            [n, ScalarValue::Boolean(Some(ignore_nulls))] => Ok(ByOffset {
                count: Some(count(n)?),
                ignore_nulls: *ignore_nulls,
            }),
            _ => Err(
                "it takes a value, then optionally how many values (an integer) and \
                 whether to ignore NULLs (a boolean)"
                    .into(),
            ),
        }
    }
}

/// An integer literal's value.
fn integer_literal(value: &ScalarValue) -> Option<i64> {
    if !value.data_type().is_integer() {
        return None;
    }
    match value.cast_to(&DataType::Int64).ok()? {
        ScalarValue::Int64(integer) => integer,
        _ => None,
    }
}

/// TOPK's and TOPKDISTINCT's k, from the literal given for it (`None` when the argument is
/// not a literal): a positive integer. The error says why it is not.
pub fn top_k(k: Option<&ScalarValue>) -> std::result::Result<usize, String> {
    let limit = k
        .and_then(integer_literal)
        .filter(|&limit| limit > 0)
        .and_then(|limit| usize::try_from(limit).ok());
    if let Some(limit) = limit {
        return Ok(limit);
    }
    let got = match k {
        Some(k) if k.data_type().is_integer() => k.to_string(),
        Some(k) => format!("{k} of type {}", k.data_type()),
        None => "an expression".to_string(),
    };
    Err(format!("k must be a positive integer literal, got {got}"))
}

/// Rejects the calls that `KsqlAggregate::accumulator` would reject, while the query is
/// planned: a persistent query then fails at CREATE rather than at its first row, and a pull
/// query over a source without rows fails as one with rows does.
#[derive(Debug)]
struct CheckKsqlAggregateCalls;

impl AnalyzerRule for CheckKsqlAggregateCalls {
    fn analyze(&self, plan: LogicalPlan, _config: &ConfigOptions) -> Result<LogicalPlan> {
        plan.apply_with_subqueries(|node| {
            node.apply_expressions(|expr| {
                expr.apply(|expr| {
                    if let Expr::AggregateFunction(call) = expr
                        && let Some(function) = call.func.inner().downcast_ref::<KsqlAggregate>()
                    {
                        function.check_call_options(
                            call.params.distinct,
                            !call.params.order_by.is_empty(),
                        )?;
                        let literal = |position: usize| match call.params.args.get(position) {
                            Some(Expr::Literal(value, _)) => Some(value),
                            _ => None,
                        };
                        let checked = match function.kind {
                            Kind::TopK | Kind::TopKDistinct => top_k(literal(1)).map(|_| ()),
                            Kind::LatestByOffset | Kind::EarliestByOffset => {
                                ByOffset::of_arguments((1..call.params.args.len()).map(literal))
                                    .map(|_| ())
                            }
                            _ => Ok(()),
                        };
                        checked.map_err(|message| function.bad_call(message))?;
                    }
                    Ok(TreeNodeRecursion::Continue)
                })
            })
        })?;
        Ok(plan)
    }

    fn name(&self) -> &str {
        "check_ksql_aggregate_calls"
    }
}

fn list_type(item_type: &DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item_type.clone(), true)))
}

/// One list holding `values`, of the type `list_type` gives.
fn list_scalar(values: ArrayRef) -> ScalarValue {
    SingleRowListArrayBuilder::new(values).build_list_scalar()
}

/// The column of the aggregated value: the first argument, or the one state column.
fn first_column(columns: &[ArrayRef]) -> Result<&ArrayRef> {
    columns
        .first()
        .ok_or_else(|| internal_datafusion_err!("an aggregate got no column"))
}

/// The partial states of the list-valued accumulators, one list per partial state.
fn state_lists(states: &[ArrayRef]) -> Result<&ListArray> {
    first_column(states)?
        .as_list_opt::<i32>()
        .ok_or_else(|| internal_datafusion_err!("an aggregate's state is not a list"))
}

/// Positions of the non-null values. Logical nulls, because a `NullArray` (the type of a
/// NULL literal) has no validity buffer yet holds only NULLs.
fn value_positions(values: &dyn Array) -> impl DoubleEndedIterator<Item = usize> + use<> {
    let nulls = values.logical_nulls();
    (0..values.len())
        .filter(move |&position| nulls.as_ref().is_none_or(|nulls| nulls.is_valid(position)))
}

/// Values of one type as byte strings that are equal and ordered exactly as the values are
/// (Arrow's row format), so that sets and top lists keep no Arrow array per value.
#[derive(Debug)]
struct RowCodec {
    converter: RowConverter,
    parser: RowParser,
}

impl RowCodec {
    fn new(value_type: &DataType) -> Result<Self> {
        let converter = RowConverter::new(vec![SortField::new(value_type.clone())])?;
        let parser = converter.parser();
        Ok(Self { converter, parser })
    }

    /// Calls `each` with the encoding of every non-null value of `values`, in order.
    fn for_each_value(&self, values: &ArrayRef, mut each: impl FnMut(&[u8])) -> Result<()> {
        let rows = self
            .converter
            .convert_columns(std::slice::from_ref(values))?;
        for position in value_positions(values.as_ref()) {
            each(rows.row(position).data());
        }
        Ok(())
    }

    fn decode<'a>(&self, encoded: impl IntoIterator<Item = &'a [u8]>) -> Result<ArrayRef> {
        let rows = encoded.into_iter().map(|bytes| self.parser.parse(bytes));
        self.converter
            .convert_rows(rows)?
            .pop()
            .ok_or_else(|| internal_datafusion_err!("a one-field row decoded to no column"))
    }

    fn size(&self) -> usize {
        self.converter.size() + size_of_val(&self.parser)
    }
}

/// `count_distinct` and `collect_set` keep the distinct non-null values, `topk` the greatest
/// ones: encoded values either way, whose state is a list of them in the result's order.
#[derive(Debug)]
struct EncodedValuesAccumulator {
    codec: RowCodec,
    values: EncodedValues,
    encoded_bytes: usize,
}

/// What `count_distinct`, `collect_set` and `topkdistinct` answer from the same set.
#[derive(Debug, Clone, Copy)]
enum DistinctResult {
    Count,
    AscendingList,
    /// The k greatest, greatest first.
    Greatest(usize),
}

/// The values an `EncodedValuesAccumulator` keeps, by function.
#[derive(Debug)]
enum EncodedValues {
    /// Every distinct value, ascending.
    Distinct {
        set: BTreeSet<Box<[u8]>>,
        result: DistinctResult,
    },
    /// The `limit` greatest values, in a min-heap so that the least of them is the one a
    /// greater value replaces; the result is their list, greatest first.
    Greatest {
        heap: BinaryHeap<Reverse<Box<[u8]>>>,
        limit: usize,
    },
}

impl EncodedValuesAccumulator {
    fn distinct(value_type: &DataType, result: DistinctResult) -> Result<Self> {
        let values = EncodedValues::Distinct {
            set: BTreeSet::new(),
            result,
        };
        Self::new(value_type, values)
    }

    fn greatest(value_type: &DataType, limit: usize) -> Result<Self> {
        let values = EncodedValues::Greatest {
            heap: BinaryHeap::new(),
            limit,
        };
        Self::new(value_type, values)
    }

    fn new(value_type: &DataType, values: EncodedValues) -> Result<Self> {
        Ok(Self {
            codec: RowCodec::new(value_type)?,
            values,
            encoded_bytes: 0,
        })
    }

    fn insert(&mut self, column: &ArrayRef) -> Result<()> {
        let Self {
            codec,
            values,
            encoded_bytes,
        } = self;
        codec.for_each_value(column, |encoded| match values {
            EncodedValues::Distinct { set, result } => {
                if !set.contains(encoded) {
                    *encoded_bytes += encoded.len();
                    set.insert(encoded.into());
                }
                // Only the k greatest can be answered: rows are never retracted here.
                if let DistinctResult::Greatest(k) = result
                    && set.len() > *k
                    && let Some(least) = set.pop_first()
                {
                    *encoded_bytes -= least.len();
                }
            }
            EncodedValues::Greatest { heap, limit } => {
                if heap.len() < *limit {
                    *encoded_bytes += encoded.len();
                    heap.push(Reverse(encoded.into()));
                } else if let Some(mut least) = heap.peek_mut()
                    && encoded > &*least.0
                {
                    *encoded_bytes -= least.0.len();
                    *encoded_bytes += encoded.len();
                    *least = Reverse(encoded.into());
                }
            }
        })
    }

    /// The values as a list, in the result's order.
    fn list(&self) -> Result<ScalarValue> {
        let encoded: Vec<&[u8]> = match &self.values {
            EncodedValues::Distinct {
                set,
                result: DistinctResult::Greatest(_),
            } => set.iter().rev().map(|value| &**value).collect(),
            EncodedValues::Distinct { set, .. } => set.iter().map(|value| &**value).collect(),
            EncodedValues::Greatest { heap, .. } => {
                let mut greatest: Vec<&[u8]> = heap.iter().map(|value| &*value.0).collect();
                greatest.sort_unstable_by(|left, right| right.cmp(left));
                greatest
            }
        };
        Ok(list_scalar(self.codec.decode(encoded)?))
    }
}

impl Accumulator for EncodedValuesAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.insert(first_column(values)?)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for values in state_lists(states)?.iter().flatten() {
            self.insert(&values)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.list()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        match &self.values {
            EncodedValues::Distinct {
                set,
                result: DistinctResult::Count,
            } => {
                let count = i64::try_from(set.len())
                    .map_err(|_| internal_datafusion_err!("count_distinct overflowed BIGINT"))?;
                Ok(ScalarValue::Int64(Some(count)))
            }
            _ => self.list(),
        }
    }

    fn size(&self) -> usize {
        let held = match &self.values {
            EncodedValues::Distinct { set, .. } => set.len(),
            EncodedValues::Greatest { heap, .. } => heap.capacity(),
        };
        size_of_val(self) - size_of_val(&self.codec)
            + self.codec.size()
            + self.encoded_bytes
            + held * size_of::<Box<[u8]>>()
    }
}

/// `collect_list`: the value columns as they came, concatenated only when a result is asked
/// for. The state is the list of all values.
#[derive(Debug)]
struct CollectListAccumulator {
    value_type: DataType,
    chunks: Vec<ArrayRef>,
    chunk_bytes: usize,
}

impl CollectListAccumulator {
    fn new(value_type: &DataType) -> Self {
        Self {
            value_type: value_type.clone(),
            chunks: Vec::new(),
            chunk_bytes: 0,
        }
    }

    fn push(&mut self, values: ArrayRef) {
        if !values.is_empty() {
            self.chunk_bytes += values.get_array_memory_size();
            self.chunks.push(values);
        }
    }

    /// All values as one list, kept as the only chunk so that `state` then `evaluate` do not
    /// concatenate twice.
    fn list(&mut self) -> Result<ScalarValue> {
        let values = match self.chunks.as_slice() {
            [] => new_empty_array(&self.value_type),
            [values] => Arc::clone(values),
            chunks => {
                let chunks: Vec<&dyn Array> = chunks.iter().map(|chunk| chunk.as_ref()).collect();
                let values = concat(&chunks)?;
                self.chunks.clear();
                self.chunk_bytes = 0;
                self.push(Arc::clone(&values));
                values
            }
        };
        Ok(list_scalar(values))
    }
}

impl Accumulator for CollectListAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.push(Arc::clone(first_column(values)?));
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        for values in state_lists(states)?.iter().flatten() {
            self.push(values);
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.list()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.list()
    }

    fn size(&self) -> usize {
        size_of_val(self) - size_of_val(&self.value_type)
            + self.value_type.size()
            + self.chunks.capacity() * size_of::<ArrayRef>()
            + self.chunk_bytes
    }
}

#[derive(Debug, Clone, Copy)]
enum Keep {
    Latest,
    Earliest,
}

/// `latest_by_offset` and `earliest_by_offset`: the values kept so far (at most the count
/// the call asks for), in input order. The state is their list, so partial states merge as
/// their rows would have come, and "no value yet" differs from a NULL value.
#[derive(Debug)]
struct ByOffsetAccumulator {
    value_type: DataType,
    keep: Keep,
    options: ByOffset,
    kept: VecDeque<ScalarValue>,
}

impl ByOffsetAccumulator {
    fn new(value_type: &DataType, keep: Keep, options: ByOffset) -> Self {
        Self {
            value_type: value_type.clone(),
            keep,
            options,
            kept: VecDeque::new(),
        }
    }

    /// Takes what `values` adds to the kept values; NULLs are values unless `skip_nulls`.
    fn take_from(&mut self, values: &ArrayRef, skip_nulls: bool) -> Result<()> {
        let count = self.options.count.unwrap_or(1);
        let positions: Vec<usize> = match skip_nulls {
            true => value_positions(values.as_ref()).collect(),
            false => (0..values.len()).collect(),
        };
        let taken = match self.keep {
            Keep::Latest => &positions[positions.len().saturating_sub(count)..],
            Keep::Earliest => {
                &positions[..positions.len().min(count.saturating_sub(self.kept.len()))]
            }
        };
        for &position in taken {
            // Compacted: a list or struct value would otherwise pin its whole input batch.
            self.kept
                .push_back(ScalarValue::try_from_array(values, position)?.compacted());
            if self.kept.len() > count {
                self.kept.pop_front();
            }
        }
        Ok(())
    }

    fn kept_list(&self) -> Result<ScalarValue> {
        let values = match self.kept.is_empty() {
            true => new_empty_array(&self.value_type),
            false => ScalarValue::iter_to_array(self.kept.iter().cloned())?,
        };
        Ok(list_scalar(values))
    }
}

impl Accumulator for ByOffsetAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        self.take_from(first_column(values)?, self.options.ignore_nulls)
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let states = state_lists(states)?;
        for state in states.iter().flatten() {
            self.take_from(&state, false)?;
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.kept_list()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        if self.options.count.is_some() {
            return self.kept_list();
        }
        let value = match self.keep {
            Keep::Latest => self.kept.back(),
            Keep::Earliest => self.kept.front(),
        };
        match value {
            Some(value) => Ok(value.clone()),
            None => ScalarValue::try_from(&self.value_type),
        }
    }

    fn size(&self) -> usize {
        size_of_val(self) - size_of_val(&self.value_type)
            + self.value_type.size()
            + self.kept.capacity() * size_of::<ScalarValue>()
            + self
                .kept
                .iter()
                .map(|value| value.size() - size_of_val(value))
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{
        BinaryArray, BooleanArray, Date32Array, Decimal128Array, Float64Array, Int32Array,
        Int64Array, StringArray, StructArray, Time64MicrosecondArray, TimestampMillisecondArray,
        UInt32Array,
    };
    use arrow::buffer::NullBuffer;
    use arrow::compute::take;
    use arrow::datatypes::{Int64Type, Schema, SchemaRef};
    use arrow::record_batch::RecordBatch;
    use arrow::util::pretty::pretty_format_batches;
    use datafusion::datasource::MemTable;
    use datafusion::physical_expr::PhysicalExpr;
    use datafusion::physical_expr::expressions::Column as ColumnExpr;
    use datafusion::physical_plan::displayable;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use eddy_parser::Statement;

    use super::*;
    use crate::catalog::tests::clicks;
    use crate::error::PlanError;
    use crate::sql::tests::planner_over;

    /// A session with these functions. One partition keeps input order the tables' order.
    fn session(target_partitions: usize) -> SessionContext {
        let config = SessionConfig::new().with_target_partitions(target_partitions);
        let builder = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features();
        SessionContext::new_with_state(with_ksql_aggregates(builder).build())
    }

    fn table(
        context: &SessionContext,
        name: &str,
        schema: SchemaRef,
        partitions: Vec<Vec<RecordBatch>>,
    ) {
        let table = MemTable::try_new(schema, partitions).expect("batches match the schema");
        context
            .register_table(name, Arc::new(table))
            .expect("a fresh session takes the table");
    }

    fn batch(schema: &SchemaRef, columns: Vec<ArrayRef>) -> RecordBatch {
        RecordBatch::try_new(Arc::clone(schema), columns).expect("columns match the schema")
    }

    async fn run(context: &SessionContext, sql: &str) -> Result<String> {
        let batches = context.sql(sql).await?.collect().await?;
        Ok(pretty_format_batches(&batches)?.to_string())
    }

    async fn planning_error(context: &SessionContext, sql: &str) -> String {
        let planned = match context.sql(sql).await {
            Ok(frame) => frame.create_physical_plan().await.map(|_| ()),
            Err(error) => Err(error),
        };
        planned.expect_err("the call is rejected").to_string()
    }

    fn keyed_strings_schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("k", DataType::Int64, false),
            Field::new("s", DataType::Utf8, true),
        ]))
    }

    fn keyed_strings(
        schema: &SchemaRef,
        keys: Vec<i64>,
        strings: Vec<Option<&str>>,
    ) -> RecordBatch {
        batch(
            schema,
            vec![
                Arc::new(Int64Array::from(keys)),
                Arc::new(StringArray::from(strings)),
            ],
        )
    }

    /// Rows of `events` in input order, by key: 1: NULL b a c c NULL; 2: x; 3: NULL NULL.
    fn events(context: &SessionContext, partitions: usize) {
        let schema = keyed_strings_schema();
        let batches = vec![
            keyed_strings(
                &schema,
                vec![1, 1, 2, 3],
                vec![None, Some("b"), Some("x"), None],
            ),
            keyed_strings(&schema, vec![1, 1, 3], vec![Some("a"), Some("c"), None]),
            keyed_strings(&schema, vec![1, 1], vec![Some("c"), None]),
        ];
        let partitions = if partitions == 1 {
            vec![batches]
        } else {
            batches.into_iter().map(|batch| vec![batch]).collect()
        };
        table(context, "events", schema, partitions);
    }

    #[tokio::test]
    async fn groups_of_strings_with_nulls() -> Result<()> {
        let context = session(1);
        events(&context, 1);
        // Upper and mixed case: unquoted function names fold to lower case.
        let sql = "SELECT k, COUNT_DISTINCT(s) AS distinct_count, collect_list(s) AS list, \
                   Collect_Set(s) AS set, TOPK(s, 2) AS top2, latest_by_offset(s) AS latest, \
                   EARLIEST_BY_OFFSET(s) AS earliest FROM events GROUP BY k ORDER BY k";
        assert_eq!(
            run(&context, sql).await?,
            "\
+---+----------------+------------------+-----------+--------+--------+----------+
| k | distinct_count | list             | set       | top2   | latest | earliest |
+---+----------------+------------------+-----------+--------+--------+----------+
| 1 | 3              | [, b, a, c, c, ] | [a, b, c] | [c, c] | c      | b        |
| 2 | 1              | [x]              | [x]       | [x]    | x      | x        |
| 3 | 0              | [, ]             | []        | []     |        |          |
+---+----------------+------------------+-----------+--------+--------+----------+"
        );
        Ok(())
    }

    #[tokio::test]
    async fn no_rows_give_zero_empty_lists_and_nulls() -> Result<()> {
        let context = session(1);
        table(&context, "events", keyed_strings_schema(), vec![vec![]]);
        let sql = "SELECT count_distinct(s) AS distinct_count, collect_list(s) AS list, \
                   collect_set(s) AS set, topk(s, 3) AS top3, latest_by_offset(s) AS latest, \
                   earliest_by_offset(s) AS earliest FROM events";
        assert_eq!(
            run(&context, sql).await?,
            "\
+----------------+------+-----+------+--------+----------+
| distinct_count | list | set | top3 | latest | earliest |
+----------------+------+-----+------+--------+----------+
| 0              | []   | []  | []   |        |          |
+----------------+------+-----+------+--------+----------+"
        );
        Ok(())
    }

    #[tokio::test]
    async fn a_null_literal_is_aggregated_as_nulls() -> Result<()> {
        let context = session(1);
        events(&context, 1);
        let sql = "SELECT count_distinct(NULL) AS distinct_count, \
                   cardinality(collect_list(NULL)) AS rows, collect_set(NULL) AS set, \
                   topk(NULL, 1) AS top1, latest_by_offset(NULL) AS latest FROM events";
        assert_eq!(
            run(&context, sql).await?,
            "\
+----------------+------+-----+------+--------+
| distinct_count | rows | set | top1 | latest |
+----------------+------+-----+------+--------+
| 0              | 9    | []  | []   |        |
+----------------+------+-----+------+--------+"
        );
        Ok(())
    }

    #[tokio::test]
    async fn decimals_doubles_and_strings_compare_by_value() -> Result<()> {
        let context = session(1);
        let schema = Arc::new(Schema::new(vec![
            Field::new("d", DataType::Decimal128(10, 2), true),
            Field::new("f", DataType::Float64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let decimals = Decimal128Array::from(vec![
            Some(150),
            None,
            Some(1000),
            Some(-200),
            Some(150),
            Some(25),
        ])
        .with_precision_and_scale(10, 2)?;
        let doubles = Float64Array::from(vec![
            Some(0.0),
            Some(-0.0),
            Some(f64::NAN),
            Some(f64::NEG_INFINITY),
            Some(1.5),
            None,
        ]);
        let strings = StringArray::from(vec![
            Some("a"),
            Some("B"),
            None,
            Some("é"),
            Some("z"),
            Some("a"),
        ]);
        let rows = batch(
            &schema,
            vec![Arc::new(decimals), Arc::new(doubles), Arc::new(strings)],
        );
        table(&context, "amounts", schema, vec![vec![rows]]);

        let sql = "SELECT count_distinct(d) AS count, collect_set(d) AS set, topk(d, 3) AS top3, \
                   latest_by_offset(d) AS latest, earliest_by_offset(d) AS earliest FROM amounts";
        assert_eq!(
            run(&context, sql).await?,
            "\
+-------+----------------------------+---------------------+--------+----------+
| count | set                        | top3                | latest | earliest |
+-------+----------------------------+---------------------+--------+----------+
| 4     | [-2.00, 0.25, 1.50, 10.00] | [10.00, 1.50, 1.50] | 0.25   | 1.50     |
+-------+----------------------------+---------------------+--------+----------+"
        );
        // IEEE 754 totalOrder: -0.0 and 0.0 are distinct, NaN is the greatest.
        let sql = "SELECT count_distinct(f) AS count, collect_set(f) AS set, topk(f, 2) AS top2 \
                   FROM amounts";
        assert_eq!(
            run(&context, sql).await?,
            "\
+-------+-----------------------------+------------+
| count | set                         | top2       |
+-------+-----------------------------+------------+
| 5     | [-inf, -0.0, 0.0, 1.5, NaN] | [NaN, 1.5] |
+-------+-----------------------------+------------+"
        );
        // Strings by code point: upper case before lower case, 'é' after 'z'.
        let sql = "SELECT collect_set(s) AS set, topk(s, 2) AS top2 FROM amounts";
        assert_eq!(
            run(&context, sql).await?,
            "\
+--------------+--------+
| set          | top2   |
+--------------+--------+
| [B, a, z, é] | [é, z] |
+--------------+--------+"
        );
        Ok(())
    }

    /// Every type Eddy stores, as three rows: a greater value, NULL, a lesser value.
    fn greater_null_lesser() -> Result<Vec<ArrayRef>> {
        let list = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
            Some(vec![Some(2)]),
            None,
            Some(vec![Some(1), Some(5)]),
        ]);
        let record = StructArray::try_new(
            vec![Field::new("a", DataType::Int64, true)].into(),
            vec![Arc::new(Int64Array::from(vec![2, 0, 1]))],
            Some(NullBuffer::from(vec![true, false, true])),
        )?;
        Ok(vec![
            Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
            Arc::new(Int32Array::from(vec![Some(7), None, Some(-3)])),
            Arc::new(Int64Array::from(vec![Some(7), None, Some(-3)])),
            Arc::new(Float64Array::from(vec![Some(2.5), None, Some(-1.0)])),
            Arc::new(
                Decimal128Array::from(vec![Some(1999), None, Some(5)])
                    .with_precision_and_scale(10, 2)?,
            ),
            Arc::new(StringArray::from(vec![Some("b"), None, Some("a")])),
            Arc::new(BinaryArray::from(vec![
                Some(&[2u8][..]),
                None,
                Some(&[1u8, 255][..]),
            ])),
            Arc::new(Date32Array::from(vec![Some(19000), None, Some(18000)])),
            Arc::new(Time64MicrosecondArray::from(vec![
                Some(86_000_000_000),
                None,
                Some(1),
            ])),
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(1_700_000_000_000),
                None,
                Some(-1),
            ])),
            Arc::new(list),
            Arc::new(record),
        ])
    }

    #[tokio::test]
    async fn every_stored_type_is_aggregated() -> Result<()> {
        let columns = greater_null_lesser()?;
        let fields: Vec<Field> = columns
            .iter()
            .enumerate()
            .map(|(index, column)| {
                Field::new(format!("c{index}"), column.data_type().clone(), true)
            })
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let context = session(1);
        let rows = batch(&schema, columns.clone());
        table(&context, "all_types", Arc::clone(&schema), vec![vec![rows]]);

        let lesser_then_greater = UInt32Array::from(vec![2, 0]);
        for (index, column) in columns.iter().enumerate() {
            let sql = format!(
                "SELECT count_distinct(c{index}), collect_list(c{index}), collect_set(c{index}), \
                 topk(c{index}, 1), latest_by_offset(c{index}), earliest_by_offset(c{index}) \
                 FROM all_types"
            );
            let batches = context.sql(&sql).await?.collect().await?;
            let result = batches
                .first()
                .expect("an aggregate without GROUP BY gives a row");
            let value_type = column.data_type();
            let list = |position: usize| result.column(position).as_list::<i32>().value(0);
            let scalar = |position: usize| ScalarValue::try_from_array(result.column(position), 0);
            assert_eq!(scalar(0)?, ScalarValue::Int64(Some(2)), "{value_type}");
            assert_eq!(result.column(1).data_type(), &list_type(value_type));
            assert_eq!(&list(1), column, "collect_list of {value_type}");
            assert_eq!(
                &list(2),
                &take(column, &lesser_then_greater, None)?,
                "collect_set of {value_type}"
            );
            assert_eq!(&list(3), &column.slice(0, 1), "topk of {value_type}");
            assert_eq!(scalar(4)?, ScalarValue::try_from_array(column, 2)?);
            assert_eq!(scalar(5)?, ScalarValue::try_from_array(column, 0)?);
        }
        Ok(())
    }

    /// An accumulator made as DataFusion makes one, for a call on a column `value` and, for
    /// `topk`, the given k expression.
    fn accumulator(
        kind: Kind,
        value: &Field,
        k: Option<Arc<dyn PhysicalExpr>>,
    ) -> Result<Box<dyn Accumulator>> {
        let schema = Schema::new(vec![value.clone()]);
        let mut exprs: Vec<Arc<dyn PhysicalExpr>> =
            vec![Arc::new(ColumnExpr::new(value.name(), 0))];
        let mut fields: Vec<FieldRef> = vec![Arc::new(value.clone())];
        if let Some(k) = k {
            fields.push(k.return_field(&schema)?);
            exprs.push(k);
        }
        let function = KsqlAggregate::new(kind);
        function.accumulator(AccumulatorArgs {
            return_field: function.return_field(&fields)?,
            schema: &schema,
            ignore_nulls: false,
            order_bys: &[],
            is_reversed: false,
            name: kind.name(),
            is_distinct: false,
            exprs: &exprs,
            expr_fields: &fields,
        })
    }

    fn literal(value: i64) -> Option<Arc<dyn PhysicalExpr>> {
        Some(Arc::new(Literal::new(ScalarValue::Int64(Some(value)))))
    }

    #[test]
    fn partial_states_merge_as_if_their_rows_came_in_their_order() -> Result<()> {
        let value = Field::new("s", DataType::Utf8, true);
        let first: ArrayRef = Arc::new(StringArray::from(vec![None, Some("b"), Some("a")]));
        let second: ArrayRef = Arc::new(StringArray::from(vec![Some("c"), Some("c"), None]));
        for kind in Kind::ALL {
            let k = if matches!(kind, Kind::TopK | Kind::TopKDistinct) {
                literal(2)
            } else {
                None
            };
            let mut whole = accumulator(kind, &value, k.clone())?;
            whole.update_batch(std::slice::from_ref(&first))?;
            whole.update_batch(std::slice::from_ref(&second))?;

            // A partial state of no rows first: it must change nothing, not even for
            // earliest_by_offset.
            let mut nothing = accumulator(kind, &value, k.clone())?;
            let mut front = accumulator(kind, &value, k.clone())?;
            front.update_batch(std::slice::from_ref(&first))?;
            let mut back = accumulator(kind, &value, k.clone())?;
            back.update_batch(std::slice::from_ref(&second))?;
            let partial_states = [nothing.state()?, front.state()?, back.state()?]
                .into_iter()
                .map(|state| state.into_iter().next().expect("every state has one field"));
            let mut merged = accumulator(kind, &value, k)?;
            merged.merge_batch(&[ScalarValue::iter_to_array(partial_states)?])?;

            assert_eq!(merged.evaluate()?, whole.evaluate()?, "{}", kind.name());
            assert!(merged.size() > 0);
        }
        Ok(())
    }

    #[tokio::test]
    async fn two_phase_aggregation_merges_partial_states() -> Result<()> {
        let context = session(2);
        events(&context, 3);
        // Only results that do not depend on which partition's state arrives first.
        let sql = "SELECT k, count_distinct(s) AS distinct_count, \
                   cardinality(collect_list(s)) AS rows, collect_set(s) AS set, \
                   topk(s, 2) AS top2 FROM events GROUP BY k ORDER BY k";
        let plan = context.sql(sql).await?.create_physical_plan().await?;
        let shown = displayable(plan.as_ref()).indent(false).to_string();
        assert!(shown.contains("mode=Partial"), "{shown}");
        assert_eq!(
            run(&context, sql).await?,
            "\
+---+----------------+------+-----------+--------+
| k | distinct_count | rows | set       | top2   |
+---+----------------+------+-----------+--------+
| 1 | 3              | 6    | [a, b, c] | [c, c] |
| 2 | 1              | 1    | [x]       | [x]    |
| 3 | 0              | 2    | []        | []     |
+---+----------------+------+-----------+--------+"
        );
        Ok(())
    }

    #[tokio::test]
    async fn topk_needs_a_positive_integer_literal_at_planning() {
        let context = session(1);
        events(&context, 1);
        for (k, got) in [
            ("0", "got 0"),
            ("-1", "got -1"),
            ("k", "got an expression"),
            ("k + 1", "got an expression"),
            ("1.5", "got 1.5 of type Float64"),
            ("'2'", "got 2 of type Utf8"),
            ("NULL", "got NULL of type Null"),
        ] {
            let sql = format!("SELECT topk(s, {k}) FROM events");
            let error = planning_error(&context, &sql).await;
            assert!(
                error.contains(&format!(
                    "topk: k must be a positive integer literal, {got}"
                )),
                "{k}: {error}"
            );
        }
    }

    #[test]
    fn topk_accumulators_check_k_too() {
        let value = Field::new("s", DataType::Utf8, true);
        let column: Arc<dyn PhysicalExpr> = Arc::new(ColumnExpr::new("s", 0));
        for (k, got) in [
            (literal(0), "got 0"),
            (Some(column), "got an expression"),
            (None, "got an expression"),
        ] {
            let error = accumulator(Kind::TopK, &value, k).expect_err("k is rejected");
            assert!(
                error.to_string().contains(&format!(
                    "topk: k must be a positive integer literal, {got}"
                )),
                "{error}"
            );
        }
    }

    /// A correlated subquery that finds no rows is planned as an outer join, which takes the
    /// result for no rows from `default_value`: it must be what an accumulator of no rows gives.
    #[tokio::test]
    async fn correlated_subqueries_without_rows_give_the_no_rows_results() -> Result<()> {
        let context = session(1);
        events(&context, 1);
        let next_key = "FROM events AS later WHERE later.k = keys.k + 1";
        let sql = format!(
            "SELECT k, (SELECT count_distinct(s) {next_key}) AS distinct_count, \
             (SELECT collect_list(s) {next_key}) AS list, \
             (SELECT collect_set(s) {next_key}) AS set, \
             (SELECT topk(s, 2) {next_key}) AS top2, \
             (SELECT latest_by_offset(s) {next_key}) AS latest \
             FROM (SELECT DISTINCT k FROM events) AS keys ORDER BY k"
        );
        assert_eq!(
            run(&context, &sql).await?,
            "\
+---+----------------+------+-----+------+--------+
| k | distinct_count | list | set | top2 | latest |
+---+----------------+------+-----+------+--------+
| 1 | 1              | [x]  | [x] | [x]  | x      |
| 2 | 0              | [, ] | []  | []   |        |
| 3 | 0              | []   | []  | []   |        |
+---+----------------+------+-----+------+--------+"
        );
        Ok(())
    }

    #[tokio::test]
    async fn distinct_and_order_by_inside_a_call_are_rejected() {
        let context = session(1);
        events(&context, 1);
        let error = planning_error(&context, "SELECT collect_list(DISTINCT s) FROM events").await;
        assert!(
            error.contains("collect_list does not take DISTINCT"),
            "{error}"
        );
        let error = planning_error(
            &context,
            "SELECT latest_by_offset(s ORDER BY k) FROM events",
        )
        .await;
        assert!(
            error.contains("latest_by_offset does not take ORDER BY"),
            "{error}"
        );
    }

    fn select(sql: &str) -> Box<eddy_parser::sqlparser::ast::Query> {
        let mut statements = eddy_parser::parse_sql(sql).expect("the query parses");
        match statements.pop().map(|parsed| parsed.statement) {
            Some(Statement::Select(select)) => select.query,
            other => panic!("not a SELECT: {other:?}"),
        }
    }

    #[tokio::test]
    async fn sql_planner_has_the_functions_and_checks_calls() {
        let planner = planner_over(&[clicks()]);

        let plan = planner
            .plan_query(&select(
                "SELECT user_id, COLLECT_SET(url) AS urls, TOPK(url, 2) AS top \
                 FROM clicks GROUP BY user_id",
            ))
            .await
            .expect("the query plans");
        let urls = plan.schema().field_with_unqualified_name("urls");
        assert_eq!(
            urls.map(|field| field.data_type().clone()).ok(),
            Some(list_type(&DataType::Utf8))
        );

        let error = planner
            .plan_query(&select("SELECT topk(url, 0) FROM clicks"))
            .await
            .expect_err("k = 0 is rejected while planning");
        assert!(matches!(error, PlanError::DataFusion(_)), "{error:?}");
        assert!(
            error
                .to_string()
                .contains("topk: k must be a positive integer literal, got 0"),
            "{error}"
        );
    }
}
