//! The catalog: every stream, table, persistent query and named type (`CREATE TYPE`) Eddy
//! knows, with their schemas. A named type is resolved when a statement is planned: a
//! source's columns keep the resolved type, so dropping or re-creating a type never changes
//! an existing source (ksqlDB's rule).
//!
//! The planner owns the catalog's shape; the executor persists it in the state store's
//! catalog keyspace (one key per object, JSON values) in the same atomic commit as the change
//! it describes. Column types are stored in their SQL spelling and parsed back on load, so
//! the stored form never depends on Arrow's or serde's layout of `DataType`.
//!
//! Never: hold anything but definitions here (no offsets, no state, no file paths).

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use eddy_parser::ColumnType;
use serde::{Deserialize, Serialize};

use crate::error::{ObjectKind, PlanError, PlanResult};
use crate::types::{arrow_type, resolve_named_types, storable_type, type_name};
use crate::window::WindowKind;

/// Pseudo-columns every source exposes (ksqlDB's names, folded to lower case as Postgres
/// folds unquoted identifiers). `rowtime` is stored; partition and offset come from the log.
pub const ROWTIME: &str = "rowtime";
pub const ROWPARTITION: &str = "rowpartition";
pub const ROWOFFSET: &str = "rowoffset";
pub const PSEUDO_COLUMNS: [&str; 3] = [ROWTIME, ROWPARTITION, ROWOFFSET];
/// ksqlDB's synthetic key column of a join whose key no column holds (`join::resolve_rowkey`).
pub const ROWKEY: &str = "rowkey";
/// The last column of a table's changelog: the weight of the change (+1 the row is now in
/// the table, -1 it no longer is). Internal: queries see a table's rows, not this column.
pub const ROWWEIGHT: &str = "rowweight";

/// Eddy's own stream of rows that persistent queries could not process, with the reason
/// (ksqlDB's processing log): queryable like any stream, never dropped.
pub const PROCESSING_LOG: &str = "eddy_processing_log";

/// The columns of the processing log: the query, why its row was set aside, and the row.
pub fn processing_log_columns() -> Vec<Column> {
    ["query_id", "message", "record"]
        .into_iter()
        .map(|name| Column {
            name: name.to_string(),
            data_type: DataType::Utf8,
            key: false,
        })
        .collect()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SourceKind {
    Stream,
    Table,
}

impl SourceKind {
    pub fn object_kind(self) -> ObjectKind {
        match self {
            SourceKind::Stream => ObjectKind::Stream,
            SourceKind::Table => ObjectKind::Table,
        }
    }

    pub fn noun(self) -> &'static str {
        match self {
            SourceKind::Stream => "stream",
            SourceKind::Table => "table",
        }
    }
}

impl From<eddy_parser::SourceKind> for SourceKind {
    fn from(kind: eddy_parser::SourceKind) -> Self {
        match kind {
            eddy_parser::SourceKind::Stream => SourceKind::Stream,
            eddy_parser::SourceKind::Table => SourceKind::Table,
        }
    }
}

/// One user-declared column of a source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Column {
    pub name: String,
    #[serde(with = "sql_type")]
    pub data_type: DataType,
    /// A `KEY` column of a stream (or `PRIMARY KEY` of a table): rows are partitioned by it.
    pub key: bool,
}

/// Where a source's `rowtime` comes from, besides an explicit `ROWTIME` in INSERT.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TimestampColumn {
    pub column: String,
    /// `TIMESTAMP_FORMAT`: a Java DateTimeFormatter pattern for a STRING column.
    pub format: Option<String>,
}

