//! A Java DateTimeFormatter pattern compiled into tokens, letter by letter as
//! `DateTimeFormatterBuilder.appendPattern` reads it: the count of a letter picks width and
//! style, `'..'` is literal text and `''` a quote, `[..]` an optional section, and any other
//! character outside the ASCII letters is itself.
//!
//! Never: accept a letter that is not implemented; the error names it.

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Token {
    Literal(String),
    /// A number: `min` to `max` digits, padded to `min` when printed.
    Number {
        field: Field,
        min: usize,
        max: usize,
        sign: Sign,
    },
    /// `yy`/`uu`: the last two digits of a year from 2000 to 2099.
    TwoDigitYear {
        field: Field,
    },
    /// `S..S`: the first `digits` digits of the fraction of the second.
    Fraction {
        digits: usize,
    },
    Text {
        field: Field,
        width: TextWidth,
    },
    Zone(ZoneStyle),
    Optional(Vec<Token>),
}

/// The fields a pattern reads or prints, named as Java names them in its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Year,
    YearOfEra,
    MonthOfYear,
    DayOfMonth,
    DayOfYear,
    DayOfWeek,
    AmPmOfDay,
    HourOfDay,
    ClockHourOfDay,
    HourOfAmPm,
    ClockHourOfAmPm,
    MinuteOfHour,
    SecondOfMinute,
    NanoOfSecond,
}

impl Field {
    pub(super) fn is_date(self) -> bool {
        matches!(
            self,
            Field::Year
                | Field::YearOfEra
                | Field::MonthOfYear
                | Field::DayOfMonth
                | Field::DayOfYear
                | Field::DayOfWeek
        )
    }
}

impl std::fmt::Display for Field {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self, formatter)
    }
}

/// How a number shows its sign (Java's SignStyle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Sign {
    /// `-` for negatives only.
    Normal,
    /// `-` for negatives, `+` for a value wider than the minimum width.
    ExceedsPad,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TextWidth {
    Short,
    Full,
    Narrow,
}

/// The ways a pattern prints a zone or offset.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ZoneStyle {
    /// `VV`: the zone id, `America/Los_Angeles` or `+01:00`.
    Id,
    /// `z`..`zzz`: the zone's short name, `PST`.
    ShortName,
    /// `O`: `GMT+1`, `GMT+1:30`, `GMT` at zero.
    LocalizedShort,
    /// `OOOO`, `ZZZZ`: `GMT+01:00`, `GMT` at zero.
    LocalizedFull,
    /// `X`, `x`, `Z`: `+01`, `+0100`, `+01:00`, ...; `zero` at offset zero.
    Offset(OffsetStyle),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) struct OffsetStyle {
    pub(super) colon: bool,
    pub(super) minutes: Need,
    pub(super) seconds: Need,
    pub(super) zero: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Need {
    Never,
    IfNonZero,
    Always,
}

/// Compiles a whole pattern.
pub(super) fn compile(java_pattern: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = java_pattern.chars().collect();
    let mut index = 0;
    let tokens = compile_section(&chars, &mut index, 0)?;
    if index < chars.len() {
        return Err(format!(
            "pattern '{java_pattern}' closes an optional section ']' it never opened"
        ));
    }
    Ok(tokens)
}

/// Tokens up to the end of the pattern or the `]` closing this section.
fn compile_section(chars: &[char], index: &mut usize, depth: usize) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    while *index < chars.len() {
        let letter = chars[*index];
        match letter {
            '\'' => {
                let text = quoted(chars, index)?;
                push_literal(&mut tokens, &text);
                continue;
            }
            '[' => {
                *index += 1;
                let section = compile_section(chars, index, depth + 1)?;
                if *index >= chars.len() {
                    return Err("optional section '[' is never closed with ']'".to_string());
                }
                *index += 1;
                tokens.push(Token::Optional(section));
                continue;
            }
            ']' if depth > 0 => return Ok(tokens),
            ']' => return Err("']' closes no optional section".to_string()),
            '{' | '}' | '#' => {
                return Err(format!(
                    "pattern character '{letter}' is reserved by Java's DateTimeFormatter"
                ));
            }
            _ => {}
        }
        let mut count = 1;
        while *index + count < chars.len() && chars[*index + count] == letter {
            count += 1;
        }
        *index += count;
        if letter.is_ascii_alphabetic() {
            tokens.push(letter_token(letter, count)?);
        } else {
            push_literal(&mut tokens, &letter.to_string().repeat(count));
        }
    }
    Ok(tokens)
}

