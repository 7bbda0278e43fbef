//! Java zone ids (`ZoneId.of`): an offset (`Z`, `+01`, `-08:00`), `UTC`/`GMT`/`UT` alone or
//! with an offset (`UTC+01:00`), or a region of the tz database (`America/Los_Angeles`,
//! `EST`), case as written. Abbreviations Java's ZoneId.of refuses (`PST`) are refused too.
//!
//! Never: guess a zone for an id that is not one; the caller answers with an error.

use std::str::FromStr;

use chrono::{FixedOffset, LocalResult, NaiveDateTime, Offset, TimeDelta, TimeZone};
use chrono_tz::{OffsetName, Tz};

/// The longest zone id read from text, in characters.
const ZONE_ID_CHARS_MAX: usize = 64;

/// The most a Java offset may be, in seconds (±18:00).
const OFFSET_SECONDS_MAX: i32 = 18 * 3600;

/// A Java ZoneId.
#[derive(Debug, Clone, PartialEq)]
pub enum JavaZone {
    /// A ZoneOffset: `Z`, `+01:00`.
    Offset(FixedOffset),
    /// `UTC`, `GMT` or `UT`, alone or followed by an offset; `id` as Java normalizes it.
    Prefixed { id: String, offset: FixedOffset },
    /// A region of the tz database.
    Region(Tz),
}

impl JavaZone {
    pub fn utc() -> JavaZone {
        JavaZone::Prefixed {
            id: "UTC".to_string(),
            offset: FixedOffset::east_opt(0).expect("zero is an offset"),
        }
    }

    /// The zone of a Java zone id, or Java's reason it is none.
    pub fn of(id: &str) -> Result<JavaZone, String> {
        if id == "Z" || id.starts_with(['+', '-']) {
            return offset_of_id(id).map(JavaZone::Offset);
        }
        for prefix in ["UTC", "GMT", "UT"] {
            let Some(rest) = id.strip_prefix(prefix) else {
                continue;
            };
            if rest.is_empty() {
                return Ok(JavaZone::Prefixed {
                    id: prefix.to_string(),
                    offset: zero_offset(),
                });
            }
            if rest.starts_with(['+', '-']) {
                let offset = offset_of_id(rest).map_err(|_| unknown_zone(id))?;
                let id = match offset.local_minus_utc() {
                    0 => prefix.to_string(),
                    _ => format!("{prefix}{}", offset_id(offset)),
                };
                return Ok(JavaZone::Prefixed { id, offset });
            }
        }
        Tz::from_str(id)
            .map(JavaZone::Region)
            .map_err(|_| unknown_zone(id))
    }

    /// The id Java prints for the zone (`VV`).
    pub fn id(&self) -> String {
        match self {
            JavaZone::Offset(offset) => offset_id(*offset),
            JavaZone::Prefixed { id, .. } => id.clone(),
            JavaZone::Region(tz) => tz.name().to_string(),
        }
    }

    /// The zone's offset at an instant.
    pub fn offset_of_utc(&self, utc: &NaiveDateTime) -> FixedOffset {
        match self {
            JavaZone::Offset(offset) | JavaZone::Prefixed { offset, .. } => *offset,
            JavaZone::Region(tz) => tz.offset_from_utc_datetime(utc).fix(),
        }
    }

    /// The offset a local date-time has in the zone, as Java's ZonedDateTime.of picks it: in
    /// an overlap the earlier offset; in a gap the offset before it, which moves the time
    /// later by the gap's length.
    pub fn offset_of_local(&self, local: &NaiveDateTime) -> FixedOffset {
        let JavaZone::Region(tz) = self else {
            return self.offset_of_utc(local);
        };
        match tz.offset_from_local_datetime(local) {
            LocalResult::Single(offset) => offset.fix(),
            LocalResult::Ambiguous(earlier, _) => earlier.fix(),
            LocalResult::None => {
                let before = local
                    .checked_sub_signed(TimeDelta::days(1))
                    .unwrap_or(*local);
                tz.offset_from_utc_datetime(&before).fix()
            }
        }
    }

    /// The short name Java prints for `z`: the tz database's abbreviation (`PST`, `CEST`), or
    /// `GMT+04:00` where it has only a number; an offset zone prints its id.
    pub fn short_name(&self, utc: &NaiveDateTime) -> String {
        match self {
            JavaZone::Offset(offset) => offset_id(*offset),
            JavaZone::Prefixed { id, .. } => id.clone(),
            JavaZone::Region(tz) => {
                let offset = tz.offset_from_utc_datetime(utc);
                match offset.abbreviation() {
                    Some(name) if name.starts_with(|c: char| c.is_ascii_alphabetic()) => {
                        name.to_string()
                    }
                    _ => localized_offset(offset.fix(), true),
                }
            }
        }
    }
}

