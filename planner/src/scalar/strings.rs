//! SUBSTRING, LPAD and RPAD with ksqlDB's meaning, in place of DataFusion's.
//!
//! `SUBSTRING(s, pos [, length])` counts `pos` from 1; 0 is the start too, and a negative
//! `pos` counts back from the end; the part runs `length` characters or to the end, never
//! past it, and a negative length gives '' (ksqlDB's Substring UDF). Only the comma form is
//! ksqlDB's: `SUBSTRING(s FROM pos FOR length)` and `SUBSTR` keep Postgres' meaning (the
//! planner routes the comma form here, `sql::ksql_expression_rules`).
//!
//! LPAD and RPAD: `LPAD(input, length,
//! padding)` pads `input` on the left (RPAD: the right) with repeats of `padding` up to
//! `length` characters, and cuts a longer input to its first `length` characters; a NULL
//! argument, an empty padding or a negative length gives NULL (ksqlDB's Lpad/Rpad UDFs). The
//! two-argument form, which ksqlDB lacks, pads with spaces as Postgres does.
//!
//! Never: allocate from an unchecked length. DataFusion's own functions panic on a negative
//! length read from a column and abort the process on a huge one; here a length past
//! `i32::MAX` characters is an error of that row.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

/// The longest result, in characters: Arrow's string offsets are 32-bit.
const RESULT_CHARS_MAX: i64 = i32::MAX as i64;

/// SUBSTRING, LPAD and RPAD, to register over DataFusion's functions of the same names.
pub(crate) fn string_functions() -> Vec<Arc<ScalarUDF>> {
    let mut functions: Vec<Arc<ScalarUDF>> = [Side::Left, Side::Right]
        .into_iter()
        .map(|side| Arc::new(ScalarUDF::from(Pad::new(side))))
        .collect();
    functions.push(Arc::new(ScalarUDF::from(Substring {
        signature: Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Utf8, DataType::Int64]),
                TypeSignature::Exact(vec![DataType::Utf8, DataType::Int64, DataType::Int64]),
            ],
            Volatility::Immutable,
        ),
    })));
    functions
}

