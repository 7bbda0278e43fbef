//! `COPY name [(cols)] FROM STDIN [options]`: the statement that starts a bulk load. Both of
//! Postgres' option syntaxes are read: `[WITH] (FORMAT csv, HEADER, DELIMITER ';')` and the
//! older `[WITH] CSV HEADER DELIMITER [AS] ';'` that psql's `\copy` passes through as written.
//!
//! Options are resolved to a complete `CopyOptions` here, with Postgres' defaults and its
//! checks (one ASCII character per delimiter, quote and escape; no clash between them and the
//! NULL string), each error pointing at the option that caused it.
//! Never: accept an option whose meaning Eddy would silently ignore; those are unsupported.

use sqlparser::tokenizer::{Location, Token};

use crate::ast::{CopyFormat, CopyFrom, CopyOptions, Statement};
use crate::cursor::Cursor;
use crate::error::ParseError;

/// Postgres' COPY options that Eddy does not implement; each is refused by name.
const UNSUPPORTED_OPTIONS: &[&str] = &[
    "FREEZE",
    "FORCE_QUOTE",
    "FORCE_NOT_NULL",
    "FORCE_NULL",
    "ENCODING",
    "ON_ERROR",
    "DEFAULT",
    "LOG_VERBOSITY",
    "REJECT_LIMIT",
    "OIDS",
];

/// Characters a text-format delimiter cannot be: they start or continue backslash escapes.
const TEXT_DELIMITERS_REFUSED: &str = "\\.abcdefghijklmnopqrstuvwxyz0123456789";

/// Options as written, each with where its value starts, before defaults and checks.
#[derive(Default)]
struct WrittenOptions {
    format: Option<(CopyFormat, Location)>,
    delimiter: Option<(String, Location)>,
    null: Option<(String, Location)>,
    header: Option<(bool, Location)>,
    quote: Option<(String, Location)>,
    escape: Option<(String, Location)>,
}

/// After `COPY name [(cols)]`, at `FROM`.
pub(crate) fn parse_copy_from(
    cursor: &mut Cursor<'_>,
    target: String,
    columns: Option<Vec<String>>,
) -> Result<Statement, ParseError> {
    cursor.expect_word("FROM")?;
    if !cursor.take_word("STDIN") {
        if matches!(cursor.peek(), Token::SingleQuotedString(_)) || cursor.peek_word("PROGRAM") {
            return Err(ParseError::unsupported("COPY ... FROM a file or program"));
        }
        return Err(cursor.expected("STDIN"));
    }
    let _ = cursor.take_word("WITH");
    let mut written = WrittenOptions::default();
    if cursor.peek() == &Token::LParen {
        let mut inner = cursor.parenthesized()?;
        loop {
            parse_option(&mut inner, &mut written)?;
            if !inner.take_token(&Token::Comma) {
                break;
            }
        }
        inner.expect_end()?;
    } else {
        while !cursor.is_at_end() {
            parse_legacy_option(cursor, &mut written)?;
        }
    }
    let options = resolve(cursor, written)?;
    Ok(Statement::CopyFrom(CopyFrom {
        target,
        columns,
        options,
    }))
}

/// One `name [value]` of the parenthesized option list.
fn parse_option(cursor: &mut Cursor<'_>, written: &mut WrittenOptions) -> Result<(), ParseError> {
    let Some(name) = cursor.peek_keyword() else {
        return Err(cursor.expected("a COPY option"));
    };
    if UNSUPPORTED_OPTIONS.contains(&name.as_str()) {
        return Err(ParseError::unsupported(format!("COPY option {name}")));
    }
    let name_location = cursor.location();
    cursor.advance();
    match name.as_str() {
        "FORMAT" => {
            let location = cursor.location();
            let format = match option_word(cursor)?.to_ascii_lowercase().as_str() {
                "text" => CopyFormat::Text,
                "csv" => CopyFormat::Csv,
                "binary" => return Err(ParseError::unsupported("COPY in binary format")),
                other => {
                    return Err(cursor
                        .source()
                        .error_at(location, format!("COPY format \"{other}\" not recognized")));
                }
            };
            set_once(cursor, &mut written.format, format, name_location)
        }
        "HEADER" => {
            let header = match cursor.peek() {
                Token::Comma | Token::EOF => true,
                _ => {
                    let location = cursor.location();
                    let value = option_word(cursor)?.to_ascii_lowercase();
                    match value.as_str() {
                        "true" | "on" | "1" => true,
                        "false" | "off" | "0" => false,
                        "match" => return Err(ParseError::unsupported("COPY option HEADER MATCH")),
                        _ => {
                            return Err(cursor.source().error_at(
                                location,
                                format!("HEADER requires a Boolean value, not \"{value}\""),
                            ));
                        }
                    }
                }
            };
            set_once(cursor, &mut written.header, header, name_location)
        }
        "DELIMITER" | "NULL" | "QUOTE" | "ESCAPE" => {
            let location = cursor.location();
            let value = option_string(cursor)?;
            set_string_option(cursor, written, &name, value, location)
        }
        _ => Err(cursor.source().error_at(
            name_location,
            format!("COPY option \"{name}\" not recognized"),
        )),
    }
}

