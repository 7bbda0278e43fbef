//! Every scalar function answers alike in persistent, push and pull queries. A pull query runs
//! DataFusion's whole pipeline, the others the planner's lowering, so a function DataFusion runs
//! only after a rewrite (COALESCE to CASE) would answer one way and fail the other. And no
//! argument stops a persistent query: the same calls over rows of extreme values (the ends of
//! every range, NaN, empty and long text, text no function parses) must each be processed,
//! into the sink or aside into the processing log, with the query still running.
//!
//! Each function of the planner's registry but the volatile ones (`Volatility::Volatile`: two
//! calls differ by design) is called with arguments chosen from its signature over rows with
//! NULLs, the three ways: the answers, as text, must be equal, or all three must fail. Never:
//! skip a function silently; one no call plans for is reported and must be listed here.

use std::collections::BTreeSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::compute::{cast, concat_batches, sort_to_indices, take};
use arrow::datatypes::{DataType, Int64Type};
use arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::catalog::TableProvider;
use datafusion::common::types::NativeType;
use datafusion::error::DataFusionError;
use datafusion::logical_expr::{
    ArrayFunctionArgument, ArrayFunctionSignature, ScalarUDF, TypeSignature, TypeSignatureClass,
    Volatility,
};
use eddy_executor::{Durability, Engine, EngineConfig, EngineError, QueryOutput, Session};
use eddy_planner::{Catalog, SourceDef, SourceProviders, SqlPlanner, storable_type};
use futures::StreamExt;

/// The rows every call runs over: typical values, a row of NULLs, and other values. `t` is a
/// timestamp as text and `code` bytes as hex (and base64) text, for the functions that parse.
const SOURCE: &str = "
    CREATE STREAM ev (id BIGINT, i BIGINT, d DOUBLE, amount DECIMAL(10, 2), s STRING, t STRING,
        code STRING, b BOOLEAN, dt DATE, tm TIME, ts TIMESTAMP, raw BYTES, ints ARRAY<BIGINT>,
        words ARRAY<STRING>, m MAP<STRING, BIGINT>, st STRUCT<a BIGINT, b STRING>)
        WITH (PARTITIONS = 1);
    INSERT INTO ev VALUES
        (1, 3, 2.5, 12.34, 'Hello, World!', '2024-02-29T13:45:30', 'cafe', true, '2024-02-29',
         '13:45:30', '2024-02-29T13:45:30.123', X'CAFE', make_array(1, 2, 3),
         make_array('b', 'a'), map(['x', 'y'], [1, 2]), named_struct('a', 7, 'b', 'seven')),
        (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL),
        (3, 12, -0.75, -0.5, 'ab%c_Δ', '1999-12-31T23:59:59', 'beef', false, '1970-01-01',
         '00:00:01', '1999-12-31T23:59:59', X'00', make_array(4, NULL, 4),
         make_array('c'), map(['z'], [3]), named_struct('a', NULL, 'b', 'x'));
";
const ROW_COUNT: usize = 3;

/// Rows of extreme values in `ev`'s columns: the smallest and largest numbers and NaN, empty,
/// long and unparsable text, the ends of the date and timestamp ranges, NULLs inside values.
const EXTREMES: &str = "
    CREATE STREAM ex (id BIGINT, i BIGINT, d DOUBLE, amount DECIMAL(10, 2), s STRING, t STRING,
        code STRING, b BOOLEAN, dt DATE, tm TIME, ts TIMESTAMP, raw BYTES, ints ARRAY<BIGINT>,
        words ARRAY<STRING>, m MAP<STRING, BIGINT>, st STRUCT<a BIGINT, b STRING>)
        WITH (PARTITIONS = 1);
    INSERT INTO ex VALUES
        (1, -9223372036854775808, -1e308, -99999999.99, '', '', '', false, '0001-01-01',
         '00:00:00', '1677-09-22T00:00:00', X'', make_array(-9223372036854775808),
         make_array(''), map([''], [-1]), named_struct('a', -9223372036854775808, 'b', '')),
        (2, 9223372036854775807, 1e308, 99999999.99, repeat('é', 5000), 'not a time', 'zz',
         true, '9999-12-31', '23:59:59.999999', '2262-04-11T23:47:16', X'FFFF',
         make_array(9223372036854775807, NULL), make_array('Δ', NULL),
         map(['k'], [9223372036854775807]), named_struct('a', 9223372036854775807, 'b', NULL)),
        (3, -1, CAST('NaN' AS DOUBLE), -0.01, '-1', '-1', '-1', NULL, '1969-12-31', '12:00:00',
         '1969-12-31T23:59:59.999', X'00', make_array(-1, 0), make_array('-1'),
         map(['-1'], [NULL]), named_struct('a', -1, 'b', '-1'));
