//! Printing a moment with a compiled pattern, as Java's DateTimeFormatter.format: numbers
//! padded to their width, English month and day names, offsets and zones in the letter's
//! style. A field the moment lacks (an hour of a DATE) is Java's error "Unsupported field",
//! except inside an optional section, which is then left out.
//!
//! Never: print a field the value does not have.

use std::fmt::Write as _;

use chrono::{Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Timelike};

use super::pattern::{Field, Need, OffsetStyle, Sign, TextWidth, Token, ZoneStyle};
use super::zone::{JavaZone, localized_offset, offset_parts};

pub(super) const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

pub(super) const DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];

/// What a value has to print: a DATE has a date, a TIME a time, a TIMESTAMP all, with its zone
/// and the instant (for the zone's name then).
#[derive(Default)]
pub(super) struct Moment<'a> {
    pub(super) date: Option<NaiveDate>,
    pub(super) time: Option<NaiveTime>,
    pub(super) offset: Option<FixedOffset>,
    pub(super) zone: Option<(&'a JavaZone, NaiveDateTime)>,
}

pub(super) fn format(tokens: &[Token], moment: &Moment) -> Result<String, String> {
    let mut text = String::new();
    format_into(&mut text, tokens, moment)?;
    Ok(text)
}

fn format_into(text: &mut String, tokens: &[Token], moment: &Moment) -> Result<(), String> {
    for token in tokens {
        match token {
            Token::Literal(literal) => text.push_str(literal),
            Token::Number {
                field,
                min,
                max: _,
                sign,
            } => push_number(text, number(*field, moment)?, *min, *sign),
            Token::TwoDigitYear { field } => {
                let year = number(*field, moment)?;
                let _ = write!(text, "{:02}", year.rem_euclid(100));
            }
            Token::Fraction { digits } => {
                let nanos = i64::from(time_of(moment, Field::NanoOfSecond)?.nanosecond());
                let nanos = nanos.min(999_999_999);
                let scaled = nanos / 10_i64.pow(9 - *digits as u32);
                let _ = write!(text, "{scaled:0width$}", width = *digits);
            }
            Token::Text { field, width } => text.push_str(&name(*field, *width, moment)?),
            Token::Zone(style) => format_zone(text, style, moment)?,
            Token::Optional(section) => {
                let mut part = String::new();
                if format_into(&mut part, section, moment).is_ok() {
                    text.push_str(&part);
                }
            }
        }
    }
    Ok(())
}

fn unsupported(field: Field) -> String {
    format!("Unsupported field: {field}")
}

fn date_of(moment: &Moment, field: Field) -> Result<NaiveDate, String> {
    moment.date.ok_or_else(|| unsupported(field))
}

fn time_of(moment: &Moment, field: Field) -> Result<NaiveTime, String> {
    moment.time.ok_or_else(|| unsupported(field))
}

/// A numeric field of the moment.
fn number(field: Field, moment: &Moment) -> Result<i64, String> {
    if field.is_date() {
        let date = date_of(moment, field)?;
        return Ok(i64::from(match field {
            Field::Year => date.year(),
            // Java's year-of-era: 1 BCE is year 0.
            Field::YearOfEra if date.year() <= 0 => 1 - date.year(),
            Field::YearOfEra => date.year(),
            Field::MonthOfYear => date.month() as i32,
            Field::DayOfMonth => date.day() as i32,
            Field::DayOfYear => date.ordinal() as i32,
            _ => date.weekday().number_from_monday() as i32,
        }));
    }
    let time = time_of(moment, field)?;
    let hour = time.hour();
    Ok(i64::from(match field {
        Field::HourOfDay => hour,
        Field::ClockHourOfDay if hour == 0 => 24,
        Field::ClockHourOfDay => hour,
        Field::HourOfAmPm => hour % 12,
        Field::ClockHourOfAmPm if hour % 12 == 0 => 12,
        Field::ClockHourOfAmPm => hour % 12,
        Field::MinuteOfHour => time.minute(),
        Field::SecondOfMinute => time.second(),
        Field::NanoOfSecond => time.nanosecond().min(999_999_999),
        _ => hour / 12,
    }))
}

fn push_number(text: &mut String, value: i64, min: usize, sign: Sign) {
    let digits = value.unsigned_abs().to_string();
    if value < 0 {
        text.push('-');
    } else if sign == Sign::ExceedsPad && digits.len() > min {
        text.push('+');
    }
    for _ in digits.len()..min {
        text.push('0');
    }
    text.push_str(&digits);
}

/// A month's, day's or half-day's English name.
fn name(field: Field, width: TextWidth, moment: &Moment) -> Result<String, String> {
    let full = match field {
        Field::MonthOfYear => MONTHS[date_of(moment, field)?.month0() as usize],
        Field::DayOfWeek => DAYS[date_of(moment, field)?.weekday().num_days_from_monday() as usize],
        _ => match time_of(moment, field)?.hour() < 12 {
            true => "AM",
            false => "PM",
        },
    };
    Ok(match width {
        TextWidth::Full => full.to_string(),
        TextWidth::Short => full.chars().take(3).collect(),
        TextWidth::Narrow => full.chars().take(1).collect(),
    })
}

