//! Fixtures both formats' tests share (a batch of every Eddy type, key columns of every key
//! type, seeded random data), and the tests that hold for keys and values alike: format
//! versions, invalid bytes, random and mutated bytes.
//!
//! Never: use randomness that is not seeded; a failure must replay.

use std::sync::Arc;

use arrow::array::builder::{Int64Builder, MapBuilder, MapFieldNames, StringBuilder};
use arrow::array::{
    Array, ArrayRef, BinaryArray, BinaryViewArray, BooleanArray, Date32Array, Decimal128Array,
    Decimal256Array, FixedSizeBinaryArray, Float32Array, Float64Array, Int8Array, Int32Array,
    Int64Array, LargeStringArray, ListArray, StringArray, StringViewArray, StructArray,
    Time64MicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray, UInt64Array,
};
use arrow::buffer::{NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Fields, Int32Type, Int64Type, Schema, i256};
use arrow::record_batch::RecordBatch;

use super::{CodecError, Encoding, decode_keys, decode_rows, encode_keys, encode_rows};

pub(super) fn batch_of(columns: Vec<(&str, ArrayRef)>) -> RecordBatch {
    let fields: Vec<Field> = columns
        .iter()
        .map(|(name, array)| Field::new(*name, array.data_type().clone(), true))
        .collect();
    let arrays = columns.into_iter().map(|(_, array)| array).collect();
    RecordBatch::try_new(Arc::new(Schema::new(fields)), arrays).expect("test batch")
}

pub(super) fn encode_key_rows(columns: &[ArrayRef]) -> Vec<Vec<u8>> {
    let rows = columns.first().map_or(0, |column| column.len());
    let encoded = encode_keys(columns, rows).expect("encode keys");
    encoded.iter().map(<[u8]>::to_vec).collect()
}

/// xorshift64: deterministic test data without a dependency.
pub(super) struct Random(pub(super) u64);

impl Random {
    pub(super) fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    pub(super) fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }
}

