//! Aggregate functions over Z-sets: per-group states that take weighted rows (+n inserts n
//! copies, -n retracts n copies, in any order) and can always answer as if the retracted rows
//! had never been seen.
//!
//! The aggregation operator interns group keys into dense indices and drives one
//! [`Accumulator`] per aggregate of a query: `update` per input batch, `evaluate` for the
//! groups that changed, `save` / `load` / `clear` to keep only some groups in memory, and
//! `merge` to fold one group's state into another's (a row that bridges two sessions).
//!
//! Never: panic on any input (bad data, a retraction of what was never inserted and corrupt
//! saved state are errors), nor build a `ScalarValue` per row.
//!
//! Results of a group without rows (or whose rows were all retracted): COUNT and
//! COUNT_DISTINCT 0; SUM, AVG, MIN, MAX, LATEST_BY_OFFSET and EARLIEST_BY_OFFSET NULL;
//! COLLECT_LIST, COLLECT_SET, TOPK, TOPKDISTINCT and the n-value forms of *_BY_OFFSET an
//! empty list (ksqlDB's initial value for them).
//!
//! A retraction of a value removes one copy of it: from the multiset of MIN, MAX,
//! COUNT_DISTINCT, COLLECT_SET, TOPK and TOPKDISTINCT (`multiset.rs`), and for *_BY_OFFSET
//! and COLLECT_LIST the copy at the retraction's own sequence if there is one, else the copy
//! with the greatest sequence (`sequenced.rs`).

mod accumulators;
mod encoding;
mod extremum;
mod moments;
mod multiset;
mod sequenced;
mod values;

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, ListArray};
use arrow::buffer::{OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field};
use arrow::error::ArrowError;
use datafusion::scalar::ScalarValue;
pub use eddy_planner::functions::ByOffset;
use eddy_planner::functions::{histogram_type, top_k};
use eddy_planner::moments::{Correlation, Deviation};

use self::accumulators::{CountStates, DecimalSumStates, FloatSumStates, IntSumStates};
use self::extremum::new_extremum_states;
use self::moments::RunningStates;
use self::multiset::{MultisetOutput, new_multiset_states};
use self::sequenced::{SequencedOutput, new_sequenced_states};

/// An aggregate function, by its ksqlDB name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AggregateFunction {
    /// `COUNT(*)`: the number of rows.
    CountStar,
    /// `COUNT(x)`: the number of rows whose `x` is not NULL.
    Count,
    Sum,
    Avg,
    Min,
    Max,
    /// The number of distinct non-NULL values.
    CountDistinct,
    /// The value with the greatest sequence (input position), or the n greatest.
    LatestByOffset(ByOffset),
    /// The value with the smallest sequence, or the n smallest.
    EarliestByOffset(ByOffset),
    /// All values, NULLs included, in sequence order.
    CollectList,
    /// The distinct non-NULL values, ascending.
    CollectSet,
    /// The k greatest non-NULL values, descending, duplicates kept.
    TopK(usize),
    /// The k greatest distinct non-NULL values, descending.
    TopKDistinct(usize),
    /// The sample standard deviation of the non-NULL values (`eddy_planner::moments`).
    StddevSamp,
    /// Pearson's coefficient of the pairs with no NULL; its argument is the pair as a struct.
    Correlation,
    /// Each distinct non-NULL string with how often it occurs, as MAP<STRING, BIGINT>.
    Histogram,
}

/// The options of a *_BY_OFFSET call, from its constant arguments (the planner's rule).
fn by_offset(
    function: &'static str,
    constants: &[Option<ScalarValue>],
) -> Result<ByOffset, AggregateError> {
    ByOffset::of_arguments(constants.iter().skip(1).map(Option::as_ref))
        .map_err(|detail| AggregateError::InvalidArgument { function, detail })
}

/// TOPK's and TOPKDISTINCT's k, from its constant second argument (the planner's rule).
fn k_of(
    function: &'static str,
    constants: &[Option<ScalarValue>],
) -> Result<usize, AggregateError> {
    top_k(constants.get(1).and_then(Option::as_ref))
        .map_err(|detail| AggregateError::InvalidArgument { function, detail })
}

impl AggregateFunction {
    /// Whether the function orders its values by their input position (a source row's
    /// offset): LATEST_BY_OFFSET, EARLIEST_BY_OFFSET and COLLECT_LIST.
    pub fn orders_by_sequence(self) -> bool {
        matches!(
            self,
            AggregateFunction::LatestByOffset(_)
                | AggregateFunction::EarliestByOffset(_)
                | AggregateFunction::CollectList
        )
    }

    /// The function a call names: `name` case-insensitively (ksqlDB names, plus DataFusion's
    /// `mean` and `array_agg`), `arity` its number of arguments, `constants` the arguments
    /// that are constants, by position (TOPK's k, LATEST_BY_OFFSET's n and ignore_nulls).
    /// `Ok(None)` for a name that is no aggregate function.
    ///
    /// `COUNT(DISTINCT x)` is the caller's to map to [`AggregateFunction::CountDistinct`].
    pub fn from_name(
        name: &str,
        arity: usize,
        constants: &[Option<ScalarValue>],
    ) -> Result<Option<Self>, AggregateError> {
        let name = name.to_ascii_lowercase();
        let function = match (name.as_str(), arity) {
            ("count", 0) => AggregateFunction::CountStar,
            ("count", _) => AggregateFunction::Count,
            ("sum", _) => AggregateFunction::Sum,
            ("avg" | "mean", _) => AggregateFunction::Avg,
            ("min", _) => AggregateFunction::Min,
            ("max", _) => AggregateFunction::Max,
            ("count_distinct", _) => AggregateFunction::CountDistinct,
            ("latest_by_offset", 1..=3) => {
                AggregateFunction::LatestByOffset(by_offset("LATEST_BY_OFFSET", constants)?)
            }
            ("earliest_by_offset", 1..=3) => {
                AggregateFunction::EarliestByOffset(by_offset("EARLIEST_BY_OFFSET", constants)?)
            }
            ("latest_by_offset", _) => AggregateFunction::LatestByOffset(ByOffset::ONE),
            ("earliest_by_offset", _) => AggregateFunction::EarliestByOffset(ByOffset::ONE),
            ("collect_list" | "array_agg", _) => AggregateFunction::CollectList,
            ("collect_set", _) => AggregateFunction::CollectSet,
            ("stddev_samp" | "stddev_sample", _) => AggregateFunction::StddevSamp,
            ("correlation", _) => AggregateFunction::Correlation,
            ("histogram", _) => AggregateFunction::Histogram,
            ("topk", 2) => AggregateFunction::TopK(k_of("TOPK", constants)?),
            ("topkdistinct", 2) => {
                AggregateFunction::TopKDistinct(k_of("TOPKDISTINCT", constants)?)
            }
            ("topk" | "topkdistinct", _) => {
                return Err(AggregateError::WrongArity {
                    function: if name == "topk" {
                        "TOPK"
                    } else {
                        "TOPKDISTINCT"
                    },
                    expected: "2 arguments (a column and a literal k)",
                    given: arity,
                });
            }
            _ => return Ok(None),
        };
        let expected_arity = match function {
            AggregateFunction::CountStar => 0..=0,
            AggregateFunction::TopK(_) | AggregateFunction::TopKDistinct(_) => 2..=2,
            AggregateFunction::LatestByOffset(_) | AggregateFunction::EarliestByOffset(_) => 1..=3,
            AggregateFunction::Correlation => 2..=2,
            _ => 1..=1,
        };
        if !expected_arity.contains(&arity) {
            return Err(AggregateError::WrongArity {
                function: function.name(),
                expected: match function {
                    AggregateFunction::LatestByOffset(_)
                    | AggregateFunction::EarliestByOffset(_) => "1 to 3 arguments",
                    AggregateFunction::Correlation => "2 arguments",
                    _ => "1 argument",
                },
                given: arity,
            });
        }
        Ok(Some(function))
    }

