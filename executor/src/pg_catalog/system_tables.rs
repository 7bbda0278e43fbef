//! The relations of `pg_catalog`: those with Eddy's rows (`pg_namespace`, `pg_class`,
//! `pg_attribute`, `pg_type`, `pg_database`, `pg_proc`, `pg_description`, `pg_roles`,
//! `pg_settings`, `pg_am`, `pg_index` and `pg_constraint` with primary keys, `pg_tables`,
//! `pg_matviews` ..) and those clients only need to exist, empty, because Eddy has no other
//! indexes or constraints, no triggers, policies, inheritance, extensions or publications. Columns are Postgres 15's that clients read (psql 15's
//! describe queries, pgjdbc, SQLAlchemy, Npgsql, DBeaver), not every one Postgres has.
//!
//! Never: list a column under a name Postgres does not use, or rows Eddy does not have.

use datafusion::common::ScalarValue;

use super::oids::{self, PgType};
use super::relations::{self, UserRelation};
use super::roles::{self, Role};
use super::tables::Kind::{
    Bool, Char, Float4, Int2, Int2Array, Int4, Int8, Oid, OidArray, RegProc, Text, TextArray,
};
use super::tables::{Kind, PG_CATALOG, Row, Snapshot, TableDef};

pub fn text(value: impl Into<String>) -> ScalarValue {
    ScalarValue::Utf8(Some(value.into()))
}

pub fn int(value: i64) -> ScalarValue {
    ScalarValue::Int64(Some(value))
}

pub fn boolean(value: bool) -> ScalarValue {
    ScalarValue::Boolean(Some(value))
}

pub fn character(value: char) -> ScalarValue {
    ScalarValue::Utf8(Some(value.to_string()))
}

pub fn null() -> ScalarValue {
    ScalarValue::Null
}

/// A text array (`relacl`).
fn text_array(values: Vec<String>) -> ScalarValue {
    let values: Vec<ScalarValue> = values.into_iter().map(text).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(
        &values,
        &arrow::datatypes::DataType::Utf8,
    ))
}

/// An integer array (`indkey`, `conkey`), cast to the column's element type when built.
fn int_array(values: &[i64]) -> ScalarValue {
    let values: Vec<ScalarValue> = values.iter().map(|value| int(*value)).collect();
    ScalarValue::List(ScalarValue::new_list_nullable(
        &values,
        &arrow::datatypes::DataType::Int64,
    ))
}

const fn table(
    name: &'static str,
    oid: i64,
    columns: &'static [(&'static str, Kind)],
    rows: fn(&Snapshot<'_>) -> Vec<Row>,
) -> TableDef {
    TableDef {
        schema: PG_CATALOG,
        name,
        oid,
        view: false,
        columns,
        rows,
    }
}

const fn view(
    name: &'static str,
    oid: i64,
    columns: &'static [(&'static str, Kind)],
    rows: fn(&Snapshot<'_>) -> Vec<Row>,
) -> TableDef {
    TableDef {
        view: true,
        ..table(name, oid, columns, rows)
    }
}

fn no_rows(_: &Snapshot<'_>) -> Vec<Row> {
    Vec::new()
}

