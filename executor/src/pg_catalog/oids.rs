//! Object identifiers, and the Postgres types Eddy's columns are.
//!
//! OIDs must not change across restarts (clients cache them, psql passes them from one
//! query to the next). So: a stream's or table's OID is 16384 (Postgres' first user OID)
//! plus the object number its storage topic was created with, which the catalog persists
//! and never hands out twice; a function's, a role's and a primary key's are stable hashes
//! of a name (FNV-1a, kept above user relations); types, namespaces and system relations
//! use Postgres' own fixed OIDs.
//!
//! The type of a column follows the server's wire mapping (`server/src/types.rs`): the
//! type a client reads in `pg_attribute` is the type the column's values arrive as.
//!
//! Never: derive an OID from anything that is not persisted or fixed (a position in a list,
//! an address, the order of a map).

use arrow::datatypes::DataType;
use eddy_planner::SourceDef;

/// The namespaces, with Postgres' OIDs for the two it fixes.
pub const PG_CATALOG_NAMESPACE: i64 = 11;
pub const PUBLIC_NAMESPACE: i64 = 2200;
pub const INFORMATION_SCHEMA_NAMESPACE: i64 = 13000;

/// The role that owns every object (the bootstrap superuser's OID in Postgres is 10), and
/// the one database.
pub const OWNER: i64 = 10;
pub const OWNER_NAME: &str = crate::session_properties::OWNER_NAME;
pub const DATABASE: i64 = 16383;
pub const DATABASE_NAME: &str = "eddy";

/// `pg_class`'s own OID: the `classoid` of a relation's description.
pub const PG_CLASS: i64 = 1259;
/// Postgres' `heap` access method, which psql's `\d+` names, and `btree`, a primary key's.
pub const HEAP_ACCESS_METHOD: i64 = 2;
pub const BTREE_ACCESS_METHOD: i64 = 403;
/// `pg_default`, every relation's tablespace.
pub const DEFAULT_TABLESPACE: i64 = 1663;
/// Postgres' first OID for user objects.
const FIRST_USER_OID: i64 = 16384;
/// Function OIDs are hashed into [FUNCTION_OIDS_START, i32::MAX], far above user relations.
const FUNCTION_OIDS_START: i64 = 1 << 24;

/// A stream's or table's OID: from the object number in its topic (`000007-clicks`), which
/// is allocated once and persisted; a topic without one hashes the source's name.
pub fn relation_oid(source: &SourceDef) -> i64 {
    let digits: String = source
        .topic
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    match digits.parse::<i64>() {
        Ok(number) if number < FUNCTION_OIDS_START - FIRST_USER_OID => FIRST_USER_OID + number,
        _ => name_oid(&source.name),
    }
}

/// The OIDs of a table's primary key index and constraint: hashes of its storage topic,
/// which is unique to each table ever created, so a table re-created under the same name
/// gets new ones, as in Postgres.
pub fn primary_key_index_oid(source: &SourceDef) -> i64 {
    name_oid(&format!("pkey index {}", source.topic))
}

pub fn primary_key_constraint_oid(source: &SourceDef) -> i64 {
    name_oid(&format!("pkey constraint {}", source.topic))
}

/// A role's OID: the owner's is Postgres' bootstrap superuser's, a user's a stable hash of
/// its name (kept apart from functions' by a prefix).
pub fn role_oid(name: &str) -> i64 {
    if name == OWNER_NAME {
        OWNER
    } else {
        name_oid(&format!("role {name}"))
    }
}

/// A function's OID: a stable hash of its name.
pub fn function_oid(name: &str) -> i64 {
    name_oid(name)
}

fn name_oid(name: &str) -> i64 {
    let hash = name.bytes().fold(0x811c_9dc5_u32, |hash, byte| {
        (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193)
    });
    FUNCTION_OIDS_START + i64::from(hash) % (i64::from(i32::MAX) - FUNCTION_OIDS_START)
}