    /// The ksqlDB name, as errors show it.
    pub fn name(&self) -> &'static str {
        match self {
            AggregateFunction::CountStar | AggregateFunction::Count => "COUNT",
            AggregateFunction::Sum => "SUM",
            AggregateFunction::Avg => "AVG",
            AggregateFunction::Min => "MIN",
            AggregateFunction::Max => "MAX",
            AggregateFunction::CountDistinct => "COUNT_DISTINCT",
            AggregateFunction::LatestByOffset(_) => "LATEST_BY_OFFSET",
            AggregateFunction::EarliestByOffset(_) => "EARLIEST_BY_OFFSET",
            AggregateFunction::CollectList => "COLLECT_LIST",
            AggregateFunction::CollectSet => "COLLECT_SET",
            AggregateFunction::TopK(_) => "TOPK",
            AggregateFunction::TopKDistinct(_) => "TOPKDISTINCT",
            AggregateFunction::StddevSamp => "STDDEV_SAMP",
            AggregateFunction::Correlation => "CORRELATION",
            AggregateFunction::Histogram => "HISTOGRAM",
        }
    }

    /// Whether merging two groups' states over `input` gives the bits one group given every
    /// row gives: float sums (compensated) and the running moments round differently when
    /// combined, so a result built from parts (a hopping window from its panes) could differ
    /// in the last bits from the one built row by row.
    pub fn merges_exactly(&self, input: Option<&DataType>) -> bool {
        match self {
            AggregateFunction::StddevSamp | AggregateFunction::Correlation => false,
            AggregateFunction::Sum | AggregateFunction::Avg => !matches!(
                input,
                Some(DataType::Float16 | DataType::Float32 | DataType::Float64)
            ),
            _ => true,
        }
    }

    /// How many of a call's arguments are value columns: CORRELATION's two come to its
    /// accumulator as one struct column of the pair.
    pub fn value_arguments(&self) -> usize {
        match self {
            AggregateFunction::CountStar => 0,
            AggregateFunction::Correlation => 2,
            _ => 1,
        }
    }

    /// The type of the function's result for an argument of type `input` (`None` for
    /// `COUNT(*)`), or why the function does not take that type.
    ///
    /// SUM of a DECIMAL(p, s) is a DECIMAL(min(38, p + 10), s), as in DataFusion.
    pub fn output_type(&self, input: Option<&DataType>) -> Result<DataType, AggregateError> {
        let input = match (self, input) {
            (AggregateFunction::CountStar, _) => return Ok(DataType::Int64),
            (_, Some(input)) => input,
            (_, None) => {
                return Err(AggregateError::WrongArity {
                    function: self.name(),
                    expected: "1 argument",
                    given: 0,
                });
            }
        };
        let unsupported = || AggregateError::UnsupportedType {
            function: self.name(),
            data_type: input.clone(),
        };
        match self {
            AggregateFunction::CountStar
            | AggregateFunction::Count
            | AggregateFunction::CountDistinct => {
                if *self == AggregateFunction::CountDistinct && !values::is_ordered(input) {
                    return Err(unsupported());
                }
                Ok(DataType::Int64)
            }
            AggregateFunction::Sum => match input {
                _ if values::is_integer(input) => Ok(DataType::Int64),
                DataType::Float32 | DataType::Float64 => Ok(DataType::Float64),
                DataType::Decimal128(precision, scale) => Ok(DataType::Decimal128(
                    accumulators::sum_decimal_precision(*precision),
                    *scale,
                )),
                _ => Err(unsupported()),
            },
            AggregateFunction::StddevSamp => match input {
                _ if input.is_numeric() => Ok(DataType::Float64),
                _ => Err(unsupported()),
            },
            AggregateFunction::Correlation => match input {
                DataType::Struct(pair)
                    if pair.len() == 2
                        && pair.iter().all(|field| field.data_type().is_numeric()) =>
                {
                    Ok(DataType::Float64)
                }
                _ => Err(unsupported()),
            },
            AggregateFunction::Histogram => match input {
                DataType::Utf8 => Ok(histogram_type()),
                _ => Err(unsupported()),
            },
            AggregateFunction::Avg => match input {
                _ if values::is_integer(input) => Ok(DataType::Float64),
                DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
                    Ok(DataType::Float64)
                }
                _ => Err(unsupported()),
            },
            AggregateFunction::Min | AggregateFunction::Max => match values::is_ordered(input) {
                true => Ok(input.clone()),
                false => Err(unsupported()),
            },
            AggregateFunction::LatestByOffset(ByOffset { count: None, .. })
            | AggregateFunction::EarliestByOffset(ByOffset { count: None, .. }) => {
                match values::is_supported(input) {
                    true => Ok(input.clone()),
                    false => Err(unsupported()),
                }
            }
            AggregateFunction::TopK(_) | AggregateFunction::TopKDistinct(_) => {
                match values::is_ordered(input) {
                    true => Ok(list_of(input)),
                    false => Err(unsupported()),
                }
            }
            AggregateFunction::LatestByOffset(ByOffset { count: Some(_), .. })
            | AggregateFunction::EarliestByOffset(ByOffset { count: Some(_), .. })
            | AggregateFunction::CollectList
            | AggregateFunction::CollectSet => match values::is_supported(input) {
                true => Ok(list_of(input)),
                false => Err(unsupported()),
            },
        }
    }
}