pub static TABLES: [TableDef; 38] = [
    table(
        "pg_namespace",
        2615,
        &[
            ("oid", Oid),
            ("nspname", Text),
            ("nspowner", Oid),
            ("nspacl", TextArray),
        ],
        namespace_rows,
    ),
    table("pg_class", 1259, PG_CLASS_COLUMNS, class_rows),
    table("pg_attribute", 1249, PG_ATTRIBUTE_COLUMNS, attribute_rows),
    table("pg_type", 1247, PG_TYPE_COLUMNS, type_rows),
    table("pg_database", 1262, PG_DATABASE_COLUMNS, database_rows),
    table("pg_proc", 1255, PG_PROC_COLUMNS, proc_rows),
    table(
        "pg_description",
        2609,
        &[
            ("objoid", Oid),
            ("classoid", Oid),
            ("objsubid", Int4),
            ("description", Text),
        ],
        description_rows,
    ),
    table(
        "pg_shdescription",
        2396,
        &[("objoid", Oid), ("classoid", Oid), ("description", Text)],
        no_rows,
    ),
    view("pg_roles", 12001, PG_ROLES_COLUMNS, role_rows),
    table("pg_authid", 1260, PG_AUTHID_COLUMNS, authid_rows),
    view(
        "pg_user",
        12002,
        &[
            ("usename", Text),
            ("usesysid", Oid),
            ("usecreatedb", Bool),
            ("usesuper", Bool),
            ("userepl", Bool),
            ("usebypassrls", Bool),
            ("passwd", Text),
            ("valuntil", Text),
            ("useconfig", TextArray),
        ],
        user_rows,
    ),
    table(
        "pg_auth_members",
        1261,
        &[
            ("oid", Oid),
            ("roleid", Oid),
            ("member", Oid),
            ("grantor", Oid),
            ("admin_option", Bool),
        ],
        no_rows,
    ),
    table(
        "pg_am",
        2601,
        &[
            ("oid", Oid),
            ("amname", Text),
            ("amhandler", Text),
            ("amtype", Char),
        ],
        access_method_rows,
    ),
    view("pg_settings", 12003, PG_SETTINGS_COLUMNS, setting_rows),
    table(
        "pg_tablespace",
        1213,
        &[
            ("oid", Oid),
            ("spcname", Text),
            ("spcowner", Oid),
            ("spcacl", TextArray),
            ("spcoptions", TextArray),
        ],
        tablespace_rows,
    ),
    table("pg_index", 2610, PG_INDEX_COLUMNS, index_rows),
    table(
        "pg_constraint",
        2606,
        PG_CONSTRAINT_COLUMNS,
        constraint_rows,
    ),
    table(
        "pg_inherits",
        2611,
        &[
            ("inhrelid", Oid),
            ("inhparent", Oid),
            ("inhseqno", Int4),
            ("inhdetachpending", Bool),
        ],
        no_rows,
    ),
    table(
        "pg_attrdef",
        2604,
        &[
            ("oid", Oid),
            ("adrelid", Oid),
            ("adnum", Int2),
            ("adbin", Text),
        ],
        no_rows,
    ),
    table(
        "pg_collation",
        3456,
        &[
            ("oid", Oid),
            ("collname", Text),
            ("collnamespace", Oid),
            ("collowner", Oid),
            ("collprovider", Char),
            ("collisdeterministic", Bool),
            ("collencoding", Int4),
            ("collcollate", Text),
            ("collctype", Text),
            ("colliculocale", Text),
            ("collversion", Text),
        ],
        no_rows,
    ),
    table(
        "pg_extension",
        3079,
        &[
            ("oid", Oid),
            ("extname", Text),
            ("extowner", Oid),
            ("extnamespace", Oid),
            ("extrelocatable", Bool),
            ("extversion", Text),
            ("extconfig", OidArray),
            ("extcondition", TextArray),
        ],
        no_rows,
    ),
    table("pg_trigger", 2620, PG_TRIGGER_COLUMNS, no_rows),
    table(
        "pg_opclass",
        2616,
        &[
            ("oid", Oid),
            ("opcmethod", Oid),
            ("opcname", Text),
            ("opcnamespace", Oid),
            ("opcowner", Oid),
            ("opcfamily", Oid),
            ("opcintype", Oid),
            ("opcdefault", Bool),
            ("opckeytype", Oid),
        ],
        no_rows,
    ),
    table(
        "pg_policy",
        3256,
        &[
            ("oid", Oid),
            ("polname", Text),
            ("polrelid", Oid),
            ("polcmd", Char),
            ("polpermissive", Bool),
            ("polroles", OidArray),
            ("polqual", Text),
            ("polwithcheck", Text),
        ],
        no_rows,
    ),
    table(
        "pg_enum",
        3501,
        &[
            ("oid", Oid),
            ("enumtypid", Oid),
            ("enumsortorder", Float4),
            ("enumlabel", Text),
        ],
        no_rows,
    ),
    table(
        "pg_range",
        3541,
        &[
            ("rngtypid", Oid),
            ("rngsubtype", Oid),
            ("rngmultitypid", Oid),
            ("rngcollation", Oid),
            ("rngsubopc", Oid),
            ("rngcanonical", Text),
            ("rngsubdiff", Text),
        ],
        no_rows,
    ),
    table(
        "pg_statistic_ext",
        3381,
        &[
            ("oid", Oid),
            ("stxrelid", Oid),
            ("stxname", Text),
            ("stxnamespace", Oid),
            ("stxowner", Oid),
            ("stxstattarget", Int4),
            ("stxkeys", Int2Array),
            ("stxkind", TextArray),
            ("stxexprs", Text),
        ],
        no_rows,
    ),
    table(
        "pg_publication",
        6104,
        &[
            ("oid", Oid),
            ("pubname", Text),
            ("pubowner", Oid),
            ("puballtables", Bool),
            ("pubinsert", Bool),
            ("pubupdate", Bool),
            ("pubdelete", Bool),
            ("pubtruncate", Bool),
            ("pubviaroot", Bool),
        ],
        no_rows,
    ),
    table(
        "pg_publication_rel",
        6106,
        &[
            ("oid", Oid),
            ("prpubid", Oid),
            ("prrelid", Oid),
            ("prqual", Text),
            ("prattrs", Int2Array),
        ],
        no_rows,
    ),
    table(
        "pg_publication_namespace",
        6237,
        &[("oid", Oid), ("pnpubid", Oid), ("pnnspid", Oid)],
        no_rows,
    ),
    table(
        "pg_sequence",
        2224,
        &[
            ("seqrelid", Oid),
            ("seqtypid", Oid),
            ("seqstart", Int8),
            ("seqincrement", Int8),
            ("seqmax", Int8),
            ("seqmin", Int8),
            ("seqcache", Int8),
            ("seqcycle", Bool),
        ],
        no_rows,
    ),
    table(
        "pg_depend",
        2608,
        &[
            ("classid", Oid),
            ("objid", Oid),
            ("objsubid", Int4),
            ("refclassid", Oid),
            ("refobjid", Oid),
            ("refobjsubid", Int4),
            ("deptype", Char),
        ],
        no_rows,
    ),
    table(
        "pg_rewrite",
        2618,
        &[
            ("oid", Oid),
            ("rulename", Text),
            ("ev_class", Oid),
            ("ev_type", Char),
            ("ev_enabled", Char),
            ("is_instead", Bool),
            ("ev_qual", Text),
            ("ev_action", Text),
        ],
        no_rows,
    ),
    view(
        "pg_tables",
        12004,
        &[
            ("schemaname", Text),
            ("tablename", Text),
            ("tableowner", Text),
            ("tablespace", Text),
            ("hasindexes", Bool),
            ("hasrules", Bool),
            ("hastriggers", Bool),
            ("rowsecurity", Bool),
        ],
        pg_tables_rows,
    ),
    view(
        "pg_views",
        12005,
        &[
            ("schemaname", Text),
            ("viewname", Text),
            ("viewowner", Text),
            ("definition", Text),
        ],
        no_rows,
    ),
    view(
        "pg_matviews",
        12006,
        &[
            ("schemaname", Text),
            ("matviewname", Text),
            ("matviewowner", Text),
            ("tablespace", Text),
            ("hasindexes", Bool),
            ("ispopulated", Bool),
            ("definition", Text),
        ],
        pg_matviews_rows,
    ),
    view(
        "pg_stat_user_tables",
        12007,
        &[
            ("relid", Oid),
            ("schemaname", Text),
            ("relname", Text),
            ("seq_scan", Int8),
            ("n_live_tup", Int8),
            ("n_dead_tup", Int8),
        ],
        no_rows,
    ),
    view(
        "pg_stat_activity",
        12008,
        &[
            ("datid", Oid),
            ("datname", Text),
            ("pid", Int4),
            ("usename", Text),
            ("application_name", Text),
            ("state", Text),
            ("query", Text),
        ],
        no_rows,
    ),
];

