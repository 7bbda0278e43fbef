//! Runs each `tests/sql/<name>.sql` through a real server and snapshots the transcript
//! (`cli/tests/snapshots/<name>.snap`): every statement, then its rows, `OK <tag>` or
//! `ERROR <SQLSTATE>: <message>`.
//!
//! Statements end with `;` at the end of a line and are sent one at a time with the
//! simple query protocol. The client here is a minimal one written over the protocol
//! itself, because tokio-postgres's `simple_query` drops command tags (it keeps only the
//! row count) and fails on COPY; the protocol tests in `server/tests/` use tokio-postgres.
//! Comment lines are copied into the transcript and may carry directives:
//! - `-- @restart`: shut the engine down, reopen the same data directory, reconnect;
//! - `-- @push <n>`: the next statement (a push query) runs on a second connection, which
//!   collects its first n rows; `-- @await-push` waits for them and prints them as `+`
//!   lines (sorted, since row order across keys and partitions is not defined);
//!   `-- @wait-push <m>` waits until the first m of them have come (a push query has
//!   read what came before them), and `-- @await-push` prints them with the rest;
//! - `-- @wait-rows <stream> <n>`: polls `SELECT COUNT(*)` until the stream holds at least
//!   n rows (persistent queries are asynchronous); `-- @wait-count <source> <n>` until it
//!   holds exactly n (a table that rows leave);
//! - `-- @settle`: polls SHOW QUERIES until every running query has processed all of its
//!   input (lag 0), so tables derived by persistent queries are up to date;
//! - `-- @manual-clock <ms>`: restarts the engine on a clock that reads `<ms>` and stands
//!   still; `-- @advance-clock <ms>` moves it on (both for windows that close when input
//!   goes quiet);
//! - `-- @each-kind`: the next statement, a SELECT over streams, runs as each kind of query
//!   and must answer the same rows each time: as a pull query (its answer is the one
//!   printed), as a push query from the earliest offset (`EMIT CHANGES LIMIT n`, n the pull
//!   query's row count), and as a persistent query (`CREATE STREAM .. AS`, read back once
//!   settled, which must set no row aside in `eddy_processing_log`). With GROUP BY the
//!   persistent query makes a table, and no push query runs: its rows are the groups'
//!   changes, not their current values. A pull query that fails prints its error and runs no
//!   other way. Functions are tested so (`functions_*.sql`).
//!
//! Rows are sorted unless the statement has ORDER BY or is a SHOW, LIST, DESCRIBE or
//! EXPLAIN. A `rows_per_second` value (SHOW QUERIES) shows as `~`: it depends on timing.
//! Waits are bounded by `WAIT_MAX`; nothing asserts on time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use eddy_executor::{Durability, Engine, EngineConfig, ManualClock};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The longest the runner waits for a push query's rows or a stream's row count.
const WAIT_MAX: Duration = Duration::from_secs(30);
/// Pause between two polls of `-- @wait-rows`.
const POLL_INTERVAL: Duration = Duration::from_millis(20);

macro_rules! sql_scripts {
    ($($name:ident),+ $(,)?) => {
        /// Every script that has a test below.
        const SCRIPTS: &[&str] = &[$(stringify!($name)),+];
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                run_script(stringify!($name)).await;
            }
        )+
    };
}

sql_scripts!(
    aggregate,
    asof_joins,
    catalog,
    create_stream,
    errors,
    event_time,
    explain,
    functions_aggregate,
    functions_bytes,
    functions_collections,
    functions_datetime,
    functions_json,
    functions_lambda,
    functions_numeric,
    functions_strings,
    functions_table,
    functions_url,
    idle_windows,
    insert,
    keys,
    nested_keys,
    persistent_query,
    projection,
    pull_join,
    pull_query,
    push_query,
    regressions,
    retention,
    session,
    session_windows,
    smoke,
    source_only,
    stream_joins,
    stream_table_joins,
    subquery_aggregates,
    table,
    table_joins,
    table_dml,
    temporal_filters,
    transactions,
    types,
    users,
    window_tvf,
    windowed_tables,
    windows,
);

