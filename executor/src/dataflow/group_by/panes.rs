//! Hopping windows kept as panes of the advance (Flink's slicing): a window of size `n ×
//! advance` is the union of `n` consecutive panes, so a row updates the one pane it falls in
//! instead of the `n` windows holding it, and only the pane's state is stored. At the
//! epoch's end each window the epoch touched (or that closed or expired) is merged from its
//! panes' states (`Accumulator::merge_kept`), before the epoch's rows for its old row and
//! after them for its new one.
//!
//! A row that comes when the earliest windows holding its pane have closed is taken only by
//! the later ones (`PaneAssignment::froms`): it goes to a part of its pane for the windows
//! from the first open one, so a closed window never changes. A pane's stored value holds
//! every part (usually one: the rows every window takes). Only an append-only input whose
//! aggregates merge to the same bits (`AggregateFunction::merges_exactly`) is paned, so a
//! window's answer is the one its rows give row by row.
//!
//! State: one value per (pane start, group key), under the group states' prefix; a pane
//! goes when the last window holding it (the one starting with it) expires, and the sweeps
//! that find closing and expiring windows read the panes up to a window's size past their
//! bound.
//!
//! Never: store a window's state, or let a row reach a window that had closed when it came.

use std::sync::Arc;

use arrow::array::{ArrayRef, AsArray, Int64Array, UInt32Array};
use arrow::compute::take;
use arrow::datatypes::{DataType, Int64Type};
use datafusion::common::HashMap;
use datafusion::logical_expr::EmitTo;
use eddy_storage::{StateBatch, StateStore};

use super::{
    AggregateChanges, Epoch, GROUP_STATE_VERSION, GroupBy, Windows, data_error, load_group,
    save_group,
};
use crate::dataflow::aggregate::Accumulator;
use crate::dataflow::window::EVERY_WINDOW;
use crate::error::{EngineError, EngineResult};
use crate::row_codec::{decode_keys, encode_keys};

/// The format of a stored pane; bumped when the layout changes.
const PANE_STATE_VERSION: u8 = 2;

/// Each taken row's pane and first window, kept with an epoch's pending rows.
pub(super) struct PaneRows {
    pub starts: Vec<i64>,
    pub froms: Vec<i64>,
}

/// The rows of one group key in one pane that the same windows take, in an epoch. Its index
/// is its slot in the epoch's accumulators.
struct Part {
    key: usize,
    pane: i64,
    /// The first window taking its rows (`EVERY_WINDOW`: all holding the pane).
    from: i64,
    /// The latest rowtime of its rows.
    rowtime: i64,
    /// Read from the store (or the cache) at the epoch's start.
    stored: bool,
}

/// A window of one group key that the epoch computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct PanedWindow {
    key: usize,
    start: i64,
    /// Took rows in this epoch (else: closed or expired in it).
    touched: bool,
}

fn internal(message: &str) -> EngineError {
    EngineError::Internal(message.into())
}

