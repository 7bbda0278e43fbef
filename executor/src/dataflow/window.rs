//! Time windows of a windowed GROUP BY (tumbling and hopping, and Flink's cumulating), under
//! ksqlDB's rules: the windows a row falls in (`[start, start + size)`, starts at multiples
//! of the advance, never below 0; cumulating: `[start, start + k·step)`, starts at multiples
//! of the size), the stream time that judges it (`stream_time.rs`: shared by every key, per
//! input partition, moved by each row before that row is judged), which rows are late (a
//! window takes a row while `end + grace > stream time`; a row no window takes is late), and
//! which windows have closed (`stream time ≥ end + grace`, as the epoch ends).
//!
//! The GROUP BY keys each window's state by (window start, group key), encoded by the row
//! codec, so states sort by window start and closing is a range read of the states below a
//! bound. Cumulating windows share starts, so each is keyed by its end minus the size (the
//! "start" the GROUP BY reports): keys then order windows by when they close, as starts do
//! for the others, and the planner computes the real start from the end. Stream time is
//! saved in each epoch's commit, so a restart never reopens a window.
//!
//! Never: read the clock, or let a window that has closed take a row.

use arrow::array::{Int64Array, UInt32Array};
use eddy_planner::{WindowKind, WindowPlan};
use eddy_storage::{StateBatch, StateStore};

use crate::dataflow::stream_time::StreamTime;
use crate::error::{DataError, EngineError, EngineResult};
use crate::row_codec::encode_keys;
use crate::state::keys::OperatorStateKeys;
use crate::state::operator_cache::OperatorCache;

/// The windows of one windowed GROUP BY, and the stream time that moves them.
pub(crate) struct Windowing {
    plan: WindowPlan,
    size_ms: i64,
    advance_ms: i64,
    /// A cumulating window's step: its windows end at each step of its size.
    cumulate_step_ms: Option<i64>,
    /// What a late row's message calls its time: ROWTIME, or a window TVF's time column.
    time_name: &'static str,
    stream_time: StreamTime,
    /// Windows close at their end plus grace: they take no row, and EMIT FINAL emits them.
    closes: Sweep,
    /// Windows expire at their start plus retention: their state goes, and their row leaves
    /// the result.
    expiries: Sweep,
    /// The states the last epoch created: its commit may still be in flight, so a range
    /// read of the store would miss them.
    recent: Vec<Vec<u8>>,
    /// The latest window start the store may hold a state for, committed or in flight: a
    /// window starting after it has none, and needs no read. `Some(i64::MIN)`: none
    /// stored; None: unknown (a query stored before this was kept), so every window is read.
    latest_start: Option<i64>,
    /// `latest_start` as the store holds it.
    saved_latest_start: Option<i64>,
    latest_start_key: Vec<u8>,
    /// Hopping windows kept as panes of the advance (`use_panes`): states are keyed by pane
    /// start, and a window's result is merged from its panes.
    panes: bool,
}

/// The pane `from` of a row every window holding its pane takes.
pub(crate) const EVERY_WINDOW: i64 = i64::MIN;

/// Which panes take which rows of a batch (hopping windows kept as panes).
pub(crate) struct PaneAssignment {
    /// The rows some window takes, in order.
    pub rows: UInt32Array,
    /// Each taken row's pane start.
    pub panes: Vec<i64>,
    /// Each taken row's first window start: `EVERY_WINDOW` when every window holding its
    /// pane takes it, else the first window still open when it came (the windows before
    /// had closed).
    pub froms: Vec<i64>,
    /// Rows no window took, with why.
    pub late: Vec<(usize, String)>,
    /// The stream time of the batch's partition after it.
    pub stream_time: Option<i64>,
}

