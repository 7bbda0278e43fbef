//! Snapshot tests of `parse_sql` over a representative set of statements and errors, in a
//! readable rendering: the input, then each statement with sqlparser's parts printed as SQL,
//! or the error with a caret under the position it reports.
//!
//! Review every changed snapshot like a bug report: it is the parser's contract.

use eddy_parser::sqlparser::ast::Expr;
use eddy_parser::{ParseError, SelectStatement, Statement, parse_sql};

fn render(sql: &str) -> String {
    let mut out = format!("input:\n{sql}\n----\n");
    match parse_sql(sql) {
        Ok(statements) => {
            for parsed in statements {
                out.push_str(&format!("sql: {}\n", parsed.sql));
                out.push_str(&render_statement(&parsed.statement));
                out.push_str("----\n");
            }
        }
        Err(ParseError::Syntax {
            message,
            position_chars,
        }) => {
            out.push_str(&format!("ERROR (syntax) at {position_chars}: {message}\n"));
            out.push_str(&caret_under(sql, position_chars));
        }
        Err(error @ ParseError::Unsupported { .. }) => {
            out.push_str(&format!("ERROR (unsupported): {error}\n"));
        }
    }
    out
}

/// The line holding the 1-based character position, with a `^` under it.
fn caret_under(sql: &str, position_chars: usize) -> String {
    let mut line_start_chars = 0;
    for line in sql.split('\n') {
        let line_chars = line.chars().count();
        if position_chars <= line_start_chars + line_chars + 1 {
            let column = position_chars - line_start_chars;
            return format!("{line}\n{}^\n", " ".repeat(column.saturating_sub(1)));
        }
        line_start_chars += line_chars + 1;
    }
    format!("(position {position_chars} is past the input)\n")
}

fn render_expressions(expressions: &[Expr]) -> String {
    let rendered: Vec<String> = expressions.iter().map(ToString::to_string).collect();
    format!("[{}]", rendered.join(", "))
}

fn render_select(select: &SelectStatement) -> String {
    let mut rendered = format!(
        "  query: {}\n  emit: {:?}\n  partition_by: {}\n  window: {:?}\n",
        select.query,
        select.emit,
        select
            .partition_by
            .as_deref()
            .map_or("None".to_string(), render_expressions),
        select.window,
    );
    if !select.join_windows.is_empty() {
        rendered.push_str(&format!("  join_windows: {:?}\n", select.join_windows));
    }
    rendered
}

fn render_statement(statement: &Statement) -> String {
    match statement {
        Statement::Select(select) => format!("Select\n{}", render_select(select)),
        Statement::Copy(select) => format!("Copy\n{}", render_select(select)),
        Statement::CopyFrom(copy) => format!(
            "CopyFrom {:?} columns={:?}\n  options: {:?}\n",
            copy.target, copy.columns, copy.options
        ),
        Statement::CreateAsSelect(create) => format!(
            "CreateAsSelect {:?} {:?} or_replace={} if_not_exists={}\n  properties: {:?}\n{}",
            create.kind,
            create.name,
            create.or_replace,
            create.if_not_exists,
            create.properties,
            render_select(&create.select)
        ),
        Statement::InsertValues(insert) => {
            let mut out = format!(
                "InsertValues {:?} columns={:?}\n",
                insert.target, insert.columns
            );
            for row in &insert.rows {
                out.push_str(&format!("  row {}\n", render_expressions(row)));
            }
            out
        }
        Statement::InsertSelect(insert) => format!(
            "InsertSelect {:?}\n  properties: {:?}\n{}",
            insert.target,
            insert.properties,
            render_select(&insert.select)
        ),
        Statement::Delete(delete) => format!(
            "Delete {:?} where {}\n",
            delete.target,
            delete
                .selection
                .as_ref()
                .map_or("None".to_string(), ToString::to_string)
        ),
        Statement::CreateSource(create) => {
            let mut out = format!(
                "CreateSource {:?} {:?} or_replace={} source_only={} if_not_exists={}\n",
                create.kind,
                create.name,
                create.or_replace,
                create.source_only,
                create.if_not_exists
            );
            for column in &create.columns {
                out.push_str(&format!(
                    "  column {:?} {} {:?}\n",
                    column.name, column.data_type, column.key
                ));
            }
            for property in &create.properties {
                out.push_str(&format!(
                    "  property {} = {:?}\n",
                    property.name, property.value
                ));
            }
            out
        }
        other => format!("{other:?}\n"),
    }
}

macro_rules! snapshot {
    ($name:ident, $sql:expr) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), render($sql));
        }
    };
}

snapshot!(
    create_stream_with_every_type,
    "CREATE STREAM Orders (\n  Order_Id BIGINT KEY,\n  \"Customer\" VARCHAR,\n  `Total` DECIMAL(10, 2),\n  \
     paid BOOLEAN, qty INT, weight DOUBLE, note STRING, raw BYTES,\n  \
     day DATE, at_time TIME, placed TIMESTAMP,\n  \
     tags ARRAY<STRING>, attrs MAP<STRING, ARRAY<INTEGER>>,\n  \
     address STRUCT<Street VARCHAR, geo STRUCT<lat DOUBLE, lon DOUBLE>>\n\
     ) WITH (kafka_topic = 'orders', value_format = 'JSON', partitions = 4, wrap_single_value = false);"
);

