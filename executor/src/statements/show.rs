//! SHOW STREAMS, SHOW TABLES, SHOW QUERIES, SHOW TYPES and DESCRIBE, as ordinary result sets
//! so that psql and every driver can read them. A read-only source (`CREATE SOURCE ..`) says
//! so: SHOW gives `CREATE SOURCE STREAM|TABLE` as what created it, DESCRIBE names it a
//! source stream or table.
//!
//! DESCRIBE answers one table with a `section` column (the source, its columns, its
//! properties, the queries reading and writing it), since a wire result has one shape.

use std::sync::Arc;
use std::time::Duration;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use eddy_planner::{PSEUDO_COLUMNS, QueryStatus, SourceDef, SourceKind, plural, type_name};

use crate::engine::EngineCore;
use crate::error::EngineResult;
use crate::output::{QueryOutput, RowStream};
use crate::state::tables;

pub fn sources_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("key_columns", DataType::Utf8, false),
        Field::new("partitions", DataType::Int64, false),
        Field::new("rows", DataType::Int64, false),
        Field::new("created_by", DataType::Utf8, true),
    ]))
}

pub fn show_sources(engine: &EngineCore, kind: SourceKind) -> EngineResult<QueryOutput> {
    let catalog = engine.read_catalog();
    let sources: Vec<_> = catalog
        .sources()
        .filter(|source| source.kind == kind)
        .collect();
    let names: Vec<&str> = sources.iter().map(|source| source.name.as_str()).collect();
    let keys: Vec<String> = sources
        .iter()
        .map(|source| {
            let keys: Vec<&str> = source
                .columns
                .iter()
                .filter(|column| column.key)
                .map(|column| column.name.as_str())
                .collect();
            keys.join(", ")
        })
        .collect();
    let partitions: Vec<i64> = sources
        .iter()
        .map(|source| source.partitions as i64)
        .collect();
    let rows: Vec<i64> = sources
        .iter()
        .map(|source| row_count(engine, source).map(|rows| rows as i64))
        .collect::<EngineResult<_>>()?;
    let created_by: Vec<Option<&str>> = sources
        .iter()
        .map(|source| match (source.source_only, source.kind) {
            (true, SourceKind::Stream) => Some("CREATE SOURCE STREAM"),
            (true, SourceKind::Table) => Some("CREATE SOURCE TABLE"),
            (false, _) => source.created_by.as_deref(),
        })
        .collect();
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(names)),
        Arc::new(StringArray::from(keys)),
        Arc::new(Int64Array::from(partitions)),
        Arc::new(Int64Array::from(rows)),
        Arc::new(StringArray::from(created_by)),
    ];
    rows_output(sources_schema(), columns)
}

pub fn queries_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("query_id", DataType::Utf8, false),
        Field::new("status", DataType::Utf8, false),
        Field::new("sink", DataType::Utf8, false),
        Field::new("rows_processed", DataType::Int64, false),
        Field::new("late_rows", DataType::Int64, false),
        Field::new("lag", DataType::Int64, true),
        Field::new("rows_per_second", DataType::Float64, true),
        Field::new("statement", DataType::Utf8, false),
    ]))
}

/// Each query with its status (`query_status`), the input rows it has processed (committed, so counted across
/// restarts), the late rows its windows set aside (in `eddy_processing_log` too), its lag (input rows whose output is not in the sink yet) and its throughput (input rows per
/// second over the last 10 seconds), the last two for running queries.
pub fn show_queries(engine: &EngineCore) -> EngineResult<QueryOutput> {
    let catalog = engine.read_catalog();
    let mut ids = Vec::new();
    let mut statuses = Vec::new();
    let mut sinks = Vec::new();
    let mut processed = Vec::new();
    let mut late = Vec::new();
    let mut lags = Vec::new();
    let mut rates = Vec::new();
    let mut statements = Vec::new();
    for query in catalog.queries() {
        let report = engine.query_report(&query.id);
        let error = report.as_ref().and_then(|report| report.error.clone());
        let rows_processed = engine.rows_processed(&query.id)?;
        // Its input rows are those of each source it reads, as many times as it reads it.
        let read = report
            .as_ref()
            .map_or(&[][..], |report| report.inputs.as_slice());
        let input_rows: u64 = read
            .iter()
            .filter(|name| !query.lookups.contains(name))
            .filter_map(|name| catalog.source(name))
            .map(|source| engine.log_rows(source))
            .sum();
        let running_cleanly = query.status == QueryStatus::Running && error.is_none();
        // Rows whose epoch is committed but whose output is not appended yet are not
        // processed for anyone reading the sink: a lag of 0 means the output is there.
        let appending = report.as_ref().map_or(0, |report| report.rows_appending);
        let lag = running_cleanly.then(|| input_rows.saturating_sub(rows_processed) + appending);
        let stalled_for = report.as_ref().and_then(|report| report.stalled_for);
        statuses.push(query_status(
            query.status,
            error.as_deref(),
            lag,
            stalled_for,
        ));
        ids.push(query.id.clone());
        sinks.push(query.sink.clone());
        processed.push(rows_processed as i64);
        late.push(engine.late_rows(&query.id)? as i64);
        lags.push(lag.map(|lag| lag as i64));
        let rate = report.and_then(|report| report.rows_per_second);
        rates.push(rate.filter(|_| running_cleanly));
        statements.push(query.sql.clone());
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(ids)),
        Arc::new(StringArray::from(statuses)),
        Arc::new(StringArray::from(sinks)),
        Arc::new(Int64Array::from(processed)),
        Arc::new(Int64Array::from(late)),
        Arc::new(Int64Array::from(lags)),
        Arc::new(Float64Array::from(rates)),
        Arc::new(StringArray::from(statements)),
    ];
    rows_output(queries_schema(), columns)
}