/// A stream or table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SourceDef {
    pub name: String,
    pub kind: SourceKind,
    pub columns: Vec<Column>,
    /// WITH properties as given (names upper-cased), shown by DESCRIBE.
    pub properties: BTreeMap<String, String>,
    pub partitions: u32,
    pub timestamp: Option<TimestampColumn>,
    /// The storage topic holding its rows; a new one for every CREATE, so that a dropped
    /// and re-created source never sees old rows.
    pub topic: String,
    /// The persistent query that created it (CREATE .. AS SELECT), if any.
    pub created_by: Option<String>,
    /// `CREATE SOURCE STREAM|TABLE`: read-only, no statement writes it (ksqlDB's source
    /// stream or table, fed only from outside). Catalogs from before it read as `false`.
    #[serde(default)]
    pub source_only: bool,
    /// A windowed source's windows (a windowed aggregation's result, or declared with
    /// `WITH (WINDOW_TYPE = ..)`): its key ends with the `windowstart` and `windowend`
    /// columns. A declared HOPPING window is kept advancing by its size, a declared SESSION
    /// with a gap of 0 (ksqlDB declares neither). Catalogs from before it read as `None`.
    #[serde(default)]
    pub window: Option<WindowKind>,
    /// A stream's retention (`RETENTION_MS`, `RETENTION`): its log's segments whose rows are
    /// all older than this are deleted. None: kept forever. Catalogs from before it read as
    /// None.
    #[serde(default)]
    pub retention_ms: Option<u64>,
}

impl SourceDef {
    /// The schema of a row: user columns, then `rowtime`. A stream's log holds these rows;
    /// a table's changelog holds them plus `rowweight` (see `stored_schema`).
    pub fn row_schema(&self) -> SchemaRef {
        let mut fields: Vec<Field> = self
            .columns
            .iter()
            .map(|column| Field::new(&column.name, column.data_type.clone(), true))
            .collect();
        fields.push(Field::new(ROWTIME, DataType::Int64, false));
        Arc::new(Schema::new(fields))
    }

    /// The schema of the source's log: rows, and for a table, the weight of each change.
    pub fn stored_schema(&self) -> SchemaRef {
        let rows = self.row_schema();
        if self.kind == SourceKind::Stream {
            return rows;
        }
        let mut fields: Vec<Field> = rows.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(ROWWEIGHT, DataType::Int64, false));
        Arc::new(Schema::new(fields))
    }

    /// The schema queries see: the row schema plus `rowpartition` and `rowoffset` (for a
    /// table's current rows, the changelog position of the change that wrote the row).
    pub fn queryable_schema(&self) -> SchemaRef {
        let rows = self.row_schema();
        let mut fields: Vec<Field> = rows.fields().iter().map(|f| f.as_ref().clone()).collect();
        fields.push(Field::new(ROWPARTITION, DataType::Int32, false));
        fields.push(Field::new(ROWOFFSET, DataType::Int64, false));
        Arc::new(Schema::new(fields))
    }

    pub fn is_table(&self) -> bool {
        self.kind == SourceKind::Table
    }

    /// Positions of the key columns in `columns` (and so in the stored schema).
    pub fn key_indices(&self) -> Vec<usize> {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, column)| column.key)
            .map(|(index, _)| index)
            .collect()
    }

    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|column| column.name == name)
    }

    /// Refuses a write by a statement into a read-only source (`CREATE SOURCE ..`), in
    /// ksqlDB's words.
    pub fn check_writable(&self) -> PlanResult<()> {
        if self.source_only {
            return Err(PlanError::ReadOnlySource {
                kind: self.kind.object_kind(),
                name: self.name.clone(),
            });
        }
        Ok(())
    }
}

/// A named type: `CREATE TYPE name AS type`, its definition already resolved (named types
/// inside it replaced by theirs when it was created, as ksqlDB does).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TypeDef {
    pub name: String,
    #[serde(with = "sql_type")]
    pub data_type: DataType,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryStatus {
    Running,
    /// Terminated by `TERMINATE`; kept so that SHOW QUERIES can tell, until its sink is dropped.
    Terminated,
}