/// One option of the pre-9.0 syntax: `CSV`, `HEADER`, `DELIMITER [AS] 'c'`, ...
fn parse_legacy_option(
    cursor: &mut Cursor<'_>,
    written: &mut WrittenOptions,
) -> Result<(), ParseError> {
    let Some(name) = cursor.peek_keyword() else {
        return Err(cursor.expected("a COPY option"));
    };
    let location = cursor.location();
    match name.as_str() {
        "BINARY" => Err(ParseError::unsupported("COPY in binary format")),
        "FORCE" => Err(ParseError::unsupported("COPY option FORCE")),
        "CSV" => {
            cursor.advance();
            set_once(cursor, &mut written.format, CopyFormat::Csv, location)
        }
        "HEADER" => {
            cursor.advance();
            set_once(cursor, &mut written.header, true, location)
        }
        "DELIMITER" | "NULL" | "QUOTE" | "ESCAPE" => {
            cursor.advance();
            let _ = cursor.take_word("AS");
            let value_location = cursor.location();
            let value = option_string(cursor)?;
            set_string_option(cursor, written, &name, value, value_location)
        }
        _ => Err(cursor.expected("a COPY option")),
    }
}

fn set_string_option(
    cursor: &Cursor<'_>,
    written: &mut WrittenOptions,
    name: &str,
    value: String,
    location: Location,
) -> Result<(), ParseError> {
    let slot = match name {
        "DELIMITER" => &mut written.delimiter,
        "NULL" => &mut written.null,
        "QUOTE" => &mut written.quote,
        _ => &mut written.escape,
    };
    set_once(cursor, slot, value, location)
}

/// Postgres refuses an option given twice ("conflicting or redundant options").
fn set_once<T>(
    cursor: &Cursor<'_>,
    slot: &mut Option<(T, Location)>,
    value: T,
    location: Location,
) -> Result<(), ParseError> {
    if slot.is_some() {
        return Err(cursor.source().error_at(
            location,
            "conflicting or redundant COPY options".to_string(),
        ));
    }
    *slot = Some((value, location));
    Ok(())
}

/// A word or a string (`FORMAT csv`, `FORMAT 'csv'`, `HEADER true`, `HEADER 1`).
fn option_word(cursor: &mut Cursor<'_>) -> Result<String, ParseError> {
    let value = match cursor.peek() {
        Token::Word(word) => word.value.clone(),
        Token::SingleQuotedString(text) => text.clone(),
        Token::Number(digits, _) => digits.clone(),
        _ => return Err(cursor.expected("an option value")),
    };
    cursor.advance();
    Ok(value)
}

/// A string constant: `';'` or `E'\t'`.
fn option_string(cursor: &mut Cursor<'_>) -> Result<String, ParseError> {
    let value = match cursor.peek() {
        Token::SingleQuotedString(text) | Token::EscapedStringLiteral(text) => text.clone(),
        _ => return Err(cursor.expected("a string")),
    };
    cursor.advance();
    Ok(value)
}

