//! Postgres text output of scalar values, written straight into the caller's buffer:
//! what `psql` would print for a float8, numeric, date, time or timestamp.
//!
//! Floats use the shortest digits that read back exactly (Postgres 12+ with
//! `extra_float_digits = 1`) and switch to exponent form where `printf("%g")` would;
//! dates before year 1 get Postgres' ` BC` suffix; timestamps with a zone are shown in
//! UTC, the `TimeZone` the server announces.
//!
//! Never: allocate per value (integers and dates are written digit by digit), or panic on
//! a value out of range (`OutOfRange` is returned instead).

use std::fmt::Write;

use chrono::{Datelike, NaiveDate};
use tokio_util::bytes::{BufMut, BytesMut};

use crate::temporal::{MICROS_PER_DAY, MICROS_PER_SECOND};

/// A date or time Postgres cannot represent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct OutOfRange;

/// Days from 0001-01-01 (day 1 in chrono's count) to 1970-01-01.
const UNIX_EPOCH_DAYS_FROM_CE: i64 = 719_163;

/// Unsigned decimal digits, no allocation.
pub(crate) fn put_unsigned(out: &mut BytesMut, mut value: u64) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.put_slice(&digits[start..]);
}

/// Signed decimal digits, no allocation.
pub(crate) fn put_signed(out: &mut BytesMut, value: i64) {
    if value < 0 {
        out.put_u8(b'-');
    }
    put_unsigned(out, value.unsigned_abs());
}

/// `value` with at least `width` digits, zero-padded on the left.
fn put_padded(out: &mut BytesMut, value: u64, width: usize) {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    let mut rest = value;
    while rest > 0 || digits.len() - start < width {
        start -= 1;
        digits[start] = b'0' + (rest % 10) as u8;
        rest /= 10;
    }
    out.put_slice(&digits[start..]);
}

/// A small stack buffer for `fmt` output that must be rearranged before it is sent.
struct StackText {
    bytes: [u8; 96],
    len: usize,
}

impl StackText {
    fn new() -> Self {
        Self {
            bytes: [0; 96],
            len: 0,
        }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl Write for StackText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.len + text.len();
        if end > self.bytes.len() {
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Postgres `float8out`: fixed notation for decimal exponents in [-4, 15), else `1e+20`.
pub(crate) fn put_float8(out: &mut BytesMut, value: f64) {
    let special = special_float_text(
        value.is_nan(),
        value.is_infinite(),
        value.is_sign_negative(),
    );
    put_float(out, value, special, 15);
}

/// Postgres `float4out`: fixed notation for decimal exponents in [-4, 6), else `1e+06`.
pub(crate) fn put_float4(out: &mut BytesMut, value: f32) {
    let special = special_float_text(
        value.is_nan(),
        value.is_infinite(),
        value.is_sign_negative(),
    );
    put_float(out, value, special, 6);
}

/// `special` (see `special_float_text`) if there is one, else the shortest digits that read
/// back as `value`, in fixed notation for decimal exponents in [-4, `fixed_exponent_max`).
fn put_float(
    out: &mut BytesMut,
    value: impl std::fmt::LowerExp + std::fmt::Display,
    special: Option<&'static [u8]>,
    fixed_exponent_max: i32,
) {
    if let Some(text) = special {
        out.put_slice(text);
        return;
    }
    let mut scientific = StackText::new();
    match write!(scientific, "{value:e}") {
        Ok(()) => put_shortest_float(out, scientific.as_bytes(), fixed_exponent_max),
        // Unreachable in practice: 96 bytes hold any f32 or f64 in exponent form.
        Err(_) => put_display(out, value),
    }
}

fn put_display(out: &mut BytesMut, value: impl std::fmt::Display) {
    let mut text = StackText::new();
    if write!(text, "{value}").is_ok() {
        out.put_slice(text.as_bytes());
    }
}

/// NaN and the infinities, as Postgres spells them; `None` for every other value.
fn special_float_text(nan: bool, infinite: bool, negative: bool) -> Option<&'static [u8]> {
    match (nan, infinite, negative) {
        (true, _, _) => Some(b"NaN"),
        (false, true, true) => Some(b"-Infinity"),
        (false, true, false) => Some(b"Infinity"),
        (false, false, _) => None,
    }
}

/// Lays out Rust's shortest exponent form (`-1.25e-7`) the way Postgres prints it.
fn put_shortest_float(out: &mut BytesMut, scientific: &[u8], fixed_exponent_max: i32) {
    let (negative, body) = match scientific.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, scientific),
    };
    let exponent_at = body
        .iter()
        .position(|byte| *byte == b'e')
        .unwrap_or(body.len());
    let (mantissa, exponent_text) = body.split_at(exponent_at);
    let exponent = parse_exponent(exponent_text.get(1..).unwrap_or_default());
    let mut digits = [0u8; 32];
    let mut digit_count = 0;
    for byte in mantissa.iter().filter(|byte| byte.is_ascii_digit()) {
        if digit_count < digits.len() {
            digits[digit_count] = *byte;
            digit_count += 1;
        }
    }
    let digits = &digits[..digit_count];
    if negative {
        out.put_u8(b'-');
    }
    if (-4..fixed_exponent_max).contains(&exponent) {
        put_fixed_digits(out, digits, exponent);
    } else {
        put_exponent_digits(out, digits, exponent);
    }
}