snapshot!(
    create_table_with_primary_key,
    "CREATE OR REPLACE TABLE users (id INT PRIMARY KEY, name VARCHAR) WITH (KAFKA_TOPIC='users', FORMAT='JSON')"
);

snapshot!(
    create_table_as_select_windowed,
    "CREATE TABLE page_views_per_minute WITH (KAFKA_TOPIC = 'pvpm') AS\n\
     SELECT page_id, COUNT(*) AS views, WINDOWSTART AS start_ms\n\
     FROM page_views\n\
     WINDOW HOPPING (SIZE 1 MINUTE, ADVANCE BY 10 SECONDS, RETENTION 1 DAY, GRACE PERIOD 5 SECONDS)\n\
     WHERE page_id IS NOT NULL\n\
     GROUP BY page_id\n\
     EMIT FINAL;"
);

snapshot!(
    create_stream_as_select_repartitioned,
    "CREATE STREAM clicks_by_user AS SELECT user->id AS user_id, url FROM clicks WHERE user->address->city = 'Oslo' PARTITION BY user->id EMIT CHANGES"
);

snapshot!(
    insert_values,
    "INSERT INTO Clicks (User_Id, url, ROWTIME) VALUES (1, '/home', 1700000000000), ($1, $2, NULL)"
);

snapshot!(
    insert_select,
    "INSERT INTO all_clicks WITH (query_id = 'merge_mobile') SELECT * FROM mobile_clicks EMIT CHANGES"
);

snapshot!(
    push_query_with_limit_after_emit,
    "SELECT * FROM clicks WHERE url LIKE '/slow%' EMIT CHANGES LIMIT 3"
);

snapshot!(
    session_window_aggregate,
    "SELECT user_id, COUNT(*) FROM clicks WINDOW SESSION (30 MINUTES) GROUP BY user_id EMIT CHANGES"
);

snapshot!(
    pull_query_with_join_and_order,
    "SELECT o.id, u.name FROM orders o JOIN users u ON o.user_id = u.id WHERE o.id = 42 ORDER BY o.id LIMIT 10"
);

snapshot!(
    copy_push_query_to_stdout,
    "COPY (SELECT * FROM clicks EMIT CHANGES) TO STDOUT"
);

snapshot!(
    copy_from_stdin_in_text_and_csv,
    "COPY Clicks FROM STDIN;\n\
     COPY clicks (user_id, url, rowtime) FROM STDIN WITH (FORMAT csv, HEADER, NULL 'NA');\n\
     COPY clicks FROM STDIN WITH CSV HEADER DELIMITER AS '|'"
);

snapshot!(delete_by_key, "DELETE FROM users WHERE id = $1");

snapshot!(
    session_statements_in_one_string,
    "SHOW STREAMS; LIST TABLES EXTENDED; SHOW QUERIES; SHOW PROPERTIES; SHOW server_version;\n\
     DESCRIBE EXTENDED Clicks; TERMINATE CTAS_Counts_3; DROP TABLE IF EXISTS counts DELETE TOPIC;\n\
     SET 'auto.offset.reset' = 'earliest'; UNSET 'auto.offset.reset'; SET extra_float_digits = 3;\n\
     RESET ALL; BEGIN; COMMIT; ROLLBACK"
);

snapshot!(empty_statements_are_skipped, " ;\n-- just a comment\n; ");

snapshot!(error_misspelled_from, "SELECT * FORM s");

snapshot!(error_unclosed_column_list, "CREATE STREAM s (a INT");

snapshot!(error_in_second_statement, "SELECT 1; SELEC 2");

snapshot!(
    error_on_a_later_line,
    "CREATE STREAM s (\n  a INT,\n  b STRING STRING\n) WITH (KAFKA_TOPIC = 's')"
);

snapshot!(error_missing_expression, "SELECT a, FROM s WHERE");

snapshot!(error_unterminated_string, "INSERT INTO s VALUES ('abc)");

snapshot!(
    error_text_after_emit,
    "SELECT * FROM s EMIT CHANGES WHERE a = 1"
);

snapshot!(
    error_window_without_size,
    "SELECT k, COUNT(*) FROM s WINDOW TUMBLING (GRACE PERIOD 1 HOUR) GROUP BY k"
);

snapshot!(
    stream_stream_join_within,
    "SELECT * FROM a JOIN b WITHIN (1 HOUR, 2 MINUTES) GRACE PERIOD 10 SECONDS ON a.id = b.id EMIT CHANGES"
);

snapshot!(
    error_copy_from_a_file_is_unsupported,
    "COPY clicks FROM '/tmp/clicks.csv'"
);

snapshot!(
    error_copy_from_with_a_bad_delimiter,
    "COPY clicks (user_id, url)\nFROM STDIN WITH (FORMAT csv, DELIMITER ';;')"
);

snapshot!(create_type, "CREATE TYPE address AS STRUCT<street STRING>");

snapshot!(error_non_ascii_position, "SELECT 'ünïcödé' AS ü, ☃ FROM s");

snapshot!(
    error_after_comments_and_escapes,
    "SELECT 'it''s',\t\"Quoted \"\"id\"\"\" /* multi\nline ; */ FROM t -- note; more\nWHERE x = = 1"
);

snapshot!(
    error_nested_too_deeply,
    "SELECT CAST(CAST(CAST(CAST(CAST(CAST(CAST(CAST(CAST(CAST(CAST(x AS INT) AS INT) AS INT) AS INT) AS INT) AS INT) AS INT) AS INT) AS INT) AS INT) AS INT)"
);
