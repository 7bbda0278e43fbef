//! TRANSFORM and FILTER with ksqlDB's meaning (its Transform and Filter UDFs), of an ARRAY and
//! of a MAP. Of an ARRAY they are DataFusion's array_transform and array_filter, called
//! through; of a MAP each entry's key and value are the lambdas' two parameters:
//! `TRANSFORM(m, (k, v) => new_key, (k, v) => new_value)` and `FILTER(m, (k, v) => keep)`.
//! A NULL MAP gives NULL; entries keep their order. A TRANSFORM that gives a NULL key, or the
//! same key twice in one MAP, fails the row, as ksqlDB's does.
//!
//! A lambda runs once per batch over every entry of the batch's MAPs at once.
//!
//! Never: evaluate a lambda over the entries of a NULL MAP.

use std::collections::HashSet;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, MapArray, StructArray, UInt32Array};
use arrow::buffer::OffsetBuffer;
use arrow::compute::{filter, take, take_arrays};
use arrow::datatypes::{DataType, Field, FieldRef, Fields};
use arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::functions_nested::array_filter::array_filter_higher_order_function;
use datafusion::functions_nested::array_transform::array_transform_higher_order_function;
use datafusion::logical_expr::{
    ColumnarValue, HigherOrderFunctionArgs, HigherOrderReturnFieldArgs, HigherOrderSignature,
    HigherOrderUDF, HigherOrderUDFImpl, LambdaArgument, LambdaParametersProgress, ValueOrLambda,
    Volatility,
};

use crate::types::map_type;

pub(crate) fn transform() -> Arc<HigherOrderUDF> {
    ksql_lambda_function(Kind::Transform, array_transform_higher_order_function())
}

pub(crate) fn filter_function() -> Arc<HigherOrderUDF> {
    ksql_lambda_function(Kind::Filter, array_filter_higher_order_function())
}

