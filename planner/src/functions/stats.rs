//! STDDEV_SAMP (alias STDDEV_SAMPLE), CORRELATION and HISTOGRAM for pull queries, with the
//! meaning the executor's incremental versions give them:
//!
//! - `stddev_samp(x)` → DOUBLE: the sample standard deviation of the non-NULL values, 0.0 for
//!   fewer than two (ksqlDB's StandardDeviationSampUdaf; its code returns the variance, its
//!   documentation the standard deviation, which Eddy gives). Replaces DataFusion's
//!   `stddev_samp` (NULL for one row); DataFusion's `stddev` keeps its meaning.
//! - `correlation(x, y)` → DOUBLE: Pearson's coefficient over the rows where neither is NULL,
//!   NaN where undefined (ksqlDB's CorrelationUdaf).
//! - `histogram(s)` → MAP<STRING, BIGINT>: how often each non-NULL string occurs (ksqlDB's
//!   HistogramUdaf, without its cap of 1000 entries: a cap drops counts silently).
//!
//! Never: sum in another order than `moments` does, or the pull answer drifts from the
//! persistent one.

use std::collections::BTreeMap;
use std::mem::size_of_val;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, MapArray, StringArray, StructArray};
use arrow::buffer::OffsetBuffer;
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, FieldRef, Float64Type, Int64Type};
use datafusion::common::{Result, ScalarValue, internal_datafusion_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::format_state_name;
use datafusion::logical_expr::{Accumulator, AggregateUDFImpl, Signature, Volatility};
use eddy_parser::ColumnType;

use crate::moments::{Correlation, Deviation};
use crate::types::arrow_type;

/// Which of the three a `Statistic` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum StatisticKind {
    StddevSamp,
    Correlation,
    Histogram,
}

#[derive(Debug, PartialEq, Eq, Hash)]
pub(super) struct Statistic {
    kind: StatisticKind,
    signature: Signature,
    aliases: Vec<String>,
}

impl Statistic {
    pub(super) fn new(kind: StatisticKind) -> Self {
        let (arguments, aliases) = match kind {
            StatisticKind::StddevSamp => (1, vec!["stddev_sample".to_owned()]),
            StatisticKind::Correlation => (2, Vec::new()),
            StatisticKind::Histogram => (1, Vec::new()),
        };
        Statistic {
            kind,
            signature: Signature::any(arguments, Volatility::Immutable),
            aliases,
        }
    }
}

/// HISTOGRAM's result: MAP<STRING, BIGINT> as Eddy stores maps.
pub fn histogram_type() -> DataType {
    arrow_type(&ColumnType::Map(
        Box::new(ColumnType::String),
        Box::new(ColumnType::BigInt),
    ))
}

impl AggregateUDFImpl for Statistic {
    fn name(&self) -> &str {
        match self.kind {
            StatisticKind::StddevSamp => "stddev_samp",
            StatisticKind::Correlation => "correlation",
            StatisticKind::Histogram => "histogram",
        }
    }

    fn aliases(&self) -> &[String] {
        &self.aliases
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        for argument in arg_types {
            let fits = match self.kind {
                StatisticKind::Histogram => {
                    matches!(
                        argument,
                        DataType::Utf8 | DataType::Utf8View | DataType::Null
                    )
                }
                _ => argument.is_numeric() || *argument == DataType::Null,
            };
            if !fits {
                return plan_err!(
                    "{} does not take an argument of type {argument}",
                    self.name()
                );
            }
        }
        Ok(match self.kind {
            StatisticKind::Histogram => histogram_type(),
            _ => DataType::Float64,
        })
    }

    fn default_value(&self, data_type: &DataType) -> Result<ScalarValue> {
        match self.kind {
            StatisticKind::StddevSamp => Ok(ScalarValue::Float64(Some(0.0))),
            StatisticKind::Correlation => Ok(ScalarValue::Float64(Some(f64::NAN))),
            StatisticKind::Histogram => ScalarValue::new_default(data_type),
        }
    }

    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let field = |name: &str, data_type: DataType| {
            Arc::new(Field::new(
                format_state_name(args.name, name),
                data_type,
                true,
            ))
        };
        Ok(match self.kind {
            StatisticKind::StddevSamp => vec![
                field("count", DataType::Int64),
                field("sum", DataType::Float64),
                field("m2", DataType::Float64),
            ],
            StatisticKind::Correlation => vec![
                field("count", DataType::Int64),
                field("x_sum", DataType::Float64),
                field("y_sum", DataType::Float64),
                field("x_squared_sum", DataType::Float64),
                field("y_squared_sum", DataType::Float64),
                field("xy_sum", DataType::Float64),
            ],
            StatisticKind::Histogram => vec![field("counts", histogram_type())],
        })
    }

    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(match self.kind {
            StatisticKind::StddevSamp => Box::new(DeviationAccumulator::default()),
            StatisticKind::Correlation => Box::new(CorrelationAccumulator::default()),
            StatisticKind::Histogram => Box::new(HistogramAccumulator::default()),
        })
    }
}

/// A numeric column as doubles.
fn doubles(column: &ArrayRef) -> Result<ArrayRef> {
    Ok(cast(column, &DataType::Float64)?)
}

