//! Randomized: a join of tables run incrementally holds exactly what DataFusion answers for
//! the same SELECT over the tables' final rows, for every kind of join (primary key, foreign
//! key, many to many, with more terms in ON, on an expression, N-way chains of them); a join of two
//! streams within a window emits exactly DataFusion's interval join of all their rows
//! (inner, and outer with GRACE PERIOD once every window has closed); a subquery's GROUP
//! BY joined as a table, or read by another GROUP BY, holds DataFusion's answer too. All
//! however the inputs' changes interleave and are cut into epochs, whichever commits are still in flight
//! while the next epoch runs, and wherever a crash loses the commits in flight and the
//! pipeline restarts over the committed state with the lost epochs' input read again. The
//! joins run in the pipeline a query runs (`Pipeline::build`), into a sink that keeps what
//! reaches it.
//!
//! Each seed drives a different history; a failure names its seed and both answers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use arrow::array::RecordBatch;
use eddy_planner::{Dataflow, SourceDef};
use eddy_storage::{Keyspace, MemoryStateStore, StateBatch, StateStore};

use crate::changes::Changes;
use crate::dataflow::EpochContext;
use crate::dataflow::harness::{
    batch_answer_over, changes, dataflow, in_epoch, push_dataflow, source, text_of,
};
use crate::dataflow::interval_join::{KeptRow, STREAM_TIME_KEY, encode_entry};
use crate::error::EngineResult;
use crate::row_codec::{encode_keys, encode_rows};
use crate::runtime::pipeline::{BadInputRows, BuildContext, Pipeline};
use crate::sinks::Sink;
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::CacheBudget;

const QUERIES: &[&str] = &[
    "SELECT l.id, l.v, r.id, r.v FROM l JOIN r ON l.id = r.id",
    "SELECT l.id, l.v, r.id, r.v FROM l LEFT JOIN r ON l.id = r.id",
    "SELECT l.id, l.v, r.id, r.v FROM l RIGHT JOIN r ON l.id = r.id",
    "SELECT l.id, l.v, r.id, r.v FROM l FULL OUTER JOIN r ON l.id = r.id",
    "SELECT l.id, l.k, r.id, r.v FROM l JOIN r ON l.k = r.id",
    "SELECT l.id, l.k, r.id, r.v FROM l LEFT JOIN r ON l.k = r.id",
    "SELECT l.id, l.v, r.id, r.v FROM l LEFT JOIN r ON l.k = r.id AND l.v < r.v",
    "SELECT l.id, l.v, r.id, r.v FROM l FULL JOIN r ON l.id = r.id AND l.v <> r.v",
    "SELECT l.id, r.id, l.v + r.v AS total FROM l JOIN r ON l.k + 1 = r.id WHERE r.v > 2",
    "SELECT l.id, r.id, l.v, r.v FROM l JOIN r ON l.k = r.k",
    "SELECT l.id, r.id, l.v, r.v FROM l JOIN r ON l.k = r.k AND l.v < r.v",
];

/// A random row `(id, k, v)` of either table, NULLs in `k` and `v` included.
fn random_row(random: &mut fastrand::Rng, id: u64) -> String {
    let k = match random.u8(..8) {
        0 => "NULL".to_string(),
        _ => random.u8(..6).to_string(),
    };
    let v = match random.u8(..8) {
        0 => "NULL".to_string(),
        _ => random.u8(..8).to_string(),
    };
    format!("{id} {k} {v}")
}

/// A random history of one table as batches of change lines (inserts, updates as − old then
/// + new, deletes), and its rows at the end.
fn random_history(random: &mut fastrand::Rng) -> (Vec<Vec<String>>, Vec<String>) {
    let mut present: BTreeMap<u64, String> = BTreeMap::new();
    let batches = (0..random.usize(5..25))
        .map(|_| {
            let mut lines = Vec::new();
            for _ in 0..random.usize(1..6) {
                let id = random.u64(..8);
                match present.remove(&id) {
                    Some(old) if random.u8(..3) == 0 => lines.push(format!("- {old}")),
                    Some(old) => {
                        let new = random_row(random, id);
                        lines.push(format!("- {old}"));
                        lines.push(format!("+ {new}"));
                        present.insert(id, new);
                    }
                    None => {
                        let new = random_row(random, id);
                        lines.push(format!("+ {new}"));
                        present.insert(id, new);
                    }
                }
            }
            lines
        })
        .collect();
    let rows = present
        .into_values()
        .map(|row| format!("+ {row}"))
        .collect();
    (batches, rows)
}