/// Applies the defaults of the format and Postgres' checks.
fn resolve(cursor: &Cursor<'_>, written: WrittenOptions) -> Result<CopyOptions, ParseError> {
    let source = cursor.source();
    let format = written
        .format
        .map_or(CopyFormat::Text, |(format, _)| format);
    let csv = format == CopyFormat::Csv;
    for (option, name) in [(&written.quote, "QUOTE"), (&written.escape, "ESCAPE")] {
        if let (Some((_, location)), false) = (option, csv) {
            return Err(source.error_at(*location, format!("COPY {name} requires CSV format")));
        }
    }
    let delimiter = match &written.delimiter {
        Some((text, location)) => {
            let delimiter = one_character(cursor, "delimiter", text, *location)?;
            if !csv && TEXT_DELIMITERS_REFUSED.contains(delimiter) {
                return Err(
                    source.error_at(*location, format!("COPY delimiter cannot be {delimiter:?}"))
                );
            }
            delimiter
        }
        None if csv => ',',
        None => '\t',
    };
    let quote = match &written.quote {
        Some((text, location)) => one_character(cursor, "quote", text, *location)?,
        None => '"',
    };
    let escape = match &written.escape {
        Some((text, location)) => one_character(cursor, "escape", text, *location)?,
        None => quote,
    };
    if csv && delimiter == quote {
        let location = written
            .quote
            .as_ref()
            .or(written.delimiter.as_ref())
            .map_or(cursor.end(), |(_, location)| *location);
        return Err(source.error_at(
            location,
            "COPY delimiter and quote must be different".to_string(),
        ));
    }
    let (null, null_location) = match written.null {
        Some((text, location)) => (text, location),
        None if csv => (String::new(), cursor.end()),
        None => ("\\N".to_string(), cursor.end()),
    };
    if null.contains(['\n', '\r']) {
        return Err(source.error_at(
            null_location,
            "COPY null representation cannot use newline or carriage return".to_string(),
        ));
    }
    if null.contains(delimiter) {
        return Err(source.error_at(
            null_location,
            "COPY delimiter character must not appear in the NULL specification".to_string(),
        ));
    }
    if csv && null.contains(quote) {
        return Err(source.error_at(
            null_location,
            "CSV quote character must not appear in the NULL specification".to_string(),
        ));
    }
    Ok(CopyOptions {
        format,
        delimiter,
        null,
        header: written.header.is_some_and(|(header, _)| header),
        quote,
        escape,
    })
}

