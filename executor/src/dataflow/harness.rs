//! A harness for operators without an engine: sources declared in one line, plans made by
//! the real planner over them, and batches of changes written as text, one change a line:
//! `+ a 1` inserts the row (a, 1), `- a 1` retracts it, `+3 a 1` inserts three copies;
//! `NULL` is a NULL; `@5` at the end gives the row's rowtime (default 0). Output lines are
//! written the same way, consolidated and sorted, so a test reads like the change it checks.
//!
//! Never: used outside tests.

use std::sync::{Arc, RwLock};

use arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow::datatypes::DataType;
use datafusion::catalog::TableProvider;
use datafusion::datasource::MemTable;
use datafusion::datasource::empty::EmptyTable;
use datafusion::error::DataFusionError;
use datafusion::prelude::SessionContext;
use eddy_planner::{
    Catalog, Column, Dataflow, PersistentSink, SourceDef, SourceKind, SourceProviders, SqlPlanner,
    lower_over,
};
use eddy_storage::{ChangeBatch, StateBatch, StateStore};

use crate::batches::with_pseudo_columns;
use crate::changes::Changes;
use crate::dataflow::{BadRows, EpochContext, Operator};

/// A source for tests: `stream clicks (user BIGINT, url STRING)` or
/// `table users (id BIGINT KEY, name STRING)`, in one partition.
pub fn source(declaration: &str) -> SourceDef {
    let (kind, rest) = declaration.split_once(' ').expect("kind and name");
    let kind = match kind {
        "stream" => SourceKind::Stream,
        "table" => SourceKind::Table,
        other => panic!("a source is a stream or a table, not {other}"),
    };
    let (name, columns) = rest.split_once('(').expect("name (columns)");
    let columns = columns
        .trim()
        .trim_end_matches(')')
        .split(',')
        .map(|column| {
            let words: Vec<&str> = column.split_whitespace().collect();
            let data_type = match words[1] {
                "BIGINT" => DataType::Int64,
                "DOUBLE" => DataType::Float64,
                "STRING" => DataType::Utf8,
                "BOOLEAN" => DataType::Boolean,
                other => panic!("the harness has no type {other}"),
            };
            Column {
                name: words[0].to_string(),
                data_type,
                key: words.get(2) == Some(&"KEY"),
            }
        })
        .collect();
    SourceDef {
        name: name.trim().to_string(),
        kind,
        columns,
        properties: Default::default(),
        partitions: 1,
        timestamp: None,
        topic: format!("test-{}", name.trim()),
        created_by: None,
        source_only: false,
        window: None,
        retention_ms: None,
    }
}

/// Providers with each source's schema and no rows: enough to plan.
#[derive(Debug)]
struct SchemaOnly;

impl SourceProviders for SchemaOnly {
    fn provider(&self, source: &SourceDef) -> Result<Arc<dyn TableProvider>, DataFusionError> {
        Ok(Arc::new(EmptyTable::new(source.queryable_schema())))
    }
}

/// The planner over a catalog of `sources`.
pub fn planner(sources: &[SourceDef]) -> SqlPlanner {
    SqlPlanner::new(
        Arc::new(RwLock::new(catalog(sources))),
        Arc::new(SchemaOnly),
    )
}

pub fn catalog(sources: &[SourceDef]) -> Catalog {
    let mut catalog = Catalog::default();
    for source in sources {
        catalog.put_source(source.clone());
    }
    catalog
}

/// The dataflow of a SELECT over `sources` (joins included).
pub async fn dataflow(sources: &[SourceDef], sql: &str) -> Dataflow {
    let select = select_statement(sql);
    let plan = planner(sources)
        .plan_query(&select.query)
        .await
        .expect("plans");
    lower_over(&plan, &catalog(sources)).expect("lowers")
}

/// The dataflow of a push query (`.. EMIT CHANGES`) over `sources`, as the engine plans it:
/// with its WINDOW and WITHIN clauses.
pub async fn push_dataflow(sources: &[SourceDef], sql: &str) -> Dataflow {
    let select = select_statement(sql);
    let planner = planner(sources);
    let plan = planner.plan_select(&select).await.expect("plans");
    planner.lower_push(&plan, &select).expect("lowers")
}

/// Makes `table`'s current rows in `state` what `lines` say, as its writer would: `+` rows
/// are upserted, `-` rows deleted.
pub fn write_table(state: &dyn StateStore, table: &SourceDef, lines: &[&str]) {
    let rows = changes(table, lines);
    let keys = crate::state::tables::primary_keys(table, rows.rows()).expect("keys");
    let values = crate::row_codec::encode_rows(rows.rows()).expect("encodes");
    let table_keys = crate::state::keys::TableKeys::of(table);
    let mut batch = StateBatch::default();
    for (row, (key, value)) in keys.iter().zip(values.iter()).enumerate() {
        let state_key = table_keys.row(key);
        match rows.weights().map_or(1, |weights| weights.value(row)) > 0 {
            true => batch.put(
                crate::state::keys::TableKeys::ROWS_KEYSPACE,
                state_key,
                value.to_vec(),
            ),
            false => batch.delete(crate::state::keys::TableKeys::ROWS_KEYSPACE, state_key),
        }
    }
    state.commit(batch).expect("commits");
}

