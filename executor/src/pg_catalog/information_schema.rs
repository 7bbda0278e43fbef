//! `information_schema` as Postgres shapes it, which BI tools (Grafana's pickers, Metabase's
//! field sync) read: type names are Postgres' (`bigint`, `timestamp without time zone`,
//! `udt_name` `int8`), not Arrow's as DataFusion's own information_schema has them. A
//! table's key columns are its primary key (`table_constraints`, `key_column_usage`); a
//! stream's keys partition it but need not be unique, so a stream has no constraint.
//!
//! Never: list a relation or column that `pg_class` / `pg_attribute` do not.

use super::oids;
use super::relations;
use super::system_tables::{int, null, text};
use super::tables::Kind::{Int4, Text};
use super::tables::{INFORMATION_SCHEMA, Kind, PG_CATALOG, Row, Snapshot, TableDef};

const fn table(
    name: &'static str,
    oid: i64,
    columns: &'static [(&'static str, Kind)],
    rows: fn(&Snapshot<'_>) -> Vec<Row>,
) -> TableDef {
    TableDef {
        schema: INFORMATION_SCHEMA,
        name,
        oid,
        view: true,
        columns,
        rows,
    }
}

pub static TABLES: [TableDef; 6] = [
    table(
        "schemata",
        13001,
        &[
            ("catalog_name", Text),
            ("schema_name", Text),
            ("schema_owner", Text),
            ("default_character_set_catalog", Text),
            ("default_character_set_schema", Text),
            ("default_character_set_name", Text),
            ("sql_path", Text),
        ],
        schemata_rows,
    ),
    table(
        "tables",
        13002,
        &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("table_type", Text),
            ("self_referencing_column_name", Text),
            ("reference_generation", Text),
            ("user_defined_type_catalog", Text),
            ("user_defined_type_schema", Text),
            ("user_defined_type_name", Text),
            ("is_insertable_into", Text),
            ("is_typed", Text),
            ("commit_action", Text),
        ],
        tables_rows,
    ),
    table(
        "columns",
        13003,
        &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("column_name", Text),
            ("ordinal_position", Int4),
            ("column_default", Text),
            ("is_nullable", Text),
            ("data_type", Text),
            ("character_maximum_length", Int4),
            ("character_octet_length", Int4),
            ("numeric_precision", Int4),
            ("numeric_precision_radix", Int4),
            ("numeric_scale", Int4),
            ("datetime_precision", Int4),
            ("interval_type", Text),
            ("udt_catalog", Text),
            ("udt_schema", Text),
            ("udt_name", Text),
            ("dtd_identifier", Text),
            ("is_identity", Text),
            ("identity_generation", Text),
            ("is_generated", Text),
            ("generation_expression", Text),
            ("is_updatable", Text),
        ],
        columns_rows,
    ),
    table(
        "views",
        13004,
        &[
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("view_definition", Text),
            ("check_option", Text),
            ("is_updatable", Text),
            ("is_insertable_into", Text),
            ("is_trigger_updatable", Text),
            ("is_trigger_deletable", Text),
            ("is_trigger_insertable_into", Text),
        ],
        views_rows,
    ),
    table(
        "table_constraints",
        13005,
        &[
            ("constraint_catalog", Text),
            ("constraint_schema", Text),
            ("constraint_name", Text),
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("constraint_type", Text),
            ("is_deferrable", Text),
            ("initially_deferred", Text),
            ("enforced", Text),
            ("nulls_distinct", Text),
        ],
        table_constraints_rows,
    ),
    table(
        "key_column_usage",
        13006,
        &[
            ("constraint_catalog", Text),
            ("constraint_schema", Text),
            ("constraint_name", Text),
            ("table_catalog", Text),
            ("table_schema", Text),
            ("table_name", Text),
            ("column_name", Text),
            ("ordinal_position", Int4),
            ("position_in_unique_constraint", Int4),
        ],
        key_column_usage_rows,
    ),
];

fn yes_no(value: bool) -> &'static str {
    if value { "YES" } else { "NO" }
}

fn schemata_rows(_: &Snapshot<'_>) -> Vec<Row> {
    relations::NAMESPACES
        .iter()
        .map(|(_, name)| {
            vec![
                ("catalog_name", text(oids::DATABASE_NAME)),
                ("schema_name", text(*name)),
                ("schema_owner", text(oids::OWNER_NAME)),
            ]
        })
        .collect()
}

/// Eddy's streams and tables (a query's result as a VIEW), then the catalog's relations.
fn tables_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let user = relations::user_relations(snapshot.catalog)
        .into_iter()
        .map(|relation| {
            let table_type = if relation.relkind == 'm' {
                "VIEW"
            } else {
                "BASE TABLE"
            };
            tables_row(
                "public",
                &relation.source.name,
                table_type,
                !relation.source.source_only,
            )
        });
    let system = super::tables::all_tables().map(|table| {
        let table_type = if table.view { "VIEW" } else { "BASE TABLE" };
        tables_row(table.schema, table.name, table_type, false)
    });
    user.chain(system).collect()
}

fn tables_row(schema: &str, name: &str, table_type: &'static str, insertable: bool) -> Row {
    vec![
        ("table_catalog", text(oids::DATABASE_NAME)),
        ("table_schema", text(schema)),
        ("table_name", text(name)),
        ("table_type", text(table_type)),
        ("is_insertable_into", text(yes_no(insertable))),
        ("is_typed", text("NO")),
    ]
}

