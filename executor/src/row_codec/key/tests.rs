//! Key tests: every key type round-trips, and keys compare as SQL compares their values
//! (NULLs first, `-0.0 = 0.0`, NaNs equal, prefixes first, column by column), checked for
//! every pair of rows.

use std::cmp::Ordering;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, AsArray, BinaryArray, Decimal128Array, Float32Array, Float64Array, Int32Array,
    Int64Array, ListArray, StringArray,
};
use arrow::datatypes::{DataType, Float64Type, Int32Type};

use super::{CANONICAL_NAN_64, KEY_FORMAT_V1};
use crate::row_codec::tests::{
    Random, encode_key_rows, key_columns_of_every_key_type, string_to_int_map, struct_with_list,
};
use crate::row_codec::{CodecError, decode_keys, encode_keys};

fn assert_keys_round_trip(columns: &[ArrayRef]) {
    let keys = encode_key_rows(columns);
    let types: Vec<DataType> = columns.iter().map(|c| c.data_type().clone()).collect();
    let decoded = decode_keys(&types, &keys).expect("decode keys");
    assert_eq!(decoded.len(), columns.len());
    for (decoded, original) in decoded.iter().zip(columns) {
        assert_eq!(decoded, original, "{}", original.data_type());
    }
}

/// Checks, for every pair of rows, that the keys compare as `sql_order` says the rows do:
/// the same order, and equal bytes exactly for equal values.
fn assert_key_order<T>(columns: &[ArrayRef], rows: &[T], sql_order: impl Fn(&T, &T) -> Ordering) {
    let keys = encode_key_rows(columns);
    assert_eq!(keys.len(), rows.len());
    for (left, left_key) in rows.iter().zip(&keys) {
        for (right, right_key) in rows.iter().zip(&keys) {
            assert_eq!(
                left_key.cmp(right_key),
                sql_order(left, right),
                "{left_key:?} vs {right_key:?}"
            );
        }
    }
}

#[test]
fn keys_of_every_key_type_round_trip() {
    assert_keys_round_trip(&key_columns_of_every_key_type());
}

#[test]
fn sliced_key_columns_round_trip() {
    let columns: Vec<ArrayRef> = key_columns_of_every_key_type()
        .iter()
        .map(|column| column.slice(1, 2))
        .collect();
    assert_keys_round_trip(&columns);
}

#[test]
fn keys_without_columns_are_all_the_same() {
    let keys = encode_keys(&[], 2).expect("encode");
    assert_eq!(
        keys.iter().collect::<Vec<_>>(),
        vec![&[KEY_FORMAT_V1][..]; 2]
    );
    assert!(
        decode_keys::<&[u8]>(&[], &[&[KEY_FORMAT_V1]])
            .expect("decode")
            .is_empty()
    );
}

#[test]
fn integer_keys_sort_like_their_values_with_nulls_first() {
    let mut random = Random(0x5EED);
    let mut values = vec![
        None,
        Some(i64::MIN),
        Some(i64::MIN + 1),
        Some(-256),
        Some(-255),
        Some(-1),
        Some(0),
        Some(1),
        Some(255),
        Some(256),
        Some(i64::MAX),
    ];
    values.extend((0..40).map(|_| Some(random.next() as i64 >> random.below(64))));
    let column: ArrayRef = Arc::new(Int64Array::from(values.clone()));
    assert_key_order(&[column], &values, Ord::cmp);

    let ints: Vec<Option<i32>> = values.iter().map(|v| v.map(|v| v as i32)).collect();
    let column: ArrayRef = Arc::new(Int32Array::from(ints.clone()));
    assert_key_order(&[column], &ints, Ord::cmp);

    let column: ArrayRef = Arc::new(
        Decimal128Array::from(values.iter().map(|v| v.map(i128::from)).collect::<Vec<_>>())
            .with_precision_and_scale(38, 4)
            .expect("decimal"),
    );
    assert_key_order(&[column], &values, Ord::cmp);
}

/// SQL order of doubles as keys: -0.0 = 0.0, all NaNs equal and above +Infinity.
fn sql_double_order(left: &Option<f64>, right: &Option<f64>) -> Ordering {
    let canonical = |value: &Option<f64>| {
        value.map(|v| {
            if v == 0.0 {
                0.0
            } else if v.is_nan() {
                f64::NAN
            } else {
                v
            }
        })
    };
    match (canonical(left), canonical(right)) {
        (Some(left), Some(right)) => left.total_cmp(&right),
        (left, right) => left.is_some().cmp(&right.is_some()),
    }
}