impl fmt::Display for AggregateFunction {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.name())
    }
}

/// The list type of COLLECT_LIST, COLLECT_SET and TOPK: nullable items named "item".
fn list_of(item: &DataType) -> DataType {
    DataType::List(Field::new_list_field(item.clone(), true).into())
}

#[derive(thiserror::Error, Debug)]
pub enum AggregateError {
    #[error("{function} takes {expected}, but was given {given}")]
    WrongArity {
        function: &'static str,
        expected: &'static str,
        given: usize,
    },
    #[error("{function}: {detail}")]
    InvalidArgument {
        function: &'static str,
        detail: String,
    },
    #[error("{function} does not accept an argument of type {data_type}")]
    UnsupportedType {
        function: &'static str,
        data_type: DataType,
    },
    /// A result that does not fit its type, e.g. "SUM overflows BIGINT".
    #[error("{function} overflows {sql_type}")]
    Overflow {
        function: &'static str,
        sql_type: String,
    },
    /// Saved state that cannot be read back (damaged, or written by another version).
    #[error("saved aggregate state cannot be read: {0}")]
    CorruptState(String),
    /// The caller broke the contract: e.g. retracted a row it never inserted, or passed
    /// columns of different lengths. A bug in Eddy, reported rather than panicking.
    #[error("internal error in {function}: {detail}")]
    Invariant {
        function: &'static str,
        detail: String,
    },
    #[error(transparent)]
    Arrow(#[from] ArrowError),
}

/// One batch of weighted input rows, already checked for consistent lengths.
struct Batch<'a> {
    groups: &'a [usize],
    /// `None` only for COUNT(*).
    values: Option<&'a dyn Array>,
    weights: &'a [i64],
    /// Empty unless the function orders by sequence.
    sequences: &'a [u64],
}

impl<'a> Batch<'a> {
    /// The argument's column; `Accumulator::update` checked it is there for every function
    /// but COUNT(*).
    fn argument(&self, function: AggregateFunction) -> Result<&'a dyn Array, AggregateError> {
        self.values.ok_or_else(|| AggregateError::Invariant {
            function: function.name(),
            detail: "no values for the argument".into(),
        })
    }
}

/// The per-group states of one aggregate, of one concrete type. Groups past the end of the
/// states are empty.
trait GroupStates: Send {
    fn update(&mut self, batch: &Batch<'_>) -> Result<(), AggregateError>;
    /// The input never retracts (a stream): a state may drop what only a retraction could
    /// bring back, such as every value but the maximum.
    fn set_append_only(&mut self) {}
    fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError>;
    fn save(&self, group: usize, encoder: &mut encoding::Encoder);
    /// Replaces the group's state with the decoded one.
    fn load(
        &mut self,
        group: usize,
        decoder: &mut encoding::Decoder<'_>,
    ) -> Result<(), AggregateError>;
    /// Adds group `from`'s rows to group `into` (never the same group), as if `update` had
    /// given them to `into`; `from`'s state is copied when `keep_from`, else left
    /// unspecified.
    fn merge(&mut self, into: usize, from: usize, keep_from: bool) -> Result<(), AggregateError>;
}

/// The error for more copies of one value than a count holds.
fn too_many_copies(function: AggregateFunction) -> AggregateError {
    AggregateError::Overflow {
        function: function.name(),
        sql_type: "BIGINT (copies of one value)".into(),
    }
}

/// A list array (of [`list_of`]'s type) whose row `i` holds the next `lengths[i]` of `items`.
fn list_array(
    function: AggregateFunction,
    item_type: &DataType,
    lengths: &[usize],
    items: ArrayRef,
) -> Result<ArrayRef, AggregateError> {
    let too_long = || AggregateError::Overflow {
        function: function.name(),
        sql_type: "an ARRAY of at most 2^31 items per batch".into(),
    };
    let mut offsets = Vec::with_capacity(lengths.len() + 1);
    let mut end = 0i32;
    offsets.push(end);
    for &length in lengths {
        end = i32::try_from(length)
            .ok()
            .and_then(|length| end.checked_add(length))
            .ok_or_else(too_long)?;
        offsets.push(end);
    }
    // The offsets start at 0 and never decrease, which is all `OffsetBuffer::new` asserts.
    let offsets = OffsetBuffer::new(ScalarBuffer::from(offsets));
    let field = Arc::new(Field::new_list_field(item_type.clone(), true));
    Ok(Arc::new(ListArray::try_new(field, offsets, items, None)?))
}

/// Makes sure `states` has a slot for every index in `groups`.
fn grow_to_fit<T: Default>(states: &mut Vec<T>, groups: &[usize]) {
    if let Some(&highest) = groups.iter().max()
        && highest >= states.len()
    {
        states.resize_with(highest + 1, T::default);
    }
}

/// Makes sure `states` has a slot for `group`.
fn grow_to_group<T: Default>(states: &mut Vec<T>, group: usize) -> &mut T {
    if group >= states.len() {
        states.resize_with(group + 1, T::default);
    }
    &mut states[group]
}

/// For a merge: `into`'s state (its slot grown to fit) and `from`'s (empty past the end),
/// copied when `keep_from`, else taken out of its slot, so the two can be combined without
/// aliasing.
fn merge_pair<T: Default + Clone>(
    states: &mut Vec<T>,
    into: usize,
    from: usize,
    keep_from: bool,
) -> (&mut T, T) {
    let from = match keep_from {
        true => states.get(from).cloned(),
        false => states.get_mut(from).map(std::mem::take),
    };
    (grow_to_group(states, into), from.unwrap_or_default())
}

/// All states of one aggregate of one query, indexed by dense group index (memory grows
/// with the highest index seen).
///
/// After `update` or `load` returns an error, the states of the groups it touched are
/// unspecified: the caller must fail the query (or reload those groups from the store).
pub struct Accumulator {
    function: AggregateFunction,
    input_type: Option<DataType>,
    output_type: DataType,
    states: Box<dyn GroupStates>,
}

impl fmt::Debug for Accumulator {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter
            .debug_struct("Accumulator")
            .field("function", &self.function)
            .field("input_type", &self.input_type)
            .field("output_type", &self.output_type)
            .finish_non_exhaustive()
    }
}