/// The dataflow of a persistent query `CREATE TABLE out AS <sql>` over `sources`, as the
/// engine plans it: with its WINDOW and EMIT clauses, keyed as its table is.
pub async fn table_dataflow(sources: &[SourceDef], sql: &str) -> Dataflow {
    let select = select_statement(sql);
    planner(sources)
        .plan_persistent(&select, PersistentSink::Create(SourceKind::Table, "out"))
        .await
        .expect("plans")
        .dataflow
}

/// The one SELECT statement `sql` holds.
pub fn select_statement(sql: &str) -> eddy_parser::SelectStatement {
    let parsed = eddy_parser::parse_sql(sql)
        .expect("parses")
        .pop()
        .expect("one statement");
    let eddy_parser::Statement::Select(select) = parsed.statement else {
        panic!("{sql} is a SELECT");
    };
    select
}

/// Changes of `source` (its queryable rows) written as text lines.
pub fn changes(source: &SourceDef, lines: &[&str]) -> Changes {
    let mut weights = Vec::new();
    let mut rowtimes = Vec::new();
    let mut cells: Vec<Vec<Option<String>>> = vec![Vec::new(); source.columns.len()];
    for line in lines {
        let mut words: Vec<&str> = line.split_whitespace().collect();
        let weight = match words.remove(0) {
            "+" => 1,
            "-" => -1,
            sign => sign
                .parse::<i64>()
                .expect("a weight: + - or a signed number"),
        };
        let rowtime = match words.last() {
            Some(word) if word.starts_with('@') => {
                let rowtime = word[1..].parse::<i64>().expect("@rowtime");
                words.pop();
                rowtime
            }
            _ => 0,
        };
        assert_eq!(
            words.len(),
            source.columns.len(),
            "one value per column: {line}"
        );
        for (column, word) in cells.iter_mut().zip(words) {
            column.push((word != "NULL").then(|| word.to_string()));
        }
        weights.push(weight);
        rowtimes.push(rowtime);
    }
    let mut columns: Vec<ArrayRef> = source
        .columns
        .iter()
        .zip(&cells)
        .map(|(column, cells)| array_of(&column.data_type, cells))
        .collect();
    columns.push(Arc::new(Int64Array::from(rowtimes.clone())));
    let rows = RecordBatch::try_new(source.row_schema(), columns).expect("rows");
    let queryable =
        with_pseudo_columns(&rows, &source.queryable_schema(), 0, 0).expect("queryable rows");
    let weights = weights
        .iter()
        .any(|&weight| weight != 1)
        .then(|| Int64Array::from(weights));
    Changes::new(
        ChangeBatch::try_new(queryable, weights).expect("valid changes"),
        Int64Array::from(rowtimes),
        None,
    )
    .expect("changes")
}

fn array_of(data_type: &DataType, cells: &[Option<String>]) -> ArrayRef {
    let parsed = |cell: &Option<String>| cell.as_deref().map(str::to_string);
    match data_type {
        DataType::Int64 => {
            Arc::new(Int64Array::from_iter(cells.iter().map(|cell| {
                parsed(cell).map(|text| text.parse().expect("BIGINT"))
            })))
        }
        DataType::Float64 => {
            Arc::new(Float64Array::from_iter(cells.iter().map(|cell| {
                parsed(cell).map(|text| text.parse().expect("DOUBLE"))
            })))
        }
        DataType::Boolean => Arc::new(BooleanArray::from_iter(
            cells
                .iter()
                .map(|cell| parsed(cell).map(|text| text == "true")),
        )),
        DataType::Utf8 => Arc::new(StringArray::from_iter(cells.iter().map(parsed))),
        other => panic!("the harness has no type {other}"),
    }
}

/// Changes as text lines (`+ a 1`, `-2 b NULL`), consolidated and sorted; discarded rows
/// count as retracted.
pub fn text_of(changes: &[Changes]) -> Vec<String> {
    let mut totals: std::collections::BTreeMap<String, i64> = Default::default();
    for part in changes {
        let rows = part.rows();
        for row in 0..part.num_rows() {
            let values: Vec<String> = rows
                .columns()
                .iter()
                .map(|array| match array.is_null(row) {
                    true => "NULL".to_string(),
                    false => arrow::util::display::array_value_to_string(array, row)
                        .expect("displayable"),
                })
                .collect();
            // Discarded rows leave the result as a retraction would.
            let weight = match part.is_discarding() {
                true => -1,
                false => part.weights().map_or(1, |weights| weights.value(row)),
            };
            *totals.entry(values.join(" ")).or_default() += weight;
        }
    }
    totals
        .into_iter()
        .filter(|(_, weight)| *weight != 0)
        .map(|(row, weight)| match weight {
            1 => format!("+ {row}"),
            -1 => format!("- {row}"),
            weight => format!("{weight:+} {row}"),
        })
        .collect()
}

