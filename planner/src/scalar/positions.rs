//! Positions in strings and argument lists with ksqlDB's meaning: INSTR, ELT and FIELD.
//!
//! All count from 1 and answer 0 (INSTR, FIELD) or NULL (ELT) for "not there". DataFusion's
//! INSTR (STRPOS) takes no position or occurrence and answers NULL for a NULL argument;
//! ksqlDB's answers 0. Positions count characters (code points), as SUBSTRING does here.
//!
//! Never: take a NULL where ksqlDB's Java takes a primitive `int` (INSTR's position and
//! occurrence, ELT's index) for a default: ksqlDB fails the call, so the row is an error.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Builder, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ScalarUDF, Signature, TypeSignature, Volatility};

use super::batch::{BatchFunction, integers, text};
use super::text::one_of;

/// INSTR, ELT and FIELD, to register over DataFusion's (INSTR) or beside them.
pub(crate) fn position_functions() -> Vec<Arc<ScalarUDF>> {
    let (utf8, int64) = (DataType::Utf8, DataType::Int64);
    vec![
        BatchFunction::udf(
            "instr",
            one_of(vec![
                vec![utf8.clone(), utf8.clone()],
                vec![utf8.clone(), utf8.clone(), int64.clone()],
                vec![utf8.clone(), utf8.clone(), int64.clone(), int64],
            ]),
            |_| Ok(DataType::Int32),
            instr,
        ),
        BatchFunction::with_coercion(
            "elt",
            Signature::user_defined(Volatility::Immutable),
            |_| Ok(DataType::Utf8),
            Some(|types| match types.len() {
                0 => exec_err!("elt takes an index and strings"),
                arguments => {
                    let mut types = vec![DataType::Utf8; arguments];
                    types[0] = DataType::Int64;
                    Ok(types)
                }
            }),
            elt,
        ),
        BatchFunction::udf(
            "field",
            Signature::one_of(
                vec![TypeSignature::Variadic(vec![DataType::Utf8])],
                Volatility::Immutable,
            ),
            |_| Ok(DataType::Int32),
            field,
        ),
    ]
}

/// INSTR(string, substring [, position [, occurrence]]): the position of the occurrence-th
/// (default first) match of `substring`, matches overlapping, searching from `position`
/// (default 1), or from the end backwards when it is negative; 0 when there is none, when
/// `|position|` is past the end, when position or occurrence is 0, or when the string or
/// substring is NULL (ksqlDB's Instr UDF). An empty substring is found where the search
/// starts.
fn instr(args: &[ArrayRef]) -> Result<ArrayRef> {
    let strings = text(&args[0])?;
    let strings = strings.as_string::<i32>();
    let substrings = text(&args[1])?;
    let substrings = substrings.as_string::<i32>();
    let positions = args.get(2).map(integers).transpose()?;
    let positions = positions
        .as_ref()
        .map(|array| array.as_primitive::<Int64Type>());
    let occurrences = args.get(3).map(integers).transpose()?;
    let occurrences = occurrences
        .as_ref()
        .map(|array| array.as_primitive::<Int64Type>());
    let mut found = Int32Builder::with_capacity(strings.len());
    for row in 0..strings.len() {
        let position = match positions {
            Some(positions) if positions.is_null(row) => {
                return exec_err!("instr's position is NULL; ksqlDB's Instr takes a number");
            }
            Some(positions) => positions.value(row),
            None => 1,
        };
        let occurrence = match occurrences {
            Some(occurrences) if occurrences.is_null(row) => {
                return exec_err!("instr's occurrence is NULL; ksqlDB's Instr takes a number");
            }
            Some(occurrences) => occurrences.value(row),
            None => 1,
        };
        if strings.is_null(row) || substrings.is_null(row) {
            found.append_value(0);
            continue;
        }
        let position = find(
            strings.value(row),
            substrings.value(row),
            position,
            occurrence,
        );
        found.append_value(i32::try_from(position).unwrap_or(0));
    }
    Ok(Arc::new(found.finish()))
}

/// INSTR for one row: the 1-based character position, or 0.
fn find(string: &str, substring: &str, position: i64, occurrence: i64) -> usize {
    let chars = string.chars().count();
    if position.unsigned_abs() > chars as u64 || position == 0 || occurrence <= 0 {
        return 0;
    }
    let byte_of = |char_index: usize| {
        string
            .char_indices()
            .nth(char_index)
            .map_or(string.len(), |(byte, _)| byte)
    };
    let char_of = |byte: usize| string[..byte].chars().count();
    if position > 0 {
        let start = byte_of(position as usize - 1);
        if substring.is_empty() {
            return position as usize;
        }
        let first_char_bytes = substring.chars().next().map_or(1, char::len_utf8);
        let mut from = start;
        for seen in 1.. {
            let Some(at) = string[from..].find(substring) else {
                return 0;
            };
            if seen == occurrence {
                return char_of(from + at) + 1;
            }
            from += at + first_char_bytes;
        }
        0
    } else {
        // Backwards: matches that end at most |position| - 1 characters before the end,
        // the last first; each next one ends at least a character before the one found.
        let back = position.unsigned_abs() as usize;
        if substring.is_empty() {
            return chars - back + 2;
        }
        let last_char_bytes = substring.chars().next_back().map_or(1, char::len_utf8);
        let mut end = byte_of(chars - back + 1);
        for seen in 1.. {
            let Some(at) = string[..end].rfind(substring) else {
                return 0;
            };
            if seen == occurrence {
                return char_of(at) + 1;
            }
            end = at + substring.len() - last_char_bytes;
        }
        0
    }
}