impl Accumulator {
    /// An accumulator without groups. `input_type` is the argument's type (`None` for
    /// COUNT(*)); an unsupported type is an error here, not at the first batch.
    pub fn new(
        function: AggregateFunction,
        input_type: Option<DataType>,
    ) -> Result<Self, AggregateError> {
        let output_type = function.output_type(input_type.as_ref())?;
        let Some(input) = &input_type else {
            // `output_type` accepts a missing argument only for COUNT(*).
            return Ok(Accumulator {
                function,
                input_type,
                output_type,
                states: Box::new(CountStates::new(function)),
            });
        };
        let states: Box<dyn GroupStates> = match function {
            AggregateFunction::CountStar | AggregateFunction::Count => {
                Box::new(CountStates::new(function))
            }
            AggregateFunction::Sum | AggregateFunction::Avg => match input {
                DataType::Float32 | DataType::Float64 => {
                    Box::new(FloatSumStates::new(function, input.clone()))
                }
                DataType::Decimal128(_, scale) => {
                    Box::new(DecimalSumStates::new(function, *scale, output_type.clone()))
                }
                _ => Box::new(IntSumStates::new(function, input.clone())),
            },
            AggregateFunction::Min => new_multiset_states(function, MultisetOutput::Min, input)?,
            AggregateFunction::Max => new_multiset_states(function, MultisetOutput::Max, input)?,
            AggregateFunction::CountDistinct => {
                new_multiset_states(function, MultisetOutput::CountDistinct, input)?
            }
            AggregateFunction::CollectSet => {
                new_multiset_states(function, MultisetOutput::Set, input)?
            }
            AggregateFunction::TopK(k) => {
                new_multiset_states(function, MultisetOutput::TopK(k), input)?
            }
            AggregateFunction::TopKDistinct(k) => {
                new_multiset_states(function, MultisetOutput::TopKDistinct(k), input)?
            }
            AggregateFunction::Histogram => {
                new_multiset_states(function, MultisetOutput::Histogram, input)?
            }
            AggregateFunction::StddevSamp => Box::new(RunningStates::<Deviation>::new(function)),
            AggregateFunction::Correlation => Box::new(RunningStates::<Correlation>::new(function)),
            AggregateFunction::LatestByOffset(by_offset) => {
                new_sequenced_states(function, SequencedOutput::Latest(by_offset), input)?
            }
            AggregateFunction::EarliestByOffset(by_offset) => {
                new_sequenced_states(function, SequencedOutput::Earliest(by_offset), input)?
            }
            AggregateFunction::CollectList => {
                new_sequenced_states(function, SequencedOutput::List, input)?
            }
        };
        Ok(Accumulator {
            function,
            input_type,
            output_type,
            states,
        })
    }

    /// The type of the arrays `evaluate` returns.
    pub fn output_type(&self) -> &DataType {
        &self.output_type
    }

    /// Adds `weights[i]` copies of `values[i]` (a retraction for a negative weight) to group
    /// `group_indices[i]`, for every row `i`, growing the states for new group indices.
    ///
    /// `values` is `None` for COUNT(*) (and ignored by it). `sequences` gives each row's
    /// input position; only LATEST_BY_OFFSET, EARLIEST_BY_OFFSET and COLLECT_LIST read it,
    /// and the others accept an empty slice. Within one batch the order of rows does not
    /// matter: a retraction may precede the insertion it cancels.
    pub fn update(
        &mut self,
        group_indices: &[usize],
        values: Option<&ArrayRef>,
        weights: &[i64],
        sequences: &[u64],
    ) -> Result<(), AggregateError> {
        let rows = group_indices.len();
        if weights.len() != rows {
            return Err(self.invariant(format!(
                "{rows} group indices but {} weights",
                weights.len()
            )));
        }
        let values = match (&self.input_type, values) {
            (None, _) => None,
            (Some(input_type), Some(values)) => {
                if values.len() != rows {
                    return Err(
                        self.invariant(format!("{rows} group indices but {} values", values.len()))
                    );
                }
                if values.data_type() != input_type {
                    return Err(self.invariant(format!(
                        "values of type {} for an argument of type {input_type}",
                        values.data_type()
                    )));
                }
                Some(values.as_ref())
            }
            (Some(_), None) => return Err(self.invariant("no values for the argument".into())),
        };
        if self.function.orders_by_sequence() && sequences.len() != rows {
            return Err(self.invariant(format!(
                "{rows} group indices but {} sequences",
                sequences.len()
            )));
        }
        self.states.update(&Batch {
            groups: group_indices,
            values,
            weights,
            sequences,
        })
    }

    /// Declares that the input only ever inserts (every weight positive), so states keep
    /// only what can still matter: MIN and MAX one value per group (inline, `extremum.rs`),
    /// TOPK k values. Any retraction afterwards is a caller's error.
    pub fn append_only(mut self) -> Self {
        let extremum = match self.function {
            AggregateFunction::Min => Some(std::cmp::Ordering::Less),
            AggregateFunction::Max => Some(std::cmp::Ordering::Greater),
            _ => None,
        };
        let inline = extremum
            .zip(self.input_type.as_ref())
            .and_then(|(keeps, input)| new_extremum_states(self.function, keeps, input).ok());
        match inline {
            Some(states) => self.states = states,
            None => self.states.set_append_only(),
        }
        self
    }

    /// The current results of `groups`, in that order, as one array of
    /// [`Accumulator::output_type`].
    pub fn evaluate(&self, groups: &[usize]) -> Result<ArrayRef, AggregateError> {
        self.states.evaluate(groups)
    }

    /// One group's state, encoded for the key-value store (a version byte, then the state),
    /// appended to `bytes`: a state saved inside a larger value needs no buffer of its own.
    pub fn save(&self, group: usize, bytes: Vec<u8>) -> Vec<u8> {
        let mut encoder = encoding::Encoder::appending_to(bytes);
        self.states.save(group, &mut encoder);
        encoder.finish()
    }

    /// Replaces `group`'s state with one that `save` encoded (for the same function and
    /// argument type).
    pub fn load(&mut self, group: usize, bytes: &[u8]) -> Result<(), AggregateError> {
        let mut decoder = encoding::Decoder::new(bytes)?;
        self.states.load(group, &mut decoder)?;
        decoder.finish()
    }

