//! Postgres `numeric` in binary format: base-10000 digit groups with a weight, a sign and
//! a display scale. Arrow's decimals (up to 76 digits) and `UInt64` are written from their
//! decimal digits, so no precision is lost to an intermediate type.
//!
//! Never: panic on a malformed binary numeric from a client; it is an `Err` with a reason.

use std::fmt::Write;

use tokio_util::bytes::{BufMut, BytesMut};

use crate::text_format::split_sign;

const SIGN_POSITIVE: u16 = 0x0000;
const SIGN_NEGATIVE: u16 = 0x4000;
const SIGN_NAN: u16 = 0xC000;
const SIGN_POSITIVE_INFINITY: u16 = 0xD000;
const SIGN_NEGATIVE_INFINITY: u16 = 0xF000;
const GROUP_BASE: u16 = 10_000;
const DIGITS_PER_GROUP: i64 = 4;

/// The decimal `signed_digits` x 10^-scale (e.g. `-12345`, 2 is -123.45) in binary format.
pub(crate) fn put_numeric_binary(out: &mut BytesMut, signed_digits: &[u8], scale: i32) {
    let (negative, digits) = split_sign(signed_digits);
    let first_nonzero = digits
        .iter()
        .position(|digit| *digit != b'0')
        .unwrap_or(digits.len());
    let digits = &digits[first_nonzero..];
    let display_scale = u16::try_from(scale.max(0)).unwrap_or(u16::MAX);
    if digits.is_empty() {
        put_header(out, 0, 0, SIGN_POSITIVE, display_scale);
        return;
    }
    let decimal = DecimalDigits { digits, scale };
    // Digit i stands for 10^(len - 1 - i - scale); groups are numbered by power of 10000.
    let top_power = digits.len() as i64 - 1 - i64::from(scale);
    let bottom_power = -i64::from(scale);
    let top_group = top_power.div_euclid(DIGITS_PER_GROUP);
    // Trailing zero groups are left out, as Postgres does.
    let bottom_group = (bottom_power.div_euclid(DIGITS_PER_GROUP)..=top_group)
        .find(|group| decimal.group(*group) != 0)
        .unwrap_or(top_group);
    let group_count = (top_group - bottom_group + 1) as usize;
    let sign = if negative {
        SIGN_NEGATIVE
    } else {
        SIGN_POSITIVE
    };
    let weight = i16::try_from(top_group).unwrap_or(i16::MAX);
    put_header(out, group_count as i16, weight, sign, display_scale);
    for group in (bottom_group..=top_group).rev() {
        out.put_u16(decimal.group(group));
    }
}

fn put_header(out: &mut BytesMut, group_count: i16, weight: i16, sign: u16, display_scale: u16) {
    out.reserve(8 + 2 * group_count.max(0) as usize);
    out.put_i16(group_count);
    out.put_i16(weight);
    out.put_u16(sign);
    out.put_u16(display_scale);
}

/// Decimal digits without leading zeros, scaled by 10^-scale.
struct DecimalDigits<'a> {
    digits: &'a [u8],
    scale: i32,
}

impl DecimalDigits<'_> {
    /// The digit standing for 10^power (0 outside the number).
    fn digit(&self, power: i64) -> u16 {
        let index = self.digits.len() as i64 - 1 - i64::from(self.scale) - power;
        usize::try_from(index)
            .ok()
            .and_then(|index| self.digits.get(index))
            .map_or(0, |digit| u16::from(digit.saturating_sub(b'0')))
    }

    /// The base-10000 digit standing for 10000^group.
    fn group(&self, group: i64) -> u16 {
        (0..DIGITS_PER_GROUP).rev().fold(0, |value, offset| {
            value * 10 + self.digit(group * DIGITS_PER_GROUP + offset)
        })
    }
}

