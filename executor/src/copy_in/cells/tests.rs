//! Cell tests: a chunk's cells typed with strict casts, bad values naming their line; the
//! integer fast path gives what the cast of the cells' text gives, error for error; BYTES
//! cells in bytea hex and escape forms.

use arrow::array::{Array, AsArray, BinaryArray};
use arrow::datatypes::DataType;
use eddy_parser::CopyFormat;

use super::*;
use crate::copy_in::reader::CopyReader;
use crate::copy_in::reader::tests::options;
use crate::error::{DataError, EngineError, EngineResult};
use crate::limits::COPY_CHUNK_ROWS_MAX;

/// A cell as text (None for NULL).
pub(in crate::copy_in) fn cell_text(cells: &Cells, row: usize) -> Option<String> {
    match cells {
        Cells::Bytes(cells) => cells
            .is_valid(row)
            .then(|| String::from_utf8_lossy(cells.value(row)).into_owned()),
        Cells::Integers(values) => values.is_valid(row).then(|| values.value(row).to_string()),
    }
}

fn cells_array(values: &[Option<&[u8]>]) -> Cells {
    Cells::Bytes(BinaryArray::from(values.to_vec()))
}

#[test]
fn cells_cast_strictly_and_bad_values_name_their_line() {
    let cells = cells_array(&[Some(b"1"), None, Some(b"-7")]);
    let typed = typed_column(&cells, "n", &DataType::Int64, &[1, 2, 3]).unwrap();
    let typed = typed.as_primitive::<arrow::datatypes::Int64Type>();
    assert_eq!(
        typed.iter().collect::<Vec<_>>(),
        vec![Some(1), None, Some(-7)]
    );

    let cells = cells_array(&[Some(b"1"), Some(b"2"), Some(b"x3"), Some(b"y")]);
    let error = typed_column(&cells, "n", &DataType::Int32, &[1, 2, 4, 5]).unwrap_err();
    assert!(matches!(
        error,
        EngineError::Data(DataError::InvalidValue(_))
    ));
    assert_eq!(
        error.to_string(),
        "invalid value 'x3' for column \"n\" of type INTEGER, line 4"
    );
    let decimal = DataType::Decimal128(4, 1);
    let cells = cells_array(&[Some(b"1.5"), Some(b"12345.6")]);
    let error = typed_column(&cells, "d", &decimal, &[7, 8]).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("invalid value '12345.6' for column \"d\" of type DECIMAL(4, 1), line 8:"),
        "{error}"
    );
}

/// Reads one column of `data` with cells kept as `kind`, and types it as `data_type`.
fn read_typed(data: &str, kind: CellKind, data_type: &DataType) -> EngineResult<Vec<ArrayRef>> {
    let mut reader = CopyReader::new(&options(CopyFormat::Text), vec!["n".into()], vec![kind]);
    reader.push(data.as_bytes());
    let mut typed = Vec::new();
    while let Some(chunk) = reader.next_chunk(true)? {
        typed.push(typed_column(
            &chunk.columns[0],
            "n",
            data_type,
            &chunk.lines,
        )?);
    }
    Ok(typed)
}