";
const EXTREME_ROW_COUNT: usize = 3;

/// Functions for which no call over these rows plans, and why.
const NOT_EXERCISED: &[(&str, &str)] = &[(
    "union_extract",
    "it needs a UNION value, which no column type of Eddy holds",
)];

/// Functions whose answers differ for a reason outside the planner, and why (an executor
/// change each). A listed function that agrees fails the test, so the list stays true.
const KNOWN_DISAGREEMENTS: &[(&str, &str)] = &[];

/// Calls tried per call shape (number and kinds of arguments) of a function before the next
/// shape; calls that plan but fail in the pull query count, so a call that runs is preferred.
const CALLS_PER_SHAPE_MAX: usize = 200;
/// Calls per query when the functions that run are compared in batches.
const BATCH_CALLS: usize = 40;
/// How long a persistent query may take to process three rows before the test gives up.
const PERSISTENT_WAIT_MAX: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scalar_function_answers_alike_in_persistent_push_and_pull_queries() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let mut config = EngineConfig::new(data.path());
    config.durability = Durability::Os;
    let engine = Engine::open(config).await.expect("the engine opens");
    let mut session = engine.session();
    for sql in [SOURCE, EXTREMES, "SET 'auto.offset.reset' = 'earliest';"] {
        run(&mut session, sql).await.expect("the source is set up");
    }

    let (functions, volatile) = registry_functions();
    assert!(
        functions.len() > 150,
        "the registry has only {} scalar functions",
        functions.len()
    );
    let mut runner = Runner {
        session,
        queries_created: 0,
    };
    let mut not_exercised = Vec::new();
    let mut running = Vec::new();
    let mut failing = Vec::new();
    for function in &functions {
        match find_call(&mut runner.session, function).await {
            Found::Runs(call) => running.push(call),
            Found::Fails(call, error) => failing.push((call, error)),
            Found::NotPlanned(error) => not_exercised.push((function.name().to_string(), error)),
        }
    }

    let mut disagreements = Vec::new();
    for batch in running.chunks(BATCH_CALLS) {
        let answers = runner.answers(batch).await;
        if !agrees(&answers, batch, false) {
            for call in batch {
                disagreements.extend(runner.compare_one(call).await);
            }
        }
    }
    for (call, _) in &failing {
        disagreements.extend(runner.compare_one(call).await);
    }
    let every_call: Vec<&Call> = running
        .iter()
        .chain(failing.iter().map(|(call, _)| call))
        .collect();
    // One query per call: in a batch, a call that fails on a row would set the row aside
    // before a later call that panics on it ever ran.
    let mut stalled = Vec::new();
    for call in every_call {
        stalled.extend(runner.over_extremes(call).await);
    }
    engine.shutdown().await;

    println!(
        "{} scalar functions: {} compared in batches, {} failing in pull queries compared alone, \
         {} not exercised; left out as volatile: {}",
        functions.len(),
        running.len(),
        failing.len(),
        not_exercised.len(),
        volatile.join(", ")
    );
    for (call, error) in &failing {
        println!("fails in a pull query too: {}: {error}", call.sql);
    }
    check_listed("not exercised", NOT_EXERCISED, &not_exercised);
    check_listed("disagrees", KNOWN_DISAGREEMENTS, &disagreements);
    assert!(
        stalled.is_empty(),
        "persistent queries that did not process the extreme rows:\n{}",
        stalled.join("\n")
    );
}

