//! Eddy's SQL parser: ksqlDB's dialect on top of sqlparser. [`parse_sql`] turns a string of
//! one or more statements into [`ParsedStatement`]s, each an Eddy [`Statement`] that embeds
//! sqlparser's `Query` and `Expr` for the standard parts, so the planner hands those to
//! DataFusion's `SqlToRel` as they are ([`sqlparser`] is re-exported so both name the same
//! crate). Errors are [`ParseError`]s with Postgres-style messages and positions.
//!
//! The input is tokenized once; ksqlDB's clauses are cut out of the token stream and the
//! rest goes to sqlparser, so every error names its place in the whole input.
//! Never: know about catalogs, Arrow or I/O; never panic on any input.
//!
//! ```
//! use eddy_parser::{Emit, Statement, parse_sql};
//!
//! # fn main() -> Result<(), eddy_parser::ParseError> {
//! let parsed = parse_sql("SELECT * FROM Clicks EMIT CHANGES LIMIT 3; SHOW STREAMS")?;
//! assert_eq!(parsed[0].sql, "SELECT * FROM Clicks EMIT CHANGES LIMIT 3");
//! if let Statement::Select(select) = &parsed[0].statement {
//!     assert_eq!(select.emit, Some(Emit::Changes));
//!     assert_eq!(select.query.to_string(), "SELECT * FROM Clicks LIMIT 3");
//! }
//! assert_eq!(parsed[1].statement, Statement::ShowStreams { extended: false });
//! # Ok(())
//! # }
//! ```

mod access;
mod ast;
mod copy_from;
mod cursor;
mod ddl;
mod dml;
mod error;
mod lambdas;
mod limits;
mod nesting;
mod select;
mod source;
mod statement;
mod types;

/// What the parser's unit tests share: one statement parsed, or the error it gives.
#[cfg(test)]
mod test_support {
    use crate::{ParseError, Statement, parse_sql};

    pub(crate) fn parse_one(sql: &str) -> Result<Statement, ParseError> {
        let mut statements = parse_sql(sql)?;
        assert_eq!(statements.len(), 1, "{sql}");
        Ok(statements.remove(0).statement)
    }

    pub(crate) fn message(sql: &str) -> String {
        match parse_one(sql) {
            Ok(statement) => format!("unexpectedly parsed {statement:?}"),
            Err(error) => error.to_string(),
        }
    }
}

pub use sqlparser;

pub use ast::{
    AsofJoin, ColumnAssignment, ColumnDef, ColumnType, CopyFormat, CopyFrom, CopyOptions,
    CreateAsSelect, CreateSource, DeleteStatement, DiscardTarget, Emit, Explain, ExplainTarget,
    Grant, GrantTarget, InsertSelect, InsertValues, JoinWindow, KeyKind, ParsedStatement, Password,
    Privilege, Property, PropertyValue, SelectStatement, SourceKind, Statement, TerminateTarget,
    TransactionStatement, UnsetSpelling, UpdateStatement, UserOptions, WindowSpec,
};
pub use error::ParseError;
pub use lambdas::LAMBDA_FUNCTION;
pub use select::parse_duration_text;
pub use types::SUPPORTED_TYPES;

/// Parses one column type in ksqlDB's spelling (`BIGINT`, `MAP<STRING, ARRAY<INT>>`); the
/// inverse of `ColumnType`'s `Display`.
pub fn parse_column_type(text: &str) -> Result<ColumnType, ParseError> {
    types::parse_column_type_text(text)
}

/// Parses every statement of `sql` (split on `;` outside parentheses, quotes and comments;
/// empty statements skipped, so `""` and `" ; "` give an empty list). The first error stops
/// the whole string, as in Postgres' simple query protocol.
pub fn parse_sql(sql: &str) -> Result<Vec<ParsedStatement>, ParseError> {
    let source = source::Source::tokenize(sql)?;
    source
        .statements()
        .into_iter()
        .map(|statement_tokens| {
            let tokens = source
                .tokens()
                .get(statement_tokens.range.clone())
                .unwrap_or(&[]);
            let statement = statement::parse_statement(&source, tokens, statement_tokens.end)?;
            Ok(ParsedStatement {
                statement,
                sql: source.text_of_tokens(statement_tokens.range).to_string(),
            })
        })
        .collect()
}

/// One statement's text as [`split_sql`] cuts it, without its `;`, and whether a `;` closed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatementText<'sql> {
    pub text: &'sql str,
    pub terminated: bool,
}

/// Cuts `sql` into statements where [`parse_sql`] would, without parsing them: for a client
/// that sends one statement at a time and must know whether its input is complete yet (the
/// `eddy shell`). Fails only where tokenizing fails, such as on an unterminated quote or
/// comment.
pub fn split_sql(sql: &str) -> Result<Vec<StatementText<'_>>, ParseError> {
    let source = source::Source::tokenize(sql)?;
    let token_count = source.tokens().len();
    Ok(source
        .statements()
        .into_iter()
        .map(|statement_tokens| StatementText {
            // A statement's tokens end before its `;`, or at the end of the input.
            terminated: statement_tokens.range.end < token_count,
            text: source.text_of_tokens(statement_tokens.range),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_sql_tells_closed_statements_from_an_open_one() {
        let split =
            split_sql("SELECT ';' -- ;\n FROM t; SHOW STREAMS ;\n SELECT (1;").expect("splits");
        assert_eq!(
            split,
            vec![
                StatementText {
                    text: "SELECT ';' -- ;\n FROM t",
                    terminated: true
                },
                StatementText {
                    text: "SHOW STREAMS",
                    terminated: true
                },
                StatementText {
                    text: "SELECT (1;",
                    terminated: false
                },
            ]
        );
        assert_eq!(split_sql("-- only a comment ;"), Ok(vec![]));
        assert!(split_sql("SELECT 'open").is_err(), "an unterminated quote");
    }

    #[test]
    fn empty_input_gives_no_statements() {
        assert_eq!(parse_sql(""), Ok(vec![]));
        assert_eq!(parse_sql(" ; "), Ok(vec![]));
        assert_eq!(parse_sql("-- nothing\n;/* at all */"), Ok(vec![]));
    }

    #[test]
    fn each_statement_keeps_its_own_text() {
        let parsed = parse_sql("  SELECT 1 ;\n\nSHOW STREAMS;").expect("statements parse");
        let texts: Vec<&str> = parsed.iter().map(|p| p.sql.as_str()).collect();
        assert_eq!(texts, vec!["SELECT 1", "SHOW STREAMS"]);
    }

    #[test]
    fn error_positions_count_from_the_start_of_the_whole_input() {
        assert_eq!(
            parse_sql("SELECT 1; SELEC 2"),
            Err(ParseError::Syntax {
                message: "syntax error at or near \"SELEC\"".into(),
                position_chars: 11
            })
        );
    }

    #[test]
    fn an_error_before_a_semicolon_names_the_semicolon() {
        assert_eq!(
            parse_sql("SELECT 1 +; SELECT 2"),
            Err(ParseError::Syntax {
                message: "syntax error at or near \";\": expected an expression".into(),
                position_chars: 11
            })
        );
    }
}
