//! MAP functions with ksqlDB's meaning (its udf/map UDFs and Entries): AS_MAP, MAP_KEYS,
//! MAP_VALUES, MAP_UNION and ENTRIES. DataFusion has no AS_MAP, MAP_UNION or ENTRIES; its
//! `map_keys` and `map_values` are replaced so that the family reads MAP arguments one way.
//!
//! A MAP's keys are distinct: where ksqlDB's `HashMap.put` replaces a value (a repeated key in
//! AS_MAP's keys, a key of both maps in MAP_UNION), the later value wins and the key keeps its
//! first place. Java's HashMap has no defined order; here entries keep the order they came
//! in. A NULL key, which an Arrow MAP cannot hold, drops its entry.
//!
//! Never: answer a MAP with a key twice or a NULL key.

use std::collections::HashMap;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, MapArray, StructArray, UInt64Array};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{SortOptions, cast, concat, take};
use arrow::datatypes::{DataType, Field, Fields};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use crate::types::map_type;

use super::lists::{
    PickedList, argument_array, common_type, element_converter, element_range, element_rows,
    item_type, list_argument, list_of, list_type,
};

/// ENTRIES' struct field names: ksqlDB's Entries UDF's K and V, folded to lower case as
/// Eddy's identifiers are, so `e->K` and `e->k` both reach them.
const ENTRY_KEY_FIELD: &str = "k";
const ENTRY_VALUE_FIELD: &str = "v";

