//! Eddy's statements: ksqlDB's dialect as plain data. Standard SQL parts stay sqlparser's
//! `Query` and `Expr`, so the planner hands them to DataFusion's `SqlToRel` unchanged; only
//! what standard SQL lacks (streams, tables, windows, EMIT, properties) gets types here.
//!
//! Names in Eddy's own fields are already folded the Postgres way (unquoted to lower case);
//! names inside the embedded `Query`/`Expr` are left as written. Never: catalog lookups here.

use std::fmt;
use std::time::Duration;

use sqlparser::ast::{Expr, Query};

/// One statement of a possibly multi-statement string, with its own text.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedStatement {
    pub statement: Statement,
    /// The statement's own text: trimmed, without the trailing `;`.
    pub sql: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Statement {
    /// `CREATE [OR REPLACE] [SOURCE] STREAM|TABLE [IF NOT EXISTS] name (cols) [WITH (...)]`
    CreateSource(CreateSource),
    /// `CREATE [OR REPLACE] STREAM|TABLE [IF NOT EXISTS] name [WITH (...)] AS SELECT ...`
    CreateAsSelect(CreateAsSelect),
    /// `INSERT INTO name [(cols)] VALUES (..), (..)`
    InsertValues(InsertValues),
    /// `INSERT INTO name [WITH (...)] SELECT ...`
    InsertSelect(InsertSelect),
    /// `SELECT ... [EMIT CHANGES|FINAL] [LIMIT n]`
    Select(SelectStatement),
    /// `COPY (SELECT ...) TO STDOUT`: psql's way to print rows as they arrive.
    Copy(SelectStatement),
    /// `COPY name [(cols)] FROM STDIN [WITH] (...)`: bulk load in COPY text or CSV format.
    CopyFrom(CopyFrom),
    /// `DELETE FROM name [WHERE expr]`
    Delete(DeleteStatement),
    /// `UPDATE name SET column = expr [, ..] [WHERE expr]`
    Update(UpdateStatement),
    /// `SHOW|LIST STREAMS [EXTENDED]`
    ShowStreams { extended: bool },
    /// `SHOW|LIST TABLES [EXTENDED]`
    ShowTables { extended: bool },
    /// `SHOW|LIST QUERIES [EXTENDED]`
    ShowQueries { extended: bool },
    /// `SHOW|LIST PROPERTIES`
    ShowProperties,
    /// Postgres `SHOW name` (`SHOW server_version`); `SHOW ALL` has the name `all`,
    /// `SHOW TIME ZONE` the name `timezone`.
    ShowVariable { name: String },
    /// `DESCRIBE [EXTENDED] name`
    Describe { name: String, extended: bool },
    /// `TERMINATE query_id | TERMINATE ALL`
    Terminate(TerminateTarget),
    /// `DROP STREAM|TABLE [IF EXISTS] name [DELETE TOPIC]`
    Drop {
        kind: SourceKind,
        name: String,
        if_exists: bool,
        delete_topic: bool,
    },
    /// ksqlDB `SET 'k' = 'v'`; Postgres `SET [SESSION|LOCAL] k {=|TO} v`. The name of the
    /// ksqlDB form is kept as written; the Postgres form's name is folded to lower case.
    Set { name: String, value: String },
    /// Postgres `SET SESSION CHARACTERISTICS AS TRANSACTION modes`: the settings the modes
    /// set, as Postgres documents them (`default_transaction_isolation`,
    /// `default_transaction_read_only`, `default_transaction_deferrable`), with their values.
    SetSessionCharacteristics { settings: Vec<(String, String)> },
    /// ksqlDB `UNSET 'k'`; Postgres `RESET k` (`RESET ALL` has the name `all`) and
    /// `SET k TO DEFAULT`.
    Unset {
        name: String,
        spelling: UnsetSpelling,
    },
    /// `BEGIN`, `START TRANSACTION`, `COMMIT`, `END`, `ROLLBACK`, `ABORT`, and savepoints.
    Transaction(TransactionStatement),
    /// `DISCARD ALL | PLANS | SEQUENCES | TEMP`: what connection pools send between clients.
    Discard(DiscardTarget),
    /// `DEALLOCATE [PREPARE] name | ALL`: drops a statement the client prepared (None: all
    /// of them), as drivers' statement caches send it. The server holds prepared statements.
    Deallocate(Option<String>),
    /// `CREATE TYPE [IF NOT EXISTS] name AS type`: a name for a type (ksqlDB's custom type).
    CreateType {
        name: String,
        if_not_exists: bool,
        data_type: ColumnType,
    },
    /// `DROP TYPE [IF EXISTS] name`
    DropType { name: String, if_exists: bool },
    /// `SHOW|LIST TYPES`
    ShowTypes,
    /// `CREATE USER|ROLE name [WITH] [LOGIN] [SUPERUSER] [PASSWORD 'p']`
    CreateUser(UserOptions),
    /// `ALTER USER|ROLE name [WITH] [SUPERUSER|NOSUPERUSER] [PASSWORD 'p' | PASSWORD NULL]`
    AlterUser(UserOptions),
    /// `DROP USER|ROLE [IF EXISTS] name`
    DropUser { name: String, if_exists: bool },
    /// `GRANT SELECT|INSERT|ALL ON [STREAM|TABLE] name TO user`,
    /// `GRANT CREATE ON DATABASE name TO user`
    Grant(Grant),
    /// `REVOKE ... FROM user`, the privileges and objects spelled as GRANT's.
    Revoke(Grant),
    /// `EXPLAIN [ANALYZE] statement | query_id`, and Postgres' `EXPLAIN (ANALYZE [bool])
    /// statement`.
    Explain(Explain),
}