/// The text of a quote starting at `index` (`''` alone is one quote), moving past it.
fn quoted(chars: &[char], index: &mut usize) -> Result<String, String> {
    *index += 1;
    if chars.get(*index) == Some(&'\'') {
        *index += 1;
        return Ok("'".to_string());
    }
    let mut text = String::new();
    loop {
        match chars.get(*index) {
            None => return Err("a quote ' is never closed in the pattern".to_string()),
            Some('\'') if chars.get(*index + 1) == Some(&'\'') => {
                text.push('\'');
                *index += 2;
            }
            Some('\'') => {
                *index += 1;
                return Ok(text);
            }
            Some(character) => {
                text.push(*character);
                *index += 1;
            }
        }
    }
}

fn push_literal(tokens: &mut Vec<Token>, text: &str) {
    if let Some(Token::Literal(previous)) = tokens.last_mut() {
        previous.push_str(text);
    } else {
        tokens.push(Token::Literal(text.to_string()));
    }
}

fn too_many(letter: char) -> String {
    format!("Too many pattern letters: {letter}")
}

/// The token of `count` repeats of a pattern letter.
fn letter_token(letter: char, count: usize) -> Result<Token, String> {
    let number = |field, count: usize| match count {
        1 => Ok(Token::Number {
            field,
            min: 1,
            max: 19,
            sign: Sign::Normal,
        }),
        2 => Ok(Token::Number {
            field,
            min: 2,
            max: 2,
            sign: Sign::Normal,
        }),
        _ => Err(too_many(letter)),
    };
    let text = |field, count: usize| {
        let width = match count {
            1..=3 => TextWidth::Short,
            4 => TextWidth::Full,
            5 => TextWidth::Narrow,
            _ => return Err(too_many(letter)),
        };
        Ok(Token::Text { field, width })
    };
    match letter {
        'y' | 'u' => {
            let field = match letter {
                'y' => Field::YearOfEra,
                _ => Field::Year,
            };
            Ok(match count {
                2 => Token::TwoDigitYear { field },
                1 | 3 => Token::Number {
                    field,
                    min: count,
                    max: 19,
                    sign: Sign::Normal,
                },
                _ => Token::Number {
                    field,
                    min: count,
                    max: 19,
                    sign: Sign::ExceedsPad,
                },
            })
        }
        'M' | 'L' => match count {
            1 | 2 => number(Field::MonthOfYear, count),
            _ => text(Field::MonthOfYear, count),
        },
        'd' => number(Field::DayOfMonth, count),
        'D' => match count {
            1..=3 => Ok(Token::Number {
                field: Field::DayOfYear,
                min: count,
                max: if count == 1 { 19 } else { 3 },
                sign: Sign::Normal,
            }),
            _ => Err(too_many(letter)),
        },
        'E' => text(Field::DayOfWeek, count),
        'a' => match count {
            1 => Ok(Token::Text {
                field: Field::AmPmOfDay,
                width: TextWidth::Short,
            }),
            _ => Err(too_many(letter)),
        },
        'H' => number(Field::HourOfDay, count),
        'k' => number(Field::ClockHourOfDay, count),
        'K' => number(Field::HourOfAmPm, count),
        'h' => number(Field::ClockHourOfAmPm, count),
        'm' => number(Field::MinuteOfHour, count),
        's' => number(Field::SecondOfMinute, count),
        'S' => match count {
            1..=9 => Ok(Token::Fraction { digits: count }),
            _ => Err(format!(
                "a fraction 'S' has 1 to 9 digits, not {count} (nanoseconds are the finest)"
            )),
        },
        'n' => Ok(Token::Number {
            field: Field::NanoOfSecond,
            min: count,
            max: 19.max(count),
            sign: Sign::Normal,
        }),
        'V' => match count {
            2 => Ok(Token::Zone(ZoneStyle::Id)),
            _ => Err("Pattern letter count must be 2: V".to_string()),
        },
        'z' => match count {
            1..=3 => Ok(Token::Zone(ZoneStyle::ShortName)),
            4 => Err(
                "pattern letters 'zzzz' (full zone names such as Pacific Standard Time) \
                      are not supported; use 'z', 'VV' or an offset ('XXX', 'ZZZZ')"
                    .to_string(),
            ),
            _ => Err(too_many(letter)),
        },
        'O' => match count {
            1 => Ok(Token::Zone(ZoneStyle::LocalizedShort)),
            4 => Ok(Token::Zone(ZoneStyle::LocalizedFull)),
            _ => Err("Pattern letter count must be 1 or 4: O".to_string()),
        },
        'X' | 'x' => offset_token(letter, count),
        'Z' => match count {
            1..=3 => Ok(offset(false, Need::Always, Need::Never, "+0000")),
            4 => Ok(Token::Zone(ZoneStyle::LocalizedFull)),
            5 => Ok(offset(true, Need::Always, Need::IfNonZero, "Z")),
            _ => Err(too_many(letter)),
        },
        _ => Err(format!(
            "pattern letter '{letter}' is not supported (supported: y u M L d D E a H k K h m s S n \
             VV z O X x Z, quoted text, '' and [optional] sections)"
        )),
    }
}

