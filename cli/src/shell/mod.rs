//! `eddy shell`: ksqlDB's CLI experience over the Postgres wire protocol. It connects like
//! psql (`-h`, `-p`, `-U`, `-d` and the `PG*` variables), then reads statements from a
//! terminal (line editing, history, completion, multi-line statements, Ctrl-C to cancel the
//! running query and Ctrl-D to quit), from `-f FILE`, or from piped stdin; scripts stop at
//! the first error with a non-zero exit status.
//!
//! Results go to stdout; errors, and the prompt's chatter, to stderr.
//!
//! Never: let Ctrl-C end the shell while a query runs, or exit zero after a failed statement
//! in a script.

mod complete;
mod input;
mod render;
mod session;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context;
use clap::{ArgAction, Args};
use rustyline::error::ReadlineError;
use rustyline::history::DefaultHistory;
use rustyline::{Config, Editor};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::shell::complete::ShellHelper;
use crate::shell::session::{Flow, Session, StatementError};

const PROMPT: &str = "eddy> ";
/// The history file when `EDDY_HISTORY` is not set, in the user's home directory.
const HISTORY_FILE_NAME: &str = ".eddy_history";
const HISTORY_ENTRIES_MAX: usize = 1_000;
/// The exit status after Ctrl-C ends a script, as a shell reports a process ended by SIGINT.
const EXIT_INTERRUPTED: u8 = 130;

/// Where the server is and who connects, as psql takes them: each flag falls back on its
/// `PG*` environment variable, then on `eddy serve`'s defaults. `PGPASSWORD` gives the
/// password.
#[derive(Debug, Args)]
#[command(disable_help_flag = true)]
pub(crate) struct ShellArgs {
    /// Server host [default: $PGHOST, else 127.0.0.1].
    #[arg(short = 'h', long, value_name = "HOST")]
    host: Option<String>,
    /// Server port [default: $PGPORT, else 5433].
    #[arg(short = 'p', long, value_name = "PORT")]
    port: Option<u16>,
    /// User to connect as [default: $PGUSER, else $USER, else eddy]; $PGPASSWORD gives the
    /// password.
    #[arg(short = 'U', long, value_name = "USER")]
    username: Option<String>,
    /// Database to connect to [default: $PGDATABASE, else eddy].
    #[arg(short = 'd', long, value_name = "DBNAME")]
    dbname: Option<String>,
    /// Run the statements of FILE, then exit; the first error stops it with exit status 1.
    #[arg(short = 'f', long, value_name = "FILE")]
    file: Option<PathBuf>,
    /// Print help (`-h` is the host, as in psql).
    #[arg(long, action = ArgAction::Help)]
    help: Option<bool>,
}

/// Connection settings from the flags, else the environment (`variable` reads it), else the
/// defaults.
fn connection_config(
    args: &ShellArgs,
    variable: impl Fn(&str) -> Option<String>,
) -> anyhow::Result<tokio_postgres::Config> {
    let host = args
        .host
        .clone()
        .or_else(|| variable("PGHOST"))
        .unwrap_or_else(|| "127.0.0.1".to_string());
    let port = match (args.port, variable("PGPORT")) {
        (Some(port), _) => port,
        (None, Some(port)) => port
            .trim()
            .parse()
            .with_context(|| format!("PGPORT={port:?} is not a port number"))?,
        (None, None) => 5433,
    };
    let user = args
        .username
        .clone()
        .or_else(|| variable("PGUSER"))
        .or_else(|| variable("USER"))
        .unwrap_or_else(|| "eddy".to_string());
    let dbname = args
        .dbname
        .clone()
        .or_else(|| variable("PGDATABASE"))
        .unwrap_or_else(|| "eddy".to_string());
    let mut config = tokio_postgres::Config::new();
    config
        .host(&host)
        .port(port)
        .user(&user)
        .dbname(&dbname)
        .application_name("eddy shell");
    if let Some(password) = variable("PGPASSWORD") {
        config.password(password);
    }
    Ok(config)
}

/// Runs the shell; the exit status says whether every statement succeeded.
pub(crate) async fn run(args: ShellArgs) -> anyhow::Result<ExitCode> {
    let config = connection_config(&args, |name| std::env::var(name).ok())?;
    let interactive = args.file.is_none() && std::io::stdin().is_terminal();
    let session = Session::connect(&config, interactive)
        .await
        .with_context(|| format!("cannot connect to {}", describe(&config)))?;
    match (&args.file, interactive) {
        (Some(file), _) => run_file(session, file).await,
        (None, true) => run_interactive(session, &config).await,
        (None, false) => run_piped(session).await,
    }
}