fn column(columns: &[ArrayRef], position: usize) -> Result<&ArrayRef> {
    columns
        .get(position)
        .ok_or_else(|| internal_datafusion_err!("an aggregate got no column {position}"))
}

#[derive(Debug, Default)]
struct DeviationAccumulator {
    deviation: Deviation,
}

impl Accumulator for DeviationAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let values = doubles(column(values, 0)?)?;
        for value in values.as_primitive::<Float64Type>().iter().flatten() {
            self.deviation.add(value);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = column(states, 0)?.as_primitive::<Int64Type>();
        let sums = column(states, 1)?.as_primitive::<Float64Type>();
        let m2s = column(states, 2)?.as_primitive::<Float64Type>();
        for row in 0..counts.len() {
            self.deviation.merge(&Deviation {
                count: counts.value(row),
                sum: sums.value(row),
                m2: m2s.value(row),
            });
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let Deviation { count, sum, m2 } = self.deviation;
        Ok(vec![
            ScalarValue::Int64(Some(count)),
            ScalarValue::Float64(Some(sum)),
            ScalarValue::Float64(Some(m2)),
        ])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(Some(self.deviation.stddev_samp())))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

#[derive(Debug, Default)]
struct CorrelationAccumulator {
    correlation: Correlation,
}

impl Accumulator for CorrelationAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let xs = doubles(column(values, 0)?)?;
        let ys = doubles(column(values, 1)?)?;
        let pairs = xs
            .as_primitive::<Float64Type>()
            .iter()
            .zip(ys.as_primitive::<Float64Type>().iter());
        for (x, y) in pairs {
            if let (Some(x), Some(y)) = (x, y) {
                self.correlation.add(x, y, 1);
            }
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let counts = column(states, 0)?.as_primitive::<Int64Type>();
        let sums: Vec<_> = (1..6)
            .map(|position| Ok(column(states, position)?.as_primitive::<Float64Type>()))
            .collect::<Result<_>>()?;
        for row in 0..counts.len() {
            self.correlation.merge(&Correlation {
                count: counts.value(row),
                x_sum: sums[0].value(row),
                y_sum: sums[1].value(row),
                x_squared_sum: sums[2].value(row),
                y_squared_sum: sums[3].value(row),
                xy_sum: sums[4].value(row),
            });
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let c = self.correlation;
        Ok(std::iter::once(ScalarValue::Int64(Some(c.count)))
            .chain(
                [c.x_sum, c.y_sum, c.x_squared_sum, c.y_squared_sum, c.xy_sum]
                    .map(|sum| ScalarValue::Float64(Some(sum))),
            )
            .collect())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(ScalarValue::Float64(Some(self.correlation.coefficient())))
    }

    fn size(&self) -> usize {
        size_of_val(self)
    }
}

#[derive(Debug, Default)]
struct HistogramAccumulator {
    counts: BTreeMap<String, i64>,
    key_bytes: usize,
}

impl HistogramAccumulator {
    fn count(&mut self, key: &str, copies: i64) {
        match self.counts.get_mut(key) {
            Some(count) => *count += copies,
            None => {
                self.key_bytes += key.len();
                self.counts.insert(key.to_owned(), copies);
            }
        }
    }

    fn map(&self) -> Result<ScalarValue> {
        let keys = StringArray::from_iter_values(self.counts.keys());
        let counts = Int64Array::from_iter_values(self.counts.values().copied());
        Ok(ScalarValue::Map(Arc::new(histogram_map(
            vec![self.counts.len()],
            Arc::new(keys),
            Arc::new(counts),
        )?)))
    }
}

/// A map array of HISTOGRAM's type whose row `i` holds the next `lengths[i]` entries.
pub fn histogram_map(
    lengths: Vec<usize>,
    keys: ArrayRef,
    counts: ArrayRef,
) -> std::result::Result<MapArray, arrow::error::ArrowError> {
    let DataType::Map(entries_field, sorted) = histogram_type() else {
        unreachable!("histogram_type is a map type");
    };
    let DataType::Struct(entry_fields) = entries_field.data_type() else {
        unreachable!("a map's entries are a struct");
    };
    let entries = StructArray::try_new(entry_fields.clone(), vec![keys, counts], None)?;
    MapArray::try_new(
        entries_field,
        OffsetBuffer::from_lengths(lengths),
        entries,
        None,
        sorted,
    )
}

impl Accumulator for HistogramAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let strings = cast(column(values, 0)?, &DataType::Utf8)?;
        for key in strings.as_string::<i32>().iter().flatten() {
            self.count(key, 1);
        }
        Ok(())
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let maps = column(states, 0)?.as_map();
        let keys = maps.keys().as_string::<i32>();
        let counts = maps.values().as_primitive::<Int64Type>();
        for row in 0..maps.len() {
            for entry in maps.value_offsets()[row]..maps.value_offsets()[row + 1] {
                let entry = entry as usize;
                self.count(keys.value(entry), counts.value(entry));
            }
        }
        Ok(())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![self.map()?])
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        self.map()
    }

    fn size(&self) -> usize {
        size_of_val(self) + self.key_bytes + self.counts.len() * size_of_val(&(String::new(), 0i64))
    }
}