/// An epoch computed but not yet committed: its input (read again if a crash loses it), its
/// output (appended only once it is committed) and its state changes.
struct InFlight {
    input: Vec<(usize, Changes)>,
    output: Vec<Changes>,
    state_changes: StateBatch,
}

/// A sink that keeps the changes that reach it, for the epoch to take.
struct Kept(Arc<Mutex<Vec<Changes>>>);

impl Sink for Kept {
    fn apply(&mut self, changes: Changes, _cx: &mut EpochContext<'_>) -> EngineResult<()> {
        self.0.lock().expect("a test's own lock").push(changes);
        Ok(())
    }

    fn finish_epoch(
        &mut self,
        _cx: &mut EpochContext<'_>,
    ) -> EngineResult<Vec<(u32, RecordBatch)>> {
        Ok(Vec::new())
    }
}

/// The pipeline of `dataflow`, as a query builds it, and what reaches its sink.
pub(super) fn build_pipeline(
    dataflow: &Dataflow,
    budget: usize,
) -> (Pipeline, Arc<Mutex<Vec<Changes>>>) {
    let kept = Arc::new(Mutex::new(Vec::new()));
    let build = BuildContext {
        query_id: "randomized".into(),
        input_is_append_only: false,
        source_schema: dataflow.output_schema().clone(),
        cache_budget: Arc::new(CacheBudget::new(budget)),
        bad_input_rows: BadInputRows::Fail,
        tables: None,
        pairs_keyed_changes: false,
    };
    let sink = Kept(kept.clone());
    let pipeline =
        Pipeline::build(dataflow.clone(), build, |_| Ok(Box::new(sink))).expect("builds");
    (pipeline, kept)
}

async fn check_seed(seed: u64, sources: &[SourceDef], select: &str) {
    let dataflow = dataflow(sources, select).await;
    let mut random = fastrand::Rng::with_seed(seed);
    let (histories, final_rows): (Vec<_>, Vec<_>) =
        sources.iter().map(|_| random_history(&mut random)).unzip();
    // The inputs' batches interleaved at random, each input's in its own order.
    let mut unread: VecDeque<(usize, Changes)> = VecDeque::new();
    let mut histories: Vec<_> = histories.iter().map(|history| history.iter()).collect();
    loop {
        let pending: Vec<usize> = (0..histories.len())
            .filter(|&input| histories[input].len() > 0)
            .collect();
        let Some(&input) = random.choice(&pending) else {
            break;
        };
        let Some(lines) = histories[input].next() else {
            break;
        };
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        unread.push_back((input, changes(&sources[input], &lines)));
    }
    let (appended, crashes) = run_history(&mut random, &dataflow, unread);
    let final_changes: Vec<Changes> = sources
        .iter()
        .zip(&final_rows)
        .map(|(source, rows)| {
            let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
            changes(source, &rows)
        })
        .collect();
    let inputs: Vec<(&SourceDef, &Changes)> = sources.iter().zip(&final_changes).collect();
    let batch = batch_answer_over(&inputs, select).await;
    assert_eq!(
        text_of(&appended),
        batch,
        "seed {seed}, {crashes} crashes, {select}: incremental (left) and batch (right) differ"
    );
}