#[test]
fn every_script_has_a_test() {
    let mut on_disk: Vec<String> = std::fs::read_dir(scripts_dir())
        .expect("tests/sql exists")
        .filter_map(|entry| {
            let path = entry.expect("readable directory entry").path();
            let is_sql = path.extension().is_some_and(|extension| extension == "sql");
            is_sql.then(|| path.file_stem()?.to_str().map(str::to_owned))?
        })
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = SCRIPTS.iter().map(|name| (*name).to_owned()).collect();
    listed.sort();
    assert_eq!(
        on_disk, listed,
        "add each tests/sql/*.sql to sql_scripts! in this file"
    );
}

fn scripts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/sql")
}

async fn run_script(name: &str) {
    let path = scripts_dir().join(format!("{name}.sql"));
    let script = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let mut runner = Runner::start(data_dir.path()).await;
    runner.run(&script).await;
    let transcript = runner.finish().await;
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_description(format!("tests/sql/{name}.sql"));
    settings.bind(|| insta::assert_snapshot!(name, transcript));
}

/// An engine and `eddy_server::serve` in this process, on a free port.
struct Server {
    engine: Arc<Engine>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
    address: SocketAddr,
}

impl Server {
    async fn start(data_dir: &Path, clock: Option<Arc<ManualClock>>) -> Server {
        let mut config = EngineConfig::new(data_dir);
        // Restarts here are graceful; crash durability has its own end-to-end tests.
        config.durability = Durability::Os;
        if let Some(clock) = clock {
            config.clock = clock;
        }
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
        Server {
            engine,
            shutdown,
            task,
            address,
        }
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

/// A push query running on its own connection.
struct PendingPush {
    rows_expected: usize,
    rows: mpsc::UnboundedReceiver<Result<Vec<Option<String>>, String>>,
    /// The rows received so far.
    received: Vec<Vec<Option<String>>>,
    /// The error the push query ended with.
    error: Option<String>,
    task: JoinHandle<()>,
}

impl PendingPush {
    /// Receives rows until `count` have come, or the query ends.
    async fn receive(&mut self, count: usize) {
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        while self.received.len() < count && self.error.is_none() {
            match tokio::time::timeout_at(deadline, self.rows.recv()).await {
                Ok(Some(Ok(row))) => self.received.push(row),
                Ok(Some(Err(error))) => self.error = Some(error),
                Ok(None) => break,
                Err(_elapsed) => panic!(
                    "push query delivered {} of {count} rows within {WAIT_MAX:?}: {:?}",
                    self.received.len(),
                    self.received
                ),
            }
        }
    }
}

struct Runner {
    data_dir: PathBuf,
    /// Absent only while `-- @restart` replaces them.
    server: Option<Server>,
    client: Option<WireClient>,
    transcript: String,
    push_next: Option<usize>,
    pending_push: Option<PendingPush>,
    /// The last `-- @push` statement failed (its error is in the transcript): the matching
    /// `-- @await-push` has nothing to wait for.
    push_failed: bool,
    /// `-- @each-kind` came before the next statement.
    each_kind_next: bool,
    /// How many `-- @each-kind` statements ran: names each one's derived stream.
    each_kind_runs: usize,
    /// The engine's clock after `-- @manual-clock`.
    clock: Option<Arc<ManualClock>>,
}

impl Runner {
    async fn start(data_dir: &Path) -> Runner {
        let server = Server::start(data_dir, None).await;
        let client = WireClient::connect(server.address).await;
        Runner {
            data_dir: data_dir.to_owned(),
            server: Some(server),
            client: Some(client),
            transcript: String::new(),
            push_next: None,
            pending_push: None,
            push_failed: false,
            each_kind_next: false,
            each_kind_runs: 0,
            clock: None,
        }
    }

    async fn finish(self) -> String {
        assert!(
            self.pending_push.is_none(),
            "a `-- @push` was never awaited with `-- @await-push`"
        );
        if let Some(client) = self.client {
            client.terminate().await;
        }
        if let Some(server) = self.server {
            server.stop().await;
        }
        self.transcript
    }

    fn client(&mut self) -> &mut WireClient {
        self.client
            .as_mut()
            .expect("connected outside `-- @restart`")
    }

    fn address(&self) -> SocketAddr {
        self.server
            .as_ref()
            .expect("running outside `-- @restart`")
            .address
    }

    async fn run(&mut self, script: &str) {
        let mut statement = String::new();
        for line in script.lines() {
            let trimmed = line.trim();
            if statement.is_empty() {
                if trimmed.is_empty() {
                    continue;
                }
                if trimmed.starts_with("--") {
                    self.transcript.push_str(trimmed);
                    self.transcript.push('\n');
                    self.directive(trimmed).await;
                    continue;
                }
            }
            statement.push_str(line);
            statement.push('\n');
            if trimmed.ends_with(';') {
                self.statement(statement.trim_end()).await;
                statement.clear();
            }
        }
        if !statement.trim().is_empty() {
            self.statement(statement.trim_end()).await;
        }
    }

    async fn directive(&mut self, comment: &str) {
        let words: Vec<&str> = comment.trim_start_matches('-').split_whitespace().collect();
        match words.as_slice() {
            ["@restart", ..] => self.restart().await,
            ["@push", rows] => {
                let rows = rows
                    .parse()
                    .unwrap_or_else(|_| panic!("bad row count in {comment}"));
                self.push_next = Some(rows);
            }
            ["@await-push", ..] => self.await_push().await,
            ["@wait-push", rows] => {
                let rows = rows
                    .parse()
                    .unwrap_or_else(|_| panic!("bad row count in {comment}"));
                if !self.push_failed {
                    self.pending_push
                        .as_mut()
                        .expect("`-- @wait-push` needs a `-- @push` before it")
                        .receive(rows)
                        .await;
                }
            }
            ["@wait-rows", stream, rows] => {
                let rows: u64 = rows
                    .parse()
                    .unwrap_or_else(|_| panic!("bad row count in {comment}"));
                self.wait_rows(stream, |count| count >= rows, &format!("at least {rows}"))
                    .await;
            }
            ["@wait-count", source, rows] => {
                let rows: u64 = rows
                    .parse()
                    .unwrap_or_else(|_| panic!("bad row count in {comment}"));
                self.wait_rows(source, |count| count == rows, &format!("exactly {rows}"))
                    .await;
            }
            ["@settle"] => self.settle().await,
            ["@manual-clock", now_ms] => {
                let now_ms = now_ms
                    .parse()
                    .unwrap_or_else(|_| panic!("bad time in {comment}"));
                self.clock = Some(Arc::new(ManualClock::new(now_ms)));
                self.restart().await;
            }
            ["@advance-clock", elapsed_ms] => {
                let elapsed_ms = elapsed_ms
                    .parse()
                    .unwrap_or_else(|_| panic!("bad duration in {comment}"));
                self.clock
                    .as_ref()
                    .expect("`-- @manual-clock` before `-- @advance-clock`")
                    .advance_ms(elapsed_ms);
            }
            ["@each-kind"] => self.each_kind_next = true,
            [directive, ..] if directive.starts_with('@') => {
                panic!("unknown directive {comment}")
            }
            _ => {}
        }
    }

    async fn statement(&mut self, sql: &str) {
        self.transcript.push_str(sql);
        self.transcript.push('\n');
        if let Some(rows_expected) = self.push_next.take() {
            self.start_push(sql, rows_expected).await;
        } else if std::mem::take(&mut self.each_kind_next) {
            self.each_kind(sql).await;
        } else {
            let replies = self.client().simple_query(sql).await;
            let ordered = has_order_by(sql);
            for reply in replies {
                reply.render(ordered, &mut self.transcript);
            }
        }
        self.transcript.push('\n');
    }

    async fn restart(&mut self) {
        assert!(
            self.pending_push.is_none(),
            "await the push query before `-- @restart`"
        );
        if let Some(client) = self.client.take() {
            client.terminate().await;
        }
        // The old engine must be closed before the data directory is opened again.
        if let Some(server) = self.server.take() {
            server.stop().await;
        }
        let server = Server::start(&self.data_dir, self.clock.clone()).await;
        self.client = Some(WireClient::connect(server.address).await);
        self.server = Some(server);
    }

    async fn start_push(&mut self, sql: &str, rows_expected: usize) {
        assert!(self.pending_push.is_none(), "only one `-- @push` at a time");
        let client = WireClient::connect(self.address()).await;
        let (started_sender, started) = oneshot::channel();
        let (row_sender, rows) = mpsc::unbounded_channel();
        let sql = sql.to_owned();
        let task = tokio::spawn(async move {
            client
                .stream_rows(&sql, rows_expected, started_sender, row_sender)
                .await;
        });
        let started = tokio::time::timeout(WAIT_MAX, started)
            .await
            .expect("push query starts within WAIT_MAX")
            .expect("push task reports its start");
        match started {
            Ok(columns) => {
                self.transcript.push_str(&format!(
                    "PUSH {} (awaiting {rows_expected} rows)\n",
                    columns.join(" | ")
                ));
                self.pending_push = Some(PendingPush {
                    rows_expected,
                    rows,
                    received: Vec::new(),
                    error: None,
                    task,
                });
            }
            Err(error) => {
                self.transcript.push_str(&error);
                self.transcript.push('\n');
                self.push_failed = true;
            }
        }
    }

    async fn await_push(&mut self) {
        if std::mem::take(&mut self.push_failed) {
            return;
        }
        let mut push = self
            .pending_push
            .take()
            .expect("`-- @await-push` needs a `-- @push` before it");
        push.receive(push.rows_expected).await;
        push.task.abort();
        if let Some(error) = push.error {
            self.transcript.push_str(&error);
            self.transcript.push('\n');
        }
        let mut rows = push.received;
        rows.sort();
        for row in rows {
            self.transcript.push_str("+ ");
            self.transcript.push_str(&render_cells(&row).join(" | "));
            self.transcript.push('\n');
        }
    }

    async fn wait_rows(&mut self, stream: &str, done: impl Fn(u64) -> bool, expected: &str) {
        let sql = format!("SELECT COUNT(*) FROM {stream}");
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        loop {
            let replies = self.client().simple_query(&sql).await;
            let count = match replies.as_slice() {
                [Reply::Rows { rows, .. }] => rows
                    .first()
                    .and_then(|row| row.first().cloned().flatten())
                    .and_then(|count| count.parse::<u64>().ok()),
                _ => None,
            };
            let Some(count) = count else {
                panic!("`{sql}` did not return a count: {replies:?}");
            };
            if done(count) {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{stream} holds {count} rows, not {expected}, after {WAIT_MAX:?}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

impl Runner {
    /// `-- @each-kind`: the pull query's answer, checked against a push and a persistent
    /// query's.
    async fn each_kind(&mut self, sql: &str) {
        let query = sql.trim_end().trim_end_matches(';').trim_end();
        let replies = self.client().simple_query(sql).await;
        let [Reply::Rows { columns, rows }] = replies.as_slice() else {
            for reply in replies {
                reply.render(false, &mut self.transcript);
            }
            return;
        };
        let (columns, mut pulled) = (columns.clone(), rows.clone());
        pulled.sort();
        render_table(&columns, &pulled, &mut self.transcript);

        let grouped = has_clause(sql, "GROUP", "BY");
        if !pulled.is_empty() && !grouped {
            let mut pushed = self
                .push_rows(&format!("{query} EMIT CHANGES LIMIT {}", pulled.len()))
                .await;
            pushed.sort();
            assert_eq!(pushed, pulled, "a push query answers `{query}` differently");
        }

        self.each_kind_runs += 1;
        let sink = format!("each_kind_{}", self.each_kind_runs);
        let kind = if grouped { "TABLE" } else { "STREAM" };
        let created = self
            .client()
            .simple_query(&format!("CREATE {kind} {sink} AS {query}"))
            .await;
        let query_id = match created.as_slice() {
            [Reply::Notice(notice), Reply::Command(_)] => notice
                .strip_prefix("Created query with ID ")
                .map(str::to_owned),
            _ => None,
        }
        .unwrap_or_else(|| panic!("`{query}` does not run as a persistent query: {created:?}"));
        self.settle().await;
        let mut persisted = self.rows_of(&format!("SELECT * FROM {sink}")).await;
        persisted.sort();
        assert_eq!(
            persisted, pulled,
            "a persistent query answers `{query}` differently"
        );
        let set_aside = self
            .rows_of(&format!(
                "SELECT message FROM eddy_processing_log WHERE query_id = '{query_id}'"
            ))
            .await;
        assert!(
            set_aside.is_empty(),
            "a persistent query running `{query}` set rows aside: {set_aside:?}"
        );
        for cleanup in [
            format!("TERMINATE {query_id}"),
            format!("DROP {kind} {sink}"),
        ] {
            let replies = self.client().simple_query(&cleanup).await;
            assert!(
                matches!(replies.as_slice(), [Reply::Command(_)]),
                "`{cleanup}` failed: {replies:?}"
            );
        }
    }

    /// The rows of a query that must succeed.
    async fn rows_of(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let replies = self.client().simple_query(sql).await;
        match <[Reply; 1]>::try_from(replies) {
            Ok([Reply::Rows { rows, .. }]) => rows,
            other => panic!("`{sql}` failed: {other:?}"),
        }
    }

    /// The rows of a push query that must deliver as many as its LIMIT asks, read from the
    /// earliest offset on a connection of its own.
    async fn push_rows(&mut self, sql: &str) -> Vec<Vec<Option<String>>> {
        let mut client = WireClient::connect(self.address()).await;
        let set = client
            .simple_query("SET 'auto.offset.reset' = 'earliest'")
            .await;
        assert!(matches!(set.as_slice(), [Reply::Command(_)]), "{set:?}");
        let replies = tokio::time::timeout(WAIT_MAX, client.simple_query(sql))
            .await
            .unwrap_or_else(|_| panic!("`{sql}` did not deliver its rows within {WAIT_MAX:?}"));
        client.terminate().await;
        match <[Reply; 1]>::try_from(replies) {
            Ok([Reply::Rows { rows, .. }]) => rows,
            other => panic!("`{sql}` failed: {other:?}"),
        }
    }

    /// Waits until every running query's lag is 0 in two polls in a row (a query into a
    /// table that another query reads produces that query's input as it catches up).
    async fn settle(&mut self) {
        let deadline = tokio::time::Instant::now() + WAIT_MAX;
        let mut settled_polls = 0;
        loop {
            let replies = self.client().simple_query("SHOW QUERIES").await;
            let [Reply::Rows { columns, rows }] = replies.as_slice() else {
                panic!("SHOW QUERIES failed: {replies:?}");
            };
            let lag = columns
                .iter()
                .position(|column| column == "lag")
                .expect("SHOW QUERIES has a lag column");
            let behind = rows.iter().any(|row| {
                row[lag]
                    .as_deref()
                    .is_some_and(|lag| lag.parse::<u64>().map_or(true, |lag| lag > 0))
            });
            settled_polls = if behind { 0 } else { settled_polls + 1 };
            if settled_polls == 2 {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "queries still behind after {WAIT_MAX:?}: {rows:?}"
            );
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// True when the statement defines its rows' order: ORDER BY, and Eddy's own listings
/// (SHOW, LIST, DESCRIBE) and plans (EXPLAIN), whose order is part of their output.
fn has_order_by(sql: &str) -> bool {
    let listing = matches!(
        words_of(sql).first().map(String::as_str),
        Some("SHOW" | "LIST" | "DESCRIBE" | "EXPLAIN")
    );
    listing || has_clause(sql, "ORDER", "BY")
}

/// True when the statement has the two words in a row (`GROUP BY`), in any case.
fn has_clause(sql: &str, first: &str, second: &str) -> bool {
    words_of(sql)
        .windows(2)
        .any(|pair| pair[0] == first && pair[1] == second)
}

/// The statement's words in upper case, comment lines left out.
fn words_of(sql: &str) -> Vec<String> {
    sql.lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .flat_map(str::split_whitespace)
        .map(str::to_ascii_uppercase)
        .collect()
}

fn render_cells(row: &[Option<String>]) -> Vec<String> {
    row.iter()
        .map(|cell| cell.clone().unwrap_or_else(|| "NULL".to_owned()))
        .collect()
}

/// What the server answered for one statement.
#[derive(Debug)]
enum Reply {
    /// A result set; its `SELECT n` tag is left out, as `(n rows)` says the same.
    Rows {
        columns: Vec<String>,
        rows: Vec<Vec<Option<String>>>,
    },
    Copy {
        lines: Vec<String>,
        tag: String,
    },
    Command(String),
    Notice(String),
    Error {
        code: String,
        message: String,
    },
    Empty,
}

impl Reply {
    fn render(self, ordered: bool, out: &mut String) {
        match self {
            Reply::Rows { columns, mut rows } => {
                // A throughput depends on timing: the transcript shows whether there is one.
                if let Some(rate) = columns.iter().position(|name| name == "rows_per_second") {
                    for row in &mut rows {
                        if row[rate].is_some() {
                            row[rate] = Some("~".to_string());
                        }
                    }
                }
                if !ordered {
                    rows.sort();
                }
                render_table(&columns, &rows, out);
            }
            Reply::Copy { lines, tag } => {
                for line in lines {
                    out.push_str(&line);
                }
                out.push_str(&format!("OK {tag}\n"));
            }
            Reply::Command(tag) => out.push_str(&format!("OK {tag}\n")),
            Reply::Notice(message) => out.push_str(&format!("NOTICE: {message}\n")),
            Reply::Error { code, message } => out.push_str(&format!("ERROR {code}: {message}\n")),
            Reply::Empty => out.push_str("OK (empty query)\n"),
        }
    }
}

/// Columns aligned as psql aligns them (left), then the row count.
fn render_table(columns: &[String], rows: &[Vec<Option<String>>], out: &mut String) {
    let cells: Vec<Vec<String>> = rows.iter().map(|row| render_cells(row)).collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(index, name)| {
            cells
                .iter()
                .filter_map(|row| row.get(index))
                .map(|cell| cell.chars().count())
                .chain([name.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |values: &[String]| -> String {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(value, width)| format!("{value:<width$}"))
            .collect();
        format!("{}\n", padded.join(" | ").trim_end())
    };
    out.push_str(&line(columns));
    let rule: Vec<String> = widths.iter().map(|width| "-".repeat(*width)).collect();
    out.push_str(&format!("{}\n", rule.join("-+-")));
    for row in &cells {
        out.push_str(&line(row));
    }
    let count = rows.len();
    out.push_str(&format!(
        "({count} row{})\n",
        if count == 1 { "" } else { "s" }
    ));
}

/// A minimal Postgres client: startup, simple queries, COPY out, terminate.
struct WireClient {
    socket: TcpStream,
}

impl WireClient {
    async fn connect(address: SocketAddr) -> WireClient {
        let socket = TcpStream::connect(address).await.expect("server accepts");
        let mut client = WireClient { socket };
        let mut startup = Vec::new();
        startup.extend_from_slice(&196_608i32.to_be_bytes()); // protocol 3.0
        for text in ["user", "eddy", "database", "eddy", ""] {
            startup.extend_from_slice(text.as_bytes());
            startup.push(0);
        }
        let length = i32::try_from(startup.len() + 4).expect("small startup message");
        let mut message = length.to_be_bytes().to_vec();
        message.extend_from_slice(&startup);
        client.write(&message).await;
        loop {
            let (kind, body) = client.read_message().await;
            match kind {
                b'R' => assert_eq!(
                    body,
                    [0, 0, 0, 0],
                    "trust authentication (AuthenticationOk)"
                ),
                b'Z' => return client,
                b'E' => panic!("startup failed: {:?}", error_fields(&body)),
                _ => {}
            }
        }
    }

    async fn write(&mut self, bytes: &[u8]) {
        self.socket.write_all(bytes).await.expect("write to server");
    }

    async fn read_message(&mut self) -> (u8, Vec<u8>) {
        let socket = &mut self.socket;
        let kind = socket.read_u8().await.expect("message type from server");
        let length = socket.read_i32().await.expect("message length from server");
        let body_length = usize::try_from(length - 4).expect("valid message length");
        let mut body = vec![0; body_length];
        socket
            .read_exact(&mut body)
            .await
            .expect("message body from server");
        (kind, body)
    }

    async fn send_query(&mut self, sql: &str) {
        let length = i32::try_from(sql.len() + 5).expect("query fits a message");
        let mut message = vec![b'Q'];
        message.extend_from_slice(&length.to_be_bytes());
        message.extend_from_slice(sql.as_bytes());
        message.push(0);
        self.write(&message).await;
    }

    /// Sends `sql` and reads every reply up to ReadyForQuery.
    async fn simple_query(&mut self, sql: &str) -> Vec<Reply> {
        self.send_query(sql).await;
        let mut replies = Vec::new();
        let mut columns = None;
        let mut rows = Vec::new();
        let mut copy_lines = None;
        loop {
            let (kind, body) = self.read_message().await;
            match kind {
                b'T' => columns = Some(row_description(&body)),
                b'D' => rows.push(data_row(&body)),
                b'H' => copy_lines = Some(Vec::new()),
                b'd' => copy_lines
                    .get_or_insert_with(Vec::new)
                    .push(String::from_utf8_lossy(&body).into_owned()),
                b'C' => {
                    let tag = cstring(&body);
                    replies.push(match (columns.take(), copy_lines.take()) {
                        (Some(columns), _) => Reply::Rows {
                            columns,
                            rows: std::mem::take(&mut rows),
                        },
                        (None, Some(lines)) => Reply::Copy { lines, tag },
                        (None, None) => Reply::Command(tag),
                    });
                }
                b'E' => {
                    let (code, message) = error_fields(&body);
                    replies.push(Reply::Error { code, message });
                }
                b'N' => replies.push(Reply::Notice(error_fields(&body).1)),
                b'I' => replies.push(Reply::Empty),
                b'Z' => return replies,
                _ => {}
            }
        }
    }

    /// Runs a push query: reports its columns (or error) on `started`, then each row on
    /// `rows` until `rows_expected` arrived; dropping the connection then ends the query.
    async fn stream_rows(
        mut self,
        sql: &str,
        rows_expected: usize,
        started: oneshot::Sender<Result<Vec<String>, String>>,
        rows: mpsc::UnboundedSender<Result<Vec<Option<String>>, String>>,
    ) {
        self.send_query(sql).await;
        let mut started = Some(started);
        let mut received = 0;
        while received < rows_expected {
            let (kind, body) = self.read_message().await;
            match kind {
                b'T' => {
                    if let Some(started) = started.take() {
                        let _receiver_waits = started.send(Ok(row_description(&body)));
                    }
                }
                b'D' => {
                    received += 1;
                    if rows.send(Ok(data_row(&body))).is_err() {
                        return;
                    }
                }
                b'E' => {
                    let (code, message) = error_fields(&body);
                    let error = format!("ERROR {code}: {message}");
                    match started.take() {
                        Some(started) => {
                            let _receiver_waits = started.send(Err(error));
                        }
                        None => {
                            let _receiver_waits = rows.send(Err(error));
                        }
                    }
                    return;
                }
                b'Z' => return,
                _ => {}
            }
        }
    }

    async fn terminate(mut self) {
        self.write(&[b'X', 0, 0, 0, 4]).await;
    }
}

fn cstring(bytes: &[u8]) -> String {
    let end = bytes
        .iter()
        .position(|byte| *byte == 0)
        .unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

fn row_description(body: &[u8]) -> Vec<String> {
    let count = i16::from_be_bytes([body[0], body[1]]);
    let mut rest = &body[2..];
    let mut columns = Vec::new();
    for _ in 0..count {
        let name = cstring(rest);
        // The name's NUL, then table OID, column, type OID, size, modifier, format.
        rest = &rest[name.len() + 1 + 18..];
        columns.push(name);
    }
    columns
}

fn data_row(body: &[u8]) -> Vec<Option<String>> {
    let count = i16::from_be_bytes([body[0], body[1]]);
    let mut rest = &body[2..];
    let mut cells = Vec::new();
    for _ in 0..count {
        let length = i32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]);
        rest = &rest[4..];
        match usize::try_from(length) {
            Ok(length) => {
                cells.push(Some(String::from_utf8_lossy(&rest[..length]).into_owned()));
                rest = &rest[length..];
            }
            Err(_) => cells.push(None),
        }
    }
    cells
}

/// SQLSTATE and message of an ErrorResponse or NoticeResponse.
fn error_fields(body: &[u8]) -> (String, String) {
    let mut code = String::new();
    let mut message = String::new();
    let mut rest = body;
    while let Some((&field, tail)) = rest.split_first() {
        if field == 0 {
            break;
        }
        let value = cstring(tail);
        rest = &tail[value.len() + 1..];
        match field {
            b'C' => code = value,
            b'M' => message = value,
            _ => {}
        }
    }
    (code, message)
}