#[test]
fn float_keys_sort_like_their_values() {
    let mut random = Random(0xF10A7);
    let mut values = vec![
        None,
        Some(f64::NEG_INFINITY),
        Some(f64::MIN),
        Some(-1.5),
        Some(-f64::MIN_POSITIVE),
        Some(-5e-324),
        Some(-0.0),
        Some(0.0),
        Some(5e-324),
        Some(f64::MIN_POSITIVE),
        Some(1.0),
        Some(f64::MAX),
        Some(f64::INFINITY),
        Some(f64::NAN),
        Some(-f64::NAN),
        Some(f64::from_bits(0x7FF0_0000_0000_0001)),
    ];
    values.extend((0..40).map(|_| Some(f64::from_bits(random.next()))));
    let column: ArrayRef = Arc::new(Float64Array::from(values.clone()));
    assert_key_order(&[column], &values, sql_double_order);

    let reals: Vec<Option<f64>> = values.iter().map(|v| v.map(|v| v as f32 as f64)).collect();
    let column: ArrayRef = Arc::new(Float32Array::from(
        reals
            .iter()
            .map(|v| v.map(|v| v as f32))
            .collect::<Vec<_>>(),
    ));
    assert_key_order(&[column], &reals, sql_double_order);
}

#[test]
fn negative_zero_and_nans_are_one_key_each() {
    let column: ArrayRef = Arc::new(Float64Array::from(vec![
        -0.0,
        0.0,
        f64::NAN,
        -f64::NAN,
        f64::from_bits(0x7FF0_0000_0000_0001),
    ]));
    let keys = encode_key_rows(&[column]);
    assert_eq!(keys[0], keys[1]);
    assert_eq!(keys[2], keys[3]);
    assert_eq!(keys[2], keys[4]);
    let decoded = decode_keys(&[DataType::Float64], &keys).expect("decode");
    let doubles = decoded[0].as_primitive::<Float64Type>();
    assert_eq!(doubles.value(0).to_bits(), 0.0f64.to_bits());
    assert_eq!(doubles.value(2).to_bits(), CANONICAL_NAN_64);
}

#[test]
fn string_keys_sort_bytewise_with_prefixes_first() {
    let values = vec![
        None,
        Some(""),
        Some("\0"),
        Some("\0\0"),
        Some("\0a"),
        Some("\u{1}"),
        Some("a"),
        Some("a\0"),
        Some("a\0\0"),
        Some("a\0b"),
        Some("a\u{1}"),
        Some("aa"),
        Some("ab"),
        Some("b"),
        Some("é"),
        Some("\u{10FFFF}"),
    ];
    let column: ArrayRef = Arc::new(StringArray::from(values.clone()));
    assert_key_order(&[column], &values, Ord::cmp);

    let bytes: Vec<Option<&[u8]>> = vec![
        None,
        Some(&[]),
        Some(&[0x00]),
        Some(&[0x00, 0x00]),
        Some(&[0x00, 0xFF]),
        Some(&[0x00, 0xFF, 0x00]),
        Some(&[0x01]),
        Some(&[0xFF]),
        Some(&[0xFF, 0x00]),
        Some(&[0xFF, 0xFF]),
    ];
    let column: ArrayRef = Arc::new(BinaryArray::from(bytes.clone()));
    assert_key_order(&[column], &bytes, Ord::cmp);
}

#[test]
fn composite_keys_sort_column_by_column() {
    let ints = [None, Some(-1), Some(0), Some(1), Some(256)];
    let strings = [
        None,
        Some(""),
        Some("\0"),
        Some("a"),
        Some("a\0"),
        Some("ab"),
        Some("b"),
    ];
    let rows: Vec<(Option<i64>, Option<&str>)> = ints
        .iter()
        .flat_map(|int| strings.iter().map(move |string| (*int, *string)))
        .collect();
    let int_column: ArrayRef = Arc::new(Int64Array::from(
        rows.iter().map(|row| row.0).collect::<Vec<_>>(),
    ));
    let string_column: ArrayRef = Arc::new(StringArray::from(
        rows.iter().map(|row| row.1).collect::<Vec<_>>(),
    ));
    assert_key_order(
        &[int_column.clone(), string_column.clone()],
        &rows,
        Ord::cmp,
    );

    let swapped: Vec<_> = rows.iter().map(|(int, string)| (*string, *int)).collect();
    assert_key_order(&[string_column.clone(), int_column], &swapped, Ord::cmp);

    let strings_twice: Vec<_> = strings
        .iter()
        .flat_map(|first| strings.iter().map(move |second| (*first, *second)))
        .collect();
    let first: ArrayRef = Arc::new(StringArray::from(
        strings_twice.iter().map(|row| row.0).collect::<Vec<_>>(),
    ));
    let second: ArrayRef = Arc::new(StringArray::from(
        strings_twice.iter().map(|row| row.1).collect::<Vec<_>>(),
    ));
    assert_key_order(&[first, second], &strings_twice, Ord::cmp);
}

