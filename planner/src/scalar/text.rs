//! ksqlDB's one-string functions: LCASE, UCASE, LEN, TRIM, INITCAP, CHR, REPLACE and
//! UUID(bytes).
//!
//! LCASE and UCASE are DataFusion's LOWER and UPPER under ksqlDB's names (both map case as
//! Java's `toLowerCase`/`toUpperCase` do, ß to SS included). LEN counts characters (code
//! points) as SUBSTRING and LPAD do here; ksqlDB's Java counts UTF-16 units, which differ
//! only for characters beyond U+FFFF. TRIM, INITCAP, CHR and REPLACE replace DataFusion's functions
//! of the same names, whose rules differ (see each); UUID keeps DataFusion's random form and
//! adds ksqlDB's UUID(bytes).
//!
//! Never: answer a character Arrow cannot hold (a lone surrogate): CHR gives NULL instead.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Builder, StringBuilder};
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, TypeSignature,
    Volatility,
};

use super::batch::{BatchFunction, bytes, delegate, integers, text};

/// LCASE, UCASE, LEN, TRIM, INITCAP, CHR, REPLACE and UUID, to register over DataFusion's.
pub(crate) fn text_functions() -> Vec<Arc<ScalarUDF>> {
    let lower = datafusion::functions::string::lower();
    let upper = datafusion::functions::string::upper();
    vec![
        // ksqlDB's LCase and UCase UDFs: Java's case mapping, which Rust's matches.
        Arc::new(lower.as_ref().clone().with_aliases(["lcase"])),
        Arc::new(upper.as_ref().clone().with_aliases(["ucase"])),
        BatchFunction::udf(
            "len",
            one_of(vec![vec![DataType::Utf8], vec![DataType::Binary]]),
            |_| Ok(DataType::Int32),
            len,
        ),
        BatchFunction::udf(
            "trim",
            one_of(vec![
                vec![DataType::Utf8],
                vec![DataType::Utf8, DataType::Utf8],
            ]),
            |_| Ok(DataType::Utf8),
            trim,
        ),
        BatchFunction::udf(
            "initcap",
            one_of(vec![vec![DataType::Utf8]]),
            |_| Ok(DataType::Utf8),
            initcap,
        ),
        BatchFunction::udf(
            "chr",
            one_of(vec![vec![DataType::Int64], vec![DataType::Utf8]]),
            |_| Ok(DataType::Utf8),
            chr,
        ),
        BatchFunction::udf(
            "replace",
            one_of(vec![vec![DataType::Utf8; 3]]),
            |_| Ok(DataType::Utf8),
            replace,
        ),
        Arc::new(ScalarUDF::from(Uuid {
            signature: Signature::one_of(
                vec![
                    TypeSignature::Nullary,
                    TypeSignature::Exact(vec![DataType::Binary]),
                ],
                Volatility::Volatile,
            ),
        })),
    ]
}

/// Exact argument lists, one per form of a function.
pub(crate) fn one_of(forms: Vec<Vec<DataType>>) -> Signature {
    Signature::one_of(
        forms.into_iter().map(TypeSignature::Exact).collect(),
        Volatility::Immutable,
    )
}

/// LEN(string) counts characters, LEN(bytes) bytes; NULL gives NULL (ksqlDB's Len UDF).
fn len(args: &[ArrayRef]) -> Result<ArrayRef> {
    let mut lengths = Int32Builder::with_capacity(args[0].len());
    if args[0].data_type() == &DataType::Binary {
        for value in args[0].as_binary::<i32>() {
            lengths.append_option(value.map(|value| value.len() as i32));
        }
    } else {
        for value in text(&args[0])?.as_string::<i32>() {
            lengths.append_option(value.map(|value| value.chars().count() as i32));
        }
    }
    Ok(Arc::new(lengths.finish()))
}