/// Prints each (function, what) found, and fails unless the functions found are exactly
/// those `listed`.
fn check_listed(what: &str, listed: &[(&str, &str)], found: &[(String, String)]) {
    for (function, detail) in found {
        println!("{what}: {function}: {detail}");
    }
    let found: BTreeSet<&str> = found.iter().map(|(name, _)| name.as_str()).collect();
    let listed: BTreeSet<&str> = listed.iter().map(|(name, _)| *name).collect();
    let unexpected: Vec<&&str> = found.difference(&listed).collect();
    let stale: Vec<&&str> = listed.difference(&found).collect();
    assert!(
        unexpected.is_empty() && stale.is_empty(),
        "{what}: not listed {unexpected:?}; listed but not found {stale:?}"
    );
}

/// The scalar functions of the planner's own registry, one per function (not per alias),
/// but the volatile ones, whose names come second.
fn registry_functions() -> (Vec<Arc<ScalarUDF>>, Vec<String>) {
    let planner = SqlPlanner::new(
        Arc::new(RwLock::new(Catalog::default())),
        Arc::new(NoSources),
    );
    let mut functions: Vec<Arc<ScalarUDF>> = planner
        .state()
        .scalar_functions()
        .values()
        .cloned()
        .collect();
    functions.sort_by(|left, right| left.name().cmp(right.name()));
    functions.dedup_by(|left, right| left.name() == right.name());
    let (volatile, functions): (Vec<_>, Vec<_>) = functions
        .into_iter()
        .partition(|function| function.signature().volatility == Volatility::Volatile);
    let volatile = volatile
        .iter()
        .map(|function| function.name().to_string())
        .collect();
    (functions, volatile)
}

/// The registry is all the test needs of a planner: it never resolves a source.
#[derive(Debug)]
struct NoSources;

impl SourceProviders for NoSources {
    fn provider(&self, source: &SourceDef) -> Result<Arc<dyn TableProvider>, DataFusionError> {
        Err(DataFusionError::Plan(format!(
            "no source \"{}\" in a registry-only planner",
            source.name
        )))
    }
}

/// One function's call, as a SELECT item.
#[derive(Debug, Clone)]
struct Call {
    function: String,
    sql: String,
    /// `Volatility::Stable`: one value per query.
    stable: bool,
}

enum Found {
    /// A call that plans and answers in a pull query.
    Runs(Call),
    /// A call that plans, but every one tried fails in a pull query; the first one's error.
    Fails(Call, String),
    /// No call planned; the last planning error.
    NotPlanned(String),
}

/// The first call of `function` that plans and runs as a pull query, else the first that
/// plans. A result no stream column can hold (an interval) is cast to STRING, so that the
/// persistent query compares the function, not the sink's types.
async fn find_call(session: &mut Session, function: &ScalarUDF) -> Found {
    let mut first_planned: Option<(Call, String)> = None;
    let mut last_error = String::from("no call to try");
    for arguments in candidate_arguments(&function.signature().type_signature) {
        let call = format!("\"{}\"({})", function.name(), arguments.join(", "));
        let prepared = match session
            .prepare(&format!("SELECT {call} AS c0 FROM ev"))
            .await
        {
            Ok(prepared) => prepared,
            Err(error) => {
                last_error = error.to_string();
                continue;
            }
        };
        let storable = prepared
            .result_schema()
            .is_some_and(|schema| storable_type(schema.field(0).data_type()).is_some());
        let call = Call {
            function: function.name().to_string(),
            sql: match storable {
                true => call,
                false => format!("CAST({call} AS STRING)"),
            },
            stable: function.signature().volatility == Volatility::Stable,
        };
        match pull(session, std::slice::from_ref(&call)).await {
            Answer::Columns(_) => return Found::Runs(call),
            Answer::Failed(error) => {
                first_planned.get_or_insert((call, error));
            }
        }
    }
    match first_planned {
        Some((call, error)) => Found::Fails(call, error),
        None => Found::NotPlanned(last_error),
    }
}

/// What a query answered: its columns after `id`, rows in `id` order, or why it failed.
#[derive(Debug)]
enum Answer {
    Columns(Vec<ArrayRef>),
    Failed(String),
}

/// Answers of the same calls as (persistent, push, pull) queries.
struct Answers {
    persistent: Answer,
    push: Answer,
    pull: Answer,
}

struct Runner {
    session: Session,
    queries_created: usize,
}