/// What `EXPLAIN` shows: a statement's plan, without running it, or a running query's.
#[derive(Debug, Clone, PartialEq)]
pub struct Explain {
    /// `ANALYZE`: what running gave (rows and state per operator), not only the plan.
    pub analyze: bool,
    pub target: ExplainTarget,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExplainTarget {
    /// A SELECT, a CREATE STREAM|TABLE .. AS SELECT or an INSERT INTO .. SELECT.
    Statement(Box<Statement>),
    /// A persistent query by id, folded to lower case as TERMINATE's (ksqlDB's form).
    Query(String),
}

/// The options of `CREATE USER` and `ALTER USER`: each is None where the statement does not
/// name it (CREATE then takes the default, ALTER keeps what the user has).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOptions {
    pub name: String,
    /// `PASSWORD 'p'`: `Some(Some(p))`; `PASSWORD NULL` (the user cannot log in): `Some(None)`.
    pub password: Option<Option<Password>>,
    pub superuser: Option<bool>,
}

/// A password as written in a statement. Its `Debug` hides it, so no log or error message
/// that prints a statement shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(pub String);

impl fmt::Debug for Password {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("Password(<hidden>)")
    }
}

/// A privilege of `GRANT` and `REVOKE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Privilege {
    /// Read a stream or table: pull and push queries, and queries that read it.
    Select,
    /// Write a stream or table: INSERT, COPY FROM, UPDATE, DELETE.
    Insert,
    /// Create and drop streams, tables, types and persistent queries (`ON DATABASE`).
    Create,
}

/// What a `GRANT` or `REVOKE` gives or takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub privileges: Vec<Privilege>,
    pub target: GrantTarget,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GrantTarget {
    /// Streams and tables by name (SELECT, INSERT).
    Sources(Vec<String>),
    /// `ON DATABASE name` (CREATE): Eddy has one database, so any name means it.
    Database,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Stream,
    Table,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TerminateTarget {
    /// A query id, folded to lower case (ksqlDB's query ids are case-insensitive).
    Query(String),
    All,
}

/// Transaction control. Isolation and access modes are accepted and dropped. Savepoint
/// names are folded like any name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransactionStatement {
    /// `BEGIN` or `START TRANSACTION`, with the settings its modes stand for (as
    /// `SetSessionCharacteristics` has them), for the block it opens.
    Begin(Vec<(String, String)>),
    /// `SET TRANSACTION modes`: the settings they stand for, for the open block.
    SetModes(Vec<(String, String)>),
    Commit,
    Rollback,
    /// `SAVEPOINT name`
    Savepoint(String),
    /// `RELEASE [SAVEPOINT] name`
    Release(String),
    /// `ROLLBACK [WORK | TRANSACTION] TO [SAVEPOINT] name`
    RollbackTo(String),
}

/// How a statement returned a setting to its default; each answers its own command tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnsetSpelling {
    /// ksqlDB's `UNSET 'k'`: `UNSET`.
    Unset,
    /// Postgres' `RESET k`: `RESET`.
    Reset,
    /// Postgres' `SET k TO DEFAULT`, `SET TIME ZONE LOCAL`: `SET`.
    SetDefault,
}

/// What `DISCARD` drops; each has its own command tag (`DISCARD ALL`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiscardTarget {
    All,
    Plans,
    Sequences,
    Temp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Emit {
    Changes,
    Final,
}

/// How a column of `CREATE STREAM|TABLE` is stored: `col T`, `col T KEY`,
/// `col T PRIMARY KEY`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Value,
    Key,
    PrimaryKey,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnDef {
    pub name: String,
    pub data_type: ColumnType,
    pub key: KeyKind,
}

