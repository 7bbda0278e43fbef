//! Java DateTimeFormatter patterns, the one place Eddy reads them: ksqlDB's `TIMESTAMP_FORMAT`
//! and its date-time functions (PARSE_TIMESTAMP, FORMAT_DATE, ..) take patterns like
//! `yyyy-MM-dd'T'HH:mm:ss.SSSXXX` and Java zone ids like `America/Los_Angeles`.
//!
//! A pattern is compiled once into tokens (`pattern`), which print a moment (`format`) or read
//! text into fields (`parse`, then `resolve`) with Java's rules: strict widths, adjacent
//! numbers without separators (`yyyyMMdd`), `''` and quoted text, optional sections `[..]`,
//! English names.
//! Parsed fields resolve as the ksqlDB function asks: a TIMESTAMP defaults what the text
//! lacks to 1970-01-01T00:00 in the zone given (ksqlDB's StringToTimestampParser), a DATE or
//! TIME needs all of its fields (`java.time`'s LocalDate.from / LocalTime.from).
//!
//! Never: misread a letter. A pattern letter Eddy does not implement is an error naming it,
//! at compile time, not a silent misparse.

mod format;
mod parse;
mod pattern;
mod resolve;
mod zone;

use chrono::{DateTime, NaiveDate, NaiveTime, TimeDelta};

pub use zone::JavaZone;

use pattern::Token;

/// A compiled Java DateTimeFormatter pattern.
#[derive(Debug, Clone)]
pub struct JavaTimeFormat {
    java_pattern: String,
    tokens: Vec<Token>,
    /// Text and literals match in any case (ksqlDB's PARSE_DATE and STRINGTODATE build their
    /// formatter with `parseCaseInsensitive`).
    case_insensitive: bool,
}

impl JavaTimeFormat {
    /// Compiles a pattern; an unknown or unimplemented letter, a bad count of a letter or an
    /// unterminated quote is an error naming it.
    pub fn from_java(java_pattern: &str) -> Result<JavaTimeFormat, String> {
        Ok(JavaTimeFormat {
            java_pattern: java_pattern.to_string(),
            tokens: pattern::compile(java_pattern)?,
            case_insensitive: false,
        })
    }

    /// The same pattern, matching text and literals in any case when parsing.
    pub fn case_insensitive(mut self) -> JavaTimeFormat {
        self.case_insensitive = true;
        self
    }

    /// The pattern as the user wrote it.
    pub fn java_pattern(&self) -> &str {
        &self.java_pattern
    }

    /// Epoch milliseconds of a text, UTC unless the text gives a zone; None when it does not
    /// match (a source's `TIMESTAMP_FORMAT`).
    pub fn parse_ms(&self, text: &str) -> Option<i64> {
        self.parse_timestamp_ms(text, &JavaZone::utc()).ok()
    }

    /// Epoch milliseconds of a text, read in `zone` unless the text gives one; what the text
    /// lacks is 1970-01-01T00:00:00 (ksqlDB's StringToTimestampParser).
    pub fn parse_timestamp_ms(&self, text: &str, zone: &JavaZone) -> Result<i64, String> {
        let fields = parse::parse(&self.tokens, text, self.case_insensitive)?;
        let local = fields.timestamp()?;
        let offset = match (&fields.offset, &fields.zone) {
            (Some(offset), _) => *offset,
            (None, Some(parsed_zone)) => parsed_zone.offset_of_local(&local),
            (None, None) => zone.offset_of_local(&local),
        };
        let utc = local - TimeDelta::seconds(i64::from(offset.local_minus_utc()));
        Ok(utc.and_utc().timestamp_millis())
    }

    /// The date a text spells, which must have no time field (ksqlDB's ParseDate).
    pub fn parse_date(&self, text: &str) -> Result<NaiveDate, String> {
        let fields = parse::parse(&self.tokens, text, self.case_insensitive)?;
        if fields.has_time_field() {
            return Err("Date format contains time field.".to_string());
        }
        fields.local_date()
    }

    /// The date a text spells, time fields ignored (ksqlDB's StringToDate, LocalDate.parse).
    pub fn parse_date_ignoring_time(&self, text: &str) -> Result<NaiveDate, String> {
        parse::parse(&self.tokens, text, self.case_insensitive)?.local_date()
    }

    /// The time of day a text spells, which must have no date field (ksqlDB's ParseTime).
    pub fn parse_time(&self, text: &str) -> Result<NaiveTime, String> {
        let fields = parse::parse(&self.tokens, text, self.case_insensitive)?;
        if let Some(field) = fields.first_date_field() {
            return Err(format!("Unsupported field: {field}"));
        }
        fields.local_time()
    }

    /// A timestamp (epoch milliseconds) as text, at `zone`.
    pub fn format_timestamp(&self, epoch_ms: i64, zone: &JavaZone) -> Result<String, String> {
        let utc = DateTime::from_timestamp_millis(epoch_ms)
            .ok_or_else(|| format!("{epoch_ms} is out of the range of timestamps"))?
            .naive_utc();
        let offset = zone.offset_of_utc(&utc);
        let local = utc + TimeDelta::seconds(i64::from(offset.local_minus_utc()));
        format::format(
            &self.tokens,
            &format::Moment {
                date: Some(local.date()),
                time: Some(local.time()),
                offset: Some(offset),
                zone: Some((zone, utc)),
            },
        )
    }

    /// A date as text (a pattern with a time or zone field is an error, as in Java).
    pub fn format_date(&self, date: NaiveDate) -> Result<String, String> {
        format::format(
            &self.tokens,
            &format::Moment {
                date: Some(date),
                ..format::Moment::default()
            },
        )
    }

    /// A time of day as text (a pattern with a date or zone field is an error, as in Java).
    pub fn format_time(&self, time: NaiveTime) -> Result<String, String> {
        format::format(
            &self.tokens,
            &format::Moment {
                time: Some(time),
                ..format::Moment::default()
            },
        )
    }
}

/// The date `days` after 1970-01-01, if chrono can hold it.
pub fn date_of_epoch_days(days: i64) -> Option<NaiveDate> {
    NaiveDate::default().checked_add_signed(TimeDelta::try_days(days)?)
}

/// Days from 1970-01-01 (chrono's default date) to `date`.
pub fn epoch_days_of(date: NaiveDate) -> i64 {
    date.signed_duration_since(NaiveDate::default()).num_days()
}
