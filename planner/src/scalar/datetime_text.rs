//! ksqlDB's functions between dates, times and text in Java DateTimeFormatter patterns
//! (`crate::java_time`): PARSE_DATE, PARSE_TIME, PARSE_TIMESTAMP and FORMAT_DATE, FORMAT_TIME,
//! FORMAT_TIMESTAMP, and the deprecated STRINGTODATE and STRINGTOTIMESTAMP (days and epoch
//! milliseconds from text), DATETOSTRING and TIMESTAMPTOSTRING (text from them).
//!
//! A zone argument is a Java zone id; without one, timestamps are read and printed in UTC (a
//! ksqlDB server's default zone, which Eddy fixes so answers do not depend on the machine).
//! Text that does not match its pattern, an unknown zone or a bad pattern throws in ksqlDB,
//! so it is an error of the row here; a NULL argument gives NULL.
//!
//! Never: compile a pattern or zone once per row when the batch repeats it.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, Date32Array, Int32Array, Int64Array, StringArray, StringBuilder,
    Time64MicrosecondArray, TimestampMillisecondArray,
};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Date32Type, Int64Type, Time64MicrosecondType, TimeUnit, TimestampMillisecondType,
};
use chrono::{NaiveTime, Timelike};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::java_time::{JavaTimeFormat, JavaZone, date_of_epoch_days, epoch_days_of};

const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);
const TIME: DataType = DataType::Time64(TimeUnit::Microsecond);

/// One function of the family: what it reads and what it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// ksqlDB's ParseDate UDF: DATE from text; a time field in the pattern is an error.
    ParseDate,
    /// ksqlDB's ParseTime UDF: TIME from text; a date field in the pattern is an error.
    ParseTime,
    /// ksqlDB's ParseTimestamp UDF: TIMESTAMP from text, in an optional zone.
    ParseTimestamp,
    /// ksqlDB's StringToDate UDF: days since 1970-01-01 (INT) from text.
    StringToDate,
    /// ksqlDB's StringToTimestamp UDF: epoch milliseconds (BIGINT) from text, optional zone.
    StringToTimestamp,
    /// ksqlDB's FormatDate UDF: text of a DATE.
    FormatDate,
    /// ksqlDB's FormatTime UDF: text of a TIME.
    FormatTime,
    /// ksqlDB's FormatTimestamp UDF: text of a TIMESTAMP, in an optional zone.
    FormatTimestamp,
    /// ksqlDB's DateToString UDF: text of days since 1970-01-01.
    DateToString,
    /// ksqlDB's TimestampToString UDF: text of epoch milliseconds, in an optional zone.
    TimestampToString,
}

