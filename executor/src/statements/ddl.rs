//! Statements that change the catalog: CREATE STREAM|TABLE, CREATE STREAM|TABLE .. AS
//! SELECT, INSERT INTO .. SELECT, DROP, TERMINATE.
//!
//! Each one is a catalog change (`engine::CatalogChange`): it holds the catalog lock from
//! check to change, creates storage before the catalog names it, persists the change, and
//! only then publishes it in memory and starts or stops query tasks. A crash at any point
//! leaves either the old catalog (plus an orphan log that the next open removes) or the new
//! one.
//!
//! Never: publish a catalog change that is not yet durable.

use arrow::datatypes::DataType;
use eddy_parser::{
    CreateAsSelect, CreateSource, InsertSelect, KeyKind, Property, PropertyValue, TerminateTarget,
};
use eddy_planner::{
    Catalog, Column, ObjectKind, PROCESSING_LOG, PersistentQuery, PersistentSink, PlanError,
    QueryDef, QueryStatus, SourceDef, SourceKind, TimestampColumn, WINDOW_END, WINDOW_START,
    WindowKind, check_column_name, check_key_type, plural,
};
use tracing::info;

use crate::engine::{CatalogChange, EngineCore, SourceSettings};
use crate::error::{EngineError, EngineResult};
use crate::ingest::rowtime::ChronoFormat;
use crate::limits::PARTITIONS_MAX;
use crate::output::{CommandComplete, QueryOutput};
use crate::runtime::explain;
use crate::session_properties::SessionProperties;

/// WITH properties Eddy accepts. The Kafka-facing ones are recorded and shown by DESCRIBE so
/// that ksqlDB scripts run unchanged; the others take effect.
const RECORDED_PROPERTIES: &[&str] = &[
    "KAFKA_TOPIC",
    "VALUE_FORMAT",
    "KEY_FORMAT",
    "FORMAT",
    "REPLICAS",
    "VALUE_DELIMITER",
    "KEY_DELIMITER",
    "WRAP_SINGLE_VALUE",
];
const EFFECTIVE_PROPERTIES: &[&str] = &[
    "PARTITIONS",
    "RETENTION",
    "RETENTION_MS",
    "TIMESTAMP",
    "TIMESTAMP_FORMAT",
    "WINDOW_SIZE",
    "WINDOW_TYPE",
];

pub async fn create_source(
    engine: &EngineCore,
    create: &CreateSource,
) -> EngineResult<QueryOutput> {
    let kind: SourceKind = create.kind.into();
    reject_or_replace(create.or_replace)?;
    let mut change = engine.change_catalog().await;
    if exists(change.catalog(), &create.name, create.if_not_exists)? {
        return Ok(created(kind));
    }
    let mut columns = declared_columns(change.catalog(), create)?;
    let mut settings = parse_properties(&create.properties, kind, &columns, None)?;
    settings.source_only = create.source_only;
    if settings.window.is_some() {
        add_window_columns(&mut columns)?;
    }
    change.create_source(&create.name, kind, columns, settings, None)?;
    change.publish().await?;
    info!(name = %create.name, kind = kind.noun(), "source created");
    Ok(created(kind))
}

pub async fn create_as_select(
    engine: &EngineCore,
    create: &CreateAsSelect,
    sql: &str,
    properties: &SessionProperties,
) -> EngineResult<QueryOutput> {
    let kind: SourceKind = create.kind.into();
    reject_or_replace(create.or_replace)?;
    let mut change = engine.change_catalog().await;
    if exists(change.catalog(), &create.name, create.if_not_exists)? {
        return Ok(created(kind));
    }
    let (planned, settings) = plan_create_as_select(engine, create).await?;
    explain::check_builds(
        engine.query_env(),
        planned.dataflow.clone(),
        &explain::Sink::New {
            kind,
            name: &create.name,
        },
    )?;
    let number = change.allocate_number();
    let prefix = match kind {
        SourceKind::Stream => "CSAS",
        SourceKind::Table => "CTAS",
    };
    let query_id = format!("{prefix}_{}_{number}", create.name.to_uppercase());
    let source = change.create_source(
        &create.name,
        kind,
        planned.columns,
        settings,
        Some(query_id.clone()),
    )?;
    let query = QueryDef {
        id: query_id,
        producer_id: number,
        sql: sql.to_string(),
        sink: source.name.clone(),
        sources: planned.inputs,
        lookups: planned.lookups,
        status: QueryStatus::Running,
        idle_timeout_ms: properties.window_idle_timeout_ms(),
    };
    start_new_query(engine, change, query, created_tag(kind)).await
}

