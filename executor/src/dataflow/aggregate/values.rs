//! Typed, totally ordered values of an aggregate's argument, for the aggregates that keep a
//! multiset of values per group (MIN, MAX, COUNT_DISTINCT, COLLECT_*, TOPK, *_BY_OFFSET).
//!
//! Five kinds cover every supported type: integers and everything stored as one (booleans,
//! dates, times, timestamps, durations) as `i64`, floats as totally ordered `f64`, decimals as
//! `i128`, strings and binaries as bytes, and ARRAYs, MAPs and STRUCTs as their encoding in
//! Eddy's row codec (equal values, equal bytes; their order is only the bytes', so the
//! aggregates that order values, MIN, MAX, TOPK and COUNT_DISTINCT, do not take them). Each
//! kind reads an Arrow column, builds one back, and encodes values for saved state.
//!
//! Never: build a `ScalarValue` per row, or allocate per row for fixed-width values.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt::Debug;
use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, ArrowPrimitiveType, AsArray, BinaryArray, BinaryViewArray, BooleanArray,
    Decimal128Array, Float32Array, Float64Array, LargeBinaryArray, LargeStringArray,
    PrimitiveArray, StringArray, StringViewArray,
};
use arrow::array::{RecordBatch, make_array, new_null_array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};

use crate::row_codec::{decode_rows, encode_rows};

use super::encoding::{Decoder, Encoder, corrupt};
use super::{AggregateError, AggregateFunction, GroupStates};

/// Runs `$body` with `$T` naming the Arrow primitive type of `$data_type`, for every type
/// whose values convert losslessly to `i64`; `$other` for any other type.
macro_rules! with_integer_type {
    ($data_type:expr, $T:ident => $body:expr, _ => $other:expr) => {
        match $data_type {
            ::arrow::datatypes::DataType::Int8 => {
                type $T = ::arrow::datatypes::Int8Type;
                $body
            }
            ::arrow::datatypes::DataType::Int16 => {
                type $T = ::arrow::datatypes::Int16Type;
                $body
            }
            ::arrow::datatypes::DataType::Int32 => {
                type $T = ::arrow::datatypes::Int32Type;
                $body
            }
            ::arrow::datatypes::DataType::Int64 => {
                type $T = ::arrow::datatypes::Int64Type;
                $body
            }
            ::arrow::datatypes::DataType::UInt8 => {
                type $T = ::arrow::datatypes::UInt8Type;
                $body
            }
            ::arrow::datatypes::DataType::UInt16 => {
                type $T = ::arrow::datatypes::UInt16Type;
                $body
            }
            ::arrow::datatypes::DataType::UInt32 => {
                type $T = ::arrow::datatypes::UInt32Type;
                $body
            }
            ::arrow::datatypes::DataType::Date32 => {
                type $T = ::arrow::datatypes::Date32Type;
                $body
            }
            ::arrow::datatypes::DataType::Date64 => {
                type $T = ::arrow::datatypes::Date64Type;
                $body
            }
            ::arrow::datatypes::DataType::Time32(::arrow::datatypes::TimeUnit::Second) => {
                type $T = ::arrow::datatypes::Time32SecondType;
                $body
            }
            ::arrow::datatypes::DataType::Time32(::arrow::datatypes::TimeUnit::Millisecond) => {
                type $T = ::arrow::datatypes::Time32MillisecondType;
                $body
            }
            ::arrow::datatypes::DataType::Time64(::arrow::datatypes::TimeUnit::Microsecond) => {
                type $T = ::arrow::datatypes::Time64MicrosecondType;
                $body
            }
            ::arrow::datatypes::DataType::Time64(::arrow::datatypes::TimeUnit::Nanosecond) => {
                type $T = ::arrow::datatypes::Time64NanosecondType;
                $body
            }
            ::arrow::datatypes::DataType::Timestamp(::arrow::datatypes::TimeUnit::Second, _) => {
                type $T = ::arrow::datatypes::TimestampSecondType;
                $body
            }
            ::arrow::datatypes::DataType::Timestamp(
                ::arrow::datatypes::TimeUnit::Millisecond,
                _,
            ) => {
                type $T = ::arrow::datatypes::TimestampMillisecondType;
                $body
            }
            ::arrow::datatypes::DataType::Timestamp(
                ::arrow::datatypes::TimeUnit::Microsecond,
                _,
            ) => {
                type $T = ::arrow::datatypes::TimestampMicrosecondType;
                $body
            }
            ::arrow::datatypes::DataType::Timestamp(
                ::arrow::datatypes::TimeUnit::Nanosecond,
                _,
            ) => {
                type $T = ::arrow::datatypes::TimestampNanosecondType;
                $body
            }
            ::arrow::datatypes::DataType::Duration(::arrow::datatypes::TimeUnit::Second) => {
                type $T = ::arrow::datatypes::DurationSecondType;
                $body
            }
            ::arrow::datatypes::DataType::Duration(::arrow::datatypes::TimeUnit::Millisecond) => {
                type $T = ::arrow::datatypes::DurationMillisecondType;
                $body
            }
            ::arrow::datatypes::DataType::Duration(::arrow::datatypes::TimeUnit::Microsecond) => {
                type $T = ::arrow::datatypes::DurationMicrosecondType;
                $body
            }
            ::arrow::datatypes::DataType::Duration(::arrow::datatypes::TimeUnit::Nanosecond) => {
                type $T = ::arrow::datatypes::DurationNanosecondType;
                $body
            }
            _ => $other,
        }
    };
}
pub(super) use with_integer_type;

