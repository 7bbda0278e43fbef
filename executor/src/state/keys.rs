//! Every key Eddy writes to the state store, with the keyspace it lives in: one file, so that
//! a new operator or writer picks a prefix no one else uses, and the on-disk layout can be
//! read in one place.
//!
//! | keyspace  | key                                   | value                                   |
//! |-----------|---------------------------------------|-----------------------------------------|
//! | `Catalog` | the catalog's own keys (planner)      | JSON of sources and queries             |
//! | `Offsets` | `query/<id>/epoch`                    | last committed epoch (u64 BE)           |
//! | `Offsets` | `query/<id>/{from,to}/<partition>`    | that epoch's input range (u64 BE)       |
//! | `Offsets` | `query/<id>/pending/<partition>`      | that epoch's sink output (Arrow IPC)    |
//! | `Offsets` | `query/<id>/pending-log`              | that epoch's processing-log rows (IPC)  |
//! | `Offsets` | `table/<topic>/applied/<partition>`   | changelog offset a source table reflects|
//! | `Offsets` | `table/<topic>/rows`                  | rows the table holds (u64 BE)           |
//! | `State`   | `t/<topic>/<encoded key>`             | a table's current row (row codec)       |
//! | `State`   | `q/<id>/g/<encoded group key>`        | a GROUP BY group's state                |
//! | `State`   | `q/<id>/a<n>/...`                     | GROUP BY number n inside the query (a   |
//! |           |                                       | subquery's): keys as a query's own      |
//!
//! Partitions are written as 10 decimal digits, so keys sort by partition.
//!
//! Never: change a format here without a versioned migration: data directories written by
//! earlier builds must open and continue.

use eddy_planner::SourceDef;
use eddy_storage::Keyspace;

use crate::error::{EngineError, EngineResult};

/// The bound of an epoch's input range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RangeBound {
    From,
    To,
}

impl RangeBound {
    fn word(self) -> &'static str {
        match self {
            RangeBound::From => "from",
            RangeBound::To => "to",
        }
    }
}

/// A persistent query's committed progress: its last epoch, that epoch's input range and
/// its stored output.
pub(crate) struct QueryProgressKeys<'a> {
    query_id: &'a str,
}

impl<'a> QueryProgressKeys<'a> {
    pub(crate) const KEYSPACE: Keyspace = Keyspace::Offsets;

    pub(crate) fn of(query_id: &'a str) -> Self {
        QueryProgressKeys { query_id }
    }

    /// Every progress key of the query.
    pub(crate) fn prefix(&self) -> Vec<u8> {
        format!("query/{}/", self.query_id).into_bytes()
    }

    pub(crate) fn epoch(&self) -> Vec<u8> {
        format!("query/{}/epoch", self.query_id).into_bytes()
    }

    pub(crate) fn offset(&self, bound: RangeBound, partition: u32) -> Vec<u8> {
        format!("query/{}/{}/{partition:010}", self.query_id, bound.word()).into_bytes()
    }

    /// The `to` offsets of every partition: summed, the rows the query has processed.
    pub(crate) fn to_offsets_prefix(&self) -> Vec<u8> {
        format!("query/{}/to/", self.query_id).into_bytes()
    }

    pub(crate) fn pending_output(&self, partition: u32) -> Vec<u8> {
        format!("query/{}/pending/{partition:010}", self.query_id).into_bytes()
    }

    pub(crate) fn pending_processing_log(&self) -> Vec<u8> {
        format!("query/{}/pending-log", self.query_id).into_bytes()
    }

    /// How many late rows the query has set aside, over all its runs.
    pub(crate) fn late_rows(&self) -> Vec<u8> {
        format!("query/{}/late-rows", self.query_id).into_bytes()
    }
}

/// A persistent query's operator state.
pub(crate) struct OperatorStateKeys<'a> {
    query_id: &'a str,
}

impl<'a> OperatorStateKeys<'a> {
    pub(crate) const KEYSPACE: Keyspace = Keyspace::State;

    pub(crate) fn of(query_id: &'a str) -> Self {
        OperatorStateKeys { query_id }
    }

    /// Every operator state of the query.
    pub(crate) fn prefix(&self) -> Vec<u8> {
        format!("q/{}/", self.query_id).into_bytes()
    }

    /// The GROUP BY's group states; a group's key follows, encoded by the row codec.
    pub(crate) fn group_prefix(&self) -> Vec<u8> {
        format!("q/{}/g/", self.query_id).into_bytes()
    }

    /// A session GROUP BY's index of live sessions by end; an entry's key (session end, then
    /// group key, encoded by the row codec) follows.
    pub(crate) fn session_close_prefix(&self) -> Vec<u8> {
        format!("q/{}/c/", self.query_id).into_bytes()
    }

    /// A temporal filter's schedule; an entry's key (due time, encoded by the row codec,
    /// then the row's value encoding) follows.
    pub(crate) fn temporal_schedule_prefix(&self) -> Vec<u8> {
        format!("q/{}/f/", self.query_id).into_bytes()
    }

    /// One part of the state of the query's join numbered `join`, named by a letter: a
    /// side's rows (`l` and `r` by join key; a stream join's runs under `L` and `R`), the
    /// stream time (`t`), an index of keys by when they are due (`d`).
    pub(crate) fn join_prefix(&self, join: usize, side: char) -> Vec<u8> {
        format!("q/{}/j{join}{side}/", self.query_id).into_bytes()
    }

    /// The id whose keys hold the state of the query's GROUP BY numbered `number` among
    /// those inside it (a subquery's, feeding a join or another GROUP BY): under the
    /// query's prefix, laid out as the query's own GROUP BY's.
    pub(crate) fn nested_aggregate_id(&self, number: usize) -> String {
        format!("{}/a{number}", self.query_id)
    }

