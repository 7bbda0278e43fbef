//! `eddy shell` against a real server: a script from `-f` with `RUN SCRIPT` (a table's
//! changes marked by the push query's `op` column among its results), a server found
//! through `PGHOST`/`PGPORT`, statements piped on stdin that stop at the first error, a push
//! query whose rows are printed as they arrive, and Ctrl-C (SIGINT) cancelling a push query
//! that would run for ever.
//!
//! Never: assert on time. Each wait is for a line of output or an exit, bounded by
//! `WAIT_MAX` so that a hang fails.

use std::process::{ExitStatus, Stdio};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

use super::{Server, WAIT_MAX, execute};

const STREAM: &str = "CREATE STREAM pings (id BIGINT KEY, note VARCHAR) WITH (PARTITIONS = 1)";

/// `eddy shell` pointed at `server` through the `PG*` variables, with every pipe captured.
fn shell(server: &Server, args: &[&str], directory: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_eddy"))
        .arg("shell")
        .args(args)
        .current_dir(directory)
        .env("PGHOST", "127.0.0.1")
        .env("PGPORT", server.port().to_string())
        .env("PGUSER", "eddy")
        .env_remove("PGDATABASE")
        .env_remove("PGPASSWORD")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("eddy shell starts")
}

/// Waits for the shell to exit: its status, and what it wrote to stdout (unless the test took
/// that pipe) and stderr.
async fn finish(mut child: Child) -> (ExitStatus, String, String) {
    let stdout_pipe = child.stdout.take();
    let stderr_pipe = child.stderr.take();
    let (status, stdout, stderr) = tokio::time::timeout(WAIT_MAX, async {
        tokio::join!(child.wait(), read_all(stdout_pipe), read_all(stderr_pipe))
    })
    .await
    .expect("the shell exits within WAIT_MAX");
    (status.expect("exit status"), stdout, stderr)
}

async fn read_all(pipe: Option<impl AsyncRead + Unpin>) -> String {
    let mut text = String::new();
    if let Some(mut pipe) = pipe {
        pipe.read_to_string(&mut text)
            .await
            .expect("the pipe is readable");
    }
    text
}

