//! The catalog as clients query it, through a session (parser, routing, rewrite, planning):
//! the exact queries psql 15 sends for its describe commands, OIDs across a restart, and
//! the functions and casts drivers use.

use std::sync::Arc;

use arrow::util::pretty::pretty_format_batches;
use futures::TryStreamExt;

use super::{Engine, EngineConfig, open_with_source};
use crate::error::EngineError;
use crate::output::QueryOutput;
use crate::pg_catalog::tables::all_tables;

const SOURCES: &str = "
    CREATE STREAM clicks (user_id BIGINT KEY, url STRING, price DECIMAL(10, 2))
        WITH (PARTITIONS = 1);
    CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING, tags ARRAY<STRING>);
    CREATE TABLE clicks_per_user AS
        SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;";

async fn answer(engine: &Arc<Engine>, sql: &str) -> Result<String, EngineError> {
    let mut session = engine.session();
    let mut statements = session.parse(sql)?;
    let QueryOutput::Rows(rows) = session.execute(&statements.remove(0)).await? else {
        panic!("{sql} returns rows");
    };
    let batches: Vec<_> = rows.try_collect().await?;
    Ok(pretty_format_batches(&batches).expect("prints").to_string())
}

/// The rows of a query as a table with one space around each cell, so that assertions on a
/// line do not depend on the widths of other rows.
async fn rows(engine: &Arc<Engine>, sql: &str) -> String {
    let text = match answer(engine, sql).await {
        Ok(text) => text,
        Err(error) => panic!("{sql}\nfails: {error}"),
    };
    text.lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect::<Vec<_>>()
        .join("\n")
}

/// psql 15's queries for `\d`, `\dt`, `\dv`, `\l`, `\dn`, `\df`, `\du` and tab completion.
const PSQL_LIST_QUERIES: &[&str] = &[
    "SELECT n.nspname as \"Schema\",
  c.relname as \"Name\",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as \"Type\",
  pg_catalog.pg_get_userbyid(c.relowner) as \"Owner\"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE c.relkind IN ('r','p','v','m','S','f','')
      AND n.nspname <> 'pg_catalog'
      AND n.nspname !~ '^pg_toast'
      AND n.nspname <> 'information_schema'
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 1,2;",
    "SELECT d.datname as \"Name\",
       pg_catalog.pg_get_userbyid(d.datdba) as \"Owner\",
       pg_catalog.pg_encoding_to_char(d.encoding) as \"Encoding\",
       d.datcollate as \"Collate\",
       d.datctype as \"Ctype\",
       d.daticulocale as \"ICU Locale\",
       CASE d.datlocprovider WHEN 'c' THEN 'libc' WHEN 'i' THEN 'icu' END AS \"Locale Provider\",
       pg_catalog.array_to_string(d.datacl, E'\\n') AS \"Access privileges\"
FROM pg_catalog.pg_database d
ORDER BY 1;",
    "SELECT n.nspname AS \"Name\",
  pg_catalog.pg_get_userbyid(n.nspowner) AS \"Owner\"
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1;",
    "SELECT n.nspname as \"Schema\",
  p.proname as \"Name\",
  pg_catalog.pg_get_function_result(p.oid) as \"Result data type\",
  pg_catalog.pg_get_function_arguments(p.oid) as \"Argument data types\",
 CASE p.prokind
  WHEN 'a' THEN 'agg'
  WHEN 'w' THEN 'window'
  WHEN 'p' THEN 'proc'
  ELSE 'func'
 END as \"Type\"
FROM pg_catalog.pg_proc p
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
WHERE pg_catalog.pg_function_is_visible(p.oid)
      AND n.nspname <> 'pg_catalog'
      AND n.nspname <> 'information_schema'
ORDER BY 1, 2, 4;",
    "SELECT r.rolname, r.rolsuper, r.rolinherit,
  r.rolcreaterole, r.rolcreatedb, r.rolcanlogin,
  r.rolconnlimit, r.rolvaliduntil,
  ARRAY(SELECT b.rolname
        FROM pg_catalog.pg_auth_members m
        JOIN pg_catalog.pg_roles b ON (m.roleid = b.oid)
        WHERE m.member = r.oid) as memberof
, r.rolreplication
, r.rolbypassrls
FROM pg_catalog.pg_roles r
WHERE r.rolname !~ '^pg_'
ORDER BY 1;",
    "SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE 'cl%' AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n WHERE n.nspname LIKE 'cl%' AND n.nspname NOT LIKE E'pg\\\\_%'
LIMIT 1000",
];