pub(super) fn list_of_structs() -> ArrayRef {
    let fields = Fields::from(vec![
        Field::new("name", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
    ]);
    let names = StringArray::from(vec![Some("a"), None, Some(""), Some("d"), Some("e")]);
    let scores = Float64Array::from(vec![Some(1.5), Some(-2.0), None, Some(0.0), None]);
    let structs = StructArray::try_new(
        fields.clone(),
        vec![Arc::new(names), Arc::new(scores)],
        Some(NullBuffer::from(vec![true, true, true, false, true])),
    )
    .expect("structs");
    let item = Arc::new(Field::new("item", DataType::Struct(fields), true));
    // Rows: [s0, s1], NULL, [], [s2, NULL struct, s4].
    let offsets = OffsetBuffer::new(ScalarBuffer::from(vec![0, 2, 2, 2, 5]));
    let nulls = NullBuffer::from(vec![true, false, true, true]);
    Arc::new(ListArray::try_new(item, offsets, Arc::new(structs), Some(nulls)).expect("list"))
}

pub(super) fn string_to_int_map() -> ArrayRef {
    let names = MapFieldNames {
        entry: "entries".into(),
        key: "key".into(),
        value: "value".into(),
    };
    let mut builder = MapBuilder::new(Some(names), StringBuilder::new(), Int64Builder::new());
    builder.keys().append_value("one");
    builder.values().append_value(1);
    builder.keys().append_value("");
    builder.values().append_null();
    builder.append(true).expect("map row");
    builder.append(false).expect("map row");
    builder.append(true).expect("map row");
    builder.keys().append_value("minus");
    builder.values().append_value(-7);
    builder.append(true).expect("map row");
    Arc::new(builder.finish())
}

pub(super) fn struct_with_list() -> ArrayRef {
    let ints = Int32Array::from(vec![Some(7), Some(-1), None, Some(3)]);
    let lists = ListArray::from_iter_primitive::<Int64Type, _, _>(vec![
        Some(vec![Some(1), None, Some(-3)]),
        None,
        Some(vec![]),
        Some(vec![Some(i64::MIN)]),
    ]);
    let fields = Fields::from(vec![
        Field::new("a", DataType::Int32, true),
        Field::new("b", lists.data_type().clone(), true),
    ]);
    Arc::new(
        StructArray::try_new(
            fields,
            vec![Arc::new(ints), Arc::new(lists)],
            Some(NullBuffer::from(vec![true, true, false, true])),
        )
        .expect("struct"),
    )
}

/// Every Eddy column type, with NULLs, four rows.
pub(super) fn eddy_types_batch() -> RecordBatch {
    batch_of(vec![
        (
            "boolean",
            Arc::new(BooleanArray::from(vec![
                Some(true),
                None,
                Some(false),
                Some(true),
            ])),
        ),
        (
            "int",
            Arc::new(Int32Array::from(vec![
                Some(i32::MIN),
                None,
                Some(-1),
                Some(i32::MAX),
            ])),
        ),
        (
            "bigint",
            Arc::new(Int64Array::from(vec![
                Some(i64::MIN),
                Some(0),
                None,
                Some(42),
            ])),
        ),
        (
            "double",
            Arc::new(Float64Array::from(vec![
                Some(-0.0),
                Some(f64::NAN),
                None,
                Some(f64::NEG_INFINITY),
            ])),
        ),
        (
            "decimal",
            Arc::new(
                Decimal128Array::from(vec![Some(-12_345), None, Some(0), Some(9_999_999_999)])
                    .with_precision_and_scale(10, 2)
                    .expect("decimal"),
            ),
        ),
        (
            "string",
            Arc::new(StringArray::from(vec![
                Some(""),
                None,
                Some("héllo\0wörld"),
                Some("x"),
            ])),
        ),
        (
            "bytes",
            Arc::new(BinaryArray::from(vec![
                Some(&b""[..]),
                None,
                Some(&[0, 255, 0][..]),
                Some(&b"ab"[..]),
            ])),
        ),
        (
            "date",
            Arc::new(Date32Array::from(vec![
                Some(-719_162),
                None,
                Some(0),
                Some(19_000),
            ])),
        ),
        (
            "time",
            Arc::new(Time64MicrosecondArray::from(vec![
                Some(0),
                Some(86_399_999_999),
                None,
                Some(1),
            ])),
        ),
        (
            "timestamp",
            Arc::new(TimestampMillisecondArray::from(vec![
                Some(-1),
                None,
                Some(1_700_000_000_000),
                Some(0),
            ])),
        ),
        (
            "array",
            Arc::new(ListArray::from_iter_primitive::<Int32Type, _, _>(vec![
                Some(vec![Some(1), None]),
                None,
                Some(vec![]),
                Some(vec![Some(-5)]),
            ])),
        ),
        ("map", string_to_int_map()),
        ("struct", struct_with_list()),
        ("array_of_structs", list_of_structs()),
    ])
}

pub(super) fn key_columns_of_every_key_type() -> Vec<ArrayRef> {
    vec![
        Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)])),
        Arc::new(Int32Array::from(vec![Some(-1), Some(i32::MAX), None])),
        Arc::new(Int64Array::from(vec![None, Some(i64::MIN), Some(5)])),
        Arc::new(Float64Array::from(vec![
            Some(-1.25),
            None,
            Some(f64::INFINITY),
        ])),
        Arc::new(
            Decimal128Array::from(vec![Some(-1), Some(12_345), None])
                .with_precision_and_scale(10, 2)
                .expect("decimal"),
        ),
        Arc::new(StringArray::from(vec![Some("a\0b"), Some(""), None])),
        Arc::new(BinaryArray::from(vec![
            None,
            Some(&[0u8, 0xFF][..]),
            Some(&b""[..]),
        ])),
        Arc::new(Date32Array::from(vec![Some(-1), None, Some(19_000)])),
        Arc::new(Time64MicrosecondArray::from(vec![Some(1), Some(0), None])),
        Arc::new(TimestampMillisecondArray::from(vec![
            None,
            Some(-1),
            Some(1),
        ])),
        Arc::new(Int8Array::from(vec![Some(-128), Some(127), None])),
        Arc::new(UInt64Array::from(vec![Some(u64::MAX), None, Some(0)])),
        Arc::new(Float32Array::from(vec![Some(-3.5), Some(1.0), None])),
        Arc::new(LargeStringArray::from(vec![Some("x"), None, Some("")])),
        Arc::new(StringViewArray::from(vec![
            Some("a long string view value"),
            None,
            Some("v"),
        ])),
        Arc::new(BinaryViewArray::from(vec![
            Some(&b"\0"[..]),
            None,
            Some(&b"z"[..]),
        ])),
        Arc::new(
            FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                vec![Some(vec![0u8, 1, 2]), None, Some(vec![255, 0, 0])].into_iter(),
                3,
            )
            .expect("fixed binary"),
        ),
        Arc::new(
            TimestampNanosecondArray::from(vec![Some(1), None, Some(-1)]).with_timezone("UTC"),
        ),
        Arc::new(
            Decimal256Array::from(vec![Some(i256::MINUS_ONE), None, Some(i256::from_i128(7))])
                .with_precision_and_scale(40, 3)
                .expect("decimal256"),
        ),
    ]
}

