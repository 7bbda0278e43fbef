//! The wire protocol through a real driver (tokio-postgres) against an in-process server:
//! extended-protocol parameters in binary, prepared statement reuse, portal suspension,
//! push queries, cancel, a client leaving mid-query, COPY out, COPY in (bulk load, bad rows,
//! CopyFail, cancel), bad input, transaction blocks and savepoints, SHOW and DISCARD, and
//! (with hand-written messages) when a Bind's answer is flushed, the transaction status
//! byte and empty queries.
//!
//! Tests wait for events (a RowDescription, a row, an error), each wait bounded by
//! `WAIT_MAX` so a broken server fails the test instead of hanging it; nothing asserts on
//! time, except one wait that checks that nothing arrives before a flush.

use std::error::Error;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use eddy_executor::{Durability, Engine, EngineConfig};
use futures::{SinkExt, Stream, StreamExt};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_postgres::error::{ErrorPosition, SqlState};
use tokio_postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use tokio_postgres::{Client, NoTls, SimpleQueryMessage};
use tokio_util::bytes::{Bytes, BytesMut};
use tokio_util::sync::CancellationToken;

const WAIT_MAX: Duration = Duration::from_secs(30);

struct TestServer {
    engine: Arc<Engine>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    address: SocketAddr,
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
        let task = tokio::spawn(eddy_server::serve(
            engine.clone(),
            listener,
            shutdown.clone(),
            eddy_server::Security::default(),
        ));
        TestServer {
            engine,
            shutdown,
            task,
            address,
            _data_dir: data_dir,
        }
    }

    /// A client and the task driving its connection (abort it to close the socket).
    async fn connect_with_task(&self) -> (Client, JoinHandle<()>) {
        let config = format!(
            "host={} port={} user=eddy dbname=eddy",
            self.address.ip(),
            self.address.port()
        );
        let (client, connection) = tokio_postgres::connect(&config, NoTls)
            .await
            .expect("server accepts connections");
        let task = tokio::spawn(async move {
            // Ends with an error when a test drops the client mid-query; that is expected.
            let _ended = connection.await;
        });
        (client, task)
    }

    async fn connect(&self) -> Client {
        self.connect_with_task().await.0
    }

    async fn stop(self) {
        self.shutdown.cancel();
        self.task
            .await
            .expect("server task does not panic")
            .expect("server stops cleanly");
        self.engine.shutdown().await;
    }
}

async fn create_readings(client: &Client) {
    client
        .batch_execute(
            "CREATE STREAM readings (sensor_id BIGINT KEY, reading DOUBLE, label VARCHAR) \
             WITH (KAFKA_TOPIC = 'readings', VALUE_FORMAT = 'JSON', PARTITIONS = 1)",
        )
        .await
        .expect("stream is created");
}

fn sqlstate(error: &tokio_postgres::Error) -> SqlState {
    error
        .code()
        .cloned()
        .unwrap_or_else(|| panic!("expected a database error, got {error:?}"))
}

/// The next message of a simple-protocol stream, failing the test after `WAIT_MAX`.
async fn next_message<S>(
    messages: &mut S,
) -> Option<Result<SimpleQueryMessage, tokio_postgres::Error>>
where
    S: Stream<Item = Result<SimpleQueryMessage, tokio_postgres::Error>> + Unpin,
{
    tokio::time::timeout(WAIT_MAX, messages.next())
        .await
        .expect("the server answers within WAIT_MAX")
}

/// Waits for the RowDescription that says a push query has started.
async fn expect_started<S>(messages: &mut S)
where
    S: Stream<Item = Result<SimpleQueryMessage, tokio_postgres::Error>> + Unpin,
{
    match next_message(messages).await {
        Some(Ok(SimpleQueryMessage::RowDescription(_))) => {}
        other => panic!("expected the push query's RowDescription, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn extended_protocol_binds_binary_parameters() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    create_readings(&client).await;
    let insert = client
        .prepare("INSERT INTO readings (sensor_id, reading, label) VALUES ($1, $2, $3)")
        .await
        .expect("insert prepares");
    assert_eq!(insert.params(), &[Type::INT8, Type::FLOAT8, Type::TEXT]);
    let inserted = client
        .execute(&insert, &[&7i64, &21.5f64, &"kitchen"])
        .await
        .expect("insert runs");
    assert_eq!(inserted, 1);
    client
        .execute(&insert, &[&8i64, &19.0f64, &None::<&str>])
        .await
        .expect("insert with a NULL runs");
    let rows = client
        .query(
            "SELECT sensor_id, reading, label FROM readings WHERE sensor_id = $1",
            &[&7i64],
        )
        .await
        .expect("select runs");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, i64>("sensor_id"), 7);
    assert_eq!(rows[0].get::<_, f64>("reading"), 21.5);
    assert_eq!(
        rows[0].get::<_, Option<String>>("label").as_deref(),
        Some("kitchen")
    );
    let row = client
        .query_one("SELECT label FROM readings WHERE sensor_id = $1", &[&8i64])
        .await
        .expect("one row");
    assert_eq!(row.get::<_, Option<String>>(0), None);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_statement_runs_a_hundred_times() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    create_readings(&client).await;
    let insert = client
        .prepare("INSERT INTO readings (sensor_id, reading, label) VALUES ($1, $2, 'bulk')")
        .await
        .expect("insert prepares");
    for sensor_id in 0..100i64 {
        client
            .execute(&insert, &[&sensor_id, &(sensor_id as f64)])
            .await
            .expect("insert runs");
    }
    let count = client
        .prepare("SELECT COUNT(*) FROM readings WHERE sensor_id >= $1")
        .await
        .expect("count prepares");
    for lowest in 0..100i64 {
        let row = client
            .query_one(&count, &[&lowest])
            .await
            .expect("count runs");
        assert_eq!(row.get::<_, i64>(0), 100 - lowest);
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_key_lookup_follows_upserts_deletes_and_a_recreated_table() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING) WITH (PARTITIONS = 2);
             INSERT INTO users VALUES (1, 'ada'), (2, 'grace');",
        )
        .await
        .expect("setup");
    let lookup = client
        .prepare("SELECT name FROM users WHERE id = $1")
        .await
        .expect("lookup prepares");
    let names = |rows: Vec<tokio_postgres::Row>| -> Vec<String> {
        rows.iter().map(|row| row.get::<_, String>(0)).collect()
    };
    assert_eq!(
        names(client.query(&lookup, &[&1i64]).await.unwrap()),
        ["ada"]
    );
    assert!(client.query(&lookup, &[&3i64]).await.unwrap().is_empty());
    client
        .batch_execute(
            "INSERT INTO users VALUES (1, 'ada lovelace'); DELETE FROM users WHERE id = 2;",
        )
        .await
        .expect("changes");
    assert_eq!(
        names(client.query(&lookup, &[&1i64]).await.unwrap()),
        ["ada lovelace"]
    );
    assert!(client.query(&lookup, &[&2i64]).await.unwrap().is_empty());
    // The statement was planned against the old table: it must see the new one.
    client
        .batch_execute(
            "DROP TABLE users;
             CREATE TABLE users (name STRING, id BIGINT PRIMARY KEY);
             INSERT INTO users (id, name) VALUES (1, 'linus');",
        )
        .await
        .expect("recreate");
    assert_eq!(
        names(client.query(&lookup, &[&1i64]).await.unwrap()),
        ["linus"]
    );
    server.stop().await;
}

