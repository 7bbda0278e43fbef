//! ksqlDB's JSON functions over JSON text in STRING values: EXTRACTJSONFIELD (`json_path`),
//! IS_JSON_STRING, JSON_ARRAY_LENGTH, JSON_ARRAY_CONTAINS, JSON_CONCAT, JSON_ITEMS,
//! JSON_KEYS and JSON_RECORDS, each as its ksqlDB UDF of the same name reads and answers
//! (`json_text` reads and prints JSON as ksqlDB's Jackson does). Text that is not JSON is an
//! error of the row wherever ksqlDB's UDF throws on it (it logs the error and gives NULL);
//! IS_JSON_STRING and JSON_ARRAY_CONTAINS answer false instead, as in ksqlDB.
//!
//! Never: give a JSON text another shape than ksqlDB prints (key order, number notation,
//! escapes): users compare these strings.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BooleanBuilder, Int32Builder, ListBuilder, MapBuilder, MapFieldNames,
    StringArray, StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::{
    DataType, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type,
};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};
use eddy_parser::ColumnType;

use super::batch::{BatchFunction, text};
use super::json_path;
use super::json_text::{self, Decimals, Json};
use crate::types::arrow_type;

/// The JSON functions but TO_JSON_STRING (`to_json`).
pub(crate) fn json_functions() -> Vec<Arc<ScalarUDF>> {
    let one_text = || Signature::exact(vec![DataType::Utf8], Volatility::Immutable);
    vec![
        BatchFunction::udf(
            "is_json_string",
            one_text(),
            |_| Ok(DataType::Boolean),
            is_json_string,
        ),
        BatchFunction::udf(
            "json_array_length",
            one_text(),
            |_| Ok(DataType::Int32),
            json_array_length,
        ),
        BatchFunction::udf(
            "json_items",
            one_text(),
            |_| Ok(string_list_type()),
            |args| items(&one_argument("json_items", args)?),
        ),
        BatchFunction::udf(
            "json_keys",
            one_text(),
            |_| Ok(string_list_type()),
            |args| keys(&one_argument("json_keys", args)?),
        ),
        BatchFunction::udf(
            "json_records",
            one_text(),
            |_| Ok(string_map_type()),
            |args| records(&one_argument("json_records", args)?),
        ),
        json_path::extractjsonfield(),
        BatchFunction::udf(
            "json_concat",
            Signature::one_of(
                vec![TypeSignature::Variadic(vec![DataType::Utf8])],
                Volatility::Immutable,
            ),
            |_| Ok(DataType::Utf8),
            json_concat,
        ),
        Arc::new(ScalarUDF::from(JsonArrayContains {
            signature: Signature::any(2, Volatility::Immutable),
        })),
    ]
}

/// The one argument of a function of JSON text, as UTF-8 strings.
fn one_argument(name: &str, args: &[ArrayRef]) -> Result<StringArray> {
    let [texts] = args else {
        return exec_err!("{name} takes one argument");
    };
    Ok(text(texts)?.as_string::<i32>().clone())
}

/// Parses a row's text, an error of the row where it is not JSON (ksqlDB's
/// `UdfJsonMapper.parseJson`); None for text that holds no value.
pub(super) fn parse_or_fail(text: &str) -> Result<Option<Json>> {
    match json_text::parse(text) {
        Ok(value) => Ok(value),
        Err(_) => invalid_json(text),
    }
}

fn invalid_json<T>(text: &str) -> Result<T> {
    const SHOWN_CHARS_MAX: usize = 200;
    let shown: String = text.chars().take(SHOWN_CHARS_MAX).collect();
    let ellipsis = if shown.len() < text.len() { "…" } else { "" };
    exec_err!("Invalid JSON format: {shown}{ellipsis}")
}

fn string_list_type() -> DataType {
    arrow_type(&ColumnType::Array(Box::new(ColumnType::String)))
}

fn string_map_type() -> DataType {
    arrow_type(&ColumnType::Map(
        Box::new(ColumnType::String),
        Box::new(ColumnType::String),
    ))
}