const KINDS: [Kind; 10] = [
    Kind::ParseDate,
    Kind::ParseTime,
    Kind::ParseTimestamp,
    Kind::StringToDate,
    Kind::StringToTimestamp,
    Kind::FormatDate,
    Kind::FormatTime,
    Kind::FormatTimestamp,
    Kind::DateToString,
    Kind::TimestampToString,
];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::ParseDate => "parse_date",
            Kind::ParseTime => "parse_time",
            Kind::ParseTimestamp => "parse_timestamp",
            Kind::StringToDate => "stringtodate",
            Kind::StringToTimestamp => "stringtotimestamp",
            Kind::FormatDate => "format_date",
            Kind::FormatTime => "format_time",
            Kind::FormatTimestamp => "format_timestamp",
            Kind::DateToString => "datetostring",
            Kind::TimestampToString => "timestamptostring",
        }
    }

    /// The type of the first argument, as the function reads it.
    fn input(self) -> DataType {
        match self {
            Kind::ParseDate
            | Kind::ParseTime
            | Kind::ParseTimestamp
            | Kind::StringToDate
            | Kind::StringToTimestamp => DataType::Utf8,
            Kind::FormatDate => DataType::Date32,
            Kind::FormatTime => TIME,
            Kind::FormatTimestamp => TIMESTAMP,
            Kind::DateToString | Kind::TimestampToString => DataType::Int64,
        }
    }

    fn output(self) -> DataType {
        match self {
            Kind::ParseDate => DataType::Date32,
            Kind::ParseTime => TIME,
            Kind::ParseTimestamp => TIMESTAMP,
            Kind::StringToDate => DataType::Int32,
            Kind::StringToTimestamp => DataType::Int64,
            _ => DataType::Utf8,
        }
    }

    fn takes_zone(self) -> bool {
        matches!(
            self,
            Kind::ParseTimestamp
                | Kind::StringToTimestamp
                | Kind::FormatTimestamp
                | Kind::TimestampToString
        )
    }

    fn signature(self) -> Signature {
        let firsts = match self {
            // ksqlDB's INT days; a BIGINT is read too.
            Kind::DateToString => vec![DataType::Int32, DataType::Int64],
            _ => vec![self.input()],
        };
        let mut signatures = Vec::new();
        for first in firsts {
            signatures.push(TypeSignature::Exact(vec![first.clone(), DataType::Utf8]));
            if self.takes_zone() {
                signatures.push(TypeSignature::Exact(vec![
                    first,
                    DataType::Utf8,
                    DataType::Utf8,
                ]));
            }
        }
        Signature::one_of(signatures, Volatility::Immutable)
    }
}

