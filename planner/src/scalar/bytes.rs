//! ksqlDB's functions between BYTES and text or numbers: TO_BYTES(string, encoding) and
//! FROM_BYTES(bytes, encoding) in `hex`, `utf8`, `ascii` or `base64` (any case; ksqlDB's
//! ToBytes/FromBytes UDFs), ENCODE(string, from, to) between two of those as text (ksqlDB's
//! Encode UDF, in place of DataFusion's two-argument `encode`, which stays for its own
//! arity), and INT_FROM_BYTES, BIGINT_FROM_BYTES, DOUBLE_FROM_BYTES with an optional byte
//! order, `BIG_ENDIAN` by default (ksqlDB's IntFromBytes/BigIntFromBytes/DoubleFromBytes).
//!
//! As in ksqlDB, an unknown encoding or byte order, text that does not decode and a number
//! of bytes other than the type's are errors of the row; a NULL value or encoding is NULL.
//!
//! Never: read past a value's bytes; lengths are checked before any read.

use std::sync::Arc;

use arrow::array::{
    Array, ArrayRef, AsArray, BinaryBuilder, Float64Builder, Int32Builder, Int64Builder,
    StringArray, StringBuilder,
};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::encodings::{
    ascii_decode, ascii_encode, base64_decode_java, base64_decode_lenient, base64_encode,
    hex_decode, hex_encode,
};

/// TO_BYTES, FROM_BYTES, ENCODE and the three *_FROM_BYTES functions.
pub(crate) fn bytes_functions() -> Vec<Arc<ScalarUDF>> {
    let mut functions: Vec<Arc<ScalarUDF>> = [Number::Int, Number::BigInt, Number::Double]
        .into_iter()
        .map(|number| {
            Arc::new(ScalarUDF::from(FromBytesNumber {
                number,
                signature: Signature::one_of(
                    vec![
                        TypeSignature::Exact(vec![DataType::Binary]),
                        TypeSignature::Exact(vec![DataType::Binary, DataType::Utf8]),
                    ],
                    Volatility::Immutable,
                ),
            }))
        })
        .collect();
    functions.push(Arc::new(ScalarUDF::from(ToBytes {
        signature: Signature::exact(vec![DataType::Utf8, DataType::Utf8], Volatility::Immutable),
    })));
    functions.push(Arc::new(ScalarUDF::from(FromBytes {
        signature: Signature::exact(
            vec![DataType::Binary, DataType::Utf8],
            Volatility::Immutable,
        ),
    })));
    let datafusion_encode = datafusion::functions::encoding::encode();
    functions.push(Arc::new(ScalarUDF::from(Encode {
        signature: Signature::one_of(
            vec![
                TypeSignature::Exact(vec![DataType::Utf8, DataType::Utf8, DataType::Utf8]),
                datafusion_encode.signature().type_signature.clone(),
            ],
            Volatility::Immutable,
        ),
        datafusion_encode,
    })));
    functions
}

/// ksqlDB's `BytesUtils.Encoding`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Encoding {
    Hex,
    Utf8,
    Ascii,
    Base64,
}

impl Encoding {
    fn parse(name: &str) -> Option<Encoding> {
        Some(match name.to_ascii_lowercase().as_str() {
            "hex" => Encoding::Hex,
            "utf8" => Encoding::Utf8,
            "ascii" => Encoding::Ascii,
            "base64" => Encoding::Base64,
            _ => return None,
        })
    }

    /// As TO_BYTES and FROM_BYTES read it: an unknown name is an error.
    fn of_bytes_function(name: &str) -> Result<Encoding> {
        match Encoding::parse(name) {
            Some(encoding) => Ok(encoding),
            None => exec_err!(
                "Unknown encoding type '{name}'. Supported formats are 'hex', 'utf8', 'ascii', \
                 and 'base64'."
            ),
        }
    }
}

/// The call's arguments as arrays of `types`, in order.
fn arguments_as(args: &[ColumnarValue], types: &[DataType]) -> Result<Vec<ArrayRef>> {
    ColumnarValue::values_to_arrays(args)?
        .iter()
        .zip(types)
        .map(|(array, data_type)| Ok(cast(array, data_type)?))
        .collect()
}