/// IS_JSON_STRING, ksqlDB's IsJsonString UDF: whether the text is one JSON value; NULL is
/// false.
fn is_json_string(args: &[ArrayRef]) -> Result<ArrayRef> {
    let texts = one_argument("is_json_string", args)?;
    let mut results = BooleanBuilder::with_capacity(texts.len());
    for text in &texts {
        results
            .append_value(text.is_some_and(|text| matches!(json_text::parse(text), Ok(Some(_)))));
    }
    Ok(Arc::new(results.finish()))
}

/// JSON_ARRAY_LENGTH, ksqlDB's JsonArrayLength UDF: the items of a top-level array, else NULL.
fn json_array_length(args: &[ArrayRef]) -> Result<ArrayRef> {
    let texts = one_argument("json_array_length", args)?;
    let mut results = Int32Builder::with_capacity(texts.len());
    for text in &texts {
        let length = match text.map(parse_or_fail).transpose()?.flatten() {
            Some(Json::Array(items)) => i32::try_from(items.len()).ok(),
            _ => None,
        };
        results.append_option(length);
    }
    Ok(Arc::new(results.finish()))
}

/// JSON_ITEMS, ksqlDB's JsonItems UDF: each item of a top-level array as JSON text; an error
/// for anything but an array.
fn items(texts: &StringArray) -> Result<ArrayRef> {
    let mut results = ListBuilder::new(StringBuilder::new());
    for text in texts {
        let Some(text) = text else {
            results.append_null();
            continue;
        };
        // Jackson maps only an array onto a List; "null" maps to no list at all, which
        // ksqlDB's UDF then fails on too.
        let Ok(Some(Json::Array(items))) = json_text::parse(text) else {
            return invalid_json(text);
        };
        for item in &items {
            results.values().append_value(item.to_node_string());
        }
        results.append(true);
    }
    Ok(Arc::new(results.finish()))
}

/// JSON_KEYS, ksqlDB's JsonKeys UDF: a top-level object's keys in order, else NULL.
fn keys(texts: &StringArray) -> Result<ArrayRef> {
    let mut results = ListBuilder::new(StringBuilder::new());
    for text in texts {
        match text.map(parse_or_fail).transpose()?.flatten() {
            Some(Json::Object(members)) => {
                for (key, _) in &members {
                    results.values().append_value(key);
                }
                results.append(true);
            }
            _ => results.append_null(),
        }
    }
    Ok(Arc::new(results.finish()))
}

/// JSON_RECORDS, ksqlDB's JsonRecords UDF: a top-level object's keys and values (text
/// values as their text, others as JSON), else NULL.
fn records(texts: &StringArray) -> Result<ArrayRef> {
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut results = MapBuilder::new(Some(names), StringBuilder::new(), StringBuilder::new());
    for text in texts {
        match text.map(parse_or_fail).transpose()?.flatten() {
            Some(Json::Object(members)) => {
                for (key, value) in &members {
                    results.keys().append_value(key);
                    results.values().append_value(value.to_text());
                }
                results.append(true)?;
            }
            _ => results.append(false)?,
        }
    }
    Ok(Arc::new(results.finish()))
}

/// JSON_CONCAT(json, ...), ksqlDB's JsonConcat UDF: objects merged key by key (the last
/// value wins), anything else concatenated as arrays (a non-array is an array of itself);
/// NULL if any argument is NULL or holds no JSON value, an error if one is not JSON.
fn json_concat(args: &[ArrayRef]) -> Result<ArrayRef> {
    let arguments = args.iter().map(text).collect::<Result<Vec<_>>>()?;
    let columns: Vec<&StringArray> = arguments
        .iter()
        .map(|array| array.as_string::<i32>())
        .collect();
    let rows = columns.first().map_or(0, |column| column.len());
    let mut results = StringBuilder::with_capacity(rows, rows * 16);
    let mut text = String::new();
    'rows: for row in 0..rows {
        let mut values = Vec::with_capacity(columns.len());
        for column in &columns {
            if column.is_null(row) {
                results.append_null();
                continue 'rows;
            }
            match parse_or_fail(column.value(row))? {
                Some(value) => values.push(value),
                None => {
                    results.append_null();
                    continue 'rows;
                }
            }
        }
        text.clear();
        if concat(values).write(Decimals::Plain, &mut text).is_err() {
            return exec_err!("JSON serialization error: a decimal's scale is out of range");
        }
        results.append_value(&text);
    }
    Ok(Arc::new(results.finish()))
}

