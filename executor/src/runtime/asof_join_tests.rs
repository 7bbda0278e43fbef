//! ASOF joins through the pipeline a query builds: ties, strict comparisons, LEFT padding,
//! final mode's waiting probe rows and incremental mode's re-matches, late rows, the bound
//! on kept build rows, a table on the right; and, randomized, that both modes emit exactly
//! the ASOF join of all the rows (a brute-force answer: DataFusion has no ASOF join) however
//! the rows are cut into epochs, with commits in flight and crashes that lose them.
//!
//! Each seed drives a different history; a failure names its seed and both answers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use eddy_planner::{AsofMode, Dataflow, SourceDef, Step, lower_over};
use eddy_storage::{MemoryStateStore, StateStore};

use crate::changes::Changes;
use crate::dataflow::harness::{
    catalog, changes, in_epoch, planner, select_statement, source, text_of,
};
use crate::dataflow::interval_join::decode_entry;
use crate::runtime::join_tests::{build_pipeline, random_stream_history, run_history, streams};
use crate::runtime::pipeline::Pipeline;
use crate::state::keys::OperatorStateKeys;

/// A pipeline over committed state, run epoch by epoch.
struct Run {
    pipeline: Pipeline,
    kept: Arc<Mutex<Vec<Changes>>>,
    state: MemoryStateStore,
    sources: [SourceDef; 2],
}

impl Run {
    async fn new(sources: [SourceDef; 2], sql: &str, mode: AsofMode) -> Run {
        let dataflow = with_mode(asof_dataflow(&sources, sql).await, mode);
        let (pipeline, kept) = build_pipeline(&dataflow, 1 << 20);
        Run {
            pipeline,
            kept,
            state: MemoryStateStore::default(),
            sources,
        }
    }

    /// One committed epoch of lines on the left (input 0) and on the right (input 1): its
    /// output, and why rows were set aside.
    fn epoch(&mut self, left: &[&str], right: &[&str]) -> (Vec<String>, Vec<String>) {
        let (output, state_changes, bad_rows) = in_epoch(&self.state, |cx| {
            for (input, lines) in [(0, left), (1, right)] {
                if !lines.is_empty() {
                    let rows = changes(&self.sources[input], lines);
                    self.pipeline.apply(input, rows, cx).expect("applies");
                }
            }
            self.pipeline.finish_epoch(cx).expect("ends the epoch");
            std::mem::take(&mut *self.kept.lock().expect("a test's own lock"))
        });
        self.state.commit(state_changes).expect("commits");
        (text_of(&output), bad_rows.messages().to_vec())
    }

    /// How many right rows the join keeps, over all keys.
    fn build_rows_kept(&self) -> usize {
        let prefix = OperatorStateKeys::of("randomized").join_prefix(0, 'r');
        self.state
            .scan_prefix(OperatorStateKeys::KEYSPACE, &prefix)
            .expect("scans")
            .iter()
            .map(|(_, value)| decode_entry(value).expect("decodes").1.len())
            .sum()
    }
}

/// The dataflow of `sql` (with EMIT CHANGES) as a persistent query into a stream would run
/// it: a push query refuses a table on an ASOF join's right.
async fn asof_dataflow(sources: &[SourceDef], sql: &str) -> Dataflow {
    let plan = planner(sources)
        .plan_select(&select_statement(sql))
        .await
        .expect("plans");
    lower_over(&plan, &catalog(sources)).expect("lowers")
}

/// `dataflow` with its ASOF join in `mode` (a GROUP BY over it would make it incremental).
fn with_mode(mut dataflow: Dataflow, mode: AsofMode) -> Dataflow {
    let Dataflow::Stateless(plan) = &mut dataflow else {
        panic!("an ASOF join without GROUP BY is stateless around its join");
    };
    for step in &mut plan.steps {
        if let Step::Join(join) = step {
            let join = Arc::make_mut(join);
            join.asof.as_mut().expect("an ASOF join").mode = mode;
        }
    }
    dataflow
}

const INNER: &str =
    "SELECT l.id, r.id FROM l ASOF JOIN r ON l.k = r.k AND r.rowtime <= l.rowtime EMIT CHANGES";