#[test]
fn a_key_is_never_a_prefix_of_another() {
    let column: ArrayRef = Arc::new(StringArray::from(vec!["a", "a\0", "a\0b", ""]));
    let keys = encode_key_rows(&[column]);
    for (i, left) in keys.iter().enumerate() {
        for (j, right) in keys.iter().enumerate() {
            assert!(
                i == j || !right.starts_with(left),
                "{left:?} is a prefix of {right:?}"
            );
        }
    }
}

#[test]
fn array_keys_compare_element_by_element_with_prefixes_first() {
    let rows: Vec<Option<Vec<Option<i32>>>> = vec![
        Some(vec![Some(1), Some(2)]),
        None,
        Some(vec![]),
        Some(vec![None]),
        Some(vec![Some(1)]),
        Some(vec![Some(1), None]),
        Some(vec![Some(-5), Some(9)]),
        Some(vec![Some(1), Some(2)]),
        Some(vec![Some(2)]),
    ];
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
        rows.clone(),
    ));
    // Rust orders vectors of options as SQL orders arrays: NULLs first, element by element,
    // a prefix before what it prefixes.
    assert_key_order(std::slice::from_ref(&list), &rows, Ord::cmp);
    let sliced = list.slice(4, 3);
    let rebuilt: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(
        rows[4..7].to_vec(),
    ));
    assert_eq!(encode_key_rows(&[sliced]), encode_key_rows(&[rebuilt]));
}

#[test]
fn array_keys_of_floats_are_equal_bytes_for_equal_values() {
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Float64Type, _, _>(vec![
        Some(vec![Some(-0.0), Some(f64::NAN)]),
        Some(vec![Some(0.0), Some(-f64::NAN)]),
        Some(vec![Some(0.0), Some(1.0)]),
    ]));
    let keys = encode_key_rows(&[list]);
    assert_eq!(keys[0], keys[1]);
    assert_ne!(keys[1], keys[2]);
}

#[test]
fn struct_keys_compare_field_by_field_and_ignore_what_a_null_struct_holds() {
    let column = struct_with_list();
    type Row = Option<(Option<i32>, Option<Vec<Option<i64>>>)>;
    let rows: Vec<Row> = vec![
        Some((Some(7), Some(vec![Some(1), None, Some(-3)]))),
        Some((Some(-1), None)),
        None,
        Some((Some(3), Some(vec![Some(i64::MIN)]))),
    ];
    assert_key_order(std::slice::from_ref(&column), &rows, Ord::cmp);
    // Row 2 is a NULL struct over fields that hold values: its key is NULL's alone.
    let null_struct = column.slice(2, 1);
    let nulls: ArrayRef = Arc::new(Int32Array::from(vec![None::<i32>]));
    assert_eq!(encode_key_rows(&[null_struct]), encode_key_rows(&[nulls]));
    // A key column after a nested one is still compared after it.
    let second: ArrayRef = Arc::new(StringArray::from(vec!["b", "a", "a", "a"]));
    let keys = encode_key_rows(&[column.slice(0, 4), second]);
    assert!(keys[2] < keys[1] && keys[1] < keys[3] && keys[3] < keys[0]);
}

#[test]
fn map_keys_and_decoding_nested_keys_are_refused() {
    let map = string_to_int_map();
    let error = encode_keys(std::slice::from_ref(&map), map.len()).expect_err("MAP key");
    assert_eq!(
        error.to_string(),
        "a PRIMARY KEY or GROUP BY key of type MAP<STRING, BIGINT> is not supported"
    );
    let list: ArrayRef = Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1)]),
    ]));
    let error = decode_keys(&[list.data_type().clone()], &[[KEY_FORMAT_V1]]).expect_err("ARRAY");
    assert!(
        matches!(error, CodecError::UnsupportedKeyType { .. }),
        "{error}"
    );
}

#[test]
fn key_columns_must_have_the_rows_asked_for() {
    let column: ArrayRef = Arc::new(Int32Array::from(vec![1, 2]));
    let error = encode_keys(&[column], 3).expect_err("short column");
    assert!(matches!(
        error,
        CodecError::KeyColumnLength {
            column: 0,
            actual: 2,
            expected: 3
        }
    ));
}

#[test]
fn every_truncated_key_is_an_error() {
    let columns = key_columns_of_every_key_type();
    let types: Vec<DataType> = columns.iter().map(|c| c.data_type().clone()).collect();
    for key in encode_key_rows(&columns) {
        for length in 0..key.len() {
            let result = decode_keys(&types, &[&key[..length]]);
            assert!(result.is_err(), "{length} of {} bytes decoded", key.len());
        }
    }
}