fn parse_exponent(text: &[u8]) -> i32 {
    let (negative, digits) = match text.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, text),
    };
    let magnitude =
        digits
            .iter()
            .filter(|digit| digit.is_ascii_digit())
            .fold(0i32, |value, digit| {
                value
                    .saturating_mul(10)
                    .saturating_add(i32::from(digit - b'0'))
            });
    if negative { -magnitude } else { magnitude }
}

/// `digits` (d1 d2 ...) times 10^(exponent - len + 1), in plain decimal notation.
fn put_fixed_digits(out: &mut BytesMut, digits: &[u8], exponent: i32) {
    if exponent < 0 {
        out.put_slice(b"0.");
        for _ in 0..(-exponent - 1) {
            out.put_u8(b'0');
        }
        out.put_slice(digits);
        return;
    }
    let integer_digits = exponent as usize + 1;
    if digits.len() <= integer_digits {
        out.put_slice(digits);
        for _ in digits.len()..integer_digits {
            out.put_u8(b'0');
        }
    } else {
        out.put_slice(&digits[..integer_digits]);
        out.put_u8(b'.');
        out.put_slice(&digits[integer_digits..]);
    }
}

/// `d1.d2d3e+XX`, the exponent with at least two digits, as C's `%g` prints it.
fn put_exponent_digits(out: &mut BytesMut, digits: &[u8], exponent: i32) {
    if let Some((first, rest)) = digits.split_first() {
        out.put_u8(*first);
        if !rest.is_empty() {
            out.put_u8(b'.');
            out.put_slice(rest);
        }
    }
    out.put_u8(b'e');
    out.put_u8(if exponent < 0 { b'-' } else { b'+' });
    put_padded(out, u64::from(exponent.unsigned_abs()), 2);
}

/// A decimal given as its signed digits (`-12345`) and scale (2 gives `-123.45`).
pub(crate) fn put_decimal(out: &mut BytesMut, signed_digits: &[u8], scale: i32) {
    let (negative, digits) = split_sign(signed_digits);
    let is_zero = digits.iter().all(|digit| *digit == b'0');
    if negative && !is_zero {
        out.put_u8(b'-');
    }
    if scale <= 0 {
        out.put_slice(digits);
        if !is_zero {
            for _ in 0..scale.unsigned_abs() {
                out.put_u8(b'0');
            }
        }
        return;
    }
    let scale = scale as usize;
    if digits.len() > scale {
        let (integer, fraction) = digits.split_at(digits.len() - scale);
        out.put_slice(integer);
        out.put_u8(b'.');
        out.put_slice(fraction);
    } else {
        out.put_slice(b"0.");
        for _ in digits.len()..scale {
            out.put_u8(b'0');
        }
        out.put_slice(digits);
    }
}

/// Splits a leading minus sign from ASCII digits.
pub(crate) fn split_sign(signed_digits: &[u8]) -> (bool, &[u8]) {
    match signed_digits.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, signed_digits),
    }
}

/// Formats an integer's decimal digits into a stack buffer and hands them to `write`.
pub(crate) fn with_decimal_digits<R>(
    value: impl std::fmt::Display,
    write: impl FnOnce(&[u8]) -> R,
) -> R {
    let mut text = StackText::new();
    // 96 bytes hold every i128 and i256 (at most 78 characters), so this cannot fail.
    let _fits = write!(text, "{value}").is_ok();
    write(text.as_bytes())
}

