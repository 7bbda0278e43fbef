//! One connection to the server and the running of commands on it: statements go out one at
//! a time over the simple query protocol, their rows are printed as they come (a push
//! query's live, anything else as a whole table), the server's notices after them, and an
//! interrupt cancels the running statement through Postgres' cancel request (tokio-postgres'
//! `CancelToken`), as psql does.
//!
//! Never: end the shell on a statement's error (the caller decides), or keep a cancelled
//! statement's rows from the terminal.

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use eddy_parser::{Statement, parse_sql};
use futures::StreamExt;
use tokio::sync::mpsc;
use tokio_postgres::error::SqlState;
use tokio_postgres::{AsyncMessage, Client, NoTls, SimpleColumn, SimpleQueryMessage};

use crate::shell::input::{Command, commands};
use crate::shell::render::{LiveTable, NULL_TEXT, row_count, rows_affected, whole_table};

/// `RUN SCRIPT` inside scripts nests at most this deep, so a script that runs itself fails
/// instead of recursing for ever.
const SCRIPT_DEPTH_MAX: usize = 16;
/// The most rows read at once without waiting: the first such batch of a push query sets its
/// column widths.
const READY_ROWS_MAX: usize = 256;

#[derive(Debug, thiserror::Error)]
pub(crate) enum StatementError {
    #[error("{}", database_error_text(.0))]
    Database(#[from] tokio_postgres::Error),
    #[error("Query terminated")]
    Cancelled,
    #[error("cannot write the results: {0}")]
    Output(#[from] std::io::Error),
    #[error("cannot read {}: {source}", .path.display())]
    Script {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("RUN SCRIPT is nested more than {SCRIPT_DEPTH_MAX} deep")]
    ScriptDepth,
    #[error("{0}")]
    Invalid(String),
}

/// `ERROR 42601: syntax error at or near "SELEC"`, with the server's detail and hint.
fn database_error_text(error: &tokio_postgres::Error) -> String {
    let Some(database) = error.as_db_error() else {
        return format!("ERROR: {error}");
    };
    let mut text = format!(
        "{} {}: {}",
        database.severity(),
        database.code().code(),
        database.message()
    );
    if let Some(detail) = database.detail() {
        text.push_str(&format!("\nDETAIL: {detail}"));
    }
    if let Some(hint) = database.hint() {
        text.push_str(&format!("\nHINT: {hint}"));
    }
    text
}

/// What the shell does after a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flow {
    Continue,
    Exit,
}

pub(crate) struct Session {
    client: Client,
    notices: mpsc::UnboundedReceiver<String>,
    /// Whether a person watches: then a push query says how to stop it.
    interactive: bool,
}

impl Session {
    /// Connects, and keeps the connection running in a task that passes the server's notices on.
    pub(crate) async fn connect(
        config: &tokio_postgres::Config,
        interactive: bool,
    ) -> Result<Session, tokio_postgres::Error> {
        let (client, mut connection) = config.connect(NoTls).await?;
        let (notice_sender, notices) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut messages = futures::stream::poll_fn(|context| connection.poll_message(context));
            // An error ends the connection; the client's next statement reports it.
            while let Some(Ok(message)) = messages.next().await {
                if let AsyncMessage::Notice(notice) = message
                    && notice_sender
                        .send(format!("{}: {}", notice.severity(), notice.message()))
                        .is_err()
                {
                    return;
                }
            }
        });
        Ok(Session {
            client,
            notices,
            interactive,
        })
    }

    /// Whether the server has gone: no later statement can run.
    pub(crate) fn is_closed(&self) -> bool {
        self.client.is_closed()
    }

    /// Runs the commands of `text` in order, each statement's output written to `out`; the
    /// first error stops the rest and is returned. `interrupt` makes a future that completes
    /// when the user asks to cancel (Ctrl-C); one is made for each statement.
    pub(crate) async fn run_text<W, I, F>(
        &mut self,
        text: &str,
        out: &mut W,
        interrupt: &I,
    ) -> Result<Flow, StatementError>
    where
        W: Write + Send,
        I: Fn() -> F + Sync,
        F: Future<Output = ()> + Send,
    {
        self.run_nested(text, out, interrupt, 0).await
    }

    async fn run_nested<W, I, F>(
        &mut self,
        text: &str,
        out: &mut W,
        interrupt: &I,
        depth: usize,
    ) -> Result<Flow, StatementError>
    where
        W: Write + Send,
        I: Fn() -> F + Sync,
        F: Future<Output = ()> + Send,
    {
        for command in commands(text) {
            let flow = match command {
                Command::Sql(sql) => {
                    let ran = self.run_statement(&sql, out, interrupt()).await;
                    self.write_notices(out)?;
                    ran.map(|()| Flow::Continue)?
                }
                Command::RunScript(path) => {
                    if depth >= SCRIPT_DEPTH_MAX {
                        return Err(StatementError::ScriptDepth);
                    }
                    let script = tokio::fs::read_to_string(&path)
                        .await
                        .map_err(|source| StatementError::Script { path, source })?;
                    Box::pin(self.run_nested(&script, out, interrupt, depth + 1)).await?
                }
                Command::Exit => Flow::Exit,
                Command::Invalid(message) => return Err(StatementError::Invalid(message)),
            };
            if flow == Flow::Exit {
                return Ok(Flow::Exit);
            }
        }
        Ok(Flow::Continue)
    }

    /// Runs one statement and prints its result. If `interrupt` completes first, the server
    /// is asked to cancel it; rows that arrive before the cancel takes effect are printed.
    pub(crate) async fn run_statement<W: Write + Send>(
        &self,
        sql: &str,
        out: &mut W,
        interrupt: impl Future<Output = ()> + Send,
    ) -> Result<(), StatementError> {
        let live = is_push_query(sql);
        if live && self.interactive {
            writeln!(out, "Press Ctrl-C to interrupt")?;
            out.flush()?;
        }
        let cancel_token = self.client.cancel_token();
        let printed = print_results(&self.client, sql, live, self.interactive, out);
        tokio::pin!(printed);
        tokio::pin!(interrupt);
        tokio::select! {
            printed_result = &mut printed => printed_result,
            () = &mut interrupt => {
                cancel_token.cancel_query(NoTls).await?;
                printed.await
            }
        }
    }

    /// Prints the notices the server sent with the last statement.
    fn write_notices<W: Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        while let Ok(notice) = self.notices.try_recv() {
            writeln!(out, "{notice}")?;
        }
        out.flush()
    }

    /// The names of the streams and tables, for completion.
    pub(crate) async fn source_names(&self) -> Result<Vec<String>, tokio_postgres::Error> {
        let mut names = Vec::new();
        for listing in ["SHOW STREAMS", "SHOW TABLES"] {
            for message in self.client.simple_query(listing).await? {
                if let SimpleQueryMessage::Row(row) = message
                    && let Some(name) = row.get(0)
                {
                    names.push(name.to_string());
                }
            }
        }
        Ok(names)
    }
}

