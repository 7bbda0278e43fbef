//! Statements that write or read rows: `INSERT INTO ... VALUES`, `INSERT INTO ... SELECT`,
//! `DELETE FROM`, `UPDATE .. SET`, psql's `COPY (SELECT ...) TO STDOUT`, and the start of
//! `COPY name FROM STDIN` (its options are read in `copy_from`). Values and predicates are
//! sqlparser expressions, so `$1` placeholders stay `Value::Placeholder` for the planner.
//!
//! Never: accept a COPY form Eddy cannot serve; each other form is named as unsupported.

use sqlparser::parser::Parser;
use sqlparser::tokenizer::{Location, Token};

use crate::ast::{
    ColumnAssignment, DeleteStatement, InsertSelect, InsertValues, Statement, UpdateStatement,
};
use crate::copy_from::parse_copy_from;
use crate::cursor::Cursor;
use crate::ddl::parse_optional_properties;
use crate::error::ParseError;
use crate::select::parse_select;

/// After `INSERT`.
pub(crate) fn parse_insert(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    cursor.expect_word("INTO")?;
    let target = cursor.identifier()?;
    let columns = if cursor.peek() == &Token::LParen {
        Some(cursor.parenthesized_list(|inner| inner.identifier())?)
    } else {
        None
    };
    if columns.is_some() || cursor.peek_word("VALUES") {
        cursor.expect_word("VALUES")?;
        let rows = parse_rows(cursor, columns.as_ref().map(Vec::len))?;
        cursor.expect_end()?;
        return Ok(Statement::InsertValues(InsertValues {
            target,
            columns,
            rows,
        }));
    }
    let properties = parse_optional_properties(cursor)?;
    let select = parse_select(cursor.source(), cursor.rest(), cursor.end())?;
    cursor.skip_rest();
    Ok(Statement::InsertSelect(InsertSelect {
        target,
        properties,
        select,
    }))
}

/// `(e, ...), (e, ...)`: every row as long as the first, and as the column list if given.
fn parse_rows(
    cursor: &mut Cursor<'_>,
    column_count: Option<usize>,
) -> Result<Vec<Vec<sqlparser::ast::Expr>>, ParseError> {
    let located_rows: Vec<(Location, Vec<sqlparser::ast::Expr>)> =
        cursor.with_sqlparser(|parser| {
            parser.parse_comma_separated(|parser| {
                let row_location = parser.peek_token_ref().span.start;
                parser.expect_token(&Token::LParen)?;
                let values = parser.parse_comma_separated(Parser::parse_expr)?;
                parser.expect_token(&Token::RParen)?;
                Ok((row_location, values))
            })
        })?;
    let expected_length = column_count.or_else(|| located_rows.first().map(|(_, row)| row.len()));
    let mut rows = Vec::with_capacity(located_rows.len());
    for (row_location, row) in located_rows {
        if let Some(expected_length) = expected_length
            && row.len() != expected_length
        {
            let message = match column_count {
                Some(columns) if row.len() > columns => {
                    "INSERT has more expressions than target columns"
                }
                Some(_) => "INSERT has more target columns than expressions",
                None => "VALUES lists must all be the same length",
            };
            return Err(cursor.source().error_at(row_location, message.to_string()));
        }
        rows.push(row);
    }
    Ok(rows)
}

/// After `DELETE`.
pub(crate) fn parse_delete(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    cursor.expect_word("FROM")?;
    let target = cursor.identifier()?;
    let selection = if cursor.take_word("WHERE") {
        Some(cursor.with_sqlparser(|parser| parser.parse_expr())?)
    } else {
        None
    };
    cursor.expect_end()?;
    Ok(Statement::Delete(DeleteStatement { target, selection }))
}