#[tokio::test]
async fn final_mode_waits_for_the_right_stream_time_and_breaks_ties_by_arrival() {
    let mut run = Run::new(streams(), INNER, AsofMode::Final).await;
    // Right stream time 20: a right row at 20 may still come, so the left row waits.
    let (output, _) = run.epoch(&["+ 100 7 0 @20"], &["+ 1 7 0 @10", "+ 2 7 0 @20"]);
    assert_eq!(output, Vec::<String>::new());
    // Another right row at 20 comes last, and wins the tie once time has passed 20.
    assert_eq!(run.epoch(&[], &["+ 3 7 0 @20"]).0, Vec::<String>::new());
    assert_eq!(run.epoch(&[], &["+ 4 8 0 @21"]).0, ["+ 100 3"]);
    // A right row behind stream time (grace 0) is late: it is set aside, and the released
    // row is never retracted.
    let (output, late) = run.epoch(&[], &["+ 5 7 0 @20"]);
    assert_eq!(output, Vec::<String>::new());
    assert_eq!(
        late,
        [
            "a right row at 20 is too late for the ASOF join: the right side's stream time less the grace period is 21"
        ]
    );
    // A left row behind the right side's stream time, but not its own, joins at once.
    assert_eq!(run.epoch(&["+ 101 7 0 @20"], &[]).0, ["+ 101 3"]);
    // One behind its own side's stream time is late.
    let (output, late) = run.epoch(&["+ 102 7 0 @19"], &[]);
    assert_eq!(output, Vec::<String>::new());
    assert_eq!(
        late,
        [
            "a left row at 19 is too late for the ASOF join: the left side's stream time less the grace period is 20"
        ]
    );
}

#[tokio::test]
async fn a_strict_comparison_leaves_out_equal_times() {
    let sql =
        "SELECT l.id, r.id FROM l ASOF JOIN r ON l.k = r.k AND l.rowtime > r.rowtime EMIT CHANGES";
    let mut run = Run::new(streams(), sql, AsofMode::Final).await;
    // Only right rows before 20 count, and none can come any more at stream time 20.
    let (output, _) = run.epoch(&["+ 100 7 0 @20"], &["+ 1 7 0 @10", "+ 2 7 0 @20"]);
    assert_eq!(output, ["+ 100 1"]);
}

#[tokio::test]
async fn a_left_join_pads_left_rows_without_a_match() {
    let sql = "SELECT l.id, r.id FROM l ASOF LEFT JOIN r ON l.k = r.k AND r.rowtime <= l.rowtime EMIT CHANGES";
    let mut run = Run::new(streams(), sql, AsofMode::Final).await;
    let (output, _) = run.epoch(
        &["+ 100 7 0 @5", "+ 101 8 0 @5", "+ 102 NULL 0 @5"],
        &["+ 1 7 0 @10"],
    );
    // A row with a NULL key joins nothing and is dropped, in a LEFT join too (ksqlDB's rule).
    assert_eq!(output, ["+ 100 NULL", "+ 101 NULL"]);
}

#[tokio::test]
async fn incremental_mode_rematches_left_rows_when_an_earlier_right_row_comes() {
    let sql = "SELECT l.id, r.id FROM l ASOF LEFT JOIN r GRACE PERIOD 1 SECOND \
               ON l.k = r.k AND r.rowtime <= l.rowtime EMIT CHANGES";
    let mut run = Run::new(streams(), sql, AsofMode::Incremental).await;
    assert_eq!(
        run.epoch(&["+ 100 7 0 @20", "+ 101 7 0 @5"], &["+ 1 7 0 @10"])
            .0,
        ["+ 100 1", "+ 101 NULL"]
    );
    // A right row at 15 is the new latest at or before 20: −old +new. One at 3 gives the
    // row at 5 its first match.
    assert_eq!(
        run.epoch(&[], &["+ 2 7 0 @15", "+ 3 7 0 @3"]).0,
        ["- 100 1", "+ 100 2", "+ 101 3", "- 101 NULL"]
    );
    // A right row after every left row changes nothing.
    assert_eq!(run.epoch(&[], &["+ 4 7 0 @30"]).0, Vec::<String>::new());
}

#[tokio::test]
async fn only_the_newest_right_row_behind_stream_time_is_kept() {
    let mut run = Run::new(streams(), INNER, AsofMode::Final).await;
    for time in 0..50 {
        let right = format!("+ {time} 7 0 @{time}");
        let left = format!("+ {} 7 0 @{time}", 1000 + time);
        run.epoch(&[&left], &[&right]);
    }
    // Stream times 49 on both sides, grace 0: the row at 49 and nothing older is needed...
    assert_eq!(run.build_rows_kept(), 1);
    // ...and it still answers a left row at 49, with the rows released so far.
    assert_eq!(run.epoch(&[], &["+ 50 8 0 @50"]).0, ["+ 1049 49"]);
}