    /// Adds group `from`'s state to group `into` (as if every row of `from` had been added to
    /// `into`), leaving `from`'s state unspecified (the caller drops or overwrites it). Both
    /// groups must have been loaded or updated in this accumulator.
    ///
    /// An overflow is the error `update` gives for the same rows; merging a group into
    /// itself is an [`AggregateError::Invariant`]. After an error, both groups' states are
    /// unspecified, as after a failed `update`.
    pub fn merge(&mut self, into: usize, from: usize) -> Result<(), AggregateError> {
        if into == from {
            return Err(self.invariant(format!("group {into} merged into itself")));
        }
        self.states.merge(into, from, false)
    }

    /// As [`Accumulator::merge`] for each `(into, from)` pair in order, leaving every `from`
    /// as it was: one group's state can go into several others (a pane into each window
    /// that holds it).
    pub fn merge_kept(&mut self, pairs: &[(usize, usize)]) -> Result<(), AggregateError> {
        for &(into, from) in pairs {
            if into == from {
                return Err(self.invariant(format!("group {into} merged into itself")));
            }
            self.states.merge(into, from, true)?;
        }
        Ok(())
    }

    fn invariant(&self, detail: String) -> AggregateError {
        AggregateError::Invariant {
            function: self.function.name(),
            detail,
        }
    }
}

#[cfg(test)]
pub(super) mod test_support {
    //! Shorthands for the tests of every accumulator.

    use std::sync::Arc;

    use arrow::array::{
        Array, ArrayRef, AsArray, Decimal128Array, Float64Array, Int32Array, Int64Array,
        StringArray, UInt32Array,
    };
    use arrow::compute::take;
    use arrow::datatypes::{DataType, Float64Type};
    use datafusion::scalar::ScalarValue;

    use super::{Accumulator, AggregateFunction};

    pub fn accumulator(function: AggregateFunction, input: &DataType) -> Accumulator {
        Accumulator::new(function, Some(input.clone())).unwrap()
    }

    /// Applies rows of (group, value, weight) with sequences 0, 1, 2, ...
    pub fn apply(
        accumulator: &mut Accumulator,
        values: ArrayRef,
        groups: &[usize],
        weights: &[i64],
    ) {
        let sequences: Vec<u64> = (0..groups.len() as u64).collect();
        accumulator
            .update(groups, Some(&values), weights, &sequences)
            .unwrap();
    }

    /// The results of `groups` as scalars.
    pub fn results(accumulator: &Accumulator, groups: &[usize]) -> Vec<ScalarValue> {
        let array = accumulator.evaluate(groups).unwrap();
        assert_eq!(array.data_type(), accumulator.output_type());
        (0..array.len())
            .map(|row| ScalarValue::try_from_array(&array, row).unwrap())
            .collect()
    }

    /// The result of one group of a list-valued aggregate, as scalars (`None` for NULL list).
    pub fn list_result(accumulator: &Accumulator, group: usize) -> Option<Vec<ScalarValue>> {
        let array = accumulator.evaluate(&[group]).unwrap();
        let list = array.as_list::<i32>();
        if list.is_null(0) {
            return None;
        }
        let items = list.value(0);
        Some(
            (0..items.len())
                .map(|row| ScalarValue::try_from_array(&items, row).unwrap())
                .collect(),
        )
    }

    /// Saves every group of `groups`, loads it into a fresh accumulator of the same function
    /// and checks both evaluate the same.
    pub fn assert_round_trips(accumulator: &Accumulator, groups: &[usize]) {
        let input = accumulator.input_type.clone();
        let mut loaded = Accumulator::new(accumulator.function, input).unwrap();
        for &group in groups {
            loaded
                .load(group, &accumulator.save(group, Vec::new()))
                .unwrap();
        }
        assert_eq!(
            loaded.evaluate(groups).unwrap().to_data(),
            accumulator.evaluate(groups).unwrap().to_data()
        );
    }

    pub fn arc(array: impl Array + 'static) -> ArrayRef {
        Arc::new(array)
    }

    /// One in six NULL, else `value()`.
    fn maybe_null<T>(
        random: &mut fastrand::Rng,
        value: impl FnOnce(&mut fastrand::Rng) -> T,
    ) -> Option<T> {
        match random.u8(0..6) {
            0 => None,
            _ => Some(value(random)),
        }
    }

    /// Small BIGINTs, so that values repeat, and NULLs.
    pub fn random_bigints(random: &mut fastrand::Rng, rows: usize) -> ArrayRef {
        let values = (0..rows).map(|_| maybe_null(random, |random| random.i64(-3..=3)));
        Arc::new(values.collect::<Int64Array>())
    }

    /// Small INTs and NULLs.
    pub fn random_ints(random: &mut fastrand::Rng, rows: usize) -> ArrayRef {
        let values = (0..rows).map(|_| maybe_null(random, |random| random.i32(-3..=3)));
        Arc::new(values.collect::<Int32Array>())
    }

    /// A few short strings (the empty one too) and NULLs.
    pub fn random_strings(random: &mut fastrand::Rng, rows: usize) -> ArrayRef {
        let words = ["", "a", "b", "bb", "é"];
        let values =
            (0..rows).map(|_| maybe_null(random, |random| words[random.usize(..words.len())]));
        Arc::new(values.collect::<StringArray>())
    }

    /// Quarters between -2 and 2, whose sums and products of a few are exact, and NULLs.
    pub fn random_quarters(random: &mut fastrand::Rng, rows: usize) -> ArrayRef {
        let values =
            (0..rows).map(|_| maybe_null(random, |random| random.i32(-8..=8) as f64 / 4.0));
        Arc::new(values.collect::<Float64Array>())
    }

    /// Quarters, NaN, the infinities and NULLs.
    pub fn random_doubles(random: &mut fastrand::Rng, rows: usize) -> ArrayRef {
        let values = (0..rows).map(|_| {
            maybe_null(random, |random| match random.u8(0..8) {
                0 => f64::NAN,
                1 => f64::INFINITY,
                2 => f64::NEG_INFINITY,
                _ => random.i32(-8..=8) as f64 / 4.0,
            })
        });
        Arc::new(values.collect::<Float64Array>())
    }

