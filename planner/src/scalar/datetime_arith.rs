//! ksqlDB's arithmetic on dates, times and timestamps: DATEADD/DATESUB, TIMEADD/TIMESUB and
//! TIMESTAMPADD/TIMESTAMPSUB (`unit, interval, value`).
//!
//! The unit is ksqlDB's bare keyword (`DATEADD(DAYS, 5, d)`); the planner turns it into the
//! text 'DAYS' (`sql::ksql_expression_rules`), so here it is a string: MILLISECOND(S),
//! SECOND(S), MINUTE(S), HOUR(S) or DAY(S). A NULL argument gives NULL, as ksqlDB's UDFs check;
//! an unknown unit, or a result past its type's range, is an error of the row.
//!
//! Never: wrap around on overflow where ksqlDB's Java would not; a TIME wraps around midnight
//! because Java's LocalTime does.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array};
use arrow::array::{Time64MicrosecondArray, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);
const TIME: DataType = DataType::Time64(TimeUnit::Microsecond);
const DAY_MS: i64 = 86_400_000;
const DAY_NANOS: i128 = 86_400_000_000_000;

/// The units ksqlDB's grammar takes for these functions, with their length in milliseconds.
pub(crate) const UNITS: [(&str, i64); 10] = [
    ("MILLISECOND", 1),
    ("MILLISECONDS", 1),
    ("SECOND", 1_000),
    ("SECONDS", 1_000),
    ("MINUTE", 60_000),
    ("MINUTES", 60_000),
    ("HOUR", 3_600_000),
    ("HOURS", 3_600_000),
    ("DAY", DAY_MS),
    ("DAYS", DAY_MS),
];

/// The functions that take a unit first, whose unit keyword the planner turns into text.
pub(crate) const UNIT_FUNCTIONS: [&str; 6] = [
    "dateadd",
    "datesub",
    "timeadd",
    "timesub",
    "timestampadd",
    "timestampsub",
];

/// A unit's length in milliseconds, any case.
pub(crate) fn unit_ms(unit: &str) -> Option<i64> {
    UNITS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(unit))
        .map(|(_, ms)| *ms)
}

