//! Value tests: every column type Eddy stores, nested ones included, round-trips bit for
//! bit, sliced or whole; unsupported types, truncated values and trailing bytes are errors,
//! never a panic.

use std::sync::Arc;

use arrow::array::{
    AsArray, BinaryViewArray, Date64Array, Decimal256Array, DurationSecondArray,
    FixedSizeBinaryArray, Float32Array, Float64Array, Int8Array, Int16Array, Int32Array,
    Int64Array, IntervalMonthDayNanoArray, LargeBinaryArray, LargeListArray, LargeStringArray,
    NullArray, StringArray, StringViewArray, StructArray, Time32SecondArray,
    TimestampNanosecondArray, UInt8Array, UInt64Array, UnionArray,
};
use arrow::buffer::{NullBuffer, ScalarBuffer};
use arrow::datatypes::{
    DataType, Field, Fields, Float64Type, Int32Type, IntervalMonthDayNano, Schema, UnionFields,
    i256,
};
use arrow::record_batch::{RecordBatch, RecordBatchOptions};

use crate::row_codec::tests::{batch_of, eddy_types_batch};
use crate::row_codec::{CodecError, decode_rows, encode_rows};

fn assert_rows_round_trip(batch: &RecordBatch) {
    let encoded = encode_rows(batch).expect("encode");
    assert_eq!(encoded.len(), batch.num_rows());
    let values: Vec<&[u8]> = encoded.iter().collect();
    let decoded = decode_rows(&batch.schema(), &values).expect("decode");
    assert_eq!(&decoded, batch);
}

#[test]
fn rows_of_every_eddy_type_round_trip() {
    assert_rows_round_trip(&eddy_types_batch());
}

#[test]
fn sliced_rows_round_trip() {
    let batch = eddy_types_batch();
    assert_rows_round_trip(&batch.slice(1, 3));
    assert_rows_round_trip(&batch.slice(2, 0));
}

#[test]
fn float_values_keep_their_bits() {
    let batch = batch_of(vec![(
        "double",
        Arc::new(Float64Array::from(vec![
            -0.0,
            f64::from_bits(0xFFF0_0000_0000_0001),
        ])),
    )]);
    let encoded = encode_rows(&batch).expect("encode");
    let values: Vec<&[u8]> = encoded.iter().collect();
    let decoded = decode_rows(&batch.schema(), &values).expect("decode");
    let doubles = decoded.column(0).as_primitive::<Float64Type>();
    assert_eq!(doubles.value(0).to_bits(), (-0.0f64).to_bits());
    assert_eq!(doubles.value(1).to_bits(), 0xFFF0_0000_0000_0001);
}

#[test]
fn rows_of_other_result_types_round_trip() {
    let large_lists = LargeListArray::from_iter_primitive::<Int32Type, _, _>(vec![
        Some(vec![Some(1)]),
        None,
        Some(vec![None, Some(2)]),
    ]);
    let batch = batch_of(vec![
        (
            "tiny",
            Arc::new(Int8Array::from(vec![Some(-128), None, Some(127)])),
        ),
        (
            "small",
            Arc::new(Int16Array::from(vec![Some(-1), Some(2), None])),
        ),
        (
            "ubyte",
            Arc::new(UInt8Array::from(vec![Some(255), None, Some(0)])),
        ),
        (
            "ulong",
            Arc::new(UInt64Array::from(vec![Some(u64::MAX), Some(0), None])),
        ),
        (
            "real",
            Arc::new(Float32Array::from(vec![Some(1.5), None, Some(-0.0)])),
        ),
        (
            "large_string",
            Arc::new(LargeStringArray::from(vec![Some("a"), None, Some("")])),
        ),
        (
            "string_view",
            Arc::new(StringViewArray::from(vec![
                Some("a string longer than twelve bytes"),
                None,
                Some("short"),
            ])),
        ),
        (
            "large_binary",
            Arc::new(LargeBinaryArray::from(vec![
                Some(&b"\0"[..]),
                None,
                Some(&b""[..]),
            ])),
        ),
        (
            "binary_view",
            Arc::new(BinaryViewArray::from(vec![
                Some(&b"xy"[..]),
                Some(&b""[..]),
                None,
            ])),
        ),
        (
            "fixed_binary",
            Arc::new(
                FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                    vec![Some(vec![1u8, 2]), None, Some(vec![0, 0])].into_iter(),
                    2,
                )
                .expect("fixed binary"),
            ),
        ),
        (
            "timestamp_tz",
            Arc::new(
                TimestampNanosecondArray::from(vec![Some(-5), None, Some(i64::MAX)])
                    .with_timezone("Europe/Paris"),
            ),
        ),
        (
            "date64",
            Arc::new(Date64Array::from(vec![Some(86_400_000), None, Some(-1)])),
        ),
        (
            "time32",
            Arc::new(Time32SecondArray::from(vec![Some(59), None, Some(0)])),
        ),
        (
            "duration",
            Arc::new(DurationSecondArray::from(vec![Some(-3), Some(3), None])),
        ),
        (
            "decimal256",
            Arc::new(
                Decimal256Array::from(vec![
                    Some(i256::from_i128(-10_i128.pow(30))),
                    None,
                    Some(i256::ZERO),
                ])
                .with_precision_and_scale(50, 5)
                .expect("decimal256"),
            ),
        ),
        (
            "interval",
            Arc::new(IntervalMonthDayNanoArray::from(vec![
                Some(IntervalMonthDayNano::new(1, -2, 3)),
                None,
                Some(IntervalMonthDayNano::new(0, 0, -1)),
            ])),
        ),
        ("large_list", Arc::new(large_lists)),
        ("null", Arc::new(NullArray::new(3))),
    ]);
    assert_rows_round_trip(&batch);
}

