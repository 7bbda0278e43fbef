//! Bind parameters to `ScalarValue`s of the Arrow types the engine planned for `$1..$n`.
//!
//! Each value is read as the Postgres type it was sent as (the type the client named in
//! Parse, else the one the server announced), in text or binary format, into its natural
//! Arrow value, then cast to the planned type. Text goes through Arrow's string casts, so
//! `'42'` binds to an integer parameter as Postgres would accept it.
//!
//! Never: panic on a client's bytes; every malformed value is `InvalidParameter` (22P02).

use arrow::datatypes::DataType;
use eddy_executor::ScalarValue;
use pgwire::api::Type;
use pgwire::api::portal::Format;
use pgwire::messages::data::FORMAT_CODE_BINARY;
use tokio_util::bytes::Bytes;

use crate::error::{ServerError, ServerResult};
use crate::numeric::numeric_binary_to_text;
use crate::temporal::{POSTGRES_EPOCH_DAYS, POSTGRES_EPOCH_MICROS};
use crate::types::pg_type;

/// The values of a Bind, converted to the statement's parameter types.
pub(crate) fn decode_parameters(
    values: &[Option<Bytes>],
    format: &Format,
    declared_types: &[Option<Type>],
    planned_types: &[DataType],
) -> ServerResult<Vec<ScalarValue>> {
    if values.len() != planned_types.len() {
        return Err(ServerError::ParameterCount {
            supplied: values.len(),
            required: planned_types.len(),
        });
    }
    values
        .iter()
        .zip(planned_types)
        .enumerate()
        .map(|(index, (value, planned_type))| {
            let sent_as = declared_types
                .get(index)
                .cloned()
                .flatten()
                .filter(|declared| *declared != Type::UNKNOWN)
                .unwrap_or_else(|| pg_type(planned_type));
            let parameter = Parameter {
                position: index + 1,
                sent_as,
                binary: is_binary(format, index),
            };
            parameter.decode(value.as_deref(), planned_type)
        })
        .collect()
}

/// Whether parameter `index` is in binary format. A missing format code means text, as
/// for a Bind without codes.
fn is_binary(format: &Format, index: usize) -> bool {
    match format {
        Format::UnifiedText => false,
        Format::UnifiedBinary => true,
        Format::Individual(codes) => codes.get(index) == Some(&FORMAT_CODE_BINARY),
    }
}

struct Parameter {
    /// 1-based, as in `$1`.
    position: usize,
    sent_as: Type,
    binary: bool,
}

impl Parameter {
    fn invalid(&self, reason: impl Into<String>) -> ServerError {
        ServerError::InvalidParameter {
            position: self.position,
            type_name: self.sent_as.name().to_owned(),
            reason: reason.into(),
        }
    }

    fn decode(&self, value: Option<&[u8]>, planned_type: &DataType) -> ServerResult<ScalarValue> {
        let Some(bytes) = value else {
            return ScalarValue::try_from(planned_type).map_err(|error| {
                self.invalid(format!("NULL has no value of type {planned_type}: {error}"))
            });
        };
        let natural = if self.binary {
            self.decode_binary(bytes)
        } else {
            self.decode_text(bytes)
        }
        .map_err(|reason| self.invalid(reason))?;
        if natural.data_type() == *planned_type || *planned_type == DataType::Null {
            return Ok(natural);
        }
        natural.cast_to(planned_type).map_err(|error| {
            self.invalid(format!(
                "cannot convert {natural} to {planned_type}: {}",
                error.find_root().message()
            ))
        })
    }

    fn decode_text(&self, bytes: &[u8]) -> Result<ScalarValue, String> {
        let text = std::str::from_utf8(bytes).map_err(|_| "not valid UTF-8".to_owned())?;
        if self.sent_as == Type::BYTEA {
            return decode_bytea_text(text).map(|bytes| ScalarValue::Binary(Some(bytes)));
        }
        Ok(ScalarValue::Utf8(Some(text.to_owned())))
    }