/// The call's arguments as arrays of `types`, each cast once a batch; None for an argument
/// the call does not give.
fn cast_arguments(args: &[ColumnarValue], types: [DataType; 3]) -> Result<[Option<ArrayRef>; 3]> {
    let arrays = ColumnarValue::values_to_arrays(args)?;
    let mut cast_arrays = [None, None, None];
    for ((slot, array), data_type) in cast_arrays.iter_mut().zip(&arrays).zip(&types) {
        *slot = Some(cast(array, data_type)?);
    }
    Ok(cast_arrays)
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Substring {
    signature: Signature,
}

impl ScalarUDFImpl for Substring {
    fn name(&self) -> &str {
        "substring"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [Some(strings), Some(positions), lengths] = cast_arguments(
            &args.args,
            [DataType::Utf8, DataType::Int64, DataType::Int64],
        )?
        else {
            return exec_err!("substring takes a string, a position and maybe a length");
        };
        let strings = strings.as_string::<i32>();
        let positions = positions.as_primitive::<Int64Type>();
        let lengths = lengths
            .as_ref()
            .map(|lengths| lengths.as_primitive::<Int64Type>());
        let mut results = StringBuilder::with_capacity(strings.len(), strings.value_data().len());
        for row in 0..strings.len() {
            let length = match lengths {
                Some(lengths) if lengths.is_null(row) => None,
                Some(lengths) => Some(Some(lengths.value(row))),
                None => Some(None),
            };
            let (Some(length), false, false) =
                (length, strings.is_null(row), positions.is_null(row))
            else {
                results.append_null();
                continue;
            };
            let string = strings.value(row);
            // In ASCII text (most keys and URLs) a character is a byte: no scan to count
            // characters or to find where one starts.
            let ascii = string.is_ascii();
            let chars = match ascii {
                true => string.len(),
                false => string.chars().count(),
            } as i64;
            let position = positions.value(row);
            let start = if position < 0 {
                chars.saturating_add(position).max(0)
            } else {
                position.saturating_sub(1).min(chars).max(0)
            };
            let end = match length {
                Some(length) => start.saturating_add(length).min(chars).max(start),
                None => chars,
            };
            let byte_at = |char_index: i64| match ascii {
                true => char_index as usize,
                false => string
                    .char_indices()
                    .nth(char_index as usize)
                    .map_or(string.len(), |(byte, _)| byte),
            };
            results.append_value(&string[byte_at(start)..byte_at(end)]);
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Side {
    Left,
    Right,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Pad {
    side: Side,
    signature: Signature,
}

impl Pad {
    fn new(side: Side) -> Self {
        Pad {
            side,
            signature: Signature::one_of(
                vec![
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Int64]),
                    TypeSignature::Exact(vec![DataType::Utf8, DataType::Int64, DataType::Utf8]),
                ],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for Pad {
    fn name(&self) -> &str {
        match self.side {
            Side::Left => "lpad",
            Side::Right => "rpad",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let [Some(inputs), Some(lengths), paddings] = cast_arguments(
            &args.args,
            [DataType::Utf8, DataType::Int64, DataType::Utf8],
        )?
        else {
            return exec_err!(
                "{} takes a string, a length and maybe a padding",
                self.name()
            );
        };
        let inputs = inputs.as_string::<i32>();
        let lengths = lengths.as_primitive::<Int64Type>();
        let paddings = paddings
            .as_ref()
            .map(|paddings| paddings.as_string::<i32>());
        let mut results = StringBuilder::with_capacity(inputs.len(), inputs.value_data().len());
        for row in 0..inputs.len() {
            let padding = match paddings {
                Some(paddings) if paddings.is_null(row) => None,
                Some(paddings) => Some(paddings.value(row)),
                None => Some(" "),
            };
            if inputs.is_null(row) || lengths.is_null(row) {
                results.append_null();
                continue;
            }
            let (input, length) = (inputs.value(row), lengths.value(row));
            let Some(padding) = padding.filter(|padding| !padding.is_empty()) else {
                results.append_null();
                continue;
            };
            if length < 0 {
                results.append_null();
                continue;
            }
            if length > RESULT_CHARS_MAX {
                return exec_err!(
                    "{}'s length {length} is more than {RESULT_CHARS_MAX} characters",
                    self.name()
                );
            }
            self.pad_into(&mut results, input, length as usize, padding);
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

impl Pad {
    /// Appends `input` padded or cut to `length` characters.
    fn pad_into(&self, results: &mut StringBuilder, input: &str, length: usize, padding: &str) {
        let input_chars = input.chars().count();
        if input_chars >= length {
            let end = input
                .char_indices()
                .nth(length)
                .map_or(input.len(), |(end, _)| end);
            results.append_value(&input[..end]);
            return;
        }
        let fill = padding.chars().cycle().take(length - input_chars);
        // Writing to a StringBuilder cannot fail: the results are ignored.
        if self.side == Side::Right {
            let _ = results.write_str(input);
        }
        for character in fill {
            let _ = results.write_char(character);
        }
        if self.side == Side::Left {
            let _ = results.write_str(input);
        }
        results.append_value("");
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{ArrayRef, Int64Array, StringArray};
    use arrow::datatypes::Field;
    use datafusion::config::ConfigOptions;

    use super::*;

    fn call(side: Side, columns: Vec<ArrayRef>) -> Result<Vec<Option<String>>> {
        let rows = columns[0].len();
        let pad = Pad::new(side);
        let arg_fields = columns
            .iter()
            .map(|column| Arc::new(Field::new("a", column.data_type().clone(), true)))
            .collect();
        let result = pad.invoke_with_args(ScalarFunctionArgs {
            args: columns.into_iter().map(ColumnarValue::Array).collect(),
            arg_fields,
            number_rows: rows,
            return_field: Arc::new(Field::new("r", DataType::Utf8, true)),
            config_options: Arc::new(ConfigOptions::default()),
        })?;
        let ColumnarValue::Array(array) = result else {
            panic!("an array")
        };
        Ok(array
            .as_string::<i32>()
            .iter()
            .map(|value| value.map(str::to_string))
            .collect())
    }

    fn string_column(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn length_column(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    #[test]
    fn pads_and_cuts_as_ksqldb_with_null_for_a_negative_length_or_empty_padding() {
        let inputs = string_column(&[
            Some("ab"),
            Some("abcdef"),
            Some("ab"),
            Some("ab"),
            None,
            Some("ab"),
        ]);
        let lengths = length_column(&[Some(5), Some(3), Some(-3), Some(4), Some(4), None]);
        let paddings = string_column(&[
            Some("xy"),
            Some("x"),
            Some("x"),
            Some(""),
            Some("x"),
            Some("x"),
        ]);
        let answer = |side| {
            call(
                side,
                vec![inputs.clone(), lengths.clone(), paddings.clone()],
            )
        };
        let expected = |padded: &str| {
            vec![
                Some(padded.to_string()),
                Some("abc".to_string()),
                None,
                None,
                None,
                None,
            ]
        };
        assert_eq!(answer(Side::Left).expect("pads"), expected("xyxab"));
        assert_eq!(answer(Side::Right).expect("pads"), expected("abxyx"));
        // Without padding, spaces; lengths count characters, not bytes.
        let two = call(
            Side::Left,
            vec![string_column(&[Some("é")]), length_column(&[Some(3)])],
        )
        .expect("pads");
        assert_eq!(two, vec![Some("  é".to_string())]);
    }

    fn substring(columns: Vec<ArrayRef>) -> Vec<Option<String>> {
        let function = string_functions().pop().expect("substring is last");
        let rows = columns[0].len();
        let arg_fields = columns
            .iter()
            .map(|column| Arc::new(Field::new("a", column.data_type().clone(), true)))
            .collect();
        let result = function
            .invoke_with_args(ScalarFunctionArgs {
                args: columns.into_iter().map(ColumnarValue::Array).collect(),
                arg_fields,
                number_rows: rows,
                return_field: Arc::new(Field::new("r", DataType::Utf8, true)),
                config_options: Arc::new(ConfigOptions::default()),
            })
            .expect("substring answers");
        let ColumnarValue::Array(array) = result else {
            panic!("an array")
        };
        array
            .as_string::<i32>()
            .iter()
            .map(|value| value.map(str::to_string))
            .collect()
    }

    /// ksqlDB's documented cases and the edges of its rule.
    #[test]
    fn substring_counts_from_one_from_the_end_and_never_past_either() {
        let answers = substring(vec![
            string_column(&[Some("abcde"); 8]),
            length_column(&[
                Some(0),
                Some(1),
                Some(2),
                Some(-2),
                Some(-9),
                Some(9),
                Some(2),
                None,
            ]),
            length_column(&[
                Some(2),
                Some(2),
                Some(9),
                Some(1),
                Some(2),
                Some(1),
                Some(-1),
                Some(1),
            ]),
        ]);
        let expected = [
            Some("ab"),
            Some("ab"),
            Some("bcde"),
            Some("d"),
            Some("ab"),
            Some(""),
            Some(""),
            None,
        ];
        assert_eq!(
            answers,
            expected.map(|value| value.map(str::to_string)).to_vec()
        );
        let to_the_end = substring(vec![
            string_column(&[Some("héllo"), None]),
            length_column(&[Some(2), Some(1)]),
        ]);
        assert_eq!(to_the_end, vec![Some("éllo".to_string()), None]);
    }

    #[test]
    fn a_huge_length_is_an_error_not_an_allocation() {
        let error = call(
            Side::Left,
            vec![
                string_column(&[Some("ab")]),
                length_column(&[Some(i64::MAX)]),
                string_column(&[Some("x")]),
            ],
        )
        .expect_err("refused");
        assert!(
            error.to_string().contains("is more than 2147483647"),
            "{error}"
        );
    }
}