/// ksqlDB's column types. `Display` spells them the way ksqlDB does (`INTEGER`, `STRING`,
/// `DECIMAL(10, 2)`, `MAP<STRING, BIGINT>`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnType {
    Boolean,
    Int,
    BigInt,
    Double,
    Decimal {
        precision: u8,
        scale: i8,
    },
    String,
    Bytes,
    Date,
    Time,
    Timestamp,
    Array(Box<ColumnType>),
    Map(Box<ColumnType>, Box<ColumnType>),
    Struct(Vec<(String, ColumnType)>),
    /// A type named by `CREATE TYPE` (its folded name), resolved against the catalog when
    /// the statement is planned.
    Named(String),
}

/// One `NAME = value` of a `WITH (...)` clause; the name is upper-cased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    pub name: String,
    pub value: PropertyValue,
}

/// A property's value as written. `Display` gives the bare text (no quotes), which is what
/// a topic name or a format name is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PropertyValue {
    String(String),
    Number(String),
    Boolean(bool),
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateSource {
    pub kind: SourceKind,
    pub name: String,
    pub or_replace: bool,
    /// `CREATE SOURCE STREAM|TABLE`: read-only.
    pub source_only: bool,
    pub if_not_exists: bool,
    pub columns: Vec<ColumnDef>,
    pub properties: Vec<Property>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateAsSelect {
    pub kind: SourceKind,
    pub name: String,
    pub or_replace: bool,
    pub if_not_exists: bool,
    pub properties: Vec<Property>,
    pub select: SelectStatement,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InsertValues {
    pub target: String,
    pub columns: Option<Vec<String>>,
    /// Every row has the same number of values (and as many as `columns`, if given).
    pub rows: Vec<Vec<Expr>>,
}

/// `COPY name [(cols)] FROM STDIN ...`: the rows follow in the COPY sub-protocol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyFrom {
    pub target: String,
    pub columns: Option<Vec<String>>,
    pub options: CopyOptions,
}

/// How COPY data is written, with Postgres' defaults already applied and checked: every
/// character is a single ASCII character, and the delimiter, quote and NULL string do not
/// clash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyOptions {
    pub format: CopyFormat,
    /// Tab for text, comma for CSV.
    pub delimiter: char,
    /// The spelling of NULL: `\N` for text, an unquoted empty field for CSV.
    pub null: String,
    /// The first line is a header, skipped.
    pub header: bool,
    /// CSV only: the quote character (`"`).
    pub quote: char,
    /// CSV only: the character that escapes a quote inside quotes (the quote itself).
    pub escape: char,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyFormat {
    /// Postgres' text format: delimited fields, backslash escapes, `\N` for NULL.
    Text,
    Csv,
}

#[derive(Debug, Clone, PartialEq)]
pub struct InsertSelect {
    pub target: String,
    pub properties: Vec<Property>,
    pub select: SelectStatement,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteStatement {
    pub target: String,
    pub selection: Option<Expr>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateStatement {
    pub target: String,
    /// `column = expr`, in the order written.
    pub assignments: Vec<ColumnAssignment>,
    pub selection: Option<Expr>,
}

/// One `column = expr` of an UPDATE's SET.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnAssignment {
    pub column: String,
    pub value: Expr,
}

/// A query with ksqlDB's clauses taken out of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectStatement {
    /// The standard part, LIMIT included (in `query.limit_clause`).
    pub query: Box<Query>,
    pub emit: Option<Emit>,
    pub partition_by: Option<Vec<Expr>>,
    pub window: Option<WindowSpec>,
    /// The `WITHIN` of each join of two streams, in FROM order.
    pub join_windows: Vec<JoinWindow>,
    /// Each ASOF join, in FROM order; its join is left in `query` as a plain join.
    pub asof_joins: Vec<AsofJoin>,
}

/// An ASOF join (`s ASOF [LEFT] JOIN t ON ..`, `s [LEFT] ASOF JOIN t MATCH_CONDITION(..) ON
/// ..`), cut out of the join it marks: that join stays in the query as `[LEFT] JOIN t ON ..`.
#[derive(Debug, Clone, PartialEq)]
pub struct AsofJoin {
    /// Which join of the FROM clause it is, from 0 in written order.
    pub join: usize,
    /// The comparison of the two sides' times of `MATCH_CONDITION(..)`, if written so (else
    /// it is a term of ON).
    pub match_condition: Option<Expr>,
    /// `GRACE PERIOD n unit`, written between the joined relation and ON.
    pub grace: Option<Duration>,
}

/// ksqlDB's `JOIN s WITHIN n unit` or `WITHIN (before unit, after unit)`, with an optional
/// `GRACE PERIOD`: a row of the right stream joins a left row whose time is at most `before`
/// after its own and at most `after` before it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JoinWindow {
    /// Which join of the FROM clause it belongs to, from 0 in written order.
    pub join: usize,
    pub before: Duration,
    pub after: Duration,
    pub grace: Option<Duration>,
}