/// CREATE .. AS SELECT's query, planned, and the settings of the source it creates.
async fn plan_create_as_select(
    engine: &EngineCore,
    create: &CreateAsSelect,
) -> EngineResult<(PersistentQuery, SourceSettings)> {
    let kind: SourceKind = create.kind.into();
    let planned = engine
        .planner()
        .plan_persistent(&create.select, PersistentSink::Create(kind, &create.name))
        .await?;
    let mut settings = parse_properties(
        &create.properties,
        kind,
        &planned.columns,
        Some(planned.input_partitions),
    )?;
    if settings.window.is_some() {
        return Err(invalid(
            "WINDOW_TYPE declares the windows of a source's rows; a query's result is windowed by its WINDOW clause".to_string(),
        ));
    }
    settings.window = planned.window;
    Ok((planned, settings))
}

/// EXPLAIN of CREATE .. AS SELECT: the dataflow of the query it would start, planned as
/// the statement plans it; nothing is created.
pub async fn explain_create_as_select(
    engine: &EngineCore,
    create: &CreateAsSelect,
    properties: &SessionProperties,
) -> EngineResult<QueryOutput> {
    let creates = {
        let catalog = engine.read_catalog();
        reject_or_replace(create.or_replace)?;
        !exists(&catalog, &create.name, create.if_not_exists)?
    };
    if !creates {
        return explain::plan_rows(vec![format!(
            "Nothing to run: \"{}\" exists, and IF NOT EXISTS leaves it",
            create.name
        )]);
    }
    let (planned, settings) = plan_create_as_select(engine, create).await?;
    let kind: SourceKind = create.kind.into();
    let partitions = settings.partitions.unwrap_or(planned.input_partitions);
    let mut lines = vec![format!(
        "Persistent query creating {} {} ({}); EXPLAIN creates nothing",
        kind.noun(),
        create.name,
        plural(partitions as usize, "partition")
    )];
    let dataflow = planned
        .dataflow
        .with_default_idle_timeout(properties.window_idle_timeout_ms());
    let sink = explain::Sink::New {
        kind,
        name: &create.name,
    };
    explain::describe(engine.query_env(), dataflow, &sink, &mut lines)?;
    explain::plan_rows(lines)
}

/// EXPLAIN of INSERT INTO a stream .. SELECT: the dataflow of the query it would start.
pub async fn explain_insert_select(
    engine: &EngineCore,
    insert: &InsertSelect,
    properties: &SessionProperties,
) -> EngineResult<QueryOutput> {
    let target = insert_target(&engine.read_catalog(), insert)?;
    let dataflow = engine
        .planner()
        .plan_persistent(&insert.select, PersistentSink::InsertInto(&target))
        .await?
        .into_dataflow_for(&target)?
        .with_default_idle_timeout(properties.window_idle_timeout_ms());
    let mut lines = vec![format!(
        "Persistent query inserting into stream {}; EXPLAIN starts nothing",
        target.name
    )];
    let sink = explain::Sink::Source(&target);
    explain::describe(engine.query_env(), dataflow, &sink, &mut lines)?;
    explain::plan_rows(lines)
}

/// The stream INSERT INTO .. SELECT writes, checked as the statement checks it.
fn insert_target(catalog: &Catalog, insert: &InsertSelect) -> EngineResult<SourceDef> {
    if !insert.properties.is_empty() {
        return Err(PlanError::Unsupported {
            feature: "WITH properties on INSERT INTO .. SELECT".into(),
        }
        .into());
    }
    let target = catalog.source_required(&insert.target)?.clone();
    target.check_writable()?;
    if target.kind != SourceKind::Stream {
        // A table's INSERT .. SELECT runs once (`table_dml`); this one was dispatched while
        // the name still named a stream.
        return Err(PlanError::InUse {
            message: format!(
                "\"{}\" became a table while the statement was starting; run it again",
                target.name
            ),
        }
        .into());
    }
    Ok(target)
}

