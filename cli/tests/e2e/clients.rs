//! The client matrix against the real binary: each driver or ORM runs its own program
//! (`cli/tests/clients/`: psycopg 3, psycopg2, SQLAlchemy, node-postgres, pgjdbc) against a
//! server started here; tokio-postgres reads columns of Eddy's types; the navigation
//! queries of Grafana, DBeaver and Metabase, which cannot run here, are replayed with the
//! exact text they send (`../shared/reference/pg-clients.md`) and their answers checked.
//!
//! A client that is not installed fails its test with what to install (`scripts/test`
//! installs them all): nothing is skipped.
//!
//! Never: assert on OIDs (they depend on the data directory) or on time.

use std::path::{Path, PathBuf};
use std::process::Command;

use tokio_postgres::types::{FromSql, Type};
use tokio_postgres::{Client, SimpleQueryMessage};

use super::{Server, execute};

/// The client programs beside this file.
fn clients_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/clients")
}

/// Runs a client program to its end; it must succeed and print `ok_line`.
fn run_client(command: &mut Command, ok_line: &str, install_hint: &str) {
    let output = command
        .output()
        .unwrap_or_else(|error| panic!("{command:?} does not start ({install_hint}): {error}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && stdout.lines().any(|line| line == ok_line),
        "{command:?} ({install_hint})\nstdout: {stdout}\nstderr: {stderr}"
    );
}

fn python(script: &str, port: u16) -> Command {
    let mut command = Command::new("python3");
    command
        .arg(clients_dir().join(script))
        .arg(port.to_string());
    command
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg2_queries_writes_and_streams_a_push_query() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    run_client(
        &mut python("psycopg2_client.py", server.port()),
        "psycopg2 ok",
        "pip install psycopg2-binary",
    );
    server.stop();
}

/// psycopg 3's `TypeInfo.fetch`, as SQLAlchemy and `register_hstore` call it: alone
/// (BEGIN .. COMMIT around it) and inside a transaction (SAVEPOINT .. RELEASE).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psycopg_type_info_fetch_finds_eddys_types_and_not_others() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let script = r#"
import sys, psycopg
from psycopg.types import TypeInfo
with psycopg.connect(f"host=127.0.0.1 port={sys.argv[1]} user=eddy dbname=eddy") as conn:
    int8 = TypeInfo.fetch(conn, "int8")
    assert (int8.name, int8.oid, int8.array_oid, int8.regtype) == ("int8", 20, 1016, "bigint"), int8
    assert TypeInfo.fetch(conn, "hstore") is None
    with conn.transaction():
        text = TypeInfo.fetch(conn, "text")
        assert (text.oid, text.array_oid) == (25, 1009), text
        assert TypeInfo.fetch(conn, "hstore") is None
print("psycopg ok")
"#;
    run_client(
        Command::new("python3")
            .arg("-c")
            .arg(script)
            .arg(server.port().to_string()),
        "psycopg ok",
        "pip install 'psycopg[binary]'",
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlalchemy_inspects_and_maps_eddy_tables_over_both_drivers() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(
        &client,
        "CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING, score DOUBLE);
         CREATE STREAM clicks (user_id BIGINT KEY, url STRING);
         CREATE TABLE clicks_per_user AS
             SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;",
    )
    .await;
    run_client(
        &mut python("sqlalchemy_client.py", server.port()),
        "sqlalchemy ok",
        "pip install sqlalchemy psycopg2-binary 'psycopg[binary]'",
    );
    server.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_postgres_queries_with_parameters_and_streams_a_push_query() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let node = clients_dir().join("node");
    assert!(
        node.join("node_modules/pg").is_dir(),
        "node-postgres is not installed: run `npm ci` in {} (scripts/test does)",
        node.display()
    );
    run_client(
        Command::new("node")
            .arg(node.join("client.js"))
            .arg(server.port().to_string())
            .current_dir(&node),
        "node-postgres ok",
        "install nodejs and npm",
    );
    server.stop();
}

/// Where Debian's libpostgresql-jdbc-java puts the driver.
const PGJDBC_JAR: &str = "/usr/share/java/postgresql.jar";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgjdbc_browses_metadata_and_runs_prepared_statements() {
    assert!(
        Path::new(PGJDBC_JAR).is_file(),
        "{PGJDBC_JAR} is missing: apt-get install libpostgresql-jdbc-java"
    );
    let classes = tempfile::tempdir().unwrap();
    let compiled = Command::new("javac")
        .args(["-d", classes.path().to_str().expect("UTF-8 path")])
        .args(["-cp", PGJDBC_JAR])
        .arg(clients_dir().join("java/JdbcClient.java"))
        .output()
        .expect("javac runs (apt-get install default-jdk-headless)");
    assert!(
        compiled.status.success(),
        "javac: {}",
        String::from_utf8_lossy(&compiled.stderr)
    );
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let class_path = format!("{}:{PGJDBC_JAR}", classes.path().display());
    run_client(
        Command::new("java")
            .args(["-cp", &class_path, "JdbcClient"])
            .arg(server.port().to_string()),
        "pgjdbc ok",
        "apt-get install default-jdk-headless",
    );
    server.stop();
}

/// A value in the binary format whatever its type: what a program does with a type its
/// driver has no Rust type for.
struct Raw(Vec<u8>);

impl<'a> FromSql<'a> for Raw {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw.to_vec()))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Eddy's types that Postgres does not have (STRUCT, MAP, a named type) reach
/// tokio-postgres as built-in types it knows, so preparing a query over them needs no
/// catalog lookup, and their values decode.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokio_postgres_reads_eddy_types_it_does_not_know() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(
        &client,
        "CREATE TYPE address AS STRUCT<street STRING, zip INT>;
         CREATE TABLE places (id BIGINT PRIMARY KEY, home address,
             tags MAP<STRING, INT>, names ARRAY<STRING>, price DECIMAL(6, 2));
         INSERT INTO places (id, home, tags, names, price) VALUES
             (1, STRUCT(street := 'Main', zip := 1000), MAP('a' := 1), ARRAY['x', 'y'], 12.5);",
    )
    .await;
    let statement = client
        .prepare("SELECT id, home, tags, names, price FROM places WHERE id = $1")
        .await
        .expect("prepares without a catalog lookup");
    let types: Vec<Type> = statement
        .columns()
        .iter()
        .map(|column| column.type_().clone())
        .collect();
    assert_eq!(
        types,
        [
            Type::INT8,
            Type::JSON,
            Type::JSON,
            Type::TEXT_ARRAY,
            Type::NUMERIC
        ]
    );
    assert_eq!(statement.params(), [Type::INT8]);
    let row = client
        .query_one(&statement, &[&1_i64])
        .await
        .expect("one row");
    let home: Raw = row.get("home");
    assert_eq!(
        String::from_utf8(home.0).expect("JSON text"),
        r#"{"street":"Main","zip":1000}"#
    );
    let tags: Raw = row.get("tags");
    assert_eq!(String::from_utf8(tags.0).expect("JSON text"), r#"{"a":1}"#);
    assert_eq!(row.get::<_, Vec<String>>("names"), ["x", "y"]);
    let price: Raw = row.get("price");
    assert!(!price.0.is_empty(), "a binary numeric");
    // The lookup tokio-postgres would send for an OID it does not know answers no rows.
    let unknown = client
        .query(
            "SELECT t.typname, t.typtype, t.typelem, r.rngsubtype, t.typbasetype, n.nspname, \
             t.typrelid FROM pg_catalog.pg_type t \
             LEFT OUTER JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid \
             INNER JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid WHERE t.oid = $1",
            &[&99_999_i64],
        )
        .await
        .expect("the type lookup answers");
    assert!(unknown.is_empty());
    server.stop();
}