fn concat(values: Vec<Json>) -> Json {
    let all_objects = values.iter().all(|value| matches!(value, Json::Object(_)));
    let mut values = values.into_iter();
    let Some(mut result) = values.next() else {
        return Json::Null;
    };
    for value in values {
        result = match (result, value) {
            (Json::Object(mut members), Json::Object(more)) if all_objects => {
                for (key, value) in more {
                    match members.iter_mut().find(|(existing, _)| *existing == key) {
                        Some((_, existing)) => *existing = value,
                        None => members.push((key, value)),
                    }
                }
                Json::Object(members)
            }
            (result, value) => {
                let mut items = into_items(result);
                items.extend(into_items(value));
                Json::Array(items)
            }
        };
    }
    result
}

fn into_items(value: Json) -> Vec<Json> {
    match value {
        Json::Array(items) => items,
        other => vec![other],
    }
}

/// JSON_ARRAY_CONTAINS(json, value), ksqlDB's JsonArrayContains UDF: whether a top-level
/// item of the JSON array equals `value` in kind and value (an INT or BIGINT an integer, a
/// DOUBLE a number with a point or exponent, a STRING a string, a BOOLEAN true or false, NULL
/// null). Text that is no array, or that turns out not to be JSON before a match, is false.
#[derive(Debug, PartialEq, Eq, Hash)]
struct JsonArrayContains {
    signature: Signature,
}

/// The value searched for, as the Java value ksqlDB's UDF receives.
enum Needle<'a> {
    Null,
    Integer(i32),
    Long(i64),
    Double(f64),
    String(&'a str),
    Boolean(bool),
    /// A value of a type no JSON item ever equals (DECIMAL, ARRAY, ...).
    Other,
}

impl Needle<'_> {
    /// Whether `item` equals the needle; Err when ksqlDB's reading of the item as the
    /// needle's Java type fails (an integer too large for an INT), which ends the search
    /// with false.
    fn matches(&self, item: &Json) -> Result<bool, ()> {
        Ok(match (self, item) {
            (Needle::Null, Json::Null) => true,
            (Needle::Integer(needle), Json::Number(text)) if is_integer(text) => {
                text.parse::<i32>().map_err(|_| ())? == *needle
            }
            (Needle::Long(needle), Json::Number(text)) if is_integer(text) => {
                text.parse::<i64>().map_err(|_| ())? == *needle
            }
            (Needle::Double(needle), Json::Number(text)) if !is_integer(text) => {
                // Java's Double.equals: bit for bit, so 0.0 is not -0.0.
                text.parse::<f64>().map_err(|_| ())?.to_bits() == needle.to_bits()
            }
            (Needle::String(needle), Json::String(text)) => text == needle,
            (Needle::Boolean(needle), Json::Bool(value)) => value == needle,
            _ => false,
        })
    }
}

fn is_integer(number: &str) -> bool {
    !number.contains(['.', 'e', 'E'])
}

