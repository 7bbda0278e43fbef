//! SPLIT and SPLIT_TO_MAP with ksqlDB's meaning (ksqlDB's Split and SplitToMap UDFs);
//! DataFusion has neither.
//!
//! `SPLIT(s, delimiter)` cuts a string (or bytes) at each occurrence of a literal delimiter,
//! keeping the empty parts at either end and between adjacent delimiters; an empty delimiter
//! cuts between every character (or byte), and the empty string splits into ['']. A NULL
//! argument gives NULL. `SPLIT_TO_MAP(s, entry_delimiter, kv_delimiter)` reads `k=v` entries;
//! see `split_to_map`.
//!
//! Never: read a delimiter as a pattern: SPLIT(s, '.') cuts at dots.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, ListBuilder, MapBuilder, MapFieldNames, StringBuilder,
};
use arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::ScalarUDF;

use super::batch::{BatchFunction, bytes, list_of, text};
use super::text::one_of;
use crate::types::map_type;

/// SPLIT and SPLIT_TO_MAP.
pub(crate) fn split_functions() -> Vec<Arc<ScalarUDF>> {
    vec![
        BatchFunction::udf(
            "split",
            one_of(vec![
                vec![DataType::Utf8, DataType::Utf8],
                vec![DataType::Binary, DataType::Binary],
            ]),
            |types| match types.first() {
                Some(DataType::Binary) => Ok(list_of(DataType::Binary)),
                _ => Ok(list_of(DataType::Utf8)),
            },
            split,
        ),
        BatchFunction::udf(
            "split_to_map",
            one_of(vec![vec![DataType::Utf8; 3]]),
            |_| Ok(string_map()),
            split_to_map,
        ),
    ]
}

/// ksqlDB's MAP<STRING, STRING>, as Eddy's types hold it.
fn string_map() -> DataType {
    map_type(DataType::Utf8, DataType::Utf8)
}

fn split(args: &[ArrayRef]) -> Result<ArrayRef> {
    if args[0].data_type() == &DataType::Binary {
        return split_bytes(args);
    }
    let strings = text(&args[0])?;
    let strings = strings.as_string::<i32>();
    let delimiters = text(&args[1])?;
    let delimiters = delimiters.as_string::<i32>();
    let mut parts = ListBuilder::new(StringBuilder::new());
    for row in 0..strings.len() {
        if strings.is_null(row) || delimiters.is_null(row) {
            parts.append_null();
            continue;
        }
        let (string, delimiter) = (strings.value(row), delimiters.value(row));
        if string.is_empty() {
            parts.values().append_value("");
        } else if delimiter.is_empty() {
            for (start, character) in string.char_indices() {
                parts
                    .values()
                    .append_value(&string[start..start + character.len_utf8()]);
            }
        } else {
            for part in string.split(delimiter) {
                parts.values().append_value(part);
            }
        }
        parts.append(true);
    }
    Ok(Arc::new(parts.finish()))
}

fn split_bytes(args: &[ArrayRef]) -> Result<ArrayRef> {
    let values = bytes(&args[0])?;
    let values = values.as_binary::<i32>();
    let delimiters = bytes(&args[1])?;
    let delimiters = delimiters.as_binary::<i32>();
    let mut parts = ListBuilder::new(BinaryBuilder::new());
    for row in 0..values.len() {
        if values.is_null(row) || delimiters.is_null(row) {
            parts.append_null();
            continue;
        }
        let (value, delimiter) = (values.value(row), delimiters.value(row));
        if value.is_empty() {
            parts.values().append_value(b"");
        } else if delimiter.is_empty() {
            for byte in value.chunks(1) {
                parts.values().append_value(byte);
            }
        } else {
            let mut rest = value;
            while let Some(at) = rest
                .windows(delimiter.len())
                .position(|window| window == delimiter)
            {
                parts.values().append_value(&rest[..at]);
                rest = &rest[at + delimiter.len()..];
            }
            parts.values().append_value(rest);
        }
        parts.append(true);
    }
    Ok(Arc::new(parts.finish()))
}