/// Which windows take which rows of a batch.
pub(crate) struct Assignment {
    /// The row of each (row, window) pair, rows in order and each row's windows by start.
    pub rows: UInt32Array,
    /// The start of each pair's window.
    pub starts: Int64Array,
    /// Rows no window took, with why.
    pub late: Vec<(usize, String)>,
    /// The stream time of the batch's partition after it.
    pub stream_time: Option<i64>,
}

impl Windowing {
    pub fn new(
        plan: WindowPlan,
        time_name: &'static str,
        query_id: &str,
    ) -> EngineResult<Windowing> {
        let (size_ms, advance_ms, cumulate_step_ms) = match plan.kind {
            WindowKind::Tumbling { size_ms } => (size_ms, size_ms, None),
            WindowKind::Hopping {
                size_ms,
                advance_ms,
            } => (size_ms, advance_ms, None),
            WindowKind::Cumulating { step_ms, size_ms } => (size_ms, size_ms, Some(step_ms)),
            WindowKind::Session { .. } => {
                return Err(EngineError::Internal(
                    "session windows are not time windows".into(),
                ));
            }
        };
        Ok(Windowing {
            plan,
            size_ms,
            advance_ms,
            cumulate_step_ms,
            time_name,
            stream_time: StreamTime::new(query_id),
            closes: Sweep::default(),
            expiries: Sweep::default(),
            recent: Vec::new(),
            latest_start: None,
            saved_latest_start: None,
            latest_start_key: OperatorStateKeys::of(query_id).latest_window_start(),
            panes: false,
        })
    }

    /// Whether hopping windows could be kept as panes of the advance: each window is a whole
    /// number (more than one) of them.
    pub fn can_use_panes(&self) -> bool {
        self.cumulate_step_ms.is_none()
            && self.advance_ms > 0
            && self.size_ms > self.advance_ms
            && self.size_ms % self.advance_ms == 0
    }

    /// Keeps the windows as panes from now on (see `can_use_panes`).
    pub fn use_panes(&mut self) {
        self.panes = self.can_use_panes();
    }

    pub fn uses_panes(&self) -> bool {
        self.panes
    }

    /// A pane's width (the advance).
    pub fn pane_ms(&self) -> i64 {
        self.advance_ms
    }

    /// The first window (by start) holding the pane starting at `pane`: windows never start
    /// below 0.
    pub fn first_window_of(&self, pane: i64) -> i64 {
        pane.saturating_sub(self.size_ms)
            .saturating_add(self.advance_ms)
            .max(0)
    }

    /// The panes (and, with `use_panes`, the stored states) holding rows of the window
    /// starting at `start`: `start` and those up to this many ms after it.
    pub fn pane_reach_ms(&self) -> i64 {
        match self.panes {
            true => self.size_ms - self.advance_ms,
            false => 0,
        }
    }

    /// As `assign`, by panes: each row's pane and the first window that takes it, judged row
    /// by row as stream time moves. A row is taken by the windows holding its pane that
    /// are still open, which are the latest ones (windows close in start order).
    pub fn assign_panes(&self, rowtimes: &[i64], partition: Option<usize>) -> PaneAssignment {
        let mut rows = Vec::with_capacity(rowtimes.len());
        let mut panes = Vec::with_capacity(rowtimes.len());
        let mut froms = Vec::with_capacity(rowtimes.len());
        let mut late = Vec::new();
        let (stream_times, stream_time) = self.stream_time.through(rowtimes, partition);
        for (row, (&rowtime, &now)) in rowtimes.iter().zip(&stream_times).enumerate() {
            let pane = rowtime - rowtime.rem_euclid(self.advance_ms);
            let first = self.first_window_of(pane);
            // The first window start whose close is after `now`.
            let open_from = now
                .saturating_sub(self.size_ms)
                .saturating_sub(self.plan.grace_ms)
                .div_euclid(self.advance_ms)
                .saturating_mul(self.advance_ms)
                .saturating_add(self.advance_ms);
            let from = first.max(open_from);
            if from > pane {
                late.push((row, self.late_reason(rowtime, pane, now)));
                continue;
            }
            rows.push(row as u32);
            panes.push(pane);
            froms.push(match from == first {
                true => EVERY_WINDOW,
                false => from,
            });
        }
        PaneAssignment {
            rows: UInt32Array::from(rows),
            panes,
            froms,
            late,
            stream_time,
        }
    }

