//! ksqlDB's regular-expression functions: REGEXP_EXTRACT, REGEXP_EXTRACT_ALL,
//! REGEXP_REPLACE and REGEXP_SPLIT_TO_ARRAY, with Java's pattern syntax as far as
//! `java_regex` reads it. Note ksqlDB's argument order: the pattern comes first in the
//! EXTRACT functions and second in the others.
//!
//! REGEXP_REPLACE replaces DataFusion's, which replaces only the first match unless given
//! the 'g' flag and reads `\1` for a group; ksqlDB's replaces every match and reads `$1`.
//! DataFusion's four-argument form (with flags), which ksqlDB lacks, keeps its meaning.
//!
//! Never: compile a pattern per row: a pattern equal to the previous row's is reused, so a
//! constant compiles once a batch.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, ListBuilder, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::ScalarUDF;
use regex::Regex;

use super::batch::{BatchFunction, delegate, integers, list_of, text};
use super::java_regex::{PatternCache, Replacement, java_matches};
use super::text::one_of;

/// The four REGEXP_ functions.
pub(crate) fn regex_functions() -> Vec<Arc<ScalarUDF>> {
    let utf8 = || DataType::Utf8;
    let extract_forms = || {
        one_of(vec![
            vec![utf8(), utf8()],
            vec![utf8(), utf8(), DataType::Int64],
        ])
    };
    vec![
        BatchFunction::udf(
            "regexp_extract",
            extract_forms(),
            |_| Ok(DataType::Utf8),
            |args| extract(args, false),
        ),
        BatchFunction::udf(
            "regexp_extract_all",
            extract_forms(),
            |_| Ok(list_of(DataType::Utf8)),
            |args| extract(args, true),
        ),
        BatchFunction::udf(
            "regexp_replace",
            one_of(vec![vec![utf8(); 3], vec![utf8(); 4]]),
            |_| Ok(DataType::Utf8),
            replace,
        ),
        BatchFunction::udf(
            "regexp_split_to_array",
            one_of(vec![vec![utf8(), utf8()]]),
            |_| Ok(list_of(DataType::Utf8)),
            split_to_array,
        ),
    ]
}

/// REGEXP_EXTRACT(pattern, s [, group]): the group (default 0, the whole match) of the
/// first match; NULL for a NULL argument, no match, a group past the pattern's last or one
/// that took no part in the match; a negative group is an error when there is a match
/// (ksqlDB's RegexpExtract UDF). REGEXP_EXTRACT_ALL: that group of every match, [] for none
/// (ksqlDB's RegexpExtractAll UDF).
fn extract(args: &[ArrayRef], all: bool) -> Result<ArrayRef> {
    let patterns = text(&args[0])?;
    let patterns = patterns.as_string::<i32>();
    let inputs = text(&args[1])?;
    let inputs = inputs.as_string::<i32>();
    let groups: ArrayRef = match args.get(2) {
        Some(groups) => integers(groups)?,
        None => Arc::new(Int64Array::from(vec![0; inputs.len()])),
    };
    let groups = groups.as_primitive::<Int64Type>();
    let mut cache = PatternCache::default();
    let mut first = StringBuilder::new();
    let mut every = ListBuilder::new(StringBuilder::new());
    for row in 0..inputs.len() {
        if patterns.is_null(row) || inputs.is_null(row) || groups.is_null(row) {
            first.append_null();
            every.append_null();
            continue;
        }
        let regex = cache.get(patterns.value(row))?;
        let group = groups.value(row);
        if group > (regex.captures_len() - 1) as i64 {
            first.append_null();
            every.append_null();
            continue;
        }
        let input = inputs.value(row);
        let mut matches = java_matches(&regex, input).peekable();
        if group < 0 && matches.peek().is_some() {
            return exec_err!("No group {group}");
        }
        let group = group as usize;
        if all {
            for captures in matches {
                every
                    .values()
                    .append_option(captures.get(group).map(|found| found.as_str()));
            }
            every.append(true);
        } else {
            let found = matches.next().and_then(|captures| captures.get(group));
            first.append_option(found.map(|found| found.as_str()));
        }
    }
    Ok(match all {
        true => Arc::new(every.finish()),
        false => Arc::new(first.finish()),
    })
}

