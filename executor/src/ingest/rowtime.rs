//! Event time: a row's `rowtime` (epoch milliseconds) from an explicit value, a TIMESTAMP
//! column, or the clock.
//!
//! `TIMESTAMP_FORMAT` takes ksqlDB's Java DateTimeFormatter patterns, read by the planner's
//! `java_time` (the same code as PARSE_TIMESTAMP), UTC unless the text gives a zone. A pattern
//! letter Eddy does not implement is refused at CREATE, not misread at INSERT.
//!
//! Never: read the clock for a row that carries its own time.

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::compute::{cast_with_options, min};
use arrow::datatypes::{DataType, TimeUnit};

use crate::error::{DataError, EngineError, EngineResult};
use crate::ingest::values::STRICT;

/// A source's `TIMESTAMP_FORMAT`, compiled (`statements::ddl` checks it at CREATE).
pub use eddy_planner::java_time::JavaTimeFormat as ChronoFormat;

/// Event times from a column: BIGINT (epoch ms), TIMESTAMP, or STRING in `format`.
/// A NULL, unparsable or negative value is a data error naming the column: an INSERT or COPY
/// fails with it, and a persistent query writing the row sets it aside.
pub fn rowtimes_from_column(
    column: &ArrayRef,
    column_name: &str,
    format: Option<&ChronoFormat>,
) -> EngineResult<Int64Array> {
    let rowtimes = event_times(column, column_name, format)?;
    // Kafka refuses a record timestamp before the epoch, and ksqlDB drops such records: an
    // event time is never negative.
    if let Some(earliest) = min(&rowtimes).filter(|&earliest| earliest < 0) {
        let what = if column_name == eddy_planner::ROWTIME {
            "rowtime".to_string()
        } else {
            format!("the TIMESTAMP column \"{column_name}\"")
        };
        return Err(DataError::DatetimeOutOfRange(format!(
            "{what} is {earliest}, before 1970-01-01T00:00:00Z: an event time cannot be negative"
        ))
        .into());
    }
    Ok(rowtimes)
}

fn event_times(
    column: &ArrayRef,
    column_name: &str,
    format: Option<&ChronoFormat>,
) -> EngineResult<Int64Array> {
    if column.null_count() > 0 {
        let message = if column_name == eddy_planner::ROWTIME {
            "rowtime cannot be NULL: a row needs its event time".to_string()
        } else {
            format!("the TIMESTAMP column \"{column_name}\" is NULL: a row needs its event time")
        };
        return Err(DataError::NullNotAllowed(message).into());
    }
    match (column.data_type(), format) {
        (DataType::Utf8, Some(format)) => {
            let strings = column.as_string::<i32>();
            let mut rowtimes = Vec::with_capacity(strings.len());
            for text in strings.iter().flatten() {
                rowtimes.push(format.parse_ms(text).ok_or_else(|| {
                    DataError::InvalidValue(format!(
                        "\"{text}\" in column \"{column_name}\" does not match TIMESTAMP_FORMAT '{}'",
                        format.java_pattern()
                    ))
                })?);
            }
            Ok(Int64Array::from(rowtimes))
        }
        _ => {
            let as_timestamp = cast_with_options(
                column,
                &DataType::Timestamp(TimeUnit::Millisecond, None),
                &STRICT,
            )
            .map_err(|error| {
                DataError::InvalidValue(format!(
                    "column \"{column_name}\" cannot be read as a timestamp: {error}"
                ))
            })?;
            let as_ms = cast_with_options(&as_timestamp, &DataType::Int64, &STRICT)?;
            Ok(as_ms.as_primitive::<arrow::datatypes::Int64Type>().clone())
        }
    }
}

/// Where a source's rows take their event time from, resolved once: the column's position,
/// name, and format. None when rows take it from an explicit `rowtime` or the clock.
pub struct EventTimeColumn {
    pub index: usize,
    pub name: String,
    pub format: Option<ChronoFormat>,
}