/// Prepared lookups are planned once, with their key's parameters unbound; every shape of
/// filter must still answer exactly as the query says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_lookups_of_composite_keys_in_lists_nulls_and_other_filters() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE stock (warehouse STRING PRIMARY KEY, sku BIGINT PRIMARY KEY, quantity INT);
             INSERT INTO stock VALUES ('north', 1, 10), ('north', 2, 20), ('south', 1, 30);",
        )
        .await
        .expect("setup");
    let quantities = async |statement: &tokio_postgres::Statement,
                            parameters: &[&(dyn tokio_postgres::types::ToSql + Sync)]|
           -> Vec<i32> {
        let rows = client.query(statement, parameters).await.expect("looks up");
        rows.iter().map(|row| row.get::<_, i32>(0)).collect()
    };
    let both_columns = client
        .prepare("SELECT quantity FROM stock WHERE sku = $2 AND warehouse = $1")
        .await
        .expect("prepares");
    assert_eq!(quantities(&both_columns, &[&"north", &2i64]).await, [20]);
    assert_eq!(quantities(&both_columns, &[&"south", &1i64]).await, [30]);
    assert!(
        quantities(&both_columns, &[&"south", &2i64])
            .await
            .is_empty()
    );
    assert!(
        quantities(&both_columns, &[&None::<&str>, &1i64])
            .await
            .is_empty(),
        "NULL equals no key"
    );
    let listed = client
        .prepare(
            "SELECT quantity FROM stock WHERE warehouse IN ($1, 'south') AND sku = $2 ORDER BY quantity",
        )
        .await
        .expect("prepares");
    assert_eq!(quantities(&listed, &[&"north", &1i64]).await, [10, 30]);
    // The same key pinned twice: only what both allow.
    let twice = client
        .prepare("SELECT quantity FROM stock WHERE warehouse = $1 AND sku = $2 AND sku = $3")
        .await
        .expect("prepares");
    assert_eq!(quantities(&twice, &[&"north", &1i64, &1i64]).await, [10]);
    assert!(
        quantities(&twice, &[&"north", &1i64, &2i64])
            .await
            .is_empty()
    );
    // A filter on another column, with a parameter of its own.
    let at_least = client
        .prepare("SELECT quantity FROM stock WHERE warehouse = $1 AND sku = $2 AND quantity >= $3")
        .await
        .expect("prepares");
    assert_eq!(
        quantities(&at_least, &[&"north", &2i64, &15i32]).await,
        [20]
    );
    assert!(
        quantities(&at_least, &[&"north", &2i64, &25i32])
            .await
            .is_empty()
    );
    server.stop().await;
}