/// ELT(n, strings..): the n-th string, NULL when n is below 1 or past the last (ksqlDB's
/// Elt UDF).
fn elt(args: &[ArrayRef]) -> Result<ArrayRef> {
    let indexes = integers(&args[0])?;
    let indexes = indexes.as_primitive::<Int64Type>();
    let strings = args[1..].iter().map(text).collect::<Result<Vec<_>>>()?;
    let mut chosen = StringBuilder::with_capacity(indexes.len(), 0);
    for row in 0..indexes.len() {
        if indexes.is_null(row) {
            return exec_err!("elt's index is NULL; ksqlDB's Elt takes a number");
        }
        let index = indexes.value(row);
        let string = usize::try_from(index)
            .ok()
            .and_then(|index| strings.get(index.checked_sub(1)?))
            .map(|strings| strings.as_string::<i32>())
            .filter(|strings| strings.is_valid(row))
            .map(|strings| strings.value(row));
        chosen.append_option(string);
    }
    Ok(Arc::new(chosen.finish()))
}

/// FIELD(s, strings..): the position of the first string equal to `s`, 0 when none is or
/// `s` is NULL (NULL equals nothing; ksqlDB's Field UDF).
fn field(args: &[ArrayRef]) -> Result<ArrayRef> {
    let strings = args.iter().map(text).collect::<Result<Vec<_>>>()?;
    let needles = strings[0].as_string::<i32>();
    let mut positions = Int32Builder::with_capacity(needles.len());
    for row in 0..needles.len() {
        let position = needles.is_valid(row).then(|| {
            let needle = needles.value(row);
            strings[1..].iter().position(|candidates| {
                let candidates = candidates.as_string::<i32>();
                candidates.is_valid(row) && candidates.value(row) == needle
            })
        });
        let position = position.flatten().map_or(0, |index| index + 1);
        positions.append_value(i32::try_from(position).unwrap_or(0));
    }
    Ok(Arc::new(positions.finish()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// ksqlDB's documented examples, then the edges of its rule.
    #[test]
    fn instr_searches_forwards_backwards_and_overlapping() {
        let floor = "CORPORATE FLOOR";
        assert_eq!(find(floor, "OR", 1, 1), 2);
        assert_eq!(find(floor, "OR", 3, 1), 5);
        assert_eq!(find(floor, "OR", 3, 2), 14);
        assert_eq!(find(floor, "OR", -3, 1), 5);
        assert_eq!(find(floor, "OR", -3, 2), 2);
        assert_eq!(find(floor, "MISSING", 1, 1), 0);
        assert_eq!(find("corporate floor", "or", 4, 2), 14);
        assert_eq!(find("corporate floor", "or", -4, 2), 2);
        assert_eq!(find("aaa", "aa", 1, 2), 2);
        assert_eq!(find("aaa", "aa", -1, 2), 1);
        assert_eq!(find("abc", "", 2, 1), 2);
        assert_eq!(find("abc", "", -1, 1), 4);
        assert_eq!(find("abc", "a", 0, 1), 0);
        assert_eq!(find("abc", "a", 4, 1), 0);
        assert_eq!(find("abc", "a", 1, 0), 0);
        assert_eq!(find("héhé", "é", 3, 1), 4);
        assert_eq!(find("héhé", "é", -2, 1), 2);
    }

    #[test]
    fn elt_and_field_are_complements() {
        let strings: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![
            Some("hello"),
            None,
            Some("world"),
        ]));
        let others: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![
            Some("world"),
            Some("hello"),
            Some("hello"),
        ]));
        let needle: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![Some("hello"); 3]));
        let positions = field(&[needle, strings.clone(), others.clone()]).expect("finds");
        let positions: Vec<Option<i32>> = positions
            .as_primitive::<arrow::datatypes::Int32Type>()
            .iter()
            .collect();
        assert_eq!(positions, vec![Some(1), Some(2), Some(2)]);
        let indexes: ArrayRef = Arc::new(arrow::array::Int64Array::from(vec![1, 0, 1]));
        let chosen = elt(&[indexes, strings, others]).expect("chooses");
        let chosen: Vec<Option<&str>> = chosen.as_string::<i32>().iter().collect();
        assert_eq!(chosen, vec![Some("hello"), None, Some("world")]);
    }
}
