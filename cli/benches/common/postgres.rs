//! A throwaway Postgres cluster beside the benchmarked Eddy, so that a latency of Eddy's is
//! read against Postgres' measured on the same machine in the same minutes, not against a
//! figure from another day. The cluster lives in a temporary directory, listens on 127.0.0.1
//! only, on a port chosen at run time, and keeps Postgres' default durability (fsync on,
//! synchronous_commit on). Postgres refuses to run as root, so a root benchmark runs its
//! programs as the `postgres` OS user, which Debian's package creates.
//!
//! Never: leave the cluster running (the guard stops it when dropped, a panic included), or
//! touch any cluster but its own.

use std::ffi::CString;
use std::fs::File;
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

/// Where Debian's `postgresql` package installs each version's server binaries.
const DEBIAN_VERSIONS_DIRECTORY: &str = "/usr/lib/postgresql";
/// What to run when the binaries are missing.
pub const INSTALL_COMMAND: &str = "apt-get update && apt-get install -y postgresql";
/// A fresh cluster starts in about a second; this bounds a machine under load.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// A fast shutdown writes one checkpoint of a small cluster; past this it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);
const START_POLL_INTERVAL: Duration = Duration::from_millis(100);
const STOP_POLL_INTERVAL: Duration = Duration::from_millis(20);

/// The directory holding `initdb` and `postgres` of one installed version.
pub struct PostgresBinaries {
    directory: PathBuf,
}

impl PostgresBinaries {
    /// The newest version under /usr/lib/postgresql, else the one on PATH; `None` if neither.
    pub fn find() -> Option<PostgresBinaries> {
        newest_debian_version()
            .or_else(on_path)
            .map(|directory| PostgresBinaries { directory })
    }

    fn program(&self, name: &str) -> PathBuf {
        self.directory.join(name)
    }
}

fn has_server_programs(directory: &Path) -> bool {
    directory.join("initdb").is_file() && directory.join("postgres").is_file()
}

fn newest_debian_version() -> Option<PathBuf> {
    let versions = std::fs::read_dir(DEBIAN_VERSIONS_DIRECTORY).ok()?;
    versions
        .filter_map(|entry| entry.ok())
        .filter_map(|entry| {
            let version: u32 = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, directory)| has_server_programs(directory))
        .max_by_key(|(version, _)| *version)
        .map(|(_, directory)| directory)
}

fn on_path() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).find(|directory| has_server_programs(directory))
}

/// A running cluster; dropping it stops the server, then removes its directory.
pub struct PostgresCluster {
    server: Child,
    port: u16,
    /// Declared after `server` and dropped after `Drop::drop` ran: the directory goes only
    /// once the server that writes into it has stopped.
    directory: tempfile::TempDir,
}

