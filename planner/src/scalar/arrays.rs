//! ARRAY functions with ksqlDB's meaning (its udf/array and udf/list UDFs), in place of
//! DataFusion's functions of the same names, which differ: DataFusion's `array_distinct` sorts,
//! its `array_remove` removes only the first match, its `array_contains` is NULL for a NULL
//! array, its `array_length` is an unsigned BIGINT, and its `array_sort` puts NULLs first.
//!
//! Elements compare as Java's `equals` and natural order (see `lists`): NULL equals NULL, so
//! `ARRAY_REMOVE(a, NULL)` removes the NULLs and the set functions keep one NULL. Results keep
//! the order of first occurrence. SLICE counts from 1 and includes both ends.
//!
//! Never: answer from a partial row; a NULL argument gives what ksqlDB's UDF gives for it.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, Int32Array, ListArray, UInt64Array};
use arrow::compute::{SortOptions, cast, concat, take};
use arrow::datatypes::{DataType, Int64Type};
use arrow::row::Rows;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::lists::{
    PickedList, argument_array, common_type, element_converter, element_range, element_rows,
    item_type, list_argument, list_of, list_type,
};

/// The ARRAY functions of this file, to register over DataFusion's.
pub(crate) fn array_functions() -> Vec<Arc<ScalarUDF>> {
    use Kind::*;
    [
        Concat, Contains, Distinct, Except, Intersect, Length, Max, Min, Remove, Sort, Union, Slice,
    ]
    .into_iter()
    .map(|kind| {
        Arc::new(ScalarUDF::from(ArrayFunction {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }))
    })
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// ksqlDB's ArrayConcat UDF: NULL only when both arrays are.
    Concat,
    /// ksqlDB's ArrayContains UDF: false for a NULL array, never NULL.
    Contains,
    /// ksqlDB's ArrayDistinct UDF.
    Distinct,
    /// ksqlDB's ArrayExcept UDF: distinct elements of the first not in the second.
    Except,
    /// ksqlDB's ArrayIntersect UDF, in the first array's order.
    Intersect,
    /// ksqlDB's ArrayLength UDF, an INT.
    Length,
    /// ksqlDB's ArrayMax UDF: NULLs ignored.
    Max,
    /// ksqlDB's ArrayMin UDF: NULLs ignored.
    Min,
    /// ksqlDB's ArrayRemove UDF: every element equal to the value.
    Remove,
    /// ksqlDB's ArraySort UDF: 'ASC' (default) or 'DESC', NULLs last either way.
    Sort,
    /// ksqlDB's ArrayUnion UDF: NULL when either array is.
    Union,
    /// ksqlDB's Slice UDF.
    Slice,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct ArrayFunction {
    kind: Kind,
    signature: Signature,
}

impl ScalarUDFImpl for ArrayFunction {
    fn name(&self) -> &str {
        match self.kind {
            Kind::Concat => "array_concat",
            Kind::Contains => "array_contains",
            Kind::Distinct => "array_distinct",
            Kind::Except => "array_except",
            Kind::Intersect => "array_intersect",
            Kind::Length => "array_length",
            Kind::Max => "array_max",
            Kind::Min => "array_min",
            Kind::Remove => "array_remove",
            Kind::Sort => "array_sort",
            Kind::Union => "array_union",
            Kind::Slice => "slice",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let name = self.name();
        let arity_ok = match self.kind {
            Kind::Distinct | Kind::Length | Kind::Max | Kind::Min => arg_types.len() == 1,
            Kind::Sort => matches!(arg_types.len(), 1 | 2),
            Kind::Slice => arg_types.len() == 3,
            _ => arg_types.len() == 2,
        };
        if !arity_ok {
            return plan_err!("{name} does not take {} arguments", arg_types.len());
        }
        let first = list_type(name, &arg_types[0])?;
        Ok(match self.kind {
            Kind::Distinct | Kind::Length | Kind::Max | Kind::Min => vec![first],
            Kind::Sort => {
                let mut types = vec![first];
                types.extend(arg_types.get(1).map(|_| DataType::Utf8));
                types
            }
            Kind::Slice => vec![first, DataType::Int64, DataType::Int64],
            Kind::Contains | Kind::Remove => {
                let common = common_type(name, &item_type(&first), &arg_types[1])?;
                vec![list_of(common.clone()), common]
            }
            Kind::Concat | Kind::Except | Kind::Intersect | Kind::Union => {
                let second = list_type(name, &arg_types[1])?;
                let common = common_type(name, &item_type(&first), &item_type(&second))?;
                vec![list_of(common.clone()), list_of(common)]
            }
        })
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        let first = list_type(self.name(), &arg_types[0])?;
        Ok(match self.kind {
            Kind::Contains => DataType::Boolean,
            Kind::Length => DataType::Int32,
            Kind::Max | Kind::Min => item_type(&first),
            _ => first,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let list_type = list_type(self.name(), args.arg_fields[0].data_type())?;
        let list = list_argument(&args.args[0], rows, &list_type)?;
        let item = item_type(&list_type);
        let second_list = || list_argument(&args.args[1], rows, &list_type);
        let result = match self.kind {
            Kind::Length => length(&list),
            Kind::Distinct => set_operation(&list, None, &item, SetOperation::Distinct)?,
            Kind::Except => {
                set_operation(&list, Some(&second_list()?), &item, SetOperation::Except)?
            }
            Kind::Intersect => {
                set_operation(&list, Some(&second_list()?), &item, SetOperation::Intersect)?
            }
            Kind::Union => set_operation(&list, Some(&second_list()?), &item, SetOperation::Union)?,
            Kind::Concat => concatenate(&list, &second_list()?)?,
            Kind::Contains | Kind::Remove => {
                let elements = argument_array(&args.args[1], rows)?;
                let elements = cast(&elements, &item)?;
                match self.kind {
                    Kind::Contains => contains(&list, &elements, &item)?,
                    _ => remove(&list, &elements, &item)?,
                }
            }
            Kind::Max | Kind::Min => extreme(&list, &item, self.kind == Kind::Max)?,
            Kind::Sort => {
                let directions = match args.args.get(1) {
                    Some(direction) => {
                        Some(cast(&argument_array(direction, rows)?, &DataType::Utf8)?)
                    }
                    None => None,
                };
                sort(&list, directions.as_ref(), &item)?
            }
            Kind::Slice => {
                let from = cast(&argument_array(&args.args[1], rows)?, &DataType::Int64)?;
                let to = cast(&argument_array(&args.args[2], rows)?, &DataType::Int64)?;
                slice(&list, &from, &to)?
            }
        };
        Ok(ColumnarValue::Array(result))
    }
}

fn length(list: &ListArray) -> ArrayRef {
    let lengths: Int32Array = (0..list.len())
        .map(|row| {
            list.is_valid(row)
                .then(|| element_range(list, row).len() as i32)
        })
        .collect();
    Arc::new(lengths)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOperation {
    Distinct,
    Except,
    Intersect,
    Union,
}

/// DISTINCT, EXCEPT, INTERSECT and UNION: distinct elements in order of first occurrence.
/// DISTINCT of a NULL array, and the others when either array is NULL, give NULL.
fn set_operation(
    left: &ListArray,
    right: Option<&ListArray>,
    item: &DataType,
    operation: SetOperation,
) -> Result<ArrayRef> {
    let right_offset = left.values().len();
    let values = match right {
        Some(right) => concat(&[left.values().as_ref(), right.values().as_ref()])?,
        None => Arc::clone(left.values()),
    };
    let converter = element_converter(item, SortOptions::default())?;
    let element_rows = element_rows(&converter, &values)?;
    let mut picked = PickedList::with_rows(left.len());
    let mut seen = HashSet::new();
    let mut in_right = HashSet::new();
    for row in 0..left.len() {
        let right_range = right.map(|right| {
            let range = element_range(right, row);
            range.start + right_offset..range.end + right_offset
        });
        if left.is_null(row) || right.is_some_and(|right| right.is_null(row)) {
            picked.end_null_row();
            continue;
        }
        seen.clear();
        in_right.clear();
        if matches!(operation, SetOperation::Except | SetOperation::Intersect) {
            in_right.extend(
                right_range
                    .clone()
                    .into_iter()
                    .flatten()
                    .map(|at| element_rows.row(at)),
            );
        }
        let mut candidates: Vec<usize> = element_range(left, row).collect();
        if operation == SetOperation::Union {
            candidates.extend(right_range.into_iter().flatten());
        }
        for at in candidates {
            let element = element_rows.row(at);
            let keep = match operation {
                SetOperation::Except => !in_right.contains(&element),
                SetOperation::Intersect => in_right.contains(&element),
                SetOperation::Distinct | SetOperation::Union => true,
            };
            if keep && seen.insert(element) {
                picked.push(at);
            }
        }
        picked.end_row()?;
    }
    picked.finish(&values)
}

/// Both arrays' elements, the first's then the second's; a NULL array counts as empty unless
/// both are NULL.
fn concatenate(left: &ListArray, right: &ListArray) -> Result<ArrayRef> {
    let right_offset = left.values().len();
    let values = concat(&[left.values().as_ref(), right.values().as_ref()])?;
    let mut picked = PickedList::with_rows(left.len());
    for row in 0..left.len() {
        if left.is_null(row) && right.is_null(row) {
            picked.end_null_row();
            continue;
        }
        if left.is_valid(row) {
            element_range(left, row).for_each(|at| picked.push(at));
        }
        if right.is_valid(row) {
            element_range(right, row).for_each(|at| picked.push(at + right_offset));
        }
        picked.end_row()?;
    }
    picked.finish(&values)
}

/// Rows of the list's elements and of the values looked for, from one converter.
fn rows_with(list: &ListArray, elements: &ArrayRef, item: &DataType) -> Result<(Rows, Rows)> {
    let converter = element_converter(item, SortOptions::default())?;
    Ok((
        element_rows(&converter, list.values())?,
        element_rows(&converter, elements)?,
    ))
}

fn contains(list: &ListArray, elements: &ArrayRef, item: &DataType) -> Result<ArrayRef> {
    let (element_rows, wanted) = rows_with(list, elements, item)?;
    let found: BooleanArray = (0..list.len())
        .map(|row| {
            Some(
                list.is_valid(row)
                    && element_range(list, row).any(|at| element_rows.row(at) == wanted.row(row)),
            )
        })
        .collect();
    Ok(Arc::new(found))
}

fn remove(list: &ListArray, elements: &ArrayRef, item: &DataType) -> Result<ArrayRef> {
    let (element_rows, unwanted) = rows_with(list, elements, item)?;
    let mut picked = PickedList::with_rows(list.len());
    for row in 0..list.len() {
        if list.is_null(row) {
            picked.end_null_row();
            continue;
        }
        for at in element_range(list, row) {
            if element_rows.row(at) != unwanted.row(row) {
                picked.push(at);
            }
        }
        picked.end_row()?;
    }
    picked.finish(list.values())
}

/// The greatest (`greatest`) or least non-NULL element of each row; NULL when there is none.
fn extreme(list: &ListArray, item: &DataType, greatest: bool) -> Result<ArrayRef> {
    let converter = element_converter(item, SortOptions::default())?;
    let values = list.values();
    let element_rows = element_rows(&converter, values)?;
    let positions: UInt64Array = (0..list.len())
        .map(|row| {
            if list.is_null(row) {
                return None;
            }
            element_range(list, row)
                .filter(|at| values.is_valid(*at))
                .reduce(|best, at| {
                    let better = match greatest {
                        true => element_rows.row(at) > element_rows.row(best),
                        false => element_rows.row(at) < element_rows.row(best),
                    };
                    if better { at } else { best }
                })
                .map(|at| at as u64)
        })
        .collect();
    Ok(take(values, &positions, None)?)
}

/// Each row's elements in natural order, 'ASC' (the default) or 'DESC' (and 'ASCENDING',
/// 'DESCENDING', any case), NULLs last either way; another or a NULL direction gives NULL.
fn sort(list: &ListArray, directions: Option<&ArrayRef>, item: &DataType) -> Result<ArrayRef> {
    let values = list.values();
    let order = |descending| SortOptions {
        descending,
        nulls_first: false,
    };
    let ascending_rows = element_rows(&element_converter(item, order(false))?, values)?;
    let directions = directions.map(|directions| directions.as_string::<i32>());
    let descending_wanted = directions.is_some_and(|directions| {
        directions
            .iter()
            .flatten()
            .any(|direction| is_descending(direction) == Some(true))
    });
    let descending_rows = match descending_wanted {
        true => Some(element_rows(
            &element_converter(item, order(true))?,
            values,
        )?),
        false => None,
    };
    let mut picked = PickedList::with_rows(list.len());
    let mut positions = Vec::new();
    for row in 0..list.len() {
        let descending = match directions {
            None => Some(false),
            Some(directions) if directions.is_null(row) => None,
            Some(directions) => is_descending(directions.value(row)),
        };
        let element_rows = match (descending, &descending_rows) {
            (Some(false), _) => &ascending_rows,
            (Some(true), Some(descending_rows)) => descending_rows,
            _ => {
                picked.end_null_row();
                continue;
            }
        };
        if list.is_null(row) {
            picked.end_null_row();
            continue;
        }
        positions.clear();
        positions.extend(element_range(list, row));
        positions.sort_by(|left, right| element_rows.row(*left).cmp(&element_rows.row(*right)));
        positions.iter().for_each(|at| picked.push(*at));
        picked.end_row()?;
    }
    picked.finish(values)
}

/// Whether ARRAY_SORT's direction asks for descending order; None for no direction ksqlDB
/// knows.
fn is_descending(direction: &str) -> Option<bool> {
    match direction.to_uppercase().as_str() {
        "ASC" | "ASCENDING" => Some(false),
        "DESC" | "DESCENDING" => Some(true),
        _ => None,
    }
}

/// Elements `from` to `to`, counted from 1, both included; a NULL `from` is the start, a NULL
/// `to` the end. Bounds outside the array give NULL, as Java's `subList` throwing
/// `IndexOutOfBoundsException` does in ksqlDB's UDF; `from` past `to` by more than one is the
/// `IllegalArgumentException` ksqlDB does not catch, an error.
fn slice(list: &ListArray, from: &ArrayRef, to: &ArrayRef) -> Result<ArrayRef> {
    let (from, to) = (
        from.as_primitive::<Int64Type>(),
        to.as_primitive::<Int64Type>(),
    );
    let mut picked = PickedList::with_rows(list.len());
    for row in 0..list.len() {
        if list.is_null(row) {
            picked.end_null_row();
            continue;
        }
        let range = element_range(list, row);
        let length = range.len() as i64;
        let start = match from.is_null(row) {
            true => 0,
            false => from.value(row).saturating_sub(1),
        };
        let end = match to.is_null(row) {
            true => length,
            false => to.value(row),
        };
        if start < 0 || end > length {
            picked.end_null_row();
            continue;
        }
        if start > end {
            return exec_err!("slice's start {} is after its end {end}", start + 1);
        }
        for at in range.start + start as usize..range.start + end as usize {
            picked.push(at);
        }
        picked.end_row()?;
    }
    picked.finish(list.values())
}

#[cfg(test)]
mod tests {
    use arrow::array::Int32Array;
    use arrow::datatypes::Int32Type;

    use super::*;

    fn ints(rows: Vec<Option<Vec<Option<i32>>>>) -> ListArray {
        ListArray::from_iter_primitive::<Int32Type, _, _>(rows)
    }

    fn as_vectors(array: &ArrayRef) -> Vec<Option<Vec<Option<i32>>>> {
        let list = array.as_list::<i32>();
        (0..list.len())
            .map(|row| {
                list.is_valid(row).then(|| {
                    let values = list.value(row);
                    values.as_primitive::<Int32Type>().iter().collect()
                })
            })
            .collect()
    }

    #[test]
    fn set_functions_keep_first_seen_order_and_one_null() {
        let left = ints(vec![
            Some(vec![Some(3), None, Some(1), Some(3), None]),
            None,
        ]);
        let right = ints(vec![Some(vec![Some(1), None]), Some(vec![])]);
        let item = DataType::Int32;
        let distinct = set_operation(&left, None, &item, SetOperation::Distinct).expect("runs");
        assert_eq!(
            as_vectors(&distinct),
            vec![Some(vec![Some(3), None, Some(1)]), None]
        );
        let except = set_operation(&left, Some(&right), &item, SetOperation::Except).expect("runs");
        assert_eq!(as_vectors(&except), vec![Some(vec![Some(3)]), None]);
        let union = set_operation(&right, Some(&left), &item, SetOperation::Union).expect("runs");
        assert_eq!(
            as_vectors(&union),
            vec![Some(vec![Some(1), None, Some(3)]), None]
        );
    }

    #[test]
    fn sort_puts_nulls_last_both_ways_and_an_unknown_direction_gives_null() {
        let list = ints(vec![Some(vec![Some(2), None, Some(-1), Some(0)]); 3]);
        let directions: ArrayRef = Arc::new(arrow::array::StringArray::from(vec![
            Some("desc"),
            Some("Ascending"),
            Some("up"),
        ]));
        let sorted = sort(&list, Some(&directions), &DataType::Int32).expect("sorts");
        assert_eq!(
            as_vectors(&sorted),
            vec![
                Some(vec![Some(2), Some(0), Some(-1), None]),
                Some(vec![Some(-1), Some(0), Some(2), None]),
                None
            ]
        );
    }

    #[test]
    fn slice_is_one_based_inclusive_null_outside_and_fails_backwards() {
        let list = ints(vec![Some(vec![Some(1), Some(2), Some(3)]); 4]);
        let bounds = |values: Vec<Option<i64>>| -> ArrayRef {
            Arc::new(arrow::array::Int64Array::from(values))
        };
        let sliced = slice(
            &list,
            &bounds(vec![Some(2), Some(0), None, Some(3)]),
            &bounds(vec![Some(3), Some(1), Some(1), Some(2)]),
        )
        .expect("slices");
        assert_eq!(
            as_vectors(&sliced),
            vec![
                Some(vec![Some(2), Some(3)]),
                None,
                Some(vec![Some(1)]),
                Some(vec![])
            ]
        );
        let backwards = slice(&list, &bounds(vec![Some(3); 4]), &bounds(vec![Some(1); 4]));
        assert!(backwards.is_err());
    }

    #[test]
    fn remove_and_contains_treat_null_as_a_value() {
        let list = ints(vec![Some(vec![Some(1), None, Some(1)]), None]);
        let nulls: ArrayRef = Arc::new(Int32Array::from(vec![None, None]));
        let removed = remove(&list, &nulls, &DataType::Int32).expect("removes");
        assert_eq!(
            as_vectors(&removed),
            vec![Some(vec![Some(1), Some(1)]), None]
        );
        let found = contains(&list, &nulls, &DataType::Int32).expect("looks");
        assert_eq!(
            found.as_boolean().iter().collect::<Vec<_>>(),
            vec![Some(true), Some(false)]
        );
    }
}