/// A push query (`EMIT CHANGES` or `EMIT FINAL`) runs until its LIMIT or until cancelled,
/// so its rows are printed as they come. Text that does not parse here is not one.
fn is_push_query(sql: &str) -> bool {
    parse_sql(sql).is_ok_and(|statements| {
        statements.iter().any(|parsed| {
            matches!(&parsed.statement, Statement::Select(select) if select.emit.is_some())
        })
    })
}

/// Sends `sql` and prints what comes back: rows live (`live`) or as one table at the end,
/// then the row count. A live table is closed on an error too, so the terminal stays tidy.
async fn print_results<W: Write>(
    client: &Client,
    sql: &str,
    live: bool,
    on_terminal: bool,
    out: &mut W,
) -> Result<(), StatementError> {
    let messages = client.simple_query_raw(sql).await?;
    let mut batches = Box::pin(messages.ready_chunks(READY_ROWS_MAX));
    let mut result = ResultPrinter::new(live);
    while let Some(batch) = batches.next().await {
        let mut rows = Vec::new();
        for message in batch {
            let message = match message {
                Ok(message) => message,
                Err(error) => {
                    let cancelled = error.code() == Some(&SqlState::QUERY_CANCELED);
                    result.rows(out, std::mem::take(&mut rows))?;
                    // A terminal echoed Ctrl-C as `^C` after the last row; start below it.
                    if cancelled && on_terminal {
                        writeln!(out)?;
                    }
                    result.close(out)?;
                    return Err(match cancelled {
                        true => StatementError::Cancelled,
                        false => StatementError::Database(error),
                    });
                }
            };
            match message {
                SimpleQueryMessage::Row(row) => rows.push(
                    (0..row.len())
                        .map(|index| row.get(index).unwrap_or(NULL_TEXT).to_string())
                        .collect(),
                ),
                SimpleQueryMessage::RowDescription(columns) => {
                    result.rows(out, std::mem::take(&mut rows))?;
                    result.columns(&columns);
                }
                SimpleQueryMessage::CommandComplete(count) => {
                    result.rows(out, std::mem::take(&mut rows))?;
                    result.complete(out, count)?;
                }
                _ => {}
            }
        }
        result.rows(out, rows)?;
        out.flush()?;
    }
    Ok(())
}