/// A prepared pull query over a windowed table binds its group key and window bounds at each
/// execution (a range read of the key's windows), and sees rows written after it was planned.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prepared_range_read_of_a_windowed_table_binds_its_key_and_bounds() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE per_minute (page STRING PRIMARY KEY, views BIGINT)
                 WITH (WINDOW_TYPE = 'Tumbling', WINDOW_SIZE = '1 MINUTE');
             INSERT INTO per_minute (page, windowstart, windowend, views) VALUES
                 ('/a', 0, 60000, 1), ('/a', 60000, 120000, 2), ('/a', 120000, 180000, 3),
                 ('/b', 60000, 120000, 4);",
        )
        .await
        .expect("setup");
    let windows = async |statement: &tokio_postgres::Statement,
                         parameters: &[&(dyn ToSql + Sync)]|
           -> Vec<(i64, i64)> {
        let rows = client.query(statement, parameters).await.expect("reads");
        rows.iter().map(|row| (row.get(0), row.get(1))).collect()
    };
    let by_start = client
        .prepare(
            "SELECT windowstart, views FROM per_minute \
             WHERE page = $1 AND windowstart >= $2 AND windowstart < $3",
        )
        .await
        .expect("prepares");
    assert_eq!(by_start.params(), [Type::TEXT, Type::INT8, Type::INT8]);
    assert_eq!(
        windows(&by_start, &[&"/a", &60_000i64, &180_000i64]).await,
        [(60_000, 2), (120_000, 3)]
    );
    assert!(
        windows(&by_start, &[&"/b", &0i64, &60_000i64])
            .await
            .is_empty()
    );
    assert!(
        windows(&by_start, &[&None::<&str>, &0i64, &60_000i64])
            .await
            .is_empty(),
        "NULL equals no key"
    );
    let by_end = client
        .prepare(
            "SELECT windowstart, views FROM per_minute \
             WHERE page = $1 AND windowend BETWEEN $2 AND $3 AND windowstart >= '1970-01-01T00:01:00Z'",
        )
        .await
        .expect("prepares");
    assert_eq!(
        windows(&by_end, &[&"/a", &0i64, &240_000i64]).await,
        [(60_000, 2), (120_000, 3)]
    );
    client
        .batch_execute(
            "INSERT INTO per_minute (page, windowstart, windowend, views) VALUES ('/a', 180000, 240000, 5)",
        )
        .await
        .expect("inserts");
    assert_eq!(
        windows(&by_end, &[&"/a", &150_000i64, &240_000i64]).await,
        [(120_000, 3), (180_000, 5)]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_portal_with_a_row_limit_is_suspended_and_resumed() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    create_readings(&client).await;
    client
        .batch_execute(
            "INSERT INTO readings (sensor_id, reading, label) VALUES \
             (1, 1.0, 'a'), (2, 2.0, 'b'), (3, 3.0, 'c'), (4, 4.0, 'd'), \
             (5, 5.0, 'e'), (6, 6.0, 'f'), (7, 7.0, 'g')",
        )
        .await
        .expect("rows are inserted");
    let transaction = client.transaction().await.expect("BEGIN");
    let portal = transaction
        .bind("SELECT sensor_id FROM readings ORDER BY sensor_id", &[])
        .await
        .expect("portal is bound");
    let mut batches = Vec::new();
    loop {
        let rows = transaction
            .query_portal(&portal, 3)
            .await
            .expect("portal runs");
        if rows.is_empty() {
            break;
        }
        batches.push(
            rows.iter()
                .map(|row| row.get::<_, i64>(0))
                .collect::<Vec<_>>(),
        );
    }
    assert_eq!(batches, vec![vec![1, 2, 3], vec![4, 5, 6], vec![7]]);
    transaction.commit().await.expect("COMMIT");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_query_receives_a_row_inserted_by_another_connection() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    create_readings(&writer).await;
    let subscriber = server.connect().await;
    let messages = subscriber
        .simple_query_raw("SELECT sensor_id, label FROM readings EMIT CHANGES")
        .await
        .expect("push query is sent");
    let mut messages = pin!(messages);
    expect_started(&mut messages).await;
    writer
        .batch_execute("INSERT INTO readings (sensor_id, reading, label) VALUES (1, 2.5, 'new')")
        .await
        .expect("row is inserted");
    let row = loop {
        match next_message(&mut messages).await {
            Some(Ok(SimpleQueryMessage::Row(row))) => break row,
            Some(Ok(_)) => continue,
            other => panic!("expected a row, got {other:?}"),
        }
    };
    assert_eq!(row.get("sensor_id"), Some("1"));
    assert_eq!(row.get("label"), Some("new"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_query_streams_over_the_extended_protocol() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    create_readings(&writer).await;
    let subscriber = server.connect().await;
    let no_parameters: [&(dyn ToSql + Sync); 0] = [];
    let rows = subscriber
        .query_raw(
            "SELECT sensor_id, label FROM readings EMIT CHANGES",
            no_parameters,
        )
        .await
        .expect("push query starts");
    let mut rows = pin!(rows);
    // The extended protocol gives no sign of when the query has subscribed, so rows are
    // inserted until one arrives; the wait between inserts is a poll, not an assertion.
    let mut attempts = 0;
    let row = loop {
        attempts += 1;
        assert!(attempts <= 150, "no row arrived after {attempts} inserts");
        writer
            .batch_execute("INSERT INTO readings (sensor_id, reading, label) VALUES (9, 1.0, 'x')")
            .await
            .expect("row is inserted");
        match tokio::time::timeout(Duration::from_millis(200), rows.next()).await {
            Ok(Some(row)) => break row.expect("row decodes"),
            Ok(None) => panic!("push query ended"),
            Err(_not_yet) => continue,
        }
    };
    assert_eq!(row.get::<_, i64>("sensor_id"), 9);
    assert_eq!(row.get::<_, Option<String>>("label").as_deref(), Some("x"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_push_query_with_57014_and_the_connection_stays_usable() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    create_readings(&client).await;
    let messages = client
        .simple_query_raw("SELECT * FROM readings EMIT CHANGES")
        .await
        .expect("push query is sent");
    let mut messages = pin!(messages);
    expect_started(&mut messages).await;
    client
        .cancel_token()
        .cancel_query(NoTls)
        .await
        .expect("cancel request is sent");
    let error = loop {
        match next_message(&mut messages).await {
            Some(Err(error)) => break error,
            Some(Ok(_)) => continue,
            None => panic!("the push query ended without an error"),
        }
    };
    assert_eq!(sqlstate(&error), SqlState::QUERY_CANCELED);
    client
        .batch_execute("INSERT INTO readings (sensor_id, reading, label) VALUES (1, 1.0, 'after')")
        .await
        .expect("the connection still runs statements");
    let rows = client
        .query("SELECT label FROM readings", &[])
        .await
        .expect("and queries");
    assert_eq!(rows.len(), 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_copy_of_a_push_query() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    create_readings(&client).await;
    let copy = client
        .copy_out("COPY (SELECT * FROM readings EMIT CHANGES) TO STDOUT")
        .await
        .expect("COPY starts");
    let mut copy = pin!(copy);
    client
        .cancel_token()
        .cancel_query(NoTls)
        .await
        .expect("cancel request is sent");
    let ended = tokio::time::timeout(WAIT_MAX, copy.next())
        .await
        .expect("the COPY ends within WAIT_MAX");
    match ended {
        Some(Err(error)) => assert_eq!(sqlstate(&error), SqlState::QUERY_CANCELED),
        other => panic!("expected the cancel error, got {other:?}"),
    }
    client
        .simple_query("SHOW STREAMS")
        .await
        .expect("the connection still works");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_leaving_mid_push_query_does_not_hurt_the_server() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    create_readings(&writer).await;
    {
        let (subscriber, connection) = server.connect_with_task().await;
        let messages = subscriber
            .simple_query_raw("SELECT * FROM readings EMIT CHANGES")
            .await
            .expect("push query is sent");
        let mut messages = pin!(messages);
        expect_started(&mut messages).await;
        connection.abort();
        let _closed = connection.await;
    }
    // Writes go on, and the server (which notices the departure on its next write or
    // heartbeat) keeps serving new connections.
    for sensor_id in 0..3i64 {
        writer
            .execute(
                "INSERT INTO readings (sensor_id, reading, label) VALUES ($1, 0.5, 'later')",
                &[&sensor_id],
            )
            .await
            .expect("inserts go on");
    }
    let newcomer = server.connect().await;
    let rows = newcomer
        .query("SELECT sensor_id FROM readings", &[])
        .await
        .expect("a new connection works");
    assert_eq!(rows.len(), 3);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_out_of_a_push_query_with_limit_ends_after_its_rows() {
    let server = TestServer::start().await;
    let writer = server.connect().await;
    create_readings(&writer).await;
    let reader = server.connect().await;
    let copy = reader
        .copy_out("COPY (SELECT sensor_id, label FROM readings EMIT CHANGES LIMIT 2) TO STDOUT")
        .await
        .expect("COPY starts");
    let mut copy = pin!(copy);
    writer
        .batch_execute(
            "INSERT INTO readings (sensor_id, reading, label) VALUES \
             (1, 1.0, 'first'), (2, 2.0, 'tab\there'), (3, 3.0, 'third')",
        )
        .await
        .expect("rows are inserted");
    let mut lines = Vec::new();
    loop {
        let next = tokio::time::timeout(WAIT_MAX, copy.next()).await;
        let Ok(next) = next else {
            panic!("the COPY neither ended nor sent a line within WAIT_MAX; got {lines:?}");
        };
        let Some(line) = next else {
            break;
        };
        lines.push(String::from_utf8(line.expect("COPY line").to_vec()).expect("UTF-8"));
    }
    assert_eq!(lines, vec!["1\tfirst\n", "2\ttab\\there\n"]);
    server.stop().await;
}

/// An int8 parameter whose binary value has 3 bytes instead of 8.
#[derive(Debug)]
struct ShortInt8;

impl ToSql for ShortInt8 {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        out.extend_from_slice(&[1, 2, 3]);
        Ok(IsNull::No)
    }

    fn accepts(ty: &Type) -> bool {
        *ty == Type::INT8
    }

    to_sql_checked!();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_an_error_with_a_sqlstate_and_the_connection_survives() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    create_readings(&client).await;

    let error = client
        .simple_query("SELEC 1")
        .await
        .expect_err("garbage SQL");
    assert_eq!(sqlstate(&error), SqlState::SYNTAX_ERROR);
    let position = error
        .as_db_error()
        .and_then(|error| error.position().cloned());
    assert!(
        matches!(position, Some(ErrorPosition::Original(1))),
        "{position:?}"
    );

    let error = client
        .prepare("SELEC 1")
        .await
        .expect_err("garbage SQL, extended");
    assert_eq!(sqlstate(&error), SqlState::SYNTAX_ERROR);

    let error = client
        .query("SELECT * FROM no_such_stream", &[])
        .await
        .expect_err("unknown stream");
    assert_eq!(sqlstate(&error), SqlState::UNDEFINED_TABLE);

    let by_text = client
        .prepare_typed(
            "SELECT sensor_id FROM readings WHERE sensor_id = $1",
            &[Type::TEXT],
        )
        .await
        .expect("prepares with a text parameter");
    let error = client
        .query(&by_text, &[&"not a number"])
        .await
        .expect_err("text that is no integer");
    assert_eq!(sqlstate(&error), SqlState::INVALID_TEXT_REPRESENTATION);

    let error = client
        .query(
            "SELECT sensor_id FROM readings WHERE sensor_id = $1",
            &[&ShortInt8],
        )
        .await
        .expect_err("a 3-byte int8");
    assert_eq!(sqlstate(&error), SqlState::INVALID_TEXT_REPRESENTATION);

    // An error stops the rest of a query string, as in Postgres.
    let error = client
        .batch_execute(
            "INSERT INTO readings (sensor_id, reading, label) VALUES (100, 1.0, 'before'); \
             SELECT * FROM no_such_stream; \
             INSERT INTO readings (sensor_id, reading, label) VALUES (101, 1.0, 'after')",
        )
        .await
        .expect_err("the middle statement fails");
    assert_eq!(sqlstate(&error), SqlState::UNDEFINED_TABLE);
    let rows = client
        .query("SELECT sensor_id FROM readings ORDER BY sensor_id", &[])
        .await
        .expect("the connection still works");
    let sensor_ids: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    assert_eq!(sensor_ids, vec![100]);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn transactions_are_accepted() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    create_readings(&client).await;
    let transaction = client.transaction().await.expect("BEGIN");
    transaction
        .execute(
            "INSERT INTO readings (sensor_id, reading, label) VALUES ($1, 1.0, 'tx')",
            &[&1i64],
        )
        .await
        .expect("insert inside a transaction");
    transaction.commit().await.expect("COMMIT");
    let transaction = client.transaction().await.expect("BEGIN again");
    transaction.rollback().await.expect("ROLLBACK");
    let replies = client
        .simple_query("BEGIN; SELECT label FROM readings; COMMIT")
        .await
        .expect("one string with a transaction");
    let labels: Vec<String> = replies
        .iter()
        .filter_map(|reply| match reply {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_owned),
            _ => None,
        })
        .collect();
    assert_eq!(labels, vec!["tx"]);
    server.stop().await;
}

/// What a simple query answered, in order: `C <tag>`, `E <SQLSTATE>`, `N <SQLSTATE>`
/// (notices and warnings), `I` (empty query), `Z <status>` (ReadyForQuery's status byte).
async fn answers(socket: &mut tokio::net::TcpStream, sql: &str) -> Vec<String> {
    let field = |body: &[u8], code: u8| -> String {
        body.split(|byte| *byte == 0)
            .find(|field| field.first() == Some(&code))
            .map(|field| String::from_utf8_lossy(&field[1..]).into_owned())
            .unwrap_or_default()
    };
    raw::simple_query(socket, sql)
        .await
        .into_iter()
        .filter_map(|(tag, body)| match tag {
            b'C' => Some(format!(
                "C {}",
                String::from_utf8_lossy(&body).trim_end_matches('\0')
            )),
            b'E' => Some(format!("E {}", field(&body, b'C'))),
            b'N' => Some(format!("N {}", field(&body, b'C'))),
            b'I' => Some("I".to_owned()),
            b'Z' => Some(format!("Z {}", char::from(body[0]))),
            _ => None,
        })
        .collect()
}

/// The transaction status byte is Postgres': idle (I), in a block (T), failed block (E),
/// through BEGIN, errors, savepoints, COMMIT of a failed block and a string of statements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_for_query_reports_the_transaction_block_truthfully() {
    let server = TestServer::start().await;
    let mut socket = raw::connect(server.address).await;
    let mut exchange = async |sql: &str| answers(&mut socket, sql).await;
    assert_eq!(exchange("SAVEPOINT a").await, ["E 25P01", "Z I"]);
    assert_eq!(exchange("SELECT * FROM missing").await, ["E 42P01", "Z I"]);
    assert_eq!(exchange("BEGIN").await, ["C BEGIN", "Z T"]);
    assert_eq!(exchange("SAVEPOINT a").await, ["C SAVEPOINT", "Z T"]);
    assert_eq!(exchange("SELECT * FROM missing").await, ["E 42P01", "Z E"]);
    assert_eq!(exchange("SELECT 1").await, ["E 25P02", "Z E"]);
    assert_eq!(exchange("RELEASE a").await, ["E 25P02", "Z E"]);
    assert_eq!(exchange("ROLLBACK TO nope").await, ["E 3B001", "Z E"]);
    assert_eq!(
        exchange("ROLLBACK TO SAVEPOINT a").await,
        ["N 00000", "C ROLLBACK", "Z T"]
    );
    assert_eq!(exchange("SELECT 1").await, ["C SELECT 1", "Z T"]);
    assert_eq!(exchange("RELEASE SAVEPOINT a").await, ["C RELEASE", "Z T"]);
    assert_eq!(exchange("RELEASE a").await, ["E 3B001", "Z E"]);
    assert_eq!(exchange("COMMIT").await, ["C ROLLBACK", "Z I"]);
    assert_eq!(exchange("COMMIT").await, ["N 25P01", "C COMMIT", "Z I"]);
    assert_eq!(
        exchange("BEGIN; SELECT 1; BEGIN").await,
        ["C BEGIN", "C SELECT 1", "N 25001", "C BEGIN", "Z T"]
    );
    assert_eq!(exchange("DISCARD ALL").await, ["E 25001", "Z E"]);
    assert_eq!(exchange("ROLLBACK").await, ["C ROLLBACK", "Z I"]);
    assert_eq!(exchange("DISCARD ALL").await, ["C DISCARD ALL", "Z I"]);
    assert_eq!(
        exchange("BEGIN; SELECT 1; COMMIT").await,
        ["C BEGIN", "C SELECT 1", "C COMMIT", "Z I"]
    );
    server.stop().await;
}

/// A query of only comments, whitespace or semicolons answers EmptyQueryResponse in both
/// protocols, as Postgres does (pgx pings with `-- ping`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_of_only_comments_is_empty_in_both_protocols() {
    let server = TestServer::start().await;
    let mut socket = raw::connect(server.address).await;
    for empty in ["-- ping", "/* */", ";", "  ", "-- a\n; /* b */ ;"] {
        assert_eq!(answers(&mut socket, empty).await, ["I", "Z I"], "{empty:?}");
    }
    let client = server.connect().await;
    for empty in ["-- ping", "/* */", ";"] {
        assert_eq!(client.execute(empty, &[]).await.expect("empty runs"), 0);
    }
    server.stop().await;
}

/// A driver's savepoint recovers from an error inside a block, as psycopg and pgjdbc do;
/// the extended protocol refuses a failed block's statements with 25P02 too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_savepoint_recovers_a_block_from_an_error() {
    let server = TestServer::start().await;
    let mut client = server.connect().await;
    create_readings(&client).await;
    let mut transaction = client.transaction().await.expect("BEGIN");
    let savepoint = transaction.savepoint("probe").await.expect("SAVEPOINT");
    let missing = savepoint
        .query("SELECT * FROM no_such_stream", &[])
        .await
        .expect_err("no such stream");
    assert_eq!(sqlstate(&missing), SqlState::UNDEFINED_TABLE);
    let ignored = savepoint
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .expect_err("a failed block runs nothing");
    assert_eq!(sqlstate(&ignored), SqlState::IN_FAILED_SQL_TRANSACTION);
    savepoint.rollback().await.expect("ROLLBACK TO SAVEPOINT");
    let one: i64 = transaction
        .query_one("SELECT 1::BIGINT", &[])
        .await
        .expect("the block runs again")
        .get(0);
    assert_eq!(one, 1);
    let released = transaction.savepoint("kept").await.expect("SAVEPOINT");
    released.commit().await.expect("RELEASE");
    transaction.commit().await.expect("COMMIT");
    server.stop().await;
}

/// SHOW answers the settings clients read with Postgres' values; `SET application_name` is
/// the connection's own and DISCARD ALL resets it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_answers_what_clients_read_and_application_name_is_per_connection() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    let other = server.connect().await;
    let show = async |client: &Client, name: &str| -> String {
        let row = client
            .query_one(&format!("SHOW {name}"), &[])
            .await
            .unwrap_or_else(|error| panic!("SHOW {name}: {error}"));
        row.get(0)
    };
    for (name, value) in [
        ("server_encoding", "UTF8"),
        ("client_encoding", "UTF8"),
        ("standard_conforming_strings", "on"),
        ("DateStyle", "ISO, MDY"),
        ("TimeZone", "UTC"),
        ("integer_datetimes", "on"),
        ("transaction isolation level", "read committed"),
        ("default_transaction_read_only", "off"),
        ("search_path", "\"$user\", public"),
        ("max_identifier_length", "63"),
        ("is_superuser", "on"),
        ("server_version_num", "150000"),
    ] {
        assert_eq!(show(&client, name).await, value, "SHOW {name}");
    }
    assert!(
        show(&client, "server_version")
            .await
            .starts_with("15.0 (Eddy ")
    );
    client
        .batch_execute("SET application_name = 'PostgreSQL JDBC Driver'")
        .await
        .expect("SET application_name");
    assert_eq!(
        show(&client, "application_name").await,
        "PostgreSQL JDBC Driver"
    );
    assert_eq!(show(&other, "application_name").await, "");
    let all = client.query("SHOW ALL", &[]).await.expect("SHOW ALL");
    let application_name = all
        .iter()
        .find(|row| row.get::<_, &str>(0) == "application_name")
        .map(|row| row.get::<_, String>(1));
    assert_eq!(application_name.as_deref(), Some("PostgreSQL JDBC Driver"));
    client
        .batch_execute("DISCARD ALL")
        .await
        .expect("DISCARD ALL");
    assert_eq!(show(&client, "application_name").await, "");
    server.stop().await;
}