/// Reads stdout up to and including the first line containing `needle`; returns the lines.
async fn read_until(lines: &mut Lines<BufReader<ChildStdout>>, needle: &str) -> Vec<String> {
    let mut seen = Vec::new();
    loop {
        let line = tokio::time::timeout(WAIT_MAX, lines.next_line())
            .await
            .unwrap_or_else(|_| panic!("no line with {needle:?} within WAIT_MAX: {seen:#?}"))
            .expect("stdout is readable")
            .unwrap_or_else(|| panic!("stdout ended before {needle:?}: {seen:#?}"));
        let found = line.contains(needle);
        seen.push(line);
        if found {
            return seen;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_script_runs_from_a_file_with_run_script() {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let scripts = tempfile::tempdir().expect("temporary script directory");
    let server = Server::start(data_dir.path(), &[]);
    std::fs::write(
        scripts.path().join("rows.sql"),
        "INSERT INTO pings (id, note) VALUES (1, 'hello, world');\n\
         INSERT INTO pings (id, note) VALUES (2, NULL);\n",
    )
    .expect("rows.sql is written");
    std::fs::write(
        scripts.path().join("main.sql"),
        format!(
            "-- A stream, its rows from another script, and queries over them.\n\
             {STREAM};\n\
             RUN SCRIPT 'rows.sql';\n\
             SELECT id,\n       note\n  FROM pings;\n\
             SET 'auto.offset.reset' = 'earliest';\n\
             SELECT id, note FROM pings EMIT CHANGES LIMIT 2;\n\
             CREATE STREAM loud AS SELECT id, UCASE(note) AS note FROM pings;\n\
             SELECT note FROM pings WHERE id = 3;\n\
             CREATE TABLE users (id BIGINT PRIMARY KEY, name VARCHAR) WITH (PARTITIONS = 1);\n\
             INSERT INTO users (id, name) VALUES (1, 'alice smith');\n\
             UPDATE users SET name = 'al' WHERE id = 1;\n\
             DELETE FROM users WHERE id = 1;\n\
             SELECT * FROM users EMIT CHANGES LIMIT 3;\n"
        ),
    )
    .expect("main.sql is written");

    let child = shell(&server, &["-f", "main.sql"], scripts.path());
    let (status, stdout, stderr) = finish(child).await;
    assert!(status.success(), "{status}\n{stdout}\n{stderr}");
    assert_eq!(stderr, "");
    insta::with_settings!({ snapshot_path => "../snapshots" }, {
        insta::assert_snapshot!("shell_script", stdout);
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_statements_stop_at_the_first_error() {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let server = Server::start(data_dir.path(), &[]);
    let mut child = shell(&server, &[], data_dir.path());
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(b"SELECT 1 AS one;\nSELEC 2;\nSELECT 3 AS three;\n")
        .await
        .expect("stdin takes the statements");
    drop(stdin);
    let (status, stdout, stderr) = finish(child).await;
    assert_eq!(status.code(), Some(1), "{stdout}\n{stderr}");
    assert_eq!(
        stdout, "+-----+\n| one |\n+-----+\n| 1   |\n+-----+\n(1 row)\n",
        "the statement after the error does not run"
    );
    assert_eq!(stderr, "ERROR 42601: syntax error at or near \"SELEC\"\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_query_prints_each_row_as_it_arrives() {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let server = Server::start(data_dir.path(), &[]);
    let client = server.connect().await;
    execute(&client, STREAM).await;
    execute(
        &client,
        "INSERT INTO pings (id, note) VALUES (1, 'the first row')",
    )
    .await;

    let mut child = shell(&server, &[], data_dir.path());
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(
            b"SET 'auto.offset.reset' = 'earliest';\n\
              SELECT id, note\n  FROM pings EMIT CHANGES LIMIT 2;\n",
        )
        .await
        .expect("stdin takes the statements");
    stdin.flush().await.expect("stdin flushes");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    // The second row is inserted only once the first is on screen: a shell that waited for
    // the query to end would never print it.
    let mut printed = read_until(&mut lines, "the first row").await;
    execute(&client, "INSERT INTO pings (id, note) VALUES (2, 'second')").await;
    printed.extend(read_until(&mut lines, "(2 rows)").await);
    drop(stdin);
    let (status, rest, stderr) = finish(child).await;
    assert!(status.success(), "{status}\n{stderr}");
    assert_eq!(rest, "");
    assert_eq!(
        printed.join("\n"),
        "+----+---------------+\n\
         | id | note          |\n\
         +----+---------------+\n\
         | 1  | the first row |\n\
         | 2  | second        |\n\
         +----+---------------+\n\
         (2 rows)"
    );
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_cancels_a_push_query_that_would_run_for_ever() {
    let data_dir = tempfile::tempdir().expect("temporary data directory");
    let server = Server::start(data_dir.path(), &[]);
    let client = server.connect().await;
    execute(&client, STREAM).await;
    execute(
        &client,
        "INSERT INTO pings (id, note) VALUES (1, 'waiting')",
    )
    .await;

    let mut child = shell(&server, &[], data_dir.path());
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin
        .write_all(
            b"SET 'auto.offset.reset' = 'earliest';\n\
              SELECT id, note FROM pings EMIT CHANGES;\n\
              SELECT 'not run' AS after;\n",
        )
        .await
        .expect("stdin takes the statements");
    stdin.flush().await.expect("stdin flushes");
    let mut lines = BufReader::new(child.stdout.take().expect("piped stdout")).lines();
    let mut printed = read_until(&mut lines, "waiting").await;
    let pid = child.id().expect("the shell runs").to_string();
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(interrupted.success());
    while let Some(line) = tokio::time::timeout(WAIT_MAX, lines.next_line())
        .await
        .expect("stdout ends within WAIT_MAX")
        .expect("stdout is readable")
    {
        printed.push(line);
    }
    let (status, _, stderr) = finish(child).await;
    assert_eq!(
        status.code(),
        Some(130),
        "a script ends on Ctrl-C: {stderr}"
    );
    assert_eq!(stderr, "Query terminated\n");
    assert_eq!(
        printed.join("\n"),
        "+----+---------+\n\
         | id | note    |\n\
         +----+---------+\n\
         | 1  | waiting |\n\
         +----+---------+",
        "the table is closed and nothing after it runs"
    );
    // The server ended the query and goes on serving.
    execute(&client, "INSERT INTO pings (id, note) VALUES (2, 'later')").await;
}

#[test]
fn help_names_the_psql_flags_and_variables() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_eddy"))
        .args(["shell", "--help"])
        .output()
        .expect("eddy runs");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    for flag in [
        "-h, --host",
        "-p, --port",
        "-U, --username",
        "-d, --dbname",
        "-f, --file",
        "PGHOST",
        "PGPORT",
        "PGUSER",
        "PGDATABASE",
        "PGPASSWORD",
    ] {
        assert!(
            help.contains(flag),
            "`eddy shell --help` mentions {flag}:\n{help}"
        );
    }
}
