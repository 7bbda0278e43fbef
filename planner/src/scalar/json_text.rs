//! JSON text as ksqlDB's JSON functions read and write it (Jackson, configured as ksqlDB's
//! `UdfJsonMapper`): a parser that keeps object keys in document order and numbers as their
//! text, and writers that print strings, numbers and Java values byte for byte as Jackson
//! and Java do (`BigDecimal.toString`, `Double.toString`, `LocalDate`, `LocalTime`).
//!
//! Jackson reads one value and ignores what follows it ("[1] x" is `[1]`), but a number at the
//! top level must be followed by whitespace; empty text is no value at all (Jackson's missing
//! node), which the functions answer differently from invalid text.
//!
//! Never: recurse deeper than `DEPTH_MAX` or print a number longer than Jackson would.

use std::fmt::Write as _;

/// Jackson's default limit on nesting (`StreamReadConstraints`).
const DEPTH_MAX: usize = 1000;
/// Jackson's default limit on the characters of one number.
const NUMBER_CHARS_MAX: usize = 1000;
/// The largest scale Jackson prints a decimal with in plain notation.
const PLAIN_SCALE_MAX: i64 = 9999;

/// A parsed JSON value. Numbers keep their text; objects keep their first key's position
/// with the last value for duplicated keys, as Jackson's `ObjectNode` does.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Null,
    Bool(bool),
    Number(String),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// Why text is not JSON.
#[derive(Debug, PartialEq)]
pub(crate) struct InvalidJson;

/// How decimals print: `JsonNode.toString()` uses `BigDecimal.toString()` (`1E+2`), the
/// mapper ksqlDB writes results with prints them plain (`100`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Decimals {
    Scientific,
    Plain,
}

/// The first JSON value of `text`, None for text that holds only whitespace.
pub(crate) fn parse(text: &str) -> Result<Option<Json>, InvalidJson> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        position: 0,
    };
    parser.skip_whitespace();
    if parser.position == parser.bytes.len() {
        return Ok(None);
    }
    let value = parser.value(0)?;
    if matches!(value, Json::Number(_)) && parser.position < parser.bytes.len() {
        // Jackson: "Expected space separating root-level values".
        if !matches!(parser.bytes[parser.position], b' ' | b'\t' | b'\n' | b'\r') {
            return Err(InvalidJson);
        }
    }
    Ok(Some(value))
}

/// The top-level items of a JSON array, parsed one at a time: `visit` sees each until it
/// answers true. Ok(None) when the text is no array; an error where an item is not JSON.
/// (ksqlDB's JSON_ARRAY_CONTAINS streams the array so and stops at the first match.)
pub(crate) fn visit_array_items(
    text: &str,
    mut visit: impl FnMut(&Json) -> bool,
) -> Result<Option<bool>, InvalidJson> {
    let mut parser = Parser {
        bytes: text.as_bytes(),
        text,
        position: 0,
    };
    parser.skip_whitespace();
    if parser.peek() != Some(b'[') {
        return Ok(None);
    }
    parser.position += 1;
    parser.skip_whitespace();
    if parser.peek() == Some(b']') {
        return Ok(Some(false));
    }
    loop {
        let item = parser.value(1)?;
        if visit(&item) {
            return Ok(Some(true));
        }
        parser.skip_whitespace();
        match parser.next_byte() {
            Some(b',') => parser.skip_whitespace(),
            Some(b']') => return Ok(Some(false)),
            _ => return Err(InvalidJson),
        }
    }
}