/// The settings a driver tracks follow Postgres: the startup packet's `application_name` is
/// the session's (RESET and DISCARD ALL return to it), a SET or RESET of a reported setting
/// sends its ParameterStatus (in Postgres' canonical spelling), RESET answers `RESET`,
/// SHOW ALL describes each setting, and DISCARD ALL drops prepared statements.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reported_settings_follow_postgres() {
    let server = TestServer::start().await;
    let mut socket = raw::connect(server.address).await;
    let mut exchange = async |sql: &str| -> Vec<String> {
        raw::simple_query(&mut socket, sql)
            .await
            .into_iter()
            .filter_map(|(tag, body)| {
                let text = String::from_utf8_lossy(&body).replace('\0', "|");
                matches!(tag, b'S' | b'C').then(|| format!("{} {text}", char::from(tag)))
            })
            .collect()
    };
    assert_eq!(
        exchange("SET application_name = 'pgbench'").await,
        ["C SET|", "S application_name|pgbench|"]
    );
    assert_eq!(
        exchange("RESET application_name").await,
        ["C RESET|", "S application_name||"]
    );
    assert_eq!(
        exchange("SET datestyle = 'iso, mdy'").await,
        ["C SET|", "S DateStyle|ISO, MDY|"]
    );
    assert_eq!(exchange("UNSET 'auto.offset.reset'").await, ["C UNSET|"]);

    let (client, connection) = tokio_postgres::Config::new()
        .host("127.0.0.1")
        .port(server.address.port())
        .user("eddy")
        .dbname("eddy")
        .application_name("report builder")
        .connect(NoTls)
        .await
        .expect("connects");
    tokio::spawn(connection);
    let application_name = async || -> String {
        let row = client
            .query_one("SHOW application_name", &[])
            .await
            .expect("SHOW");
        row.get(0)
    };
    assert_eq!(application_name().await, "report builder");
    client
        .batch_execute("SET application_name = 'other'")
        .await
        .expect("SET");
    let prepared = client.prepare("SELECT 1").await.expect("prepares");
    client
        .batch_execute("DISCARD ALL")
        .await
        .expect("DISCARD ALL");
    assert_eq!(application_name().await, "report builder");
    let dropped = client.query(&prepared, &[]).await.expect_err("dropped");
    assert_eq!(dropped.code(), Some(&SqlState::INVALID_SQL_STATEMENT_NAME));
    let all = client.query("SHOW ALL", &[]).await.expect("SHOW ALL");
    let columns: Vec<&str> = all[0]
        .columns()
        .iter()
        .map(|column| column.name())
        .collect();
    assert_eq!(columns, ["name", "setting", "description"]);
    let described = all
        .iter()
        .find(|row| row.get::<_, &str>(0) == "datestyle")
        .map(|row| row.get::<_, String>(2));
    assert_eq!(
        described.as_deref(),
        Some("Sets the display format for date and time values.")
    );
    server.stop().await;
}

