//! Reading text with a compiled pattern into fields, then resolving them, as Java's
//! DateTimeFormatter in its default strict mode: a two-letter field takes exactly two digits,
//! a one-letter field one or more, a variable-width number leaves the digits of the
//! fixed-width numbers right after it (`yyyyMMdd`), names are English, and a value out of its
//! field's range or two fields that disagree are Java's errors.
//!
//! Never: accept text the pattern does not match, in whole.

use chrono::FixedOffset;

use super::format::{DAYS, MONTHS};
use super::pattern::{Field, Need, OffsetStyle, Sign, TextWidth, Token, ZoneStyle};
use super::zone::{JavaZone, offset_of_parts, read_zone_id, read_zone_name};

pub(super) const FIELD_COUNT: usize = Field::NanoOfSecond as usize + 1;

/// The fields read from a text.
#[derive(Debug, Clone, Default)]
pub(super) struct Fields {
    pub(super) values: [Option<i64>; FIELD_COUNT],
    pub(super) offset: Option<FixedOffset>,
    pub(super) zone: Option<JavaZone>,
}

/// Reads the whole of `text`; Java's message when it does not match.
pub(super) fn parse(
    tokens: &[Token],
    text: &str,
    case_insensitive: bool,
) -> Result<Fields, String> {
    let mut reader = Reader {
        text,
        position: 0,
        case_insensitive,
        fields: Fields::default(),
    };
    reader.tokens(tokens).map_err(|failure| match failure {
        Failure::At(index) => format!("Text '{text}' could not be parsed at index {index}"),
        Failure::Invalid(message) => format!("Text '{text}' could not be parsed: {message}"),
    })?;
    if reader.position < text.len() {
        return Err(format!(
            "Text '{text}' could not be parsed, unparsed text found at index {}",
            reader.position
        ));
    }
    reader
        .fields
        .validate()
        .map_err(|message| format!("Text '{text}' could not be parsed: {message}"))?;
    Ok(reader.fields)
}

enum Failure {
    /// The text does not match at this byte.
    At(usize),
    /// A value Java rejects while parsing (two values of one field that differ).
    Invalid(String),
}