    /// DECIMAL(10, 2) values of a few cents, and NULLs.
    pub fn random_decimals(random: &mut fastrand::Rng, rows: usize) -> ArrayRef {
        let values = (0..rows).map(|_| maybe_null(random, |random| random.i128(-300..=300)));
        // Every value is within DECIMAL(10, 2).
        Arc::new(
            values
                .collect::<Decimal128Array>()
                .with_precision_and_scale(10, 2)
                .unwrap(),
        )
    }

    /// How a merged group's result must equal the result of one group given every row.
    #[derive(Clone, Copy, Debug)]
    pub enum Exactness {
        /// The same array, bit for bit.
        Bits,
        /// Doubles within a relative 1e-6 (NULL and NaN where the other has them): for
        /// states whose merge rounds differently from adding the rows one by one. A NaN also
        /// matches an answer within 1e-6 of zero: STDDEV_SAMP's undo can leave equal values'
        /// squared deviations a rounding residue either side of zero (`undo` of 3, -2, 3
        /// after adding 1, 3, -2, 3, 1 leaves -4.4e-16), and its square root is NaN.
        Close,
    }

    /// A column of random values of the argument's type, `rows` long.
    pub type RandomValues = fn(&mut fastrand::Rng, usize) -> ArrayRef;

    /// Rows of a random input: a value and a number of copies each, with row `i` at sequence
    /// `i`. `values` is `None` for COUNT(*).
    struct RandomRows {
        values: Option<ArrayRef>,
        copies: Vec<i64>,
    }

    impl RandomRows {
        fn new(random: &mut fastrand::Rng, values: Option<RandomValues>, rows: usize) -> Self {
            RandomRows {
                values: values.map(|values| values(random, rows)),
                copies: (0..rows).map(|_| random.i64(1..=3)).collect(),
            }
        }

        /// Gives `weights[i]` copies of row `rows[i]` to `group` (a retraction if negative)
        /// at `sequences[i]`, in one batch.
        fn give(
            &self,
            accumulator: &mut Accumulator,
            group: usize,
            rows: &[usize],
            weights: &[i64],
            sequences: &[u64],
        ) {
            let indices = UInt32Array::from_iter_values(rows.iter().map(|&row| row as u32));
            let values = self
                .values
                .as_ref()
                .map(|values| take(values, &indices, None).unwrap());
            accumulator
                .update(
                    &vec![group; rows.len()],
                    values.as_ref(),
                    weights,
                    sequences,
                )
                .unwrap();
        }
    }

    /// Each row's own sequence: its position in the input.
    fn own_sequences(rows: &[usize]) -> Vec<u64> {
        rows.iter().map(|&row| row as u64).collect()
    }

    /// Rows inserted in full, then `retracted[row]` copies of each taken back.
    fn give_and_retract(
        accumulator: &mut Accumulator,
        group: usize,
        input: &RandomRows,
        rows: &[usize],
        retracted: &[i64],
    ) {
        let copies: Vec<i64> = rows.iter().map(|&row| input.copies[row]).collect();
        input.give(accumulator, group, rows, &copies, &own_sequences(rows));
        let (rows, retractions): (Vec<usize>, Vec<i64>) = rows
            .iter()
            .filter(|&&row| retracted[row] > 0)
            .map(|&row| (row, -retracted[row]))
            .unzip();
        input.give(
            accumulator,
            group,
            &rows,
            &retractions,
            &own_sequences(&rows),
        );
    }

    fn assert_same(exactness: Exactness, merged: &ArrayRef, whole: &ArrayRef, context: &str) {
        let Exactness::Close = exactness else {
            assert_eq!(merged.to_data(), whole.to_data(), "{context}");
            return;
        };
        let (merged, whole) = (
            merged.as_primitive::<Float64Type>(),
            whole.as_primitive::<Float64Type>(),
        );
        assert_eq!(merged.len(), whole.len(), "{context}");
        for (left, right) in merged.iter().zip(whole.iter()) {
            let close = match (left, right) {
                (Some(left), Some(right)) if left.is_nan() || right.is_nan() => {
                    (left.is_nan() || left.abs() <= 1e-6) && (right.is_nan() || right.abs() <= 1e-6)
                }
                (Some(left), Some(right)) => {
                    (left - right).abs() <= 1e-6 * left.abs().max(right.abs()).max(1.0)
                }
                (left, right) => left.is_none() && right.is_none(),
            };
            assert!(close, "{context}: merged {left:?}, one group {right:?}");
        }
    }