    fn decode_binary(&self, bytes: &[u8]) -> Result<ScalarValue, String> {
        let value = match self.sent_as {
            Type::BOOL => ScalarValue::Boolean(Some(fixed::<1>(bytes)?[0] != 0)),
            Type::INT2 => ScalarValue::Int16(Some(i16::from_be_bytes(fixed(bytes)?))),
            Type::INT4 => ScalarValue::Int32(Some(i32::from_be_bytes(fixed(bytes)?))),
            Type::INT8 => ScalarValue::Int64(Some(i64::from_be_bytes(fixed(bytes)?))),
            Type::OID => ScalarValue::Int64(Some(i64::from(u32::from_be_bytes(fixed(bytes)?)))),
            Type::FLOAT4 => ScalarValue::Float32(Some(f32::from_be_bytes(fixed(bytes)?))),
            Type::FLOAT8 => ScalarValue::Float64(Some(f64::from_be_bytes(fixed(bytes)?))),
            Type::NUMERIC => ScalarValue::Utf8(Some(numeric_binary_to_text(bytes)?)),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::JSON => {
                ScalarValue::Utf8(Some(utf8(bytes)?))
            }
            Type::JSONB => match bytes.split_first() {
                Some((1, json)) => ScalarValue::Utf8(Some(utf8(json)?)),
                _ => return Err("unknown jsonb version".to_owned()),
            },
            Type::BYTEA => ScalarValue::Binary(Some(bytes.to_vec())),
            Type::DATE => {
                let days = i32::from_be_bytes(fixed(bytes)?)
                    .checked_add(POSTGRES_EPOCH_DAYS)
                    .ok_or("date out of range")?;
                ScalarValue::Date32(Some(days))
            }
            Type::TIME => ScalarValue::Time64Microsecond(Some(i64::from_be_bytes(fixed(bytes)?))),
            Type::TIMESTAMP | Type::TIMESTAMPTZ => {
                let micros = i64::from_be_bytes(fixed(bytes)?)
                    .checked_add(POSTGRES_EPOCH_MICROS)
                    .ok_or("timestamp out of range")?;
                let zone = (self.sent_as == Type::TIMESTAMPTZ).then(|| "+00:00".into());
                ScalarValue::TimestampMicrosecond(Some(micros), zone)
            }
            _ => {
                return Err(format!(
                    "binary format is not supported for type {}; send it as text",
                    self.sent_as.name()
                ));
            }
        };
        Ok(value)
    }
}

/// Exactly `N` bytes, as a fixed-width binary value must be.
fn fixed<const N: usize>(bytes: &[u8]) -> Result<[u8; N], String> {
    bytes
        .try_into()
        .map_err(|_| format!("expected {N} bytes, got {}", bytes.len()))
}

fn utf8(bytes: &[u8]) -> Result<String, String> {
    String::from_utf8(bytes.to_vec()).map_err(|_| "not valid UTF-8".to_owned())
}

/// `bytea` text input: `\x` followed by hex digits, or the escape format (`\\`, `\ooo`).
fn decode_bytea_text(text: &str) -> Result<Vec<u8>, String> {
    if let Some(hex) = text.strip_prefix("\\x") {
        let digits: Vec<u8> = hex
            .bytes()
            .filter(|byte| !byte.is_ascii_whitespace())
            .collect();
        if !digits.len().is_multiple_of(2) {
            return Err("odd number of hex digits".to_owned());
        }
        return digits
            .chunks_exact(2)
            .map(|pair| Ok((hex_value(pair[0])? << 4) | hex_value(pair[1])?))
            .collect();
    }
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&byte, tail)) = rest.split_first() {
        rest = tail;
        if byte != b'\\' {
            bytes.push(byte);
            continue;
        }
        match rest {
            [b'\\', tail @ ..] => {
                bytes.push(b'\\');
                rest = tail;
            }
            [a @ b'0'..=b'3', b @ b'0'..=b'7', c @ b'0'..=b'7', tail @ ..] => {
                bytes.push(((a - b'0') << 6) | ((b - b'0') << 3) | (c - b'0'));
                rest = tail;
            }
            _ => return Err("invalid escape in bytea text".to_owned()),
        }
    }
    Ok(bytes)
}

fn hex_value(digit: u8) -> Result<u8, String> {
    char::from(digit)
        .to_digit(16)
        .map(|value| value as u8)
        .ok_or_else(|| format!("invalid hex digit {:?}", char::from(digit)))
}

#[cfg(test)]
mod tests {
    use arrow::datatypes::TimeUnit;
    use chrono::{NaiveDate, NaiveDateTime};
    use tokio_postgres::types::ToSql;
    use tokio_util::bytes::BytesMut;

    use super::*;

    fn binary<T: ToSql>(value: T, pg: &Type) -> Option<Bytes> {
        let mut out = BytesMut::new();
        value.to_sql(pg, &mut out).expect("client encodes");
        Some(out.freeze())
    }