#[tokio::test]
async fn a_table_on_the_right_is_its_current_rows() {
    let sources = [
        source("stream l (id BIGINT, k BIGINT, v BIGINT)"),
        source("table r (id BIGINT KEY, k BIGINT, v BIGINT)"),
    ];
    // The times are BIGINT columns; the table's rows are named by their key.
    let sql = "SELECT l.id, r.id, r.k FROM l ASOF LEFT JOIN r MATCH_CONDITION(l.v >= r.v) \
               ON l.k = r.k EMIT CHANGES";
    let mut run = Run::new(sources, sql, AsofMode::Incremental).await;
    assert_eq!(
        run.epoch(&["+ 100 7 20", "+ 101 7 12"], &["+ 1 7 10", "+ 2 7 15"])
            .0,
        ["+ 100 2 7", "+ 101 1 7"]
    );
    // Row 2 moves to 11 (−old +new on the table): still the latest at or before 20, and
    // now the latest at or before 12. Then it leaves the table: row 1 is the latest again.
    assert_eq!(
        run.epoch(&[], &["- 2 7 15", "+ 2 7 11"]).0,
        ["- 101 1 7", "+ 101 2 7"]
    );
    assert_eq!(
        run.epoch(&[], &["- 2 7 11"]).0,
        ["+ 100 1 7", "- 100 2 7", "+ 101 1 7", "- 101 2 7"]
    );
}

/// The ASOF join of all the rows (`join_tests::random_stream_history`'s: times grow by 3 ms a
/// row with up to 20 ms of disorder, within the grace period, so none is late), as `+ left
/// id, left key, right id` lines: each left row
/// with a key joins the right row of its key with the latest time at or before its own
/// (`strict`: before it), the last of them to come on a tie; `left` keeps those without one.
fn brute_force(rows: &[Vec<String>; 2], strict: bool, left: bool) -> Vec<String> {
    // (id, key, time) of each row, in arrival order.
    let parse = |line: &String| -> (i64, Option<i64>, i64) {
        let words: Vec<&str> = line.split_whitespace().collect();
        let time = words[4].trim_start_matches('@').parse().expect("a time");
        (
            words[1].parse().expect("an id"),
            words[2].parse().ok(),
            time,
        )
    };
    let rights: Vec<(i64, Option<i64>, i64)> = rows[1].iter().map(parse).collect();
    let mut totals: HashMap<String, i64> = HashMap::new();
    for (id, key, time) in rows[0].iter().map(parse) {
        let Some(key) = key.filter(|key| *key != 99) else {
            continue;
        };
        let matched = rights
            .iter()
            .filter(|(_, right_key, right_time)| {
                *right_key == Some(key)
                    && match strict {
                        true => *right_time < time,
                        false => *right_time <= time,
                    }
            })
            .max_by_key(|(_, _, right_time)| *right_time);
        // max_by_key keeps the last of equal maxima: the right row that came last.
        let line = match matched {
            Some((right_id, _, _)) => format!("+ {id} {key} {right_id}"),
            None if left => format!("+ {id} {key} NULL"),
            None => continue,
        };
        *totals.entry(line).or_default() += 1;
    }
    let mut lines: Vec<String> = totals.into_keys().collect();
    lines.sort();
    lines
}

#[tokio::test]
async fn an_asof_join_equals_the_brute_force_answer_across_epochs_and_crashes() {
    let sources = streams();
    let queries = [
        ("ASOF JOIN", "r.rowtime <= l.rowtime", false, false),
        ("ASOF LEFT JOIN", "r.rowtime <= l.rowtime", false, true),
        ("ASOF LEFT JOIN", "l.rowtime > r.rowtime", true, true),
        ("ASOF JOIN", "r.rowtime < l.rowtime", true, false),
    ];
    for (join, comparison, strict, left) in queries {
        for mode in [AsofMode::Final, AsofMode::Incremental] {
            let sql = format!(
                "SELECT l.id, l.k, r.id FROM l {join} r GRACE PERIOD 30 MILLISECONDS \
                 ON l.k = r.k AND {comparison} EMIT CHANGES"
            );
            let dataflow = with_mode(asof_dataflow(&sources, &sql).await, mode);
            for seed in 1..=30 {
                let mut random = fastrand::Rng::with_seed(seed);
                let (unread, rows) = random_stream_history(&mut random, &sources);
                let (appended, crashes) = run_history(&mut random, &dataflow, unread);
                let incremental: Vec<String> = text_of(&appended)
                    .into_iter()
                    .filter(|line| !line.starts_with("+ 1000 ") && !line.starts_with("+ 1001 "))
                    .collect();
                assert_eq!(
                    incremental,
                    brute_force(&rows, strict, left),
                    "seed {seed}, {crashes} crashes, {mode:?}, {sql}: incremental (left) and brute force (right) differ"
                );
                if mode == AsofMode::Final {
                    let retracted = appended.iter().any(|part| {
                        part.weights().is_some_and(|weights| {
                            weights.values().iter().any(|weight| *weight != 1)
                        })
                    });
                    assert!(!retracted, "seed {seed}, {sql}: final mode only inserts");
                }
            }
        }
    }
}