const BIDS_DDL: &str = "CREATE STREAM bids (auction BIGINT KEY, bidder BIGINT, price BIGINT, \
                        channel STRING, url STRING, date_time BIGINT) WITH (PARTITIONS = 2)";

/// Nexmark-like bids `first..first + rows` in COPY text format, cut into pieces of about
/// `piece_bytes` (pieces end mid-line, as a driver's buffers do).
fn bid_lines(first: u64, rows: u64, piece_bytes: usize) -> Vec<Bytes> {
    let mut text = String::new();
    for bid in first..first + rows {
        text.push_str(&format!(
            "{}\t{}\t{}\tchannel-{}\thttps://www.nexmark.com/{}/item.htm?query=1\t{}\n",
            bid % 1000,
            bid,
            bid % 997 + 1,
            bid % 4,
            bid % 100,
            1_700_000_000_000 + bid
        ));
    }
    text.as_bytes()
        .chunks(piece_bytes)
        .map(Bytes::copy_from_slice)
        .collect()
}

/// Copies `pieces` in with tokio-postgres (the extended protocol) and finishes the COPY.
async fn copy_in_pieces(
    client: &Client,
    statement: &str,
    pieces: Vec<Bytes>,
) -> Result<u64, tokio_postgres::Error> {
    let sink = client.copy_in(statement).await?;
    let mut sink = pin!(sink);
    for piece in pieces {
        sink.send(piece).await?;
    }
    sink.as_mut().finish().await
}