/// The kinds of value the multiset aggregates hold.
enum Kind {
    Integer(IntegerKind),
    Float(FloatKind),
    Decimal(DecimalKind),
    Bytes(BytesKind),
    Nested(NestedKind),
}

/// The kind of `data_type`'s values, `None` for a type the multiset aggregates do not take.
fn kind_of(data_type: &DataType) -> Option<Kind> {
    let data_type = data_type.clone();
    Some(match &data_type {
        _ if is_stored_as_integer(&data_type) => Kind::Integer(IntegerKind { data_type }),
        DataType::Float32 | DataType::Float64 => Kind::Float(FloatKind { data_type }),
        DataType::Decimal128(_, _) => Kind::Decimal(DecimalKind { data_type }),
        DataType::Utf8
        | DataType::LargeUtf8
        | DataType::Utf8View
        | DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView => Kind::Bytes(BytesKind { data_type }),
        DataType::List(_) | DataType::Map(_, _) | DataType::Struct(_) => {
            Kind::Nested(NestedKind::new(data_type).ok()?)
        }
        _ => return None,
    })
}

/// Makes one aggregate's states for values of kind `K`, for [`states_of_kind`].
pub(super) trait KindStates {
    fn of_kind<K: ValueKind>(self, kind: K) -> Box<dyn GroupStates>;
}

/// `make`'s states for `input`'s kind of value; an error names `function` for a type no kind
/// covers.
pub(super) fn states_of_kind(
    function: AggregateFunction,
    input: &DataType,
    make: impl KindStates,
) -> Result<Box<dyn GroupStates>, AggregateError> {
    let kind = kind_of(input).ok_or_else(|| AggregateError::UnsupportedType {
        function: function.name(),
        data_type: input.clone(),
    })?;
    Ok(match kind {
        Kind::Integer(kind) => make.of_kind(kind),
        Kind::Float(kind) => make.of_kind(kind),
        Kind::Decimal(kind) => make.of_kind(kind),
        Kind::Bytes(kind) => make.of_kind(kind),
        Kind::Nested(kind) => make.of_kind(kind),
    })
}

/// Whether `data_type` is an integer type whose values convert losslessly to `i64` (every
/// one but UBIGINT): the integers SUM and AVG take, and [`with_integer_type`] handles.
pub(super) fn is_integer(data_type: &DataType) -> bool {
    matches!(
        data_type,
        DataType::Int8
            | DataType::Int16
            | DataType::Int32
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16
            | DataType::UInt32
    )
}