pub async fn insert_select(
    engine: &EngineCore,
    insert: &InsertSelect,
    sql: &str,
    properties: &SessionProperties,
) -> EngineResult<QueryOutput> {
    let mut change = engine.change_catalog().await;
    let target = insert_target(change.catalog(), insert)?;
    let planned = engine
        .planner()
        .plan_persistent(&insert.select, PersistentSink::InsertInto(&target))
        .await?;
    explain::check_builds(
        engine.query_env(),
        planned.dataflow.clone(),
        &explain::Sink::Source(&target),
    )?;
    let number = change.allocate_number();
    let query = QueryDef {
        id: format!("INSERTQUERY_{number}"),
        producer_id: number,
        sql: sql.to_string(),
        sink: target.name.clone(),
        sources: planned.inputs,
        lookups: planned.lookups,
        status: QueryStatus::Running,
        idle_timeout_ms: properties.window_idle_timeout_ms(),
    };
    start_new_query(engine, change, query, "INSERT").await
}

/// Publishes `change` with the new persistent query in it, then starts the query; answers
/// with `tag` and the query's ID, as ksqlDB does.
async fn start_new_query(
    engine: &EngineCore,
    mut change: CatalogChange<'_>,
    query: QueryDef,
    tag: &'static str,
) -> EngineResult<QueryOutput> {
    change.put_query(query.clone());
    change.publish().await?;
    engine.start_query(&query).await?;
    Ok(QueryOutput::Command(CommandComplete::new(tag).with_notice(
        format!("Created query with ID {}", query.id),
    )))
}

pub async fn drop_source(
    engine: &EngineCore,
    kind: SourceKind,
    name: &str,
    if_exists: bool,
    _delete_topic: bool,
) -> EngineResult<QueryOutput> {
    let tag = match kind {
        SourceKind::Stream => "DROP STREAM",
        SourceKind::Table => "DROP TABLE",
    };
    let mut change = engine.change_catalog().await;
    let Some(source) = change.catalog().source(name).cloned() else {
        if if_exists {
            return Ok(QueryOutput::Command(CommandComplete::new(tag)));
        }
        return Err(PlanError::UnknownObject {
            kind: kind.object_kind(),
            name: name.to_string(),
        }
        .into());
    };
    if name == PROCESSING_LOG {
        return Err(PlanError::InUse {
            message: format!("{PROCESSING_LOG} is Eddy's own stream: persistent queries write the rows they cannot process there"),
        }
        .into());
    }
    if source.kind != kind {
        return Err(PlanError::Invalid {
            message: format!(
                "\"{name}\" is a {0}; use DROP {1}",
                source.kind.noun(),
                source.kind.noun().to_uppercase()
            ),
        }
        .into());
    }
    let readers = query_ids(change.catalog().readers_of(name));
    let writers = query_ids(change.catalog().writers_of(name));
    if !readers.is_empty() || !writers.is_empty() {
        return Err(PlanError::InUse {
            message: format!(
                "Cannot drop {name}.\nThe following queries read from this source: [{}].\nThe following queries write into this source: [{}].\nYou need to terminate them before dropping {name}.",
                readers.join(", "),
                writers.join(", ")
            ),
        }
        .into());
    }
    let dead: Vec<String> = change
        .catalog()
        .queries()
        .filter(|query| query.sink == name || query.sources.iter().any(|input| input == name))
        .map(|query| query.id.clone())
        .collect();
    for id in &dead {
        change.remove_query(id);
    }
    change.remove_source(name);
    // Revoked under the catalog lock, before the drop: a source created later under this
    // name starts without grants, and a crash in between leaves fewer privileges, not more.
    engine
        .access()
        .forget_source(&engine.query_env().store, name)
        .await?;
    change.publish().await?;
    for id in &dead {
        engine.forget_query(id).await?;
    }
    engine.forget_source(&source).await?;
    info!(source = %name, "dropped");
    Ok(QueryOutput::Command(CommandComplete::new(tag)))
}