fn zero_offset() -> FixedOffset {
    FixedOffset::east_opt(0).expect("zero is an offset")
}

fn unknown_zone(id: &str) -> String {
    format!("Unknown time-zone ID: {id}")
}

/// Java's ZoneOffset.of: `Z`, `+h`, `+hh`, `+hh:mm`, `+hhmm`, `+hh:mm:ss`, `+hhmmss`.
fn offset_of_id(id: &str) -> Result<FixedOffset, String> {
    let invalid = || format!("Invalid ID for ZoneOffset, invalid format: {id}");
    if id == "Z" {
        return Ok(zero_offset());
    }
    let (sign, digits) = match id.split_at_checked(1) {
        Some(("+", rest)) => (1, rest),
        Some(("-", rest)) => (-1, rest),
        _ => return Err(invalid()),
    };
    // Only ASCII from here, so every slice below falls between characters.
    if !digits.is_ascii() {
        return Err(invalid());
    }
    let number = |text: &str| -> Result<i32, String> {
        match text.len() == 2 && text.bytes().all(|b| b.is_ascii_digit()) {
            true => text.parse().map_err(|_| invalid()),
            false => Err(invalid()),
        }
    };
    let (hours, minutes, seconds) = match digits.len() {
        1 if digits.as_bytes()[0].is_ascii_digit() => {
            (i32::from(digits.as_bytes()[0] - b'0'), 0, 0)
        }
        2 => (number(digits)?, 0, 0),
        4 => (number(&digits[..2])?, number(&digits[2..])?, 0),
        5 if &digits[2..3] == ":" => (number(&digits[..2])?, number(&digits[3..])?, 0),
        6 => (
            number(&digits[..2])?,
            number(&digits[2..4])?,
            number(&digits[4..])?,
        ),
        8 if &digits[2..3] == ":" && &digits[5..6] == ":" => (
            number(&digits[..2])?,
            number(&digits[3..5])?,
            number(&digits[6..])?,
        ),
        _ => return Err(invalid()),
    };
    offset_of_parts(sign, hours, minutes, seconds).ok_or_else(|| {
        format!("Zone offset not in valid range: {id} (offsets are -18:00 to +18:00)")
    })
}

/// An offset from its sign and parts, if Java allows it.
pub(super) fn offset_of_parts(
    sign: i32,
    hours: i32,
    minutes: i32,
    seconds: i32,
) -> Option<FixedOffset> {
    if hours > 18 || minutes > 59 || seconds > 59 {
        return None;
    }
    let total = sign * (hours * 3600 + minutes * 60 + seconds);
    if total.abs() > OFFSET_SECONDS_MAX {
        return None;
    }
    FixedOffset::east_opt(total)
}

/// Java's ZoneOffset id: `Z`, `+01:00`, `-08:00`, `+05:30:15`.
pub(super) fn offset_id(offset: FixedOffset) -> String {
    let total = offset.local_minus_utc();
    if total == 0 {
        return "Z".to_string();
    }
    let (hours, minutes, seconds) = offset_parts(total);
    let sign = if total < 0 { '-' } else { '+' };
    match seconds {
        0 => format!("{sign}{hours:02}:{minutes:02}"),
        _ => format!("{sign}{hours:02}:{minutes:02}:{seconds:02}"),
    }
}

/// Hours, minutes and seconds of an offset's absolute value.
pub(super) fn offset_parts(total_seconds: i32) -> (i32, i32, i32) {
    let absolute = total_seconds.abs();
    (absolute / 3600, absolute / 60 % 60, absolute % 60)
}

/// Java's localized offset: `GMT+1`, `GMT+1:30` (short) or `GMT+01:00` (full), `GMT` at zero.
pub(super) fn localized_offset(offset: FixedOffset, full: bool) -> String {
    let total = offset.local_minus_utc();
    if total == 0 {
        return "GMT".to_string();
    }
    let (hours, minutes, seconds) = offset_parts(total);
    let sign = if total < 0 { '-' } else { '+' };
    let mut text = match full {
        true => format!("GMT{sign}{hours:02}:{minutes:02}"),
        false if minutes == 0 && seconds == 0 => format!("GMT{sign}{hours}"),
        false => format!("GMT{sign}{hours}:{minutes:02}"),
    };
    if seconds != 0 {
        text.push_str(&format!(":{seconds:02}"));
    }
    text
}