/// `WINDOW TUMBLING|HOPPING|SESSION (...)`. Checked here: sizes, advances and gaps are
/// above zero, and a hopping window advances by at most its size. `IDLE TIMEOUT` is Eddy's:
/// how long a caught-up query waits for input before its stream time follows the clock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WindowSpec {
    Tumbling {
        size: Duration,
        grace: Option<Duration>,
        retention: Option<Duration>,
        idle_timeout: Option<Duration>,
    },
    Hopping {
        size: Duration,
        advance: Duration,
        grace: Option<Duration>,
        retention: Option<Duration>,
        idle_timeout: Option<Duration>,
    },
    Session {
        gap: Duration,
        grace: Option<Duration>,
        retention: Option<Duration>,
        idle_timeout: Option<Duration>,
    },
}

impl fmt::Display for SourceKind {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(match self {
            SourceKind::Stream => "STREAM",
            SourceKind::Table => "TABLE",
        })
    }
}

impl fmt::Display for ColumnType {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ColumnType::Boolean => formatter.write_str("BOOLEAN"),
            ColumnType::Int => formatter.write_str("INTEGER"),
            ColumnType::BigInt => formatter.write_str("BIGINT"),
            ColumnType::Double => formatter.write_str("DOUBLE"),
            ColumnType::Decimal { precision, scale } => {
                write!(formatter, "DECIMAL({precision}, {scale})")
            }
            ColumnType::String => formatter.write_str("STRING"),
            ColumnType::Bytes => formatter.write_str("BYTES"),
            ColumnType::Date => formatter.write_str("DATE"),
            ColumnType::Time => formatter.write_str("TIME"),
            ColumnType::Timestamp => formatter.write_str("TIMESTAMP"),
            ColumnType::Array(element) => write!(formatter, "ARRAY<{element}>"),
            ColumnType::Map(key, value) => write!(formatter, "MAP<{key}, {value}>"),
            ColumnType::Struct(fields) => {
                formatter.write_str("STRUCT<")?;
                for (index, (name, field_type)) in fields.iter().enumerate() {
                    if index > 0 {
                        formatter.write_str(", ")?;
                    }
                    write_identifier(formatter, name)?;
                    write!(formatter, " {field_type}")?;
                }
                formatter.write_str(">")
            }
            ColumnType::Named(name) => write_identifier(formatter, name),
        }
    }
}

/// Writes a name so that parsing it back gives the same name: bare when it is already in
/// folded form, double-quoted otherwise.
fn write_identifier(formatter: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut characters = name.chars();
    let is_bare = characters
        .next()
        .is_some_and(|first| first.is_ascii_lowercase() || first == '_')
        && characters.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if is_bare {
        formatter.write_str(name)
    } else {
        write!(formatter, "\"{}\"", name.replace('"', "\"\""))
    }
}

impl fmt::Display for PropertyValue {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PropertyValue::String(text) | PropertyValue::Number(text) => formatter.write_str(text),
            PropertyValue::Boolean(value) => write!(formatter, "{value}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_types_display_in_ksqldb_spelling() {
        let nested = ColumnType::Struct(vec![
            ("a".to_string(), ColumnType::Int),
            (
                "Mixed Case".to_string(),
                ColumnType::Map(
                    Box::new(ColumnType::String),
                    Box::new(ColumnType::Array(Box::new(ColumnType::BigInt))),
                ),
            ),
            (
                "d".to_string(),
                ColumnType::Decimal {
                    precision: 10,
                    scale: 2,
                },
            ),
        ]);
        assert_eq!(
            nested.to_string(),
            "STRUCT<a INTEGER, \"Mixed Case\" MAP<STRING, ARRAY<BIGINT>>, d DECIMAL(10, 2)>"
        );
        assert_eq!(ColumnType::Timestamp.to_string(), "TIMESTAMP");
    }

    #[test]
    fn property_values_display_without_quotes() {
        assert_eq!(PropertyValue::String("it's".into()).to_string(), "it's");
        assert_eq!(PropertyValue::Number("-2.5".into()).to_string(), "-2.5");
        assert_eq!(PropertyValue::Boolean(false).to_string(), "false");
    }
}
