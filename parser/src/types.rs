//! ksqlDB's column types, read from tokens by hand: sqlparser's GenericDialect cannot read
//! `MAP<K, V>`, and its own `DataType` would let through types Eddy cannot store. `>>`
//! arrives as one token in nested types and is split here.
//!
//! A word that is no built-in type is a named type (`CREATE TYPE`), left for the planner to
//! resolve against the catalog; only statements may name one, never a stored type.
//!
//! Never: accept a type outside ksqlDB's list and the catalog's named types; the error names
//! the type and the list.

use sqlparser::tokenizer::{Location, Token};

use crate::ast::ColumnType;
use crate::cursor::Cursor;
use crate::error::ParseError;
use crate::limits::COLUMN_TYPE_NESTING_DEPTH_MAX;
use crate::source::Source;

pub const SUPPORTED_TYPES: &str = "BOOLEAN, INT, INTEGER, BIGINT, DOUBLE, DECIMAL(p, s), VARCHAR, \
     STRING, BYTES, DATE, TIME, TIMESTAMP, ARRAY<T>, MAP<K, V>, STRUCT<name T, ...>";

/// The words that begin a built-in type: no `CREATE TYPE` may take one as its name.
pub(crate) const BUILT_IN_TYPE_WORDS: &[&str] = &[
    "BOOLEAN",
    "INT",
    "INTEGER",
    "BIGINT",
    "DOUBLE",
    "DECIMAL",
    "VARCHAR",
    "STRING",
    "BYTES",
    "DATE",
    "TIME",
    "TIMESTAMP",
    "ARRAY",
    "MAP",
    "STRUCT",
];

/// Arrow's Decimal128 holds at most 38 digits.
const DECIMAL_PRECISION_MAX: u8 = 38;

/// Whether a type may name a `CREATE TYPE`: a statement's may, a stored type may not (the
/// catalog stores types resolved).
#[derive(Clone, Copy, PartialEq, Eq)]
enum NamedTypes {
    Allowed,
    Refused,
}

/// A statement's type: built-in or named (`ColumnType::Named`).
pub(crate) fn parse_column_type(cursor: &mut Cursor<'_>) -> Result<ColumnType, ParseError> {
    parse_nested_type(cursor, 0, NamedTypes::Allowed)
}

/// A whole string as one built-in column type, e.g. `DECIMAL(10, 2)` or `ARRAY<STRING>` (how
/// the catalog stores types: in their SQL spelling, named types resolved).
pub(crate) fn parse_column_type_text(text: &str) -> Result<ColumnType, ParseError> {
    let source = Source::tokenize(text)?;
    let end = source
        .tokens()
        .last()
        .map_or(Location::new(1, 1), |token| token.span.end);
    let mut cursor = Cursor::new(&source, source.tokens(), end);
    let column_type = parse_nested_type(&mut cursor, 0, NamedTypes::Refused)?;
    cursor.expect_end()?;
    Ok(column_type)
}

fn parse_nested_type(
    cursor: &mut Cursor<'_>,
    depth: usize,
    named: NamedTypes,
) -> Result<ColumnType, ParseError> {
    if depth > COLUMN_TYPE_NESTING_DEPTH_MAX {
        return Err(cursor.error_here(format!(
            "column type nests more than {COLUMN_TYPE_NESTING_DEPTH_MAX} levels deep"
        )));
    }
    let Some(name) = cursor.peek_keyword() else {
        if named == NamedTypes::Allowed && matches!(cursor.peek(), Token::Word(_)) {
            return Ok(ColumnType::Named(cursor.identifier()?));
        }
        return Err(cursor.expected("a type"));
    };
    let simple_type = match name.as_str() {
        "BOOLEAN" => Some(ColumnType::Boolean),
        "INT" | "INTEGER" => Some(ColumnType::Int),
        "BIGINT" => Some(ColumnType::BigInt),
        "DOUBLE" => Some(ColumnType::Double),
        "VARCHAR" | "STRING" => Some(ColumnType::String),
        "BYTES" => Some(ColumnType::Bytes),
        "DATE" => Some(ColumnType::Date),
        "TIME" => Some(ColumnType::Time),
        "TIMESTAMP" => Some(ColumnType::Timestamp),
        _ => None,
    };
    if let Some(simple_type) = simple_type {
        cursor.advance();
        return Ok(simple_type);
    }
    match name.as_str() {
        "DECIMAL" => {
            cursor.advance();
            parse_decimal(cursor)
        }
        "ARRAY" => {
            cursor.advance();
            expect_opening_angle(cursor)?;
            let element = parse_nested_type(cursor, depth + 1, named)?;
            expect_closing_angle(cursor)?;
            Ok(ColumnType::Array(Box::new(element)))
        }
        "MAP" => {
            cursor.advance();
            expect_opening_angle(cursor)?;
            let key = parse_nested_type(cursor, depth + 1, named)?;
            cursor.expect_token(&Token::Comma)?;
            let value = parse_nested_type(cursor, depth + 1, named)?;
            expect_closing_angle(cursor)?;
            Ok(ColumnType::Map(Box::new(key), Box::new(value)))
        }
        "STRUCT" => {
            cursor.advance();
            expect_opening_angle(cursor)?;
            let mut fields = Vec::new();
            loop {
                let field_name = cursor.identifier()?;
                let field_type = parse_nested_type(cursor, depth + 1, named)?;
                fields.push((field_name, field_type));
                if !cursor.take_token(&Token::Comma) {
                    break;
                }
            }
            expect_closing_angle(cursor)?;
            Ok(ColumnType::Struct(fields))
        }
        _ if named == NamedTypes::Allowed => Ok(ColumnType::Named(cursor.identifier()?)),
        _ => Err(cursor.error_here(format!(
            "type \"{name}\" is not supported; supported types are {SUPPORTED_TYPES}"
        ))),
    }
}