/// TRIM(s) removes every character up to U+0020 (space and the control characters) from
/// both ends, as Java's `String.trim` (ksqlDB's Trim UDF); DataFusion's removes spaces only.
/// `TRIM(chars FROM s)`, which ksqlDB lacks, keeps DataFusion's meaning (BTRIM).
fn trim(args: &[ArrayRef]) -> Result<ArrayRef> {
    if args.len() == 2 {
        let btrim = datafusion::functions::string::btrim();
        return delegate(&btrim, args, DataType::Utf8);
    }
    let strings = text(&args[0])?;
    let strings = strings.as_string::<i32>();
    let mut trimmed = StringBuilder::with_capacity(strings.len(), strings.value_data().len());
    for value in strings {
        trimmed.append_option(value.map(|value| value.trim_matches(|c: char| c <= ' ')));
    }
    Ok(Arc::new(trimmed.finish()))
}

/// REPLACE(s, old, new): every occurrence of `old` replaced, and an empty `old` inserts
/// `new` between every two characters and at both ends, as Java's `String.replace`; NULL
/// for any NULL argument (ksqlDB's Replace UDF). DataFusion's leaves `s` as it is when `old`
/// is empty.
fn replace(args: &[ArrayRef]) -> Result<ArrayRef> {
    let [strings, olds, news] = [0, 1, 2].map(|index| text(&args[index]));
    let (strings, olds, news) = (strings?, olds?, news?);
    let (strings, olds, news) = (
        strings.as_string::<i32>(),
        olds.as_string::<i32>(),
        news.as_string::<i32>(),
    );
    let mut replaced = StringBuilder::with_capacity(strings.len(), strings.value_data().len());
    for row in 0..strings.len() {
        if strings.is_null(row) || olds.is_null(row) || news.is_null(row) {
            replaced.append_null();
            continue;
        }
        let (string, old, new) = (strings.value(row), olds.value(row), news.value(row));
        let mut copied_to = 0;
        if old.is_empty() {
            for (at, _) in string.char_indices() {
                let _ = replaced.write_str(&string[copied_to..at]);
                let _ = replaced.write_str(new);
                copied_to = at;
            }
            let _ = replaced.write_str(&string[copied_to..]);
            let _ = replaced.write_str(new);
        } else {
            for (at, _) in string.match_indices(old) {
                let _ = replaced.write_str(&string[copied_to..at]);
                let _ = replaced.write_str(new);
                copied_to = at + old.len();
            }
            let _ = replaced.write_str(&string[copied_to..]);
        }
        replaced.append_value("");
    }
    Ok(Arc::new(replaced.finish()))
}

/// INITCAP lower-cases the string, then upper-cases the first character of each word, a
/// word being a run of characters other than ASCII whitespace (`[^\s]+\s*` in Java). So
/// 'hello-WORLD' is 'Hello-world', and leading whitespace is dropped, as ksqlDB's InitCap
/// UDF does; DataFusion's (Postgres') starts a word after any non-alphanumeric character.
fn initcap(args: &[ArrayRef]) -> Result<ArrayRef> {
    let strings = text(&args[0])?;
    let strings = strings.as_string::<i32>();
    let mut capped = StringBuilder::with_capacity(strings.len(), strings.value_data().len());
    for value in strings {
        let Some(value) = value else {
            capped.append_null();
            continue;
        };
        let lower = value.to_lowercase();
        let mut word_start = true;
        for character in lower.trim_start_matches(is_java_space).chars() {
            // Java upper-cases one UTF-16 unit: a character beyond U+FFFF stays as it is.
            if word_start && !is_java_space(character) && (character as u32) < 0x10000 {
                for upper in character.to_uppercase() {
                    let _ = capped.write_char(upper);
                }
            } else {
                let _ = capped.write_char(character);
            }
            word_start = is_java_space(character);
        }
        capped.append_value("");
    }
    Ok(Arc::new(capped.finish()))
}

/// Java's `\s`: ASCII whitespace.
fn is_java_space(character: char) -> bool {
    matches!(character, ' ' | '\t' | '\n' | '\x0B' | '\x0C' | '\r')
}