/// REGEXP_REPLACE(s, pattern, replacement): every match replaced, `$n` and `${name}` in the
/// replacement standing for groups and `\` quoting the next character; NULL for a NULL
/// argument (ksqlDB's RegexpReplace UDF, Java's `String.replaceAll`).
fn replace(args: &[ArrayRef]) -> Result<ArrayRef> {
    if args.len() == 4 {
        let regexp_replace = datafusion::functions::regex::regexp_replace();
        return delegate(&regexp_replace, args, DataType::Utf8);
    }
    let [inputs, patterns, replacements] = [0, 1, 2].map(|index| text(&args[index]));
    let (inputs, patterns, replacements) = (inputs?, patterns?, replacements?);
    let inputs = inputs.as_string::<i32>();
    let patterns = patterns.as_string::<i32>();
    let replacements = replacements.as_string::<i32>();
    let mut cache = PatternCache::default();
    let mut last_replacement: Option<(Arc<Regex>, String, Replacement)> = None;
    let mut replaced = StringBuilder::with_capacity(inputs.len(), inputs.value_data().len());
    let mut out = String::new();
    for row in 0..inputs.len() {
        if inputs.is_null(row) || patterns.is_null(row) || replacements.is_null(row) {
            replaced.append_null();
            continue;
        }
        let regex = cache.get(patterns.value(row))?;
        let replacement_text = replacements.value(row);
        let reusable = last_replacement
            .as_ref()
            .is_some_and(|(last_regex, text, _)| {
                Arc::ptr_eq(last_regex, &regex) && text == replacement_text
            });
        if !reusable {
            let parsed = Replacement::parse(replacement_text, &regex);
            last_replacement = Some((regex.clone(), replacement_text.to_string(), parsed));
        }
        let Some((_, _, replacement)) = &last_replacement else {
            return exec_err!("regexp_replace lost its replacement");
        };
        let input = inputs.value(row);
        out.clear();
        let mut copied_to = 0;
        for captures in java_matches(&regex, input) {
            let Some(whole) = captures.get(0) else {
                continue;
            };
            out.push_str(&input[copied_to..whole.start()]);
            replacement.append(&captures, &mut out)?;
            copied_to = whole.end();
        }
        out.push_str(&input[copied_to..]);
        replaced.append_value(&out);
    }
    Ok(Arc::new(replaced.finish()))
}

/// REGEXP_SPLIT_TO_ARRAY(s, pattern): `s` cut at each match, empty parts kept; NULL for a
/// NULL argument. A pattern that matches the empty string cuts as Java's `Pattern.split`
/// does instead: no empty part at the start for an empty match there, none at the end
/// (ksqlDB's RegexpSplitToArray UDF, which uses Guava's splitter otherwise).
fn split_to_array(args: &[ArrayRef]) -> Result<ArrayRef> {
    let inputs = text(&args[0])?;
    let inputs = inputs.as_string::<i32>();
    let patterns = text(&args[1])?;
    let patterns = patterns.as_string::<i32>();
    let mut cache = PatternCache::default();
    let mut parts = ListBuilder::new(StringBuilder::new());
    for row in 0..inputs.len() {
        if inputs.is_null(row) || patterns.is_null(row) {
            parts.append_null();
            continue;
        }
        let regex = cache.get(patterns.value(row))?;
        let input = inputs.value(row);
        let pieces = match regex.is_match("") {
            true => java_split(&regex, input),
            false => guava_split(&regex, input),
        };
        for piece in pieces {
            parts.values().append_value(piece);
        }
        parts.append(true);
    }
    Ok(Arc::new(parts.finish()))
}

/// Java's `Pattern.split(input)`.
fn java_split<'h>(regex: &Regex, input: &'h str) -> Vec<&'h str> {
    let mut pieces = Vec::new();
    let mut index = 0;
    for captures in java_matches(regex, input) {
        let Some(whole) = captures.get(0) else {
            continue;
        };
        if index == 0 && whole.start() == 0 && whole.end() == 0 {
            continue;
        }
        pieces.push(&input[index..whole.start()]);
        index = whole.end();
    }
    if index == 0 {
        return vec![input];
    }
    pieces.push(&input[index..]);
    while pieces.last().is_some_and(|piece| piece.is_empty()) {
        pieces.pop();
    }
    pieces
}

