//! Catalog queries as drivers send them, through tokio-postgres against an in-process
//! server: psycopg's `TypeInfo.fetch` and tokio-postgres' own type lookup (extended
//! protocol, `$1` parameters), SQLAlchemy's first queries and table list, Grafana's
//! version probe, and the SQLSTATEs of what Eddy cannot answer (the connection survives
//! each).
//!
//! Never: assert on an OID of a user relation (it depends on the data directory).

use std::sync::Arc;

use eddy_executor::{Durability, Engine, EngineConfig};
use tokio::net::TcpListener;
use tokio_postgres::error::SqlState;
use tokio_postgres::{Client, NoTls};
use tokio_util::sync::CancellationToken;

struct TestServer {
    _engine: Arc<Engine>,
    shutdown: CancellationToken,
    client: Client,
    _data_dir: tempfile::TempDir,
}

impl TestServer {
    async fn start() -> TestServer {
        let data_dir = tempfile::tempdir().expect("temporary data directory");
        let mut config = EngineConfig::new(data_dir.path());
        config.durability = Durability::Os;
        let engine = Engine::open(config).await.expect("engine opens");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("free port");
        let address = listener.local_addr().expect("bound address");
        let shutdown = CancellationToken::new();
        tokio::spawn(eddy_server::serve(
            engine.clone(),
            listener,
            shutdown.clone(),
            eddy_server::Security::default(),
        ));
        let config = format!(
            "host={} port={} user=eddy dbname=eddy",
            address.ip(),
            address.port()
        );
        let (client, connection) = tokio_postgres::connect(&config, NoTls)
            .await
            .expect("server accepts connections");
        tokio::spawn(async move {
            let _ended = connection.await;
        });
        client
            .batch_execute(
                "CREATE STREAM clicks (user_id BIGINT KEY, url STRING);
                 CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING);",
            )
            .await
            .expect("sources are created");
        TestServer {
            _engine: engine,
            shutdown,
            client,
            _data_dir: data_dir,
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// psycopg 3's `TypeInfo.fetch(conn, name)`, which SQLAlchemy runs on its first connect.
const PSYCOPG_TYPE_INFO: &str = "SELECT
    typname AS name, oid, typarray AS array_oid,
    oid::regtype::text AS regtype, typdelim AS delimiter
FROM pg_type t
WHERE t.oid = to_regtype($1)
ORDER BY t.oid";

/// tokio-postgres' lookup of a type OID it does not know.
const TOKIO_POSTGRES_TYPE_INFO: &str = "SELECT t.typname, t.typtype, t.typelem, r.rngsubtype, \
    t.typbasetype, n.nspname, t.typrelid
FROM pg_catalog.pg_type t
LEFT OUTER JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid
INNER JOIN pg_catalog.pg_namespace n ON t.typnamespace = n.oid
WHERE t.oid = $1";

#[tokio::test]
async fn drivers_type_lookups_answer_over_the_extended_protocol() {
    let server = TestServer::start().await;
    let client = &server.client;
    let hstore = client
        .query(PSYCOPG_TYPE_INFO, &[&"hstore"])
        .await
        .expect("an unknown type is no error");
    assert!(hstore.is_empty());
    let int8 = client
        .query_one(PSYCOPG_TYPE_INFO, &[&"int8"])
        .await
        .expect("int8 is known");
    assert_eq!(int8.get::<_, &str>("name"), "int8");
    assert_eq!(int8.get::<_, i64>("oid"), 20);
    assert_eq!(int8.get::<_, i64>("array_oid"), 1016);
    assert_eq!(int8.get::<_, &str>("regtype"), "bigint");
    let text_array = client
        .query_one(TOKIO_POSTGRES_TYPE_INFO, &[&1009_i64])
        .await
        .expect("text[] is known");
    assert_eq!(text_array.get::<_, &str>("typname"), "_text");
    assert_eq!(text_array.get::<_, i64>("typelem"), 25);
    assert_eq!(text_array.get::<_, &str>("nspname"), "pg_catalog");
}

#[tokio::test]
async fn sqlalchemys_first_queries_and_table_list_answer() {
    let server = TestServer::start().await;
    let client = &server.client;
    let version: String = client
        .query_one("select pg_catalog.version()", &[])
        .await
        .expect("version")
        .get(0);
    assert!(version.starts_with("PostgreSQL 15.0 (Eddy "), "{version}");
    let schema: String = client
        .query_one("select current_schema()", &[])
        .await
        .expect("current_schema")
        .get(0);
    assert_eq!(schema, "public");
    let tables: Vec<String> = client
        .query(
            "SELECT pg_catalog.pg_class.relname FROM pg_catalog.pg_class \
             JOIN pg_catalog.pg_namespace \
             ON pg_catalog.pg_namespace.oid = pg_catalog.pg_class.relnamespace \
             WHERE pg_catalog.pg_class.relkind = ANY (ARRAY['r', 'p']) \
             AND pg_catalog.pg_class.relpersistence != 't' \
             AND pg_catalog.pg_table_is_visible(pg_catalog.pg_class.oid) \
             AND pg_catalog.pg_namespace.nspname != 'pg_catalog' \
             AND pg_catalog.pg_namespace.nspname != 'information_schema' \
             ORDER BY 1",
            &[],
        )
        .await
        .expect("the table list")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(tables, ["clicks", "eddy_processing_log", "users"]);
    let grafana: i64 = client
        .query_one(
            "SELECT current_setting('server_version_num')::int/100 as version",
            &[],
        )
        .await
        .expect("Grafana's version probe")
        .get(0);
    assert_eq!(grafana, 1500);
}

#[tokio::test]
async fn catalog_queries_eddy_cannot_answer_get_postgres_sqlstates() {
    let server = TestServer::start().await;
    let client = &server.client;
    for (sql, code) in [
        (
            "SELECT * FROM pg_catalog.pg_nope",
            SqlState::UNDEFINED_TABLE,
        ),
        (
            "SELECT * FROM information_schema.nope",
            SqlState::UNDEFINED_TABLE,
        ),
        (
            "SELECT pg_catalog.pg_nope(oid) FROM pg_catalog.pg_class",
            SqlState::UNDEFINED_FUNCTION,
        ),
        ("SELECT 'nope'::regclass", SqlState::UNDEFINED_TABLE),
        (
            "SELECT 'nope'::pg_catalog.regtype",
            SqlState::UNDEFINED_OBJECT,
        ),
        ("SELECT current_setting('nope')", SqlState::UNDEFINED_OBJECT),
        (
            "SELECT 1 OPERATOR(pg_catalog.^) 2",
            SqlState::FEATURE_NOT_SUPPORTED,
        ),
    ] {
        let error = client.simple_query(sql).await.expect_err(sql);
        assert_eq!(error.code(), Some(&code), "{sql}: {error}");
        let prepared = client.prepare(sql).await;
        if let Err(error) = prepared {
            assert_eq!(error.code(), Some(&code), "prepared {sql}: {error}");
        }
    }
    let alive: i64 = client
        .query_one("SELECT count(*) FROM pg_catalog.pg_namespace", &[])
        .await
        .expect("the connection survives")
        .get(0);
    assert_eq!(alive, 3);
}