    /// A windowed GROUP BY's latest window start with a state, committed with its states.
    pub(crate) fn latest_window_start(&self) -> Vec<u8> {
        format!("q/{}/w", self.query_id).into_bytes()
    }

    /// A windowed GROUP BY's stream time: the largest ROWTIME it has taken.
    pub(crate) fn stream_time(&self) -> Vec<u8> {
        format!("q/{}/t", self.query_id).into_bytes()
    }

    /// A windowed GROUP BY's stream time of each input partition (`StreamTime`).
    pub(crate) fn partition_stream_times(&self) -> Vec<u8> {
        format!("q/{}/tp", self.query_id).into_bytes()
    }
}

/// A table's current rows (`State`) and its writer's bookkeeping (`Offsets`).
pub(crate) struct TableKeys<'a> {
    topic: &'a str,
    /// Made once: `row` runs for every row a write touches.
    rows_prefix: Vec<u8>,
}

impl<'a> TableKeys<'a> {
    pub(crate) const ROWS_KEYSPACE: Keyspace = Keyspace::State;
    pub(crate) const BOOKKEEPING_KEYSPACE: Keyspace = Keyspace::Offsets;

    pub(crate) fn of(table: &'a SourceDef) -> Self {
        Self::of_topic(&table.topic)
    }

    fn of_topic(topic: &'a str) -> Self {
        TableKeys {
            topic,
            rows_prefix: format!("t/{topic}/").into_bytes(),
        }
    }

    /// The current rows; a row's encoded primary key follows.
    pub(crate) fn rows_prefix(&self) -> &[u8] {
        &self.rows_prefix
    }

    /// The key of the row whose encoded primary key is `key`.
    pub(crate) fn row(&self, key: &[u8]) -> Vec<u8> {
        [self.rows_prefix.as_slice(), key].concat()
    }

    /// The changelog offset of `partition` that a source table's rows reflect.
    pub(crate) fn applied_offset(&self, partition: u32) -> Vec<u8> {
        format!("table/{}/applied/{partition:010}", self.topic).into_bytes()
    }

    /// The number of rows the table holds, kept with its rows (a count of keys would read
    /// them all).
    pub(crate) fn row_count(&self) -> Vec<u8> {
        format!("table/{}/rows", self.topic).into_bytes()
    }

    /// Every bookkeeping key of the table.
    pub(crate) fn bookkeeping_prefix(&self) -> Vec<u8> {
        format!("table/{}/", self.topic).into_bytes()
    }
}

/// A u64 as stored: big-endian (offsets, epochs, counts).
pub(crate) fn encode_u64(value: u64) -> Vec<u8> {
    value.to_be_bytes().to_vec()
}

/// A stored u64 (offsets, epochs, counts).
pub(crate) fn decode_u64(bytes: &[u8]) -> EngineResult<u64> {
    let array: [u8; 8] = bytes.try_into().map_err(|_| {
        EngineError::Internal(format!("a stored offset has {} bytes, not 8", bytes.len()))
    })?;
    Ok(u64::from_be_bytes(array))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The formats of earlier builds, byte for byte: a data directory they wrote must open.
    #[test]
    fn keys_keep_the_formats_data_directories_hold() {
        let query = QueryProgressKeys::of("CTAS_T_3");
        assert_eq!(query.prefix(), b"query/CTAS_T_3/");
        assert_eq!(query.epoch(), b"query/CTAS_T_3/epoch");
        assert_eq!(
            query.offset(RangeBound::From, 7),
            b"query/CTAS_T_3/from/0000000007"
        );
        assert_eq!(
            query.offset(RangeBound::To, 12),
            b"query/CTAS_T_3/to/0000000012"
        );
        assert_eq!(query.to_offsets_prefix(), b"query/CTAS_T_3/to/");
        assert_eq!(
            query.pending_output(1),
            b"query/CTAS_T_3/pending/0000000001"
        );
        assert_eq!(
            query.pending_processing_log(),
            b"query/CTAS_T_3/pending-log"
        );
        assert_eq!(query.late_rows(), b"query/CTAS_T_3/late-rows");
        let operator = OperatorStateKeys::of("CTAS_T_3");
        assert_eq!(operator.prefix(), b"q/CTAS_T_3/");
        assert_eq!(operator.group_prefix(), b"q/CTAS_T_3/g/");
        assert_eq!(operator.stream_time(), b"q/CTAS_T_3/t");
        assert_eq!(operator.partition_stream_times(), b"q/CTAS_T_3/tp");
        assert_eq!(operator.latest_window_start(), b"q/CTAS_T_3/w");
        assert_eq!(operator.session_close_prefix(), b"q/CTAS_T_3/c/");
        assert_eq!(operator.temporal_schedule_prefix(), b"q/CTAS_T_3/f/");
        let nested = operator.nested_aggregate_id(1);
        assert_eq!(
            OperatorStateKeys::of(&nested).group_prefix(),
            b"q/CTAS_T_3/a1/g/"
        );
        let table = TableKeys::of_topic("000004-users");
        assert_eq!(table.rows_prefix(), b"t/000004-users/");
        assert_eq!(table.row(b"\x01k"), b"t/000004-users/\x01k");
        assert_eq!(
            table.applied_offset(2),
            b"table/000004-users/applied/0000000002"
        );
        assert_eq!(table.row_count(), b"table/000004-users/rows");
        assert_eq!(table.bookkeeping_prefix(), b"table/000004-users/");
        assert_eq!(decode_u64(&encode_u64(42)).expect("decodes"), 42);
    }
}
