//! ksqlDB's masking functions: MASK, MASK_KEEP_LEFT, MASK_KEEP_RIGHT, MASK_LEFT and
//! MASK_RIGHT (ksqlDB's Mask, MaskKeepLeft, MaskKeepRight, MaskLeft and MaskRight UDFs, and
//! their Masker). DataFusion has none of them.
//!
//! A masked character becomes 'X' if it is an upper-case letter (Unicode category Lu), 'x'
//! if lower-case (Ll), 'n' if a decimal digit (Nd), '-' otherwise; the optional four
//! arguments replace these masks, NULL meaning "leave that kind as it is". Counts are
//! characters (code points); ksqlDB's Java counts UTF-16 units and masks a character beyond
//! U+FFFF twice, which differs only for such characters.
//!
//! Never: accept a mask of more or less than one character, or a negative or NULL count:
//! ksqlDB fails the call (the count is checked before a NULL input gives NULL).

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringArray, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;
use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use super::batch::{BatchFunction, Kernel, integers, text};
use super::text::one_of;

/// The five masking functions.
pub(crate) fn mask_functions() -> Vec<Arc<ScalarUDF>> {
    let utf8 = || DataType::Utf8;
    let masks = |mut leading: Vec<DataType>| {
        leading.extend([utf8(), utf8(), utf8(), utf8()]);
        leading
    };
    let counted = |name: &'static str, kernel: Kernel| {
        BatchFunction::udf(
            name,
            one_of(vec![
                vec![utf8(), DataType::Int64],
                masks(vec![utf8(), DataType::Int64]),
            ]),
            |_| Ok(DataType::Utf8),
            kernel,
        )
    };
    vec![
        BatchFunction::udf(
            "mask",
            one_of(vec![vec![utf8()], masks(vec![utf8()])]),
            |_| Ok(DataType::Utf8),
            |args| mask(args, Part::All, "mask"),
        ),
        counted("mask_keep_left", |args| {
            mask(args, Part::AllButFirst, "mask_keep_left")
        }),
        counted("mask_keep_right", |args| {
            mask(args, Part::AllButLast, "mask_keep_right")
        }),
        counted("mask_left", |args| mask(args, Part::First, "mask_left")),
        counted("mask_right", |args| mask(args, Part::Last, "mask_right")),
    ]
}

/// Which characters of the input are masked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    AllButFirst,
    AllButLast,
    First,
    Last,
}

/// One mask per kind of character; None leaves that kind as it is.
#[derive(Debug, Clone, Copy)]
struct Masker {
    upper: Option<char>,
    lower: Option<char>,
    digit: Option<char>,
    other: Option<char>,
}

impl Masker {
    const DEFAULT: Masker = Masker {
        upper: Some('X'),
        lower: Some('x'),
        digit: Some('n'),
        other: Some('-'),
    };

    fn mask(&self, character: char) -> char {
        let mask = match character.general_category() {
            GeneralCategory::UppercaseLetter => self.upper,
            GeneralCategory::LowercaseLetter => self.lower,
            GeneralCategory::DecimalNumber => self.digit,
            _ => self.other,
        };
        mask.unwrap_or(character)
    }
}