#[test]
fn unknown_versions_are_rejected() {
    let batch = batch_of(vec![("a", Arc::new(Int32Array::from(vec![1])))]);
    let error = decode_rows(&batch.schema(), &[[2u8, 1, 1, 0, 0, 0]]).expect_err("version 2");
    assert!(
        matches!(
            error,
            CodecError::UnknownVersion {
                encoding: Encoding::Value,
                version: 2,
                ..
            }
        ),
        "{error}"
    );
    let error = decode_keys(&[DataType::Boolean], &[[0u8, 1, 1]]).expect_err("version 0");
    assert!(
        matches!(
            error,
            CodecError::UnknownVersion {
                encoding: Encoding::Key,
                version: 0,
                ..
            }
        ),
        "{error}"
    );
}

#[test]
fn invalid_utf8_is_an_error() {
    let schema = Arc::new(Schema::new(vec![Field::new("s", DataType::Utf8, true)]));
    let error = decode_rows(&schema, &[[1u8, 1, 2, 0xC3, 0x28]]).expect_err("bad UTF-8");
    assert!(matches!(error, CodecError::InvalidColumn { .. }), "{error}");
    let error = decode_keys(&[DataType::Utf8], &[[1u8, 1, 0xFF, 0, 0]]).expect_err("bad UTF-8");
    assert!(matches!(error, CodecError::InvalidColumn { .. }), "{error}");
}

#[test]
fn random_and_mutated_bytes_never_panic() {
    let mut random = Random(0xBAD_B17E5);
    let batch = eddy_types_batch();
    let schema = batch.schema();
    let values: Vec<Vec<u8>> = encode_rows(&batch)
        .expect("encode")
        .iter()
        .map(<[u8]>::to_vec)
        .collect();
    let key_columns = key_columns_of_every_key_type();
    let key_types: Vec<DataType> = key_columns.iter().map(|c| c.data_type().clone()).collect();
    let keys = encode_key_rows(&key_columns);
    for _ in 0..3000 {
        let mut value = values[random.below(values.len() as u64) as usize].clone();
        let mut key = keys[random.below(keys.len() as u64) as usize].clone();
        for bytes in [&mut value, &mut key] {
            for _ in 0..=random.below(3) {
                let position = random.below(bytes.len() as u64) as usize;
                bytes[position] = random.next() as u8;
            }
        }
        let _ = decode_rows(&schema, &[&value]);
        let _ = decode_keys(&key_types, &[&key]);

        let length = random.below(80) as usize;
        let mut noise: Vec<u8> = (0..length).map(|_| random.next() as u8).collect();
        if let Some(first) = noise.first_mut() {
            *first = 1;
        }
        let _ = decode_rows(&schema, &[&noise]);
        let _ = decode_keys(&key_types, &[&noise]);
    }
}