/// A persistent query: `CREATE STREAM .. AS SELECT` or `INSERT INTO .. SELECT`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct QueryDef {
    pub id: String,
    /// A number unique to this query, never reused: its writes to a sink log are tagged with
    /// it, so the log can recognize a repeated write after a crash.
    pub producer_id: u64,
    /// The statement text, as the user wrote it; re-planned on every start.
    pub sql: String,
    pub sink: String,
    pub sources: Vec<String>,
    /// Those of `sources` it reads only by key (a stream-table join's tables), whose rows
    /// are not its input. Catalogs from before it read as none.
    #[serde(default)]
    pub lookups: Vec<String>,
    pub status: QueryStatus,
    /// The session's default IDLE TIMEOUT when the query was created (`SET
    /// 'eddy.window.idle.timeout'`), for its windows that set none. Catalogs from before it
    /// read as None.
    #[serde(default)]
    pub idle_timeout_ms: Option<i64>,
}

/// The catalog as the engine shares it: planning reads it, catalog changes replace it.
pub type SharedCatalog = Arc<RwLock<Catalog>>;

/// Everything Eddy knows, keyed by folded name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    sources: BTreeMap<String, SourceDef>,
    queries: BTreeMap<String, QueryDef>,
    types: BTreeMap<String, TypeDef>,
    next_object_number: u64,
}

/// Key prefixes in the catalog keyspace.
const SOURCE_PREFIX: &[u8] = b"source/";
const QUERY_PREFIX: &[u8] = b"query/";
const TYPE_PREFIX: &[u8] = b"type/";
const COUNTER_KEY: &[u8] = b"counter/object";

/// One change to persist: a key of the catalog keyspace and its new value (None: delete).
pub type CatalogEntry = (Vec<u8>, Option<Vec<u8>>);

impl Catalog {
    /// Rebuilds the catalog from the pairs of the catalog keyspace.
    pub fn load(entries: &[(Vec<u8>, Vec<u8>)]) -> PlanResult<Catalog> {
        let mut catalog = Catalog::default();
        for (key, value) in entries {
            if key.starts_with(SOURCE_PREFIX) {
                let source: SourceDef = decode(key, value)?;
                catalog.sources.insert(source.name.clone(), source);
            } else if key.starts_with(QUERY_PREFIX) {
                let query: QueryDef = decode(key, value)?;
                catalog.queries.insert(query.id.clone(), query);
            } else if key.starts_with(TYPE_PREFIX) {
                let named: TypeDef = decode(key, value)?;
                catalog.types.insert(named.name.clone(), named);
            } else if key.as_slice() == COUNTER_KEY {
                catalog.next_object_number = decode(key, value)?;
            }
        }
        Ok(catalog)
    }

    pub fn source(&self, name: &str) -> Option<&SourceDef> {
        self.sources.get(name)
    }

    pub fn source_required(&self, name: &str) -> PlanResult<&SourceDef> {
        self.sources
            .get(name)
            .ok_or_else(|| PlanError::UnknownObject {
                kind: ObjectKind::StreamOrTable,
                name: name.to_string(),
            })
    }

    pub fn sources(&self) -> impl Iterator<Item = &SourceDef> {
        self.sources.values()
    }

    /// Looks a query up by id, ignoring case (ksqlDB's ids are upper case, and Postgres
    /// clients fold unquoted words to lower case).
    pub fn query(&self, id: &str) -> Option<&QueryDef> {
        self.queries
            .values()
            .find(|query| query.id.eq_ignore_ascii_case(id))
    }

    pub fn queries(&self) -> impl Iterator<Item = &QueryDef> {
        self.queries.values()
    }

    /// Running queries that read `source`.
    pub fn readers_of(&self, source: &str) -> Vec<&QueryDef> {
        self.queries
            .values()
            .filter(|query| query.status == QueryStatus::Running)
            .filter(|query| query.sources.iter().any(|name| name == source))
            .collect()
    }

    /// Running queries that write `source`.
    pub fn writers_of(&self, source: &str) -> Vec<&QueryDef> {
        self.queries
            .values()
            .filter(|query| query.status == QueryStatus::Running && query.sink == source)
            .collect()
    }