impl GroupBy {
    /// Ends an epoch of hopping windows kept as panes: the windows' changes, and the
    /// touched panes' states into `state_changes`.
    pub(super) fn finish_panes(
        &mut self,
        mut epoch: Epoch,
        state: &dyn StateStore,
        state_changes: &mut StateBatch,
    ) -> EngineResult<AggregateChanges> {
        let Some(Windows::Time(windowing)) = &mut self.windows else {
            return Err(internal(
                "a paned epoch of an aggregation without time windows",
            ));
        };
        windowing.load(state)?;
        let emits_final = windowing.emits_final();
        let closed = match emits_final {
            true => windowing.newly_closed(state, &self.states)?,
            false => Vec::new(),
        };
        let expired = windowing.newly_expired(state, &self.states)?;
        let Some(Windows::Time(windowing)) = &self.windows else {
            return Err(internal(
                "a paned epoch of an aggregation without time windows",
            ));
        };
        let pane_ms = windowing.pane_ms();
        let reach = windowing.pane_reach_ms();
        // The swept panes' keys join the epoch's group keys.
        let mut swept: Vec<(usize, i64)> = Vec::new();
        let swept_keys: Vec<Vec<u8>> = closed.into_iter().chain(expired).collect();
        if !swept_keys.is_empty() {
            let types: Vec<DataType> = std::iter::once(DataType::Int64)
                .chain(
                    self.group_schema
                        .fields()
                        .iter()
                        .map(|field| field.data_type().clone()),
                )
                .collect();
            let columns = decode_keys(&types, &swept_keys)?;
            let mut keys = Vec::new();
            epoch.interner.intern(&columns[1..], &mut keys)?;
            let starts = columns[0].as_primitive::<Int64Type>();
            swept = keys
                .into_iter()
                .zip(starts.values().iter().copied())
                .collect();
        }
        let group_keys = epoch.interner.emit(EmitTo::All)?;

        // The parts the epoch's rows fall in, numbered as they first come.
        let mut parts: Vec<Part> = Vec::new();
        let mut part_of: HashMap<(usize, i64, i64), usize> = HashMap::new();
        let mut row_parts: Vec<Vec<usize>> = Vec::with_capacity(epoch.pending.len());
        for pending in &epoch.pending {
            let panes = pending
                .panes
                .as_ref()
                .ok_or_else(|| internal("a paned aggregation's rows lack their panes"))?;
            let slots = pending
                .groups
                .iter()
                .zip(&panes.starts)
                .zip(&panes.froms)
                .map(|((&key, &pane), &from)| {
                    *part_of.entry((key, pane, from)).or_insert_with(|| {
                        parts.push(Part {
                            key,
                            pane,
                            from,
                            rowtime: i64::MIN,
                            stored: false,
                        });
                        parts.len() - 1
                    })
                })
                .collect();
            row_parts.push(slots);
        }
        let touched_parts = parts.len();

        // The windows to compute, by key and start: with EMIT CHANGES every window a row
        // went to; those that closed (EMIT FINAL) or expired in this epoch.
        let first_taking = |part: &Part| match part.from {
            EVERY_WINDOW => windowing.first_window_of(part.pane),
            from => from,
        };
        let wanted = |start: i64, touched: bool| {
            let expired = match touched {
                true => windowing.is_expired(start),
                false => windowing.expired_now(start),
            };
            expired || (emits_final && windowing.closed_now(start)) || (touched && !emits_final)
        };
        let mut by_pane: Vec<usize> = (0..parts.len()).collect();
        by_pane.sort_unstable_by_key(|&part| (parts[part].key, parts[part].pane));
        let mut windows: Vec<PanedWindow> = Vec::new();
        // A key's parts in pane order: each part's windows `[first, pane]`, less those of
        // the run of windows already listed for the key (`covered`); any repeat left is
        // merged below.
        let mut covered: Option<(usize, i64, i64)> = None;
        for &part in &by_pane {
            let part = &parts[part];
            let (first, last) = (first_taking(part), part.pane);
            let mut start = first;
            match covered {
                Some((key, low, high))
                    if key == part.key && first >= low && first <= high.saturating_add(pane_ms) =>
                {
                    start = first.max(high.saturating_add(pane_ms));
                    covered = Some((key, low, high.max(last)));
                }
                _ => covered = Some((part.key, first, last)),
            }
            while start <= last {
                if wanted(start, true) {
                    windows.push(PanedWindow {
                        key: part.key,
                        start,
                        touched: true,
                    });
                }
                start = start.saturating_add(pane_ms);
            }
        }
        for &(key, pane) in &swept {
            let mut start = windowing.first_window_of(pane);
            while start <= pane {
                if wanted(start, false) {
                    windows.push(PanedWindow {
                        key,
                        start,
                        touched: false,
                    });
                }
                start = start.saturating_add(pane_ms);
            }
        }
        windows.sort_unstable();
        windows.dedup_by(|later, earlier| {
            let same = later.key == earlier.key && later.start == earlier.start;
            if same {
                earlier.touched |= later.touched;
            }
            same
        });

        // The panes to read: each window's, and each part's.
        let mut panes: Vec<(usize, i64)> = Vec::with_capacity(windows.len() + parts.len());
        let mut next: Option<(usize, i64)> = None;
        for window in &windows {
            let mut pane = window.start;
            if let Some((key, next)) = next
                && key == window.key
            {
                pane = pane.max(next);
            }
            let last = window.start.saturating_add(reach);
            while pane <= last {
                panes.push((window.key, pane));
                pane = pane.saturating_add(pane_ms);
            }
            next = Some((window.key, pane));
        }
        panes.extend(
            by_pane
                .iter()
                .map(|&part| (parts[part].key, parts[part].pane)),
        );
        panes.sort_unstable();
        panes.dedup();
        let pane_index: HashMap<(usize, i64), usize> = panes
            .iter()
            .enumerate()
            .map(|(index, &pane)| (pane, index))
            .collect();
        let mut pane_parts: Vec<Vec<usize>> = vec![Vec::new(); panes.len()];
        for (index, part) in parts.iter().enumerate() {
            pane_parts[pane_index[&(part.key, part.pane)]].push(index);
        }
        let encoded: Vec<Vec<u8>> = match panes.len() {
            0 => Vec::new(),
            count => {
                let starts: ArrayRef = Arc::new(Int64Array::from_iter_values(
                    panes.iter().map(|pane| pane.1),
                ));
                let indices = UInt32Array::from_iter_values(panes.iter().map(|pane| pane.0 as u32));
                let mut columns = vec![starts];
                for column in &group_keys {
                    columns.push(take(column, &indices, None)?);
                }
                encode_keys(&columns, count)?
                    .iter()
                    .map(<[u8]>::to_vec)
                    .collect()
            }
        };

        // The stored panes, into their parts' slots (new parts for parts no row touched).
        let (mut row_counts, mut accumulators) = self.new_accumulators()?;
        let readable: Vec<usize> = (0..panes.len())
            .filter(|&pane| windowing.may_be_stored(panes[pane].1))
            .collect();
        let read_keys: Vec<Vec<u8>> = readable.iter().map(|&pane| encoded[pane].clone()).collect();
        self.states.read(state, &read_keys, |index, bytes| {
            let pane = readable[index];
            let (key, start) = panes[pane];
            for (from, group_state) in parse_pane(bytes)? {
                let slot = match pane_parts[pane]
                    .iter()
                    .find(|&&part| parts[part].from == from)
                {
                    Some(&part) => part,
                    None => {
                        parts.push(Part {
                            key,
                            pane: start,
                            from,
                            rowtime: i64::MIN,
                            stored: false,
                        });
                        pane_parts[pane].push(parts.len() - 1);
                        parts.len() - 1
                    }
                };
                parts[slot].rowtime =
                    load_group(group_state, slot, &mut row_counts, &mut accumulators)?;
                parts[slot].stored = true;
            }
            Ok(())
        })?;

        // Each window's parts: its panes' parts that take rows from it on.
        let mut window_parts: Vec<Vec<usize>> = Vec::with_capacity(windows.len());
        for window in &windows {
            let first = pane_index
                .get(&(window.key, window.start))
                .copied()
                .ok_or_else(|| internal("a window's first pane is not listed"))?;
            let span = (reach / pane_ms) as usize + 1;
            let mut taking = Vec::new();
            for pane in first..(first + span).min(panes.len()) {
                if panes[pane].0 != window.key {
                    break;
                }
                taking.extend(
                    pane_parts[pane]
                        .iter()
                        .copied()
                        .filter(|&part| parts[part].from <= window.start),
                );
            }
            window_parts.push(taking);
        }
        let old_base = parts.len();
        let new_base = old_base + windows.len();
        let merge_into = |base: usize,
                          only_stored: bool,
                          parts: &[Part],
                          row_counts: &mut Accumulator,
                          accumulators: &mut [Accumulator]|
         -> EngineResult<(Vec<bool>, Vec<i64>)> {
            let mut pairs = Vec::new();
            let mut any = vec![false; windows.len()];
            let mut rowtimes = vec![i64::MIN; windows.len()];
            for (window, taking) in window_parts.iter().enumerate() {
                for &part in taking {
                    if only_stored && !parts[part].stored {
                        continue;
                    }
                    pairs.push((base + window, part));
                    any[window] = true;
                    rowtimes[window] = rowtimes[window].max(parts[part].rowtime);
                }
            }
            row_counts.merge_kept(&pairs).map_err(data_error)?;
            for accumulator in accumulators.iter_mut() {
                accumulator.merge_kept(&pairs).map_err(data_error)?;
            }
            Ok((any, rowtimes))
        };

        // Old rows: the touched windows as their stored panes make them.
        let (existed, old_rowtimes) = match emits_final {
            true => (vec![false; windows.len()], vec![i64::MIN; windows.len()]),
            false => merge_into(old_base, true, &parts, &mut row_counts, &mut accumulators)?,
        };
        let before: Vec<usize> = (0..windows.len())
            .filter(|&window| windows[window].touched && existed[window])
            .collect();
        let before_rows =
            self.window_rows(&group_keys, &windows, &before, old_base, &accumulators)?;
        let before_rowtimes: Vec<i64> = before.iter().map(|&window| old_rowtimes[window]).collect();

        for (pending, slots) in epoch.pending.iter().zip(&row_parts) {
            row_counts
                .update(slots, None, &pending.weights, &[])
                .map_err(data_error)?;
            for (accumulator, arg) in accumulators.iter_mut().zip(&pending.args) {
                accumulator
                    .update(slots, arg.as_ref(), &pending.weights, &pending.sequences)
                    .map_err(data_error)?;
            }
            for (&slot, &rowtime) in slots.iter().zip(pending.rowtimes.values()) {
                parts[slot].rowtime = parts[slot].rowtime.max(rowtime);
            }
        }
        let (_, rowtimes) =
            merge_into(new_base, false, &parts, &mut row_counts, &mut accumulators)?;
        let new_slots: Vec<usize> = (new_base..new_base + windows.len()).collect();
        let counts = row_counts.evaluate(&new_slots).map_err(data_error)?;
        let counts = counts.as_primitive::<Int64Type>();
        let window_keys = |chosen: &[usize]| -> EngineResult<Vec<Vec<u8>>> {
            if chosen.is_empty() {
                return Ok(Vec::new());
            }
            let starts: ArrayRef = Arc::new(Int64Array::from_iter_values(
                chosen.iter().map(|&window| windows[window].start),
            ));
            let indices = UInt32Array::from_iter_values(
                chosen.iter().map(|&window| windows[window].key as u32),
            );
            let mut columns = vec![starts];
            for column in &group_keys {
                columns.push(take(column, &indices, None)?);
            }
            Ok(encode_keys(&columns, chosen.len())?
                .iter()
                .map(<[u8]>::to_vec)
                .collect())
        };
        // In window order, as the store orders windows.
        let in_window_order = |mut chosen: Vec<usize>| -> EngineResult<Vec<usize>> {
            let keys = window_keys(&chosen)?;
            let mut order: Vec<usize> = (0..chosen.len()).collect();
            order.sort_unstable_by(|&a, &b| keys[a].cmp(&keys[b]));
            chosen = order.into_iter().map(|index| chosen[index]).collect();
            Ok(chosen)
        };
        let after: Vec<usize> = match emits_final {
            true => in_window_order(
                (0..windows.len())
                    .filter(|&window| {
                        windowing.closed_now(windows[window].start) && counts.value(window) > 0
                    })
                    .collect(),
            )?,
            false => (0..windows.len())
                .filter(|&window| windows[window].touched && counts.value(window) > 0)
                .collect(),
        };
        let after_rows =
            self.window_rows(&group_keys, &windows, &after, new_base, &accumulators)?;
        let after_rowtimes: Vec<i64> = after.iter().map(|&window| rowtimes[window]).collect();
        // Windows past their retention leave the result: their last row, discarded.
        let expiring = in_window_order(
            (0..windows.len())
                .filter(|&window| {
                    let start = windows[window].start;
                    let expired = match windows[window].touched {
                        true => windowing.is_expired(start),
                        false => windowing.expired_now(start),
                    };
                    expired && counts.value(window) > 0
                })
                .collect(),
        )?;
        let discarded = match expiring.is_empty() {
            true => None,
            false => Some((
                self.window_rows(&group_keys, &windows, &expiring, new_base, &accumulators)?,
                Int64Array::from_iter_values(expiring.iter().map(|&window| rowtimes[window])),
            )),
        };

        // The panes' new states: a touched pane's parts; a pane whose last window expired
        // goes.
        let mut created = Vec::new();
        let mut latest_created: Option<i64> = None;
        let mut writes: Vec<(usize, Option<Vec<u8>>)> = Vec::new();
        for (pane, holding) in pane_parts.iter_mut().enumerate() {
            let stored = holding.iter().any(|&part| parts[part].stored);
            let touched = holding.iter().any(|&part| part < touched_parts);
            let start = panes[pane].1;
            if windowing.is_expired(start) {
                if stored {
                    writes.push((pane, None));
                }
                continue;
            }
            if !touched {
                continue;
            }
            if !stored {
                created.push(encoded[pane].clone());
                latest_created = Some(latest_created.map_or(start, |latest| latest.max(start)));
            }
            holding.sort_unstable_by_key(|&part| parts[part].from);
            writes.push((
                pane,
                Some(save_pane(holding, &parts, &row_counts, &accumulators)),
            ));
        }
        self.states.begin_writes();
        for (pane, value) in writes {
            self.states
                .write(encoded[pane].clone(), value, state_changes);
        }
        self.states.end_writes();
        if let Some(Windows::Time(windowing)) = &mut self.windows {
            windowing.end_epoch(created, latest_created, state_changes);
        }
        AggregateChanges::retracting(
            &self.plan.aggregate_schema,
            (&before, &before_rows, before_rowtimes),
            (&after, &after_rows, after_rowtimes),
            emits_final,
            discarded,
        )
    }