async fn count_and_sum(client: &Client, sql: &str) -> (i64, i64) {
    let row = client.query_one(sql, &[]).await.expect("aggregate runs");
    (row.get(0), row.get(1))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_loads_100_000_rows_into_two_partitions() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(BIDS_DDL)
        .await
        .expect("stream is created");
    let rows = 100_000;
    let pieces = bid_lines(0, rows, 64 * 1024);
    let started = Instant::now();
    let copied = copy_in_pieces(&client, "COPY bids FROM STDIN", pieces)
        .await
        .expect("COPY succeeds");
    let elapsed = started.elapsed();
    assert_eq!(copied, rows);
    eprintln!(
        "copy_in of {rows} bids: {:.0} rows/s (unoptimized test build)",
        rows as f64 / elapsed.as_secs_f64()
    );
    let expected_price_sum: i64 = (0..rows as i64).map(|bid| bid % 997 + 1).sum();
    assert_eq!(
        count_and_sum(&client, "SELECT COUNT(*), SUM(price) FROM bids").await,
        (rows as i64, expected_price_sum)
    );
    let partitions = client
        .query(
            "SELECT rowpartition, COUNT(*) FROM bids GROUP BY rowpartition",
            &[],
        )
        .await
        .expect("rows per partition");
    assert_eq!(partitions.len(), 2, "both partitions hold rows");
    let (rows_of_auction_7, _) = count_and_sum(
        &client,
        "SELECT COUNT(*), COUNT(DISTINCT rowpartition) FROM bids WHERE auction = 7",
    )
    .await;
    assert_eq!(rows_of_auction_7, 100);
    let one_partition = client
        .query_one(
            "SELECT COUNT(DISTINCT rowpartition) FROM bids WHERE auction = 7",
            &[],
        )
        .await
        .expect("partitions of one key");
    assert_eq!(
        one_partition.get::<_, i64>(0),
        1,
        "a key's rows share a partition"
    );
    let rowtime = client
        .query_one("SELECT MAX(rowtime) FROM bids", &[])
        .await
        .expect("rowtime");
    assert!(
        rowtime.get::<_, i64>(0) > 1_700_000_000_000,
        "ingestion time"
    );
    server.stop().await;
}