pub async fn terminate(engine: &EngineCore, target: &TerminateTarget) -> EngineResult<QueryOutput> {
    let mut change = engine.change_catalog().await;
    let ids: Vec<String> = match target {
        TerminateTarget::All => change
            .catalog()
            .queries()
            .filter(|query| query.status == QueryStatus::Running)
            .map(|query| query.id.clone())
            .collect(),
        TerminateTarget::Query(id) => {
            let query = change
                .catalog()
                .query(id)
                .ok_or_else(|| PlanError::UnknownObject {
                    kind: ObjectKind::Query,
                    name: id.clone(),
                })?;
            if query.status != QueryStatus::Running {
                return Err(PlanError::Invalid {
                    message: format!("query {} is not running", query.id),
                }
                .into());
            }
            vec![query.id.clone()]
        }
    };
    for id in &ids {
        if let Some(query) = change.catalog().query(id).cloned() {
            change.put_query(QueryDef {
                status: QueryStatus::Terminated,
                ..query
            });
        }
    }
    change.publish().await?;
    for id in &ids {
        engine.stop_query(id).await;
    }
    Ok(QueryOutput::Command(CommandComplete::new("TERMINATE")))
}

fn reject_or_replace(or_replace: bool) -> EngineResult<()> {
    if or_replace {
        return Err(PlanError::Unsupported {
            feature: "CREATE OR REPLACE".into(),
        }
        .into());
    }
    Ok(())
}

/// True if the name is taken and IF NOT EXISTS says to do nothing; an error if taken otherwise.
fn exists(catalog: &Catalog, name: &str, if_not_exists: bool) -> EngineResult<bool> {
    match catalog.source(name) {
        Some(_) if if_not_exists => Ok(true),
        Some(existing) => Err(PlanError::AlreadyExists {
            kind: existing.kind.object_kind(),
            name: name.to_string(),
        }
        .into()),
        None => Ok(false),
    }
}

fn created_tag(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Stream => "CREATE STREAM",
        SourceKind::Table => "CREATE TABLE",
    }
}

fn created(kind: SourceKind) -> QueryOutput {
    QueryOutput::Command(CommandComplete::new(created_tag(kind)))
}

fn query_ids(queries: Vec<&QueryDef>) -> Vec<String> {
    queries.into_iter().map(|query| query.id.clone()).collect()
}

fn declared_columns(catalog: &Catalog, create: &CreateSource) -> EngineResult<Vec<Column>> {
    let kind: SourceKind = create.kind.into();
    if create.columns.is_empty() {
        return Err(PlanError::Invalid {
            message: format!(
                "{} \"{}\" needs at least one column",
                kind.noun(),
                create.name
            ),
        }
        .into());
    }
    let mut columns: Vec<Column> = Vec::with_capacity(create.columns.len());
    for column in &create.columns {
        check_column_name(&column.name, "give the column another name")?;
        if columns.iter().any(|existing| existing.name == column.name) {
            return Err(PlanError::DuplicateColumn {
                column: column.name.clone(),
                context: "is declared more than once",
            }
            .into());
        }
        let key = match (kind, column.key) {
            (_, KeyKind::Value) => false,
            (SourceKind::Stream, KeyKind::Key) | (SourceKind::Table, KeyKind::PrimaryKey) => true,
            (SourceKind::Stream, KeyKind::PrimaryKey) => {
                return Err(invalid_definition(format!(
                    "column \"{}\": a stream has KEY columns; PRIMARY KEY declares a table's key",
                    column.name
                )));
            }
            (SourceKind::Table, KeyKind::Key) => {
                return Err(invalid_definition(format!(
                    "column \"{}\": a table's key is declared with PRIMARY KEY, not KEY",
                    column.name
                )));
            }
        };
        let data_type = catalog.resolve_type(&column.data_type)?;
        if key {
            check_key_type(&column.name, &data_type)?;
        }
        columns.push(Column {
            name: column.name.clone(),
            data_type,
            key,
        });
    }
    if kind == SourceKind::Table && !columns.iter().any(|column| column.key) {
        return Err(invalid_definition(format!(
            "table \"{}\" needs a PRIMARY KEY: declare one or more columns with `name TYPE PRIMARY KEY`",
            create.name
        )));
    }
    Ok(columns)
}