fn describe(config: &tokio_postgres::Config) -> String {
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        #[cfg(unix)]
        Some(tokio_postgres::config::Host::Unix(path)) => path.display().to_string(),
        None => String::new(),
    };
    let port = config.get_ports().first().copied().unwrap_or_default();
    format!("{host}:{port}")
}

/// Completes on Ctrl-C (SIGINT); never if the signal cannot be watched.
async fn interrupted() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The exit status after a script's failed statement, which is reported on stderr.
fn failed(error: &StatementError) -> ExitCode {
    eprintln!("{error}");
    match error {
        StatementError::Cancelled => ExitCode::from(EXIT_INTERRUPTED),
        _ => ExitCode::FAILURE,
    }
}

async fn run_file(mut session: Session, file: &Path) -> anyhow::Result<ExitCode> {
    let script = tokio::fs::read_to_string(file)
        .await
        .with_context(|| format!("cannot read {}", file.display()))?;
    let mut out = std::io::stdout();
    Ok(
        match session.run_text(&script, &mut out, &interrupted).await {
            Ok(_) => ExitCode::SUCCESS,
            Err(error) => failed(&error),
        },
    )
}

/// Statements from piped stdin, each run as soon as its `;` is read (so a producer can
/// interleave them with other work); the first error ends the shell.
async fn run_piped(mut session: Session) -> anyhow::Result<ExitCode> {
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut out = std::io::stdout();
    let mut pending = String::new();
    loop {
        let line = tokio::select! {
            line = lines.next_line() => line.context("cannot read stdin")?,
            () = interrupted() => return Ok(ExitCode::from(EXIT_INTERRUPTED)),
        };
        let at_end = line.is_none();
        if let Some(line) = line {
            pending.push_str(&line);
            pending.push('\n');
            if !input::is_complete(&pending) {
                continue;
            }
        }
        let text = std::mem::take(&mut pending);
        match session.run_text(&text, &mut out, &interrupted).await {
            Ok(Flow::Exit) => return Ok(ExitCode::SUCCESS),
            Ok(Flow::Continue) if at_end => return Ok(ExitCode::SUCCESS),
            Ok(Flow::Continue) => {}
            Err(error) => return Ok(failed(&error)),
        }
    }
}