/// The six functions that add or take away units.
pub(crate) fn datetime_arith_functions() -> Vec<Arc<ScalarUDF>> {
    let functions: Vec<Arc<ScalarUDF>> = [Target::Date, Target::Time, Target::Timestamp]
        .into_iter()
        .flat_map(|target| [(target, 1), (target, -1)])
        .map(|(target, direction)| {
            Arc::new(ScalarUDF::from(AddUnits {
                target,
                direction,
                signature: Signature::exact(
                    vec![DataType::Utf8, DataType::Int64, target.data_type()],
                    Volatility::Immutable,
                ),
            }))
        })
        .collect();
    functions
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Target {
    Date,
    Time,
    Timestamp,
}

impl Target {
    fn data_type(self) -> DataType {
        match self {
            Target::Date => DataType::Date32,
            Target::Time => TIME,
            Target::Timestamp => TIMESTAMP,
        }
    }
}

/// DATEADD/DATESUB (ksqlDB's DateAdd/DateSub UDFs), TIMEADD/TIMESUB (TimeAdd/TimeSub),
/// TIMESTAMPADD/TIMESTAMPSUB (TimestampAdd/TimestampSub): `interval` units added (`direction`
/// 1) or taken away (-1).
#[derive(Debug, PartialEq, Eq, Hash)]
struct AddUnits {
    target: Target,
    direction: i64,
    signature: Signature,
}

impl ScalarUDFImpl for AddUnits {
    fn name(&self) -> &str {
        match (self.target, self.direction) {
            (Target::Date, 1) => "dateadd",
            (Target::Date, _) => "datesub",
            (Target::Time, 1) => "timeadd",
            (Target::Time, _) => "timesub",
            (Target::Timestamp, 1) => "timestampadd",
            (Target::Timestamp, _) => "timestampsub",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.target.data_type())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [units, intervals, values] = arrays.as_slice() else {
            return exec_err!("{} takes a unit, an interval and a value", self.name());
        };
        let units = cast(units, &DataType::Utf8)?;
        let units = units.as_string::<i32>();
        let intervals = cast(intervals, &DataType::Int64)?;
        let intervals = intervals.as_primitive::<Int64Type>();
        let values = cast(&cast(values, &self.target.data_type())?, &DataType::Int64)?;
        let values = values.as_primitive::<Int64Type>();
        let mut answers = Vec::with_capacity(values.len());
        for row in 0..values.len() {
            if units.is_null(row) || intervals.is_null(row) || values.is_null(row) {
                answers.push(None);
                continue;
            }
            let unit = units.value(row);
            let Some(unit_ms) = unit_ms(unit) else {
                return exec_err!(
                    "{}: '{unit}' is not a unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)",
                    self.name()
                );
            };
            let amount = i128::from(unit_ms) * i128::from(intervals.value(row));
            match self.apply(values.value(row), amount * i128::from(self.direction)) {
                Some(answer) => answers.push(Some(answer)),
                None => {
                    return exec_err!(
                        "{}: {} {unit} from {} is out of range",
                        self.name(),
                        intervals.value(row),
                        arrow::util::display::array_value_to_string(&arrays[2], row)
                            .unwrap_or_default()
                    );
                }
            }
        }
        Ok(ColumnarValue::Array(match self.target {
            Target::Date => Arc::new(Date32Array::from_iter(
                answers
                    .into_iter()
                    .map(|days| days.and_then(|days| i32::try_from(days).ok())),
            )) as ArrayRef,
            Target::Time => Arc::new(Time64MicrosecondArray::from_iter(answers)),
            Target::Timestamp => Arc::new(TimestampMillisecondArray::from_iter(answers)),
        }))
    }
}

impl AddUnits {
    /// `value` (days, microseconds of the day, or epoch milliseconds) moved by `amount_ms`.
    fn apply(&self, value: i64, amount_ms: i128) -> Option<i64> {
        match self.target {
            // Java: MILLISECONDS.toDays(date millis + unit millis), truncated toward zero,
            // so a DATE moves only by whole days of the interval.
            Target::Date => {
                let days =
                    (i128::from(value) * i128::from(DAY_MS) + amount_ms) / i128::from(DAY_MS);
                i32::try_from(days).ok().map(i64::from)
            }
            // Java: LocalTime.plus(nanos), around midnight; TimeUnit.toNanos saturates.
            Target::Time => {
                let nanos =
                    (amount_ms * 1_000_000).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
                let nanos = (i128::from(value) * 1_000 + nanos).rem_euclid(DAY_NANOS);
                i64::try_from(nanos / 1_000).ok()
            }
            Target::Timestamp => i64::try_from(i128::from(value) + amount_ms).ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;
    use crate::scalar::test_support::{ints, invoke_on_columns, named};

    fn call(name: &str, columns: Vec<ArrayRef>, returns: DataType) -> Result<ArrayRef> {
        let function = named(datetime_arith_functions(), name);
        invoke_on_columns(&function, columns, returns)
    }

    fn units(unit: &str, rows: usize) -> ArrayRef {
        Arc::new(StringArray::from(vec![unit; rows]))
    }

    fn longs(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    #[test]
    fn dates_move_by_whole_days_truncated_toward_zero_as_java() {
        let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(0), Some(-1), Some(10), None]));
        let added = |unit, intervals: &[Option<i64>]| {
            ints(
                &call(
                    "dateadd",
                    vec![units(unit, 4), longs(intervals), dates.clone()],
                    DataType::Date32,
                )
                .unwrap(),
            )
        };
        assert_eq!(
            added("DAYS", &[Some(5), Some(5), Some(-20), Some(1)]),
            vec![Some(5), Some(4), Some(-10), None]
        );
        // 1969-12-31 plus an hour is -23 h, which Java truncates to day 0.
        assert_eq!(
            added("HOURS", &[Some(-1), Some(1), Some(36), None]),
            vec![Some(0), Some(0), Some(11), None]
        );
        let subtracted = call(
            "datesub",
            vec![units("DAY", 4), longs(&[Some(1); 4]), dates.clone()],
            DataType::Date32,
        )
        .unwrap();
        assert_eq!(ints(&subtracted), vec![Some(-1), Some(-2), Some(9), None]);
        let error = call(
            "dateadd",
            vec![units("WEEKS", 4), longs(&[Some(1); 4]), dates],
            DataType::Date32,
        )
        .unwrap_err();
        assert!(
            error.to_string().contains("'WEEKS' is not a unit"),
            "{error}"
        );
    }

    #[test]
    fn times_wrap_around_midnight_and_timestamps_do_not_overflow() {
        let times: ArrayRef = Arc::new(Time64MicrosecondArray::from(vec![
            Some(3_600_000_000),
            Some(0),
        ]));
        let moved = call(
            "timeadd",
            vec![
                units("HOURS", 2),
                longs(&[Some(25), Some(-1)]),
                times.clone(),
            ],
            TIME,
        )
        .unwrap();
        assert_eq!(
            ints(&moved),
            vec![Some(7_200_000_000), Some(82_800_000_000)]
        );
        let back = call(
            "timesub",
            vec![
                units("MINUTES", 2),
                longs(&[Some(61), Some(i64::MIN)]),
                times,
            ],
            TIME,
        )
        .unwrap();
        // Java's TimeUnit.toNanos saturates at Long.MIN_VALUE, whose negation wraps modulo a day.
        let saturated = (-(i128::from(i64::MIN))).rem_euclid(DAY_NANOS) / 1_000;
        assert_eq!(
            ints(&back),
            vec![
                Some(3_600_000_000 - 3_660_000_000 + 86_400_000_000),
                Some(saturated as i64)
            ]
        );
        let timestamps: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![
            Some(1_000),
            Some(i64::MAX),
        ]));
        let error = call(
            "timestampadd",
            vec![
                units("SECONDS", 2),
                longs(&[Some(1), Some(1)]),
                timestamps.clone(),
            ],
            TIMESTAMP,
        )
        .unwrap_err();
        assert!(error.to_string().contains("out of range"), "{error}");
        let moved = call(
            "timestampsub",
            vec![
                units("MILLISECOND", 1),
                longs(&[Some(1)]),
                Arc::new(TimestampMillisecondArray::from(vec![Some(1_000)])),
            ],
            TIMESTAMP,
        )
        .unwrap();
        assert_eq!(ints(&moved), vec![Some(999)]);
    }
}