    pub fn named_type(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    pub fn named_types(&self) -> impl Iterator<Item = &TypeDef> {
        self.types.values()
    }

    /// The storage type of a type written in a statement, its named types looked up here.
    pub fn resolve_type(&self, column_type: &ColumnType) -> PlanResult<DataType> {
        let resolved = resolve_named_types(column_type, &|name| {
            self.types
                .get(name)
                .and_then(|named| storable_type(&named.data_type))
        })
        .map_err(|name| PlanError::UnknownType { name })?;
        Ok(arrow_type(&resolved))
    }

    /// A number never handed out before (topics and query ids), and the entry persisting it.
    pub fn allocate_number(&mut self) -> (u64, CatalogEntry) {
        self.next_object_number += 1;
        let number = self.next_object_number;
        (number, (COUNTER_KEY.to_vec(), Some(encode(&number))))
    }

    pub fn put_source(&mut self, source: SourceDef) -> CatalogEntry {
        let entry = (source_key(&source.name), Some(encode(&source)));
        self.sources.insert(source.name.clone(), source);
        entry
    }

    pub fn remove_source(&mut self, name: &str) -> Option<(SourceDef, CatalogEntry)> {
        let source = self.sources.remove(name)?;
        Some((source, (source_key(name), None)))
    }

    pub fn put_query(&mut self, query: QueryDef) -> CatalogEntry {
        let entry = (query_key(&query.id), Some(encode(&query)));
        self.queries.insert(query.id.clone(), query);
        entry
    }

    pub fn remove_query(&mut self, id: &str) -> Option<CatalogEntry> {
        self.queries.remove(id).map(|_| (query_key(id), None))
    }

    pub fn put_type(&mut self, named: TypeDef) -> CatalogEntry {
        let entry = (type_key(&named.name), Some(encode(&named)));
        self.types.insert(named.name.clone(), named);
        entry
    }

    pub fn remove_type(&mut self, name: &str) -> Option<CatalogEntry> {
        self.types.remove(name).map(|_| (type_key(name), None))
    }
}

fn type_key(name: &str) -> Vec<u8> {
    [TYPE_PREFIX, name.as_bytes()].concat()
}

fn source_key(name: &str) -> Vec<u8> {
    [SOURCE_PREFIX, name.as_bytes()].concat()
}

fn query_key(id: &str) -> Vec<u8> {
    [QUERY_PREFIX, id.as_bytes()].concat()
}

fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    // Serializing these plain structs to JSON cannot fail: no maps with non-string keys,
    // no custom serializers that error.
    serde_json::to_vec(value).expect("catalog entries serialize to JSON")
}

fn decode<T: for<'de> Deserialize<'de>>(key: &[u8], value: &[u8]) -> PlanResult<T> {
    serde_json::from_slice(value).map_err(|error| PlanError::Invalid {
        message: format!(
            "catalog entry {} is unreadable: {error}",
            String::from_utf8_lossy(key)
        ),
    })
}

