//! Event time: a row's `rowtime` (epoch milliseconds) from an explicit value, a TIMESTAMP
//! column, or the clock.
//!
//! `TIMESTAMP_FORMAT` takes ksqlDB's Java DateTimeFormatter patterns; they are translated
//! once into chrono's format language, so values parse without Java. A pattern letter Eddy
//! cannot translate is refused at CREATE, not misread at INSERT.
//!
//! Never: read the clock for a row that carries its own time.

use arrow::array::{Array, ArrayRef, AsArray, Int64Array};
use arrow::compute::cast_with_options;
use arrow::datatypes::{DataType, TimeUnit};
use chrono::{DateTime, NaiveDate, NaiveDateTime};

use crate::error::{DataError, EngineError, EngineResult};
use crate::ingest::values::STRICT;

/// Event times from a column: BIGINT (epoch ms), TIMESTAMP, or STRING in `format`.
/// A NULL or unparsable value is a data error naming the column.
pub fn rowtimes_from_column(
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
                        format.java_pattern
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

/// A Java DateTimeFormatter pattern and its chrono translation.
#[derive(Debug, Clone)]
pub struct ChronoFormat {
    pub java_pattern: String,
    chrono_pattern: String,
    has_time: bool,
    has_zone: bool,
    /// For a zone that Java writes as `Z` at offset zero (`X`, `XX`, `XXX`, `ZZZZZ`): that
    /// offset as the chrono pattern spells it, to parse in the `Z`'s place.
    zero_offset: Option<&'static str>,
}

impl ChronoFormat {
    /// Translates the pattern letters ksqlDB users write; anything else is an error.
    pub fn from_java(java_pattern: &str) -> Result<ChronoFormat, String> {
        let mut chrono_pattern = String::new();
        let mut has_time = false;
        let mut has_zone = false;
        let mut zero_offset = None;
        let chars: Vec<char> = java_pattern.chars().collect();
        let mut index = 0;
        while index < chars.len() {
            let letter = chars[index];
            let mut run = 1;
            while index + run < chars.len() && chars[index + run] == letter {
                run += 1;
            }
            match letter {
                '\'' => {
                    let end = chars[index + 1..]
                        .iter()
                        .position(|c| *c == '\'')
                        .map(|position| index + 1 + position)
                        .ok_or_else(|| {
                            format!("unterminated quote in TIMESTAMP_FORMAT '{java_pattern}'")
                        })?;
                    let literal: String = chars[index + 1..end].iter().collect();
                    chrono_pattern.push_str(&literal.replace('%', "%%"));
                    index = end + 1;
                    continue;
                }
                'y' | 'u' => chrono_pattern.push_str(if run == 2 { "%y" } else { "%Y" }),
                'M' => chrono_pattern.push_str(match run {
                    1 | 2 => "%m",
                    3 => "%b",
                    _ => "%B",
                }),
                'd' => chrono_pattern.push_str("%d"),
                'H' => {
                    has_time = true;
                    chrono_pattern.push_str("%H")
                }
                'h' => {
                    has_time = true;
                    chrono_pattern.push_str("%I")
                }
                'm' => chrono_pattern.push_str("%M"),
                's' => chrono_pattern.push_str("%S"),
                'S' => chrono_pattern.push_str(match run {
                    1..=3 => "%3f",
                    4..=6 => "%6f",
                    _ => "%9f",
                }),
                'a' => chrono_pattern.push_str("%p"),
                // Java's X: +01 (X), +0100 (XX), +01:00 (XXX), and Z at offset zero; x the
                // same without Z; Z: +0100 (Z to ZZZ), +01:00 or Z (ZZZZZ).
                'X' | 'x' | 'Z' => {
                    has_zone = true;
                    let (chrono_zone, zero) = match (letter, run) {
                        ('Z', 5) => ("%:z", "+00:00"),
                        ('Z', _) => ("%z", "+0000"),
                        (_, 1) => ("%#z", "+00"),
                        (_, 2) => ("%z", "+0000"),
                        _ => ("%:z", "+00:00"),
                    };
                    chrono_pattern.push_str(chrono_zone);
                    if letter == 'X' || (letter == 'Z' && run == 5) {
                        zero_offset = Some(zero);
                    }
                }
                'E' => chrono_pattern.push_str(if run >= 4 { "%A" } else { "%a" }),
                c if c.is_ascii_alphabetic() => {
                    return Err(format!(
                        "TIMESTAMP_FORMAT letter '{c}' is not supported (supported: y M d H h m s S a X Z E and quoted text)"
                    ));
                }
                c => {
                    for _ in 0..run {
                        if c == '%' {
                            chrono_pattern.push_str("%%");
                        } else {
                            chrono_pattern.push(c);
                        }
                    }
                }
            }
            index += run;
        }
        Ok(ChronoFormat {
            java_pattern: java_pattern.to_string(),
            chrono_pattern,
            has_time,
            has_zone,
            zero_offset,
        })
    }

    /// Epoch milliseconds of a text in this format (UTC unless the format has a zone).
    pub fn parse_ms(&self, text: &str) -> Option<i64> {
        if self.has_zone {
            let parsed = DateTime::parse_from_str(text, &self.chrono_pattern);
            let parsed = match (parsed, self.zero_offset, text.strip_suffix('Z')) {
                (Err(_), Some(zero), Some(before_zone)) => {
                    DateTime::parse_from_str(&format!("{before_zone}{zero}"), &self.chrono_pattern)
                }
                (parsed, _, _) => parsed,
            };
            return parsed.ok().map(|t| t.timestamp_millis());
        }
        if self.has_time {
            return NaiveDateTime::parse_from_str(text, &self.chrono_pattern)
                .ok()
                .map(|t| t.and_utc().timestamp_millis());
        }
        NaiveDate::parse_from_str(text, &self.chrono_pattern)
            .ok()
            .and_then(|date| date.and_hms_opt(0, 0, 0))
            .map(|t| t.and_utc().timestamp_millis())
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