/// Runs the batches of `unread` (each with its input) through the pipeline of `dataflow` in
/// random epochs, with commits in flight and crashes: what was appended, and how many
/// crashes.
pub(super) fn run_history(
    random: &mut fastrand::Rng,
    dataflow: &Dataflow,
    mut unread: VecDeque<(usize, Changes)>,
) -> (Vec<Changes>, usize) {
    // A cache of one byte is trimmed after every epoch: rows are read back from the store.
    let budget = *random.choice(&[1, 1 << 20]).expect("a budget");
    let state = MemoryStateStore::default();
    let (mut pipeline, mut kept) = build_pipeline(dataflow, budget);
    let mut appended = Vec::new();
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut crashes = 0;
    while !unread.is_empty() {
        let input: Vec<(usize, Changes)> = (0..random.usize(0..5))
            .map_while(|_| unread.pop_front())
            .collect();
        let (output, state_changes, _) = in_epoch(&state, |cx| {
            for (input, changes) in &input {
                pipeline.apply(*input, changes.clone(), cx).expect("joins");
            }
            pipeline.finish_epoch(cx).expect("ends the epoch");
            std::mem::take(&mut *kept.lock().expect("a test's own lock"))
        });
        in_flight.push_back(InFlight {
            input,
            output,
            state_changes,
        });
        let keep_in_flight = usize::from(random.bool());
        while in_flight.len() > keep_in_flight {
            commit(&state, in_flight.pop_front(), &mut appended);
        }
        if random.u8(..6) == 0 {
            crashes += 1;
            let landing = random.usize(..=in_flight.len());
            for _ in 0..landing {
                commit(&state, in_flight.pop_front(), &mut appended);
            }
            for lost in in_flight.drain(..).rev() {
                for changes in lost.input.into_iter().rev() {
                    unread.push_front(changes);
                }
            }
            (pipeline, kept) = build_pipeline(dataflow, budget);
        }
    }
    while let Some(epoch) = in_flight.pop_front() {
        commit(&state, Some(epoch), &mut appended);
    }
    (appended, crashes)
}

/// Commits an epoch's state changes, then appends its output (the order the epoch writer
/// keeps).
fn commit(state: &dyn StateStore, epoch: Option<InFlight>, appended: &mut Vec<Changes>) {
    let epoch = epoch.expect("an epoch in flight");
    state.commit(epoch.state_changes).expect("commits");
    appended.extend(epoch.output);
}

#[tokio::test]
async fn a_join_of_two_tables_equals_the_batch_join_across_epochs_and_crashes() {
    let sources = [
        source("table l (id BIGINT KEY, k BIGINT, v BIGINT)"),
        source("table r (id BIGINT KEY, k BIGINT, v BIGINT)"),
    ];
    for select in QUERIES {
        for seed in 1..=30 {
            check_seed(seed, &sources, select).await;
        }
    }
}

/// A subquery's GROUP BY joined with a table, as a table keyed by its group (on its key and
/// as a foreign key, on either side), and read by another GROUP BY, with the tables each
/// reads in input order. ksqlDB drops rows whose group key is NULL and DataFusion keeps them
/// as a group, so the subqueries filter them out.
const SUBQUERY_AGGREGATE_QUERIES: &[(&str, &[&str])] = &[
    (
        "SELECT l.id, l.v, c.k, c.n, c.total FROM l LEFT JOIN \
         (SELECT k, COUNT(*) AS n, SUM(v) AS total FROM r WHERE k IS NOT NULL GROUP BY k) c \
         ON l.k = c.k",
        &["l", "r"],
    ),
    (
        "SELECT l.id, c.k, c.highest FROM l JOIN \
         (SELECT k, MAX(v) AS highest FROM r WHERE k IS NOT NULL GROUP BY k) c ON l.id = c.k",
        &["l", "r"],
    ),
    (
        "SELECT c.k, c.n, l.id, l.v FROM \
         (SELECT k, COUNT(*) AS n FROM r WHERE k IS NOT NULL GROUP BY k) c \
         LEFT JOIN l ON c.k = l.id",
        &["r", "l"],
    ),
    (
        "SELECT highest, COUNT(*) AS n, SUM(k) AS keys FROM \
         (SELECT k, MAX(v) AS highest FROM r WHERE k IS NOT NULL AND v IS NOT NULL GROUP BY k) tops \
         GROUP BY highest",
        &["r"],
    ),
];

#[tokio::test]
async fn a_subquery_aggregate_joined_or_aggregated_equals_the_batch_answer() {
    let l = source("table l (id BIGINT KEY, k BIGINT, v BIGINT)");
    let r = source("table r (id BIGINT KEY, k BIGINT, v BIGINT)");
    for (select, inputs) in SUBQUERY_AGGREGATE_QUERIES {
        let sources: Vec<SourceDef> = inputs
            .iter()
            .map(|name| match *name {
                "l" => l.clone(),
                _ => r.clone(),
            })
            .collect();
        for seed in 1..=30 {
            check_seed(seed, &sources, select).await;
        }
    }
}

