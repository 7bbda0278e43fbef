//! Arrow types to Postgres types: the one table that decides which OID a column is
//! announced as, and so how `encode.rs` must write its values.
//!
//! Only built-in OIDs are used, since drivers such as tokio-postgres look unknown OIDs up
//! in `pg_catalog`, which Eddy does not have. Integers widen (unsigned to the next signed
//! type), structs and maps become `json`, and anything without a Postgres counterpart is
//! sent as `text` through Arrow's display formatter.
//!
//! Never: announce a type here that `encode.rs` does not write in both formats.

use arrow::datatypes::{DataType, Field, Schema};
use pgwire::api::Type;
use pgwire::api::results::{FieldFormat, FieldInfo};

/// How the values of one Arrow type are written on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum WireType {
    Bool,
    Int2,
    Int4,
    Int8,
    Float4,
    Float8,
    Numeric,
    Text,
    Bytea,
    Date,
    Time,
    Timestamp,
    TimestampTz,
    /// Structs, maps and lists of those, as JSON text.
    Json,
    /// A one-dimensional array of a scalar wire type.
    Array(Box<WireType>),
    /// Anything else: Arrow's display text, announced as `text`.
    DisplayText,
}

impl WireType {
    pub(crate) fn of(data_type: &DataType) -> WireType {
        match data_type {
            DataType::Boolean => WireType::Bool,
            DataType::Int8 | DataType::Int16 | DataType::UInt8 => WireType::Int2,
            DataType::Int32 | DataType::UInt16 => WireType::Int4,
            DataType::Int64 | DataType::UInt32 => WireType::Int8,
            DataType::UInt64 | DataType::Decimal128(_, _) | DataType::Decimal256(_, _) => {
                WireType::Numeric
            }
            DataType::Float16 | DataType::Float32 => WireType::Float4,
            DataType::Float64 => WireType::Float8,
            DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => WireType::Text,
            DataType::Binary
            | DataType::LargeBinary
            | DataType::BinaryView
            | DataType::FixedSizeBinary(_) => WireType::Bytea,
            DataType::Date32 | DataType::Date64 => WireType::Date,
            DataType::Time32(_) | DataType::Time64(_) => WireType::Time,
            DataType::Timestamp(_, None) => WireType::Timestamp,
            DataType::Timestamp(_, Some(_)) => WireType::TimestampTz,
            DataType::Dictionary(_, value_type) => WireType::of(value_type),
            DataType::Struct(_) | DataType::Map(_, _) => WireType::Json,
            DataType::List(element) | DataType::LargeList(element) => {
                match WireType::of(element.data_type()) {
                    WireType::Json | WireType::Array(_) => WireType::Json,
                    WireType::DisplayText => WireType::DisplayText,
                    scalar => WireType::Array(Box::new(scalar)),
                }
            }
            _ => WireType::DisplayText,
        }
    }

    pub(crate) fn pg_type(&self) -> Type {
        match self {
            WireType::Bool => Type::BOOL,
            WireType::Int2 => Type::INT2,
            WireType::Int4 => Type::INT4,
            WireType::Int8 => Type::INT8,
            WireType::Float4 => Type::FLOAT4,
            WireType::Float8 => Type::FLOAT8,
            WireType::Numeric => Type::NUMERIC,
            WireType::Text | WireType::DisplayText => Type::TEXT,
            WireType::Bytea => Type::BYTEA,
            WireType::Date => Type::DATE,
            WireType::Time => Type::TIME,
            WireType::Timestamp => Type::TIMESTAMP,
            WireType::TimestampTz => Type::TIMESTAMPTZ,
            WireType::Json => Type::JSON,
            WireType::Array(element) => element.array_pg_type(),
        }
    }

    fn array_pg_type(&self) -> Type {
        match self {
            WireType::Bool => Type::BOOL_ARRAY,
            WireType::Int2 => Type::INT2_ARRAY,
            WireType::Int4 => Type::INT4_ARRAY,
            WireType::Int8 => Type::INT8_ARRAY,
            WireType::Float4 => Type::FLOAT4_ARRAY,
            WireType::Float8 => Type::FLOAT8_ARRAY,
            WireType::Numeric => Type::NUMERIC_ARRAY,
            WireType::Text | WireType::DisplayText => Type::TEXT_ARRAY,
            WireType::Bytea => Type::BYTEA_ARRAY,
            WireType::Date => Type::DATE_ARRAY,
            WireType::Time => Type::TIME_ARRAY,
            WireType::Timestamp => Type::TIMESTAMP_ARRAY,
            WireType::TimestampTz => Type::TIMESTAMPTZ_ARRAY,
            WireType::Json | WireType::Array(_) => Type::JSON_ARRAY,
        }
    }