impl EventTimeColumn {
    pub fn of(source: &eddy_planner::SourceDef) -> EngineResult<Option<EventTimeColumn>> {
        let Some(timestamp) = &source.timestamp else {
            return Ok(None);
        };
        let index = source.column_index(&timestamp.column).ok_or_else(|| {
            EngineError::Internal(format!(
                "TIMESTAMP column {} is not a column",
                timestamp.column
            ))
        })?;
        let format = timestamp
            .format
            .as_deref()
            .map(ChronoFormat::from_java)
            .transpose()
            .map_err(|message| eddy_planner::PlanError::Invalid { message })?;
        Ok(Some(EventTimeColumn {
            index,
            name: timestamp.column.clone(),
            format,
        }))
    }

    /// The event times of a batch of the source's rows.
    pub fn rowtimes(&self, columns: &[ArrayRef]) -> EngineResult<Int64Array> {
        rowtimes_from_column(&columns[self.index], &self.name, self.format.as_ref())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_patterns_parse_like_ksqldb() {
        let format = ChronoFormat::from_java("yyyy-MM-dd'T'HH:mm:ss.SSS").unwrap();
        assert_eq!(
            format.parse_ms("2024-01-02T03:04:05.678"),
            Some(1_704_164_645_678)
        );
        let format = ChronoFormat::from_java("yyyy-MM-dd HH:mm:ssXXX").unwrap();
        assert_eq!(
            format.parse_ms("2024-01-02 03:04:05+01:00"),
            Some(1_704_161_045_000)
        );
        let format = ChronoFormat::from_java("dd/MM/yyyy").unwrap();
        assert_eq!(format.parse_ms("02/01/2024"), Some(1_704_153_600_000));
        assert_eq!(format.parse_ms("2024-01-02"), None);
        assert!(ChronoFormat::from_java("yyyy-QQ").is_err());
    }

    /// Java's zone letters, each with the forms it accepts, as ksqlDB's formats read them.
    #[test]
    fn zones_parse_in_every_form_java_writes() {
        let utc = 1_704_164_645_000; // 2024-01-02T03:04:05Z
        let an_hour_east = utc - 3_600_000;
        for (pattern, text, expected) in [
            ("yyyy-MM-dd'T'HH:mm:ssX", "2024-01-02T03:04:05Z", Some(utc)),
            (
                "yyyy-MM-dd'T'HH:mm:ssX",
                "2024-01-02T03:04:05+01",
                Some(an_hour_east),
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ssXX",
                "2024-01-02T03:04:05+0100",
                Some(an_hour_east),
            ),
            ("yyyy-MM-dd'T'HH:mm:ssXX", "2024-01-02T03:04:05Z", Some(utc)),
            (
                "yyyy-MM-dd'T'HH:mm:ssXXX",
                "2024-01-02T03:04:05Z",
                Some(utc),
            ),
            (
                "yyyy-MM-dd'T'HH:mm:ssXXX",
                "2024-01-02T03:04:05+01:00",
                Some(an_hour_east),
            ),
            ("yyyy-MM-dd'T'HH:mm:ssxxx", "2024-01-02T03:04:05Z", None),
            (
                "yyyy-MM-dd HH:mm:ss Z",
                "2024-01-02 03:04:05 +0100",
                Some(an_hour_east),
            ),
            ("yyyy-MM-dd HH:mm:ss Z", "2024-01-02 03:04:05 Z", None),
            (
                "yyyy-MM-dd HH:mm:ssZZZZZ",
                "2024-01-02 03:04:05Z",
                Some(utc),
            ),
            (
                "yyyy-MM-dd HH:mm:ssZZZZZ",
                "2024-01-02 03:04:05+01:00",
                Some(an_hour_east),
            ),
        ] {
            let format = ChronoFormat::from_java(pattern).expect("a pattern ksqlDB takes");
            assert_eq!(format.parse_ms(text), expected, "{pattern} with {text}");
        }
    }
}