    pub fn emits_final(&self) -> bool {
        self.plan.emit_final
    }

    pub fn size_ms(&self) -> i64 {
        self.size_ms
    }

    /// The most windows a row falls in: size / advance rounded up (hopping), size / step
    /// (cumulating), 1 (tumbling).
    pub fn windows_per_row(&self) -> usize {
        let step_ms = self.cumulate_step_ms.unwrap_or(self.advance_ms);
        let size = u64::try_from(self.size_ms).unwrap_or(0);
        let step = u64::try_from(step_ms).unwrap_or(1).max(1);
        usize::try_from(size.div_ceil(step))
            .unwrap_or(usize::MAX)
            .max(1)
    }

    /// Reads the stream time a restarted query had reached (see `StreamTime::load`).
    pub fn load(&mut self, state: &dyn StateStore) -> EngineResult<()> {
        if self.stream_time.load(state)? {
            let time = self.stream_time.get();
            self.closes.start(time.map(|time| self.close_bound(time)));
            self.expiries
                .start(time.map(|time| self.expiry_bound(time)));
            let stored = state.get(OperatorStateKeys::KEYSPACE, &self.latest_start_key)?;
            self.latest_start = match (stored, time) {
                (Some(bytes), _) => Some(i64::from_be_bytes(bytes.as_slice().try_into().map_err(
                    |_| EngineError::Internal("a stored window start is not 8 bytes".into()),
                )?)),
                // A query that has taken no row has stored no window.
                (None, None) => Some(i64::MIN),
                (None, Some(_)) => None,
            };
            self.saved_latest_start = self.latest_start;
        }
        Ok(())
    }

    /// Whether the store may hold a state for the window starting at `start`.
    pub fn may_be_stored(&self, start: i64) -> bool {
        self.latest_start.is_none_or(|latest| start <= latest)
    }

    /// The windows that take each row of `rowtimes` (in input order), judged row by row as
    /// stream time moves. Changes nothing: `accept` keeps the stream time it reached.
    pub fn assign(&self, rowtimes: &[i64], partition: Option<usize>) -> Assignment {
        let mut rows = Vec::with_capacity(rowtimes.len());
        let mut starts = Vec::with_capacity(rowtimes.len());
        let mut late = Vec::new();
        let (stream_times, stream_time) = self.stream_time.through(rowtimes, partition);
        for (row, (&rowtime, &now)) in rowtimes.iter().zip(&stream_times).enumerate() {
            let (first_key, last_key, step) = self.keys_taking(rowtime);
            let mut taken = false;
            let mut key = first_key;
            while key <= last_key {
                if self.close_time(key) > now {
                    rows.push(row as u32);
                    starts.push(key);
                    taken = true;
                }
                key += step;
            }
            if !taken {
                late.push((row, self.late_reason(rowtime, last_key, now)));
            }
        }
        Assignment {
            rows: UInt32Array::from(rows),
            starts: Int64Array::from(starts),
            late,
            stream_time,
        }
    }

    /// The keys of the windows a row at `time` falls in, in order: the first, the last and
    /// the step between them. The last is the window that closes last.
    fn keys_taking(&self, time: i64) -> (i64, i64, i64) {
        match self.cumulate_step_ms {
            None => {
                let last_start = time - time.rem_euclid(self.advance_ms);
                let earliest = (time - self.size_ms + self.advance_ms).max(0);
                let first_start = earliest - earliest.rem_euclid(self.advance_ms);
                (first_start, last_start, self.advance_ms)
            }
            Some(step_ms) => {
                // Windows [start, start + k·step) whose end is past `time`, keyed by end − size.
                let start = time - time.rem_euclid(self.size_ms);
                let first_end = time - time.rem_euclid(step_ms) + step_ms;
                (first_end - self.size_ms, start, step_ms)
            }
        }
    }