    /// `pg_type.typlen`: bytes of a fixed-width value, -1 for variable width.
    fn type_size(&self) -> i16 {
        match self {
            WireType::Bool => 1,
            WireType::Int2 => 2,
            WireType::Int4 | WireType::Float4 | WireType::Date => 4,
            WireType::Int8
            | WireType::Float8
            | WireType::Time
            | WireType::Timestamp
            | WireType::TimestampTz => 8,
            WireType::Numeric
            | WireType::Text
            | WireType::Bytea
            | WireType::Json
            | WireType::Array(_)
            | WireType::DisplayText => -1,
        }
    }
}

/// The Postgres type a column or parameter of this Arrow type is announced as.
pub(crate) fn pg_type(data_type: &DataType) -> Type {
    WireType::of(data_type).pg_type()
}

/// The RowDescription entry of one column.
pub(crate) fn field_info(field: &Field, format: FieldFormat) -> FieldInfo {
    let wire_type = WireType::of(field.data_type());
    FieldInfo::new(
        field.name().clone(),
        None,
        None,
        wire_type.pg_type(),
        format,
    )
    .with_type_size(wire_type.type_size())
}

/// RowDescription entries for a result, one format per column.
pub(crate) fn row_fields(schema: &Schema, formats: &[FieldFormat]) -> Vec<FieldInfo> {
    schema
        .fields()
        .iter()
        .zip(formats)
        .map(|(field, format)| field_info(field, *format))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::datatypes::{Field, Fields, TimeUnit};

    use super::*;

    fn list_of(element: DataType) -> DataType {
        DataType::List(Arc::new(Field::new("item", element, true)))
    }

    #[test]
    fn scalars_map_to_their_postgres_types() {
        let cases = [
            (DataType::Boolean, Type::BOOL),
            (DataType::Int8, Type::INT2),
            (DataType::Int16, Type::INT2),
            (DataType::Int32, Type::INT4),
            (DataType::Int64, Type::INT8),
            (DataType::UInt8, Type::INT2),
            (DataType::UInt16, Type::INT4),
            (DataType::UInt32, Type::INT8),
            (DataType::UInt64, Type::NUMERIC),
            (DataType::Float32, Type::FLOAT4),
            (DataType::Float64, Type::FLOAT8),
            (DataType::Decimal128(10, 2), Type::NUMERIC),
            (DataType::Decimal256(50, 2), Type::NUMERIC),
            (DataType::Utf8, Type::TEXT),
            (DataType::LargeUtf8, Type::TEXT),
            (DataType::Utf8View, Type::TEXT),
            (DataType::Binary, Type::BYTEA),
            (DataType::LargeBinary, Type::BYTEA),
            (DataType::BinaryView, Type::BYTEA),
            (DataType::Date32, Type::DATE),
            (DataType::Date64, Type::DATE),
            (DataType::Time32(TimeUnit::Millisecond), Type::TIME),
            (DataType::Time64(TimeUnit::Nanosecond), Type::TIME),
            (
                DataType::Timestamp(TimeUnit::Millisecond, None),
                Type::TIMESTAMP,
            ),
            (
                DataType::Timestamp(TimeUnit::Microsecond, Some("+02:00".into())),
                Type::TIMESTAMPTZ,
            ),
        ];
        for (data_type, expected) in cases {
            assert_eq!(pg_type(&data_type), expected, "{data_type}");
        }
    }

    #[test]
    fn lists_of_scalars_are_arrays_and_nested_values_are_json() {
        assert_eq!(pg_type(&list_of(DataType::Int64)), Type::INT8_ARRAY);
        assert_eq!(pg_type(&list_of(DataType::Utf8)), Type::TEXT_ARRAY);
        let point = DataType::Struct(Fields::from(vec![Field::new("x", DataType::Int32, true)]));
        assert_eq!(pg_type(&point), Type::JSON);
        assert_eq!(pg_type(&list_of(point)), Type::JSON);
        assert_eq!(pg_type(&list_of(list_of(DataType::Int32))), Type::JSON);
    }

    #[test]
    fn types_without_a_counterpart_are_text() {
        assert_eq!(pg_type(&DataType::Null), Type::TEXT);
        assert_eq!(pg_type(&DataType::Duration(TimeUnit::Second)), Type::TEXT);
        let dictionary = DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Int64));
        assert_eq!(pg_type(&dictionary), Type::INT8);
    }

    #[test]
    fn field_info_carries_fixed_type_sizes() {
        let field = Field::new("id", DataType::Int64, false);
        let info = field_info(&field, FieldFormat::Binary);
        assert_eq!(info.name(), "id");
        assert_eq!(info.type_size(), 8);
        assert_eq!(info.format(), FieldFormat::Binary);
        let text = field_info(&Field::new("v", DataType::Utf8, true), FieldFormat::Text);
        assert_eq!(text.type_size(), -1);
    }
}