/// Delimiter, quote and escape are single ASCII characters (Postgres: one byte).
fn one_character(
    cursor: &Cursor<'_>,
    what: &str,
    text: &str,
    location: Location,
) -> Result<char, ParseError> {
    let mut characters = text.chars();
    let character = match (characters.next(), characters.next()) {
        (Some(character), None) if character.is_ascii() => character,
        _ => {
            return Err(cursor.source().error_at(
                location,
                format!("COPY {what} must be a single one-byte character"),
            ));
        }
    };
    if matches!(character, '\n' | '\r') {
        return Err(cursor.source().error_at(
            location,
            format!("COPY {what} cannot be newline or carriage return"),
        ));
    }
    Ok(character)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{message, parse_one};

    fn copy_from(sql: &str) -> CopyFrom {
        match parse_one(sql) {
            Ok(Statement::CopyFrom(copy)) => copy,
            other => panic!("{sql}: expected COPY FROM, got {other:?}"),
        }
    }

    fn text_defaults() -> CopyOptions {
        CopyOptions {
            format: CopyFormat::Text,
            delimiter: '\t',
            null: "\\N".into(),
            header: false,
            quote: '"',
            escape: '"',
        }
    }

    #[test]
    fn text_format_is_the_default() {
        let copy = copy_from("COPY Clicks FROM STDIN");
        assert_eq!(copy.target, "clicks");
        assert_eq!(copy.columns, None);
        assert_eq!(copy.options, text_defaults());
        let copy = copy_from("copy clicks (User_Id, \"Url\", rowtime) from stdin;");
        assert_eq!(
            copy.columns,
            Some(vec!["user_id".into(), "Url".into(), "rowtime".into()])
        );
    }

    #[test]
    fn parenthesized_options() {
        let copy = copy_from(
            "COPY s FROM STDIN WITH (FORMAT csv, DELIMITER ';', NULL 'NA', HEADER, QUOTE '''', ESCAPE '\\')",
        );
        assert_eq!(
            copy.options,
            CopyOptions {
                format: CopyFormat::Csv,
                delimiter: ';',
                null: "NA".into(),
                header: true,
                quote: '\'',
                escape: '\\',
            }
        );
        let copy = copy_from("COPY s FROM STDIN (FORMAT 'CSV', HEADER false)");
        assert_eq!(copy.options.delimiter, ',');
        assert_eq!(copy.options.null, "");
        assert!(!copy.options.header);
        let copy = copy_from("COPY s FROM STDIN (DELIMITER E'|', HEADER on, FORMAT text)");
        assert_eq!(copy.options.delimiter, '|');
        assert!(copy.options.header);
    }

    #[test]
    fn legacy_options() {
        let copy = copy_from("COPY s (a) FROM STDIN WITH CSV HEADER DELIMITER AS ';' NULL 'x'");
        assert_eq!(copy.options.format, CopyFormat::Csv);
        assert!(copy.options.header);
        assert_eq!(copy.options.delimiter, ';');
        assert_eq!(copy.options.null, "x");
        let copy = copy_from("COPY s FROM STDIN DELIMITER ','");
        assert_eq!(copy.options.format, CopyFormat::Text);
        assert_eq!(copy.options.delimiter, ',');
    }

    #[test]
    fn unsupported_forms_and_options_are_named() {
        for (sql, feature) in [
            (
                "COPY s FROM '/tmp/rows.csv'",
                "COPY ... FROM a file or program",
            ),
            ("COPY s FROM STDIN (FORMAT binary)", "COPY in binary format"),
            ("COPY s FROM STDIN BINARY", "COPY in binary format"),
            ("COPY s FROM STDIN (FREEZE)", "COPY option FREEZE"),
            (
                "COPY s FROM STDIN (HEADER match)",
                "COPY option HEADER MATCH",
            ),
            (
                "COPY s FROM STDIN CSV FORCE NOT NULL a",
                "COPY option FORCE",
            ),
        ] {
            assert_eq!(
                parse_one(sql),
                Err(ParseError::unsupported(feature)),
                "{sql}"
            );
        }
    }

    #[test]
    fn bad_options_point_at_themselves() {
        let sql = "COPY s FROM STDIN (FORMAT csv, DELIMITER ';;')";
        assert_eq!(
            parse_one(sql),
            Err(ParseError::Syntax {
                message: "COPY delimiter must be a single one-byte character".into(),
                position_chars: sql.find("';;'").unwrap() + 1,
            })
        );
        assert!(message("COPY s FROM STDIN (QUOTE '\"')").contains("requires CSV format"));
        assert!(message("COPY s FROM STDIN (DELIMITER 'a')").contains("cannot be 'a'"));
        assert!(message("COPY s FROM STDIN (DELIMITER '\\')").contains("cannot be '\\\\'"));
        assert!(message("COPY s FROM STDIN (DELIMITER E'\\n')").contains("cannot be newline"));
        assert!(
            message("COPY s FROM STDIN (FORMAT csv, DELIMITER '\"')")
                .contains("delimiter and quote must be different")
        );
        assert!(
            message("COPY s FROM STDIN (NULL 'a\tb')")
                .contains("delimiter character must not appear in the NULL")
        );
        assert!(
            message("COPY s FROM STDIN (FORMAT csv, NULL '\"')")
                .contains("quote character must not appear in the NULL")
        );
        assert!(
            message("COPY s FROM STDIN (FORMAT csv, FORMAT text)")
                .contains("conflicting or redundant")
        );
        assert!(message("COPY s FROM STDIN (FORMAT json)").contains("\"json\" not recognized"));
        assert!(message("COPY s FROM STDIN (SIZE 3)").contains("\"SIZE\" not recognized"));
        assert!(message("COPY s FROM STDIN (HEADER maybe)").contains("Boolean"));
        assert!(message("COPY s FROM STDIN (DELIMITER)").contains("expected a string"));
        assert!(message("COPY s FROM STDIN CSV 3").contains("expected a COPY option"));
        assert!(message("COPY s FROM STDOUT").contains("expected STDIN"));
        assert!(message("COPY s (a, FROM STDIN").contains("at end of input"));
    }
}
