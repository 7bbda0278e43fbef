//! psql's describe commands against the real server: `\d`, `\d+`, `\dt`, `\dv`, `\dm`,
//! `\d NAME`, `\d+ NAME`, `\l`, `\dn`, `\df`, `\du`, each answered without an error, with Eddy's
//! streams, tables and query-made tables, and tab completion of relation names replayed with
//! the exact query psql sends for it.
//!
//! Never: assert on OIDs (they differ by data directory) or on time.

use std::process::Command;

use super::{Server, column, execute};

const SOURCES: &str = "
    CREATE STREAM clicks (user_id BIGINT KEY, url STRING, price DECIMAL(10, 2))
        WITH (PARTITIONS = 1);
    CREATE TABLE users (id BIGINT PRIMARY KEY, name STRING, tags ARRAY<STRING>);
    CREATE TABLE clicks_per_user AS
        SELECT user_id, COUNT(*) AS clicks FROM clicks GROUP BY user_id;";

/// psql running one backslash command; what it printed (a command that finds nothing says
/// so on stderr), after checking it printed no error.
fn psql(port: u16, command: &str) -> String {
    let output = Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(["-U", "eddy", "-d", "eddy", "-X", "-v", "ON_ERROR_STOP=1"])
        .args(["-P", "pager=off", "-c", command])
        .output()
        .expect("psql runs (install postgresql-client)");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("ERROR"),
        "{command}: {stderr}"
    );
    format!("{}{stderr}", String::from_utf8_lossy(&output.stdout))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn psqls_describe_commands_show_streams_tables_and_queries() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(&client, SOURCES).await;
    let port = server.port();
    for (name, command) in [
        ("d", "\\d"),
        ("d_plus", "\\d+"),
        ("dt", "\\dt"),
        ("dv", "\\dv"),
        ("dm", "\\dm"),
        ("d_users", "\\d users"),
        ("d_clicks", "\\d clicks"),
        ("d_plus_users", "\\d+ users"),
        ("d_plus_clicks_per_user", "\\d+ clicks_per_user"),
        ("l", "\\l"),
        ("dn", "\\dn"),
        ("df", "\\df"),
        ("du", "\\du"),
    ] {
        insta::assert_snapshot!(format!("psql_{name}"), psql(port, command), command);
    }
    server.stop();
}

/// What psql 15 sends when Tab is pressed after `SELECT * FROM cl`.
const TAB_COMPLETION: &str = "SELECT c.relname, NULL::pg_catalog.text FROM pg_catalog.pg_class c \
    WHERE c.relkind IN ('r', 'S', 'v', 'm', 'f', 'p') AND (c.relname) LIKE 'cl%' \
    AND pg_catalog.pg_table_is_visible(c.oid) AND c.relnamespace <> \
    (SELECT oid FROM pg_catalog.pg_namespace WHERE nspname = 'pg_catalog')
UNION ALL
SELECT NULL::pg_catalog.text, n.nspname FROM pg_catalog.pg_namespace n \
    WHERE n.nspname LIKE 'cl%' AND n.nspname NOT LIKE E'pg\\\\_%'
LIMIT 1000";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tab_completion_of_relation_names_lists_eddys_relations() {
    let data = tempfile::tempdir().unwrap();
    let server = Server::start(data.path(), &[]);
    let client = server.connect().await;
    execute(&client, SOURCES).await;
    assert_eq!(
        column(&client, TAB_COMPLETION).await,
        ["clicks", "clicks_per_user"]
    );
    execute(&client, "CREATE STREAM clocks (tick BIGINT)").await;
    assert_eq!(
        column(&client, TAB_COMPLETION).await,
        ["clicks", "clicks_per_user", "clocks"],
        "a new stream completes at once"
    );
    server.stop();
}