/// Whether `data_type` is a boolean or one of the types [`with_integer_type`] handles.
fn is_stored_as_integer(data_type: &DataType) -> bool {
    use arrow::datatypes::TimeUnit::{Microsecond, Millisecond, Nanosecond, Second};
    is_integer(data_type)
        || matches!(
            data_type,
            DataType::Boolean
                | DataType::Date32
                | DataType::Date64
                | DataType::Time32(Second | Millisecond)
                | DataType::Time64(Microsecond | Nanosecond)
                | DataType::Timestamp(_, _)
                | DataType::Duration(_)
        )
}

/// Whether the multiset aggregates that keep values in arrival order (COLLECT_*,
/// *_BY_OFFSET) take `data_type`.
pub(super) fn is_supported(data_type: &DataType) -> bool {
    kind_of(data_type).is_some()
}

/// Whether the aggregates that order values (MIN, MAX, TOPK, COUNT_DISTINCT) take
/// `data_type`: every supported type but ARRAY, MAP and STRUCT.
pub(super) fn is_ordered(data_type: &DataType) -> bool {
    !matches!(kind_of(data_type), None | Some(Kind::Nested(_)))
}

/// One kind of value: how to read it from a column, order it, build a column and save it.
pub(super) trait ValueKind: Send + 'static {
    /// A value as the states hold it.
    type Owned: Ord + Clone + Borrow<Self::Borrowed> + Send + Debug;
    /// A value as read from a column, so lookups of a string need not allocate.
    type Borrowed: Ord + ?Sized;

    fn data_type(&self) -> &DataType;

    /// Calls `visit(row, value)` for every row of `array` (of this kind's type), with `None`
    /// for NULL.
    fn for_each_value<F>(&self, array: &dyn Array, visit: F) -> Result<(), AggregateError>
    where
        F: FnMut(usize, Option<&Self::Borrowed>) -> Result<(), AggregateError>;

    fn to_owned_value(value: &Self::Borrowed) -> Self::Owned;

    /// A column of this kind's type holding `values`.
    fn build_array<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a Self::Owned>>,
    ) -> Result<ArrayRef, AggregateError>;

    fn encode(value: &Self::Owned, encoder: &mut Encoder);

    fn decode(decoder: &mut Decoder<'_>) -> Result<Self::Owned, AggregateError>;
}

fn wrong_array(kind: &DataType, array: &dyn Array) -> AggregateError {
    AggregateError::Invariant {
        function: "aggregate",
        detail: format!(
            "an array of {} where {kind} was expected",
            array.data_type()
        ),
    }
}

/// Visits a primitive column's values, converted by `convert`.
fn visit_primitive<T, V, F>(
    array: &dyn Array,
    expected: &DataType,
    convert: impl Fn(T::Native) -> V,
    mut visit: F,
) -> Result<(), AggregateError>
where
    T: ArrowPrimitiveType,
    F: FnMut(usize, Option<&V>) -> Result<(), AggregateError>,
{
    let array = array
        .as_primitive_opt::<T>()
        .ok_or_else(|| wrong_array(expected, array))?;
    let values = array.values().iter();
    match array.nulls() {
        None => {
            for (row, &value) in values.enumerate() {
                visit(row, Some(&convert(value)))?;
            }
        }
        Some(nulls) => {
            for (row, &value) in values.enumerate() {
                let value = convert(value);
                visit(row, nulls.is_valid(row).then_some(&value))?;
            }
        }
    }
    Ok(())
}

/// Visits a column of strings or binaries as bytes.
fn visit_bytes<'a, F>(
    values: impl Iterator<Item = Option<&'a [u8]>>,
    mut visit: F,
) -> Result<(), AggregateError>
where
    F: FnMut(usize, Option<&[u8]>) -> Result<(), AggregateError>,
{
    for (row, value) in values.enumerate() {
        visit(row, value)?;
    }
    Ok(())
}

/// Integers, booleans and temporal types, held as `i64`.
pub(super) struct IntegerKind {
    data_type: DataType,
}

