//! Time as Postgres counts it: Arrow's times and timestamps in microseconds, and the
//! 2000-01-01 epoch of the binary date and timestamp formats.
//!
//! The column-wise encoder (`encode.rs`), the value-by-value JSON writer (`json.rs`), the
//! text writer (`text_format.rs`) and Bind's decoder (`params.rs`) all convert through here,
//! so a unit or an epoch cannot differ between them.
//!
//! Never: wrap around on overflow (a value that does not fit is `None`), or name another
//! module of the server: every module that handles time may use this one.

use arrow::array::{Array, AsArray};
use arrow::datatypes::{
    DataType, Time32MillisecondType, Time32SecondType, Time64MicrosecondType, Time64NanosecondType,
    TimeUnit, TimestampMicrosecondType, TimestampMillisecondType, TimestampNanosecondType,
    TimestampSecondType,
};

pub(crate) const MICROS_PER_SECOND: i64 = 1_000_000;
pub(crate) const MILLIS_PER_DAY: i64 = 86_400_000;
pub(crate) const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;
/// Days from 1970-01-01 to 2000-01-01, the epoch of Postgres' binary dates.
pub(crate) const POSTGRES_EPOCH_DAYS: i32 = 10_957;
/// Microseconds from 1970-01-01 to 2000-01-01, the epoch of binary timestamps.
pub(crate) const POSTGRES_EPOCH_MICROS: i64 = POSTGRES_EPOCH_DAYS as i64 * MICROS_PER_DAY;
const _: () = assert!(POSTGRES_EPOCH_MICROS == 946_684_800_000_000);

/// Microseconds for a time or timestamp value in `unit`, if they fit an i64.
pub(crate) fn micros_from(value: i64, unit: TimeUnit) -> Option<i64> {
    match unit {
        TimeUnit::Second => value.checked_mul(MICROS_PER_SECOND),
        TimeUnit::Millisecond => value.checked_mul(1_000),
        TimeUnit::Microsecond => Some(value),
        TimeUnit::Nanosecond => Some(value.div_euclid(1_000)),
    }
}

/// Microseconds since midnight of the time value at `row` (for JSON, value by value);
/// `None` if `array` holds no times.
pub(crate) fn time_micros(array: &dyn Array, row: usize) -> Option<i64> {
    let (value, unit) = match array.data_type() {
        DataType::Time32(TimeUnit::Second) => (
            i64::from(array.as_primitive::<Time32SecondType>().value(row)),
            TimeUnit::Second,
        ),
        DataType::Time32(TimeUnit::Millisecond) => (
            i64::from(array.as_primitive::<Time32MillisecondType>().value(row)),
            TimeUnit::Millisecond,
        ),
        DataType::Time64(TimeUnit::Microsecond) => (
            array.as_primitive::<Time64MicrosecondType>().value(row),
            TimeUnit::Microsecond,
        ),
        DataType::Time64(TimeUnit::Nanosecond) => (
            array.as_primitive::<Time64NanosecondType>().value(row),
            TimeUnit::Nanosecond,
        ),
        _ => return None,
    };
    micros_from(value, unit)
}

/// Microseconds since 1970 of the timestamp value at `row` of a timestamp array in `unit`
/// (for JSON, value by value).
pub(crate) fn timestamp_micros(array: &dyn Array, unit: TimeUnit, row: usize) -> Option<i64> {
    let value = match unit {
        TimeUnit::Second => array.as_primitive::<TimestampSecondType>().value(row),
        TimeUnit::Millisecond => array.as_primitive::<TimestampMillisecondType>().value(row),
        TimeUnit::Microsecond => array.as_primitive::<TimestampMicrosecondType>().value(row),
        TimeUnit::Nanosecond => array.as_primitive::<TimestampNanosecondType>().value(row),
    };
    micros_from(value, unit)
}
