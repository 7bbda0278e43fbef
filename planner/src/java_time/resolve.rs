//! Resolving the fields read from a text into what a function returns, as Java's resolver
//! in its default SMART mode: each field within its range, a day past the month's end moved
//! to its last day, `h`/`K` with `a` into an hour, and a TIMESTAMP's missing fields taken
//! from 1970-01-01T00:00:00 as ksqlDB's StringToTimestampParser takes them.
//!
//! Never: accept fields that disagree (an `a` against its `H`, a day name against its date).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime};

use super::parse::{FIELD_COUNT, Fields};
use super::pattern::Field;

/// A field's valid values, as Java's ChronoField ranges.
fn range(field: Field) -> (i64, i64) {
    match field {
        Field::Year => (-999_999_999, 999_999_999),
        Field::YearOfEra => (1, 999_999_999),
        Field::MonthOfYear => (1, 12),
        Field::DayOfMonth => (1, 31),
        Field::DayOfYear => (1, 366),
        Field::DayOfWeek => (1, 7),
        Field::AmPmOfDay => (0, 1),
        Field::HourOfDay => (0, 23),
        Field::ClockHourOfDay => (1, 24),
        Field::HourOfAmPm => (0, 11),
        Field::ClockHourOfAmPm => (1, 12),
        Field::MinuteOfHour | Field::SecondOfMinute => (0, 59),
        Field::NanoOfSecond => (0, 999_999_999),
    }
}

const ALL_FIELDS: [Field; FIELD_COUNT] = [
    Field::Year,
    Field::YearOfEra,
    Field::MonthOfYear,
    Field::DayOfMonth,
    Field::DayOfYear,
    Field::DayOfWeek,
    Field::AmPmOfDay,
    Field::HourOfDay,
    Field::ClockHourOfDay,
    Field::HourOfAmPm,
    Field::ClockHourOfAmPm,
    Field::MinuteOfHour,
    Field::SecondOfMinute,
    Field::NanoOfSecond,
];

impl Fields {
    fn get(&self, field: Field) -> Option<i64> {
        self.values[field as usize]
    }

    pub(super) fn validate(&self) -> Result<(), String> {
        for field in ALL_FIELDS {
            let (low, high) = range(field);
            if let Some(value) = self.get(field)
                && !(low..=high).contains(&value)
            {
                return Err(format!(
                    "Invalid value for {field} (valid values {low} - {high}): {value}"
                ));
            }
        }
        Ok(())
    }

    pub(super) fn has_time_field(&self) -> bool {
        ALL_FIELDS
            .iter()
            .any(|field| !field.is_date() && self.get(*field).is_some())
    }

    /// The first date field, in the order Java lists them, that the text gave.
    pub(super) fn first_date_field(&self) -> Option<Field> {
        [
            Field::DayOfWeek,
            Field::DayOfMonth,
            Field::DayOfYear,
            Field::MonthOfYear,
            Field::YearOfEra,
            Field::Year,
        ]
        .into_iter()
        .find(|field| self.get(*field).is_some())
    }

    fn year(&self) -> Option<i64> {
        self.get(Field::Year).or(self.get(Field::YearOfEra))
    }

    /// The hour of the day the fields give, if any (`h`/`K` without `a` is in the morning).
    fn hour(&self) -> Result<Option<i64>, String> {
        let am_pm = self.get(Field::AmPmOfDay);
        let half_day_hour = self
            .get(Field::HourOfAmPm)
            .or(self.get(Field::ClockHourOfAmPm).map(|hour| hour % 12));
        let hour = self
            .get(Field::HourOfDay)
            .or(self.get(Field::ClockHourOfDay).map(|hour| hour % 24))
            .or(half_day_hour.map(|hour| hour + 12 * am_pm.unwrap_or(0)));
        if let (Some(hour), Some(am_pm)) = (hour, am_pm)
            && hour / 12 != am_pm
        {
            return Err(format!(
                "Conflict found: AmPmOfDay {am_pm} differs from AmPmOfDay {} derived from {hour}",
                hour / 12
            ));
        }
        Ok(hour)
    }

    /// The whole date the fields give (year with month and day, or with day of year), as
    /// Java's LocalDate.from; a day past the month's end is its last day (Java's SMART mode).
    pub(super) fn local_date(&self) -> Result<NaiveDate, String> {
        self.full_date()?
            .ok_or_else(|| "Unable to obtain LocalDate from the parsed fields".to_string())
    }