/// A declared windowed source's window columns: `windowstart` and `windowend` (BIGINT epoch
/// milliseconds) become key columns after the declared ones, as a windowed query's table
/// has them, so that INSERT gives them as any key column and pull queries read its windows
/// by range.
fn add_window_columns(columns: &mut Vec<Column>) -> EngineResult<()> {
    if let Some(reserved) = columns
        .iter()
        .find(|column| column.name == WINDOW_START || column.name == WINDOW_END)
    {
        return Err(invalid_definition(format!(
            "'{}' is a reserved column name of windowed sources; give the column another name",
            reserved.name.to_uppercase()
        )));
    }
    let after_keys = columns
        .iter()
        .rposition(|column| column.key)
        .map_or(0, |last_key| last_key + 1);
    let window_columns = [WINDOW_START, WINDOW_END].map(|name| Column {
        name: name.to_string(),
        data_type: DataType::Int64,
        key: true,
    });
    columns.splice(after_keys..after_keys, window_columns);
    Ok(())
}

/// ksqlDB's `WINDOW_TYPE` and `WINDOW_SIZE` of a source its rows are windows of, with its
/// messages. A declared hopping window has no advance: it is kept as a hopping window
/// advancing by its size. A declared session has no gap: it is kept with a gap of 0.
fn declared_window(
    window_type: Option<&str>,
    size: Option<&str>,
) -> EngineResult<Option<WindowKind>> {
    let Some(window_type) = window_type else {
        return match size {
            Some(_) => Err(invalid(
                "'WINDOW_SIZE' is set without 'WINDOW_TYPE': give WINDOW_TYPE='TUMBLING' or 'HOPPING' with it".to_string(),
            )),
            None => Ok(None),
        };
    };
    let name = window_type.to_uppercase();
    if !["SESSION", "HOPPING", "TUMBLING"].contains(&name.as_str()) {
        return Err(invalid(format!(
            "Invalid value {window_type} for property WINDOW_TYPE: String must be one of: SESSION, HOPPING, TUMBLING"
        )));
    }
    let size_ms = match size {
        Some(_) if name == "SESSION" => {
            return Err(invalid(
                "'WINDOW_SIZE' should not be set for SESSION windows.".to_string(),
            ));
        }
        None if name == "SESSION" => return Ok(Some(WindowKind::Session { gap_ms: 0 })),
        None => {
            return Err(invalid(format!(
                "{name} windows require 'WINDOW_SIZE' to be provided in the WITH clause. For example: 'WINDOW_SIZE'='10 SECONDS'"
            )));
        }
        Some(size) => eddy_parser::parse_duration_text(size)
            .and_then(|duration| i64::try_from(duration.as_millis()).ok())
            .filter(|&size_ms| size_ms > 0)
            .ok_or_else(|| {
                invalid(format!(
                    "Error in WITH clause property 'WINDOW_SIZE': '{size}' is not a duration greater than 0 (units: MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)\nExample valid value: '10 SECONDS'"
                ))
            })?,
    };
    Ok(Some(match name.as_str() {
        "TUMBLING" => WindowKind::Tumbling { size_ms },
        _ => WindowKind::Hopping {
            size_ms,
            advance_ms: size_ms,
        },
    }))
}

fn invalid_definition(message: String) -> EngineError {
    PlanError::InvalidDefinition { message }.into()
}