/// Joins of three tables: on the key of the rows so far (where it is never NULL, or its
/// value after a FULL join), on foreign keys and on other columns, with INNER and outer
/// joins mixed.
const THREE_TABLE_QUERIES: &[&str] = &[
    "SELECT a.id, a.v, b.v, c.v FROM a JOIN b ON a.id = b.id LEFT JOIN c ON a.id = c.id",
    "SELECT a.id, b.id, c.id, a.v, b.v, c.v FROM a FULL JOIN b ON a.id = b.id \
     FULL JOIN c ON COALESCE(a.id, b.id) = c.id",
    "SELECT a.id, b.id, c.id, a.v, c.v FROM a LEFT JOIN b ON a.k = b.id LEFT JOIN c ON b.k = c.id",
    "SELECT a.id, b.id, c.id, b.v FROM a RIGHT JOIN b ON a.id = b.id JOIN c ON b.id = c.id",
    "SELECT a.id, c.id, a.v, b.v, c.v FROM a LEFT JOIN b ON a.id = b.id \
     RIGHT JOIN c ON a.id = c.id AND a.v <> c.v",
    "SELECT a.id, b.id, c.id FROM a JOIN b ON a.k = b.id JOIN c ON a.id = c.id WHERE c.v > 1",
    "SELECT a.id, b.id, c.id, a.v FROM a LEFT JOIN b ON a.id = b.id JOIN c ON a.k = c.k",
];

#[tokio::test]
async fn a_join_of_three_tables_equals_the_batch_join_across_epochs_and_crashes() {
    let sources = [
        source("table a (id BIGINT KEY, k BIGINT, v BIGINT)"),
        source("table b (id BIGINT KEY, k BIGINT, v BIGINT)"),
        source("table c (id BIGINT KEY, k BIGINT, v BIGINT)"),
    ];
    for select in THREE_TABLE_QUERIES {
        for seed in 1..=20 {
            check_seed(seed, &sources, select).await;
        }
    }
}

/// Joins of two streams within a window, each with the batch query that answers the same:
/// an interval join of all the rows. Every row comes within the grace period of stream time,
/// so none is late.
const STREAM_QUERIES: &[(&str, &str)] = &[
    (
        "SELECT l.id, l.k, r.id, l.rowtime, r.rowtime FROM l JOIN r \
         WITHIN (5 MILLISECONDS, 8 MILLISECONDS) GRACE PERIOD 30 MILLISECONDS ON l.k = r.k EMIT CHANGES",
        "SELECT l.id, l.k, r.id, l.rowtime, r.rowtime FROM l JOIN r \
         ON l.k = r.k AND r.rowtime BETWEEN l.rowtime - 5 AND l.rowtime + 8",
    ),
    (
        "SELECT l.id, r.id, l.v, r.v FROM l LEFT JOIN r \
         WITHIN 6 MILLISECONDS GRACE PERIOD 30 MILLISECONDS ON l.k = r.k AND l.v <= r.v EMIT CHANGES",
        "SELECT l.id, r.id, l.v, r.v FROM l LEFT JOIN r \
         ON l.k = r.k AND r.rowtime BETWEEN l.rowtime - 6 AND l.rowtime + 6 AND l.v <= r.v",
    ),
    (
        "SELECT l.id, r.id FROM l FULL OUTER JOIN r \
         WITHIN (0 MILLISECONDS, 10 MILLISECONDS) GRACE PERIOD 25 MILLISECONDS ON l.k = r.k EMIT CHANGES",
        "SELECT l.id, r.id FROM l FULL OUTER JOIN r \
         ON l.k = r.k AND r.rowtime BETWEEN l.rowtime AND l.rowtime + 10",
    ),
];

/// Two streams, l and r, of rows (id, k, v).
pub(super) fn streams() -> [SourceDef; 2] {
    [
        source("stream l (id BIGINT, k BIGINT, v BIGINT)"),
        source("stream r (id BIGINT, k BIGINT, v BIGINT)"),
    ]
}