const PG_CLASS_COLUMNS: &[(&str, Kind)] = &[
    ("oid", Oid),
    ("relname", Text),
    ("relnamespace", Oid),
    ("reltype", Oid),
    ("reloftype", Oid),
    ("relowner", Oid),
    ("relam", Oid),
    ("relfilenode", Oid),
    ("reltablespace", Oid),
    ("relpages", Int4),
    ("reltuples", Float4),
    ("relallvisible", Int4),
    ("reltoastrelid", Oid),
    ("relhasindex", Bool),
    ("relisshared", Bool),
    ("relpersistence", Char),
    ("relkind", Char),
    ("relnatts", Int2),
    ("relchecks", Int2),
    ("relhasrules", Bool),
    ("relhastriggers", Bool),
    ("relhassubclass", Bool),
    ("relrowsecurity", Bool),
    ("relforcerowsecurity", Bool),
    ("relispopulated", Bool),
    ("relreplident", Char),
    ("relispartition", Bool),
    ("relrewrite", Oid),
    ("relfrozenxid", Int8),
    ("relminmxid", Int8),
    ("relacl", TextArray),
    ("reloptions", TextArray),
    ("relpartbound", Text),
];

const PG_ATTRIBUTE_COLUMNS: &[(&str, Kind)] = &[
    ("attrelid", Oid),
    ("attname", Text),
    ("atttypid", Oid),
    ("attstattarget", Int4),
    ("attlen", Int2),
    ("attnum", Int2),
    ("attndims", Int4),
    ("attcacheoff", Int4),
    ("atttypmod", Int4),
    ("attbyval", Bool),
    ("attalign", Char),
    ("attstorage", Char),
    ("attcompression", Char),
    ("attnotnull", Bool),
    ("atthasdef", Bool),
    ("atthasmissing", Bool),
    ("attidentity", Char),
    ("attgenerated", Char),
    ("attisdropped", Bool),
    ("attislocal", Bool),
    ("attinhcount", Int4),
    ("attcollation", Oid),
    ("attacl", TextArray),
    ("attoptions", TextArray),
    ("attfdwoptions", TextArray),
    ("attmissingval", Text),
];

