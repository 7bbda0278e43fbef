//! The `eddy` binary: flags, runtime, logging and signals, wired to the library crates.
//!
//! `eddy serve` opens the data directory, accepts Postgres connections, and on Ctrl-C or
//! SIGTERM stops accepting, ends the open connections and shuts the engine down (running
//! queries finish their current epoch) before exiting. Logs go to stderr (`RUST_LOG`,
//! default `info`); stdout carries only the `eddy listening on <address>` line that
//! scripts and tests wait for. `eddy shell` is the interactive client (`shell/`).
//!
//! Security flags: `--user` (with `--password-file` or `EDDY_PASSWORD`) sets up a
//! superuser, after which every login needs a password; `--tls-cert`/`--tls-key` turn on
//! TLS; listening beyond this machine without any user is refused unless `--insecure`.
//!
//! Never: hold logic of its own beyond wiring, print anything else to stdout, or print or
//! log a password.

mod shell;

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand, ValueEnum};
use eddy_executor::{Durability, Engine, EngineConfig};
use eddy_server::Security;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};
use tracing_subscriber::EnvFilter;

/// Batches, group states and pgwire buffers are allocated and freed by the million from many
/// threads; mimalloc does that faster than glibc's malloc and gives freed memory back instead
/// of keeping it in per-thread arenas, which keeps resident memory near the `--memory` budget.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Eddy: a streaming SQL database. It speaks ksqlDB's SQL over the Postgres wire protocol,
/// so psql and any Postgres driver can connect.
///
/// Security: while no user exists, clients on this machine are let in without a password,
/// and `serve` refuses to listen on another address unless `--insecure`. Give `--user`
/// (with `--password-file` or EDDY_PASSWORD) to create a superuser; from then on every
/// login needs a password (SCRAM-SHA-256). Add users with `CREATE USER name WITH PASSWORD
/// '...'` and privileges with `GRANT SELECT|INSERT ON name TO user` and `GRANT CREATE ON
/// DATABASE eddy TO user`. `--tls-cert` and `--tls-key` encrypt connections (psql
/// `sslmode=require` or `verify-full`).
#[derive(Debug, Parser)]
#[command(name = "eddy", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: open the data directory and accept Postgres connections.
    Serve(ServeArgs),
    /// Connect to a server and run statements: interactively with history, completion and
    /// push queries' rows printed live, or from a file (-f) or piped stdin.
    Shell(shell::ShellArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Directory holding Eddy's logs and state; created if it does not exist.
    #[arg(long, value_name = "DIR", default_value = "./eddy-data")]
    data_dir: PathBuf,
    /// Address to accept Postgres connections on (host:port); port 0 picks a free port,
    /// and the line printed on stdout shows the real one.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5433")]
    listen: String,
    /// When a write is acknowledged: `fsync` once it is on disk, so no acknowledged write
    /// is ever lost; `os` once the operating system has it, for lower latency at the risk
    /// of losing the last moments of writes on power loss.
    #[arg(long, value_enum, value_name = "MODE", default_value_t = DurabilityArg::Fsync)]
    durability: DurabilityArg,
    /// Memory for state (tables, aggregates): the state store's block cache and write
    /// buffers, and the persistent queries' caches. State beyond it stays on disk and is read
    /// back on demand. A size in bytes, or with KiB, MiB, GiB (or KB, MB, GB).
    #[arg(long, value_name = "SIZE", default_value = "256MiB", value_parser = parse_size)]
    memory: u64,
    /// A superuser to create at startup (or whose password to reset, if it exists), with
    /// the password in `--password-file` or the EDDY_PASSWORD environment variable. Once a
    /// user exists, every login needs a password (SCRAM-SHA-256); users are kept in the
    /// data directory, so later starts need no flag.
    #[arg(long, value_name = "NAME")]
    user: Option<String>,
    /// File holding `--user`'s password (one line; a trailing newline is dropped).
    #[arg(long, value_name = "FILE", requires = "user")]
    password_file: Option<PathBuf>,
    /// TLS certificate chain (PEM) for encrypted connections; needs `--tls-key`. Clients
    /// that ask for TLS (psql `sslmode=require`, `verify-full`) get it; others stay plain.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key (PEM, PKCS#8, PKCS#1 or SEC1) of `--tls-cert`.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Listen on an address other than loopback even though no user exists, letting every
    /// client in without a password. Without it, eddy refuses to start so.
    #[arg(long)]
    insecure: bool,
}

/// Where `--user`'s password comes from: `--password-file`, else EDDY_PASSWORD.
const PASSWORD_VARIABLE: &str = "EDDY_PASSWORD";

/// `256MiB`, `1GiB`, `512MB`, `1048576`: a size in bytes.
fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let digits = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(digits);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a size such as 256MiB"))?;
    let multiplier: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => return Err(format!("unknown size unit {other:?}: use KiB, MiB or GiB")),
    };
    number
        .checked_mul(multiplier)
        .filter(|bytes| *bytes >= 16 << 20)
        .ok_or_else(|| format!("{text:?}: give at least 16MiB"))
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum DurabilityArg {
    Fsync,
    Os,
}