    fn text(value: &str) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(value.as_bytes()))
    }

    #[test]
    fn binary_values_from_a_client_decode_to_planned_types() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).expect("valid date");
        let timestamp: NaiveDateTime = date.and_hms_micro_opt(3, 4, 5, 6).expect("valid time");
        let values = vec![
            binary(true, &Type::BOOL),
            binary(7i16, &Type::INT2),
            binary(-8i32, &Type::INT4),
            binary(9_000_000_000i64, &Type::INT8),
            binary(1.5f64, &Type::FLOAT8),
            binary("héllo", &Type::TEXT),
            binary(&[1u8, 2, 3][..], &Type::BYTEA),
            binary(date, &Type::DATE),
            binary(timestamp, &Type::TIMESTAMP),
        ];
        let planned = [
            DataType::Boolean,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::Float64,
            DataType::Utf8,
            DataType::Binary,
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Microsecond, None),
        ];
        let decoded =
            decode_parameters(&values, &Format::UnifiedBinary, &[], &planned).expect("decodes");
        let expected_micros = timestamp.and_utc().timestamp_micros();
        assert_eq!(
            decoded,
            vec![
                ScalarValue::Boolean(Some(true)),
                ScalarValue::Int16(Some(7)),
                ScalarValue::Int32(Some(-8)),
                ScalarValue::Int64(Some(9_000_000_000)),
                ScalarValue::Float64(Some(1.5)),
                ScalarValue::Utf8(Some("héllo".to_owned())),
                ScalarValue::Binary(Some(vec![1, 2, 3])),
                ScalarValue::Date32(Some(19_724)),
                ScalarValue::TimestampMicrosecond(Some(expected_micros), None),
            ]
        );
    }

    #[test]
    fn text_values_are_cast_to_planned_types() {
        let values = vec![
            text("42"),
            text("t"),
            text("2024-01-02"),
            None,
            text("\\x0aff"),
        ];
        let planned = [
            DataType::Int64,
            DataType::Boolean,
            DataType::Date32,
            DataType::Int32,
            DataType::Binary,
        ];
        let declared = [None, None, None, None, Some(Type::BYTEA)];
        let decoded =
            decode_parameters(&values, &Format::UnifiedText, &declared, &planned).expect("decodes");
        assert_eq!(
            decoded,
            vec![
                ScalarValue::Int64(Some(42)),
                ScalarValue::Boolean(Some(true)),
                ScalarValue::Date32(Some(19_724)),
                ScalarValue::Int32(None),
                ScalarValue::Binary(Some(vec![0x0a, 0xff])),
            ]
        );
    }

    #[test]
    fn a_declared_type_wins_over_the_planned_one() {
        let values = vec![binary(5i32, &Type::INT4)];
        let declared = [Some(Type::INT4)];
        let decoded = decode_parameters(
            &values,
            &Format::UnifiedBinary,
            &declared,
            &[DataType::Int64],
        )
        .expect("widens");
        assert_eq!(decoded, vec![ScalarValue::Int64(Some(5))]);
    }

    #[test]
    fn bad_values_are_invalid_parameters_not_panics() {
        let short = vec![Some(Bytes::from_static(&[1, 2, 3]))];
        let error = decode_parameters(&short, &Format::UnifiedBinary, &[], &[DataType::Int64])
            .expect_err("3 bytes are no int8");
        assert!(
            matches!(error, ServerError::InvalidParameter { position: 1, .. }),
            "{error}"
        );
        assert!(
            error.to_string().contains("expected 8 bytes, got 3"),
            "{error}"
        );

        let word = vec![text("abc")];
        let error = decode_parameters(&word, &Format::UnifiedText, &[], &[DataType::Int64])
            .expect_err("abc is no integer");
        assert!(
            matches!(error, ServerError::InvalidParameter { .. }),
            "{error}"
        );

        let error = decode_parameters(&word, &Format::UnifiedText, &[], &[])
            .expect_err("one value for no parameters");
        assert!(matches!(
            error,
            ServerError::ParameterCount {
                supplied: 1,
                required: 0
            }
        ));

        for bad in ["\\x0", "\\xzz", "a\\9"] {
            let values = vec![text(bad)];
            let declared = [Some(Type::BYTEA)];
            assert!(
                decode_parameters(
                    &values,
                    &Format::UnifiedText,
                    &declared,
                    &[DataType::Binary]
                )
                .is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn numeric_and_escaped_bytea_parameters() {
        let price = rust_decimal::Decimal::new(12345, 2);
        let values = vec![binary(price, &Type::NUMERIC), text(r"a\\b\001")];
        let declared = [None, Some(Type::BYTEA)];
        let planned = [DataType::Decimal128(10, 2), DataType::Binary];
        let format = Format::Individual(vec![1, 0]);
        let decoded = decode_parameters(&values, &format, &declared, &planned).expect("decodes");
        assert_eq!(
            decoded,
            vec![
                ScalarValue::Decimal128(Some(12345), 10, 2),
                ScalarValue::Binary(Some(b"a\\b\x01".to_vec())),
            ]
        );
    }
}