/// `bytea` in Postgres' default `hex` output: `\x` then two lower-case digits per byte.
pub(crate) fn put_bytea_hex(out: &mut BytesMut, bytes: &[u8]) {
    const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
    out.reserve(2 + 2 * bytes.len());
    out.put_slice(b"\\x");
    for byte in bytes {
        out.put_u8(HEX_DIGITS[usize::from(byte >> 4)]);
        out.put_u8(HEX_DIGITS[usize::from(byte & 0x0f)]);
    }
}

/// The calendar date `days_since_epoch` days after 1970-01-01, if chrono can hold it.
pub(crate) fn date_from_epoch_days(days_since_epoch: i64) -> Result<NaiveDate, OutOfRange> {
    days_since_epoch
        .checked_add(UNIX_EPOCH_DAYS_FROM_CE)
        .and_then(|days| i32::try_from(days).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .ok_or(OutOfRange)
}

/// `YYYY-MM-DD` (ISO, as `DateStyle = ISO` prints it), with ` BC` for years before 1.
pub(crate) fn put_date(out: &mut BytesMut, days_since_epoch: i64) -> Result<(), OutOfRange> {
    let date = date_from_epoch_days(days_since_epoch)?;
    let before_christ = put_year_month_day(out, date);
    if before_christ {
        out.put_slice(b" BC");
    }
    Ok(())
}

/// Writes `YYYY-MM-DD`; returns whether the year is before 1 AD (Postgres then adds BC).
fn put_year_month_day(out: &mut BytesMut, date: NaiveDate) -> bool {
    let year = date.year();
    let before_christ = year <= 0;
    let display_year = if before_christ {
        1 - i64::from(year)
    } else {
        i64::from(year)
    };
    put_padded(out, display_year.unsigned_abs(), 4);
    out.put_u8(b'-');
    put_padded(out, u64::from(date.month()), 2);
    out.put_u8(b'-');
    put_padded(out, u64::from(date.day()), 2);
    before_christ
}

/// `HH:MM:SS` plus `.ffffff` without trailing zeros when there is a fraction.
pub(crate) fn put_time(out: &mut BytesMut, micros_of_day: i64) -> Result<(), OutOfRange> {
    if !(0..=MICROS_PER_DAY).contains(&micros_of_day) {
        return Err(OutOfRange);
    }
    let seconds = micros_of_day / MICROS_PER_SECOND;
    put_padded(out, (seconds / 3600) as u64, 2);
    out.put_u8(b':');
    put_padded(out, (seconds / 60 % 60) as u64, 2);
    out.put_u8(b':');
    put_padded(out, (seconds % 60) as u64, 2);
    let mut fraction = (micros_of_day % MICROS_PER_SECOND) as u64;
    if fraction != 0 {
        let mut width = 6;
        while fraction.is_multiple_of(10) {
            fraction /= 10;
            width -= 1;
        }
        out.put_u8(b'.');
        put_padded(out, fraction, width);
    }
    Ok(())
}

/// `YYYY-MM-DD HH:MM:SS[.ffffff]`, then `+00` for `timestamptz`, then ` BC` if needed.
pub(crate) fn put_timestamp(
    out: &mut BytesMut,
    micros_since_epoch: i64,
    with_time_zone: bool,
) -> Result<(), OutOfRange> {
    let days = micros_since_epoch.div_euclid(MICROS_PER_DAY);
    let micros_of_day = micros_since_epoch.rem_euclid(MICROS_PER_DAY);
    let date = date_from_epoch_days(days)?;
    let before_christ = put_year_month_day(out, date);
    out.put_u8(b' ');
    put_time(out, micros_of_day)?;
    if with_time_zone {
        out.put_slice(b"+00");
    }
    if before_christ {
        out.put_slice(b" BC");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(write: impl FnOnce(&mut BytesMut)) -> String {
        let mut out = BytesMut::new();
        write(&mut out);
        String::from_utf8(out.to_vec()).expect("text output is ASCII")
    }

    #[test]
    fn float8_matches_postgres_output() {
        let cases = [
            (1.5, "1.5"),
            (0.1, "0.1"),
            (-2.0, "-2"),
            (100.0, "100"),
            (1e14, "100000000000000"),
            (1e15, "1e+15"),
            (123456789012345678.0, "1.2345678901234568e+17"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-5, "1.5e-05"),
            (1e300, "1e+300"),
            (0.0, "0"),
            (-0.0, "-0"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "Infinity"),
            (f64::NEG_INFINITY, "-Infinity"),
        ];
        for (value, expected) in cases {
            assert_eq!(text(|out| put_float8(out, value)), expected, "{value:e}");
        }
    }

    #[test]
    fn float4_uses_its_own_shortest_digits_and_threshold() {
        assert_eq!(text(|out| put_float4(out, 0.1)), "0.1");
        assert_eq!(text(|out| put_float4(out, 100000.0)), "100000");
        assert_eq!(text(|out| put_float4(out, 1234567.0)), "1.234567e+06");
        assert_eq!(text(|out| put_float4(out, 1e6)), "1e+06");
        assert_eq!(text(|out| put_float4(out, 3.25)), "3.25");
        assert_eq!(text(|out| put_float4(out, f32::NAN)), "NaN");
        assert_eq!(text(|out| put_float4(out, f32::INFINITY)), "Infinity");
        assert_eq!(text(|out| put_float4(out, f32::NEG_INFINITY)), "-Infinity");
    }

    #[test]
    fn decimals_place_the_point_by_scale() {
        assert_eq!(text(|out| put_decimal(out, b"12345", 2)), "123.45");
        assert_eq!(text(|out| put_decimal(out, b"-5", 2)), "-0.05");
        assert_eq!(text(|out| put_decimal(out, b"0", 3)), "0.000");
        assert_eq!(text(|out| put_decimal(out, b"42", 0)), "42");
        assert_eq!(text(|out| put_decimal(out, b"42", -2)), "4200");
        assert_eq!(text(|out| put_decimal(out, b"-0", 1)), "0.0");
        assert_eq!(
            text(|out| with_decimal_digits(i128::MIN, |digits| put_decimal(out, digits, 38))),
            "-1.70141183460469231731687303715884105728"
        );
    }

    #[test]
    fn integers_are_written_without_allocation_helpers() {
        assert_eq!(
            text(|out| put_signed(out, i64::MIN)),
            "-9223372036854775808"
        );
        assert_eq!(
            text(|out| put_unsigned(out, u64::MAX)),
            "18446744073709551615"
        );
        assert_eq!(text(|out| put_signed(out, 0)), "0");
    }

    #[test]
    fn dates_times_and_timestamps_match_iso_output() {
        assert_eq!(
            text(|out| put_date(out, 0).expect("in range")),
            "1970-01-01"
        );
        assert_eq!(
            text(|out| put_date(out, 19_723).expect("in range")),
            "2024-01-01"
        );
        assert_eq!(
            text(|out| put_date(out, -719_162).expect("in range")),
            "0001-01-01"
        );
        assert_eq!(
            text(|out| put_date(out, -719_163).expect("in range")),
            "0001-12-31 BC"
        );
        assert_eq!(
            text(|out| put_time(out, 45_296_000_000).expect("in range")),
            "12:34:56"
        );
        assert_eq!(
            text(|out| put_time(out, 45_296_500_000).expect("in range")),
            "12:34:56.5"
        );
        assert_eq!(
            text(|out| put_time(out, 1).expect("in range")),
            "00:00:00.000001"
        );
        assert_eq!(
            text(|out| put_timestamp(out, 1_704_112_496_123_000, false).expect("in range")),
            "2024-01-01 12:34:56.123"
        );
        assert_eq!(
            text(|out| put_timestamp(out, -1, true).expect("in range")),
            "1969-12-31 23:59:59.999999+00"
        );
        let mut out = BytesMut::new();
        assert_eq!(put_time(&mut out, -1), Err(OutOfRange));
        assert_eq!(put_date(&mut out, i64::MAX), Err(OutOfRange));
    }

    #[test]
    fn bytea_is_hex() {
        assert_eq!(
            text(|out| put_bytea_hex(out, &[0x00, 0xab, 0x10])),
            "\\x00ab10"
        );
        assert_eq!(text(|out| put_bytea_hex(out, &[])), "\\x");
    }
}