impl IntegerKind {
    fn build_primitive<'a, T>(
        &self,
        values: impl Iterator<Item = Option<&'a i64>>,
    ) -> Result<ArrayRef, AggregateError>
    where
        T: ArrowPrimitiveType,
        T::Native: TryFrom<i64>,
    {
        let values = values
            .map(|value| {
                value
                    .map(|&value| {
                        T::Native::try_from(value).map_err(|_| {
                            corrupt(format!("{value} does not fit {}", self.data_type))
                        })
                    })
                    .transpose()
            })
            .collect::<Result<PrimitiveArray<T>, AggregateError>>()?;
        // The data type only adds a time zone to `T`'s, which `with_data_type` accepts.
        Ok(Arc::new(values.with_data_type(self.data_type.clone())))
    }
}

impl ValueKind for IntegerKind {
    type Owned = i64;
    type Borrowed = i64;

    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn for_each_value<F>(&self, array: &dyn Array, mut visit: F) -> Result<(), AggregateError>
    where
        F: FnMut(usize, Option<&i64>) -> Result<(), AggregateError>,
    {
        if let DataType::Boolean = self.data_type {
            let booleans = array
                .as_boolean_opt()
                .ok_or_else(|| wrong_array(&self.data_type, array))?;
            for (row, value) in booleans.iter().enumerate() {
                visit(row, value.map(i64::from).as_ref())?;
            }
            return Ok(());
        }
        with_integer_type!(&self.data_type,
            T => visit_primitive::<T, i64, F>(array, &self.data_type, i64::from, visit),
            _ => Err(wrong_array(&self.data_type, array))
        )
    }

    fn to_owned_value(value: &i64) -> i64 {
        *value
    }

    fn build_array<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a i64>>,
    ) -> Result<ArrayRef, AggregateError> {
        if let DataType::Boolean = self.data_type {
            let booleans: BooleanArray =
                values.map(|value| value.map(|&value| value != 0)).collect();
            return Ok(Arc::new(booleans));
        }
        with_integer_type!(&self.data_type,
            T => self.build_primitive::<T>(values),
            _ => Err(corrupt(format!("{} is not an integer type", self.data_type)))
        )
    }

    fn encode(value: &i64, encoder: &mut Encoder) {
        encoder.put_i64(*value);
    }

    fn decode(decoder: &mut Decoder<'_>) -> Result<i64, AggregateError> {
        decoder.i64()
    }
}

/// An `f64` ordered totally: -inf < finite < +inf < NaN. Built only through
/// [`TotalF64::new`], which makes -0.0 equal to 0.0 and every NaN the same NaN, so equal
/// SQL values are one key.
#[derive(Clone, Copy, Debug)]
pub(super) struct TotalF64(f64);

impl TotalF64 {
    pub(super) fn new(value: f64) -> Self {
        if value.is_nan() {
            TotalF64(f64::NAN)
        } else if value == 0.0 {
            TotalF64(0.0)
        } else {
            TotalF64(value)
        }
    }
}

impl PartialEq for TotalF64 {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for TotalF64 {}

impl PartialOrd for TotalF64 {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for TotalF64 {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// FLOAT and DOUBLE, held as [`TotalF64`] (a float widens to a double exactly).
pub(super) struct FloatKind {
    data_type: DataType,
}

impl ValueKind for FloatKind {
    type Owned = TotalF64;
    type Borrowed = TotalF64;

    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn for_each_value<F>(&self, array: &dyn Array, visit: F) -> Result<(), AggregateError>
    where
        F: FnMut(usize, Option<&TotalF64>) -> Result<(), AggregateError>,
    {
        match self.data_type {
            DataType::Float32 => visit_primitive::<arrow::datatypes::Float32Type, _, F>(
                array,
                &self.data_type,
                |value| TotalF64::new(f64::from(value)),
                visit,
            ),
            _ => visit_primitive::<arrow::datatypes::Float64Type, _, F>(
                array,
                &self.data_type,
                TotalF64::new,
                visit,
            ),
        }
    }

    fn to_owned_value(value: &TotalF64) -> TotalF64 {
        *value
    }

    fn build_array<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a TotalF64>>,
    ) -> Result<ArrayRef, AggregateError> {
        Ok(match self.data_type {
            // Every value was widened from a FLOAT, so narrowing it back is exact.
            DataType::Float32 => Arc::new(
                values
                    .map(|value| value.map(|value| value.0 as f32))
                    .collect::<Float32Array>(),
            ),
            _ => Arc::new(
                values
                    .map(|value| value.map(|value| value.0))
                    .collect::<Float64Array>(),
            ),
        })
    }