/// After `UPDATE`: `name SET column = expr [, ..] [WHERE expr]`.
pub(crate) fn parse_update(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    let target = cursor.identifier()?;
    cursor.expect_word("SET")?;
    let mut assignments = Vec::new();
    loop {
        let column = cursor.identifier()?;
        cursor.expect_token(&Token::Eq)?;
        let value = cursor.with_sqlparser(|parser| parser.parse_expr())?;
        assignments.push(ColumnAssignment { column, value });
        if !cursor.take_token(&Token::Comma) {
            break;
        }
    }
    if cursor.peek_word("FROM") {
        return Err(ParseError::unsupported("UPDATE .. FROM"));
    }
    let selection = if cursor.take_word("WHERE") {
        Some(cursor.with_sqlparser(|parser| parser.parse_expr())?)
    } else {
        None
    };
    cursor.expect_end()?;
    Ok(Statement::Update(UpdateStatement {
        target,
        assignments,
        selection,
    }))
}

/// After `COPY`: `COPY (query) TO STDOUT` and `COPY name [(cols)] FROM STDIN ...`.
pub(crate) fn parse_copy(cursor: &mut Cursor<'_>) -> Result<Statement, ParseError> {
    if cursor.peek() != &Token::LParen {
        let target = cursor.identifier()?;
        let columns = if cursor.peek() == &Token::LParen {
            Some(cursor.parenthesized_list(|inner| inner.identifier())?)
        } else {
            None
        };
        if cursor.peek_word("FROM") {
            return parse_copy_from(cursor, target, columns);
        }
        if cursor.peek_word("TO") {
            return Err(ParseError::unsupported(
                "COPY of a table (use COPY (SELECT ...) TO STDOUT)",
            ));
        }
        return Err(cursor.expected("FROM or TO"));
    }
    let inner = cursor.parenthesized()?;
    let select = parse_select(cursor.source(), inner.rest(), inner.end())?;
    cursor.expect_word("TO")?;
    if !cursor.take_word("STDOUT") {
        if matches!(cursor.peek(), Token::SingleQuotedString(_)) || cursor.peek_word("PROGRAM") {
            return Err(ParseError::unsupported("COPY ... TO a file or program"));
        }
        return Err(cursor.expected("STDOUT"));
    }
    if !cursor.is_at_end() {
        return Err(ParseError::unsupported("COPY options"));
    }
    Ok(Statement::Copy(select))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{message, parse_one};

    fn rendered_rows(rows: &[Vec<sqlparser::ast::Expr>]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|row| row.iter().map(ToString::to_string).collect())
            .collect()
    }

    #[test]
    fn insert_values_with_and_without_columns() {
        let Ok(Statement::InsertValues(insert)) =
            parse_one("INSERT INTO Clicks (User_Id, \"Url\") VALUES (1, '/a'), ($1, NULL)")
        else {
            panic!("INSERT VALUES should parse");
        };
        assert_eq!(insert.target, "clicks");
        assert_eq!(insert.columns, Some(vec!["user_id".into(), "Url".into()]));
        assert_eq!(
            rendered_rows(&insert.rows),
            vec![vec!["1", "'/a'"], vec!["$1", "NULL"]]
        );
        assert!(matches!(
            insert.rows[1][0],
            sqlparser::ast::Expr::Value(ref value)
                if matches!(value.value, sqlparser::ast::Value::Placeholder(_))
        ));
        let Ok(Statement::InsertValues(insert)) = parse_one("insert into s values (1)") else {
            panic!("INSERT VALUES without columns should parse");
        };
        assert_eq!(insert.columns, None);
        assert_eq!(rendered_rows(&insert.rows), vec![vec!["1"]]);
    }

    #[test]
    fn insert_row_lengths_are_checked() {
        assert!(message("INSERT INTO s VALUES (1, 2), (3)").contains("same length"));
        assert!(message("INSERT INTO s (a) VALUES (1, 2)").contains("more expressions"));
        assert!(message("INSERT INTO s (a, b) VALUES (1)").contains("more target columns"));
        assert!(message("INSERT INTO s (a) SELECT 1").contains("expected VALUES"));
        assert!(message("INSERT INTO s VALUES (1),").contains("at end of input"));
    }

    #[test]
    fn insert_select_with_properties() {
        let Ok(Statement::InsertSelect(insert)) = parse_one(
            "INSERT INTO sink WITH (QUERY_ID='q1') SELECT * FROM src PARTITION BY k EMIT CHANGES",
        ) else {
            panic!("INSERT SELECT should parse");
        };
        assert_eq!(insert.target, "sink");
        assert_eq!(insert.properties[0].name, "QUERY_ID");
        assert_eq!(insert.select.query.to_string(), "SELECT * FROM src");
        assert!(insert.select.partition_by.is_some());
        let Ok(Statement::InsertSelect(insert)) =
            parse_one("INSERT INTO sink WITH recent AS (SELECT 1) SELECT * FROM recent")
        else {
            panic!("INSERT with a common table expression should parse");
        };
        assert!(insert.properties.is_empty());
    }

    #[test]
    fn delete_with_and_without_where() {
        let Ok(Statement::Delete(delete)) = parse_one("DELETE FROM T WHERE id = $1") else {
            panic!("DELETE should parse");
        };
        assert_eq!(delete.target, "t");
        assert_eq!(
            delete.selection.map(|e| e.to_string()).as_deref(),
            Some("id = $1")
        );
        assert_eq!(
            parse_one("DELETE FROM t"),
            Ok(Statement::Delete(DeleteStatement {
                target: "t".into(),
                selection: None
            }))
        );
        assert!(message("DELETE FROM t WHERE").contains("at end of input"));
    }

    #[test]
    fn update_with_assignments_and_where() {
        let Ok(Statement::Update(update)) =
            parse_one("UPDATE T SET V = v + 1, \"Name\" = UCASE($1) WHERE id > $2")
        else {
            panic!("UPDATE should parse");
        };
        assert_eq!(update.target, "t");
        let assigned: Vec<(String, String)> = update
            .assignments
            .iter()
            .map(|assignment| (assignment.column.clone(), assignment.value.to_string()))
            .collect();
        assert_eq!(
            assigned,
            vec![
                ("v".to_string(), "v + 1".to_string()),
                ("Name".to_string(), "UCASE($1)".to_string())
            ]
        );
        assert_eq!(
            update.selection.map(|e| e.to_string()).as_deref(),
            Some("id > $2")
        );
        let Ok(Statement::Update(update)) = parse_one("update t set v = 1") else {
            panic!("UPDATE without WHERE should parse");
        };
        assert_eq!(update.selection, None);
        assert!(message("UPDATE t SET v").contains("expected"));
        assert!(message("UPDATE t SET v = 1 WHERE").contains("at end of input"));
        assert!(message("UPDATE t v = 1").contains("expected SET"));
        assert_eq!(
            parse_one("UPDATE t SET v = 1 FROM s"),
            Err(ParseError::unsupported("UPDATE .. FROM"))
        );
    }

    #[test]
    fn copy_of_a_query_to_stdout() {
        let Ok(Statement::Copy(select)) =
            parse_one("COPY (SELECT * FROM s EMIT CHANGES LIMIT 2) TO STDOUT")
        else {
            panic!("COPY should parse");
        };
        assert_eq!(select.emit, Some(crate::Emit::Changes));
        assert_eq!(select.query.to_string(), "SELECT * FROM s LIMIT 2");
    }

    #[test]
    fn other_copy_forms_are_unsupported() {
        for (sql, feature) in [
            (
                "COPY t TO STDOUT",
                "COPY of a table (use COPY (SELECT ...) TO STDOUT)",
            ),
            (
                "COPY (SELECT 1) TO '/tmp/x'",
                "COPY ... TO a file or program",
            ),
            (
                "COPY (SELECT 1) TO STDOUT WITH (FORMAT csv)",
                "COPY options",
            ),
        ] {
            assert_eq!(
                parse_one(sql),
                Err(ParseError::unsupported(feature)),
                "{sql}"
            );
        }
        assert!(message("COPY (SELECT * FORM s) TO STDOUT").contains("near \"FORM\""));
        assert!(message("COPY (SELECT 1) FROM STDIN").contains("expected TO"));
        assert!(message("COPY (SELECT 1 +) TO STDOUT").contains("near \")\""));
    }
}
