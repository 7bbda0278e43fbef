//! `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE ...` (with columns, or `AS SELECT`), `DROP`,
//! `CREATE TYPE` / `DROP TYPE`, and the `WITH (NAME = value, ...)` properties they share with
//! `INSERT INTO ... SELECT`.
//! Driven by hand over tokens: sqlparser has no STREAM and cannot read ksqlDB's types.
//!
//! Never: check a property's meaning here (which ones exist, which are required); that
//! belongs to the planner, which knows the catalog.

use sqlparser::ast::DataType;
use sqlparser::tokenizer::Token;

use crate::access::{parse_create_user, parse_drop_user};
use crate::ast::{
    ColumnDef, CreateAsSelect, CreateSource, KeyKind, Property, PropertyValue, SourceKind,
    Statement,
};
use crate::cursor::{Cursor, is_word, run_sqlparser};
use crate::error::ParseError;
use crate::select::parse_select;
use crate::types::{BUILT_IN_TYPE_WORDS, parse_column_type};

/// After `CREATE`.
pub(crate) fn parse_create(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    if cursor.take_word("USER") || cursor.take_word("ROLE") {
        return parse_create_user(cursor);
    }
    let or_replace = cursor.take_words(&["OR", "REPLACE"]);
    let source_location = cursor.location();
    let source_only = cursor.take_word("SOURCE");
    if (source_only && cursor.peek_word("CONNECTOR")) || cursor.peek_word("SINK") {
        return Err(ParseError::unsupported("CREATE CONNECTOR"));
    }
    if !source_only && cursor.take_word("TYPE") {
        if or_replace {
            return Err(cursor.source().error_at(
                source_location,
                "CREATE OR REPLACE TYPE is not a statement: DROP TYPE, then CREATE TYPE"
                    .to_string(),
            ));
        }
        return parse_create_type(cursor);
    }
    let kind = parse_source_kind(cursor)?;
    let if_not_exists_location = cursor.location();
    let if_not_exists = cursor.take_words(&["IF", "NOT", "EXISTS"]);
    if or_replace && if_not_exists {
        return Err(cursor.source().error_at(
            if_not_exists_location,
            "OR REPLACE and IF NOT EXISTS cannot be used together".to_string(),
        ));
    }
    let name = cursor.identifier()?;
    let columns = if cursor.peek() == &Token::LParen {
        Some(cursor.parenthesized_list(parse_column_def)?)
    } else {
        None
    };
    let properties = parse_optional_properties(cursor)?;
    if cursor.peek_word("AS") {
        if columns.is_some() {
            return Err(cursor.error_here(format!(
                "CREATE {kind} ... AS SELECT takes its columns from the query; remove the column list"
            )));
        }
        if source_only {
            return Err(cursor.source().error_at(
                source_location,
                format!("CREATE SOURCE {kind} cannot be created AS SELECT"),
            ));
        }
        cursor.advance();
        let select = parse_select(cursor.source(), cursor.rest(), cursor.end())?;
        cursor.skip_rest();
        return Ok(Statement::CreateAsSelect(CreateAsSelect {
            kind,
            name,
            or_replace,
            if_not_exists,
            properties,
            select,
        }));
    }
    let Some(columns) = columns else {
        if properties.is_empty() {
            return Err(cursor.expected("a column list, WITH or AS"));
        }
        return Err(ParseError::unsupported(format!(
            "CREATE {kind} without a column list (schema inference)"
        )));
    };
    cursor.expect_end()?;
    Ok(Statement::CreateSource(CreateSource {
        kind,
        name,
        or_replace,
        source_only,
        if_not_exists,
        columns,
        properties,
    }))
}