const PG_TYPE_COLUMNS: &[(&str, Kind)] = &[
    ("oid", Oid),
    ("typname", Text),
    ("typnamespace", Oid),
    ("typowner", Oid),
    ("typlen", Int2),
    ("typbyval", Bool),
    ("typtype", Char),
    ("typcategory", Char),
    ("typispreferred", Bool),
    ("typisdefined", Bool),
    ("typdelim", Char),
    ("typrelid", Oid),
    ("typsubscript", Text),
    ("typelem", Oid),
    ("typarray", Oid),
    ("typinput", RegProc),
    ("typoutput", RegProc),
    ("typreceive", RegProc),
    ("typsend", RegProc),
    ("typmodin", RegProc),
    ("typmodout", RegProc),
    ("typanalyze", RegProc),
    ("typalign", Char),
    ("typstorage", Char),
    ("typnotnull", Bool),
    ("typbasetype", Oid),
    ("typtypmod", Int4),
    ("typndims", Int4),
    ("typcollation", Oid),
    ("typdefaultbin", Text),
    ("typdefault", Text),
    ("typacl", TextArray),
];

const PG_DATABASE_COLUMNS: &[(&str, Kind)] = &[
    ("oid", Oid),
    ("datname", Text),
    ("datdba", Oid),
    ("encoding", Int4),
    ("datlocprovider", Char),
    ("datistemplate", Bool),
    ("datallowconn", Bool),
    ("datconnlimit", Int4),
    ("datfrozenxid", Int8),
    ("datminmxid", Int8),
    ("dattablespace", Oid),
    ("datcollate", Text),
    ("datctype", Text),
    ("daticulocale", Text),
    ("daticurules", Text),
    ("datcollversion", Text),
    ("datacl", TextArray),
];

const PG_PROC_COLUMNS: &[(&str, Kind)] = &[
    ("oid", Oid),
    ("proname", Text),
    ("pronamespace", Oid),
    ("proowner", Oid),
    ("prolang", Oid),
    ("procost", Float4),
    ("prorows", Float4),
    ("provariadic", Oid),
    ("prosupport", RegProc),
    ("prokind", Char),
    ("prosecdef", Bool),
    ("proleakproof", Bool),
    ("proisstrict", Bool),
    ("proretset", Bool),
    ("provolatile", Char),
    ("proparallel", Char),
    ("pronargs", Int2),
    ("pronargdefaults", Int2),
    ("prorettype", Oid),
    ("proargtypes", Text),
    ("proallargtypes", OidArray),
    ("proargmodes", TextArray),
    ("proargnames", TextArray),
    ("proargdefaults", Text),
    ("protrftypes", OidArray),
    ("prosrc", Text),
    ("probin", Text),
    ("prosqlbody", Text),
    ("proconfig", TextArray),
    ("proacl", TextArray),
];

const PG_ROLES_COLUMNS: &[(&str, Kind)] = &[
    ("rolname", Text),
    ("rolsuper", Bool),
    ("rolinherit", Bool),
    ("rolcreaterole", Bool),
    ("rolcreatedb", Bool),
    ("rolcanlogin", Bool),
    ("rolreplication", Bool),
    ("rolconnlimit", Int4),
    ("rolpassword", Text),
    ("rolvaliduntil", Text),
    ("rolbypassrls", Bool),
    ("rolconfig", TextArray),
    ("oid", Oid),
];

/// `pg_roles`' columns but `rolpassword` last and unmasked in Postgres; here NULL, since
/// Eddy never shows a verifier.
const PG_AUTHID_COLUMNS: &[(&str, Kind)] = &[
    ("oid", Oid),
    ("rolname", Text),
    ("rolsuper", Bool),
    ("rolinherit", Bool),
    ("rolcreaterole", Bool),
    ("rolcreatedb", Bool),
    ("rolcanlogin", Bool),
    ("rolreplication", Bool),
    ("rolbypassrls", Bool),
    ("rolconnlimit", Int4),
    ("rolpassword", Text),
    ("rolvaliduntil", Text),
];

const PG_SETTINGS_COLUMNS: &[(&str, Kind)] = &[
    ("name", Text),
    ("setting", Text),
    ("unit", Text),
    ("category", Text),
    ("short_desc", Text),
    ("extra_desc", Text),
    ("context", Text),
    ("vartype", Text),
    ("source", Text),
    ("min_val", Text),
    ("max_val", Text),
    ("enumvals", TextArray),
    ("boot_val", Text),
    ("reset_val", Text),
    ("sourcefile", Text),
    ("sourceline", Int4),
    ("pending_restart", Bool),
];