impl ScalarUDFImpl for JsonArrayContains {
    fn name(&self) -> &str {
        "json_array_contains"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null) => {
                Ok(DataType::Boolean)
            }
            _ => plan_err!("json_array_contains takes a JSON array as a STRING and a value"),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let [texts, needles] = arrays.as_slice() else {
            return exec_err!("json_array_contains takes a JSON array and a value");
        };
        let texts = cast(texts, &DataType::Utf8)?;
        let texts = texts.as_string::<i32>();
        let needle_strings = match needles.data_type() {
            DataType::LargeUtf8 | DataType::Utf8View => Some(cast(needles, &DataType::Utf8)?),
            _ => None,
        };
        let needles = needle_strings.as_ref().unwrap_or(needles);
        let mut results = BooleanBuilder::with_capacity(texts.len());
        for row in 0..texts.len() {
            if texts.is_null(row) {
                // ksqlDB's UDF fails on a NULL array (Jackson cannot read null text).
                return exec_err!("json_array_contains: the JSON array is NULL");
            }
            let needle = needle_at(needles.as_ref(), row);
            let mut failed = false;
            let found = json_text::visit_array_items(texts.value(row), |item| {
                needle.matches(item).unwrap_or_else(|()| {
                    failed = true;
                    true
                })
            });
            results.append_value(matches!(found, Ok(Some(true))) && !failed);
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

fn needle_at(needles: &dyn Array, row: usize) -> Needle<'_> {
    if needles.is_null(row) {
        return Needle::Null;
    }
    match needles.data_type() {
        DataType::Int8 => Needle::Integer(i32::from(needles.as_primitive::<Int8Type>().value(row))),
        DataType::Int16 => {
            Needle::Integer(i32::from(needles.as_primitive::<Int16Type>().value(row)))
        }
        DataType::Int32 => Needle::Integer(needles.as_primitive::<Int32Type>().value(row)),
        DataType::Int64 => Needle::Long(needles.as_primitive::<Int64Type>().value(row)),
        DataType::Float32 => {
            Needle::Double(f64::from(needles.as_primitive::<Float32Type>().value(row)))
        }
        DataType::Float64 => Needle::Double(needles.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => Needle::String(needles.as_string::<i32>().value(row)),
        DataType::Boolean => Needle::Boolean(needles.as_boolean().value(row)),
        _ => Needle::Other,
    }
}

#[cfg(test)]
pub(super) mod tests {
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::scalar::test_support::invoke;

    fn function(name: &str) -> Arc<ScalarUDF> {
        json_functions()
            .into_iter()
            .find(|function| function.name() == name)
            .expect("registered")
    }

    pub(in crate::scalar) fn call(name: &str, args: Vec<ScalarValue>) -> Result<ScalarValue> {
        let function = function(name);
        let arg_types: Vec<DataType> = args.iter().map(ScalarValue::data_type).collect();
        let return_type = function.return_type(&arg_types)?;
        let args = args.into_iter().map(ColumnarValue::Scalar).collect();
        let answer = invoke(&function, args, return_type, 1)?;
        match answer {
            ColumnarValue::Array(array) => ScalarValue::try_from_array(&array, 0),
            ColumnarValue::Scalar(scalar) => Ok(scalar),
        }
    }

    pub(in crate::scalar) fn text(value: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(value.to_owned()))
    }

    #[test]
    fn json_array_contains_matches_kind_and_value() {
        let contains = |json: &str, value: ScalarValue| match call(
            "json_array_contains",
            vec![text(json), value],
        ) {
            Ok(ScalarValue::Boolean(Some(found))) => found,
            other => panic!("a boolean, not {other:?}"),
        };
        let json = "[2147483647, {\"ab\":null }, -2147483648, 1, 2, 3, null, [4], 4]";
        assert!(contains(json, ScalarValue::Int32(Some(3))));
        assert!(!contains(json, ScalarValue::Int32(Some(5))));
        assert!(!contains("5", ScalarValue::Int32(Some(5))));
        assert!(contains(
            "[1111111111111111]",
            ScalarValue::Int64(Some(1111111111111111))
        ));
        assert!(!contains(
            "[[222222222222222], 33333]",
            ScalarValue::Int64(Some(222222222222222))
        ));
        assert!(!contains("[1]", ScalarValue::Float64(Some(1.0))));
        assert!(contains(
            "[1.0, 2.0, 1.6E3]",
            ScalarValue::Float64(Some(1600.0))
        ));
        assert!(contains("[\"cbda\", \"abc\"]", text("abc")));
        assert!(!contains("[1,2,3]", text("1")));
        assert!(contains("[null]", ScalarValue::Utf8(None)));
        assert!(!contains("[\"\"]", ScalarValue::Utf8(None)));
        assert!(contains("[true, false]", ScalarValue::Boolean(Some(false))));
        assert!(!contains("[1, x]", ScalarValue::Int32(Some(2))));
        assert!(contains("[1, x]", ScalarValue::Int32(Some(1))));
        assert!(!contains("[9999999999, 1]", ScalarValue::Int32(Some(1))));
    }

    #[test]
    fn json_concat_merges_as_ksqldb_does() {
        let concat = |values: &[&str]| match call(
            "json_concat",
            values.iter().map(|value| text(value)).collect(),
        ) {
            Ok(ScalarValue::Utf8(value)) => value,
            other => panic!("a string, not {other:?}"),
        };
        assert_eq!(
            concat(&[r#"{"a": 1}"#, r#"{"b": 2}"#]).as_deref(),
            Some(r#"{"a":1,"b":2}"#)
        );
        assert_eq!(
            concat(&[r#"{"a": {"5": 6}}"#, r#"{"a": {"3": 4}}"#]).as_deref(),
            Some(r#"{"a":{"3":4}}"#)
        );
        assert_eq!(
            concat(&["[1, [2]]", "[[[3]], [[[4]]]]"]).as_deref(),
            Some("[1,[2],[[3]],[[[4]]]]")
        );
        assert_eq!(concat(&["null", "null"]).as_deref(), Some("[null,null]"));
        assert_eq!(
            concat(&["[1, 2]", r#"{"a": 1}"#]).as_deref(),
            Some(r#"[1,2,{"a":1}]"#)
        );
        assert_eq!(concat(&["1", "2", "3"]).as_deref(), Some("[1,2,3]"));
        assert_eq!(concat(&["[1e2]", "1.50"]).as_deref(), Some("[100,1.50]"));
        assert_eq!(concat(&["", "[1]"]), None);
        assert!(call("json_concat", vec![text("abc"), text("[1]")]).is_err());
        assert_eq!(
            call("json_concat", vec![ScalarValue::Utf8(None), text("[1]")]).ok(),
            Some(ScalarValue::Utf8(None))
        );
    }

    #[test]
    fn unary_functions_answer_null_or_fail_as_ksqldb_does() {
        assert_eq!(
            call("is_json_string", vec![text("")]).ok(),
            Some(ScalarValue::Boolean(Some(false)))
        );
        assert_eq!(
            call("is_json_string", vec![ScalarValue::Utf8(None)]).ok(),
            Some(ScalarValue::Boolean(Some(false)))
        );
        assert_eq!(
            call("is_json_string", vec![text("null")]).ok(),
            Some(ScalarValue::Boolean(Some(true)))
        );
        assert_eq!(
            call("json_array_length", vec![text("[1, [1, [2]], 3]")]).ok(),
            Some(ScalarValue::Int32(Some(3)))
        );
        assert_eq!(
            call("json_array_length", vec![text("null")]).ok(),
            Some(ScalarValue::Int32(None))
        );
        assert!(call("json_array_length", vec![text("abc")]).is_err());
        assert!(call("json_items", vec![text("null")]).is_err());
        assert!(call("json_keys", vec![text("abc")]).is_err());
        assert!(call("json_records", vec![text("abc")]).is_err());
        let keys = call(
            "json_keys",
            vec![text(r#"{"a": "abc", "b": { "c": "a" }, "d": 1}"#)],
        )
        .expect("keys");
        assert_eq!(keys.to_string(), "[a, b, d]");
        let records = call(
            "json_records",
            vec![text(r#"{"a": "abc", "b": { "c": "a" }, "d": 1}"#)],
        )
        .expect("records");
        assert_eq!(records.data_type(), string_map_type());
        assert_eq!(records.to_string(), r#"[{a:abc,b:{"c":"a"},d:1}]"#);
        let items = call("json_items", vec![text(r#"[{"type": "A"}, 1, "x"]"#)]).expect("items");
        assert_eq!(items.data_type(), string_list_type());
        assert_eq!(items.to_string(), r#"[{"type":"A"}, 1, "x"]"#);
    }
}