/// Rows of two streams in arrival order, as batches of one side each: times grow by 3 ms a
/// row with up to 20 ms of disorder; a last row of each side, of a key no other row has,
/// moves stream time past every window. Also each side's rows.
pub(super) fn random_stream_history(
    random: &mut fastrand::Rng,
    sources: &[SourceDef; 2],
) -> (VecDeque<(usize, Changes)>, [Vec<String>; 2]) {
    let mut all: [Vec<String>; 2] = [Vec::new(), Vec::new()];
    let mut batches: Vec<(usize, Vec<String>)> = Vec::new();
    let rows = random.usize(10..80);
    for step in 0..rows {
        let side = random.usize(..2);
        let time = step as i64 * 3 + random.i64(0..20);
        let k = match random.u8(..10) {
            0 => "NULL".to_string(),
            _ => random.u8(..4).to_string(),
        };
        let line = format!("+ {step} {k} {} @{time}", random.u8(..6));
        all[side].push(line.clone());
        match batches.last_mut() {
            Some((last_side, lines)) if *last_side == side && random.bool() => lines.push(line),
            _ => batches.push((side, vec![line])),
        }
    }
    for (side, batch) in all.iter_mut().enumerate() {
        let line = format!("+ {} 99 0 @100000", 1000 + side);
        batch.push(line.clone());
        batches.push((side, vec![line]));
    }
    let unread = batches
        .into_iter()
        .map(|(side, lines)| {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            (side, changes(&sources[side], &lines))
        })
        .collect();
    (unread, all)
}

#[tokio::test]
async fn a_join_of_two_streams_equals_the_batch_interval_join_across_epochs_and_crashes() {
    let sources = streams();
    for (select, batch_select) in STREAM_QUERIES {
        let dataflow = push_dataflow(&sources, select).await;
        for seed in 1..=30 {
            let mut random = fastrand::Rng::with_seed(seed);
            let (unread, rows) = random_stream_history(&mut random, &sources);
            let (appended, crashes) = run_history(&mut random, &dataflow, unread);
            let lines: Vec<Vec<&str>> = rows
                .iter()
                .map(|side| side.iter().map(String::as_str).collect())
                .collect();
            // A row with a NULL key joins nothing and is dropped, in an outer join too
            // (ksqlDB's rule); the rows of key 99 only move stream time on. The batch join
            // leaves both out.
            let batch = batch_answer_over(
                &[
                    (&sources[0], &changes(&sources[0], &lines[0])),
                    (&sources[1], &changes(&sources[1], &lines[1])),
                ],
                &format!(
                    "{batch_select} WHERE (l.id IS NULL OR l.k IS NOT NULL) \
                     AND (r.id IS NULL OR r.k IS NOT NULL) AND coalesce(l.k, r.k, 0) <> 99"
                ),
            )
            .await;
            let incremental: Vec<String> = text_of(&appended)
                .into_iter()
                .filter(|line| !line.contains(" 1000") && !line.contains(" 1001"))
                .collect();
            assert_eq!(
                incremental, batch,
                "seed {seed}, {crashes} crashes, {select}: incremental (left) and batch (right) differ"
            );
        }
    }
}

/// How many keys of the stream join's state (query "randomized", join 0) start with the
/// prefix of `part`: `L` or `R` (a side's runs: chunks and their summaries); `l`, `r`, `s`
/// and `d` as a join stored them before it kept runs (rows by key, and when keys were due).
fn stream_join_state_keys(state: &dyn StateStore, part: char) -> u64 {
    let prefix = OperatorStateKeys::of("randomized").join_prefix(0, part);
    state
        .count_prefix(Keyspace::State, &prefix)
        .expect("counts")
}

/// Rows of ids 0 to `count` − 1 of `source` (a stream of `streams()`), each at its id in
/// milliseconds, with the key `key_of` gives its id.
fn rows_at_their_ids(source: &SourceDef, count: usize, key_of: impl Fn(usize) -> usize) -> Changes {
    let lines: Vec<String> = (0..count)
        .map(|id| format!("+ {id} {} 0 @{id}", key_of(id)))
        .collect();
    let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
    changes(source, &lines)
}