const PG_INDEX_COLUMNS: &[(&str, Kind)] = &[
    ("indexrelid", Oid),
    ("indrelid", Oid),
    ("indnatts", Int2),
    ("indnkeyatts", Int2),
    ("indisunique", Bool),
    ("indnullsnotdistinct", Bool),
    ("indisprimary", Bool),
    ("indisexclusion", Bool),
    ("indimmediate", Bool),
    ("indisclustered", Bool),
    ("indisvalid", Bool),
    ("indcheckxmin", Bool),
    ("indisready", Bool),
    ("indislive", Bool),
    ("indisreplident", Bool),
    ("indkey", Int2Array),
    ("indcollation", OidArray),
    ("indclass", OidArray),
    ("indoption", Int2Array),
    ("indexprs", Text),
    ("indpred", Text),
];

const PG_CONSTRAINT_COLUMNS: &[(&str, Kind)] = &[
    ("oid", Oid),
    ("conname", Text),
    ("connamespace", Oid),
    ("contype", Char),
    ("condeferrable", Bool),
    ("condeferred", Bool),
    ("convalidated", Bool),
    ("conrelid", Oid),
    ("contypid", Oid),
    ("conindid", Oid),
    ("conparentid", Oid),
    ("confrelid", Oid),
    ("confupdtype", Char),
    ("confdeltype", Char),
    ("confmatchtype", Char),
    ("conislocal", Bool),
    ("coninhcount", Int4),
    ("connoinherit", Bool),
    ("conkey", Int2Array),
    ("confkey", Int2Array),
    ("conpfeqop", OidArray),
    ("conppeqop", OidArray),
    ("conffeqop", OidArray),
    ("confdelsetcols", Int2Array),
    ("conexclop", OidArray),
    ("conbin", Text),
];

const PG_TRIGGER_COLUMNS: &[(&str, Kind)] = &[
    ("oid", Oid),
    ("tgrelid", Oid),
    ("tgparentid", Oid),
    ("tgname", Text),
    ("tgfoid", Oid),
    ("tgtype", Int2),
    ("tgenabled", Char),
    ("tgisinternal", Bool),
    ("tgconstrrelid", Oid),
    ("tgconstrindid", Oid),
    ("tgconstraint", Oid),
    ("tgdeferrable", Bool),
    ("tginitdeferred", Bool),
    ("tgnargs", Int2),
    ("tgattr", Int2Array),
    ("tgargs", Text),
    ("tgqual", Text),
    ("tgoldtable", Text),
    ("tgnewtable", Text),
];

fn namespace_rows(_: &Snapshot<'_>) -> Vec<Row> {
    relations::NAMESPACES
        .iter()
        .map(|(oid, name)| {
            vec![
                ("oid", int(*oid)),
                ("nspname", text(*name)),
                ("nspowner", int(oids::OWNER)),
            ]
        })
        .collect()
}

/// Every relation: Eddy's streams and tables (with their ACLs, once a user is granted
/// something), their primary keys' indexes, then the catalog's own.
fn class_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let relations = relations::user_relations(snapshot.catalog);
    let keys = relations::primary_keys(&relations);
    let mut rows = Vec::new();
    for relation in &relations {
        let mut row = class_row(
            relation.oid,
            &relation.source.name,
            oids::PUBLIC_NAMESPACE,
            relation.relkind,
            relation.source.queryable_schema().fields().len(),
        );
        let indexed = keys.iter().any(|key| key.relation.oid == relation.oid);
        row.push(("relhasindex", boolean(indexed)));
        if let Some(acl) = roles::relation_acl(snapshot.context, &relation.source.name) {
            row.push(("relacl", text_array(acl)));
        }
        rows.push(row);
    }
    for key in &keys {
        rows.push(class_row(
            key.index_oid,
            &key.name,
            oids::PUBLIC_NAMESPACE,
            'i',
            key.columns.len(),
        ));
    }
    rows.extend(super::tables::all_tables().map(|table| {
        class_row(
            table.oid,
            table.name,
            relations::namespace_oid(table.schema).unwrap_or(oids::PG_CATALOG_NAMESPACE),
            if table.view { 'v' } else { 'r' },
            table.columns.len(),
        )
    }));
    rows
}

fn class_row(oid: i64, name: &str, namespace: i64, relkind: char, columns: usize) -> Row {
    let access_method = match relkind {
        'v' => 0,
        'i' => oids::BTREE_ACCESS_METHOD,
        _ => oids::HEAP_ACCESS_METHOD,
    };
    vec![
        ("oid", int(oid)),
        ("relname", text(name)),
        ("relnamespace", int(namespace)),
        ("relowner", int(oids::OWNER)),
        ("relam", int(access_method)),
        ("relfilenode", int(oid)),
        ("reltuples", ScalarValue::Float32(Some(-1.0))),
        ("relpersistence", character('p')),
        ("relkind", character(relkind)),
        ("relnatts", int(i64::try_from(columns).unwrap_or(i64::MAX))),
        ("relispopulated", boolean(true)),
        ("relreplident", character('d')),
    ]
}

