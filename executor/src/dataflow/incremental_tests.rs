//! Randomized: a GROUP BY (its operator and the steps over its rows) run incrementally holds
//! exactly what DataFusion answers for the same SELECT over the history's final rows, however
//! the history is cut into epochs, whichever commits are still in flight while the next
//! epoch runs, and wherever a crash loses the commits in flight and the operators restart
//! over the committed state with the lost epochs' input read again.
//!
//! Each seed drives a different history; a failure names its seed and both answers.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use eddy_planner::{AggregatePlan, Dataflow, SourceDef};
use eddy_storage::{MemoryStateStore, StateBatch, StateStore};

use crate::changes::Changes;
use crate::dataflow::Operator;
use crate::dataflow::group_by::GroupBy;
use crate::dataflow::harness::{
    batch_answer, changes, dataflow, run_epoch_at, source, table_dataflow, text_of,
};
use crate::dataflow::steps::Steps;
use crate::dataflow::temporal_filter::TemporalFilterOperator;
use crate::state::operator_cache::CacheBudget;

/// Aggregations over a table (rows come and go, with −/+ pairs for updates).
const TABLE_QUERIES: &[&str] = &[
    "SELECT g, COUNT(*) AS n, COUNT(v) AS nv, SUM(v) AS total, MIN(v) AS low, MAX(v) AS high, \
     COUNT(DISTINCT v) AS distinct_v, MIN(s) AS first_s, MAX(s) AS last_s FROM items GROUP BY g",
    "SELECT g % 3 AS bucket, COUNT(*) AS n, SUM(v * 2) AS doubled FROM items WHERE v % 2 = 0 \
     GROUP BY g % 3 HAVING COUNT(*) > 1",
];

/// Aggregations over a stream (rows only come: the operator keeps less state).
const STREAM_QUERIES: &[&str] = &[
    "SELECT g, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS low, MAX(v) AS high, \
     COUNT_DISTINCT(s) AS distinct_s, MIN(s) AS first_s, MAX(s) AS last_s FROM events GROUP BY g",
    "SELECT s, COUNT(v) AS nv, MAX(v) - MIN(v) AS spread FROM events GROUP BY s \
     HAVING COUNT(*) > 2",
];

/// A random row of `(id, g, v, s)`, NULLs included, written as the harness reads it.
fn random_row(random: &mut fastrand::Rng, id: u64) -> String {
    let g = random.u8(..5).to_string();
    let v = random.i64(-10..40).to_string();
    let s = format!("s{}", random.u8(..6));
    let [g, v, s] = [g, v, s].map(|value| match random.u8(..10) {
        0 => "NULL".to_string(),
        _ => value,
    });
    format!("{id} {g} {v} {s}")
}

