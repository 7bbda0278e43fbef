//! ksqlDB's URL functions: URL_ENCODE_PARAM and URL_DECODE_PARAM (form encoding, a space
//! is `+`), and URL_EXTRACT_FRAGMENT, _HOST, _PARAMETER, _PATH, _PORT, _PROTOCOL and _QUERY,
//! which split a URL as Java's `java.net.URI` does (`java_uri`). As in ksqlDB's UDFs, text
//! that is not a URI, or an escape URL_DECODE_PARAM cannot read, is an error of the row;
//! a part the URL lacks is NULL.
//!
//! Never: normalise a URL (lower-case a host, drop a default port) as a WHATWG parser would:
//! ksqlDB returns the parts as written, decoded where Java decodes them.

use std::fmt::Write as _;
use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int32Builder, StringBuilder};
use arrow::compute::cast;
use arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};

use super::java_uri::{self, JavaUri};

/// Every URL function.
pub(crate) fn url_functions() -> Vec<Arc<ScalarUDF>> {
    [
        UrlFunction::EncodeParam,
        UrlFunction::DecodeParam,
        UrlFunction::Fragment,
        UrlFunction::Host,
        UrlFunction::Parameter,
        UrlFunction::Path,
        UrlFunction::Port,
        UrlFunction::Protocol,
        UrlFunction::Query,
    ]
    .into_iter()
    .map(|function| {
        let arguments = match function {
            UrlFunction::Parameter => vec![DataType::Utf8, DataType::Utf8],
            _ => vec![DataType::Utf8],
        };
        Arc::new(ScalarUDF::from(Url {
            function,
            signature: Signature::exact(arguments, Volatility::Immutable),
        }))
    })
    .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum UrlFunction {
    /// ksqlDB's UrlEncodeParam UDF (Guava's form parameter escaper).
    EncodeParam,
    /// ksqlDB's UrlDecodeParam UDF (Java's `URLDecoder` in UTF-8).
    DecodeParam,
    /// ksqlDB's UrlExtractFragment UDF: `URI.getFragment()`, decoded.
    Fragment,
    /// ksqlDB's UrlExtractHost UDF: `URI.getHost()`, NULL for a registry authority.
    Host,
    /// ksqlDB's UrlExtractParameter UDF: the value of a name in the decoded query, '' for a
    /// name without `=`.
    Parameter,
    /// ksqlDB's UrlExtractPath UDF: `URI.getPath()`, decoded, '' when empty.
    Path,
    /// ksqlDB's UrlExtractPort UDF: the explicit port as an INT.
    Port,
    /// ksqlDB's UrlExtractProtocol UDF: `URI.getScheme()`.
    Protocol,
    /// ksqlDB's UrlExtractQuery UDF: `URI.getQuery()`, decoded.
    Query,
}

#[derive(Debug, PartialEq, Eq, Hash)]
struct Url {
    function: UrlFunction,
    signature: Signature,
}

impl ScalarUDFImpl for Url {
    fn name(&self) -> &str {
        match self.function {
            UrlFunction::EncodeParam => "url_encode_param",
            UrlFunction::DecodeParam => "url_decode_param",
            UrlFunction::Fragment => "url_extract_fragment",
            UrlFunction::Host => "url_extract_host",
            UrlFunction::Parameter => "url_extract_parameter",
            UrlFunction::Path => "url_extract_path",
            UrlFunction::Port => "url_extract_port",
            UrlFunction::Protocol => "url_extract_protocol",
            UrlFunction::Query => "url_extract_query",
        }
    }

    fn signature(&self) -> &Signature {
        &self.signature
    }

    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(match self.function {
            UrlFunction::Port => DataType::Int32,
            _ => DataType::Utf8,
        })
    }

    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arrays: Vec<ArrayRef> = ColumnarValue::values_to_arrays(&args.args)?
            .iter()
            .map(|array| cast(array, &DataType::Utf8))
            .collect::<Result<_, _>>()?;
        let Some(inputs) = arrays.first() else {
            return exec_err!("{} takes a URL", self.name());
        };
        let inputs = inputs.as_string::<i32>();
        if self.function == UrlFunction::Port {
            let mut results = Int32Builder::with_capacity(inputs.len());
            for input in inputs {
                let port = input.map(parse_url).transpose()?.map(|uri| uri.port);
                results.append_option(port.filter(|port| *port >= 0));
            }
            return Ok(ColumnarValue::Array(Arc::new(results.finish())));
        }
        let names = arrays.get(1).map(|names| names.as_string::<i32>());
        let mut results = StringBuilder::with_capacity(inputs.len(), inputs.value_data().len());
        for row in 0..inputs.len() {
            let input = inputs.is_valid(row).then(|| inputs.value(row));
            let name = names.and_then(|names| names.is_valid(row).then(|| names.value(row)));
            let Some(input) = input else {
                results.append_null();
                continue;
            };
            let answer = match self.function {
                UrlFunction::EncodeParam => Some(encode_param(input)),
                UrlFunction::DecodeParam => Some(decode_param(input)?),
                UrlFunction::Fragment => parse_url(input)?.fragment.map(java_uri::decode),
                UrlFunction::Host => parse_url(input)?.host.map(str::to_owned),
                UrlFunction::Parameter => {
                    let query = parse_url(input)?.query.map(java_uri::decode);
                    query.and_then(|query| parameter(&query, name?))
                }
                UrlFunction::Path => parse_url(input)?.path.map(java_uri::decode),
                UrlFunction::Protocol => parse_url(input)?.scheme.map(str::to_owned),
                UrlFunction::Query => parse_url(input)?.query.map(java_uri::decode),
                UrlFunction::Port => None,
            };
            results.append_option(answer);
        }
        Ok(ColumnarValue::Array(Arc::new(results.finish())))
    }
}

