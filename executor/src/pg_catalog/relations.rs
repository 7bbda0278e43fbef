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