/// The printing of one statement's result.
struct ResultPrinter {
    live: bool,
    columns: Option<Vec<String>>,
    /// A whole table's rows until its statement completes.
    rows: Vec<Vec<String>>,
    live_table: Option<LiveTable>,
}

impl ResultPrinter {
    fn new(live: bool) -> Self {
        ResultPrinter {
            live,
            columns: None,
            rows: Vec::new(),
            live_table: None,
        }
    }

    fn columns(&mut self, columns: &Arc<[SimpleColumn]>) {
        self.columns = Some(
            columns
                .iter()
                .map(|column| column.name().to_string())
                .collect(),
        );
    }

    /// Rows that arrived together: a live table prints them now (the first ones also set its
    /// widths), a whole table keeps them.
    fn rows<W: Write>(&mut self, out: &mut W, rows: Vec<Vec<String>>) -> std::io::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if !self.live {
            self.rows.extend(rows);
            return Ok(());
        }
        if self.live_table.is_none() {
            let columns = self.columns.as_deref().unwrap_or_default();
            let (table, header) = LiveTable::start(columns, &rows);
            writeln!(out, "{header}")?;
            self.live_table = Some(table);
        }
        if let Some(table) = &self.live_table {
            for row in &rows {
                writeln!(out, "{}", table.row(row))?;
            }
        }
        Ok(())
    }

    /// The statement is done: the table (or its closing line) and the count. A statement
    /// without columns prints only how many rows it changed, if any.
    fn complete<W: Write>(&mut self, out: &mut W, count: u64) -> std::io::Result<()> {
        let Some(columns) = self.columns.take() else {
            if count > 0 {
                writeln!(out, "{}", rows_affected(count))?;
            }
            return Ok(());
        };
        match self.live_table.take() {
            Some(table) => writeln!(out, "{}", table.closing_line())?,
            None => writeln!(
                out,
                "{}",
                whole_table(&columns, &std::mem::take(&mut self.rows))
            )?,
        }
        writeln!(out, "{}", row_count(count))
    }

    /// Ends a live table cut short by an error.
    fn close<W: Write>(&mut self, out: &mut W) -> std::io::Result<()> {
        if let Some(table) = self.live_table.take() {
            writeln!(out, "{}", table.closing_line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_queries_are_told_from_pull_queries_and_commands() {
        assert!(is_push_query("SELECT * FROM clicks EMIT CHANGES LIMIT 3"));
        assert!(is_push_query(
            "SELECT user_id, COUNT(*) FROM clicks WINDOW TUMBLING (SIZE 1 MINUTE) \
             GROUP BY user_id EMIT FINAL"
        ));
        assert!(!is_push_query("SELECT * FROM users WHERE id = 1"));
        assert!(!is_push_query("SHOW STREAMS"));
        assert!(!is_push_query("SELEC nonsense EMIT CHANGES"));
    }
}