    /// Property: over random rows split at random between two groups (either may be empty,
    /// and each is updated in place or loaded from bytes another accumulator saved), with
    /// copies retracted from either side unless `append_only`, `merge(into, from)` (or
    /// `merge_kept`, which leaves `from` as it was) leaves
    /// `into` evaluating as one group given every row in sequence order. It stays so
    /// afterwards: for further retractions (or, append-only, further rows) and a save/load.
    pub fn assert_merges_as_one_group(
        function: AggregateFunction,
        input: Option<&DataType>,
        values: Option<RandomValues>,
        append_only: bool,
        exactness: Exactness,
    ) {
        let fresh = || {
            let accumulator = Accumulator::new(function, input.cloned()).unwrap();
            match append_only {
                true => accumulator.append_only(),
                false => accumulator,
            }
        };
        let retractable = |random: &mut fastrand::Rng, left: &[i64]| -> Vec<i64> {
            left.iter()
                .map(|&left| match append_only || left == 0 || random.bool() {
                    true => 0,
                    false => random.i64(1..=left),
                })
                .collect()
        };
        for seed in 0..300 {
            let mut random = fastrand::Rng::with_seed(seed);
            let context =
                format!("{function} over {input:?}, append-only {append_only}, seed {seed}");
            let rows = random.usize(0..=12);
            let input_rows = RandomRows::new(&mut random, values, rows);
            let split = random.u8(0..4);
            let on_into_side: Vec<bool> = (0..rows)
                .map(|_| match split {
                    0 => true,
                    1 => false,
                    _ => random.bool(),
                })
                .collect();
            let retracted = retractable(&mut random, &input_rows.copies);
            let (into, from) = loop {
                let (into, from) = (random.usize(0..4), random.usize(0..4));
                if into != from {
                    break (into, from);
                }
            };

            let all: Vec<usize> = (0..rows).collect();
            let mut whole = fresh();
            give_and_retract(&mut whole, 0, &input_rows, &all, &retracted);
            let mut merged = fresh();
            for (group, side) in [(into, true), (from, false)] {
                let side_rows: Vec<usize> = all
                    .iter()
                    .copied()
                    .filter(|&row| on_into_side[row] == side)
                    .collect();
                if random.bool() {
                    give_and_retract(&mut merged, group, &input_rows, &side_rows, &retracted);
                } else {
                    let mut elsewhere = fresh();
                    give_and_retract(&mut elsewhere, group, &input_rows, &side_rows, &retracted);
                    merged
                        .load(group, &elsewhere.save(group, Vec::new()))
                        .unwrap();
                }
            }
            // `merge_kept` must leave the group merged from as it was.
            let from_before = merged.save(from, Vec::new());
            if random.bool() {
                merged.merge_kept(&[(into, from)]).unwrap();
                assert_eq!(
                    merged.save(from, Vec::new()),
                    from_before,
                    "{context}: merge_kept changed the group merged from"
                );
            } else {
                merged.merge(into, from).unwrap();
            }
            let merged_result = merged.evaluate(&[into]).unwrap();
            assert_same(
                exactness,
                &merged_result,
                &whole.evaluate(&[0]).unwrap(),
                &context,
            );

            if append_only {
                let more = random.usize(1..=4);
                let next_rows = RandomRows::new(&mut random, values, rows + more);
                let later: Vec<usize> = (rows..rows + more).collect();
                let copies: Vec<i64> = later.iter().map(|&row| next_rows.copies[row]).collect();
                let sequences = own_sequences(&later);
                next_rows.give(&mut merged, into, &later, &copies, &sequences);
                next_rows.give(&mut whole, 0, &later, &copies, &sequences);
            } else {
                let left: Vec<i64> = (0..rows)
                    .map(|row| input_rows.copies[row] - retracted[row])
                    .collect();
                let again = retractable(&mut random, &left);
                let (rows, weights): (Vec<usize>, Vec<i64>) = all
                    .iter()
                    .filter(|&&row| again[row] > 0)
                    .map(|&row| (row, -again[row]))
                    .unzip();
                // Some at a sequence no row has: such a retraction takes the value's latest
                // occurrence, wherever it came from, so it reads the merged index by value.
                let sequences: Vec<u64> = rows
                    .iter()
                    .map(|&row| match random.bool() {
                        true => row as u64,
                        false => u64::MAX - row as u64,
                    })
                    .collect();
                input_rows.give(&mut merged, into, &rows, &weights, &sequences);
                input_rows.give(&mut whole, 0, &rows, &weights, &sequences);
            }
            let after = format!("{context}, after the merge");
            let merged_result = merged.evaluate(&[into]).unwrap();
            assert_same(
                exactness,
                &merged_result,
                &whole.evaluate(&[0]).unwrap(),
                &after,
            );
            let mut reloaded = fresh();
            reloaded.load(0, &merged.save(into, Vec::new())).unwrap();
            assert_eq!(
                reloaded.evaluate(&[0]).unwrap().to_data(),
                merged_result.to_data(),
                "{after}, saved and loaded"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::{Int64Array, StringArray};

    use super::test_support::*;
    use super::*;

    #[test]
    fn names_resolve_case_insensitively_with_arity() {
        let resolve = |name, arity| AggregateFunction::from_name(name, arity, &[]).unwrap();
        assert_eq!(resolve("COUNT", 0), Some(AggregateFunction::CountStar));
        assert_eq!(resolve("count", 1), Some(AggregateFunction::Count));
        assert_eq!(
            resolve("Latest_By_Offset", 1),
            Some(AggregateFunction::LatestByOffset(ByOffset::ONE))
        );
        assert_eq!(
            resolve("array_agg", 1),
            Some(AggregateFunction::CollectList)
        );
        assert_eq!(resolve("upper", 1), None);
        let int = |value: i64| Some(ScalarValue::Int64(Some(value)));
        let boolean = |value: bool| Some(ScalarValue::Boolean(Some(value)));
        assert_eq!(
            AggregateFunction::from_name("topk", 2, &[None, int(3)]).unwrap(),
            Some(AggregateFunction::TopK(3))
        );
        assert_eq!(
            AggregateFunction::from_name("TopKDistinct", 2, &[None, int(2)]).unwrap(),
            Some(AggregateFunction::TopKDistinct(2))
        );
        for bad_k in [None, int(0), int(-2), boolean(true)] {
            assert!(matches!(
                AggregateFunction::from_name("TOPK", 2, &[None, bad_k]),
                Err(AggregateError::InvalidArgument { .. })
            ));
        }
        let error = AggregateFunction::from_name("sum", 2, &[]).unwrap_err();
        assert_eq!(error.to_string(), "SUM takes 1 argument, but was given 2");
        assert!(AggregateFunction::from_name("topk", 1, &[]).is_err());

        let by_offset = |constants: &[Option<ScalarValue>]| {
            AggregateFunction::from_name("latest_by_offset", constants.len(), constants)
        };
        assert_eq!(
            by_offset(&[None, boolean(false)]).unwrap(),
            Some(AggregateFunction::LatestByOffset(ByOffset {
                count: None,
                ignore_nulls: false
            }))
        );
        assert_eq!(
            by_offset(&[None, int(3)]).unwrap(),
            Some(AggregateFunction::LatestByOffset(ByOffset {
                count: Some(3),
                ignore_nulls: true
            }))
        );
        assert_eq!(
            by_offset(&[None, int(2), boolean(false)]).unwrap(),
            Some(AggregateFunction::LatestByOffset(ByOffset {
                count: Some(2),
                ignore_nulls: false
            }))
        );
        for bad in [
            vec![None, int(0)],
            vec![None, None],
            vec![None, boolean(true), int(2)],
            vec![None, int(2), int(2)],
        ] {
            assert!(
                matches!(by_offset(&bad), Err(AggregateError::InvalidArgument { .. })),
                "{bad:?}"
            );
        }
        assert!(by_offset(&[None, int(1), boolean(true), None]).is_err());
    }

    #[test]
    fn output_types_follow_the_argument() {
        let output =
            |function: AggregateFunction, input: DataType| function.output_type(Some(&input));
        assert_eq!(
            AggregateFunction::CountStar.output_type(None).unwrap(),
            DataType::Int64
        );
        assert_eq!(
            output(AggregateFunction::Sum, DataType::Int32).unwrap(),
            DataType::Int64
        );
        assert_eq!(
            output(AggregateFunction::Sum, DataType::Float32).unwrap(),
            DataType::Float64
        );
        assert_eq!(
            output(AggregateFunction::Sum, DataType::Decimal128(10, 2)).unwrap(),
            DataType::Decimal128(20, 2)
        );
        assert_eq!(
            output(AggregateFunction::Sum, DataType::Decimal128(33, 2)).unwrap(),
            DataType::Decimal128(38, 2)
        );
        assert_eq!(
            output(AggregateFunction::Avg, DataType::Int64).unwrap(),
            DataType::Float64
        );
        assert_eq!(
            output(AggregateFunction::Max, DataType::Utf8).unwrap(),
            DataType::Utf8
        );
        assert_eq!(
            output(AggregateFunction::TopK(2), DataType::Int64).unwrap(),
            DataType::List(Arc::new(Field::new("item", DataType::Int64, true)))
        );
        assert_eq!(
            output(AggregateFunction::Sum, DataType::Utf8)
                .unwrap_err()
                .to_string(),
            "SUM does not accept an argument of type Utf8"
        );
        let nested = DataType::List(Arc::new(Field::new("item", DataType::Int64, true)));
        assert!(output(AggregateFunction::Min, nested.clone()).is_err());
        assert!(output(AggregateFunction::Count, nested).is_ok());
        assert!(AggregateFunction::Sum.output_type(None).is_err());
        assert!(Accumulator::new(AggregateFunction::Avg, Some(DataType::Boolean)).is_err());
    }

    #[test]
    fn update_rejects_inconsistent_batches() {
        let mut sum = accumulator(AggregateFunction::Sum, &DataType::Int64);
        let values = arc(Int64Array::from(vec![1, 2]));
        assert!(sum.update(&[0, 0], Some(&values), &[1], &[]).is_err());
        assert!(sum.update(&[0], Some(&values), &[1], &[]).is_err());
        assert!(sum.update(&[0, 0], None, &[1, 1], &[]).is_err());
        let strings = arc(StringArray::from(vec!["a", "b"]));
        assert!(sum.update(&[0, 0], Some(&strings), &[1, 1], &[]).is_err());
        let mut latest = accumulator(
            AggregateFunction::LatestByOffset(ByOffset::ONE),
            &DataType::Int64,
        );
        assert!(latest.update(&[0, 0], Some(&values), &[1, 1], &[]).is_err());
        sum.update(&[0, 0], Some(&values), &[1, 1], &[]).unwrap();
        assert!(format!("{sum:?}").contains("Sum"));
    }

    #[test]
    fn damaged_state_is_an_error_or_a_state_never_a_panic() {
        let functions = [
            AggregateFunction::Count,
            AggregateFunction::Min,
            AggregateFunction::CountDistinct,
            AggregateFunction::CollectSet,
            AggregateFunction::TopK(2),
            AggregateFunction::TopKDistinct(2),
            AggregateFunction::LatestByOffset(ByOffset::ONE),
            AggregateFunction::EarliestByOffset(ByOffset {
                count: Some(2),
                ignore_nulls: false,
            }),
            AggregateFunction::CollectList,
        ];
        let values = arc(StringArray::from(vec![Some("ab"), None, Some("é")]));
        for function in functions {
            let mut original = accumulator(function, &DataType::Utf8);
            apply(&mut original, values.clone(), &[0, 0, 0], &[1, 1, 2]);
            let saved = original.save(0, Vec::new());
            let mut damaged = accumulator(function, &DataType::Utf8);
            for length in 0..saved.len() {
                assert!(
                    damaged.load(0, &saved[..length]).is_err(),
                    "{function} {length}"
                );
            }
            for position in 1..saved.len() {
                for flip in [0x01, 0x80, 0xff] {
                    let mut bytes = saved.clone();
                    bytes[position] ^= flip;
                    if damaged.load(0, &bytes).is_ok() {
                        let _ = damaged.evaluate(&[0]);
                    }
                }
            }
        }
        let mut sum = accumulator(AggregateFunction::Sum, &DataType::Int64);
        apply(&mut sum, arc(Int64Array::from(vec![5])), &[0], &[1]);
        let saved = sum.save(0, Vec::new());
        for length in 0..saved.len() {
            assert!(sum.load(0, &saved[..length]).is_err());
        }
    }

    #[test]
    fn merging_a_group_into_itself_is_refused_and_changes_nothing() {
        let functions = [
            AggregateFunction::Count,
            AggregateFunction::Sum,
            AggregateFunction::Avg,
            AggregateFunction::Min,
            AggregateFunction::Max,
            AggregateFunction::CountDistinct,
            AggregateFunction::LatestByOffset(ByOffset::ONE),
            AggregateFunction::EarliestByOffset(ByOffset::ONE),
            AggregateFunction::CollectList,
            AggregateFunction::CollectSet,
            AggregateFunction::TopK(2),
            AggregateFunction::TopKDistinct(2),
            AggregateFunction::StddevSamp,
        ];
        let values = arc(Int64Array::from(vec![3, 5]));
        let mut accumulators: Vec<Accumulator> = functions
            .iter()
            .flat_map(|&function| {
                [
                    accumulator(function, &DataType::Int64),
                    accumulator(function, &DataType::Int64).append_only(),
                ]
            })
            .collect();
        accumulators.push(Accumulator::new(AggregateFunction::CountStar, None).unwrap());
        let words = arc(StringArray::from(vec!["x", "y"]));
        accumulators.push(accumulator(AggregateFunction::Histogram, &DataType::Utf8));
        for mut accumulator in accumulators {
            let column = match accumulator.function {
                AggregateFunction::Histogram => words.clone(),
                _ => values.clone(),
            };
            accumulator
                .update(&[1, 1], Some(&column), &[1, 2], &[0, 1])
                .unwrap();
            let before = accumulator.evaluate(&[1]).unwrap();
            let error = accumulator.merge(1, 1).unwrap_err();
            assert!(
                matches!(&error, AggregateError::Invariant { detail, .. } if detail.contains("itself")),
                "{error}"
            );
            assert_eq!(
                accumulator.evaluate(&[1]).unwrap().to_data(),
                before.to_data(),
                "{}",
                accumulator.function
            );
        }
    }

    #[test]
    fn load_rejects_foreign_and_damaged_state() {
        let mut count = Accumulator::new(AggregateFunction::CountStar, None).unwrap();
        assert!(count.load(0, &[]).is_err());
        assert!(count.load(0, &[99, 0]).is_err());
        let mut saved = count.save(0, Vec::new());
        saved.push(0);
        assert!(count.load(0, &saved).is_err());
    }
}