    fn encode(value: &TotalF64, encoder: &mut Encoder) {
        encoder.put_f64(value.0);
    }

    fn decode(decoder: &mut Decoder<'_>) -> Result<TotalF64, AggregateError> {
        Ok(TotalF64::new(decoder.f64()?))
    }
}

/// DECIMAL(p, s), held as its unscaled `i128` (all values of a column share the scale).
pub(super) struct DecimalKind {
    data_type: DataType,
}

impl ValueKind for DecimalKind {
    type Owned = i128;
    type Borrowed = i128;

    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn for_each_value<F>(&self, array: &dyn Array, visit: F) -> Result<(), AggregateError>
    where
        F: FnMut(usize, Option<&i128>) -> Result<(), AggregateError>,
    {
        visit_primitive::<arrow::datatypes::Decimal128Type, _, F>(
            array,
            &self.data_type,
            |value| value,
            visit,
        )
    }

    fn to_owned_value(value: &i128) -> i128 {
        *value
    }

    fn build_array<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a i128>>,
    ) -> Result<ArrayRef, AggregateError> {
        let array: Decimal128Array = values.map(|value| value.copied()).collect();
        let array = match self.data_type {
            DataType::Decimal128(precision, scale) => {
                array.with_precision_and_scale(precision, scale)?
            }
            _ => array,
        };
        Ok(Arc::new(array))
    }

    fn encode(value: &i128, encoder: &mut Encoder) {
        encoder.put_i128(*value);
    }

    fn decode(decoder: &mut Decoder<'_>) -> Result<i128, AggregateError> {
        decoder.i128()
    }
}

/// The string a STRING value's bytes encode; only corrupt saved state can make this fail.
fn as_str(value: Option<&[u8]>) -> Result<Option<&str>, AggregateError> {
    value
        .map(std::str::from_utf8)
        .transpose()
        .map_err(|error| corrupt(format!("a STRING is not UTF-8: {error}")))
}

/// STRING and BYTES (every offset width and view), held as bytes: UTF-8 bytes order like the
/// strings they encode.
pub(super) struct BytesKind {
    data_type: DataType,
}

impl ValueKind for BytesKind {
    type Owned = Box<[u8]>;
    type Borrowed = [u8];

    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn for_each_value<F>(&self, array: &dyn Array, visit: F) -> Result<(), AggregateError>
    where
        F: FnMut(usize, Option<&[u8]>) -> Result<(), AggregateError>,
    {
        let wrong = || wrong_array(&self.data_type, array);
        match self.data_type {
            DataType::Utf8 => visit_bytes(
                array
                    .as_string_opt::<i32>()
                    .ok_or_else(wrong)?
                    .iter()
                    .map(|value| value.map(str::as_bytes)),
                visit,
            ),
            DataType::LargeUtf8 => visit_bytes(
                array
                    .as_string_opt::<i64>()
                    .ok_or_else(wrong)?
                    .iter()
                    .map(|value| value.map(str::as_bytes)),
                visit,
            ),
            DataType::Utf8View => visit_bytes(
                array
                    .as_string_view_opt()
                    .ok_or_else(wrong)?
                    .iter()
                    .map(|value| value.map(str::as_bytes)),
                visit,
            ),
            DataType::Binary => visit_bytes(
                array.as_binary_opt::<i32>().ok_or_else(wrong)?.iter(),
                visit,
            ),
            DataType::LargeBinary => visit_bytes(
                array.as_binary_opt::<i64>().ok_or_else(wrong)?.iter(),
                visit,
            ),
            _ => visit_bytes(array.as_binary_view_opt().ok_or_else(wrong)?.iter(), visit),
        }
    }

    fn to_owned_value(value: &[u8]) -> Box<[u8]> {
        value.into()
    }