    /// Keeps the stream time a batch read from `partition` reached.
    pub fn accept(&mut self, partition: Option<usize>, stream_time: Option<i64>) {
        self.stream_time.take(partition, stream_time);
    }

    /// Moves stream time as the epoch ends (`StreamTime::settle`), before windows close.
    pub fn settle(&mut self, behind: &[usize]) {
        self.stream_time.settle(behind);
    }

    pub fn stream_time(&self) -> Option<i64> {
        self.stream_time.get()
    }

    /// Moves stream time to `time` if it is behind (the query's input went quiet).
    pub fn advance_to(&mut self, time: i64) {
        self.stream_time.advance_to(time);
    }

    /// Whether the window starting at `start` closed in this epoch's sweep.
    pub fn closed_now(&self, start: i64) -> bool {
        self.closes.newly_passed(start)
    }

    /// Whether the window starting at `start` has passed its retention.
    pub fn is_expired(&self, start: i64) -> bool {
        self.expiries.passed(start)
    }

    /// Whether the window starting at `start` passed its retention in this epoch's sweep.
    pub fn expired_now(&self, start: i64) -> bool {
        self.expiries.newly_passed(start)
    }

    /// The keys of stored windows that closed since the last epoch (EMIT FINAL emits them).
    pub fn newly_closed(
        &mut self,
        state: &dyn StateStore,
        states: &OperatorCache,
    ) -> EngineResult<Vec<Vec<u8>>> {
        let bound = self.stream_time.get().map(|time| self.close_bound(time));
        let reach = self.pane_reach_ms();
        self.closes
            .advance(bound, reach, state, states, &self.recent)
    }

    /// The keys of stored windows that passed their retention since the last epoch.
    pub fn newly_expired(
        &mut self,
        state: &dyn StateStore,
        states: &OperatorCache,
    ) -> EngineResult<Vec<Vec<u8>>> {
        let bound = self.stream_time.get().map(|time| self.expiry_bound(time));
        let reach = self.pane_reach_ms();
        self.expiries
            .advance(bound, reach, state, states, &self.recent)
    }

    /// Ends the epoch's bookkeeping: the states it created (for the next sweeps), and its
    /// stream time and latest window start into its commit.
    /// `latest_created` is the latest start among the windows it created.
    pub fn end_epoch(
        &mut self,
        created: Vec<Vec<u8>>,
        latest_created: Option<i64>,
        state_changes: &mut StateBatch,
    ) {
        self.recent = created;
        self.stream_time.save(state_changes);
        if let (Some(latest), Some(created)) = (self.latest_start, latest_created) {
            self.latest_start = Some(latest.max(created));
        }
        if self.latest_start != self.saved_latest_start
            && let Some(latest) = self.latest_start
        {
            state_changes.put(
                OperatorStateKeys::KEYSPACE,
                self.latest_start_key.clone(),
                latest.to_be_bytes().to_vec(),
            );
            self.saved_latest_start = self.latest_start;
        }
    }

    /// The latest window start whose retention has passed at `stream_time`.
    fn expiry_bound(&self, stream_time: i64) -> i64 {
        stream_time.saturating_sub(self.plan.retention_ms)
    }

    /// When the window starting at `start` closes, in stream time.
    fn close_time(&self, start: i64) -> i64 {
        start
            .saturating_add(self.size_ms)
            .saturating_add(self.plan.grace_ms)
    }

    /// The latest window start that has closed at `stream_time`.
    fn close_bound(&self, stream_time: i64) -> i64 {
        stream_time
            .saturating_sub(self.plan.grace_ms)
            .saturating_sub(self.size_ms)
    }