/// After `DROP`.
pub(crate) fn parse_drop(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    if cursor.take_word("USER") || cursor.take_word("ROLE") {
        return parse_drop_user(cursor);
    }
    if cursor.take_word("TYPE") {
        let if_exists = cursor.take_words(&["IF", "EXISTS"]);
        let name = cursor.identifier()?;
        cursor.expect_end()?;
        return Ok(Statement::DropType { name, if_exists });
    }
    if cursor.peek_word("CONNECTOR") {
        return Err(ParseError::unsupported("DROP CONNECTOR"));
    }
    let kind = parse_source_kind(cursor)?;
    let if_exists = cursor.take_words(&["IF", "EXISTS"]);
    let name = cursor.identifier()?;
    let delete_topic = cursor.take_words(&["DELETE", "TOPIC"]);
    cursor.expect_end()?;
    Ok(Statement::Drop {
        kind,
        name,
        if_exists,
        delete_topic,
    })
}

/// After `CREATE TYPE`: `[IF NOT EXISTS] name AS type`.
fn parse_create_type(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    let if_not_exists = cursor.take_words(&["IF", "NOT", "EXISTS"]);
    check_type_name(cursor)?;
    let name = cursor.identifier()?;
    cursor.expect_word("AS")?;
    let data_type = parse_column_type(cursor)?;
    cursor.expect_end()?;
    Ok(Statement::CreateType {
        name,
        if_not_exists,
        data_type,
    })
}

/// A type's name must not be a built-in type's: ksqlDB's, or one that sqlparser reads as a
/// type of its own (`TEXT`, `FLOAT`), which `CAST(x AS name)` would then never look up.
fn check_type_name(cursor: &Cursor<'_>) -> Result<(), ParseError> {
    let Some(token) = cursor.rest().first() else {
        return Err(cursor.expected("a type name"));
    };
    let built_in = match &token.token {
        Token::Word(word) if word.quote_style.is_none() => {
            BUILT_IN_TYPE_WORDS.contains(&word.value.to_ascii_uppercase().as_str())
                || !run_sqlparser(
                    cursor.source(),
                    vec![token.clone()],
                    token.span.end,
                    |parser| parser.parse_data_type(),
                )
                .is_ok_and(|(data_type, _)| matches!(data_type, DataType::Custom(..)))
        }
        Token::Word(_) => false,
        _ => return Err(cursor.expected("a type name")),
    };
    if built_in {
        return Err(cursor.error_here(format!(
            "\"{}\" is the name of a built-in type; choose another name for the type",
            token.token
        )));
    }
    Ok(())
}

fn parse_source_kind(cursor: &mut Cursor<'_>) -> Result<SourceKind, ParseError> {
    if cursor.take_word("STREAM") {
        Ok(SourceKind::Stream)
    } else if cursor.take_word("TABLE") {
        Ok(SourceKind::Table)
    } else {
        Err(cursor.expected("STREAM or TABLE"))
    }
}

/// `name type [KEY | PRIMARY KEY]`
fn parse_column_def(cursor: &mut Cursor<'_>) -> Result<ColumnDef, ParseError> {
    let name = cursor.identifier()?;
    let data_type = parse_column_type(cursor)?;
    let key = if cursor.take_words(&["PRIMARY", "KEY"]) {
        KeyKind::PrimaryKey
    } else if cursor.take_word("KEY") {
        KeyKind::Key
    } else if cursor.peek_word("HEADERS") || cursor.peek_word("HEADER") {
        return Err(ParseError::unsupported("HEADER columns"));
    } else {
        KeyKind::Value
    };
    Ok(ColumnDef {
        name,
        data_type,
        key,
    })
}

/// `[WITH (NAME = value, ...)]`; nothing when no `WITH (` follows.
pub(crate) fn parse_optional_properties(
    cursor: &mut Cursor<'_>,
) -> Result<Vec<Property>, ParseError> {
    if !(cursor.peek_word("WITH") && cursor.peek_at(1) == &Token::LParen) {
        return Ok(Vec::new());
    }
    cursor.advance();
    cursor.parenthesized_list(parse_property)
}