/// A random history as batches of change lines, and the rows present at its end. Over a
/// table a batch inserts, updates (− old, + new) and deletes by key; over a stream it
/// inserts.
fn random_history(
    random: &mut fastrand::Rng,
    append_only: bool,
) -> (Vec<Vec<String>>, Vec<String>) {
    let mut present: BTreeMap<u64, String> = BTreeMap::new();
    let mut next_id = 0;
    let batches = (0..random.usize(10..40))
        .map(|_| {
            let mut lines = Vec::new();
            for _ in 0..random.usize(1..8) {
                let id = if append_only {
                    next_id += 1;
                    next_id
                } else {
                    random.u64(..20)
                };
                match present.remove(&id) {
                    Some(old) if random.bool() => lines.push(format!("- {old}")),
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

/// The operators of a running query, as `Pipeline::build` makes them (less the sink), over
/// a cache of `budget` bytes.
fn operators(plan: &AggregatePlan, append_only: bool, budget: usize) -> (GroupBy, Steps) {
    let group_by = GroupBy::new(
        plan.clone(),
        "randomized",
        append_only,
        Arc::new(CacheBudget::new(budget)),
    )
    .expect("a GROUP BY");
    (group_by, Steps::new(plan.output_steps.clone()))
}

/// An epoch computed but not yet committed: its input (read again if a crash loses it), its
/// output (appended only once it is committed) and its state changes.
struct InFlight {
    input: Vec<Changes>,
    output: Vec<Changes>,
    state_changes: StateBatch,
}

/// One random history through `select` over `items`, checked against the batch answer.
async fn check_seed(seed: u64, items: &SourceDef, select: &str) {
    let append_only = !items.is_table();
    let Dataflow::Aggregate(plan) = dataflow(std::slice::from_ref(items), select).await else {
        panic!("{select} aggregates");
    };
    let mut random = fastrand::Rng::with_seed(seed);
    let (history, final_rows) = random_history(&mut random, append_only);
    let (appended, crashes) = run_incrementally(&mut random, items, &plan, &history);
    let key = plan.output_schema.field(0).name();
    let final_rows: Vec<&str> = final_rows.iter().map(String::as_str).collect();
    // A streaming GROUP BY drops rows whose key is NULL (ksqlDB's rule); a batch GROUP BY
    // makes them a group, which the comparison leaves out.
    let batch = batch_answer(
        items,
        &changes(items, &final_rows),
        &format!("SELECT * FROM ({select}) AS batch_answer WHERE {key} IS NOT NULL"),
    )
    .await;
    assert_eq!(
        text_of(&appended),
        batch,
        "seed {seed}, {crashes} crashes, {select}: incremental (left) and batch (right) differ"
    );
}

/// Runs `history` (batches of change lines of `items`) through `plan`'s operators in random
/// epochs, with commits in flight and crashes: what was appended, and how many crashes.
fn run_incrementally(
    random: &mut fastrand::Rng,
    items: &SourceDef,
    plan: &AggregatePlan,
    history: &[Vec<String>],
) -> (Vec<Changes>, usize) {
    let append_only = !items.is_table();
    // A cache of one byte is trimmed after every epoch: states are read back from the store.
    let budget = *random.choice(&[1, 1 << 20]).expect("a budget");
    let make = || -> Vec<Box<dyn Operator>> {
        let (group_by, steps) = operators(plan, append_only, budget);
        vec![Box::new(group_by), Box::new(steps)]
    };
    let (appended, crashes, _) = run_operators(random, items, &make, history, 0, |_| 0);
    (appended, crashes)
}

/// Runs `history` through the operators `make` builds (again after each crash) in random
/// epochs, then `clock_epochs` more without input, the clock reading `clock(epoch number)`
/// in each, with commits in flight and crashes: what was appended, how many crashes, and
/// how many epochs ran.
fn run_operators(
    random: &mut fastrand::Rng,
    items: &SourceDef,
    make: &dyn Fn() -> Vec<Box<dyn Operator>>,
    history: &[Vec<String>],
    mut clock_epochs: usize,
    mut clock: impl FnMut(usize) -> i64,
) -> (Vec<Changes>, usize, usize) {
    let mut unread: VecDeque<Changes> = history
        .iter()
        .map(|lines| {
            let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
            changes(items, &lines)
        })
        .collect();
    let state = MemoryStateStore::default();
    let mut running = make();
    let mut appended: Vec<Changes> = Vec::new();
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut crashes = 0;
    let mut epochs = 0;
    while !unread.is_empty() || clock_epochs > 0 {
        if unread.is_empty() {
            clock_epochs -= 1;
        }
        // Some epochs read no input: the clock alone moves the query.
        let input: Vec<Changes> = (0..random.usize(0..4))
            .map_while(|_| unread.pop_front())
            .collect();
        let mut chain: Vec<&mut dyn Operator> = running
            .iter_mut()
            .map(|operator| operator.as_mut() as &mut dyn Operator)
            .collect();
        let (output, state_changes) = run_epoch_at(&mut chain, &state, &input, clock(epochs));
        epochs += 1;
        in_flight.push_back(InFlight {
            input,
            output,
            state_changes,
        });
        // The epoch before this one finishes its commit while this one is computed; this
        // one's may still be in flight while the next is computed.
        let keep_in_flight = match random.bool() {
            true => 1,
            false => 0,
        };
        while in_flight.len() > keep_in_flight {
            commit(&state, in_flight.pop_front(), &mut appended);
        }
        if random.u8(..6) == 0 {
            // A crash: the commits in flight land or are lost; the lost epochs' input is read
            // again by operators that restart over what was committed.
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
            running = make();
        }
    }
    while let Some(epoch) = in_flight.pop_front() {
        commit(&state, Some(epoch), &mut appended);
    }
    (appended, crashes, epochs)
}

/// Commits an epoch's state changes, then appends its output (the order the epoch writer
/// keeps).
fn commit(state: &dyn StateStore, epoch: Option<InFlight>, appended: &mut Vec<Changes>) {
    let epoch = epoch.expect("an epoch in flight");
    state.commit(epoch.state_changes).expect("commits");
    appended.extend(epoch.output);
}

#[tokio::test]
async fn a_table_aggregate_equals_the_batch_answer_across_epochs_and_crashes() {
    let items = source("table items (id BIGINT KEY, g BIGINT, v BIGINT, s STRING)");
    for select in TABLE_QUERIES {
        for seed in 1..=40 {
            check_seed(seed, &items, select).await;
        }
    }
}

#[tokio::test]
async fn a_stream_aggregate_equals_the_batch_answer_across_epochs_and_crashes() {
    let events = source("stream events (id BIGINT, g BIGINT, v BIGINT, s STRING)");
    for select in STREAM_QUERIES {
        for seed in 1..=40 {
            check_seed(seed, &events, select).await;
        }
    }
}

/// Windows over a stream: the size (or session gap) and grace the randomized windowed test
/// uses, in ms.
const WINDOW_SIZE: i64 = 10;
const WINDOW_GRACE: i64 = 5;

/// How the randomized windowed test's windows group rows.
#[derive(Debug, Clone, Copy)]
enum Windows {
    /// Tumbling (advance = size) or hopping.
    Time { advance: i64 },
    /// Sessions of rows at most `WINDOW_SIZE` apart.
    Session,
    /// The window TVF CUMULATE: windows growing by `step` to `WINDOW_SIZE`, grace 0.
    Cumulate { step: i64 },
}

impl Windows {
    fn grace_ms(self) -> i64 {
        match self {
            Windows::Cumulate { .. } => 0,
            Windows::Time { .. } | Windows::Session => WINDOW_GRACE,
        }
    }
}

/// Windowed aggregations over a stream: each FROM with its WINDOW clause (and the GROUP BY
/// items a window TVF adds), with how it groups, and its RETENTION in ms when it sets one
/// (the default outlives the test's times).
const WINDOW_QUERIES: &[(&str, Windows, Option<i64>)] = &[
    (
        "events WINDOW TUMBLING (SIZE 10 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS) GROUP BY",
        Windows::Time {
            advance: WINDOW_SIZE,
        },
        None,
    ),
    (
        "events WINDOW HOPPING (SIZE 10 MILLISECONDS, ADVANCE BY 4 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS) GROUP BY",
        Windows::Time { advance: 4 },
        None,
    ),
    // Hopping windows of whole panes (the size a multiple of the advance) are kept as panes.
    (
        "events WINDOW HOPPING (SIZE 10 MILLISECONDS, ADVANCE BY 5 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS) GROUP BY",
        Windows::Time { advance: 5 },
        None,
    ),
    (
        "events WINDOW HOPPING (SIZE 10 MILLISECONDS, ADVANCE BY 2 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS) GROUP BY",
        Windows::Time { advance: 2 },
        None,
    ),
    (
        "events WINDOW HOPPING (SIZE 10 MILLISECONDS, ADVANCE BY 1 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS, RETENTION 30 MILLISECONDS) GROUP BY",
        Windows::Time { advance: 1 },
        Some(30),
    ),
    (
        "events WINDOW SESSION (10 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS) GROUP BY",
        Windows::Session,
        None,
    ),
    (
        "events WINDOW TUMBLING (SIZE 10 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS, RETENTION 30 MILLISECONDS) GROUP BY",
        Windows::Time {
            advance: WINDOW_SIZE,
        },
        Some(30),
    ),
    (
        "events WINDOW SESSION (10 MILLISECONDS, GRACE PERIOD 5 MILLISECONDS, RETENTION 25 MILLISECONDS) GROUP BY",
        Windows::Session,
        Some(25),
    ),
    (
        "CUMULATE(events, ROWTIME, INTERVAL '5' MILLISECOND, INTERVAL '10' MILLISECOND) \
         GROUP BY window_start, window_end,",
        Windows::Cumulate { step: 5 },
        None,
    ),
];

/// A stream's random history with rows out of order, some of them late: batches of change
/// lines (`+ id g v s @rowtime`).
fn random_timed_history(random: &mut fastrand::Rng) -> Vec<Vec<String>> {
    let mut clock = 0_i64;
    let mut next_id = 0;
    (0..random.usize(10..40))
        .map(|_| {
            (0..random.usize(1..8))
                .map(|_| {
                    next_id += 1;
                    clock += random.i64(0..4);
                    let rowtime = (clock - random.i64(0..25)).max(0);
                    format!("+ {} @{rowtime}", random_row(random, next_id))
                })
                .collect()
        })
        .collect()
}

/// A row of the history as the windowed test reads it: (g, v, s, rowtime), None for a row
/// whose group key is NULL (dropped: it moves nothing).
fn timed_row(line: &str) -> Option<(&str, &str, &str, i64)> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let [_, _, g, v, s, at] = words.as_slice() else {
        panic!("a history line: {line}");
    };
    if *g == "NULL" {
        return None;
    }
    Some((g, v, s, at[1..].parse().expect("a rowtime")))
}

/// ksqlDB's rules for time windows written out plainly, as the batch answer's input: the
/// rows of `history` each window takes, as lines of `accepted (g, ws, we, v, s)`, and the
/// stream time at the end. Stream time is the largest rowtime taken; a window `[ws, ws +
/// size)` takes a row while `ws + size + grace` is above stream time.
fn windows_taking(history: &[Vec<String>], advance: i64) -> (Vec<String>, i64) {
    let mut stream_time = i64::MIN;
    let mut accepted = Vec::new();
    for (g, v, s, rowtime) in history.iter().flatten().filter_map(|line| timed_row(line)) {
        stream_time = stream_time.max(rowtime);
        let mut start = (rowtime - WINDOW_SIZE + advance).max(0) / advance * advance;
        while start <= rowtime {
            if start + WINDOW_SIZE + WINDOW_GRACE > stream_time {
                accepted.push(format!("+ {g} {start} {} {v} {s}", start + WINDOW_SIZE));
            }
            start += advance;
        }
    }
    (accepted, stream_time)
}

/// Flink's CUMULATE written out plainly, like `windows_taking`: a row at t falls in each
/// window `[start, end)` with start the multiple of `WINDOW_SIZE` at or below t, end a
/// multiple of `step` above t and at most start + size; a window takes it while its end is
/// above stream time (grace 0).
fn cumulating_taking(history: &[Vec<String>], step: i64) -> (Vec<String>, i64) {
    let mut stream_time = i64::MIN;
    let mut accepted = Vec::new();
    for (g, v, s, rowtime) in history.iter().flatten().filter_map(|line| timed_row(line)) {
        stream_time = stream_time.max(rowtime);
        let start = rowtime / WINDOW_SIZE * WINDOW_SIZE;
        for end in (start + step..=start + WINDOW_SIZE).step_by(step as usize) {
            if end > rowtime && end > stream_time {
                accepted.push(format!("+ {g} {start} {end} {v} {s}"));
            }
        }
    }
    (accepted, stream_time)
}

/// ksqlDB's rules for sessions written out plainly: each key's sessions, a row joining
/// (and merging) every session of its key with `start − gap ≤ rowtime ≤ end + gap` that has
/// not closed (ended before stream time − gap − grace); a row whose session would end
/// before that is late. The rows of each final session as lines of `accepted (g, ws, we,
/// v, s)`, and the stream time at the end.
fn sessions_taking(history: &[Vec<String>]) -> (Vec<String>, i64) {
    struct Session<'a> {
        start: i64,
        end: i64,
        rows: Vec<(&'a str, &'a str)>,
    }
    let mut stream_time = i64::MIN;
    let mut sessions: BTreeMap<&str, Vec<Session<'_>>> = BTreeMap::new();
    for (g, v, s, rowtime) in history.iter().flatten().filter_map(|line| timed_row(line)) {
        stream_time = stream_time.max(rowtime);
        let closed_before = stream_time - WINDOW_SIZE - WINDOW_GRACE;
        let key_sessions = sessions.entry(g).or_default();
        let (merging, others): (Vec<Session<'_>>, Vec<Session<'_>>) =
            key_sessions.drain(..).partition(|session| {
                session.end >= closed_before
                    && session.end >= rowtime - WINDOW_SIZE
                    && session.start <= rowtime + WINDOW_SIZE
            });
        *key_sessions = others;
        let mut merged = Session {
            start: rowtime,
            end: rowtime,
            rows: vec![(v, s)],
        };
        for session in &merging {
            merged.start = merged.start.min(session.start);
            merged.end = merged.end.max(session.end);
        }
        if merged.end < closed_before {
            key_sessions.extend(merging);
            continue;
        }
        for session in merging {
            merged.rows.extend(session.rows);
        }
        key_sessions.push(merged);
    }
    let accepted = sessions
        .iter()
        .flat_map(|(g, key_sessions)| {
            key_sessions.iter().flat_map(move |session| {
                session
                    .rows
                    .iter()
                    .map(move |(v, s)| format!("+ {g} {} {} {v} {s}", session.start, session.end))
            })
        })
        .collect();
    (accepted, stream_time)
}

/// One random history through a windowed aggregation, checked against DataFusion's answer
/// over the rows each window takes: every window's result with EMIT CHANGES, the closed
/// windows' with EMIT FINAL.
async fn check_windowed_seed(
    seed: u64,
    window: &str,
    windows: Windows,
    retention: Option<i64>,
    emit_final: bool,
) {
    let events = source("stream events (id BIGINT, g BIGINT, v BIGINT, s STRING)");
    let emit = if emit_final {
        "EMIT FINAL"
    } else {
        "EMIT CHANGES"
    };
    let select = format!(
        "SELECT g, COUNT(*) AS n, SUM(v) AS total, MIN(v) AS low, MAX(s) AS last_s \
         FROM {window} g {emit}"
    );
    let Dataflow::Aggregate(plan) = table_dataflow(std::slice::from_ref(&events), &select).await
    else {
        panic!("{select} aggregates");
    };
    let mut random = fastrand::Rng::with_seed(seed);
    let history = random_timed_history(&mut random);
    let (appended, crashes) = run_incrementally(&mut random, &events, &plan, &history);
    let (accepted, stream_time) = match windows {
        Windows::Time { advance } => windows_taking(&history, advance),
        Windows::Session => sessions_taking(&history),
        Windows::Cumulate { step } => cumulating_taking(&history, step),
    };
    // EMIT FINAL holds the windows that closed; a RETENTION drops those past it.
    let closed = match (emit_final, windows) {
        (false, _) => "TRUE".to_string(),
        (true, Windows::Time { .. } | Windows::Cumulate { .. }) => {
            format!("we + {} <= {stream_time}", windows.grace_ms())
        }
        (true, Windows::Session) => {
            format!("we < {}", stream_time - WINDOW_SIZE - WINDOW_GRACE)
        }
    };
    let kept = match (retention, windows) {
        (None, _) => "TRUE".to_string(),
        (Some(retention), Windows::Time { .. } | Windows::Cumulate { .. }) => {
            format!("ws + {retention} > {stream_time}")
        }
        (Some(retention), Windows::Session) => format!("we >= {stream_time} - {retention}"),
    };
    let taken = source("stream accepted (g BIGINT, ws BIGINT, we BIGINT, v BIGINT, s STRING)");
    let accepted: Vec<&str> = accepted.iter().map(String::as_str).collect();
    let batch = batch_answer(
        &taken,
        &changes(&taken, &accepted),
        &format!(
            "SELECT g, ws, we, COUNT(*), SUM(v), MIN(v), MAX(s) FROM accepted \
             WHERE {closed} AND {kept} GROUP BY g, ws, we"
        ),
    )
    .await;
    assert_eq!(
        text_of(&appended),
        batch,
        "seed {seed}, {crashes} crashes, {select}: incremental (left) and batch (right) differ"
    );
}

#[tokio::test]
async fn a_windowed_aggregate_equals_the_batch_answer_over_the_rows_its_windows_take() {
    for &(window, windows, retention) in WINDOW_QUERIES {
        for emit_final in [false, true] {
            for seed in 1..=30 {
                check_windowed_seed(seed, window, windows, retention, emit_final).await;
            }
        }
    }
}

/// Temporal filters over a table, each with the batch condition that says which rows it
/// holds when the clock reads `{now}`.
const TEMPORAL_FILTERS: &[(&str, &str)] = &[
    (
        "COALESCE(v, 0) > NOW() - INTERVAL '20' MILLISECONDS",
        "COALESCE(v, 0) > {now} - 20",
    ),
    (
        "COALESCE(v, 0) <= NOW() + INTERVAL '5' MILLISECONDS",
        "COALESCE(v, 0) <= {now} + 5",
    ),
    (
        "COALESCE(v, 0) BETWEEN NOW() - INTERVAL '12' MILLISECONDS AND NOW() + INTERVAL '3' MILLISECONDS",
        "COALESCE(v, 0) BETWEEN {now} - 12 AND {now} + 3",
    ),
];

/// A temporal filter run incrementally over a random history of a table, its clock moving a
/// little each epoch (some epochs without input), holds what DataFusion answers for the
/// table's final rows at the final clock.
#[tokio::test]
async fn a_temporal_filter_holds_the_rows_inside_their_bounds_at_the_last_clock() {
    let items = source("table items (id BIGINT KEY, g BIGINT, v BIGINT, s STRING)");
    for (condition, batch_condition) in TEMPORAL_FILTERS {
        let select = format!("SELECT id, g, v, s FROM items WHERE g <> 3 AND {condition}");
        let Dataflow::Stateless(plan) = table_dataflow(std::slice::from_ref(&items), &select).await
        else {
            panic!("{select} is stateless");
        };
        let filter = plan.temporal_filter.clone().expect("a temporal filter");
        for seed in 1..=40 {
            let mut random = fastrand::Rng::with_seed(seed);
            let (history, final_rows) = random_history(&mut random, false);
            let budget = *random.choice(&[1, 1 << 20]).expect("a budget");
            let make = || -> Vec<Box<dyn Operator>> {
                vec![
                    Box::new(TemporalFilterOperator::new(
                        filter.clone(),
                        items.queryable_schema(),
                        "randomized",
                        Arc::new(CacheBudget::new(budget)),
                    )),
                    Box::new(Steps::new(plan.steps.clone())),
                ]
            };
            // The clock starts before the values and moves through them, 0 to 5 ms an epoch,
            // and on for a few epochs after the input ends.
            let steps: Vec<i64> = (0..400).map(|_| random.i64(0..6)).collect();
            let clock_at = |epoch: usize| -20 + steps[..epoch.min(steps.len())].iter().sum::<i64>();
            let clock_epochs = random.usize(0..8);
            let (appended, crashes, epochs) =
                run_operators(&mut random, &items, &make, &history, clock_epochs, clock_at);
            let now = clock_at(epochs - 1);
            let final_rows: Vec<&str> = final_rows.iter().map(String::as_str).collect();
            let batch = batch_answer(
                &items,
                &changes(&items, &final_rows),
                &format!(
                    "SELECT id, g, v, s FROM items WHERE g <> 3 AND {}",
                    batch_condition.replace("{now}", &now.to_string())
                ),
            )
            .await;
            assert_eq!(
                text_of(&appended),
                batch,
                "seed {seed}, {crashes} crashes, clock {now}, {select}: incremental (left) and batch (right) differ"
            );
        }
    }
}