/// Runs epochs of changes (each a list of batches) through one operator whose state lives in
/// `state`, committing each epoch's state changes unless `uncommitted` holds the epoch's
/// number (from 0: a commit still in flight); returns each epoch's output as text.
pub fn run_operator(
    operator: &mut dyn Operator,
    state: &dyn StateStore,
    epochs: &[Vec<Changes>],
    uncommitted: &[usize],
) -> Vec<Vec<String>> {
    epochs
        .iter()
        .enumerate()
        .map(|(number, batches)| {
            let (output, state_changes) = run_epoch(&mut [&mut *operator], state, batches);
            if !uncommitted.contains(&number) {
                state.commit(state_changes).expect("commits");
            }
            text_of(&output)
        })
        .collect()
}

/// One epoch of `batches` through a chain of operators, each one's output into the next (a
/// pipeline without its sink), over the committed `state`: the last operator's output and
/// the epoch's state changes, not yet committed.
pub fn run_epoch(
    operators: &mut [&mut dyn Operator],
    state: &dyn StateStore,
    batches: &[Changes],
) -> (Vec<Changes>, StateBatch) {
    run_epoch_at(operators, state, batches, 0)
}

/// `run_epoch` with the clock reading `now_ms` for the epoch.
pub fn run_epoch_at(
    operators: &mut [&mut dyn Operator],
    state: &dyn StateStore,
    batches: &[Changes],
    now_ms: i64,
) -> (Vec<Changes>, StateBatch) {
    let (output, state_changes, _) = in_epoch(state, |cx| {
        cx.now_ms = now_ms;
        let mut flowing = batches.to_vec();
        for operator in operators.iter_mut() {
            let mut output = Vec::new();
            for changes in flowing {
                operator
                    .apply(0, changes, &mut output, cx)
                    .expect("applies");
            }
            operator.end_epoch(&mut output, cx).expect("ends");
            flowing = output;
        }
        flowing
    });
    (output, state_changes)
}

/// Runs `work` in one epoch over the committed `state`: what it returns, the epoch's state
/// changes (not committed) and the rows it set aside.
pub fn in_epoch<R>(
    state: &dyn StateStore,
    work: impl FnOnce(&mut EpochContext<'_>) -> R,
) -> (R, StateBatch, BadRows) {
    let mut state_changes = StateBatch::default();
    let mut bad_rows = BadRows::default();
    let mut cx = EpochContext {
        state,
        state_changes: &mut state_changes,
        bad_rows: &mut bad_rows,
        input_partition: 0,
        read_from: None,
        behind: &[],
        now_ms: 0,
    };
    let result = work(&mut cx);
    (result, state_changes, bad_rows)
}

/// What DataFusion answers for `sql` over `rows` of `source` (the batch answer an
/// incremental dataflow must match), as text lines like `text_of`'s.
pub async fn batch_answer(source: &SourceDef, rows: &Changes, sql: &str) -> Vec<String> {
    batch_answer_over(&[(source, rows)], sql).await
}

/// What DataFusion answers for `sql` over the rows of several sources.
pub async fn batch_answer_over(sources: &[(&SourceDef, &Changes)], sql: &str) -> Vec<String> {
    let mut catalog = Catalog::default();
    for (source, _) in sources {
        catalog.put_source((*source).clone());
    }
    let rows = sources
        .iter()
        .map(|(source, rows)| (source.name.clone(), rows.rows().clone()))
        .collect();
    let planner = SqlPlanner::new(Arc::new(RwLock::new(catalog)), Arc::new(Rows(rows)));
    let select = select_statement(sql);
    let plan = planner.plan_select(&select).await.expect("plans");
    let frame = SessionContext::new_with_state(planner.state().clone())
        .execute_logical_plan(plan)
        .await
        .expect("plans to run");
    let batches = frame.collect().await.expect("runs");
    let answer: Vec<Changes> = batches
        .into_iter()
        .map(|batch| {
            let rowtimes = Int64Array::from(vec![0; batch.num_rows()]);
            Changes::new(
                ChangeBatch::try_new(batch, None).expect("rows"),
                rowtimes,
                None,
            )
            .expect("changes")
        })
        .collect();
    text_of(&answer)
}

/// A provider of each source's rows, by name.
#[derive(Debug)]
struct Rows(std::collections::HashMap<String, RecordBatch>);

impl SourceProviders for Rows {
    fn provider(&self, source: &SourceDef) -> Result<Arc<dyn TableProvider>, DataFusionError> {
        let rows = self
            .0
            .get(&source.name)
            .ok_or_else(|| DataFusionError::Plan(format!("no rows for \"{}\"", source.name)))?;
        Ok(Arc::new(MemTable::try_new(
            rows.schema(),
            vec![vec![rows.clone()]],
        )?))
    }
}