/// CHR(code) is the character of that code point, CHR('\uXXXX') the text of that Java
/// escape (surrogate pairs included); NULL, an invalid code point or a string not starting
/// with `\u` gives NULL, a `\u` without four hex digits an error (ksqlDB's Chr UDF).
/// DataFusion's CHR errors on invalid codes and takes no string.
fn chr(args: &[ArrayRef]) -> Result<ArrayRef> {
    let mut characters = StringBuilder::with_capacity(args[0].len(), args[0].len() * 2);
    if args[0].data_type() == &DataType::Utf8 {
        for escape in args[0].as_string::<i32>() {
            match escape.filter(|escape| escape.len() >= 6 && escape.starts_with("\\u")) {
                Some(escape) => characters.append_option(unescape_java(escape)?),
                None => characters.append_null(),
            }
        }
    } else {
        let codes = integers(&args[0])?;
        for code in codes.as_primitive::<Int64Type>() {
            let character = code
                .and_then(|code| u32::try_from(code).ok())
                .and_then(char::from_u32);
            characters.append_option(character.map(String::from));
        }
    }
    Ok(Arc::new(characters.finish()))
}

/// Java's escapes in `escaped` resolved as commons-lang's `unescapeJava` does: `\uXXXX`
/// (any number of u), octal `\0`..`\377`, `\b \t \n \f \r \\ \" \'`, and a backslash
/// before anything else dropped. None when the UTF-16 text holds a lone surrogate.
fn unescape_java(escaped: &str) -> Result<Option<String>> {
    let mut units: Vec<u16> = Vec::with_capacity(escaped.len());
    let mut characters = escaped.chars().peekable();
    while let Some(character) = characters.next() {
        if character != '\\' {
            let mut buffer = [0; 2];
            units.extend_from_slice(character.encode_utf16(&mut buffer));
            continue;
        }
        match characters.peek().copied() {
            Some('u') => {
                while characters.next_if_eq(&'u').is_some() {}
                characters.next_if_eq(&'+');
                let digits: String = characters.by_ref().take(4).collect();
                match u16::from_str_radix(&digits, 16) {
                    Ok(unit) if digits.len() == 4 && !digits.starts_with(['+', '-']) => {
                        units.push(unit)
                    }
                    _ => {
                        return exec_err!(
                            "chr: unable to parse unicode value '{digits}' in '{escaped}'"
                        );
                    }
                }
            }
            Some(first @ '0'..='7') => {
                characters.next();
                let mut value = first as u16 - '0' as u16;
                let digits_max = if first <= '3' { 2 } else { 1 };
                for _ in 0..digits_max {
                    match characters.next_if(|next| ('0'..='7').contains(next)) {
                        Some(digit) => value = value * 8 + (digit as u16 - '0' as u16),
                        None => break,
                    }
                }
                units.push(value);
            }
            Some(control @ ('b' | 't' | 'n' | 'f' | 'r' | '\\' | '"' | '\'')) => {
                characters.next();
                units.push(match control {
                    'b' => 0x08,
                    't' => 0x09,
                    'n' => 0x0A,
                    'f' => 0x0C,
                    'r' => 0x0D,
                    other => other as u16,
                });
            }
            // A backslash before anything else is dropped.
            _ => {}
        }
    }
    Ok(String::from_utf16(&units).ok())
}

/// UUID() is a random version-4 UUID (DataFusion's); UUID(bytes) formats 16 bytes as a
/// UUID and gives NULL for any other length (ksqlDB's Uuid UDF).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Uuid {
    signature: Signature,
}

impl ScalarUDFImpl for Uuid {
    fn name(&self) -> &str {
        "uuid"
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        if args.args.is_empty() {
            return datafusion::functions::string::uuid().invoke_with_args(args);
        }
        let arrays = ColumnarValue::values_to_arrays(&args.args)?;
        let values = bytes(&arrays[0])?;
        let values = values.as_binary::<i32>();
        let mut uuids = StringBuilder::with_capacity(values.len(), values.len() * 36);
        for value in values {
            let Some(value) = value.filter(|value| value.len() == 16) else {
                uuids.append_null();
                continue;
            };
            for (index, byte) in value.iter().enumerate() {
                if matches!(index, 4 | 6 | 8 | 10) {
                    let _ = uuids.write_char('-');
                }
                let _ = write!(uuids, "{byte:02x}");
            }
            uuids.append_value("");
        }
        Ok(ColumnarValue::Array(Arc::new(uuids.finish())))
    }
}