struct Parser<'a> {
    bytes: &'a [u8],
    text: &'a str,
    position: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.position).copied()
    }

    fn next_byte(&mut self) -> Option<u8> {
        let byte = self.peek()?;
        self.position += 1;
        Some(byte)
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.position += 1;
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, InvalidJson> {
        if depth > DEPTH_MAX {
            return Err(InvalidJson);
        }
        match self.peek().ok_or(InvalidJson)? {
            b'{' => self.object(depth),
            b'[' => self.array(depth),
            b'"' => self.string().map(Json::String),
            b't' => self.keyword("true", Json::Bool(true)),
            b'f' => self.keyword("false", Json::Bool(false)),
            b'n' => self.keyword("null", Json::Null),
            b'-' | b'0'..=b'9' => self.number(),
            _ => Err(InvalidJson),
        }
    }

    fn keyword(&mut self, word: &str, value: Json) -> Result<Json, InvalidJson> {
        if !self.bytes[self.position..].starts_with(word.as_bytes()) {
            return Err(InvalidJson);
        }
        self.position += word.len();
        // Jackson rejects a keyword run into letters or digits ("truex").
        let rest = &self.text[self.position..];
        if rest
            .chars()
            .next()
            .is_some_and(|next| next.is_alphanumeric() || next == '_' || next == '$')
        {
            return Err(InvalidJson);
        }
        Ok(value)
    }

    fn digits(&mut self) -> usize {
        let start = self.position;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.position += 1;
        }
        self.position - start
    }

    fn number(&mut self) -> Result<Json, InvalidJson> {
        let start = self.position;
        if self.peek() == Some(b'-') {
            self.position += 1;
        }
        let integer_start = self.position;
        let integer_digits = self.digits();
        if integer_digits == 0 || (integer_digits > 1 && self.bytes[integer_start] == b'0') {
            return Err(InvalidJson);
        }
        if self.peek() == Some(b'.') {
            self.position += 1;
            if self.digits() == 0 {
                return Err(InvalidJson);
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.position += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.position += 1;
            }
            if self.digits() == 0 {
                return Err(InvalidJson);
            }
        }
        let text = &self.text[start..self.position];
        if text.len() > NUMBER_CHARS_MAX || decimal_parts(text).is_none() {
            return Err(InvalidJson);
        }
        Ok(Json::Number(text.to_owned()))
    }

    fn string(&mut self) -> Result<String, InvalidJson> {
        self.position += 1; // the opening quote
        let mut out = String::new();
        loop {
            let run_start = self.position;
            while let Some(byte) = self.peek() {
                if byte == b'"' || byte == b'\\' || byte < 0x20 {
                    break;
                }
                self.position += 1;
            }
            out.push_str(&self.text[run_start..self.position]);
            match self.next_byte().ok_or(InvalidJson)? {
                b'"' => return Ok(out),
                b'\\' => {
                    let escaped = match self.next_byte().ok_or(InvalidJson)? {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => self.unicode_escape()?,
                        _ => return Err(InvalidJson),
                    };
                    out.push(escaped);
                }
                // An unescaped control character.
                _ => return Err(InvalidJson),
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, InvalidJson> {
        let digits = self
            .text
            .get(self.position..self.position + 4)
            .ok_or(InvalidJson)?;
        if !digits.bytes().all(|byte| byte.is_ascii_hexdigit()) {
            return Err(InvalidJson);
        }
        self.position += 4;
        u32::from_str_radix(digits, 16).map_err(|_| InvalidJson)
    }

    /// The character of a `\u` escape; a surrogate pair is one character, a lone surrogate
    /// (which a Rust string cannot hold) the replacement character.
    fn unicode_escape(&mut self) -> Result<char, InvalidJson> {
        let unit = self.hex4()?;
        if (0xD800..0xDC00).contains(&unit) && self.bytes[self.position..].starts_with(b"\\u") {
            let saved = self.position;
            self.position += 2;
            let low = self.hex4()?;
            if (0xDC00..0xE000).contains(&low) {
                let code = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00);
                return Ok(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            self.position = saved;
        }
        Ok(char::from_u32(unit).unwrap_or(char::REPLACEMENT_CHARACTER))
    }

    fn array(&mut self, depth: usize) -> Result<Json, InvalidJson> {
        self.position += 1;
        let mut items = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b']') {
            self.position += 1;
            return Ok(Json::Array(items));
        }
        loop {
            self.skip_whitespace();
            items.push(self.value(depth + 1)?);
            self.skip_whitespace();
            match self.next_byte() {
                Some(b',') => {}
                Some(b']') => return Ok(Json::Array(items)),
                _ => return Err(InvalidJson),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Json, InvalidJson> {
        self.position += 1;
        let mut members: Vec<(String, Json)> = Vec::new();
        self.skip_whitespace();
        if self.peek() == Some(b'}') {
            self.position += 1;
            return Ok(Json::Object(members));
        }
        loop {
            self.skip_whitespace();
            if self.peek() != Some(b'"') {
                return Err(InvalidJson);
            }
            let key = self.string()?;
            self.skip_whitespace();
            if self.next_byte() != Some(b':') {
                return Err(InvalidJson);
            }
            self.skip_whitespace();
            let value = self.value(depth + 1)?;
            match members.iter_mut().find(|(existing, _)| *existing == key) {
                Some((_, existing)) => *existing = value,
                None => members.push((key, value)),
            }
            self.skip_whitespace();
            match self.next_byte() {
                Some(b',') => {}
                Some(b'}') => return Ok(Json::Object(members)),
                _ => return Err(InvalidJson),
            }
        }
    }
}

impl Json {
    /// The value as Jackson prints it, with `decimals` as the notation of decimals.
    pub(crate) fn write(&self, decimals: Decimals, out: &mut String) -> Result<(), InvalidJson> {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(value) => out.push_str(if *value { "true" } else { "false" }),
            Json::Number(text) => write_number(text, decimals, out)?,
            Json::String(text) => write_string(text, out),
            Json::Array(items) => {
                out.push('[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    item.write(decimals, out)?;
                }
                out.push(']');
            }
            Json::Object(members) => {
                out.push('{');
                for (index, (key, value)) in members.iter().enumerate() {
                    if index > 0 {
                        out.push(',');
                    }
                    write_string(key, out);
                    out.push(':');
                    value.write(decimals, out)?;
                }
                out.push('}');
            }
        }
        Ok(())
    }

    /// `JsonNode.toString()`: decimals in `BigDecimal.toString()` notation.
    pub(crate) fn to_node_string(&self) -> String {
        let mut out = String::new();
        // Scientific notation never fails: only plain notation has a scale limit.
        let _ = self.write(Decimals::Scientific, &mut out);
        out
    }

    /// A text node's text, any other node's JSON (`asText()` / `toString()` as ksqlDB
    /// picks between them).
    pub(crate) fn to_text(&self) -> String {
        match self {
            Json::String(text) => text.clone(),
            other => other.to_node_string(),
        }
    }
}

/// `text` as a JSON string, escaped as Jackson escapes: quote, backslash and control
/// characters (`\n` style where one exists, else `\u00XX` in upper case).
pub(crate) fn write_string(text: &str, out: &mut String) {
    out.push('"');
    let mut run_start = 0;
    for (position, byte) in text.bytes().enumerate() {
        if byte >= 0x20 && byte != b'"' && byte != b'\\' {
            continue;
        }
        out.push_str(&text[run_start..position]);
        run_start = position + 1;
        match byte {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            0x08 => out.push_str("\\b"),
            b'\t' => out.push_str("\\t"),
            0x0C => out.push_str("\\f"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            control => {
                let _ = write!(out, "\\u{control:04X}");
            }
        }
    }
    out.push_str(&text[run_start..]);
    out.push('"');
}

/// A valid JSON number's sign, significant digits (no leading zeros) and scale, as Java's
/// `new BigDecimal(text)` holds it; None when the scale overflows Java's `int`.
fn decimal_parts(text: &str) -> Option<(bool, String, i64)> {
    let (negative, unsigned) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i64>().ok()?),
        None => (unsigned, 0),
    };
    let (integer, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits: String = integer.chars().chain(fraction.chars()).collect();
    let digits = match digits.trim_start_matches('0') {
        "" => "0".to_owned(),
        significant => significant.to_owned(),
    };
    let scale = (fraction.len() as i64).checked_sub(exponent)?;
    i32::try_from(scale).ok()?;
    let negative = negative && digits != "0";
    Some((negative, digits, scale))
}

/// A JSON number as Jackson prints the node it parsed: integers as their value, decimals
/// (ksqlDB reads every number with a point or exponent as an exact `BigDecimal`) in
/// `decimals` notation.
fn write_number(text: &str, decimals: Decimals, out: &mut String) -> Result<(), InvalidJson> {
    let Some((negative, digits, scale)) = decimal_parts(text) else {
        return Err(InvalidJson);
    };
    if negative {
        out.push('-');
    }
    let is_integer = !text.contains(['.', 'e', 'E']);
    if is_integer {
        out.push_str(&digits);
        return Ok(());
    }
    match decimals {
        Decimals::Scientific => write_big_decimal(&digits, scale, out),
        Decimals::Plain => write_plain_decimal(&digits, scale, out)?,
    }
    Ok(())
}

/// Java's `BigDecimal.toString()` of unsigned `digits` × 10^-`scale`.
pub(crate) fn write_big_decimal(digits: &str, scale: i64, out: &mut String) {
    let adjusted = -scale + (digits.len() as i64 - 1);
    if scale >= 0 && adjusted >= -6 {
        insert_point(digits, scale as usize, out);
        return;
    }
    out.push_str(&digits[..1]);
    if digits.len() > 1 {
        out.push('.');
        out.push_str(&digits[1..]);
    }
    let _ = write!(out, "E{}{adjusted}", if adjusted > 0 { "+" } else { "" });
}

/// Java's `BigDecimal.toPlainString()`, refused past Jackson's scale limit.
pub(crate) fn write_plain_decimal(
    digits: &str,
    scale: i64,
    out: &mut String,
) -> Result<(), InvalidJson> {
    if !(-PLAIN_SCALE_MAX..=PLAIN_SCALE_MAX).contains(&scale) {
        return Err(InvalidJson);
    }
    if scale <= 0 {
        out.push_str(digits);
        if digits != "0" {
            out.extend(std::iter::repeat_n('0', (-scale) as usize));
        }
    } else {
        insert_point(digits, scale as usize, out);
    }
    Ok(())
}

/// `digits` with a decimal point `scale` digits from the right (zeros padded on the left).
fn insert_point(digits: &str, scale: usize, out: &mut String) {
    if scale == 0 {
        out.push_str(digits);
    } else if digits.len() > scale {
        out.push_str(&digits[..digits.len() - scale]);
        out.push('.');
        out.push_str(&digits[digits.len() - scale..]);
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', scale - digits.len()));
        out.push_str(digits);
    }
}

/// Java's `Double.toString` (and `Float.toString` for a value that is an `f32`, given its
/// shortest digits by `shortest`): plain from 10^-3 to 10^7, else `d.dddE±n`.
pub(crate) fn write_java_double(value: f64, shortest: &str, out: &mut String) {
    if value.is_nan() {
        out.push_str("NaN");
        return;
    }
    if value.is_infinite() {
        out.push_str(if value > 0.0 { "Infinity" } else { "-Infinity" });
        return;
    }
    // `shortest` is Rust's `{:e}`: [-]d[.ddd]e[-]n.
    let (mantissa, exponent) = shortest.split_once('e').unwrap_or((shortest, "0"));
    let exponent: i64 = exponent.parse().unwrap_or(0);
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    if negative {
        out.push('-');
    }
    if value == 0.0 {
        out.push_str("0.0");
        return;
    }
    if (-3..7).contains(&exponent) {
        let point = exponent + 1; // digits before the point
        if point <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-point) as usize));
            out.push_str(&digits);
        } else if (point as usize) >= digits.len() {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
            out.push_str(".0");
        } else {
            out.push_str(&digits[..point as usize]);
            out.push('.');
            out.push_str(&digits[point as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        out.push('.');
        out.push_str(if digits.len() > 1 { &digits[1..] } else { "0" });
        let _ = write!(out, "E{exponent}");
    }
}

/// Java's `Double.toString(value)`.
#[cfg(test)]
fn java_double(value: f64) -> String {
    let mut out = String::new();
    write_java_double(value, &format!("{value:e}"), &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_string(text: &str) -> String {
        parse(text)
            .expect("valid")
            .expect("a value")
            .to_node_string()
    }

    #[test]
    fn reads_one_value_as_jackson_does() {
        assert_eq!(parse(""), Ok(None));
        assert_eq!(parse("  \n"), Ok(None));
        assert_eq!(parse("abc"), Err(InvalidJson));
        assert_eq!(parse("{1:2]"), Err(InvalidJson));
        assert_eq!(
            parse("[1] trailing"),
            Ok(Some(Json::Array(vec![Json::Number("1".into())])))
        );
        assert_eq!(parse("1 2"), Ok(Some(Json::Number("1".into()))));
        assert_eq!(parse("1x"), Err(InvalidJson));
        assert_eq!(parse("truex"), Err(InvalidJson));
        assert_eq!(parse("01"), Err(InvalidJson));
        assert_eq!(parse("1."), Err(InvalidJson));
        assert_eq!(parse("\"a\u{1}\""), Err(InvalidJson));
        assert_eq!(parse(&"[".repeat(1001)), Err(InvalidJson));
        assert_eq!(node_string(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
        assert_eq!(node_string(r#""\ud83d\ude00\/""#), "\"😀/\"");
    }

    #[test]
    fn prints_numbers_as_jackson_prints_big_decimals() {
        assert_eq!(
            node_string("[-0, 1.50, 1e2, 1.6E3, 0.0000001, -0.0, 123456789012345678901234]"),
            "[0,1.50,1E+2,1.6E+3,1E-7,0.0,123456789012345678901234]"
        );
        let mut plain = String::new();
        parse("[1e2, 1.6E3, 0.0000001, 0e5]")
            .expect("valid")
            .expect("a value")
            .write(Decimals::Plain, &mut plain)
            .expect("prints");
        assert_eq!(plain, "[100,1600,0.0000001,0]");
        let huge = parse("1e99999").expect("valid").expect("a value");
        assert_eq!(
            huge.write(Decimals::Plain, &mut String::new()),
            Err(InvalidJson)
        );
    }

    #[test]
    fn escapes_strings_as_jackson_does() {
        let mut out = String::new();
        write_string("a\"b\\c\n\u{1f}é/", &mut out);
        assert_eq!(out, "\"a\\\"b\\\\c\\n\\u001Fé/\"");
    }

    #[test]
    fn prints_doubles_as_java_does() {
        let cases = [
            (123.456, "123.456"),
            (1.0, "1.0"),
            (100.0, "100.0"),
            (1e7, "1.0E7"),
            (1.5e10, "1.5E10"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (-2.5e-7, "-2.5E-7"),
            (0.0, "0.0"),
            (-0.0, "-0.0"),
            (f64::NAN, "NaN"),
            (f64::NEG_INFINITY, "-Infinity"),
            (1234567.0, "1234567.0"),
        ];
        for (value, java) in cases {
            assert_eq!(java_double(value), java, "{value}");
        }
    }
}