/// SPLIT_TO_MAP: the input cut at `entry_delimiter` (empty entries skipped); each entry that
/// holds `kv_delimiter` gives the key before its first occurrence and the value up to the
/// next one ('a=b=c' is a: b); a later key wins. NULL if any argument is NULL, either
/// delimiter is empty, or the two are equal (ksqlDB's SplitToMap UDF). Keys keep the order
/// they first appear in (ksqlDB's map has none).
fn split_to_map(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [inputs, entry_delimiters, kv_delimiters] = [0, 1, 2].map(|index| text(&args[index]));
    let (inputs, entry_delimiters, kv_delimiters) = (inputs?, entry_delimiters?, kv_delimiters?);
    let inputs = inputs.as_string::<i32>();
    let entry_delimiters = entry_delimiters.as_string::<i32>();
    let kv_delimiters = kv_delimiters.as_string::<i32>();
    let field_names = MapFieldNames {
        entry: "entries".to_string(),
        key: "key".to_string(),
        value: "value".to_string(),
    };
    let mut maps = MapBuilder::new(
        Some(field_names),
        StringBuilder::new(),
        StringBuilder::new(),
    );
    let mut entries: Vec<(&str, &str)> = Vec::new();
    let mut index_of_key: HashMap<&str, usize> = HashMap::new();
    for row in 0..inputs.len() {
        let valid =
            inputs.is_valid(row) && entry_delimiters.is_valid(row) && kv_delimiters.is_valid(row);
        let (entry_delimiter, kv_delimiter) = match valid {
            true => (entry_delimiters.value(row), kv_delimiters.value(row)),
            false => ("", ""),
        };
        if entry_delimiter.is_empty() || kv_delimiter.is_empty() || entry_delimiter == kv_delimiter
        {
            maps.append(false)?;
            continue;
        }
        entries.clear();
        index_of_key.clear();
        for entry in inputs.value(row).split(entry_delimiter) {
            let mut parts = entry.split(kv_delimiter);
            let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
                continue;
            };
            match index_of_key.get(key) {
                Some(&index) => entries[index].1 = value,
                None => {
                    index_of_key.insert(key, entries.len());
                    entries.push((key, value));
                }
            }
        }
        for (key, value) in &entries {
            maps.keys().append_value(key);
            maps.values().append_value(value);
        }
        maps.append(true)?;
    }
    Ok(Arc::new(maps.finish()))
}

#[cfg(test)]
mod tests {
    use arrow::array::{ListArray, MapArray, StringArray};

    use super::*;

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn lists(array: &ArrayRef) -> Vec<Option<Vec<String>>> {
        let list: &ListArray = array.as_list::<i32>();
        list.iter()
            .map(|parts| {
                parts.map(|parts| {
                    parts
                        .as_string::<i32>()
                        .iter()
                        .map(|part| part.unwrap_or("NULL").to_string())
                        .collect()
                })
            })
            .collect()
    }

    fn owned(parts: &[&str]) -> Option<Vec<String>> {
        Some(parts.iter().map(|part| part.to_string()).collect())
    }

    /// ksqlDB's own test cases for SPLIT.
    #[test]
    fn split_keeps_empty_parts_and_cuts_characters_at_an_empty_delimiter() {
        let inputs = strings(&[
            Some("a.b.c"),
            Some(".abc."),
            Some("..a.."),
            Some("abc"),
            Some(""),
            None,
        ]);
        let dots = strings(&[Some("."); 6]);
        assert_eq!(
            lists(&split(&[inputs.clone(), dots]).expect("splits")),
            vec![
                owned(&["a", "b", "c"]),
                owned(&["", "abc", ""]),
                owned(&["", "", "a", "", ""]),
                owned(&["abc"]),
                owned(&[""]),
                None
            ]
        );
        let nothing = strings(&[Some(""); 6]);
        assert_eq!(
            lists(&split(&[inputs, nothing]).expect("splits"))[..5],
            [
                owned(&["a", ".", "b", ".", "c"]),
                owned(&[".", "a", "b", "c", "."]),
                owned(&[".", ".", "a", ".", "."]),
                owned(&["a", "b", "c"]),
                owned(&[""]),
            ]
        );
    }

    #[test]
    fn split_to_map_reads_entries_as_ksqldb_does() {
        let inputs = strings(&[
            Some("apple:green/banana:yellow/cherry:red"),
            Some("apple:green/banana:yellow/cherry:red"),
            Some("apple:green//banana:yellow//cherry:red/a:b:c/a:d"),
            Some("apple:green"),
            Some(""),
            Some("x"),
        ]);
        let entry = strings(&[Some("/"), Some("&&"), Some("/"), Some(""), Some("/"), None]);
        let kv = strings(&[Some(":"); 6]);
        let answer = split_to_map(&[inputs, entry, kv]).expect("splits");
        let maps: &MapArray = answer.as_map();
        let rendered: Vec<Option<String>> = (0..maps.len())
            .map(|row| {
                maps.is_valid(row).then(|| {
                    let entries = maps.value(row);
                    let keys = entries.column(0).as_string::<i32>();
                    let values = entries.column(1).as_string::<i32>();
                    (0..entries.len())
                        .map(|index| format!("{}={}", keys.value(index), values.value(index)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
            })
            .collect();
        let expected = [
            Some("apple=green,banana=yellow,cherry=red"),
            Some("apple=green/banana"),
            Some("apple=green,banana=yellow,cherry=red,a=d"),
            None,
            Some(""),
            None,
        ];
        assert_eq!(
            rendered,
            expected.map(|value| value.map(str::to_string)).to_vec()
        );
        assert_eq!(answer.data_type(), &string_map());
    }
}