/// Every column of every relation. A stream's or table's pseudo-columns (ROWTIME,
/// ROWPARTITION, ROWOFFSET) are system columns with negative numbers, as Postgres numbers
/// its own (psql's `attnum > 0` leaves them out; a query can still name them).
fn attribute_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let mut rows = Vec::new();
    for relation in relations::user_relations(snapshot.catalog) {
        let declared = relation.source.columns.len();
        let is_table = relation.source.is_table();
        for (index, field) in relation
            .source
            .queryable_schema()
            .fields()
            .iter()
            .enumerate()
        {
            let number = if index < declared {
                index as i64 + 1
            } else {
                -((index - declared) as i64 + 1)
            };
            let key = relation
                .source
                .columns
                .get(index)
                .is_some_and(|column| column.key);
            let (type_oid, typmod) = oids::column_type(field.data_type());
            rows.push(attribute_row(
                relation.oid,
                field.name(),
                number,
                type_oid,
                typmod,
                (key && is_table) || number < 0,
            ));
        }
    }
    let relations = relations::user_relations(snapshot.catalog);
    for key in relations::primary_keys(&relations) {
        for (position, (number, name)) in key.columns.iter().enumerate() {
            let column = &key.relation.source.columns[usize::try_from(*number - 1).unwrap_or(0)];
            let (type_oid, typmod) = oids::column_type(&column.data_type);
            rows.push(attribute_row(
                key.index_oid,
                name,
                i64::try_from(position).unwrap_or(i64::MAX - 1) + 1,
                type_oid,
                typmod,
                true,
            ));
        }
    }
    for table in super::tables::all_tables() {
        for (index, (name, kind)) in table.columns.iter().enumerate() {
            let (type_oid, typmod) = oids::column_type(&kind.data_type());
            let type_oid = match kind {
                Kind::Oid => oids::OID.oid,
                Kind::Char => oids::CHAR.oid,
                _ => type_oid,
            };
            rows.push(attribute_row(
                table.oid,
                name,
                index as i64 + 1,
                type_oid,
                typmod,
                false,
            ));
        }
    }
    rows
}

fn attribute_row(
    relation: i64,
    name: &str,
    number: i64,
    type_oid: i64,
    typmod: i32,
    not_null: bool,
) -> Row {
    let length = oids::type_by_oid(type_oid).map_or(-1, |pg_type| i64::from(pg_type.length));
    vec![
        ("attrelid", int(relation)),
        ("attname", text(name)),
        ("atttypid", int(type_oid)),
        ("attstattarget", int(-1)),
        ("attlen", int(length)),
        ("attnum", int(number)),
        ("attcacheoff", int(-1)),
        ("atttypmod", int(i64::from(typmod))),
        ("attbyval", boolean((1..=8).contains(&length))),
        ("attalign", character(if length == 8 { 'd' } else { 'i' })),
        ("attstorage", character(if length < 0 { 'x' } else { 'p' })),
        ("attcompression", text("")),
        ("attnotnull", boolean(not_null)),
        ("attidentity", text("")),
        ("attgenerated", text("")),
        ("attislocal", boolean(true)),
    ]
}

/// The built-in types Eddy's columns are announced as, and their array types.
fn type_rows(_: &Snapshot<'_>) -> Vec<Row> {
    oids::TYPES
        .iter()
        .flat_map(|pg_type| [type_row(pg_type, None), type_row(pg_type, Some(pg_type))])
        .collect()
}

/// A base type's row, or (with its element) an array type's.
fn type_row(pg_type: &PgType, array_of: Option<&PgType>) -> Row {
    let (oid, name, length, category, element, array) = match array_of {
        None => (
            pg_type.oid,
            pg_type.name.to_string(),
            i64::from(pg_type.length),
            pg_type.category,
            0,
            pg_type.array_oid,
        ),
        Some(element) => (
            element.array_oid,
            format!("_{}", element.name),
            -1,
            'A',
            element.oid,
            0,
        ),
    };
    let [input, output, receive, send] = io_functions(pg_type, array_of.is_some());
    let collatable = category == 'S' && pg_type.oid != oids::CHAR.oid;
    vec![
        ("oid", int(oid)),
        ("typname", text(name)),
        ("typnamespace", int(oids::PG_CATALOG_NAMESPACE)),
        ("typowner", int(oids::OWNER)),
        ("typlen", int(length)),
        ("typbyval", boolean((1..=8).contains(&length))),
        ("typtype", character('b')),
        ("typcategory", character(category)),
        ("typisdefined", boolean(true)),
        ("typdelim", character(',')),
        ("typelem", int(element)),
        ("typarray", int(array)),
        ("typinput", text(input)),
        ("typoutput", text(output)),
        ("typreceive", text(receive)),
        ("typsend", text(send)),
        ("typalign", character(if length == 8 { 'd' } else { 'i' })),
        ("typstorage", character(if length < 0 { 'x' } else { 'p' })),
        ("typtypmod", int(-1)),
        ("typcollation", int(if collatable { 100 } else { 0 })),
    ]
}