/// One built-in Postgres type Eddy announces (`pg_type` holds exactly these).
#[derive(Debug, Clone, Copy)]
pub struct PgType {
    pub oid: i64,
    /// `typname`.
    pub name: &'static str,
    /// `format_type`'s name, and `information_schema.columns.data_type`'s.
    pub sql_name: &'static str,
    pub array_oid: i64,
    /// `typlen`: bytes of a fixed-width value, -1 for variable width.
    pub length: i16,
    /// `typcategory`.
    pub category: char,
}

const fn pg_type(
    oid: i64,
    name: &'static str,
    sql_name: &'static str,
    array_oid: i64,
    length: i16,
    category: char,
) -> PgType {
    PgType {
        oid,
        name,
        sql_name,
        array_oid,
        length,
        category,
    }
}

pub const BOOL: PgType = pg_type(16, "bool", "boolean", 1000, 1, 'B');
pub const BYTEA: PgType = pg_type(17, "bytea", "bytea", 1001, -1, 'U');
pub const CHAR: PgType = pg_type(18, "char", "\"char\"", 1002, 1, 'S');
pub const NAME: PgType = pg_type(19, "name", "name", 1003, 64, 'S');
pub const INT8: PgType = pg_type(20, "int8", "bigint", 1016, 8, 'N');
pub const INT2: PgType = pg_type(21, "int2", "smallint", 1005, 2, 'N');
pub const INT4: PgType = pg_type(23, "int4", "integer", 1007, 4, 'N');
pub const TEXT: PgType = pg_type(25, "text", "text", 1009, -1, 'S');
pub const OID: PgType = pg_type(26, "oid", "oid", 1028, 4, 'N');
pub const JSON: PgType = pg_type(114, "json", "json", 199, -1, 'U');
pub const FLOAT4: PgType = pg_type(700, "float4", "real", 1021, 4, 'N');
pub const FLOAT8: PgType = pg_type(701, "float8", "double precision", 1022, 8, 'N');
pub const VARCHAR: PgType = pg_type(1043, "varchar", "character varying", 1015, -1, 'S');
pub const DATE: PgType = pg_type(1082, "date", "date", 1182, 4, 'D');
pub const TIME: PgType = pg_type(1083, "time", "time without time zone", 1183, 8, 'D');
pub const TIMESTAMP: PgType = pg_type(
    1114,
    "timestamp",
    "timestamp without time zone",
    1115,
    8,
    'D',
);
pub const TIMESTAMPTZ: PgType = pg_type(
    1184,
    "timestamptz",
    "timestamp with time zone",
    1185,
    8,
    'D',
);
pub const INTERVAL: PgType = pg_type(1186, "interval", "interval", 1187, 16, 'T');
pub const NUMERIC: PgType = pg_type(1700, "numeric", "numeric", 1231, -1, 'N');
pub const UUID: PgType = pg_type(2950, "uuid", "uuid", 2951, 16, 'U');
pub const JSONB: PgType = pg_type(3802, "jsonb", "jsonb", 3807, -1, 'U');

/// Every type `pg_type` lists (each also has an array type, `_name`).
pub const TYPES: [PgType; 21] = [
    BOOL,
    BYTEA,
    CHAR,
    NAME,
    INT8,
    INT2,
    INT4,
    TEXT,
    OID,
    JSON,
    FLOAT4,
    FLOAT8,
    VARCHAR,
    DATE,
    TIME,
    TIMESTAMP,
    TIMESTAMPTZ,
    INTERVAL,
    NUMERIC,
    UUID,
    JSONB,
];

/// The type of an element of a one-dimensional array type, by the array's OID.
pub fn array_element(oid: i64) -> Option<PgType> {
    TYPES.into_iter().find(|pg_type| pg_type.array_oid == oid)
}

pub fn type_by_oid(oid: i64) -> Option<PgType> {
    TYPES.into_iter().find(|pg_type| pg_type.oid == oid)
}