/// auction, url, price, bidder, rowtime
type BidRow = (i64, Option<String>, Option<i64>, Option<i64>, i64);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_csv_with_a_header_and_a_column_list() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(BIDS_DDL)
        .await
        .expect("stream is created");
    let csv = "url,auction,price,rowtime\n\
               \"https://x/a,b\",1,10,1000\n\
               \"say \"\"hi\"\"\",2,,2000\n\
               ,3,30,3000\n";
    let copied = copy_in_pieces(
        &client,
        "COPY bids (url, auction, price, rowtime) FROM STDIN WITH (FORMAT csv, HEADER)",
        vec![Bytes::from_static(csv.as_bytes())],
    )
    .await
    .expect("COPY succeeds");
    assert_eq!(copied, 3);
    let rows = client
        .query(
            "SELECT auction, url, price, bidder, rowtime FROM bids ORDER BY auction",
            &[],
        )
        .await
        .expect("rows");
    let rows: Vec<BidRow> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))
        .collect();
    assert_eq!(
        rows,
        vec![
            (1, Some("https://x/a,b".into()), Some(10), None, 1000),
            (2, Some("say \"hi\"".into()), None, None, 2000),
            (3, None, Some(30), None, 3000),
        ]
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_in_errors_carry_sqlstates_and_the_connection_survives() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(BIDS_DDL)
        .await
        .expect("stream is created");

    let bad_value = "1\t1\t1\tc\tu\t1\n2\t2\tx2\tc\tu\t2\n";
    let error = copy_in_pieces(
        &client,
        "COPY bids FROM STDIN",
        vec![Bytes::from_static(bad_value.as_bytes())],
    )
    .await
    .expect_err("a bad value");
    assert_eq!(sqlstate(&error), SqlState::INVALID_TEXT_REPRESENTATION);
    let message = error.as_db_error().map(|error| error.message().to_owned());
    assert_eq!(
        message.as_deref(),
        Some("invalid value 'x2' for column \"price\" of type BIGINT, line 2")
    );

    // A bad value in the first chunk fails the COPY while the client is still sending.
    let mut pieces = bid_lines(0, 20_000, 16 * 1024);
    pieces.insert(0, Bytes::from_static(b"1\t1\tNaN\tc\tu\t1\n"));
    let error = copy_in_pieces(&client, "COPY bids FROM STDIN", pieces)
        .await
        .expect_err("a bad value on line 1");
    assert_eq!(sqlstate(&error), SqlState::INVALID_TEXT_REPRESENTATION);

    let short_line = "1\t1\t1\n";
    let error = copy_in_pieces(
        &client,
        "COPY bids FROM STDIN",
        vec![Bytes::from_static(short_line.as_bytes())],
    )
    .await
    .expect_err("a line with too few fields");
    assert_eq!(sqlstate(&error), SqlState::BAD_COPY_FILE_FORMAT);

    let error = copy_in_pieces(&client, "COPY no_such_stream FROM STDIN", Vec::new())
        .await
        .expect_err("an unknown stream");
    assert_eq!(sqlstate(&error), SqlState::UNDEFINED_TABLE);

    let error = client
        .simple_query("COPY bids FROM STDIN; SELECT 1")
        .await
        .expect_err("COPY FROM STDIN before another statement");
    assert_eq!(sqlstate(&error), SqlState::FEATURE_NOT_SUPPORTED);

    assert_eq!(
        count_and_sum(&client, "SELECT COUNT(*), COUNT(*) FROM bids").await,
        (0, 0),
        "a failed chunk appends nothing"
    );
    server.stop().await;
}

