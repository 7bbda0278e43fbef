//! Results as aligned tables, drawn by comfy-table. A pull query's or a SHOW's rows are all
//! there before the table is drawn; a push query's rows are not, so its table is drawn as
//! they come: the header once its first rows are at hand (column widths from both), then each
//! row on its own lines with the same widths (a longer value wraps within its column).
//!
//! Never: wait for rows to align them; a live row is written as soon as it is rendered.

use comfy_table::{ColumnConstraint, Table, Width};

/// Borders around the table and under the header, `|` between columns, no line between
/// rows (comfy-table's preset format: one character per table component).
const TABLE_STYLE: &str = "||--+-++|    ++++++";
/// A live row: only the side borders and the lines between columns.
const LIVE_ROW_STYLE: &str = "||      |          ";

/// How the shell shows SQL NULL, as ksqlDB's CLI does.
pub(crate) const NULL_TEXT: &str = "null";

/// A whole result: the header, every row, and a line under them.
pub(crate) fn whole_table(columns: &[String], rows: &[Vec<String>]) -> String {
    let mut table = Table::new();
    table
        .load_preset(TABLE_STYLE)
        .set_header(columns)
        .add_rows(rows);
    match rows.is_empty() {
        true => split_header(&table).0,
        false => table.to_string(),
    }
}

/// A table without rows: its header (comfy-table draws the line under it and then the
/// bottom border, the same line twice), and that line.
fn split_header(table: &Table) -> (String, String) {
    let mut lines: Vec<String> = table.lines().collect();
    let line_under = lines.pop().unwrap_or_default();
    (lines.join("\n"), line_under)
}

/// `(1 row)`, `(3 rows)`: the count under a result.
pub(crate) fn row_count(rows: u64) -> String {
    match rows {
        1 => "(1 row)".to_string(),
        rows => format!("({rows} rows)"),
    }
}

/// `(1 row affected)`, `(3 rows affected)`: what a statement without a result changed.
pub(crate) fn rows_affected(rows: u64) -> String {
    match rows {
        1 => "(1 row affected)".to_string(),
        rows => format!("({rows} rows affected)"),
    }
}

/// A push query's table while its rows arrive.
pub(crate) struct LiveTable {
    constraints: Vec<ColumnConstraint>,
    /// The line that closes the table, the same as the one under the header.
    closing_line: String,
}

impl LiveTable {
    /// The table of `columns`, as wide as they and `first_rows` need, and the header to print.
    pub(crate) fn start(columns: &[String], first_rows: &[Vec<String>]) -> (LiveTable, String) {
        let mut sizing = Table::new();
        sizing.set_header(columns).add_rows(first_rows);
        let constraints: Vec<ColumnConstraint> = sizing
            .column_max_content_widths()
            .into_iter()
            .map(|width| ColumnConstraint::Absolute(Width::Fixed(width + PADDING)))
            .collect();
        let mut header = Table::new();
        header
            .load_preset(TABLE_STYLE)
            .set_header(columns)
            .set_constraints(constraints.clone());
        let (header, closing_line) = split_header(&header);
        (
            LiveTable {
                constraints,
                closing_line,
            },
            header,
        )
    }

    /// One row's lines, in the table's column widths.
    pub(crate) fn row(&self, row: &[String]) -> String {
        let mut table = Table::new();
        table
            .load_preset(LIVE_ROW_STYLE)
            .add_row(row)
            .set_constraints(self.constraints.clone());
        table.to_string()
    }

    /// The line under the last row.
    pub(crate) fn closing_line(&self) -> &str {
        &self.closing_line
    }
}

/// comfy-table's default cell padding: one space each side, part of a fixed column width.
const PADDING: u16 = 2;

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|value| value.to_string()).collect()
    }

    #[test]
    fn a_whole_result_is_one_aligned_table() {
        let table = whole_table(
            &strings(&["id", "name"]),
            &[strings(&["1", "alice"]), strings(&["22", NULL_TEXT])],
        );
        assert_eq!(
            table,
            "+----+-------+\n\
             | id | name  |\n\
             +----+-------+\n\
             | 1  | alice |\n\
             | 22 | null  |\n\
             +----+-------+"
        );
        assert_eq!(
            whole_table(&strings(&["id"]), &[]),
            "+----+\n\
             | id |\n\
             +----+",
            "no rows: the header and one line under it"
        );
        assert_eq!(row_count(1), "(1 row)");
        assert_eq!(row_count(0), "(0 rows)");
        assert_eq!(rows_affected(1), "(1 row affected)");
        assert_eq!(rows_affected(2), "(2 rows affected)");
    }

    #[test]
    fn live_rows_keep_the_widths_of_the_header_and_the_first_rows() {
        let columns = strings(&["user_id", "url"]);
        let (live, header) = LiveTable::start(&columns, &[strings(&["1", "/home"])]);
        assert_eq!(
            header,
            "+---------+-------+\n\
             | user_id | url   |\n\
             +---------+-------+"
        );
        assert_eq!(live.row(&strings(&["1", "/home"])), "| 1       | /home |");
        assert_eq!(
            live.row(&strings(&["123456789012", "/a"])),
            "| 1234567 | /a    |\n\
             | 89012   |       |",
            "a longer value wraps within its column"
        );
        assert_eq!(live.closing_line(), "+---------+-------+");
    }
}