fn format_zone(text: &mut String, style: &ZoneStyle, moment: &Moment) -> Result<(), String> {
    let offset = moment
        .offset
        .ok_or_else(|| "Unsupported field: OffsetSeconds".to_string())?;
    match style {
        ZoneStyle::Id | ZoneStyle::ShortName => {
            let (zone, utc) = moment
                .zone
                .ok_or_else(|| "Unable to extract ZoneId from the value".to_string())?;
            text.push_str(&match style {
                ZoneStyle::Id => zone.id(),
                _ => zone.short_name(&utc),
            });
        }
        ZoneStyle::LocalizedShort => text.push_str(&localized_offset(offset, false)),
        ZoneStyle::LocalizedFull => text.push_str(&localized_offset(offset, true)),
        ZoneStyle::Offset(style) => push_offset(text, offset, style),
    }
    Ok(())
}

fn push_offset(text: &mut String, offset: FixedOffset, style: &OffsetStyle) {
    let total = offset.local_minus_utc();
    if total == 0 {
        text.push_str(style.zero);
        return;
    }
    let (hours, minutes, seconds) = offset_parts(total);
    let _ = write!(text, "{}{hours:02}", if total < 0 { '-' } else { '+' });
    let separator = if style.colon { ":" } else { "" };
    let minutes_shown = match style.minutes {
        Need::Always => true,
        Need::IfNonZero => minutes != 0 || (seconds != 0 && style.seconds != Need::Never),
        Need::Never => false,
    };
    if minutes_shown {
        let _ = write!(text, "{separator}{minutes:02}");
        if style.seconds == Need::Always || (style.seconds == Need::IfNonZero && seconds != 0) {
            let _ = write!(text, "{separator}{seconds:02}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{JavaTimeFormat, JavaZone};
    use chrono::{NaiveDate, NaiveTime};

    /// 2024-01-02T03:04:05.678Z, a Tuesday.
    const MS: i64 = 1_704_164_645_678;

    fn at(pattern: &str, zone: &str) -> Result<String, String> {
        JavaTimeFormat::from_java(pattern)?.format_timestamp(MS, &JavaZone::of(zone)?)
    }

    #[test]
    fn each_letter_prints_as_java() {
        for (pattern, zone, expected) in [
            (
                "yyyy-MM-dd'T'HH:mm:ss.SSS",
                "UTC",
                "2024-01-02T03:04:05.678",
            ),
            ("y yy yyy yyyyy u", "UTC", "2024 24 2024 02024 2024"),
            ("M MM MMM MMMM MMMMM L", "UTC", "1 01 Jan January J 1"),
            ("d D DDD E EEEE EEEEE", "UTC", "2 2 002 Tue Tuesday T"),
            ("h hh K k H a", "UTC", "3 03 3 3 3 AM"),
            ("hh:mm a", "America/Los_Angeles", "07:04 PM"),
            (
                "S SS SSSSSS SSSSSSSSS n",
                "UTC",
                "6 67 678000 678000000 678000000",
            ),
            ("X XX XXX XXXX XXXXX", "UTC", "Z Z Z Z Z"),
            (
                "x xx xxx Z ZZZZ ZZZZZ O",
                "UTC",
                "+00 +0000 +00:00 +0000 GMT Z GMT",
            ),
            (
                "X XX XXX x Z ZZZZ ZZZZZ O OOOO",
                "+05:30",
                "+0530 +0530 +05:30 +0530 +0530 GMT+05:30 +05:30 GMT+5:30 GMT+05:30",
            ),
            ("X ZZZZ O", "-08:00", "-08 GMT-08:00 GMT-8"),
            ("VV z", "America/Los_Angeles", "America/Los_Angeles PST"),
            ("VV z", "Europe/Paris", "Europe/Paris CET"),
            ("VV z", "UTC", "UTC UTC"),
            ("VV z", "+01:00", "+01:00 +01:00"),
            ("''h'h' 'o''clock'", "UTC", "'3h o'clock"),
            ("HH[:mm][ X]", "UTC", "03:04 Z"),
        ] {
            assert_eq!(
                at(pattern, zone),
                Ok(expected.to_string()),
                "{pattern} at {zone}"
            );
        }
    }

    #[test]
    fn a_year_past_four_digits_is_signed_and_noon_is_pm() {
        let format = JavaTimeFormat::from_java("yyyy u a").unwrap();
        let date = NaiveDate::from_ymd_opt(10_000, 1, 1).unwrap();
        assert_eq!(
            format.format_timestamp(
                date.and_hms_opt(12, 0, 0)
                    .unwrap()
                    .and_utc()
                    .timestamp_millis(),
                &JavaZone::utc()
            ),
            Ok("+10000 10000 PM".to_string())
        );
        let bce = NaiveDate::from_ymd_opt(0, 1, 1).unwrap();
        let years = JavaTimeFormat::from_java("y u").unwrap();
        assert_eq!(years.format_date(bce), Ok("1 0".to_string()));
    }

    #[test]
    fn a_field_the_value_lacks_is_an_error_or_skips_its_optional_section() {
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        let time = NaiveTime::from_hms_milli_opt(13, 4, 5, 6).unwrap();
        let format = |pattern: &str| JavaTimeFormat::from_java(pattern).unwrap();
        assert_eq!(
            format("yyyy-MM-dd HH").format_date(date),
            Err("Unsupported field: HourOfDay".to_string())
        );
        assert_eq!(
            format("yyyy-MM-dd[ HH]").format_date(date),
            Ok("2024-01-02".into())
        );
        assert_eq!(
            format("HH:mm:ss.SSS").format_time(time),
            Ok("13:04:05.006".into())
        );
        assert_eq!(
            format("yyyy HH").format_time(time),
            Err("Unsupported field: YearOfEra".to_string())
        );
        assert!(format("HH X").format_time(time).is_err());
    }
}
