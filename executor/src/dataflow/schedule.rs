//! A stateful operator's schedule: which of its keys need attention at which time (an
//! interval join's rows whose window closes, or which no row can join any more). Each
//! registration (due time, key) is kept in a list written with an epoch's state, one
//! list per epoch and stretch of due times, rather than as an entry of its own: a join whose
//! keys are nearly all distinct (Nexmark q7 joins on a price) would otherwise write and
//! delete an index entry for every row it keeps.
//!
//! A list is keyed by its earliest due time and fires as stream time passes that: its due
//! registrations are handed out, and the others carried into a list of the epoch's. Lists
//! group due times by how far stream time moved in the epoch, so a list is carried about
//! once.
//!
//! The schedule does not know a key's later history: a registration may name a key whose
//! rows have gone, or whose rows are due later than it says. The operator records, with each
//! key's state, the earliest registration it made for it, and registers again when that one
//! fired or when its rows come due earlier.
//!
//! Never: lose a registration, or hand one out before stream time has passed its due time.

use std::collections::BTreeSet;

use crate::dataflow::EpochContext;
use crate::error::{EngineError, EngineResult};
use crate::state::operator_cache::OperatorCache;

/// How far apart, at least, the due times of one list may be: a list per epoch and second
/// of due times costs a write per second of event time, and a query that moves stream time
/// by less than that per epoch carries a list a few times.
const MIN_LIST_SPAN_MS: i64 = 1000;

/// A key of an operator that needs attention once stream time passes `due`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Registration {
    due: i64,
    key: Vec<u8>,
}

/// The schedule of one operator, in its state under one prefix.
pub(crate) struct Schedule {
    lists: OperatorCache,
    /// Lists the last epoch wrote, whose commit may be in flight: a range read of the store
    /// misses them (the cache's rule).
    recent: BTreeSet<Vec<u8>>,
    /// Registrations to write as the epoch ends: the epoch's and those carried from lists
    /// that fired.
    pending: Vec<Registration>,
    /// Lists that fired this epoch, deleted as it ends.
    fired: Vec<Vec<u8>>,
    /// The number the next list takes after its due time, above every stored list's; read
    /// from the store once.
    next_number: Option<u64>,
}

impl Schedule {
    pub fn new(lists: OperatorCache) -> Self {
        Schedule {
            lists,
            recent: BTreeSet::new(),
            pending: Vec::new(),
            fired: Vec::new(),
            next_number: None,
        }
    }

    /// Registers `key` for when stream time passes `due`.
    pub fn register(&mut self, due: i64, key: Vec<u8>) {
        self.pending.push(Registration { due, key });
    }

    /// The keys of the registrations due before `stream_time` (a key may come more than
    /// once), taken off the schedule with those made this epoch so far; lists that fire
    /// carry their registrations that are not due yet into this epoch's.
    pub fn take_due(
        &mut self,
        stream_time: i64,
        cx: &EpochContext<'_>,
    ) -> EngineResult<Vec<Vec<u8>>> {
        let to = due_time_bytes(stream_time);
        let mut firing = self.lists.committed_keys_between(cx.state, &[], &to)?;
        firing.extend(self.recent.range(..to.to_vec()).cloned());
        firing.sort_unstable();
        firing.dedup();
        let mut due = Vec::new();
        let mut registrations = std::mem::take(&mut self.pending);
        self.lists.read(cx.state, &firing, |_, bytes| {
            decode_list(bytes, &mut registrations)
        })?;
        for registration in registrations {
            match registration.due < stream_time {
                true => due.push(registration.key),
                false => self.pending.push(registration),
            }
        }
        self.fired.extend(firing);
        Ok(due)
    }

    /// Reads, once, the number the next list takes.
    fn number_lists(&mut self, cx: &EpochContext<'_>) -> EngineResult<u64> {
        if let Some(number) = self.next_number {
            return Ok(number);
        }
        let stored = self
            .lists
            .committed_keys_between(cx.state, &[], &[u8::MAX; 17])?;
        let mut next = 0;
        for key in stored.iter().chain(&self.recent) {
            next = next.max(list_number(key)? + 1);
        }
        self.next_number = Some(next);
        Ok(next)
    }