#[test]
fn integer_cells_parsed_as_read_type_like_their_cast_text() {
    let plain = "1\n-22\n\\N\n007\n-0\n999999999999999999\n";
    let mut reader = CopyReader::new(
        &options(CopyFormat::Text),
        vec!["n".into()],
        vec![CellKind::of(&DataType::Int64)],
    );
    reader.push(plain.as_bytes());
    let chunk = reader.next_chunk(true).unwrap().expect("a chunk");
    let Cells::Integers(values) = &chunk.columns[0] else {
        panic!("plain decimal cells are parsed as they are read");
    };
    assert_eq!(
        values.iter().collect::<Vec<_>>(),
        vec![
            Some(1),
            Some(-22),
            None,
            Some(7),
            Some(0),
            Some(999_999_999_999_999_999)
        ]
    );

    // Whatever the cells, parsing them as they are read types them as the cast of their
    // text does, error for error.
    let cases = [
        (plain, DataType::Int64),
        ("5\n+5\n6\n", DataType::Int64),
        ("5\n 7\n", DataType::Int64),
        (
            "1\n9223372036854775807\n-9223372036854775808\n",
            DataType::Int64,
        ),
        ("1\n9223372036854775808\n", DataType::Int64),
        ("1\n\\N\n-\n", DataType::Int64),
        ("1\n\n", DataType::Int64),
        ("1\nx3\n", DataType::Int32),
        ("2147483647\n-2147483648\n", DataType::Int32),
        ("1\n2147483648\n", DataType::Int32),
        ("-32768\n32768\n", DataType::Int16),
        ("12\n1\\x32\n", DataType::Int64),
    ];
    for (data, data_type) in cases {
        let parsed = read_typed(data, CellKind::of(&data_type), &data_type);
        let cast = read_typed(data, CellKind::Bytes, &data_type);
        match (parsed, cast) {
            (Ok(parsed), Ok(cast)) => assert_eq!(parsed, cast, "{data:?} as {data_type}"),
            (Err(parsed), Err(cast)) => {
                assert_eq!(
                    parsed.to_string(),
                    cast.to_string(),
                    "{data:?} as {data_type}"
                )
            }
            (parsed, cast) => panic!("{data:?} as {data_type}: {parsed:?} against {cast:?}"),
        }
    }
    let error = read_typed(
        "1\n2147483648\n",
        CellKind::of(&DataType::Int32),
        &DataType::Int32,
    )
    .unwrap_err();
    assert_eq!(
        error.to_string(),
        "invalid value '2147483648' for column \"n\" of type INTEGER, line 2"
    );

    // One odd cell sends its chunk through the cast; the next chunk is parsed again.
    let mut reader = CopyReader::new(
        &options(CopyFormat::Text),
        vec!["n".into()],
        vec![CellKind::of(&DataType::Int64)],
    );
    let odd_first: String = std::iter::once("+5\n".to_string())
        .chain((1..COPY_CHUNK_ROWS_MAX + 3).map(|row| format!("{row}\n")))
        .collect();
    reader.push(odd_first.as_bytes());
    let first = reader.next_chunk(false).unwrap().expect("a full chunk");
    assert!(matches!(first.columns[0], Cells::Bytes(_)));
    assert_eq!(cell_text(&first.columns[0], 0).as_deref(), Some("+5"));
    assert_eq!(cell_text(&first.columns[0], 1).as_deref(), Some("1"));
    let second = reader.next_chunk(true).unwrap().expect("the rest");
    assert!(matches!(second.columns[0], Cells::Integers(_)));
    assert_eq!(
        cell_text(&second.columns[0], 2).as_deref(),
        Some((COPY_CHUNK_ROWS_MAX + 2).to_string().as_str())
    );
}

#[test]
fn text_cells_must_be_utf8() {
    let cells = cells_array(&[Some(b"ok"), Some(b"\xff")]);
    let error = typed_column(&cells, "s", &DataType::Utf8, &[1, 2]).unwrap_err();
    assert!(matches!(
        error,
        EngineError::Data(DataError::InvalidEncoding(_))
    ));
    assert_eq!(
        error.to_string(),
        "invalid byte sequence for encoding \"UTF8\" in column \"s\", line 2"
    );
}

#[test]
fn bytes_cells_are_bytea_hex_or_escape() {
    let cells = cells_array(&[Some(b"\\x4869"), Some(b"a\\\\b\\001"), None]);
    let typed = typed_column(&cells, "b", &DataType::Binary, &[1, 2, 3]).unwrap();
    let typed = typed.as_binary::<i32>();
    assert_eq!(typed.value(0), b"Hi");
    assert_eq!(typed.value(1), b"a\\b\x01");
    assert!(typed.is_null(2));
    let cells = cells_array(&[Some(b"\\x4")]);
    let error = typed_column(&cells, "b", &DataType::Binary, &[9]).unwrap_err();
    assert!(error.to_string().contains("line 9"), "{error}");
}