struct Reader<'a> {
    text: &'a str,
    position: usize,
    case_insensitive: bool,
    fields: Fields,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.text[self.position..]
    }

    fn fail<T>(&self) -> Result<T, Failure> {
        Err(Failure::At(self.position))
    }

    fn tokens(&mut self, tokens: &[Token]) -> Result<(), Failure> {
        for (index, token) in tokens.iter().enumerate() {
            match token {
                Token::Literal(literal) => self.literal(literal)?,
                Token::Number {
                    field,
                    min,
                    max,
                    sign,
                } => {
                    let reserved = match min < max {
                        true => fixed_digits_after(&tokens[index + 1..]),
                        false => 0,
                    };
                    let value = self.number(*min, *max, *sign, reserved)?;
                    self.set(*field, value)?;
                }
                Token::TwoDigitYear { field } => {
                    let value = self.number(2, 2, Sign::Normal, 0)?;
                    self.set(*field, 2000 + value)?;
                }
                Token::Fraction { digits } => {
                    let value = self.number(*digits, *digits, Sign::Normal, 0)?;
                    self.set(Field::NanoOfSecond, value * 10_i64.pow(9 - *digits as u32))?;
                }
                Token::Text { field, width } => self.name(*field, *width)?,
                Token::Zone(style) => self.zone(style)?,
                Token::Optional(section) => {
                    let (position, fields) = (self.position, self.fields.clone());
                    if self.tokens(section).is_err() {
                        self.position = position;
                        self.fields = fields;
                    }
                }
            }
        }
        Ok(())
    }

    fn set(&mut self, field: Field, value: i64) -> Result<(), Failure> {
        let slot = &mut self.fields.values[field as usize];
        match slot {
            Some(previous) if *previous != value => Err(Failure::Invalid(format!(
                "Conflict found: {field} {previous} differs from {field} {value}"
            ))),
            _ => {
                *slot = Some(value);
                Ok(())
            }
        }
    }

    fn literal(&mut self, literal: &str) -> Result<(), Failure> {
        let rest = self.rest();
        let Some(candidate) = rest.get(..literal.len()) else {
            return self.fail();
        };
        let matches = match self.case_insensitive {
            true => candidate.to_lowercase() == literal.to_lowercase(),
            false => candidate == literal,
        };
        if !matches {
            return self.fail();
        }
        self.position += literal.len();
        Ok(())
    }

    /// A number of `min` to `max` digits, leaving `reserved` digits for the numbers after it.
    fn number(
        &mut self,
        min: usize,
        max: usize,
        sign: Sign,
        reserved: usize,
    ) -> Result<i64, Failure> {
        let rest = self.rest().as_bytes();
        let negative = match rest.first() {
            Some(b'-') if min < max => true,
            Some(b'+') if sign == Sign::ExceedsPad => false,
            _ => false,
        };
        let signed = usize::from(
            matches!(rest.first(), Some(b'-' | b'+')) && (negative || sign == Sign::ExceedsPad),
        );
        let available = rest[signed..]
            .iter()
            .take_while(|byte| byte.is_ascii_digit())
            .count();
        let take = available.saturating_sub(reserved).min(max);
        if take < min || take > 18 {
            return self.fail();
        }
        let digits = &self.rest()[signed..signed + take];
        let value: i64 = digits.parse().map_err(|_| Failure::At(self.position))?;
        self.position += signed + take;
        Ok(if negative { -value } else { value })
    }

    /// A month's, day's or half-day's English name.
    fn name(&mut self, field: Field, width: TextWidth) -> Result<(), Failure> {
        let names: Vec<(String, i64)> = match field {
            Field::MonthOfYear => named(&MONTHS, width, 1),
            Field::DayOfWeek => named(&DAYS, width, 1),
            _ => vec![("AM".to_string(), 0), ("PM".to_string(), 1)],
        };
        let rest = self.rest();
        let found = names.iter().find(|(name, _)| {
            rest.get(..name.len())
                .is_some_and(|candidate| match self.case_insensitive {
                    true => candidate.eq_ignore_ascii_case(name),
                    false => candidate == name,
                })
        });
        let Some((name, value)) = found else {
            return self.fail();
        };
        self.position += name.len();
        self.set(field, *value)
    }

    fn zone(&mut self, style: &ZoneStyle) -> Result<(), Failure> {
        let rest = self.rest();
        match style {
            ZoneStyle::Id | ZoneStyle::ShortName => {
                let read = match style {
                    ZoneStyle::Id => read_zone_id(rest),
                    _ => read_zone_name(rest, self.case_insensitive),
                };
                let Some((zone, length)) = read else {
                    return self.fail();
                };
                self.position += length;
                self.fields.zone = Some(zone);
            }
            ZoneStyle::LocalizedShort | ZoneStyle::LocalizedFull => {
                self.literal("GMT")?;
                let full = *style == ZoneStyle::LocalizedFull;
                let offset = self.localized_offset(full)?;
                self.fields.offset = Some(offset);
            }
            ZoneStyle::Offset(offset_style) => {
                let offset = self.offset(offset_style)?;
                self.fields.offset = Some(offset);
            }
        }
        Ok(())
    }

    /// After `GMT`: nothing (zero), or `+h[:mm[:ss]]` (short) / `+hh:mm[:ss]` (full).
    fn localized_offset(&mut self, full: bool) -> Result<FixedOffset, Failure> {
        let sign = match self.rest().as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return Ok(FixedOffset::east_opt(0).expect("zero is an offset")),
        };
        self.position += 1;
        let hours = match full {
            true => self.number(2, 2, Sign::Normal, 0)?,
            false => self.number(1, 2, Sign::Normal, 0)?,
        };
        let mut parts = [hours, 0, 0];
        for (index, part) in parts.iter_mut().enumerate().skip(1) {
            if !self.rest().starts_with(':') {
                if full && index == 1 {
                    return self.fail();
                }
                break;
            }
            self.position += 1;
            *part = self.number(2, 2, Sign::Normal, 0)?;
        }
        self.offset_of(sign, parts)
    }

    /// An offset in the style of `X`, `x` or `Z`; its zero text first, as Java reads it.
    fn offset(&mut self, style: &OffsetStyle) -> Result<FixedOffset, Failure> {
        if self.rest().starts_with(style.zero) {
            self.position += style.zero.len();
            return Ok(FixedOffset::east_opt(0).expect("zero is an offset"));
        }
        let sign = match self.rest().as_bytes().first() {
            Some(b'+') => 1,
            Some(b'-') => -1,
            _ => return self.fail(),
        };
        let start = self.position;
        self.position += 1;
        let hours = self.number(2, 2, Sign::Normal, 0)?;
        let mut parts = [hours, 0, 0];
        for (index, need) in [(1, style.minutes), (2, style.seconds)] {
            if need == Need::Never {
                break;
            }
            let separated = !style.colon || self.rest().starts_with(':');
            let digits_at = self.position + usize::from(style.colon);
            let has_digits = self
                .text
                .as_bytes()
                .get(digits_at..digits_at + 2)
                .is_some_and(|pair| pair.iter().all(u8::is_ascii_digit));
            if !(separated && has_digits) {
                if need == Need::Always {
                    self.position = start;
                    return self.fail();
                }
                break;
            }
            self.position = digits_at;
            parts[index] = self.number(2, 2, Sign::Normal, 0)?;
        }
        self.offset_of(sign, parts)
    }

    fn offset_of(
        &self,
        sign: i32,
        [hours, minutes, seconds]: [i64; 3],
    ) -> Result<FixedOffset, Failure> {
        let part = |value: i64| i32::try_from(value).unwrap_or(i32::MAX);
        offset_of_parts(sign, part(hours), part(minutes), part(seconds)).ok_or_else(|| {
            Failure::Invalid("Zone offset not in valid range: -18:00 to +18:00".to_string())
        })
    }
}