    /// Writes the epoch's lists into its state changes, and deletes those that fired;
    /// `span_ms` is how far the epoch moved stream time.
    pub fn end_epoch(&mut self, span_ms: i64, cx: &mut EpochContext<'_>) -> EngineResult<()> {
        if self.pending.is_empty() && self.fired.is_empty() {
            self.recent.clear();
            return Ok(());
        }
        let mut number = self.number_lists(cx)?;
        self.lists.begin_writes();
        for list in self.fired.drain(..) {
            self.lists.write(list, None, cx.state_changes);
        }
        let span = span_ms.max(MIN_LIST_SPAN_MS);
        let mut pending = std::mem::take(&mut self.pending);
        pending.sort_unstable_by_key(|registration| registration.due.div_euclid(span));
        let mut written = BTreeSet::new();
        for list in
            pending.chunk_by(|left, right| left.due.div_euclid(span) == right.due.div_euclid(span))
        {
            // A stretch is never empty (`chunk_by`).
            let earliest = list.iter().map(|registration| registration.due).min();
            let key = list_key(earliest.unwrap_or(i64::MIN), number);
            number += 1;
            written.insert(key.clone());
            self.lists
                .write(key, Some(encode_list(list)), cx.state_changes);
        }
        self.next_number = Some(number);
        self.lists.end_writes();
        self.recent = written;
        Ok(())
    }
}

/// A time as 8 bytes that order as the times do.
pub(crate) fn due_time_bytes(time: i64) -> [u8; 8] {
    ((time as u64) ^ (1 << 63)).to_be_bytes()
}

/// The time of `due_time_bytes`.
pub(crate) fn time_of_due_bytes(bytes: [u8; 8]) -> i64 {
    (u64::from_be_bytes(bytes) ^ (1 << 63)) as i64
}

/// The key of a list: its earliest due time, then its number.
fn list_key(earliest: i64, number: u64) -> Vec<u8> {
    [due_time_bytes(earliest), number.to_be_bytes()].concat()
}

fn list_number(key: &[u8]) -> EngineResult<u64> {
    let number: [u8; 8] = key
        .get(8..16)
        .and_then(|bytes| bytes.try_into().ok())
        .ok_or_else(|| corrupt("a list's key is not 16 bytes"))?;
    Ok(u64::from_be_bytes(number))
}

/// A list as stored: per registration its due time, and its key's length and bytes.
fn encode_list(registrations: &[Registration]) -> Vec<u8> {
    let size: usize = registrations.iter().map(|r| 12 + r.key.len()).sum();
    let mut bytes = Vec::with_capacity(size);
    for registration in registrations {
        bytes.extend_from_slice(&registration.due.to_be_bytes());
        bytes.extend_from_slice(&(registration.key.len() as u32).to_be_bytes());
        bytes.extend_from_slice(&registration.key);
    }
    bytes
}

/// The registrations of a stored list (`encode_list`), onto `into`; corrupt bytes are an
/// error, never a panic.
fn decode_list(mut bytes: &[u8], into: &mut Vec<Registration>) -> EngineResult<()> {
    while !bytes.is_empty() {
        let (due, rest) = bytes
            .split_first_chunk::<8>()
            .ok_or_else(|| corrupt("a registration is cut short"))?;
        let (length, rest) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| corrupt("a registration is cut short"))?;
        let due = i64::from_be_bytes(*due);
        let length = u32::from_be_bytes(*length) as usize;
        if rest.len() < length {
            return Err(corrupt("a key is cut short"));
        }
        let (key, after) = rest.split_at(length);
        into.push(Registration {
            due,
            key: key.to_vec(),
        });
        bytes = after;
    }
    Ok(())
}

fn corrupt(what: &str) -> EngineError {
    EngineError::Internal(format!("a stored schedule is corrupt: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_due_times_round_trip() {
        let registrations = vec![
            Registration {
                due: -5,
                key: b"price 7".to_vec(),
            },
            Registration {
                due: i64::MAX,
                key: Vec::new(),
            },
        ];
        let mut decoded = Vec::new();
        decode_list(&encode_list(&registrations), &mut decoded).unwrap();
        assert_eq!(decoded, registrations);
        for time in [i64::MIN, -1, 0, 1, i64::MAX] {
            assert_eq!(time_of_due_bytes(due_time_bytes(time)), time);
        }
        assert!(due_time_bytes(-1) < due_time_bytes(0));
        assert!(list_key(3, 9) < list_key(4, 0));
    }

    #[test]
    fn a_corrupt_list_is_an_error() {
        let bytes = encode_list(&[Registration {
            due: 1,
            key: b"key".to_vec(),
        }]);
        let mut decoded = Vec::new();
        assert!(decode_list(&bytes[..bytes.len() - 1], &mut decoded).is_err());
        assert!(decode_list(&bytes[..5], &mut decoded).is_err());
    }
}
