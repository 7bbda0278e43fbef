//! Reader tests: COPY text and CSV data split into rows and cells, each with its line,
//! escapes, quotes and NULLs decoded, the same however the data is cut into pieces; bad
//! field counts and open quotes are errors naming the line.

use eddy_parser::{CopyFormat, CopyOptions};

use super::*;
use crate::copy_in::cells::tests::cell_text;
use crate::error::EngineResult;
use crate::limits::COPY_CHUNK_ROWS_MAX;

pub(in crate::copy_in) fn options(format: CopyFormat) -> CopyOptions {
    let csv = format == CopyFormat::Csv;
    CopyOptions {
        format,
        delimiter: if csv { ',' } else { '\t' },
        null: if csv { String::new() } else { "\\N".into() },
        header: false,
        quote: '"',
        escape: '"',
    }
}

fn reader(options: &CopyOptions, columns: &[&str]) -> CopyReader {
    let kinds = vec![CellKind::Bytes; columns.len()];
    CopyReader::new(
        options,
        columns.iter().map(|name| name.to_string()).collect(),
        kinds,
    )
}

/// Every row of every chunk, cells as text (None for NULL), with its line.
fn rows_of(chunks: &[CellChunk]) -> Vec<(u64, Vec<Option<String>>)> {
    let mut rows = Vec::new();
    for chunk in chunks {
        for (row, line) in chunk.lines.iter().enumerate() {
            let cells = chunk
                .columns
                .iter()
                .map(|column| cell_text(column, row))
                .collect();
            rows.push((*line, cells));
        }
    }
    rows
}

/// Feeds `pieces` one by one, then ends the data.
fn read_pieces(
    options: &CopyOptions,
    columns: &[&str],
    pieces: &[&[u8]],
) -> EngineResult<Vec<(u64, Vec<Option<String>>)>> {
    let mut reader = reader(options, columns);
    let mut chunks = Vec::new();
    for piece in pieces {
        reader.push(piece);
        while let Some(chunk) = reader.next_chunk(false)? {
            chunks.push(chunk);
        }
    }
    while let Some(chunk) = reader.next_chunk(true)? {
        chunks.push(chunk);
    }
    Ok(rows_of(&chunks))
}

fn read(
    options: &CopyOptions,
    columns: &[&str],
    data: &str,
) -> EngineResult<Vec<(u64, Vec<Option<String>>)>> {
    read_pieces(options, columns, &[data.as_bytes()])
}

/// Reads `data` whole and checks its rows: each row's line and cells (None for NULL).
fn assert_reads(
    options: &CopyOptions,
    columns: &[&str],
    data: &str,
    expected: &[(u64, &[Option<&str>])],
) {
    let expected: Vec<(u64, Vec<Option<String>>)> = expected
        .iter()
        .map(|(line, cells)| {
            (
                *line,
                cells.iter().map(|cell| cell.map(str::to_string)).collect(),
            )
        })
        .collect();
    assert_eq!(
        read(options, columns, data).expect("reads"),
        expected,
        "{data:?}"
    );
}

/// Every way of cutting `data` in two gives the same rows as reading it whole.
fn assert_any_split_reads_the_same(options: &CopyOptions, columns: &[&str], data: &str) {
    let whole = read(options, columns, data).expect("reads whole");
    for cut in 0..=data.len() {
        let (first, second) = data.as_bytes().split_at(cut);
        let split = read_pieces(options, columns, &[first, second]).expect("reads split");
        assert_eq!(split, whole, "cut at byte {cut} of {data:?}");
    }
    let bytewise: Vec<&[u8]> = data.as_bytes().chunks(1).collect();
    assert_eq!(
        read_pieces(options, columns, &bytewise).expect("reads byte by byte"),
        whole
    );
}

fn message(result: EngineResult<impl std::fmt::Debug>) -> String {
    match result {
        Ok(value) => panic!("expected an error, got {value:?}"),
        Err(error) => error.to_string(),
    }
}

#[test]
fn text_fields_nulls_and_escapes() {
    assert_reads(
        &options(CopyFormat::Text),
        &["a", "b", "c"],
        "1\thello\t\\N\n2\ta\\tb\\\\c\\nd\t\\\\N\n3\t\\x41\\101\\q\\\t\t\n",
        &[
            (1, &[Some("1"), Some("hello"), None]),
            (2, &[Some("2"), Some("a\tb\\c\nd"), Some("\\N")]),
            (3, &[Some("3"), Some("AAq\t"), Some("")]),
        ],
    );
}