/// The terminal: read a statement (rustyline, on a blocking section of this worker), run it,
/// report errors and go on.
async fn run_interactive(
    mut session: Session,
    config: &tokio_postgres::Config,
) -> anyhow::Result<ExitCode> {
    let sources = Arc::new(Mutex::new(Vec::new()));
    refresh_sources(&session, &sources).await;
    let editor_config = Config::builder()
        .auto_add_history(false)
        .max_history_size(HISTORY_ENTRIES_MAX)?
        .history_ignore_dups(true)?
        .build();
    let mut editor: Editor<ShellHelper, DefaultHistory> = Editor::with_config(editor_config)?;
    editor.set_helper(Some(ShellHelper::new(sources.clone())));
    let history = history_path(|name| std::env::var_os(name));
    if let Some(path) = &history {
        match editor.load_history(path) {
            Ok(()) => {}
            Err(ReadlineError::Io(error)) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => eprintln!("cannot read the history in {}: {error}", path.display()),
        }
    }
    eprintln!(
        "Connected to Eddy at {}. Statements end with ';'. Ctrl-C cancels a running query, \
         Ctrl-D quits.",
        describe(config)
    );
    let mut out = std::io::stdout();
    loop {
        let text = match tokio::task::block_in_place(|| editor.readline(PROMPT)) {
            Ok(text) => text,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(error) => return Err(error).context("cannot read the terminal"),
        };
        if text.trim().is_empty() {
            continue;
        }
        editor.add_history_entry(text.as_str())?;
        if let Some(path) = &history
            && let Err(error) = editor.append_history(path)
        {
            eprintln!("cannot write the history to {}: {error}", path.display());
        }
        match session.run_text(&text, &mut out, &interrupted).await {
            Ok(Flow::Exit) => break,
            Ok(Flow::Continue) => {}
            Err(error) => eprintln!("{error}"),
        }
        out.flush()?;
        if session.is_closed() {
            eprintln!("the server closed the connection");
            return Ok(ExitCode::FAILURE);
        }
        if changes_sources(&text) {
            refresh_sources(&session, &sources).await;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// `$EDDY_HISTORY`, else `~/.eddy_history`; none without a home directory.
fn history_path(variable: impl Fn(&str) -> Option<std::ffi::OsString>) -> Option<PathBuf> {
    if let Some(path) = variable("EDDY_HISTORY") {
        return Some(PathBuf::from(path));
    }
    variable("HOME").map(|home| Path::new(&home).join(HISTORY_FILE_NAME))
}

/// Whether `text` may have created or dropped a stream or table (or run a script that did),
/// so the names offered for completion are read again.
fn changes_sources(text: &str) -> bool {
    input::commands(text).iter().any(|command| match command {
        input::Command::Sql(sql) => {
            let first_word = sql.split_whitespace().next().unwrap_or_default();
            first_word.eq_ignore_ascii_case("create") || first_word.eq_ignore_ascii_case("drop")
        }
        input::Command::RunScript(_) => true,
        input::Command::Exit | input::Command::Invalid(_) => false,
    })
}

/// Reads the stream and table names for completion; completion keeps the old names if the
/// server cannot list them.
async fn refresh_sources(session: &Session, sources: &Mutex<Vec<String>>) {
    match session.source_names().await {
        Ok(names) => {
            *sources
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()) = names
        }
        Err(error) => eprintln!("cannot list streams and tables for completion: {error}"),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn args(flags: &[&str]) -> ShellArgs {
        use clap::Parser;
        #[derive(Debug, Parser)]
        struct Command {
            #[command(flatten)]
            shell: ShellArgs,
        }
        let mut argv = vec!["shell"];
        argv.extend(flags);
        Command::try_parse_from(argv).expect("flags parse").shell
    }

    fn environment(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn flags_win_over_pg_variables_which_win_over_defaults() {
        let variables = environment(&[
            ("PGHOST", "db.example"),
            ("PGPORT", "6000"),
            ("PGUSER", "ann"),
            ("PGDATABASE", "shop"),
            ("PGPASSWORD", "secret"),
            ("USER", "os_user"),
        ]);
        let from_variables =
            connection_config(&args(&[]), |name| variables.get(name).cloned()).expect("config");
        assert_eq!(describe(&from_variables), "db.example:6000");
        assert_eq!(from_variables.get_user(), Some("ann"));
        assert_eq!(from_variables.get_dbname(), Some("shop"));
        assert_eq!(from_variables.get_password(), Some(&b"secret"[..]));

        let from_flags = connection_config(
            &args(&["-h", "localhost", "-p", "5999", "-U", "bob", "-d", "eddy"]),
            |name| variables.get(name).cloned(),
        )
        .expect("config");
        assert_eq!(describe(&from_flags), "localhost:5999");
        assert_eq!(from_flags.get_user(), Some("bob"));
        assert_eq!(from_flags.get_dbname(), Some("eddy"));

        let defaults = connection_config(&args(&[]), |_| None).expect("config");
        assert_eq!(describe(&defaults), "127.0.0.1:5433");
        assert_eq!(defaults.get_user(), Some("eddy"));
        assert_eq!(defaults.get_password(), None);
    }

    #[test]
    fn a_bad_pgport_is_an_error() {
        let error = connection_config(&args(&[]), |name| {
            (name == "PGPORT").then(|| "fifty".to_string())
        })
        .expect_err("not a port");
        assert!(error.to_string().contains("PGPORT"), "{error}");
    }

    #[test]
    fn history_lives_in_eddy_history_or_the_home_directory() {
        let explicit = history_path(|name| (name == "EDDY_HISTORY").then(|| "/tmp/h".into()));
        assert_eq!(explicit, Some(PathBuf::from("/tmp/h")));
        let home = history_path(|name| (name == "HOME").then(|| "/home/ann".into()));
        assert_eq!(home, Some(PathBuf::from("/home/ann/.eddy_history")));
        assert_eq!(history_path(|_| None), None);
    }

    #[test]
    fn names_are_read_again_after_statements_that_create_or_drop() {
        assert!(changes_sources("CREATE STREAM s (id INT);"));
        assert!(changes_sources("SELECT 1; drop table t;"));
        assert!(changes_sources("RUN SCRIPT 'setup.sql';"));
        assert!(!changes_sources("SELECT * FROM s;"));
    }
}
