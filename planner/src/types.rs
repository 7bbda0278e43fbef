//! Eddy's SQL column types and their Arrow representation.
//!
//! One mapping, used by CREATE (declared types to the stored schema), DESCRIBE (Arrow types
//! back to ksqlDB's spelling) and INSERT (values cast to the stored type). The stored schema
//! of a source is fixed at CREATE: changing a mapping here changes how existing logs decode,
//! so entries are only ever added.

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Fields, TimeUnit};
use eddy_parser::ColumnType;

use crate::error::{PlanError, PlanResult};

/// Name of the Arrow list item field, as DataFusion and arrow-rs name it.
const LIST_ITEM_FIELD: &str = "item";

/// The Arrow type that stores values of a declared SQL type. Named types must be resolved
/// first (`Catalog::resolve_type`): an unresolved name has no storage type and gives
/// `DataType::Null`, which no column is declared with and no value casts to.
pub fn arrow_type(column_type: &ColumnType) -> DataType {
    match column_type {
        ColumnType::Boolean => DataType::Boolean,
        ColumnType::Int => DataType::Int32,
        ColumnType::BigInt => DataType::Int64,
        ColumnType::Double => DataType::Float64,
        ColumnType::Decimal { precision, scale } => DataType::Decimal128(*precision, *scale),
        ColumnType::String => DataType::Utf8,
        ColumnType::Bytes => DataType::Binary,
        ColumnType::Date => DataType::Date32,
        ColumnType::Time => DataType::Time64(TimeUnit::Microsecond),
        ColumnType::Timestamp => DataType::Timestamp(TimeUnit::Millisecond, None),
        ColumnType::Array(item) => DataType::List(Arc::new(Field::new(
            LIST_ITEM_FIELD,
            arrow_type(item),
            true,
        ))),
        ColumnType::Map(key, value) => map_type(arrow_type(key), arrow_type(value)),
        ColumnType::Struct(fields) => DataType::Struct(
            fields
                .iter()
                .map(|(name, field_type)| Field::new(name, arrow_type(field_type), true))
                .collect(),
        ),
        ColumnType::Named(_) => DataType::Null,
    }
}

/// `column_type` with each named type replaced by its `definition`; the error is the first
/// name that has none.
pub fn resolve_named_types(
    column_type: &ColumnType,
    definition: &dyn Fn(&str) -> Option<ColumnType>,
) -> Result<ColumnType, String> {
    Ok(match column_type {
        ColumnType::Named(name) => definition(name).ok_or_else(|| name.clone())?,
        ColumnType::Array(item) => {
            ColumnType::Array(Box::new(resolve_named_types(item, definition)?))
        }
        ColumnType::Map(key, value) => ColumnType::Map(
            Box::new(resolve_named_types(key, definition)?),
            Box::new(resolve_named_types(value, definition)?),
        ),
        ColumnType::Struct(fields) => ColumnType::Struct(
            fields
                .iter()
                .map(|(name, field_type)| {
                    Ok((name.clone(), resolve_named_types(field_type, definition)?))
                })
                .collect::<Result<_, String>>()?,
        ),
        built_in => built_in.clone(),
    })
}

/// How a column of this Arrow type is shown to users (DESCRIBE), in ksqlDB's spelling where
/// the type is one of Eddy's SQL types, else Arrow's own name (results of functions may
/// produce types that cannot be declared, such as FLOAT or SMALLINT).
pub fn type_name(data_type: &DataType) -> String {
    match data_type {
        DataType::Boolean => "BOOLEAN".into(),
        DataType::Int8 => "TINYINT".into(),
        DataType::Int16 => "SMALLINT".into(),
        DataType::Int32 => "INTEGER".into(),
        DataType::Int64 => "BIGINT".into(),
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 => {
            format!("{data_type}").to_uppercase()
        }
        DataType::Float16 | DataType::Float32 => "REAL".into(),
        DataType::Float64 => "DOUBLE".into(),
        DataType::Decimal32(precision, scale)
        | DataType::Decimal64(precision, scale)
        | DataType::Decimal128(precision, scale)
        | DataType::Decimal256(precision, scale) => format!("DECIMAL({precision}, {scale})"),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => "STRING".into(),
        DataType::Binary | DataType::LargeBinary | DataType::BinaryView => "BYTES".into(),
        DataType::FixedSizeBinary(_) => "BYTES".into(),
        DataType::Date32 | DataType::Date64 => "DATE".into(),
        DataType::Time32(_) | DataType::Time64(_) => "TIME".into(),
        DataType::Timestamp(_, None) => "TIMESTAMP".into(),
        DataType::Timestamp(_, Some(zone)) => format!("TIMESTAMP WITH TIME ZONE '{zone}'"),
        DataType::List(item) | DataType::LargeList(item) | DataType::ListView(item) => {
            format!("ARRAY<{}>", type_name(item.data_type()))
        }
        DataType::FixedSizeList(item, _) => format!("ARRAY<{}>", type_name(item.data_type())),
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => format!(
                "MAP<{}, {}>",
                type_name(fields[0].data_type()),
                type_name(fields[1].data_type())
            ),
            other => format!("MAP<{other}>"),
        },
        DataType::Struct(fields) => {
            let fields: Vec<String> = fields
                .iter()
                .map(|field| format!("{} {}", field.name(), type_name(field.data_type())))
                .collect();
            format!("STRUCT<{}>", fields.join(", "))
        }
        other => other.to_string().to_uppercase(),
    }
}