/// The user-declared columns of Eddy's relations, then the catalog's.
fn columns_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let mut rows = Vec::new();
    for relation in relations::user_relations(snapshot.catalog) {
        for (index, column) in relation.source.columns.iter().enumerate() {
            let (type_oid, typmod) = oids::column_type(&column.data_type);
            let not_null = column.key && relation.source.is_table();
            rows.push(columns_row(
                "public",
                &relation.source.name,
                &column.name,
                index,
                type_oid,
                typmod,
                not_null,
            ));
        }
    }
    for table in super::tables::all_tables() {
        for (index, (name, kind)) in table.columns.iter().enumerate() {
            let (type_oid, typmod) = oids::column_type(&kind.data_type());
            rows.push(columns_row(
                table.schema,
                table.name,
                name,
                index,
                type_oid,
                typmod,
                false,
            ));
        }
    }
    rows
}

fn columns_row(
    schema: &str,
    table: &str,
    column: &str,
    index: usize,
    type_oid: i64,
    typmod: i32,
    not_null: bool,
) -> Row {
    let position = i64::try_from(index).unwrap_or(i64::MAX - 1) + 1;
    let is_array = oids::array_element(type_oid).is_some();
    let data_type = match (is_array, oids::type_by_oid(type_oid)) {
        (true, _) => "ARRAY".to_string(),
        (false, Some(pg_type)) => pg_type.sql_name.to_string(),
        (false, None) => "USER-DEFINED".to_string(),
    };
    let (precision, scale) = numeric_precision(type_oid, typmod);
    vec![
        ("table_catalog", text(oids::DATABASE_NAME)),
        ("table_schema", text(schema)),
        ("table_name", text(table)),
        ("column_name", text(column)),
        ("ordinal_position", int(position)),
        ("is_nullable", text(yes_no(!not_null))),
        ("data_type", text(data_type)),
        ("numeric_precision", precision.map_or_else(null, int)),
        (
            "numeric_precision_radix",
            precision.map_or_else(null, |_| {
                int(if type_oid == oids::NUMERIC.oid { 10 } else { 2 })
            }),
        ),
        ("numeric_scale", scale.map_or_else(null, int)),
        ("udt_catalog", text(oids::DATABASE_NAME)),
        ("udt_schema", text(PG_CATALOG)),
        (
            "udt_name",
            oids::type_name(type_oid).map_or_else(null, text),
        ),
        ("dtd_identifier", text(position.to_string())),
        ("is_identity", text("NO")),
        ("is_generated", text("NEVER")),
        ("is_updatable", text("YES")),
    ]
}

/// `numeric_precision` and `numeric_scale` as Postgres reports them for a numeric type.
fn numeric_precision(type_oid: i64, typmod: i32) -> (Option<i64>, Option<i64>) {
    match type_oid {
        oid if oid == oids::INT2.oid => (Some(16), Some(0)),
        oid if oid == oids::INT4.oid => (Some(32), Some(0)),
        oid if oid == oids::INT8.oid => (Some(64), Some(0)),
        oid if oid == oids::FLOAT4.oid => (Some(24), None),
        oid if oid == oids::FLOAT8.oid => (Some(53), None),
        oid if oid == oids::NUMERIC.oid && typmod >= 4 => {
            let packed = i64::from(typmod - 4);
            (Some(packed >> 16), Some(packed & 0xffff))
        }
        _ => (None, None),
    }
}

fn views_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    relations::user_relations(snapshot.catalog)
        .into_iter()
        .filter(|relation| relation.relkind == 'm')
        .map(|relation| {
            vec![
                ("table_catalog", text(oids::DATABASE_NAME)),
                ("table_schema", text("public")),
                ("table_name", text(relation.source.name.as_str())),
                (
                    "view_definition",
                    relation.definition.clone().map_or_else(null, text),
                ),
                ("check_option", text("NONE")),
                ("is_updatable", text("NO")),
                ("is_insertable_into", text("NO")),
                ("is_trigger_updatable", text("NO")),
                ("is_trigger_deletable", text("NO")),
                ("is_trigger_insertable_into", text("NO")),
            ]
        })
        .collect()
}

fn table_constraints_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let relations = relations::user_relations(snapshot.catalog);
    relations::primary_keys(&relations)
        .into_iter()
        .map(|key| {
            vec![
                ("constraint_catalog", text(oids::DATABASE_NAME)),
                ("constraint_schema", text("public")),
                ("constraint_name", text(key.name.as_str())),
                ("table_catalog", text(oids::DATABASE_NAME)),
                ("table_schema", text("public")),
                ("table_name", text(key.relation.source.name.as_str())),
                ("constraint_type", text("PRIMARY KEY")),
                ("is_deferrable", text("NO")),
                ("initially_deferred", text("NO")),
                ("enforced", text("YES")),
            ]
        })
        .collect()
}

fn key_column_usage_rows(snapshot: &Snapshot<'_>) -> Vec<Row> {
    let relations = relations::user_relations(snapshot.catalog);
    let mut rows = Vec::new();
    for key in relations::primary_keys(&relations) {
        for (position, (_, column)) in key.columns.iter().enumerate() {
            rows.push(vec![
                ("constraint_catalog", text(oids::DATABASE_NAME)),
                ("constraint_schema", text("public")),
                ("constraint_name", text(key.name.as_str())),
                ("table_catalog", text(oids::DATABASE_NAME)),
                ("table_schema", text("public")),
                ("table_name", text(key.relation.source.name.as_str())),
                ("column_name", text(*column)),
                (
                    "ordinal_position",
                    int(i64::try_from(position).unwrap_or(i64::MAX - 1) + 1),
                ),
            ]);
        }
    }
    rows
}