/// An inner join of `streams()` on `k` within an hour, on an empty state.
async fn join_within_an_hour() -> (
    [SourceDef; 2],
    MemoryStateStore,
    Pipeline,
    Arc<Mutex<Vec<Changes>>>,
) {
    let sources = streams();
    let dataflow = push_dataflow(
        &sources,
        "SELECT l.id, r.id FROM l JOIN r WITHIN 1 HOUR ON l.k = r.k EMIT CHANGES",
    )
    .await;
    let (pipeline, kept) = build_pipeline(&dataflow, 1 << 20);
    (sources, MemoryStateStore::default(), pipeline, kept)
}

/// What a right row of id 7 and key 1 joins among left rows of ids 0 to `count` − 1 keyed
/// by `key_of` (`rows_at_their_ids`), as `text_of` reads it: sorted.
fn joined_by_right_row_7(count: usize, key_of: impl Fn(usize) -> usize) -> Vec<String> {
    let mut lines: Vec<String> = (0..count)
        .filter(|&id| key_of(id) == 1)
        .map(|id| format!("+ {id} 7"))
        .collect();
    lines.sort();
    lines
}

/// One epoch of `batches` (each with its input) through `pipeline`, committed: what reached
/// the sink, as text.
fn run_committed_epoch(
    state: &dyn StateStore,
    pipeline: &mut Pipeline,
    kept: &Arc<Mutex<Vec<Changes>>>,
    batches: Vec<(usize, Changes)>,
) -> Vec<String> {
    let (output, state_changes, _) = in_epoch(state, |cx| {
        for (input, changes) in batches {
            pipeline.apply(input, changes, cx).expect("joins");
        }
        pipeline.finish_epoch(cx).expect("ends the epoch");
        std::mem::take(&mut *kept.lock().expect("a test's own lock"))
    });
    state.commit(state_changes).expect("commits");
    text_of(&output)
}

/// A join whose keys are all distinct (Nexmark q7 joins on a price) keeps an epoch's rows
/// as one chunk, not an entry per key; the chunk goes once no row can join its latest row.
#[tokio::test]
async fn a_stream_join_keeps_an_epochs_rows_in_a_chunk_until_none_can_join() {
    let sources = streams();
    let dataflow = push_dataflow(
        &sources,
        "SELECT l.id, r.id FROM l JOIN r WITHIN 1 SECOND GRACE PERIOD 0 SECONDS \
         ON l.k = r.k EMIT CHANGES",
    )
    .await;
    let state = MemoryStateStore::default();
    let (mut pipeline, kept) = build_pipeline(&dataflow, 1 << 20);
    let left = rows_at_their_ids(&sources[0], 1000, |id| id);
    assert!(run_committed_epoch(&state, &mut pipeline, &kept, vec![(0, left)]).is_empty());
    assert_eq!(
        stream_join_state_keys(&state, 'L'),
        2,
        "1000 rows make one chunk and its summary"
    );

    // A right row of key 999 joins the left row of that key, and another moves stream time
    // to 2999: the left rows before 999 can join nothing any more, but 999 still can.
    let right = changes(&sources[1], &["+ 7 999 0 @1999", "+ 8 5000 0 @2999"]);
    let joined = run_committed_epoch(&state, &mut pipeline, &kept, vec![(1, right)]);
    assert_eq!(joined, ["+ 999 7"]);
    assert_eq!(stream_join_state_keys(&state, 'L'), 2);
    assert_eq!(stream_join_state_keys(&state, 'R'), 2);

    // Stream time 4000: no row can join a left row any more, nor the right row at 1999.
    let right = changes(&sources[1], &["+ 9 999 0 @4000"]);
    assert!(run_committed_epoch(&state, &mut pipeline, &kept, vec![(1, right)]).is_empty());
    assert_eq!(stream_join_state_keys(&state, 'L'), 0);
    assert_eq!(
        stream_join_state_keys(&state, 'R'),
        2,
        "the new run takes in the rows at 2999 and 4000, and leaves the one at 1999 out"
    );
}