/// The input, output, receive and send functions of a type (`boolin` ..), or of its array
/// type (`array_in` ..): `pg_type` names them and `pg_proc` lists them.
fn io_functions(pg_type: &PgType, array: bool) -> [String; 4] {
    if array {
        ["array_in", "array_out", "array_recv", "array_send"].map(str::to_string)
    } else {
        ["in", "out", "recv", "send"].map(|suffix| format!("{}{suffix}", pg_type.name))
    }
}

fn database_rows(_: &Snapshot<'_>) -> Vec<Row> {
    vec![vec![
        ("oid", int(oids::DATABASE)),
        ("datname", text(oids::DATABASE_NAME)),
        ("datdba", int(oids::OWNER)),
        ("encoding", int(UTF8_ENCODING)),
        ("datlocprovider", character('c')),
        ("datallowconn", boolean(true)),
        ("datconnlimit", int(-1)),
        ("dattablespace", int(oids::DEFAULT_TABLESPACE)),
        ("datcollate", text("C")),
        ("datctype", text("C")),
    ]]
}

/// Postgres' number for the UTF8 encoding (`pg_encoding_to_char(6)`).
pub const UTF8_ENCODING: i64 = 6;

/// Every function Eddy has, in `pg_catalog` as Postgres' built-in functions are (so `\df`
/// lists none, and `\dfS` all of them), and its types' input, output, receive and send
/// functions, which `pg_type` refers to (Npgsql tells arrays apart by `array_recv`).
fn proc_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let names = &snapshot.context.function_names;
    let mut io_names: Vec<String> = oids::TYPES
        .iter()
        .flat_map(|pg_type| [io_functions(pg_type, false), io_functions(pg_type, true)])
        .flatten()
        .collect();
    io_names.sort();
    io_names.dedup();
    let kinds = [
        (&names.scalar, 'f'),
        (&names.aggregate, 'a'),
        (&names.window, 'w'),
        (&io_names, 'f'),
    ];
    let mut rows = Vec::new();
    for (names, kind) in kinds {
        for name in names.iter() {
            rows.push(vec![
                ("oid", int(oids::function_oid(name))),
                ("proname", text(name.as_str())),
                ("pronamespace", int(oids::PG_CATALOG_NAMESPACE)),
                ("proowner", int(oids::OWNER)),
                ("prolang", int(INTERNAL_LANGUAGE)),
                ("prokind", character(kind)),
                ("provolatile", character('s')),
                ("proparallel", character('s')),
                ("prorettype", int(0)),
                ("proargtypes", text("")),
                ("prosrc", text(name.as_str())),
            ]);
        }
    }
    rows
}

/// `pg_language`'s `internal`: functions written in the server's own code.
const INTERNAL_LANGUAGE: i64 = 12;

/// Each stream's and table's description (see `relations`).
fn description_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    relations::user_relations(snapshot.catalog)
        .into_iter()
        .map(|relation: UserRelation<'_>| {
            vec![
                ("objoid", int(relation.oid)),
                ("classoid", int(oids::PG_CLASS)),
                ("objsubid", int(0)),
                ("description", text(relation.description)),
            ]
        })
        .collect()
}

/// A role's row as `pg_roles` and `pg_authid` share it (Postgres' CREATEROLE is a
/// superuser's in Eddy, which alone manages users).
fn role_row(role: &Role) -> Row {
    vec![
        ("oid", int(role.oid)),
        ("rolname", text(role.name.as_str())),
        ("rolsuper", boolean(role.superuser)),
        ("rolinherit", boolean(true)),
        ("rolcreaterole", boolean(role.superuser)),
        ("rolcreatedb", boolean(role.create)),
        ("rolcanlogin", boolean(role.can_login)),
        ("rolbypassrls", boolean(role.superuser)),
        ("rolconnlimit", int(-1)),
    ]
}

fn role_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    roles::roles(snapshot.context)
        .iter()
        .map(|role| {
            let mut row = role_row(role);
            if role.has_password {
                row.push(("rolpassword", text("********")));
            }
            row
        })
        .collect()
}