/// Waits until `stream` holds `expected` rows, failing if it ever holds a number of rows
/// other than 0 or `expected`.
async fn wait_for_rows(client: &Client, stream: &str, expected: i64) {
    let sql = format!("SELECT COUNT(*), COUNT(*) FROM {stream}");
    let deadline = Instant::now() + WAIT_MAX;
    loop {
        let (rows, _) = count_and_sum(client, &sql).await;
        assert!(rows == 0 || rows == expected, "{stream}: {rows} rows");
        if rows == expected {
            return;
        }
        assert!(Instant::now() < deadline, "{stream}: stuck at {rows} rows");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copy_fail_or_a_disconnect_keeps_the_chunks_already_appended() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(&format!(
            "{BIDS_DDL}; {}",
            BIDS_DDL.replace("bids", "bids_2")
        ))
        .await
        .expect("streams are created");
    // 10,000 rows: one full chunk of 8,192, appended as it fills, and the start of the next,
    // which is dropped.
    let sink = client
        .copy_in("COPY bids FROM STDIN")
        .await
        .expect("COPY starts");
    let mut sink = Box::pin(sink);
    for piece in bid_lines(0, 10_000, 16 * 1024) {
        sink.send(piece).await.expect("data is sent");
    }
    // Dropping the sink unfinished sends CopyFail.
    drop(sink);
    wait_for_rows(&client, "bids", 8192).await;

    let (leaving, connection) = server.connect_with_task().await;
    let sink = leaving
        .copy_in("COPY bids_2 FROM STDIN")
        .await
        .expect("COPY starts");
    let mut sink = Box::pin(sink);
    for piece in bid_lines(0, 10_000, 16 * 1024) {
        sink.send(piece).await.expect("data is sent");
    }
    // The first chunk is appended while the COPY goes on; then the client vanishes.
    wait_for_rows(&client, "bids_2", 8192).await;
    connection.abort();
    let _aborted = connection.await;
    drop(sink);
    let other = server.connect().await;
    wait_for_rows(&other, "bids_2", 8192).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_ends_a_copy_in_with_57014() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(BIDS_DDL)
        .await
        .expect("stream is created");
    let sink = client
        .copy_in("COPY bids FROM STDIN")
        .await
        .expect("COPY starts");
    let mut sink = Box::pin(sink);
    sink.send(bid_lines(0, 10, 1024).remove(0))
        .await
        .expect("data is sent");
    client
        .cancel_token()
        .cancel_query(NoTls)
        .await
        .expect("cancel request is sent");
    // A cancel request travels on its own connection and is never acknowledged, so a
    // CopyDone sent right behind it can win the race and end the COPY normally (in
    // PostgreSQL too). Give the server time to take the request before finishing.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let error = sink
        .as_mut()
        .finish()
        .await
        .expect_err("the COPY was cancelled");
    assert_eq!(sqlstate(&error), SqlState::QUERY_CANCELED);
    assert_eq!(
        count_and_sum(&client, "SELECT COUNT(*), COUNT(*) FROM bids").await,
        (0, 0)
    );
    server.stop().await;
}

/// Frontend messages written by hand, for what a driver does not let a test choose: the
/// moment the server flushes.
mod raw {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    use super::WAIT_MAX;

    /// `body` after its length (which counts itself), as every message frames it.
    fn length_prefixed(body: &[u8]) -> Vec<u8> {
        let length = i32::try_from(body.len() + 4).expect("a small message");
        let mut framed = length.to_be_bytes().to_vec();
        framed.extend_from_slice(body);
        framed
    }

    /// Sends tagged messages in one write.
    pub async fn send(socket: &mut TcpStream, messages: &[(u8, &[u8])]) {
        let mut bytes = Vec::new();
        for (tag, body) in messages {
            bytes.push(*tag);
            bytes.extend(length_prefixed(body));
        }
        socket.write_all(&bytes).await.expect("sent");
    }

    /// Connects and completes the startup (protocol 3.0) as user `eddy`.
    pub async fn connect(address: std::net::SocketAddr) -> TcpStream {
        let mut socket = TcpStream::connect(address).await.expect("connects");
        let mut startup = 196_608_i32.to_be_bytes().to_vec();
        startup.extend_from_slice(b"user\0eddy\0database\0eddy\0\0");
        socket
            .write_all(&length_prefixed(&startup))
            .await
            .expect("startup sent");
        read_until(&mut socket, b'Z').await;
        socket
    }

    /// Sends `sql` as a simple Query and reads the replies up to ReadyForQuery: each
    /// message's tag and body.
    pub async fn simple_query(socket: &mut TcpStream, sql: &str) -> Vec<(u8, Vec<u8>)> {
        let mut body = sql.as_bytes().to_vec();
        body.push(0);
        send(socket, &[(b'Q', &body)]).await;
        let read = async {
            let mut messages = Vec::new();
            loop {
                let tag = socket.read_u8().await.expect("a message");
                let length = socket.read_i32().await.expect("its length");
                let mut body = vec![0; usize::try_from(length - 4).expect("a length")];
                socket.read_exact(&mut body).await.expect("its body");
                messages.push((tag, body));
                if tag == b'Z' {
                    return messages;
                }
            }
        };
        tokio::time::timeout(WAIT_MAX, read)
            .await
            .expect("the server answers")
    }

    /// The tags of the backend messages read up to and including one tagged `last`.
    pub async fn read_until(socket: &mut TcpStream, last: u8) -> Vec<u8> {
        let read = async {
            let mut tags = Vec::new();
            loop {
                let tag = socket.read_u8().await.expect("a message");
                let length = socket.read_i32().await.expect("its length");
                let mut body = vec![0; usize::try_from(length - 4).expect("a length")];
                socket.read_exact(&mut body).await.expect("its body");
                tags.push(tag);
                if tag == last {
                    return tags;
                }
            }
        };
        tokio::time::timeout(WAIT_MAX, read)
            .await
            .expect("the server answers")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bind_complete_waits_for_the_next_flush() {
    use tokio::io::AsyncReadExt;

    // Unnamed statement and portal, no parameters, default formats.
    const BIND: &[u8] = b"\0\0\0\0\0\0\0\0";
    const EXECUTE_ALL_ROWS: &[u8] = b"\0\0\0\0\0";
    let server = TestServer::start().await;
    let mut socket = raw::connect(server.address).await;
    raw::send(&mut socket, &[(b'P', b"\0SELECT 1\0\0\0"), (b'S', b"")]).await;
    assert_eq!(raw::read_until(&mut socket, b'Z').await, b"1Z");

    // As in Postgres, a Bind's answer is queued, not flushed on its own: it leaves with the
    // Execute's reply, so that a lookup's reply is one write. This is the one wait here
    // that expects nothing to arrive.
    raw::send(&mut socket, &[(b'B', BIND)]).await;
    let mut byte = [0u8];
    let early = tokio::time::timeout(Duration::from_millis(200), socket.read(&mut byte)).await;
    assert!(early.is_err(), "BindComplete was flushed on its own");
    raw::send(&mut socket, &[(b'E', EXECUTE_ALL_ROWS), (b'S', b"")]).await;
    assert_eq!(raw::read_until(&mut socket, b'Z').await, b"2DCZ");

    // A Flush sends what is queued, as a client that waits for BindComplete asks.
    raw::send(&mut socket, &[(b'B', BIND), (b'H', b"")]).await;
    assert_eq!(raw::read_until(&mut socket, b'2').await, b"2");
    server.stop().await;
}

/// UPDATE, DELETE and INSERT INTO table .. SELECT through the extended protocol: Describe
/// gives their parameters' types, and each answers with the count of rows it changed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn table_dml_takes_parameters_and_counts_its_rows() {
    let server = TestServer::start().await;
    let client = server.connect().await;
    client
        .batch_execute(
            "CREATE TABLE accounts (id BIGINT PRIMARY KEY, owner STRING, balance INT)
                 WITH (PARTITIONS = 2);
             INSERT INTO accounts VALUES (1, 'ada', 10), (2, 'bob', 20), (3, 'cy', 30);
             CREATE TABLE archive (id BIGINT PRIMARY KEY, owner STRING, balance INT);",
        )
        .await
        .expect("setup");
    let update = client
        .prepare("UPDATE accounts SET balance = $1, owner = UCASE(owner) WHERE balance >= $2")
        .await
        .expect("update prepares");
    let archive = client
        .prepare(
            "INSERT INTO archive SELECT id, owner, balance + $1 FROM accounts WHERE owner = $2",
        )
        .await
        .expect("insert prepares");
    let delete = client
        .prepare("DELETE FROM accounts WHERE id = $1")
        .await
        .expect("delete prepares");
    let delete_by_owner = client
        .prepare("DELETE FROM accounts WHERE LCASE(owner) <> $1")
        .await
        .expect("delete by owner prepares");
    assert_eq!(update.params(), &[Type::INT4, Type::INT4]);
    assert_eq!(archive.params(), &[Type::INT4, Type::TEXT]);
    assert_eq!(delete.params(), &[Type::INT8]);
    assert_eq!(delete_by_owner.params(), &[Type::TEXT]);
    let rows = async |sql: &str| -> Vec<(i64, String, i32)> {
        client
            .query(sql, &[])
            .await
            .expect("select runs")
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2)))
            .collect()
    };

    assert_eq!(
        client.execute(&update, &[&100i32, &20i32]).await.unwrap(),
        2
    );
    assert_eq!(
        client.execute(&update, &[&0i32, &1000i32]).await.unwrap(),
        0
    );
    assert_eq!(client.execute(&archive, &[&1i32, &"BOB"]).await.unwrap(), 1);
    assert_eq!(client.execute(&archive, &[&5i32, &"CY"]).await.unwrap(), 1);
    assert_eq!(
        rows("SELECT id, owner, balance FROM archive ORDER BY id").await,
        [(2, "BOB".to_string(), 101), (3, "CY".to_string(), 105)]
    );
    assert_eq!(client.execute(&delete, &[&2i64]).await.unwrap(), 1);
    assert_eq!(client.execute(&delete, &[&2i64]).await.unwrap(), 0);
    assert_eq!(
        client.execute(&delete_by_owner, &[&"ada"]).await.unwrap(),
        1
    );
    assert_eq!(
        rows("SELECT id, owner, balance FROM accounts").await,
        [(1, "ada".to_string(), 10)]
    );

    // The simple protocol's tags carry the same counts.
    let counts: Vec<u64> = client
        .simple_query(
            "UPDATE accounts SET balance = balance + 1;
             INSERT INTO accounts SELECT id + 10, owner, balance FROM archive;
             DELETE FROM accounts WHERE balance > 0;",
        )
        .await
        .expect("simple statements run")
        .iter()
        .filter_map(|message| match message {
            SimpleQueryMessage::CommandComplete(rows) => Some(*rows),
            _ => None,
        })
        .collect();
    assert_eq!(counts, [1, 2, 3]);
    server.stop().await;
}