/// Guava's `Splitter.on(pattern).splitToList(input)`: every part kept; an empty match at
/// the start of a part is passed over.
fn guava_split<'h>(regex: &Regex, input: &'h str) -> Vec<&'h str> {
    let mut pieces = Vec::new();
    let mut offset = Some(0);
    while let Some(piece_start) = offset {
        loop {
            let Some(from) = offset else {
                return pieces;
            };
            let end = match regex.find_at(input, from) {
                Some(found) => {
                    offset = Some(found.end());
                    found.start()
                }
                None => {
                    offset = None;
                    input.len()
                }
            };
            if offset == Some(piece_start) {
                let width = input[piece_start..]
                    .chars()
                    .next()
                    .map_or(1, char::len_utf8);
                offset = Some(piece_start + width).filter(|next| *next <= input.len());
                continue;
            }
            pieces.push(&input[piece_start..end]);
            break;
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use arrow::array::StringArray;

    use super::*;
    use crate::scalar::java_regex::compile;

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn split(pattern: &str, input: &str) -> Vec<String> {
        let regex = compile(pattern).expect("compiles");
        let pieces = match regex.is_match("") {
            true => java_split(&regex, input),
            false => guava_split(&regex, input),
        };
        pieces.into_iter().map(str::to_string).collect()
    }

    #[test]
    fn splits_as_ksqldb_does() {
        assert_eq!(split("(ab|cd)", "aabcda"), ["a", "", "a"]);
        assert_eq!(split("(ab|cd)", "aabdcda"), ["a", "d", "a"]);
        assert_eq!(split("(ab|cd)", "zxy"), ["zxy"]);
        assert_eq!(split(",", ",a,,"), ["", "a", "", ""]);
        assert_eq!(split("", "abc"), ["a", "b", "c"]);
        assert_eq!(split("", ""), [""]);
        assert_eq!(split("a*", "baaac"), ["b", "", "c"]);
        assert_eq!(split("\\b", "ab cd"), ["ab", " ", "cd"]);
    }

    #[test]
    fn replaces_every_match_with_java_group_references() {
        let answer = replace(&[
            strings(&[Some("baababaa"), Some("baabbabaa"), Some("baaac"), None]),
            strings(&[Some("(ab)+"), Some("(ab)+"), Some("a*"), Some("x")]),
            strings(&[Some("cat"), Some("<$1>"), Some("-"), Some("y")]),
        ])
        .expect("replaces");
        let answer: Vec<Option<&str>> = answer.as_string::<i32>().iter().collect();
        assert_eq!(
            answer,
            [Some("bacataa"), Some("ba<ab>b<ab>aa"), Some("-b--c-"), None]
        );
    }

    #[test]
    fn extracts_groups_as_documented() {
        let answer = extract(
            &[
                strings(&[
                    Some("(.*) (.*)"),
                    Some("(.*) (.*)"),
                    Some("x"),
                    Some("(a)|b"),
                ]),
                strings(&[Some("hello there"); 4]),
                Arc::new(Int64Array::from(vec![2, 3, 0, 1])) as ArrayRef,
            ],
            false,
        )
        .expect("extracts");
        let answer: Vec<Option<&str>> = answer.as_string::<i32>().iter().collect();
        assert_eq!(answer, [Some("there"), None, None, None]);
        let all = extract(
            &[
                strings(&[Some("(\\w+) (\\w+)")]),
                strings(&[Some("hello there nice day")]),
                Arc::new(Int64Array::from(vec![2])) as ArrayRef,
            ],
            true,
        )
        .expect("extracts");
        let all = all.as_list::<i32>().value(0);
        let all: Vec<Option<&str>> = all.as_string::<i32>().iter().collect();
        assert_eq!(all, [Some("there"), Some("day")]);
    }
}
