//! ksqlDB's functions between zones, days and epoch numbers: CONVERT_TZ, FROM_DAYS,
//! UNIX_DATE and UNIX_TIMESTAMP. Zones are Java zone ids (`crate::java_time::JavaZone`); "now"
//! and "today" are read from the clock at each call, today in UTC.
//!
//! Never: fold UNIX_DATE() or UNIX_TIMESTAMP() into a constant: they are volatile, so a
//! persistent query reads the clock for each row, as ksqlDB does.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Date32Array, TimestampMillisecondArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type, TimeUnit};
use chrono::{DateTime, Utc};
use datafusion::common::{Result, ScalarValue, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::java_time::JavaZone;

const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Millisecond, None);
const DAY_SECONDS: i64 = 86_400;

/// CONVERT_TZ, FROM_DAYS, UNIX_DATE and UNIX_TIMESTAMP.
pub(crate) fn datetime_days_functions() -> Vec<Arc<ScalarUDF>> {
    [
        Other::ConvertTz,
        Other::FromDays,
        Other::UnixDate,
        Other::UnixTimestamp,
    ]
    .into_iter()
    .map(|kind| {
        Arc::new(ScalarUDF::from(OtherFunction {
            kind,
            signature: kind.signature(),
        }))
    })
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Other {
    /// ksqlDB's ConvertTz UDF: a TIMESTAMP moved by the difference of two zones' offsets.
    ConvertTz,
    /// ksqlDB's FromDays UDF: the DATE `days` after 1970-01-01.
    FromDays,
    /// ksqlDB's UnixDate UDF: days since 1970-01-01 of a DATE, or of today (UTC).
    UnixDate,
    /// ksqlDB's UnixTimestamp UDF: epoch milliseconds of a TIMESTAMP, or of now.
    UnixTimestamp,
}

impl Other {
    fn signature(self) -> Signature {
        match self {
            Other::ConvertTz => Signature::exact(
                vec![TIMESTAMP, DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
            Other::FromDays => Signature::exact(vec![DataType::Int64], Volatility::Immutable),
            // Without an argument each call reads the clock.
            Other::UnixDate => Signature::one_of(
                vec![
                    TypeSignature::Nullary,
                    TypeSignature::Exact(vec![DataType::Date32]),
                ],
                Volatility::Volatile,
            ),
            Other::UnixTimestamp => Signature::one_of(
                vec![
                    TypeSignature::Nullary,
                    TypeSignature::Exact(vec![TIMESTAMP]),
                ],
                Volatility::Volatile,
            ),
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct OtherFunction {
    kind: Other,
    signature: Signature,
}

impl ScalarUDFImpl for OtherFunction {
    fn name(&self) -> &str {
        match self.kind {
            Other::ConvertTz => "convert_tz",
            Other::FromDays => "from_days",
            Other::UnixDate => "unix_date",
            Other::UnixTimestamp => "unix_timestamp",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.kind {
            Other::ConvertTz => TIMESTAMP,
            Other::FromDays => DataType::Date32,
            Other::UnixDate => DataType::Int32,
            Other::UnixTimestamp => DataType::Int64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let now = Utc::now();
        Ok(match (self.kind, args.args.as_slice()) {
            (Other::UnixDate, []) => {
                let days = now.timestamp().div_euclid(DAY_SECONDS);
                ColumnarValue::Scalar(ScalarValue::Int32(i32::try_from(days).ok()))
            }
            (Other::UnixTimestamp, []) => {
                ColumnarValue::Scalar(ScalarValue::Int64(Some(now.timestamp_millis())))
            }
            (Other::UnixDate, [date]) => {
                ColumnarValue::Array(cast(&date.to_array(args.number_rows)?, &DataType::Int32)?)
            }
            (Other::UnixTimestamp, [timestamp]) => {
                let timestamp = timestamp.to_array(args.number_rows)?;
                ColumnarValue::Array(cast(&cast(&timestamp, &TIMESTAMP)?, &DataType::Int64)?)
            }
            (Other::FromDays, [days]) => {
                ColumnarValue::Array(from_days(&days.to_array(args.number_rows)?)?)
            }
            (Other::ConvertTz, [timestamps, from, to]) => ColumnarValue::Array(convert_tz(
                &timestamps.to_array(args.number_rows)?,
                &from.to_array(args.number_rows)?,
                &to.to_array(args.number_rows)?,
            )?),
            _ => return exec_err!("{} takes other arguments", self.name()),
        })
    }
}

fn from_days(days: &ArrayRef) -> Result<ArrayRef> {
    let days = cast(days, &DataType::Int64)?;
    let days = days.as_primitive::<Int64Type>();
    let mut dates = Vec::with_capacity(days.len());
    for day in days.iter() {
        dates.push(match day.map(i32::try_from) {
            None => None,
            Some(Ok(day)) => Some(day),
            Some(Err(_)) => {
                return exec_err!(
                    "from_days: {} days is out of the range of DATE",
                    day.unwrap_or_default()
                );
            }
        });
    }
    Ok(Arc::new(Date32Array::from(dates)))
}

/// ksqlDB's ConvertTz: the timestamp plus the offset of `to` minus the offset of `from`, both
/// taken at the timestamp read as an instant.
fn convert_tz(timestamps: &ArrayRef, from: &ArrayRef, to: &ArrayRef) -> Result<ArrayRef> {
    let timestamps = cast(&cast(timestamps, &TIMESTAMP)?, &DataType::Int64)?;
    let timestamps = timestamps.as_primitive::<Int64Type>();
    let (from, to) = (cast(from, &DataType::Utf8)?, cast(to, &DataType::Utf8)?);
    let (from, to) = (from.as_string::<i32>(), to.as_string::<i32>());
    let mut answers = Vec::with_capacity(timestamps.len());
    let mut zones: Option<(String, String, JavaZone, JavaZone)> = None;
    for row in 0..timestamps.len() {
        if timestamps.is_null(row) || from.is_null(row) || to.is_null(row) {
            answers.push(None);
            continue;
        }
        let (from_id, to_id) = (from.value(row), to.value(row));
        if zones
            .as_ref()
            .is_none_or(|(f, t, _, _)| f != from_id || t != to_id)
        {
            let zone =
                |id| JavaZone::of(id).or_else(|error| exec_err!("Invalid time zone: {error}"));
            zones = Some((
                from_id.to_string(),
                to_id.to_string(),
                zone(from_id)?,
                zone(to_id)?,
            ));
        }
        let Some((_, _, from_zone, to_zone)) = &zones else {
            return exec_err!("convert_tz: the zones of the row were not read");
        };
        let ms = timestamps.value(row);
        let Some(instant) = DateTime::from_timestamp_millis(ms) else {
            return exec_err!("convert_tz: {ms} is out of the range of timestamps");
        };
        let instant = instant.naive_utc();
        let shift_seconds = i64::from(to_zone.offset_of_utc(&instant).local_minus_utc())
            - i64::from(from_zone.offset_of_utc(&instant).local_minus_utc());
        match ms.checked_add(shift_seconds * 1_000) {
            Some(moved) => answers.push(Some(moved)),
            None => {
                return exec_err!("convert_tz: {ms} moved by {shift_seconds} s is out of range");
            }
        }
    }
    Ok(Arc::new(TimestampMillisecondArray::from(answers)))
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int64Array, StringArray};

    use super::*;
    use crate::scalar::test_support::{ints, invoke_on_columns, named};

    fn call(name: &str, columns: Vec<ArrayRef>, returns: DataType) -> Result<ArrayRef> {
        let function = named(datetime_days_functions(), name);
        invoke_on_columns(&function, columns, returns)
    }

    fn longs(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    #[test]
    fn convert_tz_moves_by_the_difference_of_offsets_at_the_instant() {
        // 2021-03-28T00:00:00Z, hours before Europe/London's summer time.
        let timestamps: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![
            Some(1_616_889_600_000),
            None,
        ]));
        let zones = |id: &str| -> ArrayRef { Arc::new(StringArray::from(vec![id; 2])) };
        let moved = call(
            "convert_tz",
            vec![
                timestamps.clone(),
                zones("UTC"),
                zones("America/Los_Angeles"),
            ],
            TIMESTAMP,
        )
        .unwrap();
        assert_eq!(
            ints(&moved),
            vec![Some(1_616_889_600_000 - 7 * 3_600_000), None]
        );
        let moved = call(
            "convert_tz",
            vec![timestamps.clone(), zones("+05:30"), zones("Z")],
            TIMESTAMP,
        )
        .unwrap();
        assert_eq!(
            ints(&moved),
            vec![Some(1_616_889_600_000 - 19_800_000), None]
        );
        let error = call(
            "convert_tz",
            vec![timestamps, zones("UTC"), zones("PST")],
            TIMESTAMP,
        )
        .unwrap_err();
        assert!(
            error
                .to_string()
                .contains("Invalid time zone: Unknown time-zone ID: PST"),
            "{error}"
        );
    }

    #[test]
    fn days_and_unix_times() {
        let dates = call(
            "from_days",
            vec![longs(&[Some(19_000), Some(-1), None])],
            DataType::Date32,
        )
        .unwrap();
        assert_eq!(ints(&dates), vec![Some(19_000), Some(-1), None]);
        assert!(
            call(
                "from_days",
                vec![longs(&[Some(i64::MAX)])],
                DataType::Date32
            )
            .is_err()
        );
        let days = call("unix_date", vec![dates], DataType::Int32).unwrap();
        assert_eq!(ints(&days), vec![Some(19_000), Some(-1), None]);
        let timestamps: ArrayRef = Arc::new(TimestampMillisecondArray::from(vec![Some(-5), None]));
        let ms = call("unix_timestamp", vec![timestamps], DataType::Int64).unwrap();
        assert_eq!(ints(&ms), vec![Some(-5), None]);
        let before = Utc::now().timestamp_millis();
        let now = ints(&call("unix_timestamp", vec![], DataType::Int64).unwrap())[0].unwrap();
        assert!(now >= before && now <= Utc::now().timestamp_millis());
        let today = ints(&call("unix_date", vec![], DataType::Int32).unwrap())[0].unwrap();
        assert_eq!(today, Utc::now().timestamp().div_euclid(86_400));
    }
}