fn parse_properties(
    properties: &[Property],
    kind: SourceKind,
    columns: &[Column],
    default_partitions: Option<u32>,
) -> EngineResult<SourceSettings> {
    let mut settings = SourceSettings {
        partitions: default_partitions,
        ..SourceSettings::default()
    };
    let mut timestamp_format = None;
    for property in properties {
        let name = property.name.as_str();
        if settings.recorded.contains_key(name) {
            return Err(invalid(format!("property {name} is given more than once")));
        }
        let text = property_text(&property.value);
        match name {
            "PARTITIONS" => {
                let partitions: u32 = text
                    .parse()
                    .ok()
                    .filter(|count| (1..=PARTITIONS_MAX).contains(count))
                    .ok_or_else(|| invalid(format!("PARTITIONS must be a whole number from 1 to {PARTITIONS_MAX}, not {text}")))?;
                settings.partitions = Some(partitions);
            }
            "TIMESTAMP" => {
                let column_name = text.to_lowercase();
                let column = columns
                    .iter()
                    .find(|column| column.name == text || column.name == column_name)
                    .ok_or_else(|| PlanError::UnknownColumn {
                        column: text.clone(),
                        context: " (TIMESTAMP property)".into(),
                    })?;
                settings.timestamp = Some(TimestampColumn {
                    column: column.name.clone(),
                    format: None,
                });
            }
            "TIMESTAMP_FORMAT" => {
                ChronoFormat::from_java(&text).map_err(invalid)?;
                timestamp_format = Some(text.clone());
            }
            "RETENTION_MS" | "RETENTION" => {
                if kind == SourceKind::Table {
                    return Err(invalid(format!(
                        "{name} applies to streams only: a table keeps the latest row of each key, however old"
                    )));
                }
                if let Some(given) = ["RETENTION_MS", "RETENTION"]
                    .into_iter()
                    .find(|other| settings.recorded.contains_key(*other))
                {
                    return Err(invalid(format!(
                        "{given} and {name} both set the retention; give one of them"
                    )));
                }
                settings.retention_ms = Some(retention_ms(name, &text)?);
            }
            // Read together once all are known (`declared_window`).
            "WINDOW_TYPE" | "WINDOW_SIZE" => {}
            _ if RECORDED_PROPERTIES.contains(&name) => {}
            _ => {
                let mut known: Vec<&str> = EFFECTIVE_PROPERTIES
                    .iter()
                    .chain(RECORDED_PROPERTIES)
                    .copied()
                    .collect();
                known.sort_unstable();
                return Err(invalid(format!(
                    "unknown property {name}; Eddy accepts {}",
                    known.join(", ")
                )));
            }
        }
        settings.recorded.insert(name.to_string(), text);
    }
    settings.window = declared_window(
        settings.recorded.get("WINDOW_TYPE").map(String::as_str),
        settings.recorded.get("WINDOW_SIZE").map(String::as_str),
    )?;
    if let Some(format) = timestamp_format {
        let Some(timestamp) = settings.timestamp.as_mut() else {
            return Err(invalid(
                "TIMESTAMP_FORMAT needs a TIMESTAMP column".to_string(),
            ));
        };
        timestamp.format = Some(format);
    }
    if let Some(timestamp) = &settings.timestamp {
        let column = columns
            .iter()
            .find(|column| column.name == timestamp.column)
            .map(|column| &column.data_type);
        let fits = match column {
            Some(arrow::datatypes::DataType::Int64)
            | Some(arrow::datatypes::DataType::Timestamp(_, _)) => timestamp.format.is_none(),
            Some(arrow::datatypes::DataType::Utf8) => timestamp.format.is_some(),
            _ => false,
        };
        if !fits {
            return Err(EngineError::from(PlanError::InvalidDefinition {
                message: format!(
                    "TIMESTAMP column \"{}\" must be BIGINT (epoch milliseconds), TIMESTAMP, or STRING with a TIMESTAMP_FORMAT",
                    timestamp.column
                ),
            }));
        }
    }
    Ok(settings)
}

/// The value of `RETENTION_MS` (milliseconds) or `RETENTION` (`'7 DAYS'`, as a WINDOW
/// clause writes a duration), in milliseconds: at least 1, and no more than the clock counts.
fn retention_ms(name: &str, text: &str) -> EngineResult<u64> {
    let retention_ms = match name {
        "RETENTION_MS" => text.parse::<u64>().ok(),
        _ => eddy_parser::parse_duration_text(text)
            .and_then(|duration| u64::try_from(duration.as_millis()).ok()),
    };
    let expected = match name {
        "RETENTION_MS" => format!("a whole number of milliseconds from 1 to {}", i64::MAX),
        _ => "a duration greater than 0 such as '7 DAYS' (units: MILLISECONDS, SECONDS, MINUTES, HOURS, DAYS)".to_string(),
    };
    retention_ms
        .filter(|&retention_ms| (1..=i64::MAX as u64).contains(&retention_ms))
        .ok_or_else(|| invalid(format!("{name} must be {expected}, not {text}")))
}

fn property_text(value: &PropertyValue) -> String {
    match value {
        PropertyValue::String(text) | PropertyValue::Number(text) => text.clone(),
        PropertyValue::Boolean(flag) => flag.to_string(),
    }
}

fn invalid(message: String) -> EngineError {
    PlanError::invalid(message).into()
}