/// A column's type as a client sees it: its OID and `atttypmod` (precision and scale of a
/// numeric, -1 otherwise). Mirrors the server's wire mapping.
pub fn column_type(data_type: &DataType) -> (i64, i32) {
    match data_type {
        DataType::Boolean => (BOOL.oid, -1),
        DataType::Int8 | DataType::Int16 | DataType::UInt8 => (INT2.oid, -1),
        DataType::Int32 | DataType::UInt16 => (INT4.oid, -1),
        DataType::Int64 | DataType::UInt32 => (INT8.oid, -1),
        DataType::Decimal32(precision, scale)
        | DataType::Decimal64(precision, scale)
        | DataType::Decimal128(precision, scale)
        | DataType::Decimal256(precision, scale) => (
            NUMERIC.oid,
            numeric_typmod(i32::from(*precision), i32::from(*scale)),
        ),
        DataType::UInt64 => (NUMERIC.oid, -1),
        DataType::Float16 | DataType::Float32 => (FLOAT4.oid, -1),
        DataType::Float64 => (FLOAT8.oid, -1),
        DataType::Binary
        | DataType::LargeBinary
        | DataType::BinaryView
        | DataType::FixedSizeBinary(_) => (BYTEA.oid, -1),
        DataType::Date32 | DataType::Date64 => (DATE.oid, -1),
        DataType::Time32(_) | DataType::Time64(_) => (TIME.oid, -1),
        DataType::Timestamp(_, None) => (TIMESTAMP.oid, -1),
        DataType::Timestamp(_, Some(_)) => (TIMESTAMPTZ.oid, -1),
        DataType::Dictionary(_, value_type) => column_type(value_type),
        DataType::Struct(_) | DataType::Map(_, _) => (JSON.oid, -1),
        DataType::List(element) | DataType::LargeList(element) => {
            match column_type(element.data_type()) {
                (oid, _) if oid == JSON.oid => (JSON.oid, -1),
                (oid, _) => match type_by_oid(oid) {
                    Some(element) => (element.array_oid, -1),
                    None => (JSON.oid, -1),
                },
            }
        }
        _ => (TEXT.oid, -1),
    }
}

/// Postgres' `atttypmod` of `numeric(precision, scale)`.
fn numeric_typmod(precision: i32, scale: i32) -> i32 {
    ((precision << 16) | (scale & 0xffff)) + 4
}

/// `format_type(oid, typmod)`: the type's SQL name, with a numeric's precision and scale.
pub fn format_type(oid: i64, typmod: Option<i64>) -> Option<String> {
    if let Some(element) = array_element(oid) {
        return Some(format!("{}[]", format_type(element.oid, typmod)?));
    }
    let pg_type = type_by_oid(oid)?;
    match typmod {
        Some(typmod) if oid == NUMERIC.oid && typmod >= 4 => {
            let packed = typmod - 4;
            Some(format!("numeric({},{})", packed >> 16, packed & 0xffff))
        }
        _ => Some(pg_type.sql_name.to_string()),
    }
}

/// A type's OID by its name: `typname` (`int8`, `_text`), its SQL name (`bigint`), or
/// either qualified with `pg_catalog.`, as `to_regtype` and `::regtype` read it.
pub fn type_oid_by_name(name: &str) -> Option<i64> {
    let name = name.trim().trim_matches('"').to_lowercase();
    let name = name.strip_prefix("pg_catalog.").unwrap_or(&name);
    if let Some(element) = name.strip_suffix("[]") {
        let element = type_oid_by_name(element)?;
        return type_by_oid(element).map(|pg_type| pg_type.array_oid);
    }
    if let Some(element) = name.strip_prefix('_') {
        let element = type_oid_by_name(element)?;
        return type_by_oid(element).map(|pg_type| pg_type.array_oid);
    }
    let aliases = [
        ("int", INT4.oid),
        ("integer", INT4.oid),
        ("boolean", BOOL.oid),
        ("double", FLOAT8.oid),
        ("string", TEXT.oid),
        ("decimal", NUMERIC.oid),
    ];
    TYPES
        .into_iter()
        .find(|pg_type| pg_type.name == name || pg_type.sql_name == name)
        .map(|pg_type| pg_type.oid)
        .or_else(|| {
            aliases
                .into_iter()
                .find(|(alias, _)| *alias == name)
                .map(|(_, oid)| oid)
        })
}

/// A type's `typname` by OID, arrays as `_element`.
pub fn type_name(oid: i64) -> Option<String> {
    if let Some(element) = array_element(oid) {
        return Some(format!("_{}", element.name));
    }
    type_by_oid(oid).map(|pg_type| pg_type.name.to_string())
}