/// Column types persist as their SQL spelling (`DECIMAL(10, 2)`, `ARRAY<STRING>`).
mod sql_type {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(
        data_type: &DataType,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&type_name(data_type))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DataType, D::Error> {
        let text = String::deserialize(deserializer)?;
        eddy_parser::parse_column_type(&text)
            .map(|column_type| arrow_type(&column_type))
            .map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stream of two columns, keyed by the first; other modules' tests plan against it.
    pub(crate) fn clicks() -> SourceDef {
        SourceDef {
            name: "clicks".into(),
            kind: SourceKind::Stream,
            columns: vec![
                Column {
                    name: "user_id".into(),
                    data_type: DataType::Int64,
                    key: true,
                },
                Column {
                    name: "url".into(),
                    data_type: DataType::Utf8,
                    key: false,
                },
            ],
            properties: BTreeMap::from([("PARTITIONS".into(), "2".into())]),
            partitions: 2,
            timestamp: None,
            topic: "clicks-1".into(),
            created_by: None,
            source_only: false,
            window: None,
            retention_ms: None,
        }
    }

    #[test]
    fn catalog_round_trips_through_its_entries() {
        let mut catalog = Catalog::default();
        let (number, counter) = catalog.allocate_number();
        assert_eq!(number, 1);
        let source_entry = catalog.put_source(clicks());
        let query_entry = catalog.put_query(QueryDef {
            idle_timeout_ms: None,
            id: "CSAS_SLOW_2".into(),
            producer_id: 2,
            sql: "CREATE STREAM slow AS SELECT * FROM clicks".into(),
            sink: "slow".into(),
            sources: vec!["clicks".into()],
            lookups: Vec::new(),
            status: QueryStatus::Running,
        });
        let entries: Vec<(Vec<u8>, Vec<u8>)> = [counter, source_entry, query_entry]
            .into_iter()
            .map(|(key, value)| (key, value.expect("puts have values")))
            .collect();
        let loaded = Catalog::load(&entries).expect("loads");
        assert_eq!(loaded.source("clicks"), Some(&clicks()));
        assert_eq!(
            loaded.query("csas_slow_2").map(|q| q.sink.as_str()),
            Some("slow")
        );
        assert_eq!(loaded.readers_of("clicks").len(), 1);
        let mut loaded = loaded;
        assert_eq!(loaded.allocate_number().0, 2);
    }

    #[test]
    fn named_types_round_trip_and_resolve_inside_other_types() {
        let mut catalog = Catalog::default();
        let address = ColumnType::Struct(vec![("city".into(), ColumnType::String)]);
        let entry = catalog.put_type(TypeDef {
            name: "address".into(),
            data_type: arrow_type(&address),
        });
        let (key, value) = (entry.0, entry.1.expect("a put has a value"));
        let loaded = Catalog::load(&[(key, value)]).expect("loads");
        let written = ColumnType::Array(Box::new(ColumnType::Named("address".into())));
        assert_eq!(
            loaded.resolve_type(&written).expect("resolves"),
            arrow_type(&ColumnType::Array(Box::new(address)))
        );
        let unknown = loaded.resolve_type(&ColumnType::Map(
            Box::new(ColumnType::String),
            Box::new(ColumnType::Named("nope".into())),
        ));
        assert!(matches!(
            unknown,
            Err(PlanError::UnknownType { name }) if name == "nope"
        ));
    }

    #[test]
    fn sources_stored_before_source_only_load_as_writable() {
        let mut stored: serde_json::Value =
            serde_json::from_slice(&encode(&clicks())).expect("JSON");
        stored
            .as_object_mut()
            .expect("an object")
            .remove("source_only");
        let old = serde_json::to_vec(&stored).expect("JSON");
        let loaded = Catalog::load(&[(source_key("clicks"), old)]).expect("loads");
        assert_eq!(loaded.source("clicks"), Some(&clicks()));
        let mut read_only = clicks();
        read_only.source_only = true;
        let entry = Catalog::default().put_source(read_only.clone());
        let loaded = Catalog::load(&[(entry.0, entry.1.expect("a value"))]).expect("loads");
        assert_eq!(loaded.source("clicks"), Some(&read_only));
        assert!(read_only.check_writable().is_err() && clicks().check_writable().is_ok());
    }

    #[test]
    fn sources_stored_before_retention_load_without_it() {
        let mut stored: serde_json::Value =
            serde_json::from_slice(&encode(&clicks())).expect("JSON");
        stored
            .as_object_mut()
            .expect("an object")
            .remove("retention_ms");
        let old = serde_json::to_vec(&stored).expect("JSON");
        let loaded = Catalog::load(&[(source_key("clicks"), old)]).expect("loads");
        assert_eq!(loaded.source("clicks"), Some(&clicks()));
        let mut retained = clicks();
        retained.retention_ms = Some(3_600_000);
        let entry = Catalog::default().put_source(retained.clone());
        let loaded = Catalog::load(&[(entry.0, entry.1.expect("a value"))]).expect("loads");
        assert_eq!(loaded.source("clicks"), Some(&retained));
    }

    #[test]
    fn schemas_put_rowtime_after_the_columns() {
        let source = clicks();
        let names: Vec<String> = source
            .queryable_schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        assert_eq!(
            names,
            ["user_id", "url", "rowtime", "rowpartition", "rowoffset"]
        );
        assert_eq!(source.key_indices(), vec![0]);
    }
}