impl Runner {
    async fn answers(&mut self, calls: &[Call]) -> Answers {
        self.queries_created += 1;
        let sink = format!("agree_{}", self.queries_created);
        Answers {
            persistent: persistent(&mut self.session, calls, &sink).await,
            push: push(&mut self.session, calls).await,
            pull: pull(&mut self.session, calls).await,
        }
    }

    /// The call as a persistent query over the extreme rows: None once it has processed
    /// every row (into its stream, or aside with the reason) and still runs, else what it
    /// did instead. A query that does not plan is no stall: it never started.
    async fn over_extremes(&mut self, call: &Call) -> Option<String> {
        self.queries_created += 1;
        let sink = format!("extreme_{}", self.queries_created);
        let sql = format!(
            "CREATE STREAM {sink} AS SELECT id, {} AS c0 FROM ex;",
            call.sql
        );
        run(&mut self.session, &sql).await.ok()?;
        let query_id = query_of(&mut self.session, &sink).await;
        let deadline = Instant::now() + PERSISTENT_WAIT_MAX;
        loop {
            let stored = rows(&mut self.session, &format!("SELECT id FROM {sink}"))
                .await
                .expect("a persistent query's stream is readable")
                .num_rows();
            let set_aside = rows(
                &mut self.session,
                &format!("SELECT message FROM eddy_processing_log WHERE query_id = '{query_id}'"),
            )
            .await
            .expect("the processing log is readable")
            .num_rows();
            let status = query_status(&mut self.session, &query_id).await;
            if status != "RUNNING" {
                return Some(format!("{query_id} is {status}: {sql}"));
            }
            if stored + set_aside >= EXTREME_ROW_COUNT {
                return None;
            }
            if Instant::now() > deadline {
                return Some(format!(
                    "{query_id} processed {} of {EXTREME_ROW_COUNT} rows: {sql}",
                    stored + set_aside
                ));
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// One call alone: None if it agrees or is expected to fail, else the disagreement.
    async fn compare_one(&mut self, call: &Call) -> Option<(String, String)> {
        let calls = std::slice::from_ref(call);
        let answers = self.answers(calls).await;
        if agrees(&answers, calls, true) {
            return None;
        }
        Some((
            call.function.clone(),
            format!(
                "{}: persistent {}; push {}; pull {}",
                call.sql,
                describe(&answers.persistent, 0),
                describe(&answers.push, 0),
                describe(&answers.pull, 0)
            ),
        ))
    }
}

/// Whether the calls agree: all three queries answered and each column matches (the pull
/// query's cast to the persistent query's column type, as its sink casts), or, when
/// `failing_agrees`, all three failed. A stable function (`now()`) is the same within one
/// query, not across queries, so its columns need only be there.
fn agrees(answers: &Answers, calls: &[Call], failing_agrees: bool) -> bool {
    match (&answers.persistent, &answers.push, &answers.pull) {
        (Answer::Failed(_), Answer::Failed(_), Answer::Failed(_)) => failing_agrees,
        (Answer::Columns(persistent), Answer::Columns(push), Answer::Columns(pull)) => {
            calls.iter().enumerate().all(|(index, call)| {
                let stored = cast(&pull[index], persistent[index].data_type())
                    .map(|stored| texts(&stored))
                    .unwrap_or_default();
                call.stable
                    || texts(&push[index]) == texts(&pull[index])
                        && texts(&persistent[index]) == stored
            })
        }
        _ => false,
    }
}

fn describe(answer: &Answer, index: usize) -> String {
    match answer {
        Answer::Columns(columns) => format!(
            "{:?} of type {}",
            texts(&columns[index]),
            columns[index].data_type()
        ),
        Answer::Failed(error) => format!("failed: {error}"),
    }
}

fn texts(column: &ArrayRef) -> Vec<String> {
    let options = FormatOptions::default().with_null("NULL");
    match ArrayFormatter::try_new(column.as_ref(), &options) {
        Ok(formatter) => (0..column.len())
            .map(|row| formatter.value(row).to_string())
            .collect(),
        Err(error) => vec![format!("cannot be shown: {error}")],
    }
}

fn select_list(calls: &[Call]) -> String {
    let items: Vec<String> = calls
        .iter()
        .enumerate()
        .map(|(index, call)| format!("{} AS c{index}", call.sql))
        .collect();
    items.join(", ")
}

async fn pull(session: &mut Session, calls: &[Call]) -> Answer {
    let sql = format!("SELECT id, {} FROM ev", select_list(calls));
    match rows(session, &sql).await {
        Ok(batch) => columns_by_id(&batch),
        Err(error) => Answer::Failed(error.to_string()),
    }
}

async fn push(session: &mut Session, calls: &[Call]) -> Answer {
    let sql = format!(
        "SELECT id, {} FROM ev EMIT CHANGES LIMIT {ROW_COUNT}",
        select_list(calls)
    );
    match rows(session, &sql).await {
        Ok(batch) => columns_by_id(&batch),
        Err(error) => Answer::Failed(error.to_string()),
    }
}

/// The calls as a persistent query into a new stream, read back once every row is either in
/// the stream or set aside in `eddy_processing_log` (which counts as failing).
async fn persistent(session: &mut Session, calls: &[Call], sink: &str) -> Answer {
    let sql = format!(
        "CREATE STREAM {sink} AS SELECT id, {} FROM ev;",
        select_list(calls)
    );
    if let Err(error) = run(session, &sql).await {
        return Answer::Failed(error.to_string());
    }
    let query_id = query_of(session, sink).await;
    let deadline = Instant::now() + PERSISTENT_WAIT_MAX;
    loop {
        let stored = rows(session, &format!("SELECT * FROM {sink}"))
            .await
            .expect("a persistent query's stream is readable");
        let set_aside = rows(
            session,
            &format!("SELECT message FROM eddy_processing_log WHERE query_id = '{query_id}'"),
        )
        .await
        .expect("the processing log is readable");
        if stored.num_rows() + set_aside.num_rows() >= ROW_COUNT {
            if set_aside.num_rows() > 0 {
                let messages: BTreeSet<String> = texts(set_aside.column(0)).into_iter().collect();
                let messages: Vec<String> = messages.into_iter().collect();
                return Answer::Failed(format!(
                    "{} rows set aside: {}",
                    set_aside.num_rows(),
                    messages.join("; ")
                ));
            }
            return columns_by_id(&stored);
        }
        assert!(
            Instant::now() < deadline,
            "{sink} did not process its {ROW_COUNT} rows: {sql}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Each query SHOW QUERIES lists, as (query_id, status, sink).
async fn show_queries(session: &mut Session) -> Vec<(String, String, String)> {
    let queries = rows(session, "SHOW QUERIES")
        .await
        .expect("SHOW QUERIES answers");
    let schema = queries.schema();
    let column = |name: &str| {
        let index = schema.index_of(name).expect("SHOW QUERIES has the column");
        texts(queries.column(index))
    };
    let (ids, statuses, sinks) = (column("query_id"), column("status"), column("sink"));
    ids.into_iter()
        .zip(statuses)
        .zip(sinks)
        .map(|((id, status), sink)| (id, status, sink))
        .collect()
}

/// The id of the persistent query writing `sink`.
async fn query_of(session: &mut Session, sink: &str) -> String {
    let queries = show_queries(session).await;
    queries
        .iter()
        .find(|(_, _, written)| written == sink)
        .map(|(id, _, _)| id.clone())
        .unwrap_or_else(|| panic!("no query writes {sink}: {queries:?}"))
}

/// The status SHOW QUERIES gives query `query_id`.
async fn query_status(session: &mut Session, query_id: &str) -> String {
    let queries = show_queries(session).await;
    queries
        .iter()
        .find(|(id, _, _)| id == query_id)
        .map(|(_, status, _)| status.clone())
        .unwrap_or_else(|| panic!("no query {query_id}: {queries:?}"))
}

/// The columns after `id`, rows in `id` order.
fn columns_by_id(batch: &RecordBatch) -> Answer {
    let order = sort_to_indices(batch.column(0), None, None).expect("ids sort");
    let ids = take(batch.column(0), &order, None).expect("ids reorder");
    let expected: Vec<i64> = (1..=ROW_COUNT as i64).collect();
    let found: Vec<i64> = ids.as_primitive::<Int64Type>().iter().flatten().collect();
    if found != expected {
        return Answer::Failed(format!("rows {found:?} instead of {expected:?}"));
    }
    Answer::Columns(
        batch.columns()[1..]
            .iter()
            .map(|column| take(column, &order, None).expect("a column reorders"))
            .collect(),
    )
}

async fn run(session: &mut Session, sql: &str) -> Result<Vec<QueryOutput>, EngineError> {
    let mut outputs = Vec::new();
    for statement in session.parse(sql)? {
        outputs.push(session.execute(&statement).await?);
    }
    Ok(outputs)
}

/// All rows of the last statement of `sql`, as one batch.
async fn rows(session: &mut Session, sql: &str) -> Result<RecordBatch, EngineError> {
    let Some(QueryOutput::Rows(mut stream)) = run(session, sql).await?.pop() else {
        panic!("{sql}: no rows")
    };
    let schema = stream.schema().clone();
    let mut batches = Vec::new();
    while let Some(batch) = stream.next().await {
        batches.push(batch?);
    }
    Ok(concat_batches(&schema, &batches)?)
}

/// Argument lists to try for a signature, best first: per position, arguments of the kind the
/// signature asks for, columns before constants (a call over constants only would be folded
/// while planning, never compiled).
fn candidate_arguments(signature: &TypeSignature) -> Vec<Vec<&'static str>> {
    let mut candidates: Vec<Vec<&'static str>> = Vec::new();
    for shape in shapes(signature) {
        let pools: Vec<&[&str]> = shape.iter().map(|kind| arguments_of(*kind)).collect();
        let rank_max: usize = pools.iter().map(|pool| pool.len() - 1).sum();
        let mut of_shape = Vec::new();
        for rank in 0..=rank_max {
            with_rank(&pools, rank, &mut Vec::new(), &mut of_shape);
            if of_shape.len() >= CALLS_PER_SHAPE_MAX {
                break;
            }
        }
        of_shape.truncate(CALLS_PER_SHAPE_MAX);
        candidates.extend(of_shape);
    }
    let mut seen = BTreeSet::new();
    candidates.retain(|arguments| seen.insert(arguments.clone()));
    candidates
}

/// Appends every choice of one argument per pool whose positions in their pools add up to
/// `rank`, so that calls made of each pool's first arguments come first.
fn with_rank(
    pools: &[&[&'static str]],
    rank: usize,
    chosen: &mut Vec<&'static str>,
    out: &mut Vec<Vec<&'static str>>,
) {
    let Some((pool, rest)) = pools.split_first() else {
        if rank == 0 {
            out.push(chosen.clone());
        }
        return;
    };
    for (position, argument) in pool.iter().enumerate().take(rank + 1) {
        chosen.push(argument);
        with_rank(rest, rank - position, chosen, out);
        chosen.pop();
    }
}

/// What an argument position asks for.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Integer,
    Float,
    Decimal,
    Numeric,
    Text,
    Boolean,
    Date,
    Time,
    Timestamp,
    Interval,
    Binary,
    List,
    Map,
    Struct,
    Any,
}

/// Arguments of each kind, best first. Texts include constants some functions need (a date
/// part, a format, a pattern, an encoding, a digest, a type name).
fn arguments_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Integer => &["i", "2", "d"],
        Kind::Float => &["d", "i", "0.5"],
        Kind::Decimal => &["amount", "d"],
        Kind::Numeric => &["i", "d", "amount"],
        Kind::Text => &[
            "s",
            "t",
            "code",
            "'year'",
            "'%Y-%m-%d'",
            "'l+'",
            "'hex'",
            "'sha256'",
            "'a'",
            "','",
            "'Int64'",
        ],
        Kind::Boolean => &["b"],
        Kind::Date => &["dt", "ts", "t"],
        Kind::Time => &["tm"],
        Kind::Timestamp => &["ts", "dt", "t"],
        Kind::Interval => &["INTERVAL '1 day'"],
        Kind::Binary => &["raw", "code", "s"],
        Kind::List => &["ints", "words"],
        Kind::Map => &["m"],
        Kind::Struct => &["st"],
        Kind::Any => &[
            "i",
            "s",
            "d",
            "ts",
            "'a'",
            "ints",
            "b",
            "dt",
            "amount",
            "2",
            "tm",
            "raw",
            "words",
            "m",
            "st",
            "t",
            "'year'",
            "'hex'",
            "'%Y-%m-%d'",
            "'Int64'",
            "INTERVAL '1 day'",
            "0.5",
        ],
    }
}

/// The argument kinds of each call shape a signature allows; a variable number of arguments
/// is tried as two, one, three, then none.
fn shapes(signature: &TypeSignature) -> Vec<Vec<Kind>> {
    let any_arity = || [2, 1, 3, 0].map(|arity| vec![Kind::Any; arity]).to_vec();
    match signature {
        TypeSignature::Nullary => vec![Vec::new()],
        TypeSignature::Exact(types) => vec![types.iter().map(kind_of_type).collect()],
        TypeSignature::Uniform(arity, types) => types
            .iter()
            .map(|data_type| vec![kind_of_type(data_type); *arity])
            .collect(),
        TypeSignature::Variadic(types) => types
            .iter()
            .flat_map(|data_type| (1..=3).map(|arity| vec![kind_of_type(data_type); arity]))
            .collect(),
        TypeSignature::Coercible(coercions) => vec![
            coercions
                .iter()
                .map(|coercion| kind_of_class(coercion.desired_type()))
                .collect(),
        ],
        TypeSignature::Comparable(arity) | TypeSignature::Any(arity) => {
            vec![vec![Kind::Any; *arity]]
        }
        TypeSignature::Numeric(arity) => vec![vec![Kind::Numeric; *arity]],
        TypeSignature::String(arity) => vec![vec![Kind::Text; *arity]],
        TypeSignature::OneOf(variants) => variants.iter().flat_map(shapes).collect(),
        TypeSignature::ArraySignature(ArrayFunctionSignature::Array { arguments, .. }) => {
            vec![
                arguments
                    .iter()
                    .map(|argument| match argument {
                        ArrayFunctionArgument::Element => Kind::Any,
                        ArrayFunctionArgument::Index => Kind::Integer,
                        ArrayFunctionArgument::Array => Kind::List,
                        ArrayFunctionArgument::String => Kind::Text,
                    })
                    .collect(),
            ]
        }
        TypeSignature::ArraySignature(ArrayFunctionSignature::RecursiveArray) => {
            vec![vec![Kind::List]]
        }
        TypeSignature::ArraySignature(ArrayFunctionSignature::MapArray) => vec![vec![Kind::Map]],
        TypeSignature::VariadicAny | TypeSignature::UserDefined => any_arity(),
    }
}

fn kind_of_type(data_type: &DataType) -> Kind {
    kind_of_native(&NativeType::from(data_type))
}

fn kind_of_class(class: &TypeSignatureClass) -> Kind {
    match class {
        TypeSignatureClass::Timestamp => Kind::Timestamp,
        TypeSignatureClass::Time => Kind::Time,
        TypeSignatureClass::Interval => Kind::Interval,
        TypeSignatureClass::Native(logical) => kind_of_native(logical.native()),
        TypeSignatureClass::Integer => Kind::Integer,
        TypeSignatureClass::Float => Kind::Float,
        TypeSignatureClass::Decimal => Kind::Decimal,
        TypeSignatureClass::Numeric => Kind::Numeric,
        TypeSignatureClass::Binary => Kind::Binary,
        TypeSignatureClass::Any | TypeSignatureClass::Duration => Kind::Any,
    }
}

fn kind_of_native(native: &NativeType) -> Kind {
    match native {
        NativeType::Int8
        | NativeType::Int16
        | NativeType::Int32
        | NativeType::Int64
        | NativeType::UInt8
        | NativeType::UInt16
        | NativeType::UInt32
        | NativeType::UInt64 => Kind::Integer,
        NativeType::Float16 | NativeType::Float32 | NativeType::Float64 => Kind::Float,
        NativeType::Decimal(_, _) => Kind::Decimal,
        NativeType::String => Kind::Text,
        NativeType::Boolean => Kind::Boolean,
        NativeType::Date => Kind::Date,
        NativeType::Time(_) => Kind::Time,
        NativeType::Timestamp(_, _) => Kind::Timestamp,
        NativeType::Interval(_) => Kind::Interval,
        NativeType::Binary | NativeType::FixedSizeBinary(_) => Kind::Binary,
        NativeType::List(_) | NativeType::FixedSizeList(_, _) => Kind::List,
        NativeType::Map(_) => Kind::Map,
        NativeType::Struct(_) => Kind::Struct,
        _ => Kind::Any,
    }
}