/// SHOW QUERIES' status of a query: TERMINATED, ERROR with why, STALLED when it has input
/// waiting (`lag`) yet its task has shown no sign of life for `stalled_for`, or RUNNING.
fn query_status(
    status: QueryStatus,
    error: Option<&str>,
    lag: Option<u64>,
    stalled_for: Option<Duration>,
) -> String {
    match (status, error, lag, stalled_for) {
        (QueryStatus::Terminated, ..) => "TERMINATED".to_string(),
        (QueryStatus::Running, Some(error), ..) => format!("ERROR: {error}"),
        (QueryStatus::Running, None, Some(lag), Some(idle)) if lag > 0 => format!(
            "STALLED: no progress for {} s with {lag} input rows waiting",
            idle.as_secs()
        ),
        (QueryStatus::Running, None, ..) => "RUNNING".to_string(),
    }
}

pub fn describe_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("section", DataType::Utf8, false),
        Field::new("name", DataType::Utf8, false),
        Field::new("value", DataType::Utf8, false),
    ]))
}

pub fn describe(engine: &EngineCore, name: &str) -> EngineResult<QueryOutput> {
    let catalog = engine.read_catalog();
    let source = catalog.source_required(name)?;
    let mut rows: Vec<(&str, String, String)> = Vec::new();
    let rows_total = row_count(engine, source)?;
    let section = match (source.source_only, source.kind) {
        (true, SourceKind::Stream) => "source stream",
        (true, SourceKind::Table) => "source table",
        (false, kind) => kind.noun(),
    };
    rows.push((
        section,
        source.name.clone(),
        format!(
            "{}, {}",
            plural(source.partitions as usize, "partition"),
            plural(rows_total as usize, "row")
        ),
    ));
    for column in &source.columns {
        let key = match (column.key, source.kind) {
            (false, _) => "",
            (true, SourceKind::Stream) => " KEY",
            (true, SourceKind::Table) => " PRIMARY KEY",
        };
        rows.push((
            "column",
            column.name.clone(),
            format!("{}{key}", type_name(&column.data_type)),
        ));
    }
    for (pseudo, data_type) in PSEUDO_COLUMNS.iter().zip(["BIGINT", "INTEGER", "BIGINT"]) {
        rows.push(("pseudo-column", pseudo.to_string(), data_type.to_string()));
    }
    if let Some(window) = &source.window {
        // A declared window has only what WINDOW_TYPE and WINDOW_SIZE say (its properties,
        // shown below), not the advance or gap a WINDOW clause gives.
        let how = match &source.created_by {
            Some(_) => window.to_string(),
            None => "declared by WINDOW_TYPE".to_string(),
        };
        rows.push(("windowed", window.name().to_string(), how));
    }
    if let Some(timestamp) = &source.timestamp {
        let format = timestamp
            .format
            .as_deref()
            .map(|format| format!(" ({format})"))
            .unwrap_or_default();
        rows.push((
            "rowtime from",
            timestamp.column.clone(),
            format!("column{format}"),
        ));
    }
    for (property, value) in &source.properties {
        rows.push(("property", property.clone(), value.clone()));
    }
    for query in catalog.readers_of(name) {
        rows.push(("read by", query.id.clone(), query.sql.clone()));
    }
    for query in catalog.writers_of(name) {
        rows.push(("written by", query.id.clone(), query.sql.clone()));
    }
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(rows.iter().map(|row| row.0))),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|row| row.1.as_str()),
        )),
        Arc::new(StringArray::from_iter_values(
            rows.iter().map(|row| row.2.as_str()),
        )),
    ];
    rows_output(describe_schema(), columns)
}

pub fn types_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("name", DataType::Utf8, false),
        Field::new("type", DataType::Utf8, false),
    ]))
}

/// Every named type (`CREATE TYPE`) with its definition, as ksqlDB's SHOW TYPES.
pub fn show_types(engine: &EngineCore) -> EngineResult<QueryOutput> {
    let catalog = engine.read_catalog();
    let names = catalog.named_types().map(|named| named.name.as_str());
    let definitions = catalog
        .named_types()
        .map(|named| type_name(&named.data_type));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from_iter_values(names)),
        Arc::new(StringArray::from_iter_values(definitions)),
    ];
    rows_output(types_schema(), columns)
}

/// Rows a source holds: the events in a stream's log, the current rows of a table.
fn row_count(engine: &EngineCore, source: &SourceDef) -> EngineResult<u64> {
    if source.is_table() {
        return tables::row_count(engine.state().as_ref(), source);
    }
    Ok(engine.log_rows_kept(source))
}

fn rows_output(schema: SchemaRef, columns: Vec<ArrayRef>) -> EngineResult<QueryOutput> {
    let batch = RecordBatch::try_new(schema.clone(), columns)?;
    Ok(QueryOutput::Rows(RowStream::from_batches(
        schema,
        vec![batch],
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_with_input_waiting_and_no_life_is_stalled() {
        let idle = Some(Duration::from_secs(42));
        assert_eq!(
            query_status(QueryStatus::Running, None, Some(7), idle),
            "STALLED: no progress for 42 s with 7 input rows waiting"
        );
        // Caught up, an idle task is just waiting for input.
        assert_eq!(
            query_status(QueryStatus::Running, None, Some(0), idle),
            "RUNNING"
        );
        assert_eq!(
            query_status(QueryStatus::Running, None, Some(7), None),
            "RUNNING"
        );
        assert_eq!(
            query_status(QueryStatus::Running, Some("boom"), None, idle),
            "ERROR: boom"
        );
        assert_eq!(
            query_status(QueryStatus::Terminated, None, None, idle),
            "TERMINATED"
        );
    }
}
