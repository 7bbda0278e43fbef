//! What the ARRAY and MAP functions share: argument coercion to one list type, arguments read
//! as `ListArray`s, element comparison as ksqlDB's Java does it, and results built from the
//! positions of the elements they keep.
//!
//! Elements are compared through Arrow's row format: two elements are equal when their encoded
//! rows are equal, which is Java's `equals` for ksqlDB's types (NULL equals NULL, NaN equals
//! NaN, -0.0 differs from 0.0), and ordered as Java's natural order (NaN greatest, -0.0 before
//! 0.0; strings by UTF-8 bytes, which differs from Java's UTF-16 order only between code
//! points above U+FFFF and U+E000..U+FFFF). A map's entries are compared in order.
//!
//! Never: allocate from a length read from input before checking it; build an offset past
//! `i32::MAX`.

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, ListArray, UInt64Array, new_null_array};
use arrow::buffer::{NullBuffer, OffsetBuffer};
use arrow::compute::{SortOptions, cast, take};
use arrow::datatypes::{DataType, Field, FieldRef};
use arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::ColumnarValue;
use datafusion::logical_expr::type_coercion::binary::comparison_coercion;

/// The list type an argument of `data_type` is read as: ARRAY's own (`List`, item "item"),
/// whatever list kind DataFusion hands in; NULL is an empty-typed list.
pub(super) fn list_type(name: &str, data_type: &DataType) -> Result<DataType> {
    match data_type {
        DataType::List(item) | DataType::LargeList(item) | DataType::FixedSizeList(item, _) => {
            Ok(list_of(item.data_type().clone()))
        }
        DataType::Null => Ok(list_of(DataType::Null)),
        other => plan_err!("{name} takes an ARRAY, not {other}"),
    }
}

/// `List` of `item`, as ksqlDB's ARRAY is stored.
pub(super) fn list_of(item: DataType) -> DataType {
    DataType::List(Arc::new(Field::new_list_field(item, true)))
}

/// The item type of a list type given by `list_type`.
pub(super) fn item_type(list: &DataType) -> DataType {
    match list {
        DataType::List(item) => item.data_type().clone(),
        _ => DataType::Null,
    }
}

/// One type two values of `left` and `right` are compared as (ksqlDB asks for the same type;
/// INT and BIGINT meet as BIGINT here).
pub(super) fn common_type(name: &str, left: &DataType, right: &DataType) -> Result<DataType> {
    match (left, right) {
        (DataType::Null, other) | (other, DataType::Null) => Ok(other.clone()),
        _ if left == right => Ok(left.clone()),
        _ => match comparison_coercion(left, right) {
            Some(common) => Ok(common),
            None => plan_err!("{name} takes elements of one type, not {left} and {right}"),
        },
    }
}

/// The argument as an array of `rows` values.
pub(super) fn argument_array(argument: &ColumnarValue, rows: usize) -> Result<ArrayRef> {
    Ok(match argument {
        ColumnarValue::Array(array) => Arc::clone(array),
        ColumnarValue::Scalar(scalar) => scalar.to_array_of_size(rows)?,
    })
}

/// The argument as a `ListArray` of `rows` values of list type `list_type`.
pub(super) fn list_argument(
    argument: &ColumnarValue,
    rows: usize,
    list_type: &DataType,
) -> Result<ListArray> {
    let array = argument_array(argument, rows)?;
    let array = match array.data_type() {
        DataType::Null => new_null_array(list_type, rows),
        data_type if data_type == list_type => array,
        _ => cast(&array, list_type)?,
    };
    match array.as_list_opt::<i32>() {
        Some(list) => Ok(list.clone()),
        None => exec_err!("expected an ARRAY, found {}", array.data_type()),
    }
}

/// Rows of `values`, one per element: equal rows are equal elements, and rows order as
/// `options` asks (`SortOptions::default()` is ascending, NULLs first).
pub(super) fn element_rows(converter: &RowConverter, values: &ArrayRef) -> Result<Rows> {
    Ok(converter.convert_columns(std::slice::from_ref(values))?)
}

/// A converter for elements of `item_type`.
pub(super) fn element_converter(
    item_type: &DataType,
    options: SortOptions,
) -> Result<RowConverter> {
    Ok(RowConverter::new(vec![SortField::new_with_options(
        item_type.clone(),
        options,
    )])?)
}

/// A list result built from positions in a values array: each row is the elements at the
/// positions pushed for it, or NULL.
pub(super) struct PickedList {
    positions: Vec<u64>,
    offsets: Vec<i32>,
    valid: Vec<bool>,
}

impl PickedList {
    pub(super) fn with_rows(rows: usize) -> Self {
        let mut offsets = Vec::with_capacity(rows + 1);
        offsets.push(0);
        PickedList {
            positions: Vec::new(),
            offsets,
            valid: Vec::with_capacity(rows),
        }
    }

    pub(super) fn push(&mut self, position: usize) {
        self.positions.push(position as u64);
    }

    /// Ends a row that holds the positions pushed since the last row ended.
    pub(super) fn end_row(&mut self) -> Result<()> {
        let Ok(end) = i32::try_from(self.positions.len()) else {
            return exec_err!("an ARRAY result holds more than {} elements", i32::MAX);
        };
        self.offsets.push(end);
        self.valid.push(true);
        Ok(())
    }

    /// Ends a NULL row.
    pub(super) fn end_null_row(&mut self) {
        let end = self.offsets.last().copied().unwrap_or(0);
        self.offsets.push(end);
        self.valid.push(false);
    }

    /// The positions and per-row offsets, for a caller building another kind of array.
    pub(super) fn finish_parts(self) -> (UInt64Array, OffsetBuffer<i32>, Option<NullBuffer>) {
        let nulls = NullBuffer::from(self.valid);
        let nulls = (nulls.null_count() > 0).then_some(nulls);
        (
            UInt64Array::from(self.positions),
            OffsetBuffer::new(self.offsets.into()),
            nulls,
        )
    }

    /// The list of the elements of `values` at the positions pushed.
    pub(super) fn finish(self, values: &ArrayRef) -> Result<ArrayRef> {
        let item: FieldRef = Arc::new(Field::new_list_field(values.data_type().clone(), true));
        let (positions, offsets, nulls) = self.finish_parts();
        let picked = take(values, &positions, None)?;
        Ok(Arc::new(ListArray::try_new(item, offsets, picked, nulls)?))
    }
}

/// The element positions of row `row` of `list`, in the list's values array.
pub(super) fn element_range(list: &ListArray, row: usize) -> std::ops::Range<usize> {
    let offsets = list.value_offsets();
    offsets[row] as usize..offsets[row + 1] as usize
}