    /// The aggregate's rows of `chosen` windows: their group keys and bounds, and each
    /// aggregate's result from the window's slot (`base` + its index).
    fn window_rows(
        &self,
        group_keys: &[ArrayRef],
        windows: &[PanedWindow],
        chosen: &[usize],
        base: usize,
        accumulators: &[Accumulator],
    ) -> EngineResult<arrow::array::RecordBatch> {
        let indices =
            UInt32Array::from_iter_values(chosen.iter().map(|&window| windows[window].key as u32));
        let keys = group_keys
            .iter()
            .map(|column| take(column, &indices, None))
            .collect::<Result<Vec<_>, _>>()?;
        let starts =
            Int64Array::from_iter_values(chosen.iter().map(|&window| windows[window].start));
        let size = match &self.windows {
            Some(Windows::Time(windowing)) => windowing.size_ms(),
            _ => return Err(internal("paned windows without time windows")),
        };
        let ends = Int64Array::from_iter_values(
            chosen
                .iter()
                .map(|&window| windows[window].start.saturating_add(size)),
        );
        let slots: Vec<usize> = chosen.iter().map(|&window| base + window).collect();
        self.rows_of(keys, &slots, Some((starts, ends)), accumulators)
    }
}

/// A pane's stored value: the version, then each part's first window (`EVERY_WINDOW` for
/// all) and its group state, prefixed by its length.
fn save_pane(
    holding: &[usize],
    parts: &[Part],
    row_counts: &Accumulator,
    accumulators: &[Accumulator],
) -> Vec<u8> {
    let mut bytes = vec![PANE_STATE_VERSION];
    for &part in holding {
        let group_state = save_group(parts[part].rowtime, part, row_counts, accumulators);
        bytes.extend_from_slice(&parts[part].from.to_le_bytes());
        bytes.extend_from_slice(&(group_state.len() as u32).to_le_bytes());
        bytes.extend_from_slice(&group_state);
    }
    bytes
}

/// A pane's parts as `save_pane` stored them: (first window, group state).
fn parse_pane(bytes: &[u8]) -> EngineResult<Vec<(i64, &[u8])>> {
    let corrupt = |what: &str| EngineError::Internal(format!("a stored pane is corrupt: {what}"));
    let (&version, mut rest) = bytes.split_first().ok_or_else(|| corrupt("empty"))?;
    if version == GROUP_STATE_VERSION {
        return Err(EngineError::Internal(
            "this hopping window's state was stored per window by an earlier build; drop and create the query again"
                .into(),
        ));
    }
    if version != PANE_STATE_VERSION {
        return Err(corrupt(&format!("unknown version {version}")));
    }
    let mut parts = Vec::new();
    while !rest.is_empty() {
        let (from, after) = rest
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("no first window"))?;
        let (length, after) = after
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("no length"))?;
        let length = u32::from_le_bytes(*length) as usize;
        if after.len() < length {
            return Err(corrupt("truncated"));
        }
        let (group_state, after) = after.split_at(length);
        parts.push((i64::from_le_bytes(*from), group_state));
        rest = after;
    }
    Ok(parts)
}