/// English names of a width, numbered from `first`.
fn named(names: &[&str], width: TextWidth, first: i64) -> Vec<(String, i64)> {
    names
        .iter()
        .zip(first..)
        .map(|(name, value)| {
            let name = match width {
                TextWidth::Full => name.to_string(),
                TextWidth::Short => name.chars().take(3).collect(),
                TextWidth::Narrow => name.chars().take(1).collect(),
            };
            (name, value)
        })
        .collect()
}

/// The digits of the fixed-width numbers right after a variable-width one: Java's adjacent
/// value parsing, which lets `yyyyMMdd` read `20240102`.
fn fixed_digits_after(tokens: &[Token]) -> usize {
    let mut digits = 0;
    for token in tokens {
        digits += match token {
            Token::Number { min, max, .. } if min == max => *min,
            Token::TwoDigitYear { .. } => 2,
            Token::Fraction { digits } => *digits,
            _ => break,
        };
    }
    digits
}

#[cfg(test)]
mod tests {
    use super::super::{JavaTimeFormat, JavaZone};
    use chrono::{NaiveDate, NaiveTime};

    fn ms(pattern: &str, text: &str, zone: &str) -> Result<i64, String> {
        JavaTimeFormat::from_java(pattern)?.parse_timestamp_ms(text, &JavaZone::of(zone)?)
    }

    /// 2024-01-02T03:04:05Z.
    const UTC: i64 = 1_704_164_645_000;
    const HOUR: i64 = 3_600_000;

    #[test]
    fn each_letter_parses_as_java() {
        for (pattern, text, expected) in [
            ("yyyy-MM-dd HH:mm:ss", "2024-01-02 03:04:05", UTC),
            ("yyyyMMddHHmmss", "20240102030405", UTC),
            ("yyyyMMddHHmmssSSS", "20240102030405678", UTC + 678),
            ("yy-M-d H:m:s", "24-1-2 3:4:5", UTC),
            ("yyyy-MMM-dd HH:mm:ss", "2024-Jan-02 03:04:05", UTC),
            (
                "EEEE, MMMM d, yyyy h:mm:ss a",
                "Tuesday, January 2, 2024 3:04:05 AM",
                UTC,
            ),
            (
                "EEE MMM dd hh:mm:ss a yyyy",
                "Tue Jan 02 03:04:05 PM 2024",
                UTC + 12 * HOUR,
            ),
            ("yyyy-DDD HH:mm:ss", "2024-002 03:04:05", UTC),
            ("yyyy-MM-dd k:mm:ss", "2024-01-02 24:04:05", UTC - 3 * HOUR),
            (
                "yyyy-MM-dd K:mm:ss a",
                "2024-01-02 3:04:05 PM",
                UTC + 12 * HOUR,
            ),
            ("yyyy-MM-dd HH:mm:ss.S", "2024-01-02 03:04:05.6", UTC + 600),
            (
                "yyyy-MM-dd HH:mm:ss.SSSSSS",
                "2024-01-02 03:04:05.678901",
                UTC + 678,
            ),
            (
                "yyyy-MM-dd HH:mm:ss VV",
                "2024-01-02 03:04:05 America/Los_Angeles",
                UTC + 8 * HOUR,
            ),
            (
                "yyyy-MM-dd HH:mm:ss z",
                "2024-01-02 03:04:05 PST",
                UTC + 8 * HOUR,
            ),
            ("yyyy-MM-dd HH:mm:ss z", "2024-01-02 03:04:05 UTC", UTC),
            (
                "yyyy-MM-dd HH:mm:ss ZZZZ",
                "2024-01-02 03:04:05 GMT+01:00",
                UTC - HOUR,
            ),
            ("yyyy-MM-dd HH:mm:ss ZZZZ", "2024-01-02 03:04:05 GMT", UTC),
            (
                "yyyy-MM-dd HH:mm:ss O",
                "2024-01-02 03:04:05 GMT-8",
                UTC + 8 * HOUR,
            ),
            (
                "yyyy-MM-dd HH:mm:ss X",
                "2024-01-02 03:04:05 +0130",
                UTC - 90 * 60_000,
            ),
            ("yyyy-MM-dd''HH:mm:ss", "2024-01-02'03:04:05", UTC),
            ("yyyy-MM-dd['T'HH:mm:ss]", "2024-01-02T03:04:05", UTC),
            (
                "yyyy-MM-dd['T'HH:mm:ss]",
                "2024-01-02",
                UTC - 3 * HOUR - 4 * 60_000 - 5_000,
            ),
            // What the text lacks is 1970-01-01T00:00.
            ("HH:mm", "03:04", 3 * HOUR + 4 * 60_000),
            ("MM-dd", "02-30", 58 * 86_400_000),
            ("yyyy", "2024", 1_704_067_200_000),
            // A day past the month's end is its last day (Java's SMART resolver).
            ("yyyy-MM-dd", "2023-02-30", 1_677_542_400_000),
        ] {
            assert_eq!(
                ms(pattern, text, "UTC"),
                Ok(expected),
                "{pattern} with {text}"
            );
        }
        // Without a zone in the text, the zone given.
        assert_eq!(
            ms("yyyy-MM-dd HH:mm:ss", "2024-01-02 03:04:05", "Europe/Paris"),
            Ok(UTC - HOUR)
        );
    }