fn string_at(strings: &StringArray, row: usize) -> Option<&str> {
    strings.is_valid(row).then(|| strings.value(row))
}

/// TO_BYTES(string, encoding): the bytes the text encodes.
#[derive(Debug, PartialEq, Eq, Hash)]
struct ToBytes {
    signature: Signature,
}

impl ScalarUDFImpl for ToBytes {
    fn name(&self) -> &str {
        "to_bytes"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Binary)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arguments_as(&args.args, &[DataType::Utf8, DataType::Utf8])?;
        let [texts, encodings] = arrays.as_slice() else {
            return exec_err!("to_bytes takes a string and an encoding");
        };
        let (texts, encodings) = (texts.as_string::<i32>(), encodings.as_string::<i32>());
        let mut results = BinaryBuilder::with_capacity(texts.len(), texts.value_data().len());
        for row in 0..texts.len() {
            let (Some(text), Some(encoding)) = (string_at(texts, row), string_at(encodings, row))
            else {
                results.append_null();
                continue;
            };
            let decoded = match Encoding::of_bytes_function(encoding)? {
                Encoding::Hex => hex_decode(text),
                Encoding::Utf8 => Ok(text.as_bytes().to_vec()),
                Encoding::Ascii => Ok(ascii_encode(text)),
                Encoding::Base64 => base64_decode_java(text),
            };
            match decoded {
                Ok(bytes) => results.append_value(bytes),
                Err(reason) => return exec_err!("to_bytes: {reason}"),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

/// FROM_BYTES(bytes, encoding): the bytes as text (hex in upper case, invalid UTF-8 and
/// non-ASCII bytes as U+FFFD).
#[derive(Debug, PartialEq, Eq, Hash)]
struct FromBytes {
    signature: Signature,
}

impl ScalarUDFImpl for FromBytes {
    fn name(&self) -> &str {
        "from_bytes"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arguments_as(&args.args, &[DataType::Binary, DataType::Utf8])?;
        let [values, encodings] = arrays.as_slice() else {
            return exec_err!("from_bytes takes bytes and an encoding");
        };
        let (values, encodings) = (values.as_binary::<i32>(), encodings.as_string::<i32>());
        let mut results = StringBuilder::with_capacity(values.len(), values.value_data().len());
        let mut text = String::new();
        for row in 0..values.len() {
            let Some(encoding) = string_at(encodings, row).filter(|_| values.is_valid(row)) else {
                results.append_null();
                continue;
            };
            let bytes = values.value(row);
            text.clear();
            match Encoding::of_bytes_function(encoding)? {
                Encoding::Hex => hex_encode(bytes, true, &mut text),
                Encoding::Utf8 => text.push_str(&String::from_utf8_lossy(bytes)),
                Encoding::Ascii => ascii_decode(bytes, &mut text),
                Encoding::Base64 => base64_encode(bytes, &mut text),
            }
            results.append_value(&text);
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

/// ENCODE(string, input_encoding, output_encoding), ksqlDB's Encode UDF (Apache Commons
/// Codec): the text read in one encoding and written in another (hex in lower case). Hex
/// input may carry `0x` or `X'..'`; base64 input skips what is not base64. The same encoding
/// twice, or an unknown one, is an error. With two arguments, DataFusion's `encode`.
#[derive(Debug, PartialEq, Eq, Hash)]
struct Encode {
    signature: Signature,
    datafusion_encode: Arc<ScalarUDF>,
}

impl ScalarUDFImpl for Encode {
    fn name(&self) -> &str {
        "encode"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.len() {
            3 => Ok(DataType::Utf8),
            _ => self.datafusion_encode.return_type(arg_types),
        }
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.len() != 3 {
            return self.datafusion_encode.invoke_with_args(args);
        }
        let arrays = arguments_as(
            &args.args,
            &[DataType::Utf8, DataType::Utf8, DataType::Utf8],
        )?;
        let [texts, inputs, outputs] = arrays.as_slice() else {
            return exec_err!("encode takes a string and two encodings");
        };
        let texts = texts.as_string::<i32>();
        let (inputs, outputs) = (inputs.as_string::<i32>(), outputs.as_string::<i32>());
        let mut results = StringBuilder::with_capacity(texts.len(), texts.value_data().len());
        let mut text = String::new();
        for row in 0..texts.len() {
            let (Some(input), Some(from), Some(to)) = (
                string_at(texts, row),
                string_at(inputs, row),
                string_at(outputs, row),
            ) else {
                results.append_null();
                continue;
            };
            let (Some(from), Some(to)) = (Encoding::parse(from), Encoding::parse(to)) else {
                return exec_err!(
                    "Supported input and output encodings are: hex, utf8, ascii and base64"
                );
            };
            if from == to {
                return exec_err!(
                    "Supported input and output encodings are: hex, utf8, ascii and base64"
                );
            }
            let bytes = match from {
                Encoding::Hex => match hex_decode_commons(strip_hex(input).as_ref()) {
                    Ok(bytes) => bytes,
                    Err(reason) => return exec_err!("{reason}"),
                },
                Encoding::Utf8 => input.as_bytes().to_vec(),
                Encoding::Ascii => ascii_encode(input),
                Encoding::Base64 => base64_decode_lenient(input),
            };
            text.clear();
            match to {
                Encoding::Hex => hex_encode(&bytes, false, &mut text),
                Encoding::Utf8 => text.push_str(&String::from_utf8_lossy(&bytes)),
                Encoding::Ascii => ascii_decode(&bytes, &mut text),
                Encoding::Base64 => base64_encode(&bytes, &mut text),
            }
            results.append_value(&text);
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

/// ksqlDB's `Encode.hexStrip`: `0x..` loses its prefix (and gains a leading 0 when the whole
/// text has an odd length), `X'..'` or `x'..'` its quotes; other text stays. (Java's `.*`
/// stops at line breaks, so text with one keeps its prefix.)
fn strip_hex(input: &str) -> std::borrow::Cow<'_, str> {
    let has_line_break = |text: &str| text.contains(['\n', '\r', '\u{85}', '\u{2028}', '\u{2029}']);
    let java_length = input.encode_utf16().count();
    if let Some(rest) = input.strip_prefix("0x")
        && !has_line_break(rest)
    {
        return match java_length % 2 {
            0 => rest.into(),
            _ => format!("0{rest}").into(),
        };
    }
    let quoted = input
        .strip_prefix("x'")
        .or_else(|| input.strip_prefix("X'"))
        .and_then(|rest| rest.strip_suffix('\''));
    match quoted {
        Some(inner) if !has_line_break(inner) => inner.into(),
        _ => input.into(),
    }
}

/// Commons Codec's `Hex.decodeHex`, with its messages.
fn hex_decode_commons(text: &str) -> Result<Vec<u8>, String> {
    if !text.chars().count().is_multiple_of(2) {
        return Err("Odd number of characters.".into());
    }
    hex_decode(text).map_err(|_| {
        let (index, character) = text
            .chars()
            .enumerate()
            .find(|(_, character)| !character.is_ascii_hexdigit())
            .unwrap_or((0, '?'));
        format!("Illegal hexadecimal character {character} at index {index}")
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Number {
    Int,
    BigInt,
    Double,
}

/// INT_FROM_BYTES, BIGINT_FROM_BYTES and DOUBLE_FROM_BYTES(bytes [, byte_order]).
#[derive(Debug, PartialEq, Eq, Hash)]
struct FromBytesNumber {
    number: Number,
    signature: Signature,
}

impl FromBytesNumber {
    fn width_bytes(&self) -> usize {
        match self.number {
            Number::Int => 4,
            Number::BigInt | Number::Double => 8,
        }
    }
}

impl ScalarUDFImpl for FromBytesNumber {
    fn name(&self) -> &str {
        match self.number {
            Number::Int => "int_from_bytes",
            Number::BigInt => "bigint_from_bytes",
            Number::Double => "double_from_bytes",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.number {
            Number::Int => DataType::Int32,
            Number::BigInt => DataType::Int64,
            Number::Double => DataType::Float64,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays = arguments_as(&args.args, &[DataType::Binary, DataType::Utf8])?;
        let Some(values) = arrays.first() else {
            return exec_err!("{} takes bytes and maybe a byte order", self.name());
        };
        let values = values.as_binary::<i32>();
        let orders = arrays.get(1).map(|orders| orders.as_string::<i32>());
        let width = self.width_bytes();
        let mut words: Vec<Option<[u8; 8]>> = Vec::with_capacity(values.len());
        for row in 0..values.len() {
            // ksqlDB reads the byte order before it looks at the value.
            let big_endian = match orders {
                None => true,
                Some(orders) => match string_at(orders, row) {
                    Some(order) if order.eq_ignore_ascii_case("BIG_ENDIAN") => true,
                    Some(order) if order.eq_ignore_ascii_case("LITTLE_ENDIAN") => false,
                    order => {
                        let order = order.unwrap_or("null");
                        return exec_err!(
                            "Byte order must be BIG_ENDIAN or LITTLE_ENDIAN. Unknown byte order \
                             '{order}'."
                        );
                    }
                },
            };
            if values.is_null(row) {
                words.push(None);
                continue;
            }
            let bytes = values.value(row);
            if bytes.len() != width {
                return exec_err!(
                    "Number of bytes must be equal to {width}, but found {}",
                    bytes.len()
                );
            }
            // The value's bytes, most significant first, right-aligned in eight.
            let mut word = [0u8; 8];
            word[8 - width..].copy_from_slice(bytes);
            if !big_endian {
                word[8 - width..].reverse();
            }
            words.push(Some(word));
        }
        let results: ArrayRef = match self.number {
            Number::Int => {
                let mut results = Int32Builder::with_capacity(words.len());
                for word in &words {
                    results.append_option(
                        word.map(|word| i32::from_be_bytes([word[4], word[5], word[6], word[7]])),
                    );
                }
                Arc::new(results.finish())
            }
            Number::BigInt => {
                let mut results = Int64Builder::with_capacity(words.len());
                for word in &words {
                    results.append_option(word.map(i64::from_be_bytes));
                }
                Arc::new(results.finish())
            }
            Number::Double => {
                let mut results = Float64Builder::with_capacity(words.len());
                for word in &words {
                    results.append_option(word.map(f64::from_be_bytes));
                }
                Arc::new(results.finish())
            }
        };
        Ok(ColumnarValue::Array(results))
    }
}

#[cfg(test)]
mod tests {
    use datafusion::common::ScalarValue;

    use super::*;
    use crate::scalar::test_support::invoke;

    fn call(name: &str, args: Vec<ScalarValue>) -> Result<ScalarValue> {
        let function = bytes_functions()
            .into_iter()
            .find(|function| function.name() == name)
            .expect("registered");
        let arg_types: Vec<DataType> = args.iter().map(ScalarValue::data_type).collect();
        let return_type = function.return_type(&arg_types)?;
        let args = args.into_iter().map(ColumnarValue::Scalar).collect();
        let answer = invoke(&function, args, return_type, 1)?;
        match answer {
            ColumnarValue::Array(array) => ScalarValue::try_from_array(&array, 0),
            ColumnarValue::Scalar(scalar) => Ok(scalar),
        }
    }

    fn text(value: &str) -> ScalarValue {
        ScalarValue::Utf8(Some(value.to_owned()))
    }

    fn bytes(value: &[u8]) -> ScalarValue {
        ScalarValue::Binary(Some(value.to_vec()))
    }

    #[test]
    fn numbers_from_bytes_follow_the_byte_order() {
        let answer = call(
            "bigint_from_bytes",
            vec![
                bytes(&[0, 0, 0, 1, 0x2A, 0x05, 0xF2, 0]),
                text("BIG_ENDIAN"),
            ],
        );
        assert_eq!(answer.ok(), Some(ScalarValue::Int64(Some(5_000_000_000))));
        let answer = call("int_from_bytes", vec![bytes(&[0, 0, 0x07, 0xE5])]);
        assert_eq!(answer.ok(), Some(ScalarValue::Int32(Some(2021))));
        let answer = call(
            "int_from_bytes",
            vec![bytes(&[0xE5, 0x07, 0, 0]), text("little_endian")],
        );
        assert_eq!(answer.ok(), Some(ScalarValue::Int32(Some(2021))));
        let answer = call(
            "double_from_bytes",
            vec![bytes(&[0x40, 0x80, 0xA6, 0xFD, 0x9B, 0xC9, 0xF5, 0x82])],
        );
        assert_eq!(answer.ok(), Some(ScalarValue::Float64(Some(532.8738323))));
        assert!(call("int_from_bytes", vec![bytes(&[1, 2, 3])]).is_err());
        assert!(call("int_from_bytes", vec![bytes(&[1, 2, 3, 4]), text("MIDDLE")]).is_err());
        assert!(
            call(
                "int_from_bytes",
                vec![ScalarValue::Binary(None), text("MIDDLE")]
            )
            .is_err()
        );
        let answer = call("int_from_bytes", vec![ScalarValue::Binary(None)]);
        assert_eq!(answer.ok(), Some(ScalarValue::Int32(None)));
    }

    #[test]
    fn bytes_and_text_convert_as_ksqldb_does() {
        let answer = call("to_bytes", vec![text("628b30f0"), text("HEX")]);
        assert_eq!(answer.ok(), Some(bytes(&[0x62, 0x8B, 0x30, 0xF0])));
        let answer = call("from_bytes", vec![bytes(&[0x62, 0x8B]), text("hex")]);
        assert_eq!(answer.ok(), Some(text("628B")));
        let answer = call(
            "from_bytes",
            vec![bytes(&[0x00, 0x10, 0xBD, 0xBF]), text("base64")],
        );
        assert_eq!(answer.ok(), Some(text("ABC9vw==")));
        assert!(call("to_bytes", vec![text("abc"), text("hex")]).is_err());
        assert!(call("to_bytes", vec![text("abc"), text("utf16")]).is_err());
        assert!(call("to_bytes", vec![text("a*"), text("base64")]).is_err());
        let answer = call("to_bytes", vec![text("abc"), ScalarValue::Utf8(None)]);
        assert_eq!(answer.ok(), Some(ScalarValue::Binary(None)));
    }

    #[test]
    fn encode_converts_between_encodings_as_ksqldb_does() {
        let encode = |input: &str, from: &str, to: &str| {
            call("encode", vec![text(input), text(from), text(to)])
        };
        assert_eq!(
            encode("4578616d706C6521", "hex", "ascii").ok(),
            Some(text("Example!"))
        );
        assert_eq!(
            encode("0x4578616d706C6521", "hex", "utf8").ok(),
            Some(text("Example!"))
        );
        assert_eq!(encode("X'4578'", "hex", "base64").ok(), Some(text("RXg=")));
        assert!(encode("0x578", "hex", "hex").is_err());
        assert_eq!(encode("0x578", "HEX", "utf8").ok(), Some(text("\u{5}x")));
        assert_eq!(
            encode("Example!", "ascii", "hex").ok(),
            Some(text("4578616d706c6521"))
        );
        assert_eq!(
            encode("RXhhbXBsZSE=", "base64", "utf8").ok(),
            Some(text("Example!"))
        );
        assert_eq!(
            encode("RXhh bXBs\nZSE", "base64", "ascii").ok(),
            Some(text("Example!"))
        );
        assert_eq!(
            encode("é", "utf8", "ascii").ok(),
            Some(text("\u{FFFD}\u{FFFD}"))
        );
        assert!(encode("abc", "hex", "utf8").is_err());
        assert!(encode("abc", "utf16", "utf8").is_err());
    }
}