    fn build_array<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a Box<[u8]>>>,
    ) -> Result<ArrayRef, AggregateError> {
        let values = values.map(|value| value.map(|value| &**value));
        Ok(match self.data_type {
            DataType::Utf8 => Arc::new(values.map(as_str).collect::<Result<StringArray, _>>()?),
            DataType::LargeUtf8 => Arc::new(
                values
                    .map(as_str)
                    .collect::<Result<LargeStringArray, _>>()?,
            ),
            DataType::Utf8View => {
                Arc::new(values.map(as_str).collect::<Result<StringViewArray, _>>()?)
            }
            DataType::Binary => Arc::new(values.collect::<BinaryArray>()),
            DataType::LargeBinary => Arc::new(values.collect::<LargeBinaryArray>()),
            _ => Arc::new(values.collect::<BinaryViewArray>()),
        })
    }

    fn encode(value: &Box<[u8]>, encoder: &mut Encoder) {
        encoder.put_bytes(value);
    }

    fn decode(decoder: &mut Decoder<'_>) -> Result<Box<[u8]>, AggregateError> {
        Ok(decoder.bytes()?.into())
    }
}

/// ARRAY, MAP and STRUCT values, held as their encoding in Eddy's row codec (one column).
pub(super) struct NestedKind {
    data_type: DataType,
    /// One nullable column of the type, to encode and decode values.
    schema: SchemaRef,
    /// The encoding of a NULL of the type, standing in for a missing value when building.
    null_value: Box<[u8]>,
}

impl NestedKind {
    fn new(data_type: DataType) -> Result<Self, AggregateError> {
        let schema = Arc::new(Schema::new(vec![Field::new(
            "value",
            data_type.clone(),
            true,
        )]));
        let null = RecordBatch::try_new(Arc::clone(&schema), vec![new_null_array(&data_type, 1)])
            .map_err(|error| corrupt(error.to_string()))?;
        let null_value = encode_rows(&null)
            .map_err(|error| corrupt(error.to_string()))?
            .iter()
            .next()
            .map(Box::from)
            .ok_or_else(|| corrupt("a NULL did not encode"))?;
        Ok(NestedKind {
            data_type,
            schema,
            null_value,
        })
    }
}

impl ValueKind for NestedKind {
    type Owned = Box<[u8]>;
    type Borrowed = [u8];

    fn data_type(&self) -> &DataType {
        &self.data_type
    }

    fn for_each_value<F>(&self, array: &dyn Array, mut visit: F) -> Result<(), AggregateError>
    where
        F: FnMut(usize, Option<&[u8]>) -> Result<(), AggregateError>,
    {
        if array.data_type() != &self.data_type {
            return Err(wrong_array(&self.data_type, array));
        }
        let column =
            RecordBatch::try_new(Arc::clone(&self.schema), vec![make_array(array.to_data())])
                .map_err(|_| wrong_array(&self.data_type, array))?;
        let encoded = encode_rows(&column).map_err(|error| corrupt(error.to_string()))?;
        for (row, value) in encoded.iter().enumerate() {
            visit(row, array.is_valid(row).then_some(value))?;
        }
        Ok(())
    }

    fn to_owned_value(value: &[u8]) -> Box<[u8]> {
        value.into()
    }