    /// The whole date, None when the fields are too few for one.
    fn full_date(&self) -> Result<Option<NaiveDate>, String> {
        let Some(year) = self.year() else {
            return Ok(None);
        };
        let date = match (
            self.get(Field::MonthOfYear),
            self.get(Field::DayOfMonth),
            self.get(Field::DayOfYear),
        ) {
            (Some(month), Some(day), _) => clamped_date(year, month, day)?,
            (None, None, Some(day_of_year)) => i32::try_from(year)
                .ok()
                .and_then(|year| NaiveDate::from_yo_opt(year, day_of_year as u32))
                .ok_or_else(|| {
                    format!("Invalid date 'DayOfYear {day_of_year}' in the year {year}")
                })?,
            _ => return Ok(None),
        };
        if let Some(day_of_week) = self.get(Field::DayOfWeek)
            && i64::from(date.weekday().number_from_monday()) != day_of_week
        {
            return Err(format!(
                "Conflict found: Field DayOfWeek {} differs from DayOfWeek {day_of_week} derived from {date}",
                date.weekday().number_from_monday()
            ));
        }
        Ok(Some(date))
    }

    /// The time of day the fields give, as Java's LocalTime.from: an hour at least, and no
    /// second without a minute.
    pub(super) fn local_time(&self) -> Result<NaiveTime, String> {
        let unobtainable = || "Unable to obtain LocalTime from the parsed fields".to_string();
        let hour = self.hour()?.ok_or_else(unobtainable)?;
        let (minute, second) = (
            self.get(Field::MinuteOfHour),
            self.get(Field::SecondOfMinute),
        );
        if minute.is_none() && (second.is_some() || self.get(Field::NanoOfSecond).is_some()) {
            return Err(unobtainable());
        }
        Ok(self.time_with(hour))
    }

    fn time_with(&self, hour: i64) -> NaiveTime {
        let part = |field| self.get(field).unwrap_or(0) as u32;
        NaiveTime::from_hms_nano_opt(
            hour as u32,
            part(Field::MinuteOfHour),
            part(Field::SecondOfMinute),
            part(Field::NanoOfSecond),
        )
        .unwrap_or_default()
    }

    /// The local date-time of a TIMESTAMP: what the text lacks is 1970-01-01T00:00:00, each
    /// field set on it as ksqlDB's StringToTimestampParser does.
    pub(super) fn timestamp(&self) -> Result<NaiveDateTime, String> {
        let date = match self.full_date()? {
            Some(date) => date,
            None => self.partial_date()?,
        };
        let time = self.time_with(self.hour()?.unwrap_or(0));
        Ok(date.and_time(time))
    }

    /// 1970-01-01 with the fields the text gave: day, day of year, month, then year, each
    /// clamped as Java's `with` clamps.
    fn partial_date(&self) -> Result<NaiveDate, String> {
        let mut year = 1970;
        let (mut month, mut day) = (1, 1);
        if let Some(given) = self.get(Field::DayOfMonth) {
            day = given;
        }
        if let Some(day_of_year) = self.get(Field::DayOfYear) {
            if day_of_year == 366 {
                year = self
                    .year()
                    .ok_or("Leap day cannot be parsed without supplying the year field")?;
            }
            let date = i32::try_from(year)
                .ok()
                .and_then(|year| NaiveDate::from_yo_opt(year, day_of_year as u32))
                .ok_or_else(|| format!("Invalid date 'DayOfYear {day_of_year}'"))?;
            (month, day) = (i64::from(date.month()), i64::from(date.day()));
        }
        if let Some(given) = self.get(Field::MonthOfYear) {
            month = given;
        }
        if let Some(given) = self.year() {
            year = given;
        }
        clamped_date(year, month, day)
    }
}

/// The date, with a day past the month's end moved to its last day; an error for a year
/// past chrono's range (about 262,000 years either side of year 0).
fn clamped_date(year: i64, month: i64, day: i64) -> Result<NaiveDate, String> {
    let out_of_range = || format!("the year {year} is out of the range of dates");
    let year = i32::try_from(year).map_err(|_| out_of_range())?;
    (1..=day.clamp(1, 31) as u32)
        .rev()
        .find_map(|day| NaiveDate::from_ymd_opt(year, month.clamp(1, 12) as u32, day))
        .ok_or_else(out_of_range)
}