fn mask(args: &[ArrayRef], part: Part, name: &str) -> Result<ArrayRef> {
    let inputs = text(&args[0])?;
    let inputs = inputs.as_string::<i32>();
    let (counts, mask_arguments) = match part {
        Part::All => (None, &args[1..]),
        _ => (Some(integers(&args[1])?), &args[2..]),
    };
    let counts = counts
        .as_ref()
        .map(|counts| counts.as_primitive::<Int64Type>());
    let masks = mask_arguments
        .iter()
        .map(text)
        .collect::<Result<Vec<ArrayRef>>>()?;
    let masks: Vec<&StringArray> = masks.iter().map(|masks| masks.as_string::<i32>()).collect();
    let mut masked = StringBuilder::with_capacity(inputs.len(), inputs.value_data().len());
    for row in 0..inputs.len() {
        let count = match counts {
            Some(counts) if counts.is_null(row) => {
                return exec_err!("function {name} requires a number of characters, not NULL");
            }
            Some(counts) if counts.value(row) < 0 => {
                return exec_err!(
                    "function {name} requires a non-negative number of characters to mask or skip"
                );
            }
            Some(counts) => usize::try_from(counts.value(row)).unwrap_or(usize::MAX),
            None => 0,
        };
        let masker = match masks.as_slice() {
            [upper, lower, digit, other] => Masker {
                upper: mask_character(upper, row)?,
                lower: mask_character(lower, row)?,
                digit: mask_character(digit, row)?,
                other: mask_character(other, row)?,
            },
            _ => Masker::DEFAULT,
        };
        if inputs.is_null(row) {
            masked.append_null();
            continue;
        }
        let input = inputs.value(row);
        let chars = input.chars().count();
        let masked_range = match part {
            Part::All => 0..chars,
            Part::AllButFirst => count.min(chars)..chars,
            Part::AllButLast => 0..chars.saturating_sub(count),
            Part::First => 0..count.min(chars),
            Part::Last => chars.saturating_sub(count)..chars,
        };
        let characters = input.chars().enumerate().map(|(index, character)| {
            match masked_range.contains(&index) {
                true => masker.mask(character),
                false => character,
            }
        });
        masked.append_value(characters.collect::<String>());
    }
    Ok(Arc::new(masked.finish()))
}

/// A mask argument: NULL keeps that kind of character; otherwise exactly one character (one
/// UTF-16 unit, as ksqlDB's Masker requires).
fn mask_character(masks: &StringArray, row: usize) -> Result<Option<char>> {
    if masks.is_null(row) {
        return Ok(None);
    }
    let mask = masks.value(row);
    let mut characters = mask.chars();
    match (characters.next(), characters.next()) {
        (Some(character), None) if character.len_utf16() == 1 => Ok(Some(character)),
        _ => exec_err!("Invalid mask character. Must be only single character, but was '{mask}'"),
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::Int64Array;

    use super::*;

    fn call(name: &str, part: Part, args: Vec<ArrayRef>) -> Result<Vec<Option<String>>> {
        let answer = mask(&args, part, name)?;
        Ok(answer
            .as_string::<i32>()
            .iter()
            .map(|value| value.map(str::to_string))
            .collect())
    }

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn count(value: Option<i64>) -> ArrayRef {
        Arc::new(Int64Array::from(vec![value]))
    }

    fn one(value: &str) -> Vec<Option<String>> {
        vec![Some(value.to_string())]
    }

    /// ksqlDB's documented examples.
    #[test]
    fn masks_as_documented() {
        let input = || strings(&[Some("My Test $123")]);
        assert_eq!(
            call("mask", Part::All, vec![input()]).expect("masks"),
            one("Xx-Xxxx--nnn")
        );
        let custom = vec![
            input(),
            strings(&[Some("*")]),
            strings(&[None]),
            strings(&[Some("1")]),
            strings(&[None]),
        ];
        assert_eq!(
            call("mask", Part::All, custom).expect("masks"),
            one("*y *est $111")
        );
        let four = || vec![input(), count(Some(4))];
        let cases = [
            (Part::AllButFirst, "My Txxx--nnn"),
            (Part::AllButLast, "Xx-Xxxx-$123"),
            (Part::First, "Xx-Xest $123"),
            (Part::Last, "My Test -nnn"),
        ];
        for (part, expected) in cases {
            assert_eq!(call("m", part, four()).expect("masks"), one(expected));
        }
        let past_the_end = vec![input(), count(Some(40))];
        assert_eq!(
            call("m", Part::First, past_the_end).expect("masks"),
            one("Xx-Xxxx--nnn")
        );
    }

    #[test]
    fn a_bad_count_or_mask_is_an_error_even_for_a_null_input() {
        let null_input = || strings(&[None]);
        assert!(call("m", Part::First, vec![null_input(), count(Some(-1))]).is_err());
        assert!(call("m", Part::First, vec![null_input(), count(None)]).is_err());
        assert_eq!(
            call("m", Part::First, vec![null_input(), count(Some(1))]).expect("NULL"),
            vec![None]
        );
        let long_mask = vec![
            strings(&[Some("a")]),
            strings(&[Some("**")]),
            strings(&[None]),
            strings(&[None]),
            strings(&[None]),
        ];
        assert!(call("mask", Part::All, long_mask).is_err());
    }
}