fn offset(colon: bool, minutes: Need, seconds: Need, zero: &'static str) -> Token {
    Token::Zone(ZoneStyle::Offset(OffsetStyle {
        colon,
        minutes,
        seconds,
        zero,
    }))
}

/// `X` prints `Z` at offset zero, `x` the zero offset in its own form.
fn offset_token(letter: char, count: usize) -> Result<Token, String> {
    let z = letter == 'X';
    let pick = |with_z: &'static str, without: &'static str| if z { with_z } else { without };
    Ok(match count {
        1 => offset(false, Need::IfNonZero, Need::Never, pick("Z", "+00")),
        2 => offset(false, Need::Always, Need::Never, pick("Z", "+0000")),
        3 => offset(true, Need::Always, Need::Never, pick("Z", "+00:00")),
        4 => offset(false, Need::Always, Need::IfNonZero, pick("Z", "+0000")),
        5 => offset(true, Need::Always, Need::IfNonZero, pick("Z", "+00:00")),
        _ => return Err(too_many(letter)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_two_quotes_are_literal_text() {
        assert_eq!(
            compile("''HH'h' 'o''clock'").unwrap(),
            vec![
                Token::Literal("'".into()),
                Token::Number {
                    field: Field::HourOfDay,
                    min: 2,
                    max: 2,
                    sign: Sign::Normal
                },
                Token::Literal("h o'clock".into()),
            ]
        );
        assert!(compile("HH 'open").unwrap_err().contains("never closed"));
    }

    #[test]
    fn unsupported_letters_and_counts_are_named() {
        for (pattern, named) in [
            ("yyyy-QQ", "'Q'"),
            ("G yyyy", "'G'"),
            ("YYYY", "'Y'"),
            ("ww", "'w'"),
            ("HHH", "H"),
            ("aa", "a"),
            ("zzzz", "zzzz"),
            ("V", "V"),
            ("SSSSSSSSSS", "'S'"),
            ("yyyy]", "']'"),
            ("[yyyy", "'['"),
            ("#", "'#'"),
        ] {
            let error = compile(pattern).expect_err(pattern);
            assert!(error.contains(named), "{pattern}: {error}");
        }
    }
}