impl From<DurabilityArg> for Durability {
    fn from(durability: DurabilityArg) -> Self {
        match durability {
            DurabilityArg::Fsync => Durability::Fsync,
            DurabilityArg::Os => Durability::Os,
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<ExitCode> {
    let cli = Cli::parse();
    init_tracing();
    match cli.command {
        Command::Serve(args) => {
            disable_transparent_huge_pages();
            serve(args).await.map(|()| ExitCode::SUCCESS)
        }
        Command::Shell(args) => shell::run(args).await,
    }
}

/// Turns transparent huge pages off for this process, as Redis, MongoDB and most databases
/// advise. Eddy allocates and frees batches of megabytes all the time, so the allocator keeps
/// touching fresh memory: with huge pages, each first touch makes the kernel clear 2 MiB at
/// once, and `khugepaged` merges pages behind the process's back. Measured on the Nexmark
/// bench (docs/benchmarks.md), a point lookup under load then waits less for a core.
#[cfg(target_os = "linux")]
fn disable_transparent_huge_pages() {
    // SAFETY: PR_SET_THP_DISABLE takes integers only; it sets a flag of this process.
    if unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) } != 0 {
        warn!(
            error = %std::io::Error::last_os_error(),
            "transparent huge pages stay on for this process"
        );
    }
}

#[cfg(not(target_os = "linux"))]
fn disable_transparent_huge_pages() {}

fn init_tracing() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colors only on a terminal: log files and CI output stay plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let mut config = EngineConfig::new(&args.data_dir);
    config.durability = args.durability.into();
    config.memory_budget_bytes = args.memory;
    let security = security(&args)?;
    let password = first_user_password(&args)?;
    let engine = Engine::open(config)
        .await
        .with_context(|| format!("cannot open data directory {}", args.data_dir.display()))?;
    if let (Some(user), Some(password)) = (&args.user, &password) {
        engine
            .bootstrap_superuser(user, password)
            .await
            .with_context(|| format!("cannot set up user {user}"))?;
    }
    let listener = TcpListener::bind(&args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    let address = listener.local_addr()?;
    check_exposure(&args, address, engine.has_users())?;
    info!(%address, data_dir = %args.data_dir.display(), "eddy listening");
    println!("eddy listening on {address}");
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    let served = eddy_server::serve(engine.clone(), listener, shutdown, security).await;
    info!("shutting down the engine");
    engine.shutdown().await;
    info!("eddy stopped");
    served.context("the server stopped with an error")
}

/// TLS and remote trust as the flags ask.
fn security(args: &ServeArgs) -> anyhow::Result<Security> {
    let mut security = Security::default();
    if let (Some(certificate), Some(key)) = (&args.tls_cert, &args.tls_key) {
        security = security.with_tls(certificate, key)?;
    }
    if args.insecure {
        security = security.trusting_remote_clients();
    }
    Ok(security)
}

/// `--user`'s password, from `--password-file` or EDDY_PASSWORD; None without `--user`.
fn first_user_password(args: &ServeArgs) -> anyhow::Result<Option<String>> {
    let Some(user) = &args.user else {
        return Ok(None);
    };
    let password = match &args.password_file {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the password file {}", path.display()))?;
            let line = text.strip_suffix('\n').unwrap_or(&text);
            line.strip_suffix('\r').unwrap_or(line).to_owned()
        }
        None => std::env::var(PASSWORD_VARIABLE).map_err(|_| {
            anyhow::anyhow!(
                "--user {user} needs a password: give --password-file or set {PASSWORD_VARIABLE}"
            )
        })?,
    };
    anyhow::ensure!(
        !password.is_empty(),
        "the password of --user {user} is empty"
    );
    Ok(Some(password))
}

/// Refuses to let every client on the network in without a password; warns when passwords
/// cross the network unencrypted.
fn check_exposure(args: &ServeArgs, address: SocketAddr, has_users: bool) -> anyhow::Result<()> {
    if address.ip().is_loopback() {
        return Ok(());
    }
    anyhow::ensure!(
        has_users || args.insecure,
        "refusing to listen on {address} with no user to check passwords against: give \
         --user NAME (with --password-file or {PASSWORD_VARIABLE}), listen on 127.0.0.1, \
         or pass --insecure to let every client in"
    );
    if args.tls_cert.is_none() {
        warn!(%address, "connections are not encrypted: give --tls-cert and --tls-key");
    }
    Ok(())
}

/// Cancels `shutdown` on Ctrl-C (SIGINT) or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
    let interrupt = async {
        if let Err(signal_error) = tokio::signal::ctrl_c().await {
            warn!(%signal_error, "cannot watch for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    tokio::select! {
        () = interrupt => info!("interrupt received, shutting down"),
        () = terminate_signal() => info!("SIGTERM received, shutting down"),
    }
    shutdown.cancel();
}

#[cfg(unix)]
async fn terminate_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => {
            terminate.recv().await;
        }
        Err(signal_error) => {
            warn!(%signal_error, "cannot watch for SIGTERM");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(not(unix))]
async fn terminate_signal() {
    std::future::pending::<()>().await;
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes_take_binary_and_decimal_units() {
        assert_eq!(parse_size("256MiB"), Ok(256 << 20));
        assert_eq!(parse_size("1GiB"), Ok(1 << 30));
        assert_eq!(parse_size("512MB"), Ok(512_000_000));
        assert_eq!(parse_size("33554432"), Ok(32 << 20));
        assert!(parse_size("1MiB").is_err(), "below the minimum");
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5TB").is_err());
        assert!(parse_size("99999999999999GiB").is_err(), "overflow");
    }
}