#[cfg(test)]
mod tests {
    use arrow::array::{BinaryArray, Int64Array, StringArray};

    use super::*;

    fn strings(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn texts(array: ArrayRef) -> Vec<Option<String>> {
        array
            .as_string::<i32>()
            .iter()
            .map(|value| value.map(str::to_string))
            .collect()
    }

    fn owned(values: &[Option<&str>]) -> Vec<Option<String>> {
        values
            .iter()
            .map(|value| value.map(str::to_string))
            .collect()
    }

    #[test]
    fn initcap_starts_words_after_whitespace_only() {
        let answer = initcap(&[strings(&[
            Some("the Quick br0wn fOx"),
            Some("some_string"),
            Some("  hello-WORLD\tagain "),
            Some(""),
            None,
        ])])
        .expect("capitalizes");
        assert_eq!(
            texts(answer),
            owned(&[
                Some("The Quick Br0wn Fox"),
                Some("Some_string"),
                Some("Hello-world\tAgain "),
                Some(""),
                None
            ])
        );
    }

    #[test]
    fn replace_inserts_at_an_empty_search_string_as_java_does() {
        let answer = replace(&[
            strings(&[Some("anaconda"), Some("foo"), Some(""), None]),
            strings(&[Some("a"), Some(""), Some(""), Some("a")]),
            strings(&[Some("o"), Some("."), Some("."), Some("o")]),
        ])
        .expect("replaces");
        assert_eq!(
            texts(answer),
            owned(&[Some("onocondo"), Some(".f.o.o."), Some("."), None])
        );
    }

    #[test]
    fn trim_removes_control_characters_as_java_does() {
        let answer = trim(&[strings(&[Some("\t a b \n\x01"), Some("  "), None])]).expect("trims");
        assert_eq!(texts(answer), owned(&[Some("a b"), Some(""), None]));
    }

    #[test]
    fn chr_gives_null_for_what_is_no_character() {
        let codes = Arc::new(Int64Array::from(vec![
            Some(75),
            Some(22909),
            Some(99000),
            Some(-1),
            Some(0xD800),
            Some(0x110000),
            None,
        ]));
        assert_eq!(
            texts(chr(&[codes]).expect("converts")),
            owned(&[Some("K"), Some("好"), Some("𘊸"), None, None, None, None])
        );
        let escapes = strings(&[
            Some("\\u004b"),
            Some("\\u597d"),
            Some("\\ud820\\udeb8"),
            Some("\\u004b\\t\\101\\q"),
            Some("\\ud820"),
            Some("75"),
            Some("004b"),
            Some(""),
            None,
        ]);
        assert_eq!(
            texts(chr(&[escapes]).expect("converts")),
            owned(&[
                Some("K"),
                Some("好"),
                Some("𘊸"),
                Some("K\tAq"),
                None,
                None,
                None,
                None,
                None
            ])
        );
        let error = chr(&[strings(&[Some("\\uZZZZ")])]).expect_err("no hex digits");
        assert!(error.to_string().contains("unable to parse"), "{error}");
    }

    #[test]
    fn len_counts_characters_and_bytes() {
        let answer = len(&[strings(&[Some("ABC"), Some("é"), Some(""), None])]).expect("counts");
        let answer: Vec<Option<i32>> = answer
            .as_primitive::<arrow::datatypes::Int32Type>()
            .iter()
            .collect();
        assert_eq!(answer, vec![Some(3), Some(1), Some(0), None]);
        let bytes: ArrayRef = Arc::new(BinaryArray::from_opt_vec(vec![
            Some(&b"\xC3\xA9"[..]),
            None,
        ]));
        let answer = len(&[bytes]).expect("counts");
        let answer: Vec<Option<i32>> = answer
            .as_primitive::<arrow::datatypes::Int32Type>()
            .iter()
            .collect();
        assert_eq!(answer, vec![Some(2), None]);
    }
}
