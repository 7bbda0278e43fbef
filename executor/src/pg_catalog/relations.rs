//! Eddy's streams and tables as Postgres relations: the one place that decides how each
//! shows in `pg_class`, `pg_description` and `information_schema`.
//!
//! A stream or table that users write is `relkind` 'r' (psql `\d` says "table"), so every
//! client lists it with the tables it can query and insert into; one a persistent query
//! maintains (CREATE .. AS SELECT) is 'm', a materialized view, which is what it is: `\d`
//! says "materialized view" and `\d+ NAME` shows its query. Whether a relation is a stream
//! or a table is in its description ("stream" / "table", then the queries writing it, with
//! their text), which `\d+` and `obj_description` show.
//!
//! A table's PRIMARY KEY is a constraint with its index (`<table>_pkey`, unique, btree), as
//! Postgres makes one: in `pg_constraint`, `pg_index`, `pg_class` (relkind 'i') and
//! `information_schema`, so tools find the key where they look for it. A stream's keys
//! partition it but need not be unique: a stream has no constraint.
//!
//! Never: describe an object the catalog does not hold.

use eddy_planner::{Catalog, QueryStatus, SourceDef, SourceKind};

use super::oids;

/// One stream or table as a Postgres relation.
pub struct UserRelation<'a> {
    pub oid: i64,
    pub source: &'a SourceDef,
    /// 'r' or 'm' (see the module's header).
    pub relkind: char,
    pub description: String,
    /// The text of the query that maintains it ('m' only).
    pub definition: Option<String>,
}

/// Every stream and table, in name order.
pub fn user_relations(catalog: &Catalog) -> Vec<UserRelation<'_>> {
    catalog
        .sources()
        .map(|source| {
            let definition = source
                .created_by
                .as_deref()
                .and_then(|id| catalog.query(id))
                .map(|query| query.sql.clone());
            UserRelation {
                oid: oids::relation_oid(source),
                source,
                relkind: if definition.is_some() { 'm' } else { 'r' },
                description: description(catalog, source),
                definition,
            }
        })
        .collect()
}

/// A table's primary key, as a constraint and its index.
pub struct PrimaryKey<'a> {
    pub relation: &'a UserRelation<'a>,
    /// `<table>_pkey`, the name of both the constraint and the index.
    pub name: String,
    pub index_oid: i64,
    pub constraint_oid: i64,
    /// The key columns in key order: their numbers (`attnum`) and names.
    pub columns: Vec<(i64, &'a str)>,
}

impl PrimaryKey<'_> {
    /// `pg_get_constraintdef`: `PRIMARY KEY (id, region)`.
    pub fn constraint_definition(&self) -> String {
        format!("PRIMARY KEY ({})", self.column_list())
    }

    /// `pg_get_indexdef`: `CREATE UNIQUE INDEX t_pkey ON public.t USING btree (id)`.
    pub fn index_definition(&self) -> String {
        format!(
            "CREATE UNIQUE INDEX {} ON public.{} USING btree ({})",
            self.name,
            self.relation.source.name,
            self.column_list()
        )
    }

    fn column_list(&self) -> String {
        let names: Vec<&str> = self.columns.iter().map(|(_, name)| *name).collect();
        names.join(", ")
    }
}

/// The primary key of each table that has key columns.
pub fn primary_keys<'a>(relations: &'a [UserRelation<'a>]) -> Vec<PrimaryKey<'a>> {
    relations
        .iter()
        .filter(|relation| relation.source.is_table())
        .filter_map(|relation| {
            let columns: Vec<(i64, &str)> = relation
                .source
                .key_indices()
                .into_iter()
                .map(|index| {
                    let number = i64::try_from(index).unwrap_or(i64::MAX - 1) + 1;
                    (number, relation.source.columns[index].name.as_str())
                })
                .collect();
            (!columns.is_empty()).then(|| PrimaryKey {
                relation,
                name: format!("{}_pkey", relation.source.name),
                index_oid: oids::primary_key_index_oid(relation.source),
                constraint_oid: oids::primary_key_constraint_oid(relation.source),
                columns,
            })
        })
        .collect()
}

/// "stream" or "table", then each running query that writes it: "; query ID: SQL".
fn description(catalog: &Catalog, source: &SourceDef) -> String {
    let mut text = match source.kind {
        SourceKind::Stream => "stream".to_string(),
        SourceKind::Table => "table".to_string(),
    };
    for query in catalog
        .queries()
        .filter(|query| query.sink == source.name && query.status == QueryStatus::Running)
    {
        text.push_str(&format!("; query {}: {}", query.id, query.sql));
    }
    text
}

/// A relation's OID by the name a client gives it (`'clicks'::regclass`,
/// `'pg_catalog.pg_class'::regclass`, `'"Clicks"'::regclass`).
pub fn relation_oid_by_name(catalog: &Catalog, name: &str) -> Option<i64> {
    let (schema, name) = split_qualified(name);
    if schema.as_deref().is_none_or(|schema| schema == "public")
        && let Some(source) = catalog.source(&name)
    {
        return Some(oids::relation_oid(source));
    }
    super::tables::all_tables()
        .find(|table| table.name == name && schema.as_deref().is_none_or(|s| s == table.schema))
        .map(|table| table.oid)
}

/// The name of the stream or table with this OID.
pub fn source_by_oid(catalog: &Catalog, oid: i64) -> Option<&str> {
    catalog
        .sources()
        .find(|source| oids::relation_oid(source) == oid)
        .map(|source| source.name.as_str())
}

/// A relation's name by OID, as `::regclass::text` shows it.
pub fn relation_name_by_oid(catalog: &Catalog, oid: i64) -> Option<String> {
    catalog
        .sources()
        .find(|source| oids::relation_oid(source) == oid)
        .map(|source| source.name.clone())
        .or_else(|| {
            super::tables::all_tables()
                .find(|table| table.oid == oid)
                .map(|table| format!("{}.{}", table.schema, table.name))
        })
}

/// `schema.name` or `name`, each folded unless quoted.
fn split_qualified(text: &str) -> (Option<String>, String) {
    let fold = |part: &str| {
        let part = part.trim();
        match part
            .strip_prefix('"')
            .and_then(|rest| rest.strip_suffix('"'))
        {
            Some(quoted) => quoted.replace("\"\"", "\""),
            None => part.to_lowercase(),
        }
    };
    match text.rsplit_once('.') {
        Some((schema, name)) if !name.ends_with('"') || name.starts_with('"') => {
            (Some(fold(schema)), fold(name))
        }
        _ => (None, fold(text)),
    }
}

/// The namespaces, as `pg_namespace` lists them.
pub const NAMESPACES: [(i64, &str); 3] = [
    (oids::PG_CATALOG_NAMESPACE, "pg_catalog"),
    (oids::PUBLIC_NAMESPACE, "public"),
    (oids::INFORMATION_SCHEMA_NAMESPACE, "information_schema"),
];

pub fn namespace_oid(name: &str) -> Option<i64> {
    NAMESPACES
        .iter()
        .find(|(_, namespace)| *namespace == name)
        .map(|(oid, _)| *oid)
}