fn parse_property(cursor: &mut Cursor<'_>) -> Result<Property, ParseError> {
    let Token::Word(word) = cursor.peek() else {
        return Err(cursor.expected("a property name"));
    };
    let name = word.value.to_ascii_uppercase();
    cursor.advance();
    cursor.expect_token(&Token::Eq)?;
    let value = match cursor.peek() {
        Token::SingleQuotedString(text) => PropertyValue::String(text.clone()),
        Token::Number(digits, _) => PropertyValue::Number(digits.clone()),
        Token::Minus => match cursor.peek_at(1) {
            Token::Number(digits, _) => {
                cursor.advance();
                PropertyValue::Number(format!("-{digits}"))
            }
            _ => return Err(cursor.expected("a string, a number, TRUE or FALSE")),
        },
        token if is_word(token, "TRUE") => PropertyValue::Boolean(true),
        token if is_word(token, "FALSE") => PropertyValue::Boolean(false),
        _ => return Err(cursor.expected("a string, a number, TRUE or FALSE")),
    };
    cursor.advance();
    Ok(Property { name, value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{message, parse_one};

    #[test]
    fn create_stream_with_columns_keys_and_properties() {
        let statement = parse_one(
            "CREATE STREAM Clicks (User_Id BIGINT KEY, \"Url\" VARCHAR, tags ARRAY<STRING>) \
             WITH (kafka_topic = 'clicks', Partitions = 2, wrap_single_value = false, x = -1.5)",
        );
        assert_eq!(
            statement,
            Ok(Statement::CreateSource(CreateSource {
                kind: SourceKind::Stream,
                name: "clicks".into(),
                or_replace: false,
                source_only: false,
                if_not_exists: false,
                columns: vec![
                    ColumnDef {
                        name: "user_id".into(),
                        data_type: crate::ColumnType::BigInt,
                        key: KeyKind::Key
                    },
                    ColumnDef {
                        name: "Url".into(),
                        data_type: crate::ColumnType::String,
                        key: KeyKind::Value
                    },
                    ColumnDef {
                        name: "tags".into(),
                        data_type: crate::ColumnType::Array(Box::new(crate::ColumnType::String)),
                        key: KeyKind::Value
                    },
                ],
                properties: vec![
                    Property {
                        name: "KAFKA_TOPIC".into(),
                        value: PropertyValue::String("clicks".into())
                    },
                    Property {
                        name: "PARTITIONS".into(),
                        value: PropertyValue::Number("2".into())
                    },
                    Property {
                        name: "WRAP_SINGLE_VALUE".into(),
                        value: PropertyValue::Boolean(false)
                    },
                    Property {
                        name: "X".into(),
                        value: PropertyValue::Number("-1.5".into())
                    },
                ],
            }))
        );
    }

    #[test]
    fn create_table_flags() {
        let Ok(Statement::CreateSource(create)) =
            parse_one("CREATE OR REPLACE SOURCE TABLE t (id INT PRIMARY KEY)")
        else {
            panic!("CREATE SOURCE TABLE should parse");
        };
        assert_eq!(create.kind, SourceKind::Table);
        assert!(create.or_replace && create.source_only && !create.if_not_exists);
        assert_eq!(create.columns[0].key, KeyKind::PrimaryKey);
        let Ok(Statement::CreateSource(create)) =
            parse_one("CREATE TABLE IF NOT EXISTS t (id INT PRIMARY KEY)")
        else {
            panic!("CREATE TABLE IF NOT EXISTS should parse");
        };
        assert!(create.if_not_exists && !create.or_replace);
    }

    #[test]
    fn create_as_select() {
        let Ok(Statement::CreateAsSelect(create)) = parse_one(
            "CREATE TABLE Counts WITH (KAFKA_TOPIC='counts') AS SELECT k, COUNT(*) FROM s GROUP BY k EMIT CHANGES",
        ) else {
            panic!("CTAS should parse");
        };
        assert_eq!(create.name, "counts");
        assert_eq!(create.kind, SourceKind::Table);
        assert_eq!(create.properties.len(), 1);
        assert_eq!(create.select.emit, Some(crate::Emit::Changes));
        assert_eq!(
            create.select.query.to_string(),
            "SELECT k, COUNT(*) FROM s GROUP BY k"
        );
    }

    #[test]
    fn create_errors() {
        assert!(message("CREATE STREAM s (a INT").contains("at end of input"));
        assert!(message("CREATE STREAM s (a INT) AS SELECT 1").contains("remove the column list"));
        assert!(
            message("CREATE SOURCE STREAM s AS SELECT 1").contains("cannot be created AS SELECT")
        );
        assert!(
            message("CREATE OR REPLACE STREAM IF NOT EXISTS s (a INT)")
                .contains("cannot be used together")
        );
        assert!(message("CREATE STREAM s").contains("expected a column list, WITH or AS"));
        assert!(message("CREATE VIEW v AS SELECT 1").contains("expected STREAM or TABLE"));
        assert!(
            message("CREATE STREAM s (a INT) WITH (kafka_topic = x)")
                .contains("a string, a number")
        );
        assert!(message("CREATE STREAM s (a INT) WITH ()").contains("property name"));
        assert_eq!(
            parse_one("CREATE STREAM s WITH (KAFKA_TOPIC='t', VALUE_FORMAT='AVRO')"),
            Err(ParseError::unsupported(
                "CREATE STREAM without a column list (schema inference)"
            ))
        );
        assert_eq!(
            parse_one("CREATE SINK CONNECTOR c WITH (a='b')"),
            Err(ParseError::unsupported("CREATE CONNECTOR"))
        );
        assert_eq!(
            parse_one("CREATE STREAM s (h ARRAY<BYTES> HEADERS)"),
            Err(ParseError::unsupported("HEADER columns"))
        );
    }

    #[test]
    fn drop_statements() {
        assert_eq!(
            parse_one("DROP TABLE IF EXISTS \"T\" DELETE TOPIC"),
            Ok(Statement::Drop {
                kind: SourceKind::Table,
                name: "T".into(),
                if_exists: true,
                delete_topic: true
            })
        );
        assert_eq!(
            parse_one("drop stream S"),
            Ok(Statement::Drop {
                kind: SourceKind::Stream,
                name: "s".into(),
                if_exists: false,
                delete_topic: false
            })
        );
        assert!(message("DROP STREAM s CASCADE").contains("near \"CASCADE\""));
        assert_eq!(
            parse_one("DROP TYPE IF EXISTS Address"),
            Ok(Statement::DropType {
                name: "address".into(),
                if_exists: true
            })
        );
    }

    #[test]
    fn create_type_names_any_type_and_may_use_named_ones() {
        assert_eq!(
            parse_one("CREATE TYPE IF NOT EXISTS Person AS STRUCT<name STRING, home Address>"),
            Ok(Statement::CreateType {
                name: "person".into(),
                if_not_exists: true,
                data_type: crate::ColumnType::Struct(vec![
                    ("name".into(), crate::ColumnType::String),
                    ("home".into(), crate::ColumnType::Named("address".into())),
                ]),
            })
        );
        let Ok(Statement::CreateSource(create)) =
            parse_one("CREATE STREAM s (a \"Point\" KEY, b ARRAY<point>)")
        else {
            panic!("named types in columns should parse");
        };
        assert_eq!(
            create.columns[0].data_type,
            crate::ColumnType::Named("Point".into())
        );
        assert_eq!(create.columns[1].data_type.to_string(), "ARRAY<point>");
    }

    #[test]
    fn a_type_may_not_take_a_built_in_name() {
        for name in ["INT", "string", "Struct", "TEXT", "float", "json"] {
            let text = message(&format!("CREATE TYPE {name} AS BIGINT"));
            assert!(text.contains("name of a built-in type"), "{name}: {text}");
        }
        assert!(message("CREATE OR REPLACE TYPE t AS INT").contains("DROP TYPE, then"));
        assert!(message("CREATE TYPE t INT").contains("expected AS"));
        assert_eq!(
            parse_one("CREATE TYPE \"INT\" AS BIGINT"),
            Ok(Statement::CreateType {
                name: "INT".into(),
                if_not_exists: false,
                data_type: crate::ColumnType::BigInt,
            })
        );
    }
}