#[test]
fn non_nullable_fields_round_trip() {
    let inner = Fields::from(vec![Field::new("id", DataType::Int64, false)]);
    let structs = StructArray::try_new(
        inner.clone(),
        vec![Arc::new(Int64Array::from(vec![1, 0]))],
        Some(NullBuffer::from(vec![true, false])),
    )
    .expect("struct");
    let schema = Arc::new(Schema::new(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("inner", DataType::Struct(inner), true),
    ]));
    let batch = RecordBatch::try_new(
        schema,
        vec![
            Arc::new(StringArray::from(vec!["k1", "k2"])),
            Arc::new(structs),
        ],
    )
    .expect("batch");
    assert_rows_round_trip(&batch);
}

#[test]
fn rows_without_columns_round_trip() {
    let schema = Arc::new(Schema::empty());
    let options = RecordBatchOptions::new().with_row_count(Some(2));
    let batch = RecordBatch::try_new_with_options(schema, vec![], &options).expect("batch");
    assert_rows_round_trip(&batch);
}

#[test]
fn a_value_holds_no_schema() {
    let batch = batch_of(vec![
        ("a", Arc::new(Int32Array::from(vec![Some(1)]))),
        ("b", Arc::new(StringArray::from(vec![Some("xy")]))),
        ("c", Arc::new(Int64Array::from(vec![None::<i64>]))),
    ]);
    let encoded = encode_rows(&batch).expect("encode");
    // Version, NULL bitmap, 4 bytes of INT, length and 2 bytes of STRING.
    let rows: Vec<&[u8]> = encoded.iter().collect();
    assert_eq!(rows, [&[1, 0b011, 1, 0, 0, 0, 2, b'x', b'y'][..]]);
}

#[test]
fn unsupported_value_types_are_an_error() {
    let fields = UnionFields::try_new(vec![0], vec![Field::new("a", DataType::Int32, true)])
        .expect("union fields");
    let union = UnionArray::try_new(
        fields,
        ScalarBuffer::from(vec![0i8]),
        None,
        vec![Arc::new(Int32Array::from(vec![1]))],
    )
    .expect("union");
    let batch = batch_of(vec![("u", Arc::new(union))]);
    let error = encode_rows(&batch).expect_err("union");
    assert!(
        matches!(error, CodecError::UnsupportedValueType { .. }),
        "{error}"
    );
    let error = decode_rows::<&[u8]>(&batch.schema(), &[]).expect_err("union");
    assert!(
        matches!(error, CodecError::UnsupportedValueType { .. }),
        "{error}"
    );
}

#[test]
fn every_truncated_value_is_an_error() {
    let batch = eddy_types_batch();
    let encoded = encode_rows(&batch).expect("encode");
    for value in encoded.iter() {
        for length in 0..value.len() {
            let result = decode_rows(&batch.schema(), &[&value[..length]]);
            assert!(result.is_err(), "{length} of {} bytes decoded", value.len());
        }
    }
}

#[test]
fn trailing_bytes_are_an_error() {
    let batch = eddy_types_batch();
    let mut value = encode_rows(&batch)
        .expect("encode")
        .iter()
        .next()
        .expect("row")
        .to_vec();
    value.push(0);
    let error = decode_rows(&batch.schema(), &[value]).expect_err("trailing byte");
    assert!(
        matches!(
            error,
            CodecError::Corrupt {
                expected: "the end",
                ..
            }
        ),
        "{error}"
    );
}