#[tokio::test]
async fn psqls_list_commands_answer_with_eddys_relations() {
    let (_directory, engine, _) = open_with_source(SOURCES, "clicks").await;
    let mut answers = Vec::new();
    for sql in PSQL_LIST_QUERIES {
        answers.push(rows(&engine, sql).await);
    }
    let listed = &answers[0];
    assert!(
        listed.contains("| public | clicks | table | eddy |"),
        "{listed}"
    );
    assert!(
        listed.contains("| public | clicks_per_user | materialized view | eddy |"),
        "{listed}"
    );
    assert!(
        listed.contains("| public | users | table | eddy |"),
        "{listed}"
    );
    assert!(!listed.contains("pg_class"), "{listed}");
    assert!(
        answers[1].contains("| eddy | eddy | UTF8 | C | C |"),
        "{}",
        answers[1]
    );
    assert!(answers[2].contains("| public | eddy |"), "{}", answers[2]);
    assert!(answers[4].contains("| eddy | true |"), "{}", answers[4]);
    let completed = &answers[5];
    assert!(completed.contains("| clicks |"), "{completed}");
    assert!(completed.contains("| clicks_per_user |"), "{completed}");
    assert!(!completed.contains("users"), "{completed}");
}

/// psql 15's queries for `\d NAME` (and `\d+ NAME`'s variants), with the OID of `users`.
fn psql_describe_queries(oid: &str) -> Vec<String> {
    [
        "SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname OPERATOR(pg_catalog.~) '^(users)$' COLLATE pg_catalog.default
  AND pg_catalog.pg_table_is_visible(c.oid)
ORDER BY 2, 3;",
        "SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')
, c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = 'OID';",
        "SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated,
  a.attstorage,
  a.attcompression AS attcompression,
  CASE WHEN a.attstattarget=-1 THEN NULL ELSE a.attstattarget END AS attstattarget,
  pg_catalog.col_description(a.attrelid, a.attnum)
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = 'OID' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum;",
        "SELECT c2.relname, i.indisprimary, i.indisunique, i.indisclustered, i.indisvalid, pg_catalog.pg_get_indexdef(i.indexrelid, 0, true),
  pg_catalog.pg_get_constraintdef(con.oid, true), contype, condeferrable, condeferred, i.indisreplident, c2.reltablespace
FROM pg_catalog.pg_class c, pg_catalog.pg_class c2, pg_catalog.pg_index i
  LEFT JOIN pg_catalog.pg_constraint con ON (conrelid = i.indrelid AND conindid = i.indexrelid AND contype IN ('p','u','x'))
WHERE c.oid = 'OID' AND c.oid = i.indrelid AND i.indexrelid = c2.oid
ORDER BY i.indisprimary DESC, c2.relname;",
        "SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = 'OID' ORDER BY 1;",
        "SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = 'OID'
ORDER BY nsp, stxname;",
        "SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='OID' and pg_catalog.pg_relation_is_publishable('OID')
UNION
SELECT pubname
     , pg_get_expr(pr.prqual, c.oid)
     , (CASE WHEN pr.prattrs IS NOT NULL THEN
         (SELECT string_agg(attname, ', ')
           FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                pg_catalog.pg_attribute
          WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
        ELSE NULL END) FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
WHERE pr.prrelid = 'OID'
UNION
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('OID')
ORDER BY 1;",
        "SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = 'OID'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno;",
        "SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhrelid AND i.inhparent = 'OID'
ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.oid::pg_catalog.regclass::pg_catalog.text;",
        "SELECT pg_catalog.pg_get_viewdef('OID'::pg_catalog.oid, true);",
    ]
    .iter()
    .map(|sql| sql.replace("OID", oid))
    .collect()
}

/// The number of rows of a table printed by `rows` (an answer without batches prints none).
fn row_count(table: &str) -> usize {
    table.lines().count().saturating_sub(4)
}

fn first_value(table: &str) -> String {
    table
        .lines()
        .nth(3)
        .and_then(|line| line.split('|').nth(1))
        .map(|cell| cell.trim().to_string())
        .unwrap_or_default()
}

#[tokio::test]
async fn psqls_describe_of_a_table_answers_every_query() {
    let (_directory, engine, _) = open_with_source(SOURCES, "users").await;
    let oid = first_value(&rows(&engine, "SELECT oid FROM pg_class WHERE relname = 'users'").await);
    let queries = psql_describe_queries(&oid);
    let mut answers = Vec::new();
    for sql in &queries {
        answers.push(rows(&engine, sql).await);
    }
    assert!(
        answers[0].contains(&format!("| {oid} | public | users |")),
        "{}",
        answers[0]
    );
    assert!(
        answers[1].contains("| 0 | r | true |"),
        "a table has an index, its primary key's: {}",
        answers[1]
    );
    assert!(answers[1].contains("heap"), "{}", answers[1]);
    let columns = &answers[2];
    assert!(columns.contains("| id | bigint |"), "{columns}");
    assert!(columns.contains("| name | text |"), "{columns}");
    assert!(columns.contains("| tags | text[] |"), "{columns}");
    assert!(!columns.contains("rowtime"), "{columns}");
    assert_eq!(
        answers[2].matches("| true |").count(),
        1,
        "only the key is NOT NULL: {columns}"
    );
    let indexes = &answers[3];
    assert!(
        indexes.contains(
            "| users_pkey | true | true | false | true | \
             CREATE UNIQUE INDEX users_pkey ON public.users USING btree (id) | \
             PRIMARY KEY (id) | p |"
        ),
        "{indexes}"
    );
    for empty in &answers[4..answers.len() - 1] {
        assert_eq!(row_count(empty), 0, "no rows: {empty}");
    }
    assert!(
        answers[answers.len() - 1].contains("| |"),
        "a table has no definition"
    );
}

#[tokio::test]
async fn a_query_made_relation_shows_its_query_and_description() {
    let (_directory, engine, _) = open_with_source(SOURCES, "clicks_per_user").await;
    let definition = rows(
        &engine,
        "SELECT pg_catalog.pg_get_viewdef(c.oid, true) AS definition, \
         pg_catalog.obj_description(c.oid, 'pg_class') AS description \
         FROM pg_catalog.pg_class c WHERE c.relname = 'clicks_per_user'",
    )
    .await;
    assert!(
        definition.contains("CREATE TABLE clicks_per_user AS"),
        "{definition}"
    );
    assert!(
        definition.contains("table; query CTAS_CLICKS_PER_USER"),
        "{definition}"
    );
    let descriptions = rows(
        &engine,
        "SELECT c.relname, d.description FROM pg_class c \
         JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass \
         WHERE c.relname IN ('clicks', 'users') ORDER BY 1",
    )
    .await;
    assert!(
        descriptions.contains("| clicks | stream |"),
        "{descriptions}"
    );
    assert!(descriptions.contains("| users | table |"), "{descriptions}");
}

#[tokio::test]
async fn oids_stay_the_same_across_a_restart_and_follow_create_and_drop() {
    let directory = tempfile::tempdir().expect("temp dir");
    let oids_query = "SELECT relname, oid FROM pg_class WHERE relnamespace = 2200 ORDER BY 1";
    let before = {
        let engine = Engine::open(EngineConfig::new(directory.path()))
            .await
            .expect("engine opens");
        let mut session = engine.session();
        for statement in session.parse(SOURCES).expect("parses") {
            session.execute(&statement).await.expect("runs");
        }
        let before = rows(&engine, oids_query).await;
        engine.shutdown().await;
        before
    };
    let engine = Engine::open(EngineConfig::new(directory.path()))
        .await
        .expect("engine reopens");
    assert_eq!(rows(&engine, oids_query).await, before);
    assert!(before.contains("| users "), "{before}");
    let mut session = engine.session();
    for statement in session.parse("DROP TABLE users").expect("parses") {
        session.execute(&statement).await.expect("runs");
    }
    let after = rows(&engine, oids_query).await;
    assert!(
        !after.contains("users"),
        "the next query sees the DROP: {after}"
    );
}

#[tokio::test]
async fn information_schema_speaks_postgres_types_and_primary_keys() {
    let (_directory, engine, _) = open_with_source(SOURCES, "users").await;
    let columns = rows(
        &engine,
        "SELECT table_name, column_name, data_type, udt_name, is_nullable, numeric_precision, \
         numeric_scale FROM information_schema.columns WHERE table_schema = 'public' \
         ORDER BY table_name, ordinal_position",
    )
    .await;
    for line in [
        "| clicks | user_id | bigint | int8 | YES | 64 | 0 |",
        "| clicks | price | numeric | numeric | YES | 10 | 2 |",
        "| users | id | bigint | int8 | NO | 64 | 0 |",
        "| users | tags | ARRAY | _text | YES | | |",
    ] {
        assert!(columns.contains(line), "{line} in\n{columns}");
    }
    let keys = rows(
        &engine,
        "SELECT kcu.table_name, kcu.column_name, tc.constraint_type \
         FROM information_schema.table_constraints tc \
         JOIN information_schema.key_column_usage kcu ON tc.constraint_name = kcu.constraint_name \
         ORDER BY 1",
    )
    .await;
    assert!(
        keys.contains("| clicks_per_user | user_id | PRIMARY KEY |"),
        "{keys}"
    );
    assert!(keys.contains("| users | id | PRIMARY KEY |"), "{keys}");
    assert!(
        !keys.contains("| clicks "),
        "a stream's key is no constraint: {keys}"
    );
    let tables = rows(
        &engine,
        "SELECT table_name, table_type FROM information_schema.tables \
         WHERE table_schema = 'public' ORDER BY 1",
    )
    .await;
    assert!(tables.contains("| clicks_per_user | VIEW |"), "{tables}");
    assert!(tables.contains("| users | BASE TABLE |"), "{tables}");
}

#[tokio::test]
async fn drivers_functions_and_casts_answer_as_postgres_does() {
    let (_directory, engine, _) = open_with_source(SOURCES, "users").await;
    for (sql, expected) in [
        (
            "SELECT current_setting('server_version_num') AS v",
            "150000",
        ),
        ("SELECT pg_catalog.current_schema() AS v", "public"),
        ("SELECT current_database() AS v", "eddy"),
        ("SELECT quote_ident('Mixed Case') AS v", "\"Mixed Case\""),
        ("SELECT quote_ident('plain_name') AS v", "plain_name"),
        ("SELECT format_type(1700, 655366) AS v", "numeric(10,2)"),
        ("SELECT format_type(1009, -1) AS v", "text[]"),
        ("SELECT pg_size_pretty(10239) AS v", "10239 bytes"),
        ("SELECT pg_size_pretty(10240) AS v", "10 kB"),
        ("SELECT pg_size_pretty(1073741824) AS v", "1024 MB"),
        ("SELECT 'pg_catalog.pg_class'::regclass::oid AS v", "1259"),
        ("SELECT 'int8'::regtype::text AS v", "bigint"),
        ("SELECT 20::regtype::text AS v", "bigint"),
        (
            "SELECT oid::regclass::text AS v FROM pg_class WHERE relname = 'users'",
            "users",
        ),
        ("SELECT to_regtype('hstore') IS NULL AS v", "true"),
        ("SELECT 'pg_catalog.array_in'::regproc AS v", "array_in"),
        ("SELECT array_upper(current_schemas(true), 1) AS v", "2"),
        ("SELECT has_table_privilege('users', 'SELECT') AS v", "true"),
        ("SELECT current_user AS v", "eddy"),
        (
            "SELECT (SELECT n.nspname FROM pg_namespace n WHERE n.oid = c.relnamespace) AS v \
             FROM pg_class c WHERE c.relname = 'users'",
            "public",
        ),
        (
            "SELECT count(*) AS v FROM pg_catalog.pg_type t \
             JOIN pg_catalog.pg_namespace n ON (t.typnamespace = n.oid) \
             WHERE n.nspname != 'pg_toast' AND (t.typrelid = 0 OR \
             (SELECT c.relkind = 'c' FROM pg_catalog.pg_class c WHERE c.oid = t.typrelid))",
            "42",
        ),
        (
            "SELECT count(*) AS v FROM pg_catalog.pg_extension e \
             LEFT JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace \
             LEFT JOIN pg_catalog.pg_description c ON c.objoid = e.oid \
             AND c.classoid = 'pg_catalog.pg_extension'::pg_catalog.regclass",
            "0",
        ),
    ] {
        assert_eq!(first_value(&rows(&engine, sql).await), expected, "{sql}");
    }
    let hstore = rows(
        &engine,
        "SELECT typname AS name, oid, typarray AS array_oid, oid::regtype::text AS regtype, \
         typdelim AS delimiter FROM pg_type t WHERE t.oid = to_regtype('hstore') ORDER BY t.oid",
    )
    .await;
    assert_eq!(row_count(&hstore), 0, "no rows: {hstore}");
}

#[test]
fn relations_read_as_always_empty_have_no_rows() {
    let context = crate::pg_catalog::CatalogContext::default();
    for name in crate::pg_catalog::rewrite::ALWAYS_EMPTY {
        let table = all_tables()
            .find(|table| table.name == name)
            .expect("a catalog relation");
        assert_eq!(
            table.batch(&context).expect("builds").num_rows(),
            0,
            "{name}"
        );
    }
}

#[tokio::test]
async fn catalog_queries_eddy_cannot_answer_fail_with_errors_clients_handle() {
    let (_directory, engine, _) = open_with_source(SOURCES, "users").await;
    for (sql, expected) in [
        (
            "SELECT * FROM pg_catalog.pg_nope",
            "table 'eddy.pg_catalog.pg_nope' not found",
        ),
        (
            "SELECT pg_catalog.pg_nope(oid) FROM pg_class",
            "Invalid function 'pg_nope'",
        ),
        (
            "SELECT 'nope'::regclass",
            "relation \"nope\" does not exist",
        ),
        ("SELECT 'nope'::regtype", "type \"nope\" does not exist"),
        (
            "SELECT current_setting('nope')",
            "unrecognized configuration parameter \"nope\"",
        ),
        (
            "SELECT 1 OPERATOR(pg_catalog.^) 2",
            "operator OPERATOR(pg_catalog.^)",
        ),
    ] {
        let error = answer(&engine, sql).await.expect_err(sql).to_string();
        assert!(error.contains(expected), "{sql}: {error}");
    }
}

#[test]
fn catalog_relations_have_distinct_oids_and_names() {
    let mut seen = std::collections::HashSet::new();
    for table in all_tables() {
        assert!(seen.insert(table.oid), "{} repeats an OID", table.name);
        assert!(table.oid < 16384, "{} is below user OIDs", table.name);
    }
}

#[test]
fn rows_set_only_declared_columns() {
    let context = crate::pg_catalog::CatalogContext {
        catalog: Default::default(),
        function_names: Arc::new(crate::pg_catalog::FunctionNames {
            scalar: vec!["abs".into()],
            aggregate: vec!["count".into()],
            window: vec!["rank".into()],
        }),
        settings: Arc::new(vec![("search_path".into(), "public".into())]),
        ..Default::default()
    };
    let catalog = eddy_planner::Catalog::default();
    let snapshot = crate::pg_catalog::tables::Snapshot {
        catalog: &catalog,
        context: &context,
    };
    for table in all_tables() {
        for row in (table.rows)(&snapshot) {
            for (column, _) in row {
                assert!(
                    table.columns.iter().any(|(name, _)| *name == column),
                    "{}.{column} is not declared",
                    table.name
                );
            }
        }
        table.batch(&context).expect("builds");
    }
}

#[tokio::test]
async fn a_select_list_may_name_a_column_twice_as_dbeaver_does() {
    let (_directory, engine, _) = open_with_source(SOURCES, "users").await;
    let mut session = engine.session();
    let mut statements = session
        .parse(
            "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n \
             LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 \
             AND d.classoid='pg_namespace'::regclass ORDER BY nspname",
        )
        .expect("parses");
    let QueryOutput::Rows(rows) = session.execute(&statements.remove(0)).await.expect("runs")
    else {
        panic!("rows");
    };
    let names: Vec<String> = rows
        .schema()
        .fields()
        .iter()
        .map(|field| field.name().clone())
        .collect();
    assert_eq!(
        names,
        ["oid", "oid", "nspname", "nspowner", "nspacl", "description"]
    );
    let batches: Vec<_> = rows.try_collect().await.expect("rows");
    assert_eq!(
        batches.iter().map(|batch| batch.num_rows()).sum::<usize>(),
        3
    );
}

#[tokio::test]
async fn primary_keys_are_constraints_with_indexes() {
    let (_directory, engine, _) = open_with_source(SOURCES, "users").await;
    let keys = rows(
        &engine,
        "SELECT c.relname, con.conname, con.contype, ic.relname AS index, ic.relkind, \
         i.indisprimary, i.indkey, con.conkey \
         FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
         JOIN pg_index i ON i.indexrelid = con.conindid JOIN pg_class ic ON ic.oid = i.indexrelid \
         ORDER BY 1",
    )
    .await;
    assert!(
        keys.contains("| clicks_per_user | clicks_per_user_pkey | p | clicks_per_user_pkey | i | true | [1] | [1] |"),
        "{keys}"
    );
    assert!(
        keys.contains("| users | users_pkey | p | users_pkey | i | true | [1] | [1] |"),
        "{keys}"
    );
    assert_eq!(
        row_count(&keys),
        2,
        "a stream has no key constraint: {keys}"
    );
    let indexed = rows(
        &engine,
        "SELECT relname, relhasindex FROM pg_class WHERE relnamespace = 2200 AND relkind <> 'i' \
         ORDER BY 1",
    )
    .await;
    assert!(indexed.contains("| clicks | false |"), "{indexed}");
    assert!(indexed.contains("| users | true |"), "{indexed}");
}