#[test]
fn text_lines_end_in_lf_or_crlf_and_the_last_may_lack_one() {
    let text = options(CopyFormat::Text);
    assert_reads(
        &text,
        &["a", "b"],
        "1\tx\r\n2\ty\n3\tz",
        &[
            (1, &[Some("1"), Some("x")]),
            (2, &[Some("2"), Some("y")]),
            (3, &[Some("3"), Some("z")]),
        ],
    );
    // An escaped newline belongs to its field; the row after it is on line 3.
    assert_reads(
        &text,
        &["a"],
        "one\\\ntwo\nthree\n",
        &[(1, &[Some("one\ntwo")]), (3, &[Some("three")])],
    );
}

#[test]
fn text_split_anywhere_reads_the_same() {
    let text = options(CopyFormat::Text);
    assert_any_split_reads_the_same(
        &text,
        &["a", "b"],
        "1\tx\\ty\r\n\\N\t\\\\\n22\t\\101\\x4a\\\nz\n3\tlast",
    );
}

#[test]
fn text_end_marker_and_header() {
    let mut text = options(CopyFormat::Text);
    assert_reads(&text, &["a"], "1\n\\.\nignored\n", &[(1, &[Some("1")])]);
    text.header = true;
    assert_reads(
        &text,
        &["a"],
        "a\n1\n2\n",
        &[(2, &[Some("1")]), (3, &[Some("2")])],
    );
}

#[test]
fn csv_quotes_doubled_quotes_and_nulls() {
    assert_reads(
        &options(CopyFormat::Csv),
        &["a", "b", "c"],
        "1,plain,\n2,\"with, comma\",\"\"\n3,\"say \"\"hi\"\"\",\"multi\nline\"\n4,a\"b,c\"d,\\N\n",
        &[
            (1, &[Some("1"), Some("plain"), None]),
            (2, &[Some("2"), Some("with, comma"), Some("")]),
            (3, &[Some("3"), Some("say \"hi\""), Some("multi\nline")]),
            (5, &[Some("4"), Some("ab,cd"), Some("\\N")]),
        ],
    );
}

#[test]
fn csv_with_its_own_delimiter_null_escape_and_header() {
    let csv = CopyOptions {
        delimiter: ';',
        null: "NA".into(),
        header: true,
        escape: '\\',
        ..options(CopyFormat::Csv)
    };
    assert_reads(
        &csv,
        &["a", "b"],
        "a;b\r\n1;\"x \\\"q\\\" \\\\ y\"\r\nNA;\"NA\"\r\n;\"a\\b\"\r\n",
        &[
            (2, &[Some("1"), Some("x \"q\" \\ y")]),
            (3, &[None, Some("NA")]),
            (4, &[Some(""), Some("a\\b")]),
        ],
    );
}

#[test]
fn csv_split_anywhere_reads_the_same() {
    let csv = options(CopyFormat::Csv);
    assert_any_split_reads_the_same(
        &csv,
        &["a", "b"],
        "1,\"q\"\"uo\nted\"\r\n,\"\"\n\"x\",y\n3,\"last\"",
    );
    let escaped = CopyOptions {
        escape: '\\',
        ..options(CopyFormat::Csv)
    };
    assert_any_split_reads_the_same(&escaped, &["a", "b"], "1,\"a\\\"\n\\\\\"\n2,b\n");
}

#[test]
fn wrong_field_counts_name_the_line() {
    let text = options(CopyFormat::Text);
    assert_eq!(
        message(read(&text, &["a", "b"], "1\tx\n2\n")),
        "missing data for column \"b\", line 2"
    );
    assert_eq!(
        message(read(&text, &["a", "b"], "1\tx\ty\n")),
        "extra data after last expected column, line 1"
    );
    let csv = options(CopyFormat::Csv);
    assert_eq!(
        message(read(&csv, &["a", "b", "c"], "1,2,3\n\"4\n\",5\n")),
        "missing data for column \"c\", line 2"
    );
    assert_eq!(
        message(read(&csv, &["a"], "1\n\"open\n")),
        "unterminated CSV quoted field, line 2"
    );
}

#[test]
fn chunks_fill_up_to_their_row_bound() {
    let text = options(CopyFormat::Text);
    let mut reader = reader(&text, &["a"]);
    let data: String = (0..COPY_CHUNK_ROWS_MAX + 5)
        .map(|row| format!("{row}\n"))
        .collect();
    reader.push(data.as_bytes());
    let full = reader.next_chunk(false).unwrap().expect("a full chunk");
    assert_eq!(full.lines.len(), COPY_CHUNK_ROWS_MAX);
    assert!(reader.next_chunk(false).unwrap().is_none());
    let rest = reader
        .next_chunk(true)
        .unwrap()
        .expect("the rest at the end");
    assert_eq!(
        rest.lines,
        (COPY_CHUNK_ROWS_MAX as u64 + 1..)
            .take(5)
            .collect::<Vec<_>>()
    );
    assert_eq!(cell_text(&rest.columns[0], 0).as_deref(), Some("8192"));
    assert!(reader.next_chunk(true).unwrap().is_none());
}