/// A binary `numeric` parameter as decimal text (`-123.45`, `NaN`, `Infinity`).
pub(crate) fn numeric_binary_to_text(bytes: &[u8]) -> Result<String, &'static str> {
    let header = bytes
        .get(..8)
        .ok_or("numeric value is shorter than its 8-byte header")?;
    let group_count = i16::from_be_bytes([header[0], header[1]]);
    let weight = i64::from(i16::from_be_bytes([header[2], header[3]]));
    let sign = u16::from_be_bytes([header[4], header[5]]);
    let display_scale = i64::from(u16::from_be_bytes([header[6], header[7]]));
    let group_count = usize::try_from(group_count).map_err(|_| "negative digit count")?;
    let group_bytes = &bytes[8..];
    if group_bytes.len() != 2 * group_count {
        return Err("numeric digit count does not match its length");
    }
    let groups: Vec<u16> = group_bytes
        .chunks_exact(2)
        .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
        .collect();
    if groups.iter().any(|group| *group >= GROUP_BASE) {
        return Err("numeric digit out of range");
    }
    let mut text = String::with_capacity(8 + 4 * group_count);
    match sign {
        SIGN_NAN => return Ok("NaN".to_owned()),
        SIGN_POSITIVE_INFINITY => return Ok("Infinity".to_owned()),
        SIGN_NEGATIVE_INFINITY => return Ok("-Infinity".to_owned()),
        SIGN_NEGATIVE => text.push('-'),
        SIGN_POSITIVE => {}
        _ => return Err("invalid numeric sign"),
    }
    // Group i stands for 10000^(weight - i).
    let group_at = |power: i64| -> u16 {
        usize::try_from(weight - power)
            .ok()
            .and_then(|index| groups.get(index).copied())
            .unwrap_or(0)
    };
    if weight < 0 {
        text.push('0');
    } else {
        for power in (0..=weight).rev() {
            let written = if power == weight {
                write!(text, "{}", group_at(power))
            } else {
                write!(text, "{:04}", group_at(power))
            };
            written.map_err(|_| "numeric value too long")?;
        }
    }
    if display_scale > 0 {
        text.push('.');
        for position in 0..display_scale {
            let power = -(position / DIGITS_PER_GROUP) - 1;
            let digit_in_group = 3 - (position % DIGITS_PER_GROUP) as u32;
            let digit = group_at(power) / 10u16.pow(digit_in_group) % 10;
            text.push(char::from(b'0' + digit as u8));
        }
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use std::str::FromStr;

    use pgwire::api::Type;
    use rust_decimal::Decimal;
    use tokio_postgres::types::{FromSql, ToSql};

    use super::*;

    fn encode(signed_digits: &str, scale: i32) -> BytesMut {
        let mut out = BytesMut::new();
        put_numeric_binary(&mut out, signed_digits.as_bytes(), scale);
        out
    }

    fn decoded_by_client(signed_digits: &str, scale: i32) -> Decimal {
        Decimal::from_sql(&Type::NUMERIC, &encode(signed_digits, scale)).expect("valid numeric")
    }

    #[test]
    fn binary_numerics_read_back_as_the_same_decimal() {
        let cases = [
            ("12345", 2, "123.45"),
            ("-12345", 2, "-123.45"),
            ("1", 0, "1"),
            ("10000", 0, "10000"),
            ("100000000", 0, "100000000"),
            ("5", 6, "0.000005"),
            ("-100", 3, "-0.100"),
            (
                "123456789012345678901234567",
                10,
                "12345678901234567.8901234567",
            ),
            ("42", -3, "42000"),
            ("0", 2, "0.00"),
        ];
        for (digits, scale, expected) in cases {
            let decimal = decoded_by_client(digits, scale);
            assert_eq!(
                decimal,
                Decimal::from_str(expected).expect("decimal"),
                "{digits}e-{scale}"
            );
            assert_eq!(
                decimal.to_string(),
                expected,
                "{digits}e-{scale} keeps its scale"
            );
        }
    }

    #[test]
    fn zero_has_no_digit_groups() {
        assert_eq!(&encode("0", 3)[..], &[0, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(&encode("-0", 0)[..], &[0, 0, 0, 0, 0, 0, 0, 0]);
    }

    #[test]
    fn client_numerics_decode_to_decimal_text() {
        for text in [
            "123.45",
            "-0.000005",
            "10000",
            "0",
            "0.10",
            "98765432109876.54321",
        ] {
            let decimal = Decimal::from_str(text).expect("decimal");
            let mut bytes = BytesMut::new();
            decimal.to_sql(&Type::NUMERIC, &mut bytes).expect("encodes");
            assert_eq!(numeric_binary_to_text(&bytes).expect("decodes"), text);
        }
    }

    #[test]
    fn our_binary_round_trips_through_our_decoder() {
        for (digits, scale, expected) in [("-12345", 2, "-123.45"), ("7", 5, "0.00007")] {
            assert_eq!(
                numeric_binary_to_text(&encode(digits, scale)).expect("decodes"),
                expected
            );
        }
    }

    #[test]
    fn malformed_numerics_are_errors() {
        assert!(numeric_binary_to_text(&[0, 1]).is_err());
        assert!(numeric_binary_to_text(&[0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(numeric_binary_to_text(&[0, 1, 0, 0, 0, 0, 0, 0, 0xff, 0xff]).is_err());
        assert!(numeric_binary_to_text(&[0, 0, 0, 0, 0x12, 0x34, 0, 0]).is_err());
    }
}