/// The declared type a query result column is stored as when it becomes a stream's column
/// (CREATE STREAM .. AS SELECT). DataFusion functions can produce types outside Eddy's SQL
/// types (SMALLINT, REAL, string views, nanosecond timestamps); each maps to the nearest SQL
/// type that holds every value, and the executor casts batches accordingly.
pub fn storable_type(data_type: &DataType) -> Option<ColumnType> {
    Some(match data_type {
        DataType::Boolean => ColumnType::Boolean,
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::UInt8 | DataType::UInt16 => {
            ColumnType::Int
        }
        DataType::Int64 | DataType::UInt32 => ColumnType::BigInt,
        DataType::UInt64 => ColumnType::Decimal {
            precision: 20,
            scale: 0,
        },
        DataType::Float16 | DataType::Float32 | DataType::Float64 => ColumnType::Double,
        DataType::Decimal32(precision, scale)
        | DataType::Decimal64(precision, scale)
        | DataType::Decimal128(precision, scale) => ColumnType::Decimal {
            precision: *precision,
            scale: *scale,
        },
        DataType::Decimal256(precision, scale) if *precision <= 38 => ColumnType::Decimal {
            precision: *precision,
            scale: *scale,
        },
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Null => {
            ColumnType::String
        }
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => ColumnType::Bytes,
        DataType::Date32 | DataType::Date64 => ColumnType::Date,
        DataType::Time32(_) | DataType::Time64(_) => ColumnType::Time,
        DataType::Timestamp(_, _) => ColumnType::Timestamp,
        DataType::List(item)
        | DataType::LargeList(item)
        | DataType::ListView(item)
        | DataType::FixedSizeList(item, _) => {
            ColumnType::Array(Box::new(storable_type(item.data_type())?))
        }
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => ColumnType::Map(
                Box::new(storable_type(fields[0].data_type())?),
                Box::new(storable_type(fields[1].data_type())?),
            ),
            _ => return None,
        },
        DataType::Struct(fields) => ColumnType::Struct(
            fields
                .iter()
                .map(|field| Some((field.name().clone(), storable_type(field.data_type())?)))
                .collect::<Option<Vec<_>>>()?,
        ),
        DataType::Dictionary(_, value) => storable_type(value)?,
        _ => return None,
    })
}

/// The MAP of `key` to `value` as Eddy stores ksqlDB's MAP: entries of a non-NULL `key` and
/// a nullable `value`, unsorted.
pub fn map_type(key: DataType, value: DataType) -> DataType {
    let entries = Fields::from(vec![
        Field::new("key", key, false),
        Field::new("value", value, true),
    ]);
    DataType::Map(
        Arc::new(Field::new("entries", DataType::Struct(entries), false)),
        false,
    )
}

/// Types a KEY or PRIMARY KEY column (or a GROUP BY key) may have: scalars, and ARRAYs and
/// STRUCTs of them, as in ksqlDB; each has one encoding in state where equal keys are equal
/// bytes. A MAP has none (its entries have no order of their own), nor anything holding one.
pub fn is_key_type(data_type: &DataType) -> bool {
    match data_type {
        DataType::List(element) | DataType::LargeList(element) => is_key_type(element.data_type()),
        DataType::Struct(fields) => fields.iter().all(|field| is_key_type(field.data_type())),
        other => !other.is_nested(),
    }
}

/// Refuses a key column (KEY, PRIMARY KEY, GROUP BY, PARTITION BY) whose type has no key
/// encoding: of the types a column can have, that is a MAP or one that holds a MAP.
pub fn check_key_type(column: &str, data_type: &DataType) -> PlanResult<()> {
    if is_key_type(data_type) {
        return Ok(());
    }
    Err(PlanError::Unsupported {
        feature: format!(
            "a key column that is or holds a MAP (\"{column}\" {})",
            type_name(data_type)
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_and_structs_may_be_keys_maps_may_not() {
        let map = ColumnType::Map(Box::new(ColumnType::String), Box::new(ColumnType::Int));
        let point = ColumnType::Struct(vec![
            ("x".into(), ColumnType::Int),
            (
                "tags".into(),
                ColumnType::Array(Box::new(ColumnType::String)),
            ),
        ]);
        for (column_type, key) in [
            (ColumnType::BigInt, true),
            (ColumnType::Array(Box::new(ColumnType::Int)), true),
            (point.clone(), true),
            (ColumnType::Array(Box::new(point)), true),
            (map.clone(), false),
            (ColumnType::Array(Box::new(map.clone())), false),
            (ColumnType::Struct(vec![("m".into(), map)]), false),
        ] {
            assert_eq!(is_key_type(&arrow_type(&column_type)), key, "{column_type}");
        }
    }

    #[test]
    fn declared_types_round_trip_through_their_names() {
        let declared = [
            ColumnType::Boolean,
            ColumnType::Int,
            ColumnType::BigInt,
            ColumnType::Double,
            ColumnType::Decimal {
                precision: 10,
                scale: 2,
            },
            ColumnType::String,
            ColumnType::Bytes,
            ColumnType::Date,
            ColumnType::Time,
            ColumnType::Timestamp,
            ColumnType::Array(Box::new(ColumnType::Int)),
            ColumnType::Map(Box::new(ColumnType::String), Box::new(ColumnType::BigInt)),
            ColumnType::Struct(vec![
                ("a".into(), ColumnType::Int),
                ("b".into(), ColumnType::Array(Box::new(ColumnType::String))),
            ]),
        ];
        for column_type in declared {
            let name = type_name(&arrow_type(&column_type));
            let reparsed = eddy_parser::parse_column_type(&name)
                .unwrap_or_else(|error| panic!("{name} does not parse: {error}"));
            assert_eq!(reparsed, column_type, "{name}");
        }
    }
}