fn ksql_lambda_function(kind: Kind, array_form: Arc<HigherOrderUDF>) -> Arc<HigherOrderUDF> {
    Arc::new(HigherOrderUDF::new_from_impl(LambdaFunction {
        kind,
        array_form,
        signature: HigherOrderSignature::variadic_any(Volatility::Immutable),
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    Transform,
    Filter,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Transform => "transform",
            Kind::Filter => "filter",
        }
    }

    /// The call's shape, for errors.
    fn usage(self) -> &'static str {
        match self {
            Kind::Transform => {
                "TRANSFORM takes an ARRAY and a lambda (x => ..), or a MAP and two lambdas ((k, v) => .., (k, v) => ..)"
            }
            Kind::Filter => {
                "FILTER takes an ARRAY and a lambda (x => ..), or a MAP and a lambda ((k, v) => ..)"
            }
        }
    }

    fn map_lambdas(self) -> usize {
        match self {
            Kind::Transform => 2,
            Kind::Filter => 1,
        }
    }
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct LambdaFunction {
    kind: Kind,
    /// DataFusion's function of the ARRAY form.
    array_form: Arc<HigherOrderUDF>,
    signature: HigherOrderSignature,
}

impl LambdaFunction {
    /// The MAP's key and value fields, when the call is the MAP form.
    fn map_form<V, L>(
        &self,
        args: &[ValueOrLambda<V, L>],
        first: &DataType,
    ) -> Result<Option<(FieldRef, FieldRef)>> {
        let DataType::Map(entries, _) = first else {
            return Ok(None);
        };
        let lambdas_only = args[1..]
            .iter()
            .all(|arg| matches!(arg, ValueOrLambda::Lambda(_)));
        let DataType::Struct(fields) = entries.data_type() else {
            return plan_err!("a MAP of unexpected entries {}", entries.data_type());
        };
        if args.len() != 1 + self.kind.map_lambdas() || !lambdas_only || fields.len() != 2 {
            return plan_err!("{}", self.kind.usage());
        }
        Ok(Some((Arc::clone(&fields[0]), Arc::clone(&fields[1]))))
    }
}

impl HigherOrderUDFImpl for LambdaFunction {
    fn name(&self) -> &str {
        self.kind.name()
    }

    fn signature(&self) -> &HigherOrderSignature {
        &self.signature
    }

    fn lambda_parameters(
        &self,
        step: usize,
        fields: &[ValueOrLambda<FieldRef, Option<FieldRef>>],
    ) -> Result<LambdaParametersProgress> {
        let Some(ValueOrLambda::Value(first)) = fields.first() else {
            return plan_err!("{}", self.kind.usage());
        };
        match self.map_form(fields, first.data_type())? {
            Some((key, value)) => Ok(LambdaParametersProgress::Complete(vec![
                vec![key, value];
                self.kind
                    .map_lambdas()
            ])),
            None => self.array_form.inner().lambda_parameters(step, fields),
        }
    }

    fn return_field_from_args(&self, args: HigherOrderReturnFieldArgs) -> Result<FieldRef> {
        let Some(ValueOrLambda::Value(first)) = args.arg_fields.first() else {
            return plan_err!("{}", self.kind.usage());
        };
        if self.map_form(args.arg_fields, first.data_type())?.is_none() {
            return self.array_form.inner().return_field_from_args(args);
        }
        Ok(match (self.kind, args.arg_fields) {
            (Kind::Transform, [_, ValueOrLambda::Lambda(key), ValueOrLambda::Lambda(value)]) => {
                Arc::new(Field::new(
                    "",
                    map_type(key.data_type().clone(), value.data_type().clone()),
                    true,
                ))
            }
            _ => Arc::clone(first),
        })
    }

    fn invoke_with_args(&self, args: HigherOrderFunctionArgs) -> Result<ColumnarValue> {
        let Some(ValueOrLambda::Value(first)) = args.args.first() else {
            return exec_err!("{}", self.kind.usage());
        };
        if !matches!(first.data_type(), DataType::Map(_, _)) {
            return self.array_form.inner().invoke_with_args(args);
        }
        let maps = first.to_array(args.number_rows)?;
        let Some(maps) = maps.as_map_opt() else {
            return exec_err!("{}", self.kind.usage());
        };
        let entries = MapEntries::of(maps)?;
        let answer = match (self.kind, &args.args[1..]) {
            (Kind::Transform, [ValueOrLambda::Lambda(key), ValueOrLambda::Lambda(value)]) => {
                let DataType::Map(entries_field, _) = args.return_type() else {
                    return exec_err!("TRANSFORM of a MAP must return a MAP");
                };
                transform_map(maps, &entries, key, value, entries_field)?
            }
            (Kind::Filter, [ValueOrLambda::Lambda(keep)]) => filter_map(maps, &entries, keep)?,
            _ => return exec_err!("{}", self.kind.usage()),
        };
        Ok(ColumnarValue::Array(Arc::new(answer)))
    }
}

/// The entries of the non-NULL MAPs of a batch, as parallel arrays.
pub(super) struct MapEntries {
    /// The row each entry belongs to.
    pub rows: UInt32Array,
    pub keys: ArrayRef,
    pub values: ArrayRef,
    /// Entries per row: none for a NULL MAP.
    pub lengths: Vec<usize>,
}

impl MapEntries {
    pub(super) fn of(maps: &MapArray) -> Result<MapEntries> {
        let offsets = maps.value_offsets();
        let mut rows = Vec::with_capacity(maps.values().len());
        let mut positions = Vec::with_capacity(maps.values().len());
        let mut lengths = Vec::with_capacity(maps.len());
        for row in 0..maps.len() {
            if maps.is_null(row) {
                lengths.push(0);
                continue;
            }
            let (start, end) = (offsets[row] as u32, offsets[row + 1] as u32);
            rows.extend(std::iter::repeat_n(row as u32, (end - start) as usize));
            positions.extend(start..end);
            lengths.push((end - start) as usize);
        }
        let positions = UInt32Array::from(positions);
        Ok(MapEntries {
            rows: UInt32Array::from(rows),
            keys: take(maps.keys(), &positions, None)?,
            values: take(maps.values(), &positions, None)?,
            lengths,
        })
    }

    /// A lambda of (key, value) over every entry, the row's columns as its captures.
    fn evaluate(&self, lambda: &LambdaArgument) -> Result<ArrayRef> {
        let key = || Ok(Arc::clone(&self.keys));
        let value = || Ok(Arc::clone(&self.values));
        lambda
            .evaluate(&[&key, &value], |captured| {
                Ok(take_arrays(captured, &self.rows, None)?)
            })?
            .into_array(self.rows.len())
    }
}

fn transform_map(
    maps: &MapArray,
    entries: &MapEntries,
    key_lambda: &LambdaArgument,
    value_lambda: &LambdaArgument,
    entries_field: &FieldRef,
) -> Result<MapArray> {
    let keys = entries.evaluate(key_lambda)?;
    let values = entries.evaluate(value_lambda)?;
    if keys.null_count() > 0 {
        return exec_err!("TRANSFORM gave a MAP a NULL key");
    }
    check_unique_keys(&keys, &entries.lengths)?;
    let DataType::Struct(fields) = entries_field.data_type() else {
        return exec_err!("a MAP of unexpected entries {}", entries_field.data_type());
    };
    build_map(maps, entries_field, fields, keys, values, &entries.lengths)
}

fn filter_map(maps: &MapArray, entries: &MapEntries, keep: &LambdaArgument) -> Result<MapArray> {
    let kept = entries.evaluate(keep)?;
    let Some(kept) = kept.as_boolean_opt() else {
        return exec_err!(
            "FILTER's lambda must give a BOOLEAN, not {}",
            kept.data_type()
        );
    };
    // A NULL answer drops the entry, as FILTER of an ARRAY does.
    let kept = match kept.null_count() {
        0 => kept.clone(),
        _ => arrow::compute::prep_null_mask_filter(kept),
    };
    let mut lengths = Vec::with_capacity(entries.lengths.len());
    let mut entry = 0;
    for &length in &entries.lengths {
        let kept_here = (entry..entry + length).filter(|&at| kept.value(at)).count();
        lengths.push(kept_here);
        entry += length;
    }
    let DataType::Map(entries_field, _) = maps.data_type() else {
        return exec_err!("FILTER of a MAP got {}", maps.data_type());
    };
    let DataType::Struct(fields) = entries_field.data_type() else {
        return exec_err!("a MAP of unexpected entries {}", entries_field.data_type());
    };
    let keys = filter(&entries.keys, &kept)?;
    let values = filter(&entries.values, &kept)?;
    build_map(maps, entries_field, fields, keys, values, &lengths)
}

/// Each row's keys are distinct (compared by value, as MAP keys are).
fn check_unique_keys(keys: &ArrayRef, lengths: &[usize]) -> Result<()> {
    let converter = RowConverter::new(vec![SortField::new(keys.data_type().clone())])?;
    let encoded = converter.convert_columns(&[Arc::clone(keys)])?;
    let mut seen = HashSet::new();
    let mut entry = 0;
    for &length in lengths {
        seen.clear();
        for at in entry..entry + length {
            if !seen.insert(encoded.row(at)) {
                let key = ScalarValue::try_from_array(keys, at)?;
                return exec_err!("TRANSFORM gave one MAP the key '{key}' twice");
            }
        }
        entry += length;
    }
    Ok(())
}

/// A MAP per input row: its entries from `keys` and `values` by `lengths`, NULL where the
/// input MAP is.
fn build_map(
    maps: &MapArray,
    entries_field: &FieldRef,
    fields: &Fields,
    keys: ArrayRef,
    values: ArrayRef,
    lengths: &[usize],
) -> Result<MapArray> {
    let entries = StructArray::try_new(fields.clone(), vec![keys, values], None)?;
    Ok(MapArray::try_new(
        Arc::clone(entries_field),
        OffsetBuffer::from_lengths(lengths.iter().copied()),
        entries,
        maps.nulls().cloned(),
        false,
    )?)
}