/// A query that keeps up takes a few rows per epoch: each epoch's run takes in the last
/// chunk while it is not full, so 50 epochs of a row make one chunk, not 50, and a probe
/// still finds every row. (`text_of` sorts what it reads.)
#[tokio::test]
async fn epochs_of_a_few_rows_fill_one_chunk() {
    let (sources, state, mut pipeline, kept) = join_within_an_hour().await;
    for id in 0..50 {
        let left = changes(&sources[0], &[&format!("+ {id} {} 0 @{id}", id % 2)]);
        assert!(run_committed_epoch(&state, &mut pipeline, &kept, vec![(0, left)]).is_empty());
    }
    assert_eq!(
        stream_join_state_keys(&state, 'L'),
        2,
        "one chunk and its summary"
    );
    let right = changes(&sources[1], &["+ 7 1 0 @100"]);
    let joined = run_committed_epoch(&state, &mut pipeline, &kept, vec![(1, right)]);
    assert_eq!(joined, joined_by_right_row_7(50, |id| id % 2));
}

/// A key's rows of one epoch may fill several chunks of its run, and a probe reads every
/// chunk that holds its key: a right row joins all 1,000 left rows of its key among 3,000.
#[tokio::test]
async fn a_probe_finds_its_keys_rows_across_the_chunks_of_a_run() {
    let (sources, state, mut pipeline, kept) = join_within_an_hour().await;
    let left = rows_at_their_ids(&sources[0], 3000, |id| id % 3);
    assert!(run_committed_epoch(&state, &mut pipeline, &kept, vec![(0, left)]).is_empty());
    assert_eq!(
        stream_join_state_keys(&state, 'L'),
        6,
        "3,000 rows make three chunks, each with its summary"
    );
    let right = changes(&sources[1], &["+ 7 1 0 @3000"]);
    let joined = run_committed_epoch(&state, &mut pipeline, &kept, vec![(1, right)]);
    assert_eq!(joined, joined_by_right_row_7(3000, |id| id % 3));
}

/// A LEFT JOIN's state as stored before joins kept runs (an entry per key, and an index
/// entry per key by due time) is moved into a run at the first epoch: an unmatched row
/// still comes out NULL-padded when its window closes, and the old entries are gone.
#[tokio::test]
async fn a_stream_join_moves_its_entries_by_key_into_a_run() {
    let sources = streams();
    let dataflow = push_dataflow(
        &sources,
        "SELECT l.id, r.id FROM l LEFT JOIN r WITHIN 1 SECOND GRACE PERIOD 0 SECONDS \
         ON l.k = r.k EMIT CHANGES",
    )
    .await;
    // The left row (7, 7, 0) at 5, unmatched: its window closes at 1005.
    let state = MemoryStateStore::default();
    let left = changes(&sources[0], &["+ 7 7 0 @5"]);
    let row = encode_rows(left.rows()).expect("encodes");
    let key = encode_keys(&[left.rows().column(1).clone()], 1).expect("encodes");
    let entry = encode_entry(&[KeptRow {
        rowtime: 5,
        flags: 0,
        row: row.iter().next().expect("a row").to_vec(),
    }]);
    let keys = OperatorStateKeys::of("randomized");
    let stored = |part: char, key: &[u8]| [keys.join_prefix(0, part).as_slice(), key].concat();
    let join_key = key.iter().next().expect("a key").to_vec();
    let mut legacy = StateBatch::default();
    legacy.put(Keyspace::State, stored('l', &join_key), entry);
    let index_key = [&1005i64.to_be_bytes()[..], &[0], &join_key].concat();
    legacy.put(Keyspace::State, stored('d', &index_key), Vec::new());
    legacy.put(
        Keyspace::State,
        stored('t', STREAM_TIME_KEY),
        5i64.to_be_bytes().to_vec(),
    );
    state.commit(legacy).expect("commits");

    let (mut pipeline, kept) = build_pipeline(&dataflow, 1 << 20);
    let right = changes(&sources[1], &["+ 8 1 0 @3000"]);
    let output = run_committed_epoch(&state, &mut pipeline, &kept, vec![(1, right)]);
    assert_eq!(output, ["+ 7 NULL"]);
    assert_eq!(stream_join_state_keys(&state, 'd'), 0);
    assert_eq!(stream_join_state_keys(&state, 'l'), 0);
    assert_eq!(
        stream_join_state_keys(&state, 'L'),
        0,
        "the moved row was padded, and no row can join it any more"
    );
}