impl PostgresCluster {
    /// Creates a cluster with `initdb` in a new temporary directory (under `TMPDIR`) and
    /// starts its server; returns once it accepts connections.
    pub async fn start(binaries: &PostgresBinaries) -> Result<PostgresCluster, String> {
        let owner = cluster_owner()?;
        let directory =
            tempfile::tempdir().map_err(|error| format!("temporary directory: {error}"))?;
        if let Some(owner) = owner {
            std::os::unix::fs::chown(directory.path(), Some(owner.uid), Some(owner.gid))
                .map_err(|error| format!("chown {}: {error}", directory.path().display()))?;
        }
        let data_directory = directory.path().join("data");
        // `--no-sync` only skips syncing initdb's own files: the cluster is thrown away after
        // the run, and the server started below keeps fsync on for everything it writes.
        let initdb = owned_command(&binaries.program("initdb"), owner, directory.path())
            .arg("--pgdata")
            .arg(&data_directory)
            .args([
                "--username=bench",
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ])
            .arg("--no-sync")
            .output()
            .map_err(|error| format!("initdb: {error}"))?;
        if !initdb.status.success() {
            return Err(format!(
                "initdb failed ({}): {}",
                initdb.status,
                String::from_utf8_lossy(&initdb.stderr)
            ));
        }
        let port = free_port()?;
        let log_path = directory.path().join("postgres.log");
        let log = File::create(&log_path).map_err(|error| format!("postgres.log: {error}"))?;
        let log_for_stdout = log
            .try_clone()
            .map_err(|error| format!("postgres.log: {error}"))?;
        let server = owned_command(&binaries.program("postgres"), owner, directory.path())
            .arg("-D")
            .arg(&data_directory)
            .args(["-p", &port.to_string()])
            // TCP on loopback only, no Unix socket: nothing outside the benchmark can reach
            // it, and no socket file lands in a shared directory such as /var/run/postgresql.
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "unix_socket_directories=",
            ])
            .stdin(Stdio::null())
            .stdout(log_for_stdout)
            .stderr(log)
            .spawn()
            .map_err(|error| format!("postgres: {error}"))?;
        let mut cluster = PostgresCluster {
            server,
            port,
            directory,
        };
        cluster.wait_until_ready().await?;
        Ok(cluster)
    }

    async fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = self.server.try_wait() {
                return Err(format!("postgres exited ({status}): {}", self.log()));
            }
            match tokio_postgres::connect(&self.config(), NoTls).await {
                Ok(_) => return Ok(()),
                Err(error) if Instant::now() > deadline => {
                    return Err(format!(
                        "postgres did not accept connections within {START_TIMEOUT:?} ({error}): {}",
                        self.log()
                    ));
                }
                Err(_) => tokio::time::sleep(START_POLL_INTERVAL).await,
            }
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.directory.path().join("postgres.log")).unwrap_or_default()
    }

    /// The connection string of the cluster's server.
    pub fn config(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=bench dbname=postgres",
            self.port
        )
    }

    pub async fn connect(&self) -> Client {
        let (client, connection) = tokio_postgres::connect(&self.config(), NoTls)
            .await
            .expect("connects to the throwaway Postgres");
        tokio::spawn(connection);
        client
    }
}

impl Drop for PostgresCluster {
    fn drop(&mut self) {
        // A status here means the server was already reaped: its pid may name another
        // process by now, so it must not be signalled.
        if !matches!(self.server.try_wait(), Ok(None)) {
            return;
        }
        // SAFETY: kill only sends a signal, to our own child, which is not reaped yet (an
        // exited one stays a zombie until waited for), so the pid cannot have been reused.
        // SIGINT is Postgres' fast shutdown: sessions end, one checkpoint, then exit.
        unsafe { libc::kill(self.server.id() as libc::pid_t, libc::SIGINT) };
        let deadline = Instant::now() + STOP_TIMEOUT;
        while Instant::now() < deadline {
            if !matches!(self.server.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(STOP_POLL_INTERVAL);
        }
        let _ = self.server.kill();
        let _ = self.server.wait();
    }
}

#[derive(Clone, Copy)]
struct ClusterOwner {
    uid: u32,
    gid: u32,
}

/// `None` (this process's own user) unless this process runs as root, which Postgres
/// refuses: then the `postgres` OS user.
fn cluster_owner() -> Result<Option<ClusterOwner>, String> {
    // SAFETY: geteuid has no preconditions and cannot fail.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").expect("a literal without NUL bytes");
    // SAFETY: the name is NUL-terminated; the record returned lives until the next getpw*
    // call, and both fields are copied out before this thread makes any.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err(format!(
            "running as root, and Postgres refuses root; there is no `postgres` OS user to run it as ({INSTALL_COMMAND} creates one)"
        ));
    }
    // SAFETY: non-null, so it points to a valid passwd record (see above).
    let (uid, gid) = unsafe { ((*entry).pw_uid, (*entry).pw_gid) };
    Ok(Some(ClusterOwner { uid, gid }))
}

/// `program` run as the cluster's owner, from the cluster's directory (the owner may not
/// be allowed into the benchmark's working directory).
fn owned_command(program: &Path, owner: Option<ClusterOwner>, directory: &Path) -> Command {
    let mut command = Command::new(program);
    command.current_dir(directory);
    if let Some(owner) = owner {
        // Dropping from root, std also clears the supplementary groups.
        command.uid(owner.uid).gid(owner.gid);
    }
    command
}

/// A port that was free a moment ago. Another process could take it before Postgres binds
/// it; then Postgres fails to start and says so in its log.
fn free_port() -> Result<u16, String> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|error| format!("find a free port: {error}"))?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| format!("find a free port: {error}"))
}