    #[test]
    fn text_that_does_not_match_is_an_error() {
        for (pattern, text) in [
            ("yyyy-MM-dd", "2024-1-02"),
            ("yyyy-MM-dd", "24-01-02"),
            ("yyyy-MM-dd", "2024-01-02 "),
            ("yyyy-MM-dd", "2024-13-02"),
            ("yyyy-MM-dd", "2024-01-32"),
            ("HH:mm", "24:00"),
            ("yyyy-MMM-dd", "2024-jan-02"),
            ("yyyy-MM-dd HH:mm:ss.SSS", "2024-01-02 03:04:05.6"),
            ("yyyy-MM-dd HH:mm a", "2024-01-02 13:04 AM"),
            ("EEE yyyy-MM-dd", "Mon 2024-01-02"),
            ("yyyy-MM-dd HH:mm:ss z", "2024-01-02 03:04:05 Mars"),
            ("yyyy-MM-dd HH:mm:ssxxx", "2024-01-02 03:04:05Z"),
            ("yyyy-MM-dd", ""),
        ] {
            assert!(ms(pattern, text, "UTC").is_err(), "{pattern} with {text}");
        }
        let error = ms("yyyy-MM-dd", "2024-13-02", "UTC").unwrap_err();
        assert!(
            error.contains("Invalid value for MonthOfYear (valid values 1 - 12): 13"),
            "{error}"
        );
    }

    #[test]
    fn dates_and_times_need_their_fields_and_only_them() {
        let format = |pattern: &str| JavaTimeFormat::from_java(pattern).unwrap();
        let date = NaiveDate::from_ymd_opt(2024, 1, 2).unwrap();
        assert_eq!(format("yyyy-MM-dd").parse_date("2024-01-02"), Ok(date));
        assert_eq!(
            format("yyyy-MM-dd HH").parse_date("2024-01-02 03"),
            Err("Date format contains time field.".to_string())
        );
        assert_eq!(
            format("yyyy-MM-dd HH").parse_date_ignoring_time("2024-01-02 03"),
            Ok(date)
        );
        assert!(format("MM-dd").parse_date("01-02").is_err());
        let insensitive = format("dd-MMM-yyyy").case_insensitive();
        assert_eq!(insensitive.parse_date("02-JAN-2024"), Ok(date));
        let time = NaiveTime::from_hms_milli_opt(3, 4, 5, 678).unwrap();
        assert_eq!(format("HH:mm:ss.SSS").parse_time("03:04:05.678"), Ok(time));
        assert_eq!(
            format("HH").parse_time("03"),
            Ok(NaiveTime::from_hms_opt(3, 0, 0).unwrap())
        );
        assert_eq!(
            format("yyyy HH").parse_time("2024 03"),
            Err("Unsupported field: YearOfEra".to_string())
        );
        assert!(format("mm:ss").parse_time("04:05").is_err());
    }
}