/// Each row of a simple query's answer, its columns as text (NULL as "NULL").
async fn text_rows(client: &Client, sql: &str) -> Vec<Vec<String>> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}\nfails: {error}"));
    messages
        .into_iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::Row(row) => Some(
                (0..row.len())
                    .map(|index| row.get(index).unwrap_or("NULL").to_string())
                    .collect(),
            ),
            _ => None,
        })
        .collect()
}

/// The column names of a simple query's answer, in order.
async fn column_names(client: &Client, sql: &str) -> Vec<String> {
    let messages = client
        .simple_query(sql)
        .await
        .unwrap_or_else(|error| panic!("{sql}\nfails: {error}"));
    messages
        .into_iter()
        .find_map(|message| match message {
            SimpleQueryMessage::RowDescription(columns) => Some(
                columns
                    .iter()
                    .map(|column| column.name().to_string())
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

const BI_SOURCES: &str = "
    CREATE STREAM readings (sensor BIGINT KEY, celsius DOUBLE, ts TIMESTAMP)
        WITH (PARTITIONS = 1, TIMESTAMP = 'ts');
    CREATE TABLE sensors (id BIGINT PRIMARY KEY, room STRING);
    INSERT INTO readings (sensor, celsius, ts) VALUES
        (1, 20.0, '2024-01-01 00:00:10'), (1, 22.0, '2024-01-01 00:00:50'),
        (2, 30.0, '2024-01-01 00:01:30'), (2, 99.0, '2024-01-01 07:00:00');";

/// Grafana's PostgreSQL data source: its version and TimescaleDB probes, the schema picker
/// and the table picker with a schema chosen, and a panel query with `$__timeFilter` and
/// `$__timeGroupAlias` as its backend expands them. (Its pickers that read the search path
/// do not work yet: see the README's client matrix.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grafanas_pickers_and_a_time_filtered_panel_query_answer() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(&client, BI_SOURCES).await;
    assert_eq!(
        text_rows(
            &client,
            "SELECT current_setting('server_version_num')::int/100 as version"
        )
        .await,
        [["1500"]]
    );
    assert!(
        text_rows(
            &client,
            "SELECT extversion FROM pg_extension WHERE extname = 'timescaledb'"
        )
        .await
        .is_empty()
    );
    let schemas = text_rows(
        &client,
        "SELECT schema_name AS \"name\"
    FROM information_schema.schemata
    WHERE schema_name NOT IN ('information_schema',
                              'pg_catalog',
                              'pg_toast',
                              '_timescaledb_cache',
                              '_timescaledb_catalog',
                              '_timescaledb_internal',
                              '_timescaledb_config',
                              'timescaledb_information',
                              'timescaledb_experimental')
    ORDER BY schema_name",
    )
    .await;
    assert_eq!(schemas, [["public"]]);
    let tables = text_rows(
        &client,
        "SELECT quote_ident(table_name) AS \"table\"
      FROM information_schema.tables
      WHERE quote_ident(table_schema) = 'public'
      ORDER BY 1",
    )
    .await;
    assert_eq!(tables, [["eddy_processing_log"], ["readings"], ["sensors"]]);
    // A time series panel over six hours: `$__timeGroupAlias(ts, '1m')`, `$__timeFilter(ts)`.
    let panel = text_rows(
        &client,
        "SELECT
  floor(extract(epoch from ts)/60)*60 AS \"time\",
  avg(celsius) AS \"celsius\"
FROM readings
WHERE
  ts BETWEEN '2024-01-01T00:00:00Z' AND '2024-01-01T06:00:00Z'
GROUP BY 1
ORDER BY 1",
    )
    .await;
    assert_eq!(panel, [["1704067200", "21"], ["1704067260", "30"]]);
    server.stop();
}

/// DBeaver's first queries on connecting and its navigator's schema and type lists
/// (DBeaver 25, through its bundled pgjdbc), with `n.oid,n.*`, which names `oid` twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dbeavers_navigation_queries_answer() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(&client, BI_SOURCES).await;
    execute(
        &client,
        "SET extra_float_digits = 3;
         SET application_name = 'DBeaver 25.1.5 - Main <eddy>'",
    )
    .await;
    assert_eq!(
        text_rows(&client, "SELECT current_schema(),session_user").await,
        [["public", "eddy"]]
    );
    let namespaces = "SELECT n.oid,n.*,d.description FROM pg_catalog.pg_namespace n \
        LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=n.oid AND d.objsubid=0 \
        AND d.classoid='pg_namespace'::regclass ORDER BY nspname";
    assert_eq!(
        column_names(&client, namespaces).await,
        ["oid", "oid", "nspname", "nspowner", "nspacl", "description"]
    );
    let names: Vec<String> = text_rows(&client, namespaces)
        .await
        .into_iter()
        .map(|row| row[2].clone())
        .collect();
    assert_eq!(names, ["information_schema", "pg_catalog", "public"]);
    let database = "SELECT db.oid,db.* FROM pg_catalog.pg_database db WHERE datname='eddy'";
    assert_eq!(text_rows(&client, database).await.len(), 1);
    assert_eq!(
        text_rows(
            &client,
            "SELECT * FROM pg_catalog.pg_settings where name='standard_conforming_strings'"
        )
        .await[0][..2],
        ["standard_conforming_strings", "on"]
    );
    for probe in [
        "SELECT * FROM pg_catalog.pg_enum WHERE 1<>1 LIMIT 1",
        "SELECT reltype FROM pg_catalog.pg_class WHERE 1<>1 LIMIT 1",
    ] {
        assert!(text_rows(&client, probe).await.is_empty(), "{probe}");
    }
    let types = text_rows(
        &client,
        "SELECT t.oid,t.*,c.relkind,format_type(nullif(t.typbasetype, 0), t.typtypmod) as base_type_name, d.description FROM pg_catalog.pg_type t LEFT OUTER JOIN pg_catalog.pg_type et ON et.oid=t.typelem LEFT OUTER JOIN pg_catalog.pg_class c ON c.oid=t.typrelid LEFT OUTER JOIN pg_catalog.pg_description d ON t.oid=d.objoid WHERE t.typname IS NOT NULL AND (c.relkind IS NULL OR c.relkind = 'c') AND (et.typcategory IS NULL OR et.typcategory <> 'C')",
    )
    .await;
    assert!(
        types.iter().any(|row| row[2] == "timestamp"),
        "the type list has timestamp"
    );
    let relations = text_rows(
        &client,
        "SELECT c.oid,c.*,d.description,pg_catalog.pg_get_expr(c.relpartbound, c.oid) as partition_expr, \
         pg_catalog.pg_get_partkeydef(c.oid) as partition_key \
         FROM pg_catalog.pg_class c \
         LEFT OUTER JOIN pg_catalog.pg_description d ON d.objoid=c.oid AND d.objsubid=0 \
         AND d.classoid='pg_class'::regclass \
         WHERE c.relnamespace=2200 AND c.relkind not in ('i','I','c')",
    )
    .await;
    let mut relation_names: Vec<&str> = relations.iter().map(|row| row[2].as_str()).collect();
    relation_names.sort_unstable();
    assert_eq!(
        relation_names,
        ["eddy_processing_log", "readings", "sensors"]
    );
    server.stop();
}

/// Metabase's sync (through pgjdbc): its session commands, schema list, table privileges,
/// and table list with descriptions and row estimates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metabases_sync_queries_answer() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(&client, BI_SOURCES).await;
    execute(
        &client,
        "SET extra_float_digits = 2;
         SET application_name = 'Metabase v0.55.1 [f8f63fdf-d8f8-4573-86ea-4fe4a9548041]'",
    )
    .await;
    assert_eq!(
        text_rows(&client, "SHOW TRANSACTION ISOLATION LEVEL").await,
        [["read committed"]]
    );
    assert_eq!(text_rows(&client, "show timezone").await, [["UTC"]]);
    let schemas = text_rows(
        &client,
        r#"SELECT nspname AS "TABLE_SCHEM", current_database() AS "TABLE_CATALOG" FROM pg_catalog.pg_namespace  WHERE nspname <> 'pg_toast' AND (nspname !~ '^pg_temp_'  OR nspname = (pg_catalog.current_schemas(true))[1]) AND (nspname !~ '^pg_toast_temp_'  OR nspname = replace((pg_catalog.current_schemas(true))[1], 'pg_temp_', 'pg_toast_temp_'))  ORDER BY "TABLE_SCHEM""#,
    )
    .await;
    assert_eq!(
        schemas,
        [
            ["information_schema", "eddy"],
            ["pg_catalog", "eddy"],
            ["public", "eddy"]
        ]
    );
    let privileges = text_rows(
        &client,
        r#"with table_privileges as (
         select
           NULL as role,
           t.schemaname as schema,
           t.objectname as table,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'update') as update,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'select') as select,
           pg_catalog.has_any_column_privilege(current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'insert') as insert,
           pg_catalog.has_table_privilege(     current_user, '"' || replace(t.schemaname, '"', '""') || '"' || '.' || '"' || replace(t.objectname, '"', '""') || '"',  'delete') as delete
         from (
           select schemaname, tablename as objectname from pg_catalog.pg_tables
           union
           select schemaname, viewname as objectname from pg_catalog.pg_views
           union
           select schemaname, matviewname as objectname from pg_catalog.pg_matviews
         ) t
         where t.schemaname !~ '^pg_'
           and t.schemaname <> 'information_schema'
           and pg_catalog.has_schema_privilege(current_user, t.schemaname, 'usage')
        )
        select t.*
        from table_privileges t"#,
    )
    .await;
    let mut privileges: Vec<String> = privileges.into_iter().map(|row| row.join(" ")).collect();
    privileges.sort();
    assert_eq!(
        privileges,
        [
            "NULL public eddy_processing_log t t t t",
            "NULL public readings t t t t",
            "NULL public sensors t t t t"
        ]
    );
    let tables = text_rows(
        &client,
        r#"SELECT "n"."nspname" AS "schema", "c"."relname" AS "name", CASE "c"."relkind" WHEN 'r' THEN 'TABLE' WHEN 'p' THEN 'PARTITIONED TABLE' WHEN 'v' THEN 'VIEW' WHEN 'f' THEN 'FOREIGN TABLE' WHEN 'm' THEN 'MATERIALIZED VIEW' ELSE NULL END AS "type", "d"."description" AS "description", "stat"."n_live_tup" AS "estimated_row_count" FROM "pg_catalog"."pg_class" AS "c" INNER JOIN "pg_catalog"."pg_namespace" AS "n" ON "c"."relnamespace" = "n"."oid" LEFT JOIN "pg_catalog"."pg_description" AS "d" ON ("c"."oid" = "d"."objoid") AND ("d"."objsubid" = '0') AND ("d"."classoid" = 'pg_class'::regclass) LEFT JOIN "pg_stat_user_tables" AS "stat" ON ("n"."nspname" = "stat"."schemaname") AND ("c"."relname" = "stat"."relname") WHERE ("c"."relnamespace" = "n"."oid") AND ("n"."nspname" !~ '^pg_') AND ("n"."nspname" <> 'information_schema') AND c.relkind in ('r', 'p', 'v', 'f', 'm') AND ("n"."nspname" IN ('public')) ORDER BY "type" ASC, "schema" ASC, "name" ASC"#,
    )
    .await;
    let tables: Vec<String> = tables
        .into_iter()
        .map(|row| format!("{} {} {}", row[1], row[2], row[3]))
        .collect();
    assert_eq!(
        tables,
        [
            "eddy_processing_log TABLE stream",
            "readings TABLE stream",
            "sensors TABLE table"
        ]
    );
    server.stop();
}