pub(crate) fn map_functions() -> Vec<Arc<ScalarUDF>> {
    use Kind::*;
    [AsMap, Keys, Values, Union, Entries]
        .into_iter()
        .map(|kind| {
            let signature = match kind {
                // Two MAPs of any types; the exact variant names a call for planners that
                // list signatures (a user's call matches the coercion rule first).
                Union => Signature::one_of(
                    vec![
                        TypeSignature::UserDefined,
                        TypeSignature::Exact(vec![map_type(DataType::Utf8, DataType::Int64); 2]),
                    ],
                    Volatility::Immutable,
                ),
                _ => Signature::user_defined(Volatility::Immutable),
            };
            Arc::new(ScalarUDF::from(MapFunction { kind, signature }))
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// ksqlDB's AsMap UDF: keys paired with values by position; missing values are NULL.
    AsMap,
    /// ksqlDB's MapKeys UDF.
    Keys,
    /// ksqlDB's MapValues UDF.
    Values,
    /// ksqlDB's MapUnion UDF: NULL only when both maps are; the second map's values win.
    Union,
    /// ksqlDB's Entries UDF: ARRAY<STRUCT<K, V>>, sorted by key when asked.
    Entries,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct MapFunction {
    kind: Kind,
    signature: Signature,
}

/// The key and value types of a MAP argument's type; NULL is a MAP of STRING to NULL.
fn map_parts(name: &str, data_type: &DataType) -> Result<(DataType, DataType)> {
    match data_type {
        DataType::Map(entries, _) => match entries.data_type() {
            DataType::Struct(fields) if fields.len() == 2 => {
                Ok((fields[0].data_type().clone(), fields[1].data_type().clone()))
            }
            other => plan_err!("{name}: a MAP of unexpected entries {other}"),
        },
        DataType::Null => Ok((DataType::Utf8, DataType::Null)),
        other => plan_err!("{name} takes a MAP, not {other}"),
    }
}

fn map_argument(argument: &ColumnarValue, rows: usize, map_type: &DataType) -> Result<MapArray> {
    let array = argument_array(argument, rows)?;
    let array = match array.data_type() == map_type {
        true => array,
        false => cast(&array, map_type)?,
    };
    match array.as_map_opt() {
        Some(map) => Ok(map.clone()),
        None => exec_err!("expected a MAP, found {}", array.data_type()),
    }
}

impl ScalarUDFImpl for MapFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::AsMap => "as_map",
            Kind::Keys => "map_keys",
            Kind::Values => "map_values",
            Kind::Union => "map_union",
            Kind::Entries => "entries",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let arity = match self.kind {
            Kind::Keys | Kind::Values => 1,
            _ => 2,
        };
        if arg_types.len() != arity {
            return plan_err!("{name} takes {arity} arguments");
        }
        Ok(match self.kind {
            Kind::AsMap => {
                let keys = list_type(name, &arg_types[0])?;
                let values = list_type(name, &arg_types[1])?;
                vec![keys, values]
            }
            Kind::Keys | Kind::Values => {
                let (key, value) = map_parts(name, &arg_types[0])?;
                vec![map_type(key, value)]
            }
            Kind::Entries => {
                let (key, value) = map_parts(name, &arg_types[0])?;
                vec![map_type(key, value), DataType::Boolean]
            }
            Kind::Union => {
                let (left_key, left_value) = map_parts(name, &arg_types[0])?;
                let (right_key, right_value) = map_parts(name, &arg_types[1])?;
                let common = map_type(
                    common_type(name, &left_key, &right_key)?,
                    common_type(name, &left_value, &right_value)?,
                );
                vec![common.clone(), common]
            }
        })
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let name = self.name();
        Ok(match self.kind {
            Kind::AsMap => map_type(
                item_type(&list_type(name, &arg_types[0])?),
                item_type(&list_type(name, &arg_types[1])?),
            ),
            Kind::Keys => list_of(map_parts(name, &arg_types[0])?.0),
            Kind::Values => list_of(map_parts(name, &arg_types[0])?.1),
            Kind::Union => arg_types[0].clone(),
            Kind::Entries => {
                let (key, value) = map_parts(name, &arg_types[0])?;
                list_of(entry_type(key, value))
            }
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let types: Vec<DataType> = args
            .arg_fields
            .iter()
            .map(|field| field.data_type().clone())
            .collect();
        let types = self.coerce_types(&types)?;
        let result = match self.kind {
            Kind::AsMap => {
                let keys = list_argument(&args.args[0], rows, &types[0])?;
                let values = list_argument(&args.args[1], rows, &types[1])?;
                as_map(&keys, &values)?
            }
            Kind::Keys | Kind::Values => {
                let map = map_argument(&args.args[0], rows, &types[0])?;
                let (keys, values) = (map.keys(), map.values());
                let part = if self.kind == Kind::Keys {
                    keys
                } else {
                    values
                };
                let item = Arc::new(Field::new_list_field(part.data_type().clone(), true));
                let offsets = map.offsets().clone();
                let list =
                    ListArray::try_new(item, offsets, Arc::clone(part), map.nulls().cloned())?;
                Arc::new(list)
            }
            Kind::Union => {
                let left = map_argument(&args.args[0], rows, &types[0])?;
                let right = map_argument(&args.args[1], rows, &types[1])?;
                union(&left, &right)?
            }
            Kind::Entries => {
                let map = map_argument(&args.args[0], rows, &types[0])?;
                let sorted = cast(&argument_array(&args.args[1], rows)?, &DataType::Boolean)?;
                entries(&map, sorted.as_boolean())?
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

fn entry_type(key: DataType, value: DataType) -> DataType {
    DataType::Struct(Fields::from(vec![
        Field::new(ENTRY_KEY_FIELD, key, true),
        Field::new(ENTRY_VALUE_FIELD, value, true),
    ]))
}

/// Entries of a MAP result: per row, (key position, value position) pairs with distinct
/// keys, a later value replacing an earlier one's.
struct MapBuilder {
    key_positions: Vec<u64>,
    value_positions: Vec<Option<u64>>,
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl MapBuilder {
    fn with_rows(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        MapBuilder {
            key_positions: Vec::new(),
            value_positions: Vec::new(),
            offsets,
            valid: Vec::with_capacity(rows),
        }
    }

    fn end_row(&mut self, valid: bool) -> Result<()> {
        let Ok(end) = i32::try_from(self.key_positions.len()) else {
            return exec_err!("a MAP result holds more than {} entries", i32::MAX);
        };
        self.offsets.push(end);
        self.valid.push(valid);
        Ok(())
    }

    fn finish(self, keys: &ArrayRef, values: &ArrayRef) -> Result<ArrayRef> {
        let keys = take(keys, &UInt64Array::from(self.key_positions), None)?;
        let values = take(values, &UInt64Array::from(self.value_positions), None)?;
        let DataType::Map(entries_field, _) =
            map_type(keys.data_type().clone(), values.data_type().clone())
        else {
            return exec_err!("a MAP type is a map");
        };
        let DataType::Struct(fields) = entries_field.data_type() else {
            return exec_err!("a MAP's entries are structs");
        };
        let entries = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
        let nulls = NullBuffer::from(self.valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        let offsets = OffsetBuffer::new(self.offsets.into());
        Ok(Arc::new(MapArray::try_new(
            entries_field,
            offsets,
            entries,
            nulls,
            false,
        )?))
    }
}

/// Adds key `key` (at `key_position`) with the value at `value_position` to the row being
/// built, replacing the value of an equal key already in it.
fn put<'a>(
    builder: &mut MapBuilder,
    seen: &mut HashMap<arrow::row::Row<'a>, usize>,
    key: arrow::row::Row<'a>,
    key_position: usize,
    value_position: Option<usize>,
) {
    let value_position = value_position.map(|position| position as u64);
    match seen.get(&key) {
        Some(index) => builder.value_positions[*index] = value_position,
        None => {
            seen.insert(key, builder.key_positions.len());
            builder.key_positions.push(key_position as u64);
            builder.value_positions.push(value_position);
        }
    }
}

fn as_map(keys: &ListArray, values: &ListArray) -> Result<ArrayRef> {
    let key_values = keys.values();
    let converter = element_converter(key_values.data_type(), SortOptions::default())?;
    let key_rows = element_rows(&converter, key_values)?;
    let mut builder = MapBuilder::with_rows(keys.len());
    let mut seen = HashMap::new();
    for row in 0..keys.len() {
        if keys.is_null(row) || values.is_null(row) {
            builder.end_row(false)?;
            continue;
        }
        seen.clear();
        let value_range = element_range(values, row);
        for (index, at) in element_range(keys, row).enumerate() {
            if key_values.is_null(at) {
                continue;
            }
            let value_at = (index < value_range.len()).then(|| value_range.start + index);
            put(&mut builder, &mut seen, key_rows.row(at), at, value_at);
        }
        builder.end_row(true)?;
    }
    builder.finish(key_values, values.values())
}

fn union(left: &MapArray, right: &MapArray) -> Result<ArrayRef> {
    let right_offset = left.keys().len();
    let keys = concat(&[left.keys().as_ref(), right.keys().as_ref()])?;
    let values = concat(&[left.values().as_ref(), right.values().as_ref()])?;
    let converter = element_converter(keys.data_type(), SortOptions::default())?;
    let key_rows = element_rows(&converter, &keys)?;
    let mut builder = MapBuilder::with_rows(left.len());
    let mut seen = HashMap::new();
    for row in 0..left.len() {
        seen.clear();
        for (map, offset) in [(left, 0), (right, right_offset)] {
            if map.is_null(row) {
                continue;
            }
            let offsets = map.value_offsets();
            for at in offsets[row] as usize + offset..offsets[row + 1] as usize + offset {
                put(&mut builder, &mut seen, key_rows.row(at), at, Some(at));
            }
        }
        builder.end_row(left.is_valid(row) || right.is_valid(row))?;
    }
    builder.finish(&keys, &values)
}

/// Each entry as a STRUCT of K and V, sorted by key when `sorted`; a NULL `sorted` is an
/// error, as ksqlDB's primitive `boolean` parameter makes it.
fn entries(map: &MapArray, sorted: &arrow::array::BooleanArray) -> Result<ArrayRef> {
    let keys = map.keys();
    let converter = element_converter(keys.data_type(), SortOptions::default())?;
    let key_rows = element_rows(&converter, keys)?;
    let mut picked = PickedList::with_rows(map.len());
    let mut positions = Vec::new();
    for row in 0..map.len() {
        if sorted.is_null(row) {
            return exec_err!("entries' sorted argument is NULL");
        }
        if map.is_null(row) {
            picked.end_null_row();
            continue;
        }
        let offsets = map.value_offsets();
        positions.clear();
        positions.extend(offsets[row] as usize..offsets[row + 1] as usize);
        if sorted.value(row) {
            positions.sort_by(|left, right| key_rows.row(*left).cmp(&key_rows.row(*right)));
        }
        positions.iter().for_each(|at| picked.push(*at));
        picked.end_row()?;
    }
    let DataType::Struct(fields) =
        entry_type(keys.data_type().clone(), map.values().data_type().clone())
    else {
        return exec_err!("an entry is a struct");
    };
    let entries: ArrayRef = Arc::new(StructArray::try_new(
        fields,
        vec![Arc::clone(keys), Arc::clone(map.values())],
        None,
    )?);
    picked.finish(&entries)
}

#[cfg(test)]
mod tests {
    use arrow::array::{Int32Array, StringArray};
    use arrow::datatypes::Int32Type;

    use super::*;

    fn pairs(map: &ArrayRef, row: usize) -> Option<Vec<(String, Option<i32>)>> {
        let map = map.as_map();
        map.is_valid(row).then(|| {
            let entries = map.value(row);
            let keys = entries.column(0).as_string::<i32>();
            let values = entries.column(1).as_primitive::<Int32Type>();
            (0..entries.len())
                .map(|index| {
                    (
                        keys.value(index).to_string(),
                        values.iter().nth(index).flatten(),
                    )
                })
                .collect()
        })
    }

    #[test]
    fn as_map_keeps_the_last_value_of_a_repeated_key_and_drops_null_keys() {
        let keys = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Utf8, true)),
            OffsetBuffer::from_lengths([4, 1]),
            Arc::new(StringArray::from(vec![
                Some("a"),
                None,
                Some("b"),
                Some("a"),
                Some("k"),
            ])),
            None,
        );
        let values = ListArray::new(
            Arc::new(Field::new_list_field(DataType::Int32, true)),
            OffsetBuffer::from_lengths([3, 0]),
            Arc::new(Int32Array::from(vec![1, 2, 3])),
            None,
        );
        let map = as_map(&keys, &values).expect("builds");
        let expected = vec![("a".to_string(), None), ("b".to_string(), Some(3))];
        assert_eq!(pairs(&map, 0), Some(expected));
        assert_eq!(pairs(&map, 1), Some(vec![("k".to_string(), None)]));
    }
}