/// The ten functions, to register over any of DataFusion's of the same names.
pub(crate) fn datetime_text_functions() -> Vec<Arc<ScalarUDF>> {
    KINDS
        .into_iter()
        .map(|kind| {
            Arc::new(ScalarUDF::from(DatetimeText {
                kind,
                signature: kind.signature(),
            }))
        })
        .collect()
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct DatetimeText {
    kind: Kind,
    signature: Signature,
}

/// The last value compiled from a key, kept while rows repeat the key.
struct Last<T> {
    entry: Option<(String, Result<T, String>)>,
}

impl<T> Last<T> {
    fn new() -> Self {
        Last { entry: None }
    }

    fn get(
        &mut self,
        key: &str,
        make: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<&T, String> {
        if self.entry.as_ref().is_none_or(|(last, _)| last != key) {
            self.entry = Some((key.to_string(), make(key)));
        }
        match &self.entry {
            Some((_, Ok(value))) => Ok(value),
            Some((_, Err(error))) => Err(error.clone()),
            None => Err("nothing compiled".to_string()),
        }
    }
}

/// A row's answer before it goes into the output column.
enum Value {
    Number(i64),
    Text(String),
}

impl ScalarUDFImpl for DatetimeText {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(self.kind.output())
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let (Some(values), Some(patterns)) = (arrays.first(), arrays.get(1)) else {
            return exec_err!("{} takes a value and a pattern", self.name());
        };
        let values = cast(values, &self.kind.input())?;
        let patterns = cast(patterns, &DataType::Utf8)?;
        let patterns = patterns.as_string::<i32>();
        let zones = arrays
            .get(2)
            .map(|zones| cast(zones, &DataType::Utf8))
            .transpose()?;
        let zones = zones.as_ref().map(|zones| zones.as_string::<i32>());
        let mut formats = Last::new();
        let mut zone_of = Last::new();
        let utc = JavaZone::utc();
        let mut answers = Vec::with_capacity(values.len());
        for row in 0..values.len() {
            let zone_null = zones.is_some_and(|zones| zones.is_null(row));
            if values.is_null(row) || patterns.is_null(row) || zone_null {
                answers.push(None);
                continue;
            }
            let pattern = patterns.value(row);
            let format = formats.get(pattern, |pattern| {
                let format = JavaTimeFormat::from_java(pattern)?;
                Ok(match self.kind {
                    Kind::ParseDate | Kind::StringToDate => format.case_insensitive(),
                    _ => format,
                })
            });
            let zone = match zones {
                Some(zones) => zone_of.get(zones.value(row), JavaZone::of),
                None => Ok(&utc),
            };
            let answer = format.and_then(|format| self.answer(&values, row, format, zone?));
            match answer {
                Ok(value) => answers.push(Some(value)),
                Err(error) => {
                    let zone = zones.map(|zones| zones.value(row));
                    return exec_err!("{}", self.failure(&values, row, pattern, zone, &error));
                }
            }
        }
        Ok(ColumnarValue::Array(self.column(answers)))
    }
}

impl DatetimeText {
    /// The answer of one row whose arguments are all present.
    fn answer(
        &self,
        values: &ArrayRef,
        row: usize,
        format: &JavaTimeFormat,
        zone: &JavaZone,
    ) -> Result<Value, String> {
        let text = || values.as_string::<i32>().value(row);
        Ok(match self.kind {
            Kind::ParseDate => Value::Number(epoch_days_of(format.parse_date(text())?)),
            Kind::StringToDate => {
                Value::Number(epoch_days_of(format.parse_date_ignoring_time(text())?))
            }
            Kind::ParseTime => {
                let time = format.parse_time(text())?;
                let micros = i64::from(time.num_seconds_from_midnight()) * 1_000_000;
                Value::Number(micros + i64::from(time.nanosecond() / 1_000))
            }
            Kind::ParseTimestamp | Kind::StringToTimestamp => {
                Value::Number(format.parse_timestamp_ms(text(), zone)?)
            }
            Kind::FormatDate | Kind::DateToString => {
                let days = match self.kind {
                    Kind::FormatDate => i64::from(values.as_primitive::<Date32Type>().value(row)),
                    _ => values.as_primitive::<Int64Type>().value(row),
                };
                let date = date_of_epoch_days(days)
                    .ok_or_else(|| format!("{days} days is out of the range of dates"))?;
                Value::Text(format.format_date(date)?)
            }
            Kind::FormatTime => {
                let micros = values.as_primitive::<Time64MicrosecondType>().value(row);
                let time = time_of_micros(micros)
                    .ok_or_else(|| format!("{micros} microseconds is not a time of day"))?;
                Value::Text(format.format_time(time)?)
            }
            Kind::FormatTimestamp | Kind::TimestampToString => {
                let ms = match self.kind {
                    Kind::FormatTimestamp => {
                        values.as_primitive::<TimestampMillisecondType>().value(row)
                    }
                    _ => values.as_primitive::<Int64Type>().value(row),
                };
                Value::Text(format.format_timestamp(ms, zone)?)
            }
        })
    }

    /// ksqlDB's message for a row that fails.
    fn failure(
        &self,
        values: &ArrayRef,
        row: usize,
        pattern: &str,
        zone: Option<&str>,
        error: &str,
    ) -> String {
        let at_zone = zone.map_or(String::new(), |zone| format!(" at timezone '{zone}'"));
        let value = arrow::util::display::array_value_to_string(values, row).unwrap_or_default();
        let what = match self.kind {
            Kind::ParseDate | Kind::StringToDate => format!("Failed to parse date '{value}'"),
            Kind::ParseTime => format!("Failed to parse time '{value}'"),
            Kind::ParseTimestamp | Kind::StringToTimestamp => {
                format!("Failed to parse timestamp '{value}'{at_zone}")
            }
            Kind::FormatDate | Kind::DateToString => format!("Failed to format date {value}"),
            Kind::FormatTime => format!("Failed to format time {value}"),
            Kind::FormatTimestamp | Kind::TimestampToString => {
                format!("Failed to format timestamp {value}{at_zone}")
            }
        };
        format!(
            "{}: {what} with formatter '{pattern}': {error}",
            self.name()
        )
    }

    fn column(&self, answers: Vec<Option<Value>>) -> ArrayRef {
        let numbers = || {
            answers.iter().map(|answer| match answer {
                Some(Value::Number(number)) => Some(*number),
                _ => None,
            })
        };
        match self.kind.output() {
            DataType::Date32 => Arc::new(Date32Array::from_iter(
                numbers().map(|days| days.and_then(|days| i32::try_from(days).ok())),
            )),
            DataType::Int32 => Arc::new(Int32Array::from_iter(
                numbers().map(|days| days.and_then(|days| i32::try_from(days).ok())),
            )),
            DataType::Int64 => Arc::new(Int64Array::from_iter(numbers())),
            DataType::Time64(_) => Arc::new(Time64MicrosecondArray::from_iter(numbers())),
            DataType::Timestamp(_, _) => Arc::new(TimestampMillisecondArray::from_iter(numbers())),
            _ => {
                let mut texts = StringBuilder::with_capacity(answers.len(), answers.len() * 24);
                for answer in &answers {
                    match answer {
                        Some(Value::Text(text)) => texts.append_value(text),
                        _ => texts.append_null(),
                    }
                }
                Arc::new(texts.finish()) as Arc<StringArray>
            }
        }
    }
}

/// The time of day `micros` after midnight, if it is one.
fn time_of_micros(micros: i64) -> Option<NaiveTime> {
    let seconds = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let nanos = u32::try_from(micros.rem_euclid(1_000_000) * 1_000).ok()?;
    NaiveTime::from_num_seconds_from_midnight_opt(seconds, nanos)
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::scalar::test_support::{invoke_on_columns, named};

    fn call(name: &str, columns: Vec<ArrayRef>) -> Result<ArrayRef> {
        let function = named(datetime_text_functions(), name);
        let returns = function.return_type(&[])?;
        invoke_on_columns(&function, columns, returns)
    }

    fn texts(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn shown(array: &ArrayRef) -> Vec<String> {
        (0..array.len())
            .map(|row| match array.is_null(row) {
                true => "NULL".to_string(),
                false => arrow::util::display::array_value_to_string(array, row).unwrap(),
            })
            .collect()
    }

    #[test]
    fn a_null_argument_gives_null_and_zones_default_to_utc() {
        let parsed = call(
            "stringtotimestamp",
            vec![
                texts(&[Some("2021-02-03 04:05"), None, Some("2021-02-03 04:05")]),
                texts(&[Some("yyyy-MM-dd HH:mm"); 3]),
                texts(&[Some("UTC"), Some("UTC"), None]),
            ],
        )
        .unwrap();
        assert_eq!(shown(&parsed), ["1612325100000", "NULL", "NULL"]);
        let days = call(
            "stringtodate",
            vec![texts(&[Some("03-FEB-2021")]), texts(&[Some("dd-MMM-yyyy")])],
        )
        .unwrap();
        assert_eq!(shown(&days), ["18661"]);
        let formatted = call(
            "datetostring",
            vec![
                Arc::new(Int32Array::from(vec![Some(18661), Some(-719_528), None])),
                texts(&[Some("yyyy-MM-dd"); 3]),
            ],
        )
        .unwrap();
        assert_eq!(shown(&formatted), ["2021-02-03", "0001-01-01", "NULL"]);
    }

    #[test]
    fn a_failure_names_the_value_the_pattern_and_javas_reason() {
        let error = call(
            "parse_time",
            vec![
                texts(&[Some("2021-02-03 04")]),
                texts(&[Some("yyyy-MM-dd HH")]),
            ],
        )
        .unwrap_err();
        assert!(
            error.to_string().contains(
                "parse_time: Failed to parse time '2021-02-03 04' with formatter \
                 'yyyy-MM-dd HH': Unsupported field: DayOfMonth"
            ),
            "{error}"
        );
        let error = call(
            "format_timestamp",
            vec![
                Arc::new(TimestampMillisecondArray::from(vec![0])),
                texts(&[Some("yyyy")]),
                texts(&[Some("Mars/Base")]),
            ],
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Unknown time-zone ID: Mars/Base"),
            "{error}"
        );
    }
}