fn parse_url(input: &str) -> Result<JavaUri<'_>> {
    match java_uri::parse(input) {
        Ok(uri) => Ok(uri),
        Err(java_uri::InvalidUri(reason)) => {
            exec_err!("URL input has invalid syntax: {input} ({reason})")
        }
    }
}

/// The value of the first `name` or `name=value` in `query` (split on `&`, then at the
/// first `=`).
fn parameter(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|pair| match pair.split_once('=') {
            Some((key, value)) if key == name => Some(value.to_owned()),
            None if pair == name => Some(String::new()),
            _ => None,
        })
}

/// Form encoding: letters, digits and `-_.*` stay, a space is `+`, every other byte of the
/// UTF-8 text is `%XX` in upper case.
fn encode_param(input: &str) -> String {
    let mut out = String::with_capacity(input.len());
    for byte in input.bytes() {
        match byte {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(char::from(byte))
            }
            b' ' => out.push('+'),
            other => {
                let _ = write!(out, "%{other:02X}");
            }
        }
    }
    out
}

/// Java's `URLDecoder.decode(input, UTF-8)`: `+` is a space, runs of `%XX` are UTF-8 bytes
/// (bad sequences U+FFFD); a `%` without two hex digits after it is an error.
fn decode_param(input: &str) -> Result<String> {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut position = 0;
    let mut run_start = 0;
    while position < bytes.len() {
        match bytes[position] {
            b'+' => {
                out.push_str(&input[run_start..position]);
                out.push(' ');
                position += 1;
                run_start = position;
            }
            b'%' => {
                out.push_str(&input[run_start..position]);
                let mut decoded = Vec::new();
                while position + 2 < bytes.len() && bytes[position] == b'%' {
                    // Java's Integer.parseInt(.., 16) takes a sign too, as from_str_radix.
                    let value = input
                        .get(position + 1..position + 3)
                        .and_then(|digits| i32::from_str_radix(digits, 16).ok());
                    match value {
                        Some(value) if value >= 0 => decoded.push(value as u8),
                        _ => {
                            return exec_err!(
                                "URLDecoder: Illegal hex characters in escape (%) pattern: {input}"
                            );
                        }
                    }
                    position += 3;
                }
                if position < bytes.len() && bytes[position] == b'%' {
                    return exec_err!(
                        "URLDecoder: Incomplete trailing escape (%) pattern: {input}"
                    );
                }
                out.push_str(&String::from_utf8_lossy(&decoded));
                run_start = position;
            }
            _ => position += 1,
        }
    }
    out.push_str(&input[run_start..]);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes_form_parameters_as_ksqldb_does() {
        assert_eq!(encode_param("?foo $bar"), "%3Ffoo+%24bar");
        assert_eq!(encode_param("foo.-*_bar"), "foo.-*_bar");
        assert_eq!(encode_param("é~"), "%C3%A9%7E");
        assert_eq!(
            decode_param("%3Ffoo+%24bar").ok().as_deref(),
            Some("?foo $bar")
        );
        assert_eq!(
            decode_param("url%20encoded").ok().as_deref(),
            Some("url encoded")
        );
        assert_eq!(decode_param("%C3%A9%FF").ok().as_deref(), Some("é\u{FFFD}"));
        assert_eq!(decode_param("").ok().as_deref(), Some(""));
        assert!(decode_param("100%").is_err());
        assert!(decode_param("%4").is_err());
        assert!(decode_param("%zz").is_err());
        assert!(decode_param("%-1").is_err());
    }

    #[test]
    fn extracts_parameters_from_the_decoded_query() {
        let query = "foo bar=baz zab&blank";
        assert_eq!(parameter(query, "foo bar").as_deref(), Some("baz zab"));
        assert_eq!(parameter(query, "blank").as_deref(), Some(""));
        assert_eq!(parameter(query, "foo Bar"), None);
        assert_eq!(parameter("a=1=2", "a").as_deref(), Some("1=2"));
    }
}