/// Regions for the zone abbreviations Java's `z` reads, as its English names map them.
const ABBREVIATIONS: &[(&str, &str)] = &[
    ("AKDT", "America/Anchorage"),
    ("AKST", "America/Anchorage"),
    ("AEDT", "Australia/Sydney"),
    ("AEST", "Australia/Sydney"),
    ("BST", "Europe/London"),
    ("CDT", "America/Chicago"),
    ("CEST", "CET"),
    ("CET", "CET"),
    ("CST", "America/Chicago"),
    ("EDT", "America/New_York"),
    ("EEST", "EET"),
    ("EET", "EET"),
    ("EST", "America/New_York"),
    ("HST", "Pacific/Honolulu"),
    ("IST", "Asia/Kolkata"),
    ("JST", "Asia/Tokyo"),
    ("MDT", "America/Denver"),
    ("MSK", "Europe/Moscow"),
    ("MST", "America/Denver"),
    ("PDT", "America/Los_Angeles"),
    ("PST", "America/Los_Angeles"),
    ("WEST", "WET"),
    ("WET", "WET"),
];

/// A zone id at the start of `text` (`VV`), the longest that is one, and its length in bytes.
pub(super) fn read_zone_id(text: &str) -> Option<(JavaZone, usize)> {
    let run: usize = text
        .char_indices()
        .take(ZONE_ID_CHARS_MAX)
        .take_while(|(_, c)| c.is_ascii_alphanumeric() || "/_+-:.~".contains(*c))
        .map(|(_, c)| c.len_utf8())
        .sum();
    (1..=run)
        .rev()
        .find_map(|end| JavaZone::of(&text[..end]).ok().map(|zone| (zone, end)))
}

/// A zone name at the start of `text` (`z`): an abbreviation Java knows, else a zone id.
pub(super) fn read_zone_name(text: &str, case_insensitive: bool) -> Option<(JavaZone, usize)> {
    let letters = text
        .bytes()
        .take_while(|byte| byte.is_ascii_alphabetic())
        .count();
    let word = &text[..letters];
    let named = ABBREVIATIONS
        .iter()
        .find(|(name, _)| match case_insensitive {
            true => name.eq_ignore_ascii_case(word),
            false => *name == word,
        });
    if let Some((_, region)) = named
        && !text[letters..].starts_with(['/', '_'])
    {
        return JavaZone::of(region).ok().map(|zone| (zone, letters));
    }
    read_zone_id(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zone_ids_as_java_reads_them() {
        for (id, normalized) in [
            ("UTC", "UTC"),
            ("Z", "Z"),
            ("+01:00", "+01:00"),
            ("+1", "+01:00"),
            ("-0830", "-08:30"),
            ("+05:30:15", "+05:30:15"),
            ("GMT+1", "GMT+01:00"),
            ("UTC+00:00", "UTC"),
            ("America/Los_Angeles", "America/Los_Angeles"),
            ("Europe/London", "Europe/London"),
            ("EST", "EST"),
        ] {
            assert_eq!(
                JavaZone::of(id).map(|zone| zone.id()),
                Ok(normalized.into())
            );
        }
        for bad in [
            "PST",
            "utc",
            "Mars/Olympus",
            "+19:00",
            "+1:00",
            "",
            "UTC+x",
            "+1é0",
            "+1é:00",
        ] {
            assert!(JavaZone::of(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn gaps_move_later_and_overlaps_take_the_earlier_offset() {
        let zone = JavaZone::of("America/Los_Angeles").unwrap();
        let local = |text: &str| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M").unwrap();
        // 2024-03-10 02:30 does not exist there: read with the offset before the gap.
        assert_eq!(
            zone.offset_of_local(&local("2024-03-10 02:30"))
                .local_minus_utc(),
            -8 * 3600
        );
        // 2024-11-03 01:30 happens twice: the first, still daylight time.
        assert_eq!(
            zone.offset_of_local(&local("2024-11-03 01:30"))
                .local_minus_utc(),
            -7 * 3600
        );
        assert_eq!(zone.short_name(&local("2024-07-01 00:00")), "PDT");
        let dubai = JavaZone::of("Asia/Dubai").unwrap();
        assert_eq!(dubai.short_name(&local("2024-07-01 00:00")), "GMT+04:00");
    }
}