    fn late_reason(&self, rowtime: i64, start: i64, stream_time: i64) -> String {
        format!(
            "late row: {} {rowtime} is past the grace period of its window [{start}, {}): the window closed at {}, and stream time is {stream_time}",
            self.time_name,
            start.saturating_add(self.size_ms),
            self.close_time(start)
        )
    }
}

/// States whose leading time (a window's start, a session's end) falls at or below a bound
/// that moves with stream time, found a range at a time: the committed states between the
/// last bound and the new one, and the states the last epoch created below the new one.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Sweep {
    /// Every state at or below this has been swept.
    through: Option<i64>,
    /// `through` before this epoch's sweep.
    before: Option<i64>,
}

impl Sweep {
    /// Starts from what a restarted query had swept.
    pub fn start(&mut self, through: Option<i64>) {
        self.through = through;
        self.before = through;
    }

    /// Moves the bound to `bound`: the keys of the states that passed it now, and of those
    /// up to `reach` after it (a window's later panes).
    pub fn advance(
        &mut self,
        bound: Option<i64>,
        reach: i64,
        state: &dyn StateStore,
        states: &OperatorCache,
        recent: &[Vec<u8>],
    ) -> EngineResult<Vec<Vec<u8>>> {
        self.before = self.through;
        let Some(bound) = bound else {
            return Ok(Vec::new());
        };
        if self.through.is_some_and(|through| through >= bound) {
            return Ok(Vec::new());
        }
        let to = start_key(bound.saturating_add(reach).saturating_add(1))?;
        let from = match self.through {
            Some(through) => start_key(through.saturating_add(1))?,
            None => Vec::new(),
        };
        let mut keys = states.committed_keys_between(state, &from, &to)?;
        for key in recent {
            if *key >= from && *key < to && !keys.contains(key) {
                keys.push(key.clone());
            }
        }
        keys.sort_unstable();
        self.through = Some(bound);
        Ok(keys)
    }

    /// Whether `time` is at or below the bound.
    pub fn passed(&self, time: i64) -> bool {
        self.through.is_some_and(|through| time <= through)
    }

    /// Whether `time` passed the bound in this epoch's sweep.
    pub fn newly_passed(&self, time: i64) -> bool {
        self.passed(time) && self.before.is_none_or(|before| time > before)
    }
}

/// The encoded key of the first state of windows starting at `start`: every state of such
/// a window (window start, then group key) begins with it.
pub(crate) fn start_key(start: i64) -> EngineResult<Vec<u8>> {
    let starts: arrow::array::ArrayRef = std::sync::Arc::new(Int64Array::from(vec![start]));
    let encoded = encode_keys(&[starts], 1)?;
    Ok(encoded
        .iter()
        .next()
        .map(<[u8]>::to_vec)
        .unwrap_or_default())
}

