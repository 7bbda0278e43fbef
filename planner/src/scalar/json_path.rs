//! EXTRACTJSONFIELD(json, path) with ksqlDB's meaning (its JsonExtractString UDF and
//! JsonPathTokenizer): the value at a JSONPath of `$` and then `.name`, `[name]` or
//! `["name"]` steps, a step into an array being an index; a text node as its text, any other
//! node as JSON; NULL where the path leads nowhere.
//!
//! Never: accept a path ksqlDB rejects (`$['a']`, wildcards): it is an error of the row, as
//! is text that is not JSON.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{ScalarUDF, Signature, Volatility};

use super::batch::{BatchFunction, text};
use super::json::parse_or_fail;
use super::json_text::Json;

pub(crate) fn extractjsonfield() -> Arc<ScalarUDF> {
    BatchFunction::udf(
        "extractjsonfield",
        Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable),
        |_| Ok(DataType::Utf8),
        extract_json_field,
    )
}

/// EXTRACTJSONFIELD(json, path), ksqlDB's JsonExtractString UDF: the value at a JSONPath of
/// `$`, `.name` and `["name"]` steps (a step into an array is an index), text as its text and
/// anything else as JSON; NULL where the path leads nowhere. A path of another form is an
/// error, as is text that is not JSON.
fn extract_json_field(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [texts, paths] = args else {
        return exec_err!("extractjsonfield takes a JSON text and a path");
    };
    let (texts, paths) = (text(texts)?, text(paths)?);
    let (texts, paths) = (texts.as_string::<i32>(), paths.as_string::<i32>());
    let mut results = StringBuilder::with_capacity(texts.len(), texts.len() * 8);
    let mut latest: Option<(&str, Vec<String>)> = None;
    for row in 0..texts.len() {
        if texts.is_null(row) || paths.is_null(row) {
            results.append_null();
            continue;
        }
        let path = paths.value(row);
        if latest
            .as_ref()
            .is_none_or(|(latest_path, _)| *latest_path != path)
        {
            latest = Some((path, tokenize_path(path)?));
        }
        let tokens = latest
            .as_ref()
            .map_or(&[][..], |(_, tokens)| tokens.as_slice());
        let value = parse_or_fail(texts.value(row))?;
        results.append_option(
            value
                .as_ref()
                .and_then(|value| walk(value, tokens))
                .map(Json::to_text),
        );
    }
    Ok(Arc::new(results.finish()))
}

/// Follows path tokens from `value`: into an array by index, into an object by key.
fn walk<'a>(mut value: &'a Json, tokens: &[String]) -> Option<&'a Json> {
    for token in tokens {
        value = match value {
            Json::Array(items) => {
                let index: i32 = token.parse().ok()?;
                items.get(usize::try_from(index).ok()?)?
            }
            Json::Object(members) => &members.iter().find(|(key, _)| key == token)?.1,
            _ => return None,
        };
    }
    Some(value)
}

/// The steps of a JSONPath as ksqlDB's JsonPathTokenizer reads them: `$` first, then
/// `.name` (letters, digits, `_`, `:` and `@`), `[name]` (letters, digits, `_`) or
/// `["name"]` (with `\"` and `\\` escapes).
fn tokenize_path(path: &str) -> Result<Vec<String>> {
    let invalid = || exec_err!("Invalid JSON path: '{path}'");
    let Some(mut rest) = path.strip_prefix('$') else {
        return invalid();
    };
    let mut tokens = Vec::new();
    let unquoted = |rest: &str, extra: &[char]| {
        rest.find(|character: char| {
            !(character == '_' || character.is_alphanumeric() || extra.contains(&character))
        })
        .unwrap_or(rest.len())
    };
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = unquoted(after, &[':', '@']);
            if end == 0 {
                return invalid();
            }
            tokens.push(after[..end].to_owned());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let (token, after) = match after.strip_prefix('"') {
                Some(quoted) => match quoted_subscript(quoted) {
                    Some(parsed) => parsed,
                    None => return invalid(),
                },
                None => {
                    let end = unquoted(after, &[]);
                    if end == 0 {
                        return invalid();
                    }
                    (after[..end].to_owned(), &after[end..])
                }
            };
            let Some(after) = after.strip_prefix(']') else {
                return invalid();
            };
            tokens.push(token);
            rest = after;
        } else {
            return invalid();
        }
    }
    Ok(tokens)
}

/// A `"..."` subscript after its opening quote: its text and what follows the closing quote.
fn quoted_subscript(quoted: &str) -> Option<(String, &str)> {
    let mut token = String::new();
    let mut characters = quoted.char_indices();
    while let Some((position, character)) = characters.next() {
        match character {
            '"' => return Some((token, &quoted[position + 1..])),
            '\\' => match characters.next()?.1 {
                escaped @ ('"' | '\\') => token.push(escaped),
                _ => return None,
            },
            other => token.push(other),
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::scalar::json::tests::{call, text};

    fn extract(json: &str, path: &str) -> Result<Option<String>> {
        match call("extractjsonfield", vec![text(json), text(path)])? {
            ScalarValue::Utf8(value) => Ok(value),
            other => panic!("a string, not {other:?}"),
        }
    }

    #[test]
    fn extractjsonfield_follows_ksqldb_paths() {
        let document = r#"{"thing1":{"thing2":"hello"},"array":[101,102]}"#;
        assert_eq!(
            extract(document, "$.thing1.thing2")
                .ok()
                .flatten()
                .as_deref(),
            Some("hello")
        );
        assert_eq!(
            extract(document, "$.thing1").ok().flatten().as_deref(),
            Some(r#"{"thing2":"hello"}"#)
        );
        assert_eq!(
            extract(document, "$").ok().flatten().as_deref(),
            Some(document)
        );
        assert_eq!(
            extract(document, "$.array.1").ok().flatten().as_deref(),
            Some("102")
        );
        assert_eq!(
            extract(document, "$.array[0]").ok().flatten().as_deref(),
            Some("101")
        );
        assert_eq!(
            extract(document, "$[\"thing1\"][\"thing2\"]")
                .ok()
                .flatten()
                .as_deref(),
            Some("hello")
        );
        assert_eq!(
            extract(r#"{"@type": "foo"}"#, "$.@type")
                .ok()
                .flatten()
                .as_deref(),
            Some("foo")
        );
        assert_eq!(extract(document, "$.will.not.find.me").ok().flatten(), None);
        assert_eq!(
            extract(r#"{"a": null}"#, "$.a").ok().flatten().as_deref(),
            Some("null")
        );
        assert_eq!(extract("", "$.a").ok().flatten(), None);
        assert!(extract("this is NOT a JSON doc", "$.thing1").is_err());
        assert!(extract(document, "$['thing1']").is_err());
        assert!(extract(document, "thing1").is_err());
        assert!(extract(document, "$.").is_err());
    }
}