fn authid_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    roles::roles(snapshot.context)
        .iter()
        .map(role_row)
        .collect()
}

/// The roles that can log in, as Postgres' `pg_user` lists them.
fn user_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    roles::roles(snapshot.context)
        .into_iter()
        .filter(|role| role.can_login)
        .map(|role| {
            vec![
                ("usename", text(role.name.as_str())),
                ("usesysid", int(role.oid)),
                ("usecreatedb", boolean(role.create)),
                ("usesuper", boolean(role.superuser)),
                ("usebypassrls", boolean(role.superuser)),
                ("passwd", text("********")),
            ]
        })
        .collect()
}

/// Each primary key's index (see `relations`).
fn index_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let relations = relations::user_relations(snapshot.catalog);
    relations::primary_keys(&relations)
        .iter()
        .map(|key| {
            let count = i64::try_from(key.columns.len()).unwrap_or(i64::MAX);
            let numbers: Vec<i64> = key.columns.iter().map(|(number, _)| *number).collect();
            let zeros = vec![0; key.columns.len()];
            vec![
                ("indexrelid", int(key.index_oid)),
                ("indrelid", int(key.relation.oid)),
                ("indnatts", int(count)),
                ("indnkeyatts", int(count)),
                ("indisunique", boolean(true)),
                ("indisprimary", boolean(true)),
                ("indimmediate", boolean(true)),
                ("indisvalid", boolean(true)),
                ("indisready", boolean(true)),
                ("indislive", boolean(true)),
                ("indkey", int_array(&numbers)),
                ("indcollation", int_array(&zeros)),
                ("indclass", int_array(&zeros)),
                ("indoption", int_array(&zeros)),
            ]
        })
        .collect()
}

/// Each primary key as a constraint (see `relations`).
fn constraint_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let relations = relations::user_relations(snapshot.catalog);
    relations::primary_keys(&relations)
        .iter()
        .map(|key| {
            let numbers: Vec<i64> = key.columns.iter().map(|(number, _)| *number).collect();
            vec![
                ("oid", int(key.constraint_oid)),
                ("conname", text(key.name.as_str())),
                ("connamespace", int(oids::PUBLIC_NAMESPACE)),
                ("contype", character('p')),
                ("convalidated", boolean(true)),
                ("conrelid", int(key.relation.oid)),
                ("conindid", int(key.index_oid)),
                ("conislocal", boolean(true)),
                ("connoinherit", boolean(true)),
                ("conkey", int_array(&numbers)),
            ]
        })
        .collect()
}

fn access_method_rows(_: &Snapshot<'_>) -> Vec<Row> {
    vec![
        vec![
            ("oid", int(oids::HEAP_ACCESS_METHOD)),
            ("amname", text("heap")),
            ("amhandler", text("heap_tableam_handler")),
            ("amtype", character('t')),
        ],
        vec![
            ("oid", int(oids::BTREE_ACCESS_METHOD)),
            ("amname", text("btree")),
            ("amhandler", text("bthandler")),
            ("amtype", character('i')),
        ],
    ]
}

/// The settings SHOW answers, with the session's values.
fn setting_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    snapshot
        .context
        .settings
        .iter()
        .map(|(name, value)| {
            vec![
                ("name", text(name.as_str())),
                ("setting", text(value.as_str())),
                ("context", text("user")),
                ("vartype", text("string")),
                ("source", text("default")),
                ("boot_val", text(value.as_str())),
                ("reset_val", text(value.as_str())),
            ]
        })
        .collect()
}

fn tablespace_rows(_: &Snapshot<'_>) -> Vec<Row> {
    vec![vec![
        ("oid", int(oids::DEFAULT_TABLESPACE)),
        ("spcname", text("pg_default")),
        ("spcowner", int(oids::OWNER)),
    ]]
}

fn pg_tables_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    relations::user_relations(snapshot.catalog)
        .into_iter()
        .filter(|relation| relation.relkind == 'r')
        .map(|relation| {
            vec![
                ("schemaname", text("public")),
                ("tablename", text(relation.source.name.as_str())),
                ("tableowner", text(oids::OWNER_NAME)),
            ]
        })
        .collect()
}

fn pg_matviews_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    relations::user_relations(snapshot.catalog)
        .into_iter()
        .filter(|relation| relation.relkind == 'm')
        .map(|relation| {
            vec![
                ("schemaname", text("public")),
                ("matviewname", text(relation.source.name.as_str())),
                ("matviewowner", text(oids::OWNER_NAME)),
                ("ispopulated", boolean(true)),
                ("definition", relation.definition.map_or_else(null, text)),
            ]
        })
        .collect()
}