/// A late row as the processing log records it.
pub(crate) fn late_error(reason: String) -> EngineError {
    DataError::Late(reason).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn windowing(kind: WindowKind, grace_ms: i64) -> Windowing {
        let plan = WindowPlan {
            kind,
            grace_ms,
            retention_ms: i64::MAX,
            emit_final: false,
            idle_timeout_ms: None,
        };
        let mut windowing = Windowing::new(plan, "ROWTIME", "test").expect("a time window");
        windowing.stream_time = StreamTime::started("test");
        windowing
    }

    fn pairs(assignment: &Assignment) -> Vec<(u32, i64)> {
        assignment
            .rows
            .values()
            .iter()
            .copied()
            .zip(assignment.starts.values().iter().copied())
            .collect()
    }

    #[test]
    fn hopping_windows_never_start_below_zero_and_come_in_start_order() {
        let hopping = windowing(
            WindowKind::Hopping {
                size_ms: 30_000,
                advance_ms: 5_000,
            },
            0,
        );
        let assignment = hopping.assign(&[0, 12_000], Some(0));
        assert_eq!(
            pairs(&assignment),
            [(0, 0), (1, 0), (1, 5_000), (1, 10_000)]
        );
        assert!(assignment.late.is_empty());
    }

    /// Cumulating windows share their start and are keyed by end − size, so they come in the
    /// order they close, and a row's windows are those that end after it.
    #[test]
    fn cumulating_windows_grow_by_step_and_close_by_end() {
        let mut cumulating = windowing(
            WindowKind::Cumulating {
                step_ms: 10,
                size_ms: 30,
            },
            0,
        );
        // Row 0 at 0: [0,10), [0,20), [0,30). Row 1 at 25: [0,30). Row 2 at 40: [30,50),
        // [30,60). Keys are end − 30.
        let first = cumulating.assign(&[0, 25, 40], Some(0));
        assert_eq!(
            pairs(&first),
            [(0, -20), (0, -10), (0, 0), (1, 0), (2, 20), (2, 30)]
        );
        cumulating.accept(Some(0), first.stream_time);
        // Stream time 40: [30,40) has closed, [30,50) and [30,60) still take rows.
        let second = cumulating.assign(&[35, 29], Some(0));
        assert_eq!(pairs(&second), [(0, 20), (0, 30)]);
        assert_eq!(
            second.late,
            [(
                1,
                "late row: ROWTIME 29 is past the grace period of its window [0, 30): the window closed at 30, and stream time is 40".to_string()
            )]
        );
    }

    /// `windows_per_row` bounds what `assign` makes of a row, and is reached, so that the
    /// epochs it sizes hold the work they were meant to.
    #[test]
    fn windows_per_row_is_the_most_windows_a_row_falls_in() {
        let kinds = [
            (WindowKind::Tumbling { size_ms: 10 }, 1),
            (
                WindowKind::Hopping {
                    size_ms: 10,
                    advance_ms: 2,
                },
                5,
            ),
            (
                WindowKind::Hopping {
                    size_ms: 10,
                    advance_ms: 3,
                },
                4,
            ),
            (
                WindowKind::Cumulating {
                    step_ms: 5,
                    size_ms: 20,
                },
                4,
            ),
        ];
        for (kind, expected) in kinds {
            let windowing = windowing(kind, 1_000);
            assert_eq!(windowing.windows_per_row(), expected, "{kind:?}");
            let times: Vec<i64> = (100..200).collect();
            let assignment = windowing.assign(&times, Some(0));
            let mut per_row = vec![0; times.len()];
            for &row in assignment.rows.values() {
                per_row[row as usize] += 1;
            }
            assert_eq!(per_row.iter().max(), Some(&expected), "{kind:?}");
        }
    }

    /// A row goes to its pane for the windows holding it that are still open: all of them,
    /// or only the later ones once the earlier have closed.
    #[test]
    fn a_row_goes_to_its_pane_for_the_windows_still_open() {
        let mut hopping = windowing(
            WindowKind::Hopping {
                size_ms: 10,
                advance_ms: 2,
            },
            5,
        );
        hopping.use_panes();
        assert!(hopping.uses_panes());
        let assignment = hopping.assign_panes(&[3, 30, 16, 3], Some(0));
        assert_eq!(assignment.rows.values(), &[0, 1, 2]);
        assert_eq!(assignment.panes, [2, 30, 16]);
        // At stream time 30, window [14, 24) has closed (at 29) and [16, 26) is open.
        assert_eq!(assignment.froms, [EVERY_WINDOW, EVERY_WINDOW, 16]);
        assert_eq!(
            assignment.late,
            [(
                3,
                "late row: ROWTIME 3 is past the grace period of its window [2, 12): the window closed at 17, and stream time is 30".to_string()
            )]
        );
    }

    /// Property: the windows a pane assignment gives each row (`from`, or the first holding
    /// its pane, through its pane) are those `assign` gives it, and late rows are the same.
    #[test]
    fn panes_give_each_row_the_windows_assign_gives_it() {
        let mut random = fastrand::Rng::with_seed(15);
        for (size_ms, advance_ms) in [(10, 2), (10, 5), (6, 1), (30, 10)] {
            for grace_ms in [0, 3, 20] {
                let kind = WindowKind::Hopping {
                    size_ms,
                    advance_ms,
                };
                let mut by_window = windowing(kind, grace_ms);
                let mut by_pane = windowing(kind, grace_ms);
                by_pane.use_panes();
                for _ in 0..20 {
                    let times: Vec<i64> = (0..random.usize(1..30))
                        .map(|_| random.i64(-5..200))
                        .collect();
                    let windows = by_window.assign(&times, Some(0));
                    let panes = by_pane.assign_panes(&times, Some(0));
                    let mut expanded = Vec::new();
                    for ((&row, &pane), &from) in panes
                        .rows
                        .values()
                        .iter()
                        .zip(&panes.panes)
                        .zip(&panes.froms)
                    {
                        let mut start = match from {
                            EVERY_WINDOW => by_pane.first_window_of(pane),
                            from => from,
                        };
                        while start <= pane {
                            expanded.push((row, start));
                            start += advance_ms;
                        }
                    }
                    let context = format!(
                        "size {size_ms}, advance {advance_ms}, grace {grace_ms}, times {times:?}"
                    );
                    assert_eq!(expanded, pairs(&windows), "{context}");
                    assert_eq!(panes.late, windows.late, "{context}");
                    by_window.accept(Some(0), windows.stream_time);
                    by_pane.accept(Some(0), panes.stream_time);
                }
            }
        }
    }

    /// qtt/tumbling-windows.json "out of order - explicit grace period": stream time is
    /// shared by every key, and a window closes at exactly its end plus grace.
    #[test]
    fn a_row_is_late_once_stream_time_reaches_its_windows_end_plus_grace() {
        let mut tumbling = windowing(WindowKind::Tumbling { size_ms: 30_000 }, 60_000);
        let first = tumbling.assign(&[0, 89_999, 10_000], Some(0));
        assert_eq!(pairs(&first), [(0, 0), (1, 60_000), (2, 0)]);
        tumbling.accept(Some(0), first.stream_time);
        let second = tumbling.assign(&[90_000, 10_009], Some(0));
        assert_eq!(pairs(&second), [(0, 90_000)]);
        assert_eq!(second.late.len(), 1);
        assert_eq!(
            second.late[0],
            (
                1,
                "late row: ROWTIME 10009 is past the grace period of its window [0, 30000): the window closed at 90000, and stream time is 90000".to_string()
            )
        );
    }

    /// Rows in order within their partitions are not late because another partition's rows
    /// of the same epoch came first: each is judged against its own partition's stream
    /// time and the epoch's start, as a merge of the partitions by time would judge it.
    #[test]
    fn an_epochs_rows_are_judged_by_their_own_partitions_stream_time() {
        let mut tumbling = windowing(WindowKind::Tumbling { size_ms: 1_000 }, 0);
        let first = tumbling.assign(&[0, 1_500, 3_500], Some(0));
        tumbling.accept(Some(0), first.stream_time);
        let second = tumbling.assign(&[500, 2_500, 1_200], Some(1));
        assert_eq!(pairs(&second), [(0, 0), (1, 2_000)]);
        assert_eq!(
            second.late.len(),
            1,
            "1200 is late within its own partition"
        );
        tumbling.accept(Some(1), second.stream_time);
        tumbling.settle(&[]);
        assert_eq!(tumbling.stream_time(), Some(3_500));
        tumbling.stream_time.save(&mut StateBatch::default());
        // The next epoch judges every row against the stream time the last one ended at.
        let third = tumbling.assign(&[2_900], Some(1));
        assert_eq!(third.late.len(), 1);
    }
}