    fn build_array<'a>(
        &self,
        values: impl Iterator<Item = Option<&'a Box<[u8]>>>,
    ) -> Result<ArrayRef, AggregateError> {
        let values: Vec<&[u8]> = values
            .map(|value| value.map_or(&*self.null_value, |value| &**value))
            .collect();
        let decoded =
            decode_rows(&self.schema, &values).map_err(|error| corrupt(error.to_string()))?;
        Ok(Arc::clone(decoded.column(0)))
    }

    fn encode(value: &Box<[u8]>, encoder: &mut Encoder) {
        encoder.put_bytes(value);
    }

    fn decode(decoder: &mut Decoder<'_>) -> Result<Box<[u8]>, AggregateError> {
        Ok(decoder.bytes()?.into())
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{Date32Array, TimestampMillisecondArray};
    use arrow::datatypes::UInt32Type;

    use super::*;

    /// Reads a column through a kind and builds it back.
    fn round_trip<K: ValueKind>(kind: &K, array: &dyn Array) -> ArrayRef {
        let mut values: Vec<Option<K::Owned>> = Vec::new();
        kind.for_each_value(array, |_, value| {
            values.push(value.map(K::to_owned_value));
            Ok(())
        })
        .unwrap();
        let mut encoder = Encoder::appending_to(Vec::new());
        for value in values.iter().flatten() {
            K::encode(value, &mut encoder);
        }
        let bytes = encoder.finish();
        let mut decoder = Decoder::new(&bytes).unwrap();
        for value in values.iter().flatten() {
            assert_eq!(&K::decode(&mut decoder).unwrap(), value);
        }
        decoder.finish().unwrap();
        kind.build_array(values.iter().map(Option::as_ref)).unwrap()
    }

    fn assert_round_trips(array: ArrayRef) {
        let built = match kind_of(array.data_type()).unwrap() {
            Kind::Integer(kind) => round_trip(&kind, &array),
            Kind::Float(kind) => round_trip(&kind, &array),
            Kind::Decimal(kind) => round_trip(&kind, &array),
            Kind::Bytes(kind) => round_trip(&kind, &array),
            Kind::Nested(kind) => round_trip(&kind, &array),
        };
        assert_eq!(built.to_data(), array.to_data());
    }

    #[test]
    fn every_kind_reads_and_builds_its_columns() {
        assert_round_trips(Arc::new(BooleanArray::from(vec![
            Some(true),
            None,
            Some(false),
        ])));
        assert_round_trips(Arc::new(Date32Array::from(vec![
            Some(-3),
            None,
            Some(19000),
        ])));
        assert_round_trips(Arc::new(
            TimestampMillisecondArray::from(vec![Some(1), None]).with_timezone("UTC"),
        ));
        assert_round_trips(Arc::new(PrimitiveArray::<UInt32Type>::from(vec![u32::MAX])));
        assert_round_trips(Arc::new(Float32Array::from(vec![Some(1.5), None])));
        assert_round_trips(Arc::new(Float64Array::from(vec![Some(-2.25), None])));
        assert_round_trips(Arc::new(
            Decimal128Array::from(vec![Some(12345), None])
                .with_precision_and_scale(7, 2)
                .unwrap(),
        ));
        assert_round_trips(Arc::new(StringArray::from(vec![Some("é"), None, Some("")])));
        assert_round_trips(Arc::new(LargeStringArray::from(vec![Some("x"), None])));
        assert_round_trips(Arc::new(StringViewArray::from(vec![
            Some("a long string view"),
            None,
        ])));
        assert_round_trips(Arc::new(BinaryArray::from(vec![Some(&b"\xff"[..]), None])));
        assert_round_trips(Arc::new(LargeBinaryArray::from(vec![
            Some(&b"\x00"[..]),
            None,
        ])));
        assert_round_trips(Arc::new(BinaryViewArray::from(vec![Some(&b"v"[..]), None])));
    }

    #[test]
    fn floats_order_totally_with_one_zero_and_one_nan() {
        let mut values = [
            f64::NAN,
            1.0,
            -0.0,
            f64::NEG_INFINITY,
            0.0,
            -f64::NAN,
            f64::INFINITY,
        ]
        .map(TotalF64::new);
        values.sort();
        let ordered: Vec<f64> = values.iter().map(|value| value.0).collect();
        assert_eq!(
            &ordered[..5],
            &[f64::NEG_INFINITY, 0.0, 0.0, 1.0, f64::INFINITY]
        );
        assert!(ordered[5].is_nan() && ordered[6].is_nan());
        assert_eq!(TotalF64::new(-0.0), TotalF64::new(0.0));
        assert_eq!(TotalF64::new(f64::NAN), TotalF64::new(-f64::NAN));
    }

    #[test]
    fn a_column_of_another_type_is_an_error() {
        let Some(Kind::Integer(kind)) = kind_of(&DataType::Int64) else {
            panic!("BIGINT is an integer kind");
        };
        let strings = StringArray::from(vec!["a"]);
        assert!(kind.for_each_value(&strings, |_, _| Ok(())).is_err());
        assert!(kind_of(&DataType::Null).is_none());
    }
}