/// `DECIMAL(precision, scale)` or `DECIMAL(precision)` (scale 0, as in Postgres).
fn parse_decimal(cursor: &mut Cursor<'_>) -> Result<ColumnType, ParseError> {
    if cursor.peek() != &Token::LParen {
        return Err(cursor.expected("\"(\": DECIMAL needs a precision, as in DECIMAL(10, 2)"));
    }
    let mut inner = cursor.parenthesized()?;
    let precision_location = inner.location();
    let precision = parse_small_number(&mut inner)?;
    let scale_location = inner.location();
    let scale = if inner.take_token(&Token::Comma) {
        parse_small_number(&mut inner)?
    } else {
        0
    };
    inner.expect_end()?;
    if !(1..=DECIMAL_PRECISION_MAX).contains(&precision) {
        return Err(cursor.source().error_at(
            precision_location,
            format!("DECIMAL precision must be between 1 and {DECIMAL_PRECISION_MAX}"),
        ));
    }
    if scale > precision {
        return Err(cursor.source().error_at(
            scale_location,
            "DECIMAL scale must not exceed its precision".to_string(),
        ));
    }
    let scale = i8::try_from(scale).map_err(|_| {
        cursor
            .source()
            .error_at(scale_location, "DECIMAL scale is too large".to_string())
    })?;
    Ok(ColumnType::Decimal { precision, scale })
}

fn parse_small_number(cursor: &mut Cursor<'_>) -> Result<u8, ParseError> {
    let Token::Number(digits, _) = cursor.peek() else {
        return Err(cursor.expected("a number"));
    };
    let number = digits.parse::<u8>().map_err(|_| {
        cursor.error_here(format!(
            "\"{digits}\" is not a valid DECIMAL precision or scale"
        ))
    })?;
    cursor.advance();
    Ok(number)
}

fn expect_opening_angle(cursor: &mut Cursor<'_>) -> Result<(), ParseError> {
    cursor.expect_token(&Token::Lt)
}

fn expect_closing_angle(cursor: &mut Cursor<'_>) -> Result<(), ParseError> {
    cursor.expect_closing_angle()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_type(sql: &str) -> Result<ColumnType, ParseError> {
        parse_column_type_text(sql)
    }

    fn message(result: Result<ColumnType, ParseError>) -> String {
        match result {
            Err(error) => error.to_string(),
            Ok(column_type) => format!("unexpectedly parsed {column_type}"),
        }
    }

    #[test]
    fn simple_types_and_aliases() {
        for (text, expected) in [
            ("boolean", ColumnType::Boolean),
            ("INT", ColumnType::Int),
            ("Integer", ColumnType::Int),
            ("BIGINT", ColumnType::BigInt),
            ("DOUBLE", ColumnType::Double),
            ("VARCHAR", ColumnType::String),
            ("STRING", ColumnType::String),
            ("BYTES", ColumnType::Bytes),
            ("DATE", ColumnType::Date),
            ("TIME", ColumnType::Time),
            ("TIMESTAMP", ColumnType::Timestamp),
        ] {
            assert_eq!(parse_type(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn nested_types_split_shift_right_tokens() {
        let parsed = parse_type("MAP<STRING, ARRAY<STRUCT<A INT, \"B\" ARRAY<BIGINT>>>>")
            .expect("nested type parses");
        assert_eq!(
            parsed.to_string(),
            "MAP<STRING, ARRAY<STRUCT<a INTEGER, \"B\" ARRAY<BIGINT>>>>"
        );
        let parsed = parse_type("ARRAY<ARRAY<INT>>").expect("two closing angles parse");
        assert_eq!(parsed.to_string(), "ARRAY<ARRAY<INTEGER>>");
    }

    #[test]
    fn decimals_are_checked() {
        assert_eq!(
            parse_type("DECIMAL(10, 2)"),
            Ok(ColumnType::Decimal {
                precision: 10,
                scale: 2
            })
        );
        assert_eq!(
            parse_type("DECIMAL(5)"),
            Ok(ColumnType::Decimal {
                precision: 5,
                scale: 0
            })
        );
        assert!(message(parse_type("DECIMAL(39, 2)")).contains("between 1 and 38"));
        assert!(message(parse_type("DECIMAL(4, 5)")).contains("must not exceed"));
        assert!(message(parse_type("DECIMAL")).contains("needs a precision"));
        assert!(message(parse_type("DECIMAL(1000, 1)")).contains("not a valid"));
    }

    #[test]
    fn unknown_types_name_the_type_and_the_supported_list() {
        let text = message(parse_type("FLOAT"));
        assert!(text.contains("type \"FLOAT\" is not supported"), "{text}");
        assert!(text.contains("MAP<K, V>"), "{text}");
        assert!(message(parse_type("ARRAY<SMALLINT>")).contains("\"SMALLINT\""));
    }

    #[test]
    fn unbalanced_angles_are_errors() {
        assert!(parse_type("ARRAY<INT").is_err());
        assert!(parse_type("ARRAY<INT>>").is_err());
        assert!(parse_type("STRUCT<>").is_err());
        assert!(parse_type("MAP<STRING>").is_err());
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let depth = COLUMN_TYPE_NESTING_DEPTH_MAX + 5;
        let text = format!("{}INT{}", "ARRAY<".repeat(depth), ">".repeat(depth));
        assert!(message(parse_type(&text)).contains("nests more than"));
    }
}
